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
from dataclasses import dataclass, replace
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
