"""Where things live. Every component (CLI, Dagster, Superset) reads the same two settings.

`INNOSTAT_LANDING` is the landing zone; `INNOSTAT_WAREHOUSE` is the *published* DuckDB file. Everything the
warehouse keeps between runs lives in a state folder derived from the published path (`PATH.state/`), so two
warehouses never share raw data, ledger or builds.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
DEFAULT_LANDING = Path("data/landing")
DEFAULT_WAREHOUSE = Path("warehouse/innostat.duckdb")


@dataclass(frozen=True)
class Settings:
    landing: Path
    warehouse: Path

    @classmethod
    def resolve(cls, landing: str | Path | None = None, warehouse: str | Path | None = None) -> Settings:
        """Flag, else environment variable, else the project default; always absolute."""
        landing = landing or os.environ.get("INNOSTAT_LANDING") or DEFAULT_LANDING
        warehouse = warehouse or os.environ.get("INNOSTAT_WAREHOUSE") or DEFAULT_WAREHOUSE
        return cls(landing=Path(landing).expanduser().resolve(), warehouse=Path(warehouse).expanduser().resolve())

    @property
    def state_dir(self) -> Path:
        return self.warehouse.with_name(self.warehouse.name + ".state")

    @property
    def raw_dir(self) -> Path:
        """Append-only Parquet raw layer: one folder per raw table, one file per ingested source file."""
        return self.state_dir / "raw"

    @property
    def build_path(self) -> Path:
        """The working DuckDB file a run builds and audits before it is published."""
        return self.state_dir / "build.duckdb"

    @property
    def previous_path(self) -> Path:
        """The published file before the last publish, kept for `innostat rollback`."""
        return self.state_dir / "previous.duckdb"

    @property
    def spare_path(self) -> Path:
        """The publish before `previous_path`: the next run's working copy starts from it (lib/warehouse.py)."""
        return self.state_dir / "spare.duckdb"
