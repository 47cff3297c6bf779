"""A failed run reaches the team's group chat (or the log), with the failed step, the error and a link."""

import os

import dagster as dg

from pipelines.lib.alerts import Alert, send


def _run_url(run_id: str) -> str:
    base = os.environ.get("INNOSTAT_DAGSTER_URL", "http://127.0.0.1:3000").rstrip("/")
    return f"{base}/runs/{run_id}"


def _error_text(error) -> str:
    """Dagster wraps the real error ("Error occurred while executing op …"); the cause says what went wrong."""
    parts = []
    while error is not None:
        parts.append(error.message.strip())
        error = error.cause
    return " ← ".join(parts[-2:]) if len(parts) > 1 else parts[0]


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts a WeCom/DingTalk robot message (INNOSTAT_ALERT_WEBHOOK) when any run fails.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext):
    failures = context.get_step_failure_events()
    steps = [event.step_key for event in failures if event.step_key]
    errors = [
        _error_text(event.step_failure_data.error)
        for event in failures
        if event.step_failure_data and event.step_failure_data.error
    ]
    error = "; ".join(errors) or (context.failure_event.message or "the run failed")
    run = context.dagster_run
    send(
        Alert(
            title=f"innostat 运行失败 (run failed): {run.job_name}",
            failed_steps=steps,
            error=error,
            run_url=_run_url(run.run_id),
        )
    )
