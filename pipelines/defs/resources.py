"""Resources shared by every stage: the run's settings (`WarehouseResource`), the run lock, and the dbt CLI."""

from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

from pipelines.defs.transform.dbt_resource import dbt_resource
from pipelines.lib.run_lock import describe, warehouse_lock
from pipelines.lib.settings import DEFAULT_DBT_TARGET, IngestSettings, QualitySettings, Settings


class WarehouseResource(dg.ConfigurableResource):
    """The run's `Settings` as Dagster carries them: the landing zone, the published warehouse path (all state
    lives in `<warehouse>.state/`) and the run's switches. Built from the settings by `resources_for`; a run's
    config may set them too."""

    landing: str
    warehouse: str
    demo: bool = False
    full_refresh: bool = False
    dbt_target: str = DEFAULT_DBT_TARGET
    # The ingestion's and the quality gate's sections of the settings it was built from (not run config: they
    # are the deployment's, read once at the edge). A resource made from config alone reads them from the
    # environment, Dagster's outer interface.
    _sections: tuple[IngestSettings, QualitySettings] | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        resource = cls(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            demo=settings.demo,
            full_refresh=settings.full_refresh,
            dbt_target=settings.dbt_target,
        )
        resource._sections = (settings.ingest, settings.quality)
        return resource

    @property
    def settings(self) -> Settings:
        ingest, quality = self._sections or (IngestSettings.from_env(), QualitySettings.from_env())
        return Settings(
            landing=Path(self.landing).expanduser().resolve(),
            warehouse=Path(self.warehouse).expanduser().resolve(),
            demo=self.demo,
            full_refresh=self.full_refresh,
            dbt_target=self.dbt_target,
            ingest=ingest,
            quality=quality,
        )


@dg.resource(required_resource_keys={"warehouse"})
def run_lock(context: dg.InitResourceContext):
    """The warehouse's run lock (lib/run_lock.py), held for the whole of a build run: a second run, Dagster's or
    `innostat run`, fails at its start with a message naming the holder. Inside `innostat run`, which holds the
    lock already, it only counts. (What a failed build left is overwritten by the first dbt step's copy.)"""
    settings = context.resources.warehouse.settings
    run = context.run
    command = f"dagster run {run.run_id} ({run.job_name})" if run else "dagster"

    def taken_over(left: dict) -> None:
        context.log.warning(f"the previous run ({describe(left)}) ended without releasing the lock; taking over")

    # Steps run in the run's one process (the jobs' in_process_executor), so this is once per run; a multiprocess
    # run (assets materialised from the UI) takes it per step.
    with warehouse_lock(settings, command, on_takeover=taken_over) as held:
        yield held


def resources_for(settings: Settings) -> dict:
    """The resources of a code location or a run over the warehouse of `settings`."""
    return {
        "warehouse": WarehouseResource.from_settings(settings),
        "dbt": dbt_resource(),
        "run_lock": run_lock,
    }
