"""The nightly schedule fires at 02:00 Asia/Shanghai and starts an ingest run (the build follows it)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster._utils.schedules import cron_string_iterator

from pipelines.defs.jobs import INGEST_JOB_NAME
from pipelines.defs.operations.schedules import nightly


def test_nightly_runs_ingest_at_two_in_shanghai():
    assert nightly.execution_timezone == "Asia/Shanghai"
    assert nightly.job_name == INGEST_JOB_NAME
    start = datetime(2026, 3, 1, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ticks = cron_string_iterator(start.timestamp(), nightly.cron_schedule, nightly.execution_timezone)
    first, second = next(ticks), next(ticks)
    assert (first.hour, first.minute, first.day) == (2, 0, 2)
    assert (second - first).days == 1
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=first)
        requests = nightly.evaluate_tick(context).run_requests
    assert len(requests) == 1
