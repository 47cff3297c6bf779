"""gov_services parser: the event rules of FEEDS.md §3 on real JSON Lines files."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest

from pipelines.ingest import runner
from pipelines.ingest.base import QUARANTINE_COLUMNS, FileContext, FileRejected
from pipelines.ingest.gov_services import PARSER
from pipelines.ingest.jsonlines import reading
from pipelines.lib.feeds import EMPTY_MARKER
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

PSEUDONYMISE = Pseudonymiser(b"test-key")
APPLICANT_ID = "91110000600037341L"
PHONE = "13800000000"
EXAMPLE = [  # EXAMPLES.md, gov_services/events_2021-05-03.jsonl
    {
        "event_id": "e-1",
        "case_id": "ZW202105030001",
        "event_type": "submitted",
        "occurred_at": "2021-05-03T09:12:33+08:00",
        "item_code": "SJ002",
        "item_name": "食品经营许可",
        "department": "区市场监督管理局",
        "channel": "online",
        "applicant_type": "enterprise",
        "applicant_id": APPLICANT_ID,
        "applicant_phone": PHONE,
    },
    {
        "event_id": "e-2",
        "case_id": "ZW202105030001",
        "event_type": "accepted",
        "occurred_at": "2021-05-03T01:40:00Z",
        "promised_days": 5,
    },
    {
        "event_id": "e-3",
        "case_id": "ZW202105030001",
        "event_type": "completed",
        "occurred_at": "2021-05-06T16:02:10+08:00",
        "visits": 0,
    },
    {
        "event_id": "e-4",
        "case_id": "ZW202105030001",
        "event_type": "rated",
        "occurred_at": "2021-05-06T18:00:00+08:00",
        "rating": 5,
    },
]
GOOD = {"event_id": "e-9", "case_id": "ZW1", "event_type": "submitted", "occurred_at": "2021-05-03T09:00:00+08:00"}


def write_jsonl(path: Path, records: list[object], *, compress: bool = False) -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def parse(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ctx = FileContext(
        feed="gov_services",
        path=path,
        source_file=f"gov_services/{path.name}",
        regions=load_regions(),
        pseudonymise=PSEUDONYMISE,
        raw_table_dir=tmp_path / "raw" / "gov_services",
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
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [GOOD, record]), tmp_path)
    assert valid["source_row"].to_list() == [1]
    assert quarantined["source_row"].to_list() == [2]
    return quarantined["reason"].item()


def test_parser_identity() -> None:
    assert (PARSER.feed, PARSER.table, PARSER.folder) == ("gov_services", "gov_services", "gov_services")
    assert PARSER.extensions == (".jsonl", ".jsonl.gz")


def test_example_file_loads_typed_and_pseudonymised(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "events_2021-05-03.jsonl", EXAMPLE), tmp_path)
    assert quarantined.is_empty()
    assert valid["event_type"].to_list() == ["submitted", "accepted", "completed", "rated"]
    assert valid["occurred_at"].to_list() == [
        datetime(2021, 5, 3, 9, 12, 33),
        datetime(2021, 5, 3, 9, 40),  # 01:40Z is 09:40 in Shanghai
        datetime(2021, 5, 6, 16, 2, 10),
        datetime(2021, 5, 6, 18, 0),
    ]
    assert valid["promised_days"].to_list() == [None, 5, None, None]
    assert valid["visits"].to_list() == [None, None, 0, None]
    assert valid["rating"].to_list() == [None, None, None, 5]
    assert valid["channel"].to_list() == ["online", None, None, None]
    assert valid["applicant_id_pseudonym"][0] == PSEUDONYMISE(APPLICANT_ID)
    assert valid["applicant_phone_pseudonym"].to_list() == [PSEUDONYMISE(PHONE), None, None, None]
    assert valid["source_row"].to_list() == [1, 2, 3, 4]
    assert valid["extra_columns"].null_count() == 4
    assert APPLICANT_ID not in outputs_text(valid) and PHONE not in outputs_text(valid)


def test_gzip_file_and_blank_lines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl.gz", [EXAMPLE[0], "", "   ", EXAMPLE[1]], compress=True)
    valid, quarantined = parse(path, tmp_path)
    assert quarantined.is_empty()
    assert valid["source_row"].to_list() == [1, 4]


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ('{"event_id": "e-1", "case_id": ', "invalid JSON"),
        ('{"event_id": NaN}', "invalid JSON"),
        ("[1, 2]", "not a JSON object (got an array)"),
        ('"e-1"', "not a JSON object (got a string)"),
        ("null", "not a JSON object (got null)"),
    ],
)
def test_unparseable_lines_are_quarantined(tmp_path: Path, line: str, reason: str) -> None:
    assert only_reason(tmp_path, line).startswith(reason)


@pytest.mark.parametrize("field", ["event_id", "case_id", "event_type", "occurred_at"])
@pytest.mark.parametrize("how", ["absent", "null", "empty", "blank"])
def test_missing_required_field(tmp_path: Path, field: str, how: str) -> None:
    record = dict(GOOD)
    if how == "absent":
        del record[field]
    else:
        record[field] = {"null": None, "empty": "", "blank": "  "}[how]
    assert only_reason(tmp_path, record) == f"missing {field}"


@pytest.mark.parametrize("field", ["event_id", "case_id"])
def test_id_of_wrong_type(tmp_path: Path, field: str) -> None:
    assert only_reason(tmp_path, {**GOOD, field: True}) == f"{field} must be a string or an integer, got true"


def test_numeric_ids_are_kept_as_text(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [{**GOOD, "event_id": 12, "case_id": 7.0}]), tmp_path)
    assert quarantined.is_empty()
    assert valid.select("event_id", "case_id").row(0) == ("12", "7")


@pytest.mark.parametrize("value", ["yesterday", "2021-13-01T00:00:00", "2021-05-03T09:12:33+08", 1620000000])
def test_unparseable_occurred_at(tmp_path: Path, value: object) -> None:
    expected = json.dumps(value)
    assert only_reason(tmp_path, {**GOOD, "occurred_at": value}) == (
        f"unparseable occurred_at {expected} (expected ISO 8601)"
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_type", "cancelled"), ("event_type", "Submitted"), ("channel", "fax"), ("applicant_type", "robot")],
)
def test_unknown_enum_value(tmp_path: Path, field: str, value: str) -> None:
    assert only_reason(tmp_path, {**GOOD, field: value}) == f"unknown {field} '{value}'"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("visits", -1, "-1"),
        ("visits", "0", '"0"'),
        ("visits", 1.5, "1.5"),
        ("visits", True, "true"),
        ("promised_days", 0, "0"),
        ("promised_days", -5, "-5"),
        ("rating", 0, "0"),
        ("rating", 6, "6"),
        ("rating", "5", '"5"'),
        ("rating", 4.5, "4.5"),
    ],
)
def test_integer_rules(tmp_path: Path, field: str, value: object, shown: str) -> None:
    wording = {"visits": "an integer ≥ 0", "promised_days": "an integer ≥ 1", "rating": "an integer from 1 to 5"}
    assert only_reason(tmp_path, {**GOOD, field: value}) == f"{field} must be {wording[field]}, got {shown}"


def test_integral_json_numbers_count_as_integers(tmp_path: Path) -> None:
    record = {**GOOD, "visits": 0.0, "promised_days": 20, "rating": 5.0}
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [record]), tmp_path)
    assert quarantined.is_empty()
    assert valid.select("visits", "promised_days", "rating").row(0) == (0, 20, 5)


def test_several_broken_rules_are_all_named(tmp_path: Path) -> None:
    record = {"case_id": "c", "event_type": "x", "occurred_at": "2021-05-03", "channel": "fax", "rating": 9}
    assert only_reason(tmp_path, record) == (
        "missing event_id; unknown event_type 'x'; unknown channel 'fax'; rating must be an integer from 1 to 5, got 9"
    )


@pytest.mark.parametrize("value", [None, "", " "])
def test_absent_optional_fields_are_null_not_unknown(tmp_path: Path, value: object) -> None:
    record = {**GOOD, **dict.fromkeys(("channel", "applicant_type", "item_code", "department"), value), "visits": None}
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [record, GOOD]), tmp_path)
    assert quarantined.is_empty()
    assert valid.select("channel", "applicant_type", "item_code", "department", "visits").row(0) == (None,) * 5


def test_surrounding_spaces_are_trimmed(tmp_path: Path) -> None:
    record = {**GOOD, "event_type": " accepted ", "channel": "window\t", "department": " 区行政审批服务局 "}
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [record]), tmp_path)
    assert quarantined.is_empty()
    assert valid.select("event_type", "channel", "department").row(0) == ("accepted", "window", "区行政审批服务局")


def test_repeated_event_ids_are_all_kept(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [GOOD, GOOD, GOOD]), tmp_path)
    assert quarantined.is_empty()
    assert valid["event_id"].to_list() == ["e-9"] * 3 and valid["source_row"].to_list() == [1, 2, 3]


def test_unknown_keys_keep_their_names_not_their_values(tmp_path: Path) -> None:
    record = {
        **GOOD,
        "operator": "窗口3",
        "witness_name": "王小明",
        "报警人姓名": "李四",
        "contact": {"mobile": "13912345678"},
    }
    bad = {**record, "event_type": "teleported"}
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", [record, bad]), tmp_path)
    assert json.loads(valid["extra_columns"].item()) == ["operator", "witness_name", "报警人姓名", "contact"]
    stored = valid.write_json() + quarantined.write_json()
    for value in ("窗口3", "王小明", "李四", "13912345678", PSEUDONYMISE("13912345678")):
        assert value not in stored
    raw = json.loads(quarantined["raw"].item())
    assert raw["extra_columns"] == ["operator", "witness_name", "报警人姓名", "contact"]


def test_personal_values_never_leave_in_clear(tmp_path: Path) -> None:
    lines = [
        {**GOOD, "applicant_id": APPLICANT_ID, "applicant_phone": PHONE, "channel": "fax"},  # rule-quarantined
        {**GOOD, "applicant_id": "430406199001011233", "applicant_phone": 13900000000, "rating": "x"},
        '{"applicant_id": "' + APPLICANT_ID + '", "applicant_phone": "' + PHONE + '", ',  # not JSON
        json.dumps([APPLICANT_ID, PHONE]),  # JSON, not an object
        {**GOOD, "channel": PHONE, "applicant_type": APPLICANT_ID},  # personal value in the wrong field
        {**GOOD, "applicant_id": APPLICANT_ID, "applicant_phone": PHONE},  # valid
    ]
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", lines), tmp_path)
    assert quarantined["source_row"].to_list() == [1, 2, 3, 4, 5]
    text = outputs_text(valid, quarantined)
    for clear in (APPLICANT_ID, PHONE, "430406199001011233", "13900000000"):
        assert clear not in text
    first = json.loads(quarantined["raw"][0])
    assert first["applicant_id"] == PSEUDONYMISE(APPLICANT_ID) and first["channel"] == "fax"
    assert json.loads(quarantined["raw"][1])["applicant_phone"] == PSEUDONYMISE(13900000000)
    assert PSEUDONYMISE(PHONE) in quarantined["raw"][2]


def test_batches_follow_the_batch_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "BATCH_LINES", 2)
    records = [{**GOOD, "event_id": f"e-{i}"} for i in range(5)]
    records[3] = "{broken"
    ctx_path = write_jsonl(tmp_path / "e.jsonl", records)
    ctx = FileContext("gov_services", ctx_path, "gov_services/e.jsonl", load_regions(), PSEUDONYMISE, tmp_path)
    batches = list(PARSER.parse(ctx))
    assert [b.valid.height + b.quarantined.height for b in batches] == [2, 2, 1]
    assert batches[1].quarantined["source_row"].to_list() == [4]


def test_file_with_only_bad_lines_yields_empty_valid_frame(tmp_path: Path) -> None:
    valid, quarantined = parse(write_jsonl(tmp_path / "e.jsonl", ["{", "[]"]), tmp_path)
    assert valid.is_empty() and quarantined.height == 2


@pytest.mark.parametrize("data", [b"", b"\n \n"])
def test_empty_file_is_rejected(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(data)
    with pytest.raises(FileRejected, match="empty"):
        parse(path, tmp_path)


def test_truncated_gzip_is_rejected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "e.jsonl.gz", [GOOD] * 200, compress=True)
    path.write_bytes(path.read_bytes()[:-12])
    with pytest.raises(FileRejected, match="truncated or corrupt"):
        parse(path, tmp_path)


def test_non_utf8_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_bytes(json.dumps(EXAMPLE[0], ensure_ascii=False).encode("gb18030") + b"\n")
    with pytest.raises(FileRejected, match="UTF-8"):
        parse(path, tmp_path)


def test_runner_late_rejection_keeps_no_row_of_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The reader finds a broken file where it breaks, after earlier batches were parsed and written: the runner
    # must still keep none of that file's rows, and record it as rejected. A good file beside it lands whole.
    monkeypatch.setattr(reading, "BATCH_LINES", 50)
    monkeypatch.setattr(reading, "_CHUNK_BYTES", 256)  # reads of 2 KiB: the breaks come after many batches
    landing = tmp_path / "landing"
    folder = landing / "gov_services"
    folder.mkdir(parents=True)
    lines = [{**GOOD, "event_id": f"e-{i}"} for i in range(400)]
    write_jsonl(folder / "events_2021-05-good.jsonl", lines)
    late = write_jsonl(folder / "events_2021-05-late.jsonl", lines)
    late.write_bytes(late.read_bytes() + '{"event_id":"区"}\n'.encode("gb18030"))  # bad bytes on line 401
    broken = write_jsonl(folder / "events_2021-05-cut.jsonl.gz", lines, compress=True)
    broken.write_bytes(broken.read_bytes()[:-12])

    raw_dir = tmp_path / "raw"
    report = runner.ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1)

    assert report.files_rejected == 2 and report.rows_loaded == 400, report.summary()
    reasons = dict(report.rejected)
    assert "undecodable bytes near line 401" in reasons["gov_services/events_2021-05-late.jsonl"]
    assert "truncated or corrupt" in reasons["gov_services/events_2021-05-cut.jsonl.gz"]
    landed = pl.read_parquet(raw_dir / "gov_services" / "*.parquet")
    assert landed["source_file"].unique().to_list() == ["gov_services/events_2021-05-good.jsonl"]
    assert not list((raw_dir / "gov_services").glob(".*.tmp"))


def test_raw_row_groups_hold_one_event_type_each(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each event type in row groups of its own, so the cases model's read of one type skips the others by their
    # Parquet statistics; every row still lands once, in delivered order within its type.
    monkeypatch.setattr(reading, "BATCH_LINES", 4)
    landing = tmp_path / "landing"
    types = ["submitted", "accepted", "submitted", "rated", "completed", "submitted", "accepted", "rejected"]
    lines = [{**GOOD, "event_id": f"e-{i}", "event_type": kind} for i, kind in enumerate(types)]
    (landing / "gov_services").mkdir(parents=True)
    write_jsonl(landing / "gov_services" / "events_2021-05.jsonl", lines)

    raw_dir = tmp_path / "raw"
    report = runner.ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1)

    assert report.rows_loaded == len(types), report.summary()
    [path] = [p for p in (raw_dir / "gov_services").glob("*.parquet") if p.name != EMPTY_MARKER]
    parquet = pq.ParquetFile(path)
    groups = [parquet.read_row_group(i).to_pydict() for i in range(parquet.num_row_groups)]
    assert [(set(g["event_type"]), g["source_row"]) for g in groups] == [
        ({"submitted"}, [1, 3]),  # first batch: lines 1-4
        ({"accepted"}, [2]),
        ({"rated"}, [4]),
        ({"completed"}, [5]),  # second batch: lines 5-8
        ({"submitted"}, [6]),
        ({"accepted"}, [7]),
        ({"rejected"}, [8]),
    ]
    stats = parquet.metadata.row_group(0).column(parquet.schema_arrow.get_field_index("event_type")).statistics
    assert (stats.min, stats.max) == ("submitted", "submitted")
