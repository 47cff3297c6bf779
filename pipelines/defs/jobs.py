"""Two jobs: `ingest` lands new files in the raw layer; `build_and_publish` builds, checks and publishes.

They are separate because the build is partitioned by month: which months to rebuild is only known after
ingestion has seen the new files. `innostat run` executes both in process; in Dagster a sensor starts the build
when an ingest run succeeds (see defs/operations/automation.py).
"""

import dagster as dg

from pipelines.defs.transform.assets import dbt_base
from pipelines.lib.feeds import SIDE_TABLES

INGEST_JOB_NAME = "ingest"
BUILD_JOB_NAME = "build_and_publish"
_SIDE_TABLES = dg.AssetSelection.assets(*(["raw", table] for table in SIDE_TABLES))
RAW_ASSETS = dg.AssetSelection.key_prefixes("raw") - _SIDE_TABLES

ingest = dg.define_asset_job(
    INGEST_JOB_NAME,
    selection=RAW_ASSETS,
    description="Ingest new files of the feeds into the append-only raw layer (exactly once per content hash).",
    executor_def=dg.in_process_executor,
)

BUILD_ASSETS = dg.AssetSelection.all() - dg.AssetSelection.key_prefixes("raw")

build_and_publish = dg.define_asset_job(
    BUILD_JOB_NAME,
    selection=BUILD_ASSETS,
    description=(
        "Build the warehouse from the raw layer into the working file (monthly facts only for the partition "
        "range), run every check, publish atomically."
    ),
    executor_def=dg.in_process_executor,
)


def build_selection(keep_base: bool) -> dg.AssetSelection:
    """What a build run materialises: everything, or everything but `dbt_base` (and its checks) when the
    published warehouse's statistics and R&D tables are current (`lib/build_inputs.base_is_current`)."""
    return BUILD_ASSETS - dg.AssetSelection.assets(dbt_base) if keep_base else BUILD_ASSETS
