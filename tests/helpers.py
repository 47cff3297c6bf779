"""Plain helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

# The tiny but complete sample every end-to-end test starts from.
TINY = {"seed": 7, "scale": 0.002, "years": (2020, 2021)}


def copy_landing(source: Path, target: Path) -> Path:
    """A private copy of a landing zone that keeps modification times (delivery order)."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
    return target


def rows(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    """The result of one query against a DuckDB file, opened read-only (as Superset and statisticians do)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
