"""The quality history and the publish verdict.

Every check appends its results to `<warehouse>.state/quality/<run_id>-<check>.parquet` (append-only, like the
raw layer). `write_history` (re)creates `marts.data_quality` in a DuckDB file from all of them: the history of
every run. A failed run's results are thus in the working build (`<warehouse>.state/build.duckdb`), which stays
in place until the next run starts, and a passed run's results are published with the marts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb
import polars as pl

from pipelines.lib.settings import Settings
from pipelines.lib.warehouse import prepare_build
from pipelines.quality.results import Outcome

HISTORY_TABLE = "marts.data_quality"
HISTORY_COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "checked_at": pl.Datetime("us"),  # Asia/Shanghai wall clock, like every timestamp in the warehouse
    "table_name": pl.String(),
    "expectation": pl.String(),
    "severity": pl.String(),  # block | warn
    "passed": pl.Boolean(),
    "unexpected_count": pl.Int64(),
    "sample": pl.String(),  # JSON list of up to 5 offending values with the columns that locate them
    "element_count": pl.Int64(),
    "expectation_type": pl.String(),  # the GX expectation, e.g. expect_column_values_to_be_between
    "check_name": pl.String(),  # the Dagster asset check, e.g. raw/statistics:great_expectations
    "error": pl.String(),  # why an expectation could not be evaluated (counts as failed)
    "message": pl.String(),  # what it found in words, where a check says more than counts (the disclosure audit)
}


def quality_dir(settings: Settings) -> Path:
    return settings.state_dir / "quality"


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def record(settings: Settings, outcome: Outcome) -> Path:
    """Append the outcome as `<run_id>-<check>.parquet` (written to a temporary name, then renamed)."""
    folder = quality_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "run_id": outcome.run_id,
            "checked_at": outcome.checked_at,
            "table_name": r.table,
            "expectation": r.expectation,
            "severity": r.severity,
            "passed": r.passed,
            "unexpected_count": r.unexpected_count,
            "sample": json.dumps(r.sample, ensure_ascii=False, default=str),
            "element_count": r.element_count,
            "expectation_type": r.expectation_type,
            "check_name": outcome.check_name,
            "error": r.error,
            "message": r.message,
        }
        for r in outcome.results
    ]
    path = folder / f"{_safe(outcome.run_id)}-{_safe(outcome.check_name)}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    pl.DataFrame(rows, schema=HISTORY_COLUMNS).write_parquet(tmp)
    os.replace(tmp, path)
    return path


def read_history(folder: Path, run_id: str | None = None) -> pl.DataFrame:
    pattern = f"{_safe(run_id)}-*.parquet" if run_id else "*.parquet"
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not files:
        return pl.DataFrame(schema=HISTORY_COLUMNS)
    history = pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed")
    missing = [
        pl.lit(None, dtype).alias(name) for name, dtype in HISTORY_COLUMNS.items() if name not in history.columns
    ]
    return history.with_columns(missing).select(list(HISTORY_COLUMNS))  # files written before a column existed


def write_history(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """(Re)create marts.data_quality in the open DuckDB file from every recorded check; returns its rows."""
    history = read_history(folder).sort("checked_at", "table_name", "expectation")
    con.execute("create schema if not exists marts")
    con.register("quality_history", history.to_arrow())
    try:
        con.execute(f"create or replace table {HISTORY_TABLE} as select * from quality_history")
    finally:
        con.unregister("quality_history")
    return history.height


def _working_build_marker(settings: Settings) -> Path:
    return quality_dir(settings) / "working_build.run_id"


def working_build_is_this_runs(settings: Settings, run_id: str) -> bool:
    marker = _working_build_marker(settings)
    return settings.build_path.exists() and marker.exists() and marker.read_text(encoding="utf-8") == run_id


def record_in_working_build(settings: Settings, run_id: str) -> Path:
    """A raw check blocked, so this run stops before dbt. Make the working build a copy of the published warehouse
    whose marts.data_quality holds the history with this run's results, so the failure can be inspected there."""
    if not working_build_is_this_runs(settings, run_id):
        prepare_build(settings)
        _working_build_marker(settings).write_text(run_id, encoding="utf-8")
    con = duckdb.connect(str(settings.build_path))
    try:
        write_history(con, quality_dir(settings))
    finally:
        con.close()
    return settings.build_path


def publish_blockers(settings: Settings, run_id: str) -> list[str]:
    """Why the working build must not be published: a blocking expectation failed in this run, or the build's own
    data-quality record says the run that last checked it failed (a failed build published by hand)."""
    failed = read_history(quality_dir(settings), run_id).filter((pl.col("severity") == "block") & ~pl.col("passed"))
    reasons = [f"{row['table_name']}: {row['expectation']} failed in this run" for row in failed.iter_rows(named=True)]
    build = settings.build_path
    if reasons or not build.exists():
        return reasons
    con = duckdb.connect(str(build), read_only=True)
    try:
        (has_history,) = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'data_quality'"
        ).fetchall()[0]
        if not has_history:
            return []
        rows = con.execute(
            f"""
            with last_run as (select run_id from {HISTORY_TABLE} order by checked_at desc limit 1)
            select table_name, expectation, run_id from {HISTORY_TABLE}
            where run_id = (select run_id from last_run) and severity = 'block' and not passed
            """
        ).fetchall()
    finally:
        con.close()
    return [f"{table}: {expectation} failed in run {run}, which built this file" for table, expectation, run in rows]
