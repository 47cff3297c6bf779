"""The main job: ingest every feed, build and check the warehouse, publish. `innostat run` executes it."""

import dagster as dg

MAIN_JOB_NAME = "ingest_build_publish"

ingest_build_publish = dg.define_asset_job(
    MAIN_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(["raw", "quarantine"], ["raw", "ingest_ledger"]),
    description="Ingest new files of every feed, build and check the warehouse, publish it atomically.",
    executor_def=dg.in_process_executor,
)
