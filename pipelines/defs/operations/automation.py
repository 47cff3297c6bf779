"""Downstream automation: when an ingest run succeeds, build and publish the months it touched."""

import dagster as dg
import duckdb

from pipelines.defs.jobs import build_and_publish, build_selection, ingest
from pipelines.defs.partitions import WINDOW_END, WINDOW_START, monthly_partitions
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.build_inputs import base_is_current
from pipelines.lib.months import clamp, current_month, touched_months

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def build_tags(window: tuple[str, str] | None) -> dict[str, str]:
    """Run tags for a single-run build of a month range; with no month touched, the current month only.

    The partition range is the window kept inside the month partitions this process loaded (a code server that
    loaded before an older or a newer month came in has fewer); the window itself travels in its own tags, and
    dbt rebuilds all of it (`defs/transform/assets.dbt_monthly`)."""
    window = window or (current_month(), current_month())
    partitions = (monthly_partitions.get_first_partition_key(), monthly_partitions.get_last_partition_key())
    first, last = clamp(window, *partitions)
    return {RANGE_START: first, RANGE_END: last, WINDOW_START: window[0], WINDOW_END: window[1]}


def files_loaded_by(raw_dir, run_id: str) -> int:
    ledger = list((raw_dir / "ingest_ledger").glob("*.parquet"))
    if not ledger:
        return 0
    con = duckdb.connect()
    try:
        return con.execute(
            "select count(*) from read_parquet(?) where run_id = ?", [[str(p) for p in ledger], run_id]
        ).fetchone()[0]
    finally:
        con.close()


@dg.run_status_sensor(
    name="build_after_ingest",
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest],
    request_job=build_and_publish,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="After an ingest run that loaded files, builds and publishes the months those files touched.",
)
def build_after_ingest(context: dg.RunStatusSensorContext, warehouse: WarehouseResource):
    settings = warehouse.settings
    run_id = context.dagster_run.run_id
    if files_loaded_by(settings.raw_dir, run_id) == 0 and settings.warehouse.exists():
        return dg.SkipReason(f"ingest run {run_id} loaded no new file")
    window = (
        touched_months(settings.raw_dir, run_id) if settings.warehouse.exists() else touched_months(settings.raw_dir)
    )
    selection = build_selection(keep_base=base_is_current(settings)).resolve(context.repository_def.asset_graph)
    return dg.RunRequest(
        run_key=f"build-after-{run_id}",
        tags={**build_tags(window), "innostat/ingest_run": run_id},
        asset_selection=sorted(selection),
    )
