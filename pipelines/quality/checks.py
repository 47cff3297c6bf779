"""The two checks: `check_raw` judges this run's batch of a raw table, `check_mart` a mart of the working build.
Each records its outcome in the quality history (history.py) and returns it for the Dagster asset check.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.lib.settings import QualitySettings, QualityThresholds, Settings
from pipelines.lib.warehouse import duckdb_memory_limit
from pipelines.quality.chunking import judge
from pipelines.quality.frames import (
    mart_frames,
    mart_repeated_values,
    mart_row_chunks,
    raw_frames,
    raw_row_chunks,
)
from pipelines.quality.history import (
    quality_dir,
    record,
    record_in_working_build,
    working_build_is_this_runs,
    write_history,
)
from pipelines.quality.results import Outcome, now
from pipelines.quality.suites.marts import mart_schema

if TYPE_CHECKING:
    from pipelines.quality.suites.core import Suite


def raw_suites(table: str, thresholds: QualityThresholds) -> list[Suite]:
    from pipelines.quality.suites.raw import build_suites  # imports GX: only when a check runs

    return build_suites(table, thresholds)


def mart_suites(model: str, thresholds: QualityThresholds) -> list[Suite]:
    from pipelines.quality.suites.marts import build_suites  # imports GX: only when a check runs

    return build_suites(model, thresholds)


def check_raw(settings: Settings, quality: QualitySettings, table: str, run_id: str, check_name: str) -> Outcome:
    """Validate this run's batch of raw.<table>, and record the results.

    Suites whose every rule judges one row at a time run over the batch in chunks of about `chunk_rows()` rows
    (shared among `quality.check_workers`), so a first load of years of history never sits in one pandas frame
    (the run's memory budget, benchmarks/).
    """
    workers = quality.check_workers
    results, rows_checked = judge(
        raw_suites(table, quality.thresholds),
        lambda whole: raw_frames(
            settings.raw_dir, table, run_id, whole, with_rows=any(s.frame == "rows" for s in whole)
        ),
        lambda row_wise: raw_row_chunks(settings.raw_dir, table, run_id, row_wise, workers=workers),
        workers=workers,
    )
    outcome = Outcome(
        check_name=check_name,
        table=f"raw.{table}",
        run_id=run_id,
        checked_at=now(),
        results=results,
        rows_checked=rows_checked,
    )
    record(settings, outcome)
    if outcome.blocking_failures or working_build_is_this_runs(settings, run_id):
        record_in_working_build(settings, run_id)
    return outcome


SUITES_TABLE = "marts.data_quality_suites"  # per mart, the fingerprint of the suites its rows passed
_PUBLISHED = "published"  # the alias the published warehouse is attached under while a mart is checked


def suite_fingerprint(suites: list[Suite]) -> str:
    """A digest of every rule as configured (name, severity, GX type, arguments and thresholds): equal
    fingerprints mean a row that passed one suite passes the other."""
    import hashlib

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in sorted(value.items())}
        if isinstance(value, list | tuple | set | frozenset):
            items = [canonical(v) for v in value]
            return sorted(items, key=repr) if isinstance(value, set | frozenset) or _all_scalars(items) else items
        return value

    described = [
        [
            suite.name,
            suite.frame,
            suite.part,
            [canonical(r.expectation.configuration.to_json_dict()) for r in suite.rules],
        ]
        for suite in suites
    ]
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _all_scalars(items: list) -> bool:
    return all(isinstance(v, str | int | float | bool) or v is None for v in items)


def _attach_published(con: duckdb.DuckDBPyConnection, published: Path, model: str, fingerprint: str) -> bool:
    """Attach the published warehouse read-only when its marts.<model> passed these very suites: its rows need
    no second judgement. False (nothing attached) on a first build, after a suite changed, or without a record."""
    if not published.exists():
        return False
    con.execute(f"attach '{published.as_posix().replace(chr(39), chr(39) * 2)}' as {_PUBLISHED} (read_only)")
    (judged,) = con.execute(
        f"select count(*) from information_schema.tables where table_catalog = '{_PUBLISHED}' "
        "and ((table_schema = 'marts' and table_name = 'data_quality_suites') "
        "or (table_schema = ? and table_name = ?))",
        [mart_schema(model), model],
    ).fetchall()[0]
    matches = judged == 2 and bool(
        con.execute(
            f"select count(*) from {_PUBLISHED}.{SUITES_TABLE} where table_name = ? and fingerprint = ?",
            [model, fingerprint],
        ).fetchall()[0][0]
    )
    if not matches:
        con.execute(f"detach {_PUBLISHED}")
    return matches


def _record_fingerprint(con: duckdb.DuckDBPyConnection, model: str, fingerprint: str) -> None:
    con.execute(f"create table if not exists {SUITES_TABLE} (table_name varchar, fingerprint varchar)")
    con.execute(f"delete from {SUITES_TABLE} where table_name = ?", [model])
    con.execute(f"insert into {SUITES_TABLE} values (?, ?)", [model, fingerprint])


def check_mart(settings: Settings, quality: QualitySettings, model: str, run_id: str, check_name: str) -> Outcome:
    """Validate the mart <model> (in schema marts, or confidential: suites.marts.MART_SCHEMAS) in the working build,
    record the results and rewrite its data-quality history.

    Row-wise rules judge only the rows that differ from the published mart when that mart passed the same
    suites (so a daily run judges its day, not the history); uniqueness is decided by the repeated values,
    found in DuckDB. Rules over the whole table (shares, row counts, derived frames) always see all of it.
    """
    suites = mart_suites(model, quality.thresholds)
    workers = quality.check_workers
    if not settings.build_path.exists():
        raise FileNotFoundError(f"no working build at {settings.build_path}: the dbt step has not run")
    fingerprint = suite_fingerprint(suites)
    con = duckdb.connect(str(settings.build_path), config={"memory_limit": duckdb_memory_limit()})
    try:
        only_changed = _attach_published(con, settings.warehouse, model, fingerprint)
        results, rows_checked = judge(
            suites,
            lambda whole: mart_frames(
                con, model, settings.warehouse, whole, with_rows=any(s.frame == "rows" for s in whole)
            ),
            lambda row_wise: mart_row_chunks(
                con, model, row_wise, except_in=_PUBLISHED if only_changed else None, workers=workers
            ),
            lambda column, columns: mart_repeated_values(con, model, column, columns),
            workers=workers,
        )
        if only_changed:
            con.execute(f"detach {_PUBLISHED}")
        _record_fingerprint(con, model, fingerprint)
        outcome = Outcome(
            check_name=check_name,
            table=f"{mart_schema(model)}.{model}",
            run_id=run_id,
            checked_at=now(),
            results=results,
            rows_checked=rows_checked,
        )
        record(settings, outcome)
        write_history(con, quality_dir(settings))
    finally:
        con.close()
    return outcome


DISCLOSURE_CHECK = "disclosure_control"  # the Dagster asset check on marts.indicator_values


def check_disclosure(settings: Settings, quality: QualitySettings, run_id: str, check_name: str) -> Outcome:
    """Recompute the disclosure control of the working build from its microdata (quality/disclosure.py), judge
    the published codes, groups, intensities and the attacker's intervals with the disclosure suites, record the
    results with one message each (counts and the tightest protection) and rewrite the data-quality history."""
    from pipelines.quality.disclosure import audit
    from pipelines.quality.gx_runner import run_suites
    from pipelines.quality.suites.disclosure import build_suites  # imports GX: only when the check runs

    if not settings.build_path.exists():
        raise FileNotFoundError(f"no working build at {settings.build_path}: the dbt step has not run")
    con = duckdb.connect(str(settings.build_path), config={"memory_limit": duckdb_memory_limit()})
    try:
        found = audit(con)
        suites = build_suites(quality.thresholds)
        results = run_suites(suites, {name: frame.to_pandas() for name, frame in found.frames.items()})
        results = [replace(r, message=found.messages.get(r.expectation)) for r in results]
        outcome = Outcome(
            check_name=check_name,
            table="marts.indicator_values",
            run_id=run_id,
            checked_at=now(),
            results=results,
            rows_checked=found.frames["cells"].height,
        )
        record(settings, outcome)
        write_history(con, quality_dir(settings))
    finally:
        con.close()
    return outcome
