"""Where things live. Every component (CLI, Dagster, Superset) reads the same two settings.

`INNOSTAT_LANDING` is the landing zone; `INNOSTAT_WAREHOUSE` is the *published* DuckDB file. Everything the
warehouse keeps between runs lives in a state folder derived from the published path (`PATH.state/`), so two
warehouses never share raw data, ledger or builds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
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


# --- quality (pipelines/quality/) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class QualityThresholds:
    """Thresholds of the quality gates (the suites of pipelines/quality/suites/), each overridden by an environment
    variable `INNOSTAT_QUALITY_<NAME>` (docs/quality.md)."""

    # |value / value of the same period a year before − 1| above this is a warning (real data can jump)
    yoy_max_change: float = 0.5
    # a mart may lose at most this share of its rows against the last published warehouse; more blocks
    max_row_drop_share: float = 0.2
    # RD_INTENSITY (R&D expenditure / GDP) of a county: 0 to 10 % (China is about 2.4 %, Shenzhen about 6 %)
    rd_intensity_max: float = 0.10


QUALITY_CHECK_PROCESS = "INNOSTAT_CHECK_PROCESS"  # "0": judge the checks in the run's own process
QUALITY_CHECK_WORKERS = "INNOSTAT_CHECK_WORKERS"  # processes that judge a check's chunks side by side


@dataclass(frozen=True)
class QualitySettings:
    """What the quality runtime (pipelines/quality/) reads from the environment, read once by `from_env`."""

    thresholds: QualityThresholds = field(default_factory=QualityThresholds)
    # `innostat run` judges its checks in a process of its own, started with the run (pipelines/quality/process.py)
    check_process: bool = True
    # processes that judge a check's row-wise chunks side by side; 1 = none, in the judging process
    check_workers: int = 1

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> QualitySettings:
        """The defaults, with INNOSTAT_CHECK_PROCESS, INNOSTAT_CHECK_WORKERS and every `INNOSTAT_QUALITY_<NAME>`
        threshold applied; a value that does not parse raises ValueError naming its variable."""
        from pipelines.lib.environment import worker_processes  # environment imports this module

        overrides = {}
        for threshold in fields(QualityThresholds):
            variable = f"INNOSTAT_QUALITY_{threshold.name.upper()}"
            if text := environ.get(variable):
                try:
                    overrides[threshold.name] = float(text)
                except ValueError as err:
                    raise ValueError(f"{variable}={text!r} is not a number") from err
        return cls(
            thresholds=QualityThresholds(**overrides),
            check_process=environ.get(QUALITY_CHECK_PROCESS, "1").strip() != "0",
            check_workers=worker_processes(QUALITY_CHECK_WORKERS, default=1, environ=environ),
        )


# ---- the ingestion's settings (pipelines/ingest)

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
