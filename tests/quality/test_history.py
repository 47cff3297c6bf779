"""Raw checks on real ingestion output, the data-quality history, and the publish verdict (real DuckDB)."""

from __future__ import annotations

import duckdb

from pipelines.ingest.runner import ingest_table
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.settings import QualitySettings
from pipelines.quality.checks import check_raw
from pipelines.quality.history import (
    HISTORY_COLUMNS,
    publish_blockers,
    quality_dir,
    read_history,
    record,
    write_history,
)
from tests.quality.conftest import rows

HEADER = "地区代码,指标名称,计量单位,统计期,数值,数据状态\n"
CHECK = "raw/statistics:great_expectations"


def _ingest(settings, run_id: str) -> None:
    ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"k"), run_id=run_id)


def test_raw_checks_judge_this_runs_files_and_a_failure_lands_in_the_working_build(settings):
    folder = settings.landing / "statistics"
    folder.mkdir()
    (folder / "a.csv").write_text(
        HEADER + "430406,地区生产总值,亿元,2021,263.5,快报\n430406,常住人口,万人,2021-03,3.6,快报\n", encoding="utf-8"
    )
    _ingest(settings, "run-1")
    first = check_raw(settings, QualitySettings(), "statistics", "run-1", CHECK)
    assert first.passed and first.rows_checked == 2
    assert not settings.build_path.exists()  # a passing raw check leaves the working build to the dbt step

    (folder / "b.csv").write_bytes(b"")  # an empty file: rejected as a whole at ingestion
    _ingest(settings, "run-2")
    second = check_raw(settings, QualitySettings(), "statistics", "run-2", CHECK)
    assert second.rows_checked == 0  # run-1's rows are not judged again
    assert [r.expectation for r in second.blocking_failures] == ["new_files_deliver_rows"]
    (sample,) = second.blocking_failures[0].sample
    assert sample["source_file"] == "statistics/b.csv" and sample["status"] == "rejected"
    assert sample["rows_delivered"] == 0 and "empty" in sample["reason"]
    assert "statistics/b.csv" in second.description()

    # every check of every run is kept; the blocked run made the working build and wrote the history into it
    assert sorted(p.name.split("-raw_")[0] for p in quality_dir(settings).glob("*.parquet")) == ["run-1", "run-2"]
    history = rows(
        settings.build_path, "select run_id, table_name, expectation, passed, sample from marts.data_quality"
    )
    assert len(history) == len(first.results) + len(second.results)
    failed = [r for r in history if not r[3]]
    assert [r[:4] for r in failed] == [("run-2", "raw.statistics", "new_files_deliver_rows", False)]
    assert "statistics/b.csv" in failed[0][4]

    assert publish_blockers(settings, "run-2") == ["raw.statistics: new_files_deliver_rows failed in this run"]
    # another run (e.g. the publish asset materialised on its own) still sees that this build failed
    assert publish_blockers(settings, "run-3") == [
        "raw.statistics: new_files_deliver_rows failed in run run-2, which built this file"
    ]


def test_history_is_every_run_and_a_newer_passing_run_clears_the_verdict(settings, tmp_path):
    folder = settings.landing / "statistics"
    folder.mkdir()
    (folder / "a.csv").write_text(HEADER + "430406,地区生产总值,亿元,2021,263.5,快报\n", encoding="utf-8")
    _ingest(settings, "run-1")
    (folder / "b.csv").write_bytes(b"")
    _ingest(settings, "run-2")
    check_raw(settings, QualitySettings(), "statistics", "run-1", CHECK)
    check_raw(settings, QualitySettings(), "statistics", "run-2", CHECK)
    passing = check_raw(settings, QualitySettings(), "statistics", "run-3", CHECK)  # nothing new to judge: passes

    fresh = tmp_path / "fresh.duckdb"  # a build the dbt step started from the published file
    con = duckdb.connect(str(fresh))
    try:
        assert write_history(con, quality_dir(settings)) == 3 * len(passing.results)
        columns = [c for (c,) in con.execute("select column_name from (describe marts.data_quality)").fetchall()]
        assert columns == list(HISTORY_COLUMNS)
        runs = con.execute("select distinct run_id from marts.data_quality order by 1").fetchall()
        assert runs == [("run-1",), ("run-2",), ("run-3",)]
    finally:
        con.close()
    assert read_history(quality_dir(settings), "run-3")["passed"].all()
    # re-recording the same check of the same run replaces its file instead of adding rows
    record(settings, passing)
    assert read_history(quality_dir(settings)).height == 3 * len(passing.results)
