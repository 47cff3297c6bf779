"""The nightly run at 02:00 Asia/Shanghai ingests whatever landed; `build_after_ingest` then builds and publishes
whatever the published warehouse lacks (new files, and those of any run that failed since), so what is stale is
rebuilt and nothing else."""

import dagster as dg

from pipelines.defs.jobs import INGEST_JOB_NAME

nightly = dg.ScheduleDefinition(
    name="nightly_0200_shanghai",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    job_name=INGEST_JOB_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Daily 02:00 (Asia/Shanghai): ingest new files; build_after_ingest then builds and publishes what the "
        "published warehouse lacks (a build that failed the day before is tried again)."
    ),
)
