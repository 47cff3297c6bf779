"""Publish: the checked build replaces the published warehouse in one atomic step."""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.defs.transform.assets import DBT_ASSETS
from pipelines.lib.build_inputs import RELEASE_GROUP, record_fingerprint, release_fingerprint
from pipelines.lib.months import PLAN_TAG, discard_plan, load_plan, record_published_ledger
from pipelines.lib.warehouse import publish
from pipelines.publish.releases import record_release
from pipelines.quality.history import publish_blockers


@dg.asset(
    key=["warehouse", "published"],
    group_name="publish",
    kinds={"duckdb"},
    pool="warehouse",
    deps=[key for assets in DBT_ASSETS for key in assets.keys],
    description="The published DuckDB file that Superset and statisticians read (read-only).",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, run_lock: dg.ResourceParam[object]
) -> dg.MaterializeResult:
    # Blocking checks already keep this step from running after a failure; this guard also refuses a failed
    # build that someone publishes on its own (e.g. materialising only this asset in the Dagster UI).
    settings = warehouse.settings
    if blockers := publish_blockers(settings, context.run.run_id):
        raise dg.Failure(
            description="refusing to publish a build that failed its quality checks: " + "; ".join(blockers)
        )
    # Which ledger entries this build holds (lib/months.py): the next run rebuilds whatever it lacks. A build
    # with no plan (a backfill, a step run by hand) keeps the record of the file it was copied from.
    plan_id = context.run.tags.get(PLAN_TAG, context.run.run_id)
    if (ledger := load_plan(settings, plan_id)) is not None:
        record_published_ledger(settings.build_path, ledger)
    # What code and parameters the build came from: with no pending ledger entry, a run compares it with the
    # published one and publishes nothing when they are equal (lib/build_inputs.nothing_new).
    record_fingerprint(settings.build_path, RELEASE_GROUP, release_fingerprint(settings), context.run.run_id)
    # The release: history and releases table written into the build, so they are published with it (issue 25).
    release = record_release(settings.build_path, settings.state_dir)
    result = publish(settings)
    discard_plan(settings, plan_id)
    context.log.info(
        f"published release {release.release_id} to {result.published} ({result.bytes} bytes): "
        f"{release.values_added} added, {release.values_revised} revised, {release.values_removed} removed; "
        f"previous kept at {result.previous}"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.published)),
            "bytes": result.bytes,
            "previous": str(result.previous) if result.previous else "none",
            "ledger_entries": len(ledger) if ledger is not None else "kept",
            "release_id": release.release_id,
            "values_added": release.values_added,
            "values_revised": release.values_revised,
            "values_removed": release.values_removed,
            "release_note": release.note_zh,
        }
    )
