"""Exports: after each publish, every release's bundle in `<warehouse>.exports/release-<N>/` (docs/exchange.md).

The export reads the file that was just published; the publish is done before it starts. A failed export is an
alert to the team's group chat (lib/alerts.py), never a failed run: the open-data folder then lacks the new bundle
until the next publish, or `innostat export` writes it by hand.
"""

import dagster as dg

from pipelines.defs.operations.alerts import _run_url
from pipelines.defs.publish.assets import published_warehouse
from pipelines.defs.resources import WarehouseResource
from pipelines.lib.alerts import Alert, send

EXPORTS_KEY = ["warehouse", "exports"]


@dg.asset(
    key=EXPORTS_KEY,
    group_name="publish",
    kinds={"csv", "excel"},
    deps=[published_warehouse],
    description="Every release as an SDMX-CSV bundle (SDMX-ML structure, xlsx, datapackage.json, MANIFEST) in "
    "<warehouse>.exports/release-<N>/; a failed export alerts and leaves the publish as it is.",
)
def release_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    # Imported here, not with the definitions that every step process of a run imports: pysdmx, frictionless and
    # openpyxl are needed by this step alone.
    from pipelines.exchange.bundle import export_all, exports_dir

    settings = warehouse.settings
    target = exports_dir(settings.warehouse)
    try:
        written = export_all(settings.warehouse, target)
    except Exception as err:  # any failure: an alert, never a failed publish
        error = f"{type(err).__name__}: {err}"
        context.log.error(f"export of the releases into {target} failed: {error}")
        send(
            Alert(
                title="innostat 数据包导出失败 (release export failed; the publish stands)",
                failed_steps=[dg.AssetKey(EXPORTS_KEY).to_user_string()],
                error=error,
                run_url=_run_url(context.run.run_id),
            )
        )
        return dg.MaterializeResult(metadata={"folder": str(target), "failed": error})
    for done in written:
        context.log.info(f"release {done.release_id}: {done.observations} observations written to {done.folder}")
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(target)),
            "written": ", ".join(str(done.release_id) for done in written) or "none (every bundle is current)",
        }
    )
