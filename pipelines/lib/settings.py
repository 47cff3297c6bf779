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


# ---- the ingestion's settings (pipelines/ingest)
from collections.abc import Mapping  # noqa: E402 (appended section)

MiB = 1 << 20
GiB = 1 << 30
_LIMIT_VARIABLES = {  # IngestLimits field → its environment variable
    "csv_bytes": "INNOSTAT_MAX_CSV_BYTES",
    "decompressed_bytes": "INNOSTAT_MAX_DECOMPRESSED_BYTES",
    "compression_ratio": "INNOSTAT_MAX_COMPRESSION_RATIO",
    "line_bytes": "INNOSTAT_MAX_LINE_BYTES",
    "cell_chars": "INNOSTAT_MAX_CELL_CHARS",
    "xlsx_bytes": "INNOSTAT_MAX_XLSX_BYTES",
}


@dataclass(frozen=True)
class IngestLimits:
    """Caps on what one landed file may cost, so no file can take the run past its memory budget (4 GiB). Each has
    a default far above any real delivery; a file over a cap is rejected in the ledger once, with the reason."""

    csv_bytes: int = 256 * MiB  # a CSV file is read whole: its size on disk
    decompressed_bytes: int = 8 * GiB  # a .jsonl.gz file's uncompressed content
    compression_ratio: float = 100.0  # uncompressed / compressed, for gzip and for the xlsx zip container
    line_bytes: int = 1 * MiB  # one JSON Lines line
    cell_chars: int = 4096  # one CSV or xlsx cell
    xlsx_bytes: int = 128 * MiB  # the uncompressed content of an xlsx workbook (its sheets are read whole)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> IngestLimits:
        """Each `INNOSTAT_MAX_…` variable, else its default. A value that is not a positive number raises
        ValueError naming the variable."""
        from pipelines.lib.environment import number_setting  # environment imports this module

        defaults = cls()
        return cls(
            **{
                name: number_setting(
                    variable,
                    getattr(defaults, name),
                    type(getattr(defaults, name)),
                    lambda n: n > 0,
                    "a positive number",
                    environ,
                )
                for name, variable in _LIMIT_VARIABLES.items()
            }
        )


@dataclass(frozen=True)
class IngestSettings:
    """How the ingestion runs: read once from the environment at the edge (`from_env`), then passed down."""

    settle_seconds: float = 5.0  # INNOSTAT_SETTLE_SECONDS: a file unchanged this long is ready to ingest
    workers: int = 1  # INNOSTAT_INGEST_WORKERS: processes that parse files side by side (1 = in-process)
    limits: IngestLimits = IngestLimits()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> IngestSettings:
        """`INNOSTAT_SETTLE_SECONDS` (default 5), `INNOSTAT_INGEST_WORKERS` (default one per core) and the
        `INNOSTAT_MAX_…` caps; a value out of range raises ValueError naming the variable. The only reader of
        these variables."""
        from pipelines.lib.environment import number_setting, worker_processes  # environment imports this module

        return cls(
            settle_seconds=number_setting(
                "INNOSTAT_SETTLE_SECONDS", 5.0, float, lambda s: s >= 0, "a number of seconds ≥ 0", environ
            ),
            workers=worker_processes("INNOSTAT_INGEST_WORKERS", max(1, os.cpu_count() or 1), environ),
            limits=IngestLimits.from_env(environ),
        )
