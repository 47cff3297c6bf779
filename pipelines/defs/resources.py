"""Resources shared by every domain: where the landing zone and warehouse are, and the dbt CLI."""

import os
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.transform.dbt_project import dbt_project
from pipelines.lib.environment import export_settings
from pipelines.lib.pseudonymise import Pseudonymiser, load_key
from pipelines.lib.settings import Settings


class WarehouseResource(dg.ConfigurableResource):
    """The landing zone and the published warehouse path; all state lives in `<warehouse>.state/`."""

    landing: str
    warehouse: str
    demo: bool = False

    @property
    def settings(self) -> Settings:
        return Settings.resolve(self.landing, self.warehouse)

    def pseudonymiser(self) -> Pseudonymiser:
        return Pseudonymiser(load_key(demo=self.demo, demo_key_path=self.settings.state_dir / "demo_pii.key"))

    def export_env(self) -> None:
        export_settings(self.settings)


def default_resources() -> dict:
    settings = Settings.resolve()
    return {
        "warehouse": WarehouseResource(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            demo=os.environ.get("INNOSTAT_DEMO", "0") == "1",
        ),
        # dbt from this environment, also when the caller did not activate it (cron, CI, a full path)
        "dbt": DbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.project_dir),
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
    }
