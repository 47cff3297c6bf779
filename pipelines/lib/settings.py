"""Where things live, and how a run is asked to go: one typed `Settings`, built once at the edge.

`innostat` builds it from its flags (`Settings.resolve`), Dagster's code location from the environment
(`Settings.from_env`, in `pipelines/definitions.py`), and both hand it down: to the Dagster resources, to the
ingestion and to the quality checks. Environment variables stay the outer interface (`dg dev`, Superset, cron);
inside, only the one place that starts dbt writes them, for dbt's profile and macros (`Settings.dbt_env`).

`INNOSTAT_LANDING` is the landing zone; `INNOSTAT_WAREHOUSE` is the *published* DuckDB file. Everything the
warehouse keeps between runs lives in a state folder derived from the published path (`PATH.state/`), so two
warehouses never share raw data, ledger or builds.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
DEFAULT_LANDING = Path("data/landing")
DEFAULT_WAREHOUSE = Path("warehouse/innostat.duckdb")
DEFAULT_DBT_TARGET = "duckdb"

# read by dbt_project/profiles.yml and macros/month_window.sql
MONTH_WINDOW_ENV = ("INNOSTAT_MIN_MONTH", "INNOSTAT_MAX_MONTH")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "0").strip() == "1"


@dataclass(frozen=True)
class Settings:
    """The landing zone, the published warehouse, and how this run treats them.

    - `demo`: the local demo key may be used, freshness goes by the sample's clock, and dbt marks the warehouse
      as sample data (marts.warehouse_info); `INNOSTAT_DEMO=1`.
    - `full_refresh`: rebuild every month and incremental model from the raw layer; `INNOSTAT_DBT_FULL_REFRESH=1`.
    - `dbt_target`: the dbt engine (profiles.yml): duckdb, or spark for the scale-out path; `INNOSTAT_DBT_TARGET`.
    """

    landing: Path
    warehouse: Path
    demo: bool = False
    full_refresh: bool = False
    dbt_target: str = DEFAULT_DBT_TARGET
    # how the ingestion and the quality gate run (sections below); defaults unless read from the environment
    ingest: IngestSettings = field(default_factory=lambda: IngestSettings())
    quality: QualitySettings = field(default_factory=lambda: QualitySettings())

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        landing: str | Path | None = None,
        warehouse: str | Path | None = None,
        demo: bool | None = None,
        full_refresh: bool | None = None,
    ) -> Settings:
        """Each setting from its argument (a CLI flag) when given, else its environment variable, else the
        project default; paths always absolute."""
        landing = landing or environ.get("INNOSTAT_LANDING") or DEFAULT_LANDING
        warehouse = warehouse or environ.get("INNOSTAT_WAREHOUSE") or DEFAULT_WAREHOUSE
        return cls(
            landing=Path(landing).expanduser().resolve(),
            warehouse=Path(warehouse).expanduser().resolve(),
            demo=_flag(environ, "INNOSTAT_DEMO") if demo is None else demo,
            full_refresh=_flag(environ, "INNOSTAT_DBT_FULL_REFRESH") if full_refresh is None else full_refresh,
            dbt_target=environ.get("INNOSTAT_DBT_TARGET", "").strip() or DEFAULT_DBT_TARGET,
            ingest=IngestSettings.from_env(environ),
            quality=QualitySettings.from_env(environ),
        )

    @classmethod
    def resolve(cls, landing: str | Path | None = None, warehouse: str | Path | None = None, **flags) -> Settings:
        """`from_env` over this process's environment: the flags given win over their variables."""
        return cls.from_env(os.environ, landing=landing, warehouse=warehouse, **flags)

    def with_demo_data(self) -> Settings:
        """These settings, a demo also when the warehouse's data came in under its demo key (a backfill of the
        demo stays a demo, so the warehouse does not lose its sample-data mark)."""
        from pipelines.lib.pseudonymise import holds_demo_data  # polars: not for every import of this module

        return self if self.demo else replace(self, demo=holds_demo_data(self.state_dir))

    def dbt_env(self, window: tuple[str, str] | None = None) -> dict[str, str]:
        """The environment variables dbt's profile and macros read, for a dbt process of these settings; the
        month window (None: all months) as INNOSTAT_MIN_MONTH/MAX_MONTH."""
        env = {
            "INNOSTAT_LANDING": str(self.landing),
            "INNOSTAT_WAREHOUSE": str(self.warehouse),
            "INNOSTAT_BUILD_PATH": str(self.build_path),
            "INNOSTAT_RAW_DIR": str(self.raw_dir),
            "INNOSTAT_DEMO": "1" if self.demo else "0",
            "INNOSTAT_DBT_TARGET": self.dbt_target,
        }
        if window is not None:
            env.update(zip(MONTH_WINDOW_ENV, window, strict=True))
        return env

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


# --- ingestion (pipelines/ingest/) ------------------------------------------------------------------------

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
