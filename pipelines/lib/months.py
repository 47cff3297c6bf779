"""Which Asia/Shanghai months of the monthly-partitioned feeds a set of raw files touches."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.lib.timeparse import SHANGHAI

# raw table → the column whose month is the partition
MONTHLY_TABLES = {"gov_services": "occurred_at", "security_incidents": "received_at", "security_cameras": "status_date"}


def _span(con: duckdb.DuckDBPyConnection, files: list[str], column: str) -> tuple[str, str] | None:
    if not files:
        return None
    listing = ", ".join(f"'{f}'" for f in files)
    low, high = con.execute(
        f"select strftime(min({column}), '%Y-%m'), strftime(max({column}), '%Y-%m') from read_parquet([{listing}])"
    ).fetchone()
    return (low, high) if low else None


def touched_months(raw_dir: Path, run_id: str | None = None) -> tuple[str, str] | None:
    """(first, last) month of the rows the given ingest run loaded, or of every raw row when run_id is None."""
    con = duckdb.connect()
    spans = []
    try:
        for table, column in MONTHLY_TABLES.items():
            folder = raw_dir / table
            if run_id is None:
                files = [str(p) for p in folder.glob("*.parquet")]
            else:
                ledger = list((raw_dir / "ingest_ledger").glob(f"{table}-*.parquet"))
                if not ledger:
                    continue
                hashes = con.execute(
                    "select file_hash from read_parquet(?) where run_id = ? and status = 'loaded' and rows_loaded > 0",
                    [[str(p) for p in ledger], run_id],
                ).fetchall()
                files = [str(folder / f"{digest}.parquet") for (digest,) in hashes]
            span = _span(con, files, column)
            if span:
                spans.append(span)
    finally:
        con.close()
    if not spans:
        return None
    return min(s[0] for s in spans), max(s[1] for s in spans)


def current_month() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m")


def clamp(window: tuple[str, str], first: str, last: str) -> tuple[str, str]:
    """The window's months that are month partitions (`first` to `last`); the nearest partition when none is."""
    high = max(min(window[1], last), first)
    return (min(max(window[0], first), high), high)
