"""security_incidents parser: the incident rules of FEEDS.md §4 on real JSON Lines files."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
from stdnum.cn import ric

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileContext, FileRejected
from pipelines.ingest.security_incidents import PARSER, is_valid_resident_id
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

PSEUDONYMISE = Pseudonymiser(b"test-key")
NAME, PHONE, ID_NUMBER = "张三", "13900000000", "11010519491231002X"
FIRST = {  # EXAMPLES.md, security/incidents/incidents_2021-05.jsonl
    "incident_id": "JQ202105030042",
    "received_at": "2021-05-03T22:14:05+08:00",
    "dispatched_at": "2021-05-03T22:15:30+08:00",
    "arrived_at": None,
    "closed_at": None,
    "category": "theft",
    "street_code": "430406002000",
    "lat": 26.8841,
    "lon": 112.6029,
    "source": "call_110",
    "reporter_name": NAME,
    "reporter_phone": PHONE,
    "reporter_id_number": ID_NUMBER,
}
SECOND = {**FIRST, "arrived_at": "2021-05-03T22:26:41+08:00", "closed_at": "2021-05-04T01:03:00+08:00"}
GOOD = {
    "incident_id": "JQ1",
    "received_at": "2021-05-03T22:14:05+08:00",
    "category": "fire",
    "street_code": "430406001000",
    "source": "patrol",
}


def write_jsonl(path: Path, records: list[object], *, compress: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def parse(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ctx = FileContext(
        feed="security_incidents",
        path=path,
        source_file=f"security/incidents/{path.name}",
        regions=load_regions(),
        pseudonymise=PSEUDONYMISE,
        raw_table_dir=tmp_path / "raw" / "security_incidents",
    )
    batches = list(PARSER.parse(ctx))
    expected = pl.Schema({**PARSER.columns, "source_row": pl.Int64(), "source_sheet": pl.String()})
    for batch in batches:
        assert batch.valid.schema == expected
        assert batch.quarantined.schema == pl.Schema(QUARANTINE_COLUMNS)
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


def outputs_text(*frames: pl.DataFrame) -> str:
    return "\n".join(json.dumps(f.to_dicts(), default=str, ensure_ascii=False) for f in frames)


def only_reason(tmp_path: Path, record: object) -> str:
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", [GOOD, record]), tmp_path)
    assert valid["source_row"].to_list() == [1]
    assert quarantined["source_row"].to_list() == [2]
    return quarantined["reason"].item()


def with_check_digit(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "0")


def test_parser_identity() -> None:
    assert (PARSER.feed, PARSER.table, PARSER.folder) == ("security_incidents",) * 2 + ("security/incidents",)
    assert PARSER.extensions == (".jsonl", ".jsonl.gz")


def test_example_file_keeps_every_resend(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "incidents_2021-05.jsonl", [FIRST, SECOND]), tmp_path)
    assert quarantined.is_empty()
    assert valid["incident_id"].to_list() == ["JQ202105030042"] * 2
    assert valid["received_at"].to_list() == [datetime(2021, 5, 3, 22, 14, 5)] * 2
    assert valid["arrived_at"].to_list() == [None, datetime(2021, 5, 3, 22, 26, 41)]
    assert valid["closed_at"].to_list() == [None, datetime(2021, 5, 4, 1, 3)]
    assert valid.select("lat", "lon").row(0) == (26.884, 112.603)
    assert valid["is_reporter_id_valid"].to_list() == [True, True]
    assert valid["reporter_name_pseudonym"][0] == PSEUDONYMISE(NAME)
    assert valid["reporter_phone_pseudonym"][0] == PSEUDONYMISE(PHONE)
    assert valid["reporter_id_number_pseudonym"][0] == PSEUDONYMISE(ID_NUMBER)
    text = outputs_text(valid)
    assert NAME not in text and PHONE not in text and ID_NUMBER not in text


def test_gzip_file(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl.gz", [FIRST, "", SECOND], compress=True), tmp_path)
    assert quarantined.is_empty() and valid["source_row"].to_list() == [1, 3]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"incident_id": "JQ1", ', "invalid JSON"),
        ("[]", "not a JSON object (got an array)"),
        ("42", "not a JSON object (got a number)"),
    ],
)
def test_unparseable_lines_are_quarantined(tmp_path: Path, line: str, reason: str) -> None:
    assert only_reason(tmp_path, line).startswith(reason)


@pytest.mark.parametrize("field", ["incident_id", "received_at", "category", "source", "street_code"])
@pytest.mark.parametrize("how", ["absent", "null", "empty"])
def test_missing_required_field(tmp_path: Path, field: str, how: str) -> None:
    record = dict(GOOD)
    if how == "absent":
        del record[field]
    else:
        record[field] = None if how == "null" else ""
    assert only_reason(tmp_path, record) == f"missing {field}"


def test_incident_id_of_wrong_type(tmp_path: Path) -> None:
    assert only_reason(tmp_path, {**GOOD, "incident_id": ["JQ1"]}) == (
        'incident_id must be a string or an integer, got ["JQ1"]'
    )


@pytest.mark.parametrize("field", ["received_at", "dispatched_at", "arrived_at", "closed_at"])
def test_unparseable_timestamp(tmp_path: Path, field: str) -> None:
    assert only_reason(tmp_path, {**GOOD, field: "2021-05-03 下午"}) == (
        f'unparseable {field} "2021-05-03 下午" (expected ISO 8601)'
    )


@pytest.mark.parametrize(("field", "value"), [("category", "arson"), ("category", "Theft"), ("source", "fax")])
def test_unknown_enum_value(tmp_path: Path, field: str, value: str) -> None:
    assert only_reason(tmp_path, {**GOOD, field: value}) == f"unknown {field} '{value}'"


@pytest.mark.parametrize("code", ["430406", "430400", "430406999000", "4304060010", "abc"])
def test_unknown_street_code(tmp_path: Path, code: str) -> None:
    assert only_reason(tmp_path, {**GOOD, "street_code": code}) == (
        f"unknown street_code '{code}' (not a 12-digit street or town in regions.csv)"
    )


@pytest.mark.parametrize("field", ["lat", "lon"])
@pytest.mark.parametrize(("value", "shown"), [("26.88", '"26.88"'), (True, "true"), ([26.8], "[26.8]")])
def test_coordinate_not_a_number(tmp_path: Path, field: str, value: object, shown: str) -> None:
    assert only_reason(tmp_path, {**GOOD, field: value}) == f"{field} must be a number, got {shown}"


def test_optional_fields_absent_or_null(tmp_path: Path) -> None:
    record = {**GOOD, "dispatched_at": None, "arrived_at": "", "lat": None, "reporter_id_number": None}
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", [record]), tmp_path)
    assert quarantined.is_empty()
    row = valid.row(0, named=True)
    assert row["dispatched_at"] is None and row["arrived_at"] is None and row["closed_at"] is None
    assert row["lat"] is None and row["lon"] is None
    assert row["is_reporter_id_valid"] is None and row["reporter_id_number_pseudonym"] is None


def test_coordinates_are_rounded_to_three_decimals(tmp_path: Path) -> None:
    records = [{**GOOD, "lat": 26.88449, "lon": 112}, {**GOOD, "lat": -26.8845, "lon": 112.60251}]
    valid, _ = parse(write_jsonl(tmp_path / "i.jsonl", records), tmp_path)
    assert valid.select("lat", "lon").rows() == [(26.884, 112.0), (-26.885, 112.603)]


def test_precise_coordinates_are_not_kept_in_quarantine_either(tmp_path: Path) -> None:
    records = [{**GOOD, "lat": 26.88449, "lon": 112.60251, "category": "arson"}, {**GOOD, "lat": "26.88449"}]
    _, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", records), tmp_path)
    assert json.loads(quarantined["raw"][0])["lat"] == 26.884 and json.loads(quarantined["raw"][0])["lon"] == 112.603
    assert quarantined["reason"][1] == 'lat must be a number, got "26.884"'
    assert "26.88449" not in outputs_text(quarantined) and "112.60251" not in outputs_text(quarantined)


def test_numeric_ids_and_street_codes_are_kept_as_text(tmp_path: Path) -> None:
    record = {**GOOD, "incident_id": 20210503042, "street_code": 430406003000}
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", [record]), tmp_path)
    assert quarantined.is_empty()
    assert valid.select("incident_id", "street_code").row(0) == ("20210503042", "430406003000")


def test_wrong_check_digit_is_flagged_not_quarantined(tmp_path: Path) -> None:
    wrong = "110105194912310021"
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", [{**GOOD, "reporter_id_number": wrong}]), tmp_path)
    assert quarantined.is_empty()
    assert valid["is_reporter_id_valid"].item() is False
    assert valid["reporter_id_number_pseudonym"].item() == PSEUDONYMISE(wrong)
    assert wrong not in outputs_text(valid)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID_NUMBER, True),
        (ID_NUMBER.lower(), True),
        (with_check_digit("43040619800101123"), True),  # Yanfeng code, born before 2001: still a valid ID
        (with_check_digit("43040619801301123"), False),  # month 13
        ("110105194912310021", False),
        ("11010519491231002", False),
        ("1101051949123100２X", True),  # a full-width digit is the same digit (stdnum normalises it)
        ("11010519491231002Y", False),
        ("110105491231002", False),  # the old 15-digit form has no check digit to verify
        (11010519491231002, False),
        (None, None),
        ("  ", None),
    ],
)
def test_resident_id_check(value: object, expected: bool | None) -> None:
    assert is_valid_resident_id(value) is expected


def test_personal_values_never_leave_in_clear(tmp_path: Path) -> None:
    wrong_id = "430406198001011230"
    lines = [
        {**FIRST, "category": "arson"},
        {**FIRST, "reporter_id_number": wrong_id, "source": PHONE},  # a phone in the wrong field
        '{"reporter_name": "' + NAME + '", "reporter_phone": "' + PHONE + '", "reporter_id_number": "' + ID_NUMBER,
        {**GOOD, "notes": {"reporter_name": NAME, "callback": PHONE}},
    ]
    valid, quarantined = parse(write_jsonl(tmp_path / "i.jsonl", lines), tmp_path)
    assert quarantined["source_row"].to_list() == [1, 2, 3]
    text = outputs_text(valid, quarantined)
    for clear in (NAME, PHONE, ID_NUMBER, wrong_id):
        assert clear not in text
    assert json.loads(quarantined["raw"][0])["reporter_name"] == PSEUDONYMISE(NAME)
    assert json.loads(valid["extra_columns"].item()) == ["notes"]  # the name only, never the value


@pytest.mark.parametrize("data", [b"", b"\n\n"])
def test_empty_file_is_rejected(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "i.jsonl"
    path.write_bytes(data)
    with pytest.raises(FileRejected, match="empty"):
        parse(path, tmp_path)


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "i.jsonl.gz", [FIRST] * 100, compress=True)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(FileRejected, match="truncated or corrupt"):
        parse(path, tmp_path)
