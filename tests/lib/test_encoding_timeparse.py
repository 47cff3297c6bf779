import codecs
from datetime import datetime

import pytest

from pipelines.lib.encoding import UndecodableFile, decode_csv_bytes
from pipelines.lib.timeparse import parse_iso_to_shanghai, try_parse_iso

TEXT = "地区代码,指标名称,计量单位\n430406,地区生产总值,亿元\n"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("gb18030"), "gb18030"),
    ],
)
def test_detects_the_three_contract_encodings(data, encoding):
    text, detected = decode_csv_bytes(data)
    assert text == TEXT
    assert detected == encoding


def test_binary_garbage_is_refused_with_advice():
    with pytest.raises(UndecodableFile, match="UTF-8"):
        decode_csv_bytes(bytes(range(128, 256)) * 50 + b"\x81\x30")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-05-03T09:12:33+08:00", datetime(2021, 5, 3, 9, 12, 33)),
        ("2021-05-03T01:40:00Z", datetime(2021, 5, 3, 9, 40)),
        ("2021-05-31T20:00:00+00:00", datetime(2021, 6, 1, 4, 0)),  # crosses into June in Shanghai
        ("2021-05-03T09:12:33", datetime(2021, 5, 3, 9, 12, 33)),  # no offset: already Shanghai
        ("2021-05-03 09:12:33+0800", datetime(2021, 5, 3, 9, 12, 33)),
    ],
)
def test_timestamps_become_shanghai_wall_clock(text, expected):
    assert parse_iso_to_shanghai(text) == expected


@pytest.mark.parametrize("text", ["2021-13-03T09:12:33+08:00", "03/05/2021 09:12", "yesterday", "", None, 17])
def test_bad_timestamps_are_none(text):
    assert try_parse_iso(text) is None
