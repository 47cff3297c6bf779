"""Publish: the checked build replaces the published warehouse in one atomic step."""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.defs.transform.assets import innostat_dbt_models
from pipelines.lib.warehouse import publish


@dg.asset(
    key=["warehouse", "published"],
    group_name="publish",
    kinds={"duckdb"},
    pool="warehouse",
    deps=list(innostat_dbt_models.keys),
    description="The published DuckDB file that Superset and statisticians read (read-only).",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    result = publish(warehouse.settings)
    context.log.info(f"published {result.published} ({result.bytes} bytes); previous kept at {result.previous}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.published)),
            "bytes": result.bytes,
            "previous": str(result.previous) if result.previous else "none",
        }
    )
