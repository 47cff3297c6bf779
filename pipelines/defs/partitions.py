"""Partitions, defined once: government-service and security facts are partitioned by Asia/Shanghai month, from
the first month with a row in the raw layer to the current month.

The first month is read when the definitions load (a run, the Dagster code server): the earliest month of the
monthly raw tables (`lib/months.MONTHLY_TABLES`). Their files are immutable and named by content hash, so
`<warehouse>.state/partition_months.json` remembers each table's first month and the files it was read from;
a load reads only files it has not seen (a daily run's few), not the whole raw layer again. Before any file is
ingested the partitions start at FALLBACK_FIRST_MONTH; a build never covers months before the first with data
(`lib/months.touched_months`), so the Dagster UI shows "N of N" once the data are in, whatever the fallback.

The last partition is the current month, always (not the last month with data): a long-running code server
keeps its definitions for days, and the month a delivery of today falls in must be a partition of it.
A window outside the partitions (a delivery older than the first month this code server saw) is clamped for
Dagster's bookkeeping, and dbt still rebuilds the whole window (`defs/operations/automation.build_tags`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

import dagster as dg

from pipelines.lib.months import MONTHLY_TABLES, current_month
from pipelines.lib.settings import Settings

MONTH_FORMAT = "%Y-%m"
FALLBACK_FIRST_MONTH = "2000-01"  # no raw row yet: early enough for any data the first build brings
CACHE_NAME = "partition_months.json"
# the months a build rebuilds, when they differ from its partition range (tags of the run; see the docstring)
WINDOW_START, WINDOW_END = "innostat/min_month", "innostat/max_month"


def _first_month_of(files: list[Path], column: str) -> str | None:
    import duckdb

    con = duckdb.connect()
    try:
        (first,) = con.execute(
            f"select strftime(min({column}), '%Y-%m') from read_parquet(?, union_by_name = true)",
            [[str(f) for f in files]],
        ).fetchone()
    finally:
        con.close()
    return first


def first_month_with_data(settings: Settings) -> str | None:
    """The earliest month with a row in the monthly raw tables, or None when they have none."""
    cache_path = settings.state_dir / CACHE_NAME
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    changed, firsts = False, []
    for table, column in MONTHLY_TABLES.items():
        folder = settings.raw_dir / table
        names = sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []
        known = cache.get(table) or {"first": None, "files": []}
        seen = set(known["files"])
        new = [folder / name for name in names if name not in seen]
        first = known["first"]
        if new:
            try:
                found = _first_month_of(new, column)
            except Exception:  # a broken file: the ingestion's check reports it; read it again next time
                found, names = None, None
            first = min(first, found) if first and found else first or found
            if names is not None:
                cache[table] = {"first": first, "files": names}
                changed = True
        if first:
            firsts.append(first)
    if changed and settings.state_dir.is_dir():
        partial = cache_path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):  # a read-only state folder: read again next time
            partial.write_text(json.dumps(cache))
            os.replace(partial, cache_path)
    return min(firsts) if firsts else None


def first_partition_month() -> str:
    """The first month of the partitions: the first with data (at the latest the current month), else the
    fallback. A raw layer that cannot be read never stops the definitions from loading."""
    try:
        first = first_month_with_data(Settings.resolve())
    except Exception:
        first = None
    return min(first, current_month()) if first else FALLBACK_FIRST_MONTH


monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=first_partition_month(), fmt=MONTH_FORMAT, timezone="Asia/Shanghai", end_offset=1
)
