"""Which Asia/Shanghai months of the monthly-partitioned feeds a set of raw files touches, and which months the
published warehouse lacks (`plan_build`, the one planner of a build: `defs/operations/automation.planned_build` uses
it for the build sensor and `innostat run` alike)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.lib.feeds import data_file, ledger_dir, monthly_tables, table_dir
from pipelines.lib.settings import Settings
from pipelines.lib.timeparse import SHANGHAI

# raw table → the column whose month is the partition
MONTHLY_TABLES = monthly_tables()


def _span(con: duckdb.DuckDBPyConnection, files: list[str], column: str) -> tuple[str, str] | None:
    if not files:
        return None
    listing = ", ".join(f"'{f}'" for f in files)
    low, high = con.execute(
        f"select strftime(min({column}), '%Y-%m'), strftime(max({column}), '%Y-%m') from read_parquet([{listing}])"
    ).fetchone()
    return (low, high) if low else None


def _months_of_files(files_of: Callable[[str], list[Path]]) -> tuple[str, str] | None:
    """(first, last) month over the monthly raw tables, of the files `files_of(table)` names (missing ones skipped)."""
    con = duckdb.connect()
    spans = []
    try:
        for table, column in MONTHLY_TABLES.items():
            span = _span(con, [str(f) for f in files_of(table) if f.exists()], column)
            if span:
                spans.append(span)
    finally:
        con.close()
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def touched_months(raw_dir: Path) -> tuple[str, str] | None:
    """(first, last) month of every raw row of the monthly tables."""
    return _months_of_files(lambda table: list(table_dir(raw_dir, table).glob("*.parquet")))


def current_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def clamp(window: tuple[str, str], first: str, last: str) -> tuple[str, str]:
    """The window's months that are month partitions (`first` to `last`); the nearest partition when none is."""
    high = max(min(window[1], last), first)
    return (min(max(window[0], first), high), high)


# --- what the published warehouse lacks -----------------------------------------------------------------------
#
# Every build records in its own file (table `ops.published_ledger`, published with it or discarded with it) the
# content hashes of the ledger entries it was planned from. What a run rebuilds is then decided from what the
# *published* file lacks, whatever the previous runs did: ingested and failed, killed, out of disk, rolled back.

PUBLISHED_LEDGER_TABLE = "ops.published_ledger"


def _plans_dir(settings: Settings) -> Path:
    return settings.state_dir / "plans"


def ledger_hashes(raw_dir: Path) -> set[str]:
    """Content hashes of every committed ledger entry, of every table (loaded or rejected). A duplicate's row
    (`<table>-<hash>.dup-<path key>.parquet`) adds nothing to build, so it is not an entry to publish."""
    folder = ledger_dir(raw_dir)
    if not folder.is_dir():
        return set()
    # `<table>-<hash>.parquet`: table names have no '-', hashes are hex
    return {p.stem.rsplit("-", 1)[1] for p in folder.glob("*-*.parquet") if ".dup-" not in p.name}


def published_ledger(settings: Settings) -> set[str] | None:
    """The ledger hashes the published build was planned from (None: nothing published, or published before
    this record existed, which then counts as lacking everything)."""
    if not settings.warehouse.exists():
        return None
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        schema, table = PUBLISHED_LEDGER_TABLE.split(".")
        (recorded,) = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
        ).fetchone()
        if not recorded:
            return None
        return {digest for (digest,) in con.execute(f"select file_hash from {PUBLISHED_LEDGER_TABLE}").fetchall()}
    finally:
        con.close()


def _months_of(raw_dir: Path, hashes: set[str]) -> tuple[str, str] | None:
    return _months_of_files(lambda table: [data_file(raw_dir, table, digest) for digest in sorted(hashes)])


@dataclass(frozen=True)
class Plan:
    """What a build is planned from: the window of months to rebuild and every ledger hash it will contain."""

    window: tuple[str, str] | None  # None: no monthly fact lacks anything
    ledger: frozenset[str]  # recorded in the build at publish (ops.published_ledger)
    pending: frozenset[str]  # ledger entries the published warehouse lacks

    @property
    def key(self) -> str:
        """Stable digest of what is pending: equal keys mean the same build would be planned."""
        return hashlib.sha256("\n".join(sorted(self.pending)).encode()).hexdigest()[:32]


def plan_build(settings: Settings, *, full: bool = False) -> Plan:
    """The months whose facts the published warehouse lacks: those of every loaded ledger entry not in a
    published build (all months on a first build, with `full`, or when the published file has no record)."""
    raw_dir = settings.raw_dir
    ledger = ledger_hashes(raw_dir)
    published = published_ledger(settings)
    pending = ledger - (published or set())
    if full or published is None or not published <= ledger:
        # a published hash that left the ledger (an entry removed by hand): its rows' months are unknown
        window = touched_months(raw_dir)
    else:
        window = _months_of(raw_dir, pending)
    return Plan(window=window, ledger=frozenset(ledger), pending=frozenset(pending))


def record_plan(settings: Settings, plan: Plan, plan_id: str) -> Path:
    """Write the plan where the publish step of the build `plan_id` finds it (`load_plan`); atomic."""
    folder = _plans_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    _prune_plans(folder)
    path = folder / f"{plan_id}.json"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"window": plan.window, "ledger": sorted(plan.ledger)}), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _prune_plans(folder: Path, max_age_s: float = 7 * 86_400) -> None:
    now = time.time()
    for path in folder.glob("*.json"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()


def load_plan(settings: Settings, plan_id: str) -> set[str] | None:
    """The ledger hashes the build `plan_id` was planned from (None: no plan, e.g. a backfill)."""
    path = _plans_dir(settings) / f"{plan_id}.json"
    if not path.exists():
        return None
    return set(json.loads(path.read_text(encoding="utf-8"))["ledger"])


def discard_plan(settings: Settings, plan_id: str) -> None:
    """A published plan is in the published file now (`ops.published_ledger`): its file is not needed again."""
    (_plans_dir(settings) / f"{plan_id}.json").unlink(missing_ok=True)


def record_published_ledger(build_path: Path, hashes: set[str]) -> None:
    """Note in the working build which ledger entries it holds (published with it, or discarded with it)."""
    con = duckdb.connect(str(build_path))
    try:
        con.execute("create schema if not exists ops")
        con.execute(f"create or replace table {PUBLISHED_LEDGER_TABLE} (file_hash varchar primary key)")
        # one statement for any number (none, or the tens of thousands of a city's years of files)
        con.execute(f"insert into {PUBLISHED_LEDGER_TABLE} select unnest(?::varchar[])", [sorted(hashes)])
    finally:
        con.close()


PLAN_TAG = "innostat/plan"  # run tag: the plan id a build's publish step records (default: the run id)
