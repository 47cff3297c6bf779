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
