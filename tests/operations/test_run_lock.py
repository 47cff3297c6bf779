"""One run per warehouse (issue 28): a second run is refused with the holder named and its own exit code; a
run killed during dbt leaves no dbt behind, and the next run takes its lock over and removes its build."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines.cli import EXIT_BUSY
from pipelines.lib.run_lock import WarehouseBusy, holder, lock_path, warehouse_lock
from pipelines.lib.settings import Settings
from tests.operations.test_nothing_lost import innostat, processes_on, run

_HOLD = """
import sys, time
from pipelines.lib.run_lock import warehouse_lock
from pipelines.lib.settings import Settings
with warehouse_lock(Settings.resolve(sys.argv[1], sys.argv[2]), "test holder"):
    print("held", flush=True)
    time.sleep(120)
"""


def _hold_in_other_process(settings: Settings) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(settings.landing), str(settings.warehouse)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline().strip() == "held"
    return process


def test_a_second_holder_is_refused_with_the_holder_named(settings):
    other = _hold_in_other_process(settings)
    try:
        assert holder(settings)["pid"] == other.pid
        with pytest.raises(WarehouseBusy, match=f"pid {other.pid}.*test holder"), warehouse_lock(settings, "second"):
            pass
    finally:
        other.kill()
        other.wait()
    # killed without releasing: its record is still in the file, the kernel released the lock
    assert json.loads(lock_path(settings).read_text())["pid"] == other.pid
    assert holder(settings) is None
    left = []
    with warehouse_lock(settings, "third", on_takeover=left.append) as held:
        assert held.depth == 1 and left[0]["pid"] == other.pid
        with warehouse_lock(settings, "nested") as nested:  # the same process (CLI → Dagster step) only counts
            assert nested.depth == 2
    assert lock_path(settings).read_text() == ""  # released cleanly: nothing to take over


def test_cli_commands_exit_busy_while_another_run_holds_the_warehouse(settings, tmp_path):
    other = _hold_in_other_process(settings)
    try:
        for command in (["rollback"], ["backfill", "--from", "2021-01", "--to", "2021-02"]):
            code, output = innostat(tmp_path, *command, "--warehouse", str(settings.warehouse))
            assert code == EXIT_BUSY, output
            assert f"pid {other.pid}" in output and "test holder" in output
        code, output = run(tmp_path, settings.landing, settings.warehouse)
        assert code == EXIT_BUSY and f"pid {other.pid}" in output, output
        assert not settings.build_path.exists()  # it changed nothing
    finally:
        other.kill()
        other.wait()


def test_a_run_killed_during_dbt_leaves_no_dbt_and_the_next_run_takes_over(generated, tmp_path):
    landing, _ = generated
    warehouse = tmp_path / "wh" / "innostat.duckdb"
    settings = Settings.resolve(landing, warehouse)
    first = run(tmp_path, landing, warehouse, wait=False)
    try:
        deadline = time.monotonic() + 300
        while not (processes_on(warehouse, "dbt") and settings.build_path.exists()) and time.monotonic() < deadline:
            assert first.poll() is None, first.stdout.read()
            time.sleep(0.2)
        assert processes_on(warehouse, "dbt"), "dbt never started"  # and it is writing the build file
        # meanwhile, a second run is refused, naming the first
        code, output = run(tmp_path, landing, warehouse)
        assert code == EXIT_BUSY and f"pid {first.pid}" in output and "innostat run" in output, output

        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        deadline = time.monotonic() + 10
        while processes_on(warehouse, "dbt") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_on(warehouse, "dbt") == [], "dbt outlived the run that started it"
    finally:
        for pid in processes_on(warehouse, "python") + processes_on(warehouse, "dbt"):
            os.kill(pid, signal.SIGKILL)  # only what this test started: they name its warehouse
    assert settings.build_path.exists()  # the killed run's half-built file

    code, output = run(tmp_path, landing, warehouse)
    assert code == 0, output
    assert f"pid {first.pid}" in output and "taking it over" in output
    assert "removed what a failed run left: build.duckdb" in output


def test_a_dagster_build_run_is_refused_while_another_run_holds_the_warehouse(settings):
    import dagster as dg

    from pipelines.defs.publish.assets import published_warehouse
    from pipelines.defs.resources import WarehouseResource, run_lock

    other = _hold_in_other_process(settings)
    resource = WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse))
    try:
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                [published_warehouse],
                resources={"warehouse": resource, "run_lock": run_lock},
                instance=instance,
                raise_on_error=False,
            )
    finally:
        other.kill()
        other.wait()
    assert not result.success
    errors = " ".join(
        str(event.event_specific_data.error)
        for event in result.all_events
        if event.event_type_value.endswith("FAILURE") and getattr(event.event_specific_data, "error", None)
    )
    assert f"pid {other.pid}" in errors and "is busy" in errors, errors
