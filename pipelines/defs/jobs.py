"""Two jobs: `ingest` lands new files in the raw layer; `build_and_publish` builds, checks and publishes.

They are separate because the build is partitioned by month: which months to rebuild is only known after
ingestion has seen the new files. `innostat run` executes both in process; in Dagster a sensor starts the build
when an ingest run succeeds (see defs/operations/automation.py).
"""

import dagster as dg

INGEST_JOB_NAME = "ingest"
BUILD_JOB_NAME = "build_and_publish"
_SIDE_TABLES = dg.AssetSelection.assets(["raw", "quarantine"], ["raw", "ingest_ledger"])
RAW_ASSETS = dg.AssetSelection.key_prefixes("raw") - _SIDE_TABLES

ingest = dg.define_asset_job(
    INGEST_JOB_NAME,
    selection=RAW_ASSETS,
    description="Ingest new files of the feeds into the append-only raw layer (exactly once per content hash).",
    executor_def=dg.in_process_executor,
)

build_and_publish = dg.define_asset_job(
    BUILD_JOB_NAME,
    selection=dg.AssetSelection.all() - dg.AssetSelection.key_prefixes("raw"),
    description=(
        "Build the warehouse from the raw layer into the working file (monthly facts only for the partition "
        "range), run every check, publish atomically."
    ),
    executor_def=dg.in_process_executor,
)
