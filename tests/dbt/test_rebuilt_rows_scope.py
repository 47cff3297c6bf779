"""Uniqueness tests of incremental models read only the rows a run rebuilt (dbt_project/macros/rebuilt_rows.sql).

A real `dbt test` on a hand-made build file: a duplicate among the window's rows fails the test, a duplicate
that involves a row of the window and an older row fails it too (the `key` scope), a duplicate wholly outside
the window is left to the run that wrote it, and without a window (a first build) or with --full-refresh the
whole table is read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from pipelines.lib import feeds

DBT_PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"
RAW_TABLES = [*feeds.RAW_TABLES, *feeds.SIDE_TABLES]  # the on-run-start hook makes a view over each raw folder

CAMERA_TEST = "int_security_camera_days,test_name:unique_combination_of_columns"
EVENT_TEST = "int_gov_service_events_deduplicated,test_name:unique"


@pytest.fixture
def build(tmp_path, monkeypatch) -> Path:
    raw = tmp_path / "raw"
    con = duckdb.connect()
    for table in RAW_TABLES:
        (raw / table).mkdir(parents=True)
        con.execute(f"copy (select 1 as placeholder) to '{raw / table / 'part.parquet'}' (format parquet)")
    con.close()
    path = tmp_path / "build.duckdb"
    monkeypatch.setenv("INNOSTAT_BUILD_PATH", str(path))
    monkeypatch.setenv("INNOSTAT_RAW_DIR", str(raw))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(tmp_path / "logs"))
    for name in ("INNOSTAT_MIN_MONTH", "INNOSTAT_MAX_MONTH"):
        monkeypatch.delenv(name, raising=False)
    return path


def _tables(path: Path, camera_days: list[tuple[str, str]], events: list[tuple[str, str]]) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema intermediate")
    con.execute("create table intermediate.int_security_camera_days (camera_id varchar, status_date date)")
    con.executemany("insert into intermediate.int_security_camera_days values (?, ?)", camera_days)
    events_table = "intermediate.int_gov_service_events_deduplicated"
    con.execute(f"create table {events_table} (event_id varchar, occurred_at timestamp)")
    con.executemany(f"insert into {events_table} values (?, ?)", events)
    con.close()


def _passes(select: str, monkeypatch, month: str | None, command: str = "test", *flags: str) -> bool:
    if month:
        monkeypatch.setenv("INNOSTAT_MIN_MONTH", month)
        monkeypatch.setenv("INNOSTAT_MAX_MONTH", month)
    else:
        monkeypatch.delenv("INNOSTAT_MIN_MONTH", raising=False)
        monkeypatch.delenv("INNOSTAT_MAX_MONTH", raising=False)
    args = [command, *flags, "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT), "--select", select]
    result = dbtRunner().invoke([*args, "--quiet"])
    assert result.exception is None, result.exception
    tests = [r for r in result.result if r.node.resource_type == "test"]  # not the on-run-start hook
    assert len(tests) == 1 and str(tests[0].status) in {"pass", "fail"}, tests
    return str(tests[0].status) == "pass"


def test_a_duplicate_is_judged_when_a_rebuilt_row_is_in_it(build, monkeypatch):
    _tables(
        build,
        camera_days=[("K1", "2021-05-03"), ("K1", "2021-05-03"), ("K2", "2021-06-01")],
        events=[("E1", "2021-05-31 23:00:00"), ("E1", "2021-06-01 08:00:00"), ("E2", "2021-07-01 08:00:00")],
    )
    assert not _passes(CAMERA_TEST, monkeypatch, "2021-05")  # both copies rebuilt
    assert _passes(CAMERA_TEST, monkeypatch, "2021-06")  # 2021-05 was judged by the run that wrote it
    assert not _passes(CAMERA_TEST, monkeypatch, None)  # a first build reads everything
    assert not _passes(CAMERA_TEST, monkeypatch, "2021-06", "build", "--full-refresh")  # so does a full refresh

    assert not _passes(EVENT_TEST, monkeypatch, "2021-06")  # a rebuilt E1 beside an older E1: caught by its key
    assert _passes(EVENT_TEST, monkeypatch, "2021-07")
    assert not _passes(EVENT_TEST, monkeypatch, None)
