"""Partitions, defined once: government-service and security facts are partitioned by Asia/Shanghai month, over
the months that have data.

The span is read when the definitions are built for a warehouse (`pipelines.definitions.build_definitions`: a
run, the Dagster code server): the first and last month of the
monthly raw tables (`lib/months.MONTHLY_TABLES`). Their files are immutable and named by content hash, so
`<warehouse>.state/partition_months.json` remembers each table's span and the files it was read from; a load
reads only the files it has not seen (a daily run's few), not the whole raw layer again.

- The first partition is the first month with data; before any file is ingested, FALLBACK_FIRST_MONTH.
- The last is the current month while the feeds are live (their newest month at most LIVE_MONTHS old): a code
  server keeps its definitions for weeks, and the month of today's delivery must be one of its partitions. For
  data that stopped earlier (the demo's sample years, an archive) it is their last month.

A first build covers every month with data (`lib/months.touched_months`), so the Dagster UI shows "N of N"
materialised. A window outside the partitions a process loaded (a delivery older than the first month, or newer
than the last, that a running code server has not seen) is clamped for Dagster's bookkeeping, while the run's
tags WINDOW_START/WINDOW_END carry the months dbt rebuilds (`defs/operations/automation.build_tags`), so no month
is left out of a build; the UI shows the new months once the code location reloads.
"""

from __future__ import annotations

import contextlib
import json
import os
from datetime import date
from pathlib import Path

import dagster as dg

from pipelines.lib.months import MONTHLY_TABLES, current_month
from pipelines.lib.settings import Settings

MONTH_FORMAT = "%Y-%m"
FALLBACK_FIRST_MONTH = "2000-01"  # no raw row yet: early enough for any data the first build brings
LIVE_MONTHS = 3  # newest data at most this many months before the current one: live feeds
CACHE_NAME = "partition_months.json"
# the months a build rebuilds, when they differ from its partition range (tags of the run; see the docstring)
WINDOW_START, WINDOW_END = "innostat/min_month", "innostat/max_month"


def _span_of(files: list[Path], column: str) -> tuple[str | None, str | None]:
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute(
            f"select strftime(min({column}), '%Y-%m'), strftime(max({column}), '%Y-%m') "
            "from read_parquet(?, union_by_name = true)",
            [[str(f) for f in files]],
        ).fetchone()
    finally:
        con.close()


def _wider(old: str | None, new: str | None, pick) -> str | None:
    return pick(old, new) if old and new else old or new


def months_with_data(settings: Settings) -> tuple[str, str] | None:
    """(first, last) month with a row in the monthly raw tables, or None when they have none."""
    cache_path = settings.state_dir / CACHE_NAME
    try:
        cache = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    changed, spans = False, []
    for table, column in MONTHLY_TABLES.items():
        folder = settings.raw_dir / table
        names = sorted(p.name for p in folder.glob("*.parquet")) if folder.is_dir() else []
        known = cache.get(table) or {"first": None, "last": None, "files": []}
        seen = set(known["files"])
        new = [folder / name for name in names if name not in seen]
        first, last = known["first"], known.get("last")
        if new:
            try:
                found = _span_of(new, column)
            except Exception:  # a broken file: the ingestion's check reports it; read again next time
                found = None
            if found is not None:
                first, last = _wider(first, found[0], min), _wider(last, found[1], max)
                cache[table] = {"first": first, "last": last, "files": names}
                changed = True
        if first and last:
            spans.append((first, last))
    if changed and settings.state_dir.is_dir():
        partial = cache_path.with_name(f".{CACHE_NAME}.{os.getpid()}.tmp")
        with contextlib.suppress(OSError):  # a read-only state folder: read again next time
            partial.write_text(json.dumps(cache))
            os.replace(partial, cache_path)
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


def _months_before(month: str, count: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def partition_span(span: tuple[str, str] | None) -> tuple[str, str | None]:
    """(first month, last month) of the partitions for the months with data; last None: the current month."""
    now = current_month()
    if span is None:
        return FALLBACK_FIRST_MONTH, None
    first, last = min(span[0], now), min(span[1], now)
    return first, (None if last >= _months_before(now, LIVE_MONTHS) else last)


def monthly_partitions_for(span: tuple[str, str] | None) -> dg.MonthlyPartitionsDefinition:
    first, last = partition_span(span)
    if last is None:
        return dg.MonthlyPartitionsDefinition(
            start_date=first, fmt=MONTH_FORMAT, timezone="Asia/Shanghai", end_offset=1
        )
    year, month = int(last[:4]), int(last[5:])
    after_last = date(year + month // 12, month % 12 + 1, 1).strftime(MONTH_FORMAT)  # the end is exclusive
    return dg.MonthlyPartitionsDefinition(
        start_date=first, end_date=after_last, fmt=MONTH_FORMAT, timezone="Asia/Shanghai"
    )


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """The month partitions of the warehouse of `settings`; a raw layer that cannot be read never stops the
    definitions from loading (the fallback span)."""
    try:
        span = months_with_data(settings)
    except Exception:
        span = None
    return monthly_partitions_for(span)
