"""Reason codes: every quarantined row and rejected file carries a code of the seed and its detail apart; the
quarantine and ledger files written before the codes existed are upgraded once."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipelines.ingest.layout import ensure_layout
from pipelines.ingest.reasons import reasons
from pipelines.ingest.runner import ingest_table
from pipelines.lib.feeds import LEDGER_COLUMNS, QUARANTINE_TABLE_COLUMNS
from pipelines.lib.pseudonymise import Pseudonymiser

PSEUDONYMISE = Pseudonymiser(b"reason-codes-test")
GOOD = {
    "incident_id": "I1",
    "received_at": "2022-01-01T10:00:00+08:00",
    "category": "theft",
    "street_code": "430406001000",
    "source": "app",
}


def test_every_bad_line_gets_a_code_from_the_seed_and_its_detail_apart(tmp_path: Path) -> None:
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "security" / "incidents").mkdir(parents=True)
    lines = [
        json.dumps(GOOD),
        json.dumps({**GOOD, "street_code": "999999999999"}),
        json.dumps({**GOOD, "category": "arson"}),
        json.dumps({**GOOD, "received_at": "yesterday"}),
        json.dumps({k: v for k, v in GOOD.items() if k != "incident_id"}),
        json.dumps({**GOOD, "lat": "north"}),
        '{"incident_id": "I7", "reporter_phone": "13812340000"',
        json.dumps({**GOOD, "incident_id": "报警人13812340000"}),
    ]
    (landing / "security" / "incidents" / "i.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest_table("security_incidents", landing, raw_dir, PSEUDONYMISE, workers=1)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 7)
    quarantined = pl.read_parquet(raw_dir / "quarantine" / "security_incidents-*.parquet").sort("source_row")
    assert quarantined.select("reason_code", "reason_detail").rows() == [
        ("unknown_region", "999999999999"),
        ("not_allowed_value", "arson"),
        ("bad_timestamp", '"yesterday"'),
        ("missing_field", "incident_id"),
        ("wrong_type", '"north"'),
        ("bad_json", "invalid JSON"),
        ("personal_data_in_text", "incident_id: mobile"),
    ]
    assert set(quarantined["reason_code"]) <= {c for c, r in reasons().items() if r.scope == "row"}
    assert "13812340000" not in quarantined.write_json()


def test_quarantine_and_ledger_files_from_before_the_codes_are_upgraded_once(tmp_path: Path) -> None:
    raw_dir = tmp_path / "raw"
    old_quarantine = {k: v for k, v in QUARANTINE_TABLE_COLUMNS.items() if k not in ("reason_code", "reason_detail")}
    old_ledger = {k: v for k, v in LEDGER_COLUMNS.items() if k not in ("reason_code", "reason_detail", "duplicate_of")}
    when = datetime(2022, 1, 1)
    quarantine = pl.DataFrame(
        {
            "feed": ["statistics"] * 3,
            "source_file": ["statistics/a.csv"] * 3,
            "source_row": [2, 3, 4],
            "source_sheet": [None] * 3,
            "reason": ["unknown 地区代码 '999'; unknown 指标名称 'x'", "the row has 3 fields, the header 6", "odd"],
            "raw": ["{}"] * 3,
            "file_hash": ["a" * 64] * 3,
            "delivered_at": [when] * 3,
            "ingested_at": [when] * 3,
        },
        schema=old_quarantine,
    )
    ledger = pl.DataFrame(
        [
            {
                "feed": "statistics",
                "source_file": "statistics/empty.csv",
                "file_hash": "b" * 64,
                "bytes": 0,
                "delivered_at": when,
                "ingested_at": when,
                "status": "rejected",
                "reason": "the file is empty; the source system should re-deliver it",
                "rows_loaded": 0,
                "rows_quarantined": 0,
                "rows_skipped": 0,
                "run_id": "old",
            }
        ],
        schema=old_ledger,
    )
    (raw_dir / "quarantine").mkdir(parents=True)
    (raw_dir / "ingest_ledger").mkdir(parents=True)
    quarantine.write_parquet(raw_dir / "quarantine" / f"statistics-{'a' * 64}.parquet")
    ledger.write_parquet(raw_dir / "ingest_ledger" / f"statistics-{'b' * 64}.parquet")
    pl.DataFrame(schema=old_quarantine).write_parquet(raw_dir / "quarantine" / "_empty.parquet")
    ensure_layout(raw_dir, "statistics")
    for path in [*(raw_dir / "quarantine").glob("*.parquet"), *(raw_dir / "ingest_ledger").glob("*.parquet")]:
        names = set(pq.read_schema(path).names)
        assert "reason_code" in names and "reason_detail" in names, path
    codes = pl.read_parquet(raw_dir / "quarantine" / "statistics-*.parquet").sort("source_row")["reason_code"]
    assert codes.to_list() == ["unknown_region", "ragged_row", "unclassified"]
    ledger_codes = pl.read_parquet(raw_dir / "ingest_ledger" / "statistics-*.parquet")["reason_code"].to_list()
    assert ledger_codes == ["empty_file"]


def test_rows_stored_before_the_allow_list_keep_only_the_names_of_extra_columns(tmp_path: Path) -> None:
    from pipelines.lib.feeds import raw_schema

    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "statistics").mkdir(parents=True)
    ensure_layout(raw_dir, "statistics")
    when = datetime(2022, 1, 1)
    schema = raw_schema("statistics")
    old = pl.DataFrame(
        [
            {
                **dict.fromkeys(schema),
                "region_code": "430406",
                "indicator_code": "GDP",
                "extra_columns": json.dumps({"联系人": "王经理", "联系电话": "13812340000"}, ensure_ascii=False),
                "source_file": "statistics/old.csv",
                "source_row": 2,
                "file_hash": "c" * 64,
                "delivered_at": when,
                "ingested_at": when,
            },
            {**dict.fromkeys(schema), "region_code": "430406", "source_row": 3, "file_hash": "c" * 64},
        ],
        schema=schema,
    )
    old.write_parquet(raw_dir / "statistics" / f"{'c' * 64}.parquet")
    quarantine = pl.DataFrame(
        [
            {
                **dict.fromkeys(QUARANTINE_TABLE_COLUMNS),
                "feed": "statistics",
                "source_row": 4,
                "reason": "the row has 8 fields, the header 6",
                "reason_code": "ragged_row",
                "raw": json.dumps(["430406", "张三 13812340000", "1"], ensure_ascii=False),
                "file_hash": "c" * 64,
            }
        ],
        schema=QUARANTINE_TABLE_COLUMNS,
    )
    quarantine.write_parquet(raw_dir / "quarantine" / f"statistics-{'c' * 64}.parquet")
    ledger = {**dict.fromkeys(LEDGER_COLUMNS), "feed": "statistics", "source_file": "statistics/old.csv"}
    ledger.update(file_hash="c" * 64, status="loaded", rows_loaded=2, rows_quarantined=1, rows_skipped=0)
    pl.DataFrame([ledger], schema=LEDGER_COLUMNS).write_parquet(
        raw_dir / "ingest_ledger" / f"statistics-{'c' * 64}.parquet"
    )
    ingest_table("statistics", landing, raw_dir, PSEUDONYMISE, workers=1)
    stored = pl.read_parquet(raw_dir / "statistics" / f"{'c' * 64}.parquet")
    assert stored["extra_columns"].to_list() == ['["联系人", "联系电话"]', None]
    assert stored.drop("extra_columns").equals(old.drop("extra_columns"))
    raw = pl.read_parquet(raw_dir / "quarantine" / f"statistics-{'c' * 64}.parquet")["raw"].item()
    assert json.loads(raw) == ["430406", PSEUDONYMISE("张三 13812340000"), "1"]
