"""The shared JSON Lines reader and column builders: whole-file failures, line numbering, typing edge cases."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.base import FileRejected
from pipelines.ingest.jsonlines import reading
from pipelines.ingest.jsonlines.columns import int_column, text_column, timestamp_column
from pipelines.ingest.jsonlines.decoding import scrub_value
from pipelines.ingest.jsonlines.reading import iter_line_batches
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.timeparse import try_parse_iso

P = Pseudonymiser(b"test-key")


def lines_of(path: Path, batch_lines: int | None = None) -> list[list[tuple[int, str]]]:
    return list(iter_line_batches(path, batch_lines))


def gz(path: Path, data: bytes) -> Path:
    path.write_bytes(gzip.compress(data))
    return path


def test_line_numbers_count_blank_lines_which_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a":1}\n\n   \n{"a":2}\r\n\t\n{"a":3}')  # CRLF, blanks, no final newline
    assert lines_of(path) == [[(1, '{"a":1}'), (4, '{"a":2}'), (6, '{"a":3}')]]


def test_bom_is_dropped_and_unicode_line_separators_stay_inside_a_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('\ufeff{"a":"x\u2028y\u0085z"}\n{"a":2}\n', encoding="utf-8")
    assert lines_of(path) == [[(1, '{"a":"x\u2028y\u0085z"}'), (2, '{"a":2}')]]


def test_batches_are_bounded_and_keep_numbering(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text("".join(f'{{"n":{i}}}\n' for i in range(1, 8)), encoding="utf-8")
    batches = lines_of(path, batch_lines=3)
    assert [len(b) for b in batches] == [3, 3, 1]
    assert [n for b in batches for n, _ in b] == list(range(1, 8))


def test_lines_spanning_read_chunks_are_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "_CHUNK_BYTES", 3)  # reads of 24 bytes: every line crosses a chunk
    path = tmp_path / "a.jsonl"
    rows = [json.dumps({"n": i, "text": "雁峰区" * i}, ensure_ascii=False) for i in range(20)]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert [t for b in lines_of(path) for _, t in b] == rows


def test_gzip_reads_like_plain(tmp_path: Path) -> None:
    data = b'{"a":1}\n\n{"a":2}\n'
    (tmp_path / "a.jsonl").write_bytes(data)
    assert lines_of(gz(tmp_path / "a.jsonl.gz", data)) == lines_of(tmp_path / "a.jsonl")


def test_truncated_gzip_is_rejected_where_it_breaks(tmp_path: Path) -> None:
    data = "".join(f'{{"n":{i},"pad":"{i * 7919 % 104729}"}}\n' for i in range(5000)).encode()
    whole = gzip.compress(data)
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(FileRejected, match="truncated or corrupt"):
        lines_of(path, batch_lines=10)  # batches came first: the runner discards them (test_runner_late_rejection)


def test_blank_lines_are_what_python_calls_whitespace() -> None:
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    others = [chr(c) for c in range(0x3001) if not chr(c).isspace()]
    frame = pl.DataFrame({"line": [spaces, "", *spaces, *others]})
    blank = frame.select(pl.col("line").str.contains(reading._BLANK_LINE)).to_series().to_list()
    assert blank == [True, True, *[True] * len(spaces), *[False] * len(others)]


def test_corrupt_gzip_is_rejected(tmp_path: Path) -> None:
    whole = bytearray(gzip.compress(b'{"a":1}\n' * 1000))
    whole[len(whole) // 2] ^= 0xFF
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(bytes(whole))
    with pytest.raises(FileRejected, match="gzip"):
        lines_of(path)


def test_plain_text_named_gz_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b'{"a":1}\n')
    with pytest.raises(FileRejected, match="gzip"):
        lines_of(path)


def test_gzip_named_jsonl_is_rejected_with_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(gzip.compress(b'{"a":1}\n'))
    with pytest.raises(FileRejected, match=r"rename it to \.jsonl\.gz"):
        lines_of(path)


def test_gb18030_is_rejected_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":2}\n' + '{"d":"区市场监督管理局"}\n'.encode("gb18030"))
    with pytest.raises(FileRejected, match=r"not valid UTF-8.*line 3"):
        lines_of(path)


# surrogate, overlong slash, beyond U+10FFFF, overlong NUL, noncharacter U+FFFE, U+10FFFF, CJK
@pytest.mark.parametrize(
    "raw",
    [
        b"\xed\xa0\x80",
        b"\xc0\xaf",
        b"\xf4\x90\x80\x80",
        b"\xe0\x80\x80",
        b"\xef\xbf\xbe",
        b"\xf4\x8f\xbf\xbf",
        "雁".encode(),
    ],
)
def test_utf8_is_judged_as_python_judges_it(tmp_path: Path, raw: bytes) -> None:
    """Polars checks the bytes (jsonlines/reading._utf8_lines): it must accept and refuse exactly what Python does."""
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"a":1}\n{"a":"' + raw + b'"}\n')
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        with pytest.raises(FileRejected, match=r"not valid UTF-8.*line 2"):
            lines_of(path)
    else:
        assert lines_of(path) == [[(1, '{"a":1}'), (2, '{"a":"' + text + '"}')]]


def test_file_ending_inside_a_utf8_character_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes('{"a":"雁"}\n{"a":"峰'.encode()[:-1])
    with pytest.raises(FileRejected, match="not valid UTF-8"):
        lines_of(path)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"  \r\n\t\n", "\ufeff\n".encode(), "\u3000\n \n".encode()])
@pytest.mark.parametrize("compressed", [False, True])
def test_empty_files_are_rejected(tmp_path: Path, data: bytes, compressed: bool) -> None:
    path = gz(tmp_path / "a.jsonl.gz", data) if compressed else tmp_path / "a.jsonl"
    if not compressed:
        path.write_bytes(data)
    with pytest.raises(FileRejected, match="empty"):
        lines_of(path)


def test_fast_timestamp_path_agrees_with_timeparse() -> None:
    texts = [
        "2021-05-03T09:12:33+08:00",
        "2021-05-03T01:40:00Z",
        "2021-05-03T09:12:33",
        "2021-05-03T09:12:33.5+08:00",
        "2021-05-03T09:12:33.123456-05:30",
        "2021-12-31T23:30:00-01:00",  # crosses into the next year in Shanghai
        "2021-05-03 09:12:33+08:00",
        "2021-05-03T09:12",
        "2021-05-03",
        "2021-05-03T09:12:33+0800",
        "2021-02-29T09:12:33+08:00",
        "2021-05-03T24:00:00+08:00",
        "2021-05-03T23:59:60+08:00",
        "0000-01-01T00:00:00",
        "2021-05-03T09:12:33+24:00",
        "2021-05-03T09:12:33z",
        "2021-05-03T09:12:33.1234567+08:00",
        "03/05/2021 09:12",
        " 2021-05-03T09:12:33+08:00 ",
    ]
    typed, bad = timestamp_column("t", texts, {})
    expected = [try_parse_iso(t) for t in texts]
    assert typed.to_list() == expected
    assert [b is not None for b in bad.to_list()] == [e is None for e in expected]
    assert expected[1] == datetime(2021, 5, 3, 9, 40) and expected[5] == datetime(2022, 1, 1, 8, 30)


def test_timestamp_absent_blank_and_wrong_type() -> None:
    typed, bad = timestamp_column("t", [None, "", "  ", 20210503, True, "2021-05-03T09:12:33+08:00"], {})
    assert typed.to_list() == [None, None, None, None, None, datetime(2021, 5, 3, 9, 12, 33)]
    assert bad.to_list() == [None, None, None, "20210503", "true", None]
    assert typed.dtype == pl.Datetime("us")


def test_text_column_numbers_and_other_types() -> None:
    typed, bad = text_column("x", ["a ", " ", None, 12, 12.0, 1.5, True, [1]])
    assert typed.to_list() == ["a", None, None, "12", "12", "1.5", "true", "[1]"]
    assert bad.null_count() == bad.len()
    typed, bad = text_column("id", ["e-1", 12, 1.5, True, {"a": 1}, 1e30], strict_id=True)
    assert typed.to_list() == ["e-1", "12", None, None, None, None]
    assert bad.to_list() == [None, None, "1.5", "true", '{"a": 1}', "1e+30"]


def test_int_column_accepts_integral_numbers_only() -> None:
    typed, bad = int_column("n", [0, 5.0, None, "5", True, 1.5, 2**64, -3])
    assert typed.to_list() == [0, 5, None, None, None, None, None, -3]
    assert bad.to_list() == [None, None, None, '"5"', "true", "1.5", str(2**64), None]


def test_scrub_value_reaches_nested_personal_values() -> None:
    value = {"note": "call 13800000000", "who": {"applicant_phone": "x"}, "n": 13800000000, "ok": [1, "a"]}
    scrubbed = scrub_value(value, ("applicant_phone",), P)
    text = json.dumps(scrubbed)
    assert "13800000000" not in text and '"x"' not in text
    assert scrubbed["ok"] == [1, "a"] and scrubbed["who"]["applicant_phone"] == P("x")
