"""Dagster entry point: the definitions of every stage in `pipelines/defs/`, for the warehouse of a `Settings`.

`dg dev`, the webserver and the daemon load `defs`, which reads the settings from the environment (the outer
interface: INNOSTAT_WAREHOUSE, INNOSTAT_LANDING, INNOSTAT_DEMO …). `innostat` builds its `Settings` from its
flags and calls `build_definitions` with them: nothing passes through the environment.

`pipelines/defs/` is laid out by stage, the order data flows:

- `ingestion.py`: a raw asset and a new-files sensor per raw table, and the raw side tables;
- `transform/`: the dbt models as assets (`@dbt_assets`), grouped by domain, with dbt's tests as checks;
- `quality/`: Great Expectations suites as blocking checks on the raw tables and the marts;
- `publish/`: the write-audit-publish of the warehouse, then every release's exchange bundle;
- `operations/`: freshness checks, the nightly schedule, the build sensor, alerts;
- `jobs.py`, `partitions.py`, `resources.py`: what the stages share.
"""

import dagster as dg

from pipelines.lib.environment import apply_offline_defaults
from pipelines.lib.settings import Settings

apply_offline_defaults()


from pipelines.defs import jobs  # noqa: E402
from pipelines.defs.ingestion import feed_sensors, raw_assets, raw_side_tables  # noqa: E402
from pipelines.defs.operations.alerts import alert_on_run_failure  # noqa: E402
from pipelines.defs.operations.automation import build_after_ingest  # noqa: E402
from pipelines.defs.operations.freshness import freshness_checks  # noqa: E402
from pipelines.defs.operations.schedules import nightly  # noqa: E402
from pipelines.defs.partitions import monthly_partitions  # noqa: E402
from pipelines.defs.publish.assets import published_warehouse  # noqa: E402
from pipelines.defs.publish.exports import release_exports  # noqa: E402
from pipelines.defs.quality.checks import disclosure_check, mart_quality_checks, raw_quality_checks  # noqa: E402
from pipelines.defs.resources import resources_for  # noqa: E402
from pipelines.defs.transform.assets import with_month_partitions  # noqa: E402


def build_definitions(settings: Settings) -> dg.Definitions:
    """Every asset, check, job, sensor and schedule, with the resources and month partitions of the warehouse
    of `settings`."""
    return dg.Definitions(
        assets=[
            *raw_assets.values(),
            *raw_side_tables,
            *with_month_partitions(monthly_partitions(settings)),
            published_warehouse,
            release_exports,
        ],
        asset_checks=[*raw_quality_checks, *freshness_checks, *mart_quality_checks, disclosure_check],
        jobs=[jobs.ingest, jobs.build_and_publish],
        sensors=[*feed_sensors.values(), build_after_ingest, alert_on_run_failure],
        schedules=[nightly],
        resources=resources_for(settings),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(Settings.from_env())
