"""Downstream automation: whenever the published warehouse lacks ledger entries, build and publish their months.

The build follows what the *published* warehouse lacks (lib/months.py), not what the last ingest run loaded: the
files of an ingest run that failed half-way, of a build that failed its checks, ran out of disk or was killed,
and of a rollback, are all rebuilt by the next build. One build request per set of pending entries and day: a new
file asks at once; a build that failed on the same entries is asked again after the next nightly tick (02:00
Asia/Shanghai), or by `innostat run`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import dagster as dg

from pipelines.defs.jobs import BUILD_JOB_NAME, INGEST_JOB_NAME, build_and_publish, build_selection
from pipelines.defs.partitions import WINDOW_END, WINDOW_START
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.build_inputs import base_is_current
from pipelines.lib.months import PLAN_TAG, Plan, clamp, current_month, load_plan, plan_build, record_plan
from pipelines.lib.settings import Settings
from pipelines.lib.timeparse import SHANGHAI

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def build_tags(window: tuple[str, str] | None, partitions: dg.PartitionsDefinition) -> dict[str, str]:
    """Run tags for a single-run build of a month range; with no month touched, the current month only.

    The partition range is the window kept inside `partitions`, the month partitions the definitions were built
    with (a code server that loaded before an older or a newer month came in has fewer); the window itself
    travels in its own tags, and dbt rebuilds all of it (`defs/transform/assets.dbt_monthly`)."""
    window = window or (current_month(), current_month())
    first, last = clamp(window, partitions.get_first_partition_key(), partitions.get_last_partition_key())
    return {RANGE_START: first, RANGE_END: last, WINDOW_START: window[0], WINDOW_END: window[1]}


def build_partitions(definitions: dg.Definitions | dg.RepositoryDefinition) -> dg.PartitionsDefinition:
    """The month partitions the build job of these definitions was built with."""
    job = (
        definitions.get_job(BUILD_JOB_NAME)
        if isinstance(definitions, dg.RepositoryDefinition)
        else definitions.resolve_job_def(BUILD_JOB_NAME)
    )
    return job.partitions_def


@dataclass(frozen=True)
class BuildRun:
    """A build run as planned: its tags (month range, window, plan) and whether it keeps `dbt_base`."""

    tags: dict[str, str]
    keep_base: bool

    @property
    def selection(self) -> dg.AssetSelection:
        return build_selection(self.keep_base)


def planned_build(settings: Settings, partitions: dg.PartitionsDefinition, plan: Plan, plan_id: str) -> BuildRun:
    """The build of what the published warehouse lacks (`plan`, from `lib/months.plan_build`), planned once for
    `build_after_ingest` and `innostat run` alike: the plan is recorded under `plan_id` for the build's publish
    step (once: the same id always plans the same entries), and the run's tags name it."""
    if load_plan(settings, plan_id) is None:
        record_plan(settings, plan, plan_id)
    tags = {**build_tags(plan.window, partitions), PLAN_TAG: plan_id, "innostat/pending_files": str(len(plan.pending))}
    return BuildRun(tags=tags, keep_base=base_is_current(settings))


def window_build(settings: Settings, partitions: dg.PartitionsDefinition, window: tuple[str, str]) -> BuildRun:
    """A build of a month range without a plan (`innostat backfill`): its publish keeps the ledger record of
    the file it was copied from."""
    return BuildRun(tags=build_tags(window, partitions), keep_base=base_is_current(settings))


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
    build = planned_build(settings, build_partitions(context.repository_def), plan, run_key)
    selection = build.selection.resolve(context.repository_def.asset_graph)
    return dg.RunRequest(run_key=run_key, tags=build.tags, asset_selection=sorted(selection))
