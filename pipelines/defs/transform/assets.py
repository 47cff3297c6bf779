"""dbt models as Dagster assets, built from the manifest that `dbt parse` writes (no database needed).

Raw sources map onto the ingestion assets' keys (`raw/<table>`), models onto `<schema>/<name>`, so lineage runs
from the landing zone to the marts. dbt tests surface as asset checks.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.resources import WarehouseResource
from pipelines.defs.transform.dbt_project import dbt_project
from pipelines.lib.warehouse import prepare_build


class InnostatTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["raw", dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "transform"


TRANSLATOR = InnostatTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(manifest=dbt_project.manifest_path, dagster_dbt_translator=TRANSLATOR, pool="warehouse")
def innostat_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Build every model into the working file, never the published one; publishing is a separate step."""
    warehouse.export_env()
    prepare_build(warehouse.settings)
    invocation = dbt.cli(["build"], context=context, raise_on_error=False)
    yield from invocation.stream()
    if not invocation.is_successful():
        raise dg.Failure(description=f"dbt build failed: {failed_dbt_nodes(invocation)}")


def failed_dbt_nodes(invocation) -> str:
    """Name every failed model or test with dbt's message, so the operator knows what to fix."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no artifact when dbt could not even start
        return "see the dbt output above"
    failed = [
        f"{r['unique_id'].split('.')[2]} ({r['status']}: {(r.get('message') or '').strip()[:300]})"
        for r in results
        if r["status"] in ("error", "fail")
    ]
    return "; ".join(failed) or "see the dbt output above"


# raw/quarantine and raw/ingest_ledger are written by every ingestion asset as a side effect.
raw_side_tables = [
    dg.AssetSpec(
        key=["raw", name],
        group_name="ingest",
        kinds={"parquet"},
        description=description,
    )
    for name, description in (
        ("quarantine", "Rows rejected by any feed's ingestion, written beside each raw table's Parquet."),
        ("ingest_ledger", "One row per ingested source file, keyed by content hash: the exactly-once record."),
    )
]
