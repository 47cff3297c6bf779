"""Ingestion, the first stage: one raw asset and one new-files sensor per raw table of `lib/feeds.RAW_TABLES`,
and the raw side tables every ingestion writes (quarantine, ingest ledger).

A raw table and its asset share one name (`raw/<table>`); its Dagster group is its feed's domain, the group of
the feed's dbt models too (defs/transform/assets.py), so a feed reads from landing file to mart in one group.
"""

import hashlib

import dagster as dg

from pipelines.defs.jobs import INGEST_JOB_NAME
from pipelines.defs.quality.checks import start_raw_check
from pipelines.defs.resources import WarehouseResource
from pipelines.ingest.registry import parser_for
from pipelines.ingest.runner import ingest_table, pending_files
from pipelines.lib.feeds import INGEST_LEDGER, QUARANTINE, RAW_TABLES
from pipelines.lib.pseudonymise import PiiKeyMissing, Pseudonymiser, warehouse_key
from pipelines.lib.settings import Settings


def pseudonymiser_or_fail(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> Pseudonymiser:
    """The warehouse's pseudonymiser; without its key (none set outside a demo, or another key than the one the
    warehouse's data were pseudonymised with) the step fails with the reason, in the run's log and the UI."""
    try:
        return Pseudonymiser(warehouse_key(warehouse.settings.state_dir, demo=warehouse.demo))
    except PiiKeyMissing as err:
        context.log.error(f"refusing to ingest: {err}")
        raise dg.Failure(description=f"refusing to ingest: {err}", allow_retries=False) from None


# the security feed delivers two raw tables; every other feed one, named as the feed
_DOMAIN = {"security_incidents": "security", "security_cameras": "security"}


def group_of(table: str) -> str:
    """The Dagster group of raw table `table`: its feed's domain, as the folders of its dbt models are named."""
    return _DOMAIN.get(table, table)


def build_raw_asset(table: str) -> dg.AssetsDefinition:
    parser = parser_for(table)

    @dg.asset(
        key=["raw", table],
        group_name=group_of(table),
        kinds={"polars", "parquet"},
        pool="warehouse",
        description=(
            f"Files from landing/{parser.folder}/ ({', '.join(parser.extensions)}), parsed, validated and "
            f"pseudonymised, appended as Parquet (exactly once per content hash); bad rows quarantined."
        ),
    )
    def _raw_asset(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        run_lock: dg.ResourceParam[object],  # one run per warehouse: two ingestions would share temp files
    ) -> dg.MaterializeResult:
        settings = warehouse.settings
        pseudonymiser = pseudonymiser_or_fail(context, warehouse)
        report = ingest_table(
            table,
            settings.landing,
            settings.raw_dir,
            pseudonymiser,
            run_id=context.run.run_id,
            progress=context.log.info,
            settings=settings.ingest,
        )
        if report.errors:
            failed = "; ".join(f"{f}: {e}" for f, e in report.errors)
            raise dg.Failure(
                description=f"{table}: {len(report.errors)} file(s) failed with an unexpected error: {failed}",
                metadata={"files_loaded": report.files_new},
            )
        start_raw_check(settings, table, context.run.run_id)  # judged beside the next feeds' ingestion
        return dg.MaterializeResult(
            metadata={
                "files_seen": report.files_seen,
                "files_new": report.files_new,
                "files_already_ingested": report.files_already_ingested,
                "files_rejected": report.files_rejected,
                "files_duplicate": report.files_duplicate,
                "files_still_being_written": report.files_unsettled,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "rows_redelivered": report.rows_skipped,
                "rejected_files": dg.MetadataValue.json([{"file": f, "reason": r} for f, r in report.rejected]),
            }
        )

    return _raw_asset


def pending_hashes(table: str, settings: Settings) -> list[str]:
    """Keys of landed files the ledger has not recorded (new files, new copies, new non-regular files), in
    delivery order; files still being written are not pending yet (`pending_files`)."""
    return pending_files(table, settings.landing, settings.raw_dir, settings.ingest)


def build_feed_sensor(table: str, job_name: str = INGEST_JOB_NAME) -> dg.SensorDefinition:
    """Requests one run per burst of new files; the run key is the hash of the new files' content hashes."""

    @dg.sensor(
        name=f"{table}_new_files",
        job_name=job_name,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Starts an ingest run when new files land in the {table} feed folder (the build follows).",
    )
    def _sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        pending = pending_hashes(table, warehouse.settings)
        if not pending:
            return dg.SkipReason(f"no new {table} files")
        try:  # a run without the warehouse's key would only fail: say why here, where the files wait
            warehouse_key(warehouse.settings.state_dir, demo=warehouse.demo, record=False)
        except PiiKeyMissing as err:
            context.log.warning(f"{len(pending)} new {table} file(s) wait: {err}")
            return dg.SkipReason(f"{len(pending)} new {table} file(s) wait, not ingested: {err}")
        run_key = f"{table}-" + hashlib.sha256("\n".join(sorted(pending)).encode()).hexdigest()[:32]
        return dg.RunRequest(run_key=run_key, tags={"innostat/feed": table, "innostat/new_files": str(len(pending))})

    return _sensor


raw_assets = {table: build_raw_asset(table) for table in RAW_TABLES}
feed_sensors = {table: build_feed_sensor(table) for table in RAW_TABLES}

# raw/quarantine and raw/ingest_ledger are written by every ingestion asset as a side effect.
raw_side_tables = [
    dg.AssetSpec(key=["raw", name], group_name="ingest", kinds={"parquet"}, description=description)
    for name, description in (
        (QUARANTINE, "Rows rejected by any feed's ingestion, written beside each raw table's Parquet."),
        (INGEST_LEDGER, "One row per ingested source file, keyed by content hash: the exactly-once record."),
    )
]
