"""Downstream automation: whenever the published warehouse lacks ledger entries, build and publish their months.

The build follows what the *published* warehouse lacks (lib/months.py), not what the last ingest run loaded: the
files of an ingest run that failed half-way, of a build that failed its checks, ran out of disk or was killed,
and of a rollback, are all rebuilt by the next build. One build request per set of pending entries and day: a new
file asks at once; a build that failed on the same entries is asked again after the next nightly tick (02:00
Asia/Shanghai), or by `innostat run`.
"""

from datetime import datetime, timedelta

import dagster as dg

from pipelines.defs.jobs import BUILD_JOB_NAME, INGEST_JOB_NAME, build_and_publish, build_selection
from pipelines.defs.partitions import WINDOW_END, WINDOW_START, monthly_partitions
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.build_inputs import base_is_current
from pipelines.lib.months import PLAN_TAG, clamp, current_month, load_plan, plan_build, record_plan
from pipelines.lib.timeparse import SHANGHAI

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def build_tags(window: tuple[str, str] | None) -> dict[str, str]:
    """Run tags for a single-run build of a month range; with no month touched, the current month only.

    The partition range is the window kept inside the month partitions this process loaded (a code server that
    loaded before an older or a newer month came in has fewer); the window itself travels in its own tags, and
    dbt rebuilds all of it (`defs/transform/assets.dbt_monthly`)."""
    window = window or (current_month(), current_month())
    partitions = (monthly_partitions.get_first_partition_key(), monthly_partitions.get_last_partition_key())
    first, last = clamp(window, *partitions)
    return {RANGE_START: first, RANGE_END: last, WINDOW_START: window[0], WINDOW_END: window[1]}


def nightly_day(now: datetime | None = None) -> str:
    """The date of the last 02:00 Asia/Shanghai tick: a failed build is requested again once per day."""
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return (now - timedelta(hours=2)).strftime("%Y-%m-%d")


def _in_flight(instance: dg.DagsterInstance, job_name: str) -> bool:
    return bool(instance.get_runs(dg.RunsFilter(job_name=job_name, statuses=_IN_FLIGHT), limit=1))


@dg.sensor(
    name="build_after_ingest",
    job=build_and_publish,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Builds and publishes the months whose ledger entries the published warehouse lacks, once no ingest or "
        "build run is under way; a failed build is tried again after the nightly tick."
    ),
)
def build_after_ingest(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    for job_name in (INGEST_JOB_NAME, BUILD_JOB_NAME):
        if _in_flight(context.instance, job_name):
            return dg.SkipReason(f"a {job_name} run is under way; the build follows it")
    plan = plan_build(settings)
    if not plan.pending and settings.warehouse.exists():
        return dg.SkipReason("the published warehouse lacks no ledger entry")
    run_key = f"build-{plan.key}-{nightly_day()}"
    if load_plan(settings, run_key) is None:  # the same key always plans the same entries: written once
        record_plan(settings, plan, run_key)
    selection = build_selection(keep_base=base_is_current(settings)).resolve(context.repository_def.asset_graph)
    return dg.RunRequest(
        run_key=run_key,
        tags={**build_tags(plan.window), PLAN_TAG: run_key, "innostat/pending_files": str(len(plan.pending))},
        asset_selection=sorted(selection),
    )
