"""The landing zone is a boundary, and a file is ingested only once complete: links and other non-regular files
are rejected unread, temporary names are skipped, files still being written wait, copies are recorded once."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.landing import is_temporary, landed
from pipelines.ingest.runner import ingest_table, pending_files
from pipelines.lib.pseudonymise import Pseudonymiser

PSEUDONYMISE = Pseudonymiser(b"boundary-test")
EVENT = (
    '{"event_id":"EVR1","case_id":"ZWR1","event_type":"submitted","occurred_at":"2022-11-15T10:00:00+08:00",'
    '"item_code":"SJ001","item_name":"企业开办登记","department":"区市场监督管理局","channel":"online"}\n'
)
CAMERAS = "camera_id,street_code,installed_on,status_date,online\nYFXL0001,430406001000,,2021-06-30,1\n"
# Fake personal data outside the landing zone, reachable only by following a link.
SECRET_LINES = [
    '{"incident_id":"I1","received_at":"2022-01-01T00:00:00+08:00","category":"theft","street_code":"430406001000",'
    '"source":"app","reporter_name":"秘密张三","reporter_phone":"13899998888"}',
    "root:x:0:0:秘密张三 13899998888:/root:/bin/bash",
]


def _ledger(raw_dir: Path) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(
            "select source_file, status, reason_code, reason_detail, duplicate_of, rows_loaded "
            f"from read_parquet('{raw_dir}/ingest_ledger/*.parquet') order by source_file"
        ).fetchall()
    finally:
        con.close()


def _stored_text(raw_dir: Path) -> str:
    con = duckdb.connect()
    try:
        parts = []
        for path in raw_dir.rglob("*.parquet"):
            parts += [str(row) for row in con.execute(f"select * from read_parquet('{path}')").fetchall()]
        return "\n".join(parts) + "".join(p.read_text("utf-8", "replace") for p in raw_dir.parent.rglob("*.json"))
    finally:
        con.close()


@pytest.fixture
def zone(tmp_path: Path) -> tuple[Path, Path, Path]:
    landing, raw_dir, outside = tmp_path / "landing", tmp_path / "wh.state" / "raw", tmp_path / "outside"
    for folder in ("gov_services", "security/incidents", "security/cameras"):
        (landing / folder).mkdir(parents=True)
    outside.mkdir()
    (outside / "people.jsonl").write_text("\n".join(SECRET_LINES) + "\n", encoding="utf-8")
    (outside / "people.csv").write_text("\n".join(SECRET_LINES) + "\n", encoding="utf-8")
    (outside / "dir").mkdir()
    (outside / "dir" / "more.jsonl").write_text(SECRET_LINES[0] + "\n", encoding="utf-8")
    return landing, raw_dir, outside


def test_links_are_rejected_in_the_ledger_and_never_read(zone) -> None:
    landing, raw_dir, outside = zone
    (landing / "security" / "incidents" / "x.jsonl").symlink_to(outside / "people.jsonl")
    (landing / "security" / "incidents" / "linked_dir").symlink_to(outside / "dir", target_is_directory=True)
    (landing / "security" / "cameras" / "x.csv").symlink_to(outside / "people.csv")
    (landing / "security" / "cameras" / "ok.csv").write_text(CAMERAS, encoding="utf-8")
    os.mkfifo(landing / "security" / "cameras" / "pipe.csv")  # reading it would block the run for ever
    for table in ("security_incidents", "security_cameras"):
        report = ingest_table(table, landing, raw_dir, PSEUDONYMISE, workers=1)
        assert report.errors == []
    assert _ledger(raw_dir) == [
        ("security/cameras/ok.csv", "loaded", None, None, None, 1),
        ("security/cameras/pipe.csv", "rejected", "not_regular_file", "FIFO", None, 0),
        ("security/cameras/x.csv", "rejected", "not_regular_file", "symbolic link", None, 0),
        ("security/incidents/linked_dir", "rejected", "not_regular_file", "directory link", None, 0),
        ("security/incidents/x.jsonl", "rejected", "not_regular_file", "symbolic link", None, 0),
    ]
    stored = _stored_text(raw_dir)
    assert "秘密张三" not in stored and "13899998888" not in stored and "root:x" not in stored
    # Recorded once: the next run adds nothing and nothing is pending for the sensors.
    before = sorted(p.name for p in (raw_dir / "ingest_ledger").iterdir())
    for table in ("security_incidents", "security_cameras"):
        assert ingest_table(table, landing, raw_dir, PSEUDONYMISE, workers=1).files_new == 0
        assert pending_files(table, landing, raw_dir) == []
    assert sorted(p.name for p in (raw_dir / "ingest_ledger").iterdir()) == before


def test_a_copy_under_another_name_is_recorded_once_as_a_duplicate(zone) -> None:
    landing, raw_dir, _ = zone
    first = landing / "gov_services" / "a.jsonl"
    first.write_text(EVENT, encoding="utf-8")
    os.utime(first, (1_600_000_000, 1_600_000_000))
    (landing / "gov_services" / "b.jsonl").write_text(EVENT, encoding="utf-8")  # same bytes, same run
    report = ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1)
    assert (report.files_new, report.files_duplicate, report.rows_loaded) == (1, 1, 1)
    (landing / "gov_services" / "c.jsonl").write_text(EVENT, encoding="utf-8")  # same bytes, a later run
    assert pending_files("gov_services", landing, raw_dir) != []
    report = ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1)
    assert (report.files_new, report.files_duplicate, report.rows_loaded) == (0, 1, 0)
    assert _ledger(raw_dir) == [
        ("gov_services/a.jsonl", "loaded", None, None, None, 1),
        ("gov_services/b.jsonl", "duplicate", "duplicate_file", "gov_services/a.jsonl", "gov_services/a.jsonl", 0),
        ("gov_services/c.jsonl", "duplicate", "duplicate_file", "gov_services/a.jsonl", "gov_services/a.jsonl", 0),
    ]
    assert ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1).files_duplicate == 0
    assert pending_files("gov_services", landing, raw_dir) == []
    assert len(_ledger(raw_dir)) == 3


@pytest.mark.parametrize(
    ("name", "temporary"),
    [
        (".a.jsonl", True),
        ("a.jsonl.part", True),
        ("a.jsonl.tmp", True),
        ("a.tmp.jsonl", True),
        ("a.jsonl~", True),
        ("~$book.xlsx", True),
        ("a.partial.jsonl", True),
        ("2022-11-15.jsonl", False),
        ("party_2022.jsonl", False),
        ("a.jsonl.gz", False),
    ],
)
def test_temporary_names(name: str, temporary: bool) -> None:
    assert is_temporary(name) is temporary


def test_temporary_names_and_dot_folders_are_skipped(zone) -> None:
    landing, raw_dir, _ = zone
    folder = landing / "gov_services"
    for name in (".a.jsonl", "b.jsonl.part", "c.tmp.jsonl", "d.jsonl~"):
        (folder / name).write_text(EVENT, encoding="utf-8")
    (folder / ".incoming").mkdir()
    (folder / ".incoming" / "e.jsonl").write_text(EVENT, encoding="utf-8")
    assert landed(landing, "gov_services", (".jsonl",), settle=0) == ([], [])
    assert ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1).files_seen == 0


def test_a_file_still_being_written_waits_until_it_settles(zone, monkeypatch) -> None:
    landing, raw_dir, _ = zone
    path = landing / "gov_services" / "growing.jsonl"
    path.write_text(EVENT, encoding="utf-8")
    ready, changing = landed(landing, "gov_services", (".jsonl",), settle=60)
    assert (ready, [e.source_file for e in changing]) == ([], ["gov_services/growing.jsonl"])
    # A run waits once, up to the settle time (the wait skipped here); a file still changing then is left for
    # the next run, and is not pending for the sensors either.
    sleep = time.sleep
    monkeypatch.setattr(time, "sleep", lambda seconds: None)
    report = ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1, settle=60)
    assert (report.files_unsettled, report.files_new) == (1, 0)
    monkeypatch.setenv("INNOSTAT_SETTLE_SECONDS", "60")
    assert pending_files("gov_services", landing, raw_dir) == []
    # Once the settle time has passed (a short one, really waited for), it is ingested.
    monkeypatch.setattr(time, "sleep", sleep)
    report = ingest_table("gov_services", landing, raw_dir, PSEUDONYMISE, workers=1, settle=0.5)
    assert (report.files_unsettled, report.files_new, report.rows_loaded) == (0, 1, 1)


def test_the_reason_codes_are_documented_as_the_seed_holds_them() -> None:
    from pipelines.ingest.reasons import reasons
    from pipelines.lib.settings import PROJECT_ROOT

    doc = (PROJECT_ROOT / "docs" / "ingestion.md").read_text(encoding="utf-8")
    for reason in reasons().values():
        assert f"| `{reason.code}` | {reason.scope} | {reason.label_zh} | {reason.label_en} |" in doc


@pytest.mark.parametrize(
    ("table", "name", "outside"),
    [("security_incidents", "x.jsonl", "people.jsonl"), ("security_cameras", "x.csv", "people.csv")],
)
def test_a_link_swapped_in_after_discovery_is_not_read_by_the_parser(zone, table, name, outside) -> None:
    from pipelines.ingest.base import FileContext, FileRejected
    from pipelines.ingest.registry import parser_for
    from pipelines.lib.regions import load_regions

    landing, raw_dir, outside_dir = zone
    parser = parser_for(table)
    link = landing / parser.folder / name
    link.symlink_to(outside_dir / outside)
    ctx = FileContext(parser.feed, link, f"{parser.folder}/{name}", load_regions(), PSEUDONYMISE, raw_dir / table)
    with pytest.raises(FileRejected) as rejected:
        list(parser.parse(ctx))
    assert rejected.value.code == "not_regular_file" and "秘密" not in rejected.value.reason
