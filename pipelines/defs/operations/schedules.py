"""The nightly run at 02:00 Asia/Shanghai ingests whatever landed; `build_after_ingest` then rebuilds and
publishes the months it touched, so what is stale is rebuilt and nothing else."""

import dagster as dg

from pipelines.defs.jobs import INGEST_JOB_NAME

nightly = dg.ScheduleDefinition(
    name="nightly_0200_shanghai",
    cron_schedule="0 2 * * *",
    execution_timezone="Asia/Shanghai",
    job_name=INGEST_JOB_NAME,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 02:00 (Asia/Shanghai): ingest new files; build_after_ingest rebuilds and publishes.",
)
