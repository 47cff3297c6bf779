"""The nightly run: at 02:00 Asia/Shanghai ingest whatever landed, rebuild what is stale, publish."""

import dagster as dg

from pipelines.defs.jobs import MAIN_JOB_NAME

nightly = dg.ScheduleDefinition(
    name="nightly_0200_shanghai",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    job_name=MAIN_JOB_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 02:00 (Asia/Shanghai): ingest new files of every feed, rebuild, check and publish.",
)
