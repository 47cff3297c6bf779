"""Mart checks on a daily run judge the rows that changed since the last publish, not the whole history.

Real DuckDB files: a published warehouse whose marts.fct_gov_service_cases passed the current suites, and a
working build that adds and changes a few cases. Uniqueness still sees the whole table (a duplicate of an old case
counts), and a suite that changed since the publish judges every row again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.lib.settings import QualitySettings, QualityThresholds, Settings
from pipelines.quality import checks
from pipelines.quality.results import Outcome, sample_text

MODEL = "fct_gov_service_cases"
CHECK = f"marts/{MODEL}:great_expectations"
PSEUDONYM = "p:" + "b" * 64


def _cases(ids: range, **changes) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "case_id": [f"C{i:05d}" for i in ids],
            "channel": "online",
            "applicant_type": "person",
            "visits": 0,
            "promised_days": 5,
            "rating": 5,
            "rating_count": 1,
            "event_count": 3,
            "processing_days": 1.5,
            "submitted_month": "2022-12",
            "completed_month": "2022-12",
            "applicant_id_pseudonym": PSEUDONYM,
            "applicant_phone_pseudonym": PSEUDONYM,
        }
    )
    return frame.assign(**changes)


def _write_mart(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.register("frame", frame)
        con.execute(f"create or replace table marts.{MODEL} as select * from frame")
    finally:
        con.close()


@pytest.fixture
def published(tmp_path) -> Settings:
    """A warehouse whose mart of 2 000 good cases was checked (and so fingerprinted) and published."""
    settings = Settings.resolve(tmp_path / "landing", tmp_path / "wh" / "innostat.duckdb")
    _write_mart(settings.build_path, _cases(range(2000)))
    first = checks.check_mart(settings, QualitySettings(), MODEL, "run-1", CHECK)
    assert first.passed and first.rows_checked == 2000
    shutil.move(settings.build_path, settings.warehouse)
    return settings


def _rebuild(settings: Settings, frame: pd.DataFrame) -> None:
    """The next run's build: the published file plus this run's rows (what `innostat run` does)."""
    shutil.copy(settings.warehouse, settings.build_path)
    _write_mart(settings.build_path, frame)


def _check(settings: Settings, run_id: str) -> Outcome:
    return checks.check_mart(settings, QualitySettings(), MODEL, run_id, CHECK)


def test_a_daily_run_judges_only_new_and_changed_rows(published: Settings) -> None:
    old = _cases(range(2000))
    old.loc[7, "rating"] = 4  # a changed case: re-judged
    _rebuild(published, pd.concat([old, _cases(range(2000, 2030))], ignore_index=True))
    outcome = _check(published, "run-2")
    assert outcome.passed
    assert outcome.rows_checked == 31  # 30 new cases and the changed one, not the 2 030 rows of the mart


def test_a_bad_new_row_still_blocks(published: Settings) -> None:
    new = _cases(range(2000, 2010))
    new.loc[3, "visits"] = -2
    _rebuild(published, pd.concat([_cases(range(2000)), new], ignore_index=True))
    outcome = _check(published, "run-2")
    failed = {r.expectation: r for r in outcome.blocking_failures}
    assert set(failed) == {"visits_non_negative"}
    assert failed["visits_non_negative"].unexpected_count == 1
    assert failed["visits_non_negative"].sample  # names the offending case


def test_uniqueness_sees_old_rows_too(published: Settings) -> None:
    again = _cases(range(5, 6), rating=3)  # a second row for an old, unchanged case
    _rebuild(published, pd.concat([_cases(range(2000)), again], ignore_index=True))
    outcome = _check(published, "run-2")
    failed = {r.expectation: r for r in outcome.blocking_failures}
    assert set(failed) == {"case_id_unique"}
    assert failed["case_id_unique"].unexpected_count == 2  # both copies, as GX counts them on the whole column
    assert failed["case_id_unique"].element_count == 2001
    assert "C00005" in sample_text(failed["case_id_unique"].sample[0])


def test_a_changed_suite_judges_every_row_again(published: Settings) -> None:
    con = duckdb.connect(str(published.warehouse))
    try:
        con.execute(f"update {checks.SUITES_TABLE} set fingerprint = 'an older suite'")
    finally:
        con.close()
    _rebuild(published, _cases(range(2010)))
    assert _check(published, "run-2").rows_checked == 2010


def test_without_a_published_warehouse_every_row_is_judged(tmp_path) -> None:
    settings = Settings.resolve(tmp_path / "landing", tmp_path / "wh" / "innostat.duckdb")
    _write_mart(settings.build_path, _cases(range(100), visits=-1))
    outcome = _check(settings, "run-1")
    assert outcome.rows_checked == 100
    assert [r.unexpected_count for r in outcome.blocking_failures] == [100]


def test_the_fingerprint_is_stable_and_follows_rules_and_thresholds() -> None:
    thresholds = QualityThresholds()
    suites = checks.mart_suites(MODEL, thresholds)
    assert checks.suite_fingerprint(suites) == checks.suite_fingerprint(checks.mart_suites(MODEL, thresholds))
    other = checks.mart_suites("fct_rd_filings", thresholds)
    assert checks.suite_fingerprint(suites) != checks.suite_fingerprint(other)
    default = checks.mart_suites("indicator_values", thresholds)
    stricter = checks.mart_suites("indicator_values", QualityThresholds(rd_intensity_max=0.05))
    assert checks.suite_fingerprint(default) != checks.suite_fingerprint(stricter)
