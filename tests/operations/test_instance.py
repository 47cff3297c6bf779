"""The command line's Dagster instance: the DAGSTER_HOME one (created from the template), ephemeral when the
variable is empty; a run killed outright does not keep the warehouse pool for ever."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
from dagster._core.events import EngineEventData
from dagster._core.test_utils import create_run_for_test

from pipelines.instance import TEMPLATE, cli_instance


def test_a_missing_dagster_home_is_created_from_the_template(tmp_path, monkeypatch) -> None:
    home = tmp_path / "new" / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with cli_instance() as instance:
        assert instance.is_persistent
        assert instance.root_directory == str(home)
    assert (home / "dagster.yaml").read_text() == TEMPLATE.read_text()
    assert not instance.get_settings("nux").get("enabled", True)  # no newsletter dialog in the UI


def test_an_operators_dagster_yaml_is_kept(tmp_path, monkeypatch) -> None:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with cli_instance():
        pass
    assert (tmp_path / "dagster.yaml").read_text() == "telemetry:\n  enabled: false\n"


def test_an_empty_dagster_home_runs_ephemeral(monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", "")
    with cli_instance() as instance:
        assert not instance.is_persistent


def test_the_pool_slots_of_a_run_whose_process_is_gone_are_freed(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with cli_instance() as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("warehouse", 1)
        dead = create_run_for_test(instance, job_name="build_and_publish", status=dg.DagsterRunStatus.STARTED)
        alive = create_run_for_test(instance, job_name="build_and_publish", status=dg.DagsterRunStatus.STARTED)
        instance.report_engine_event("Executing steps in process", dead, EngineEventData.in_process(gone.pid))
        instance.report_engine_event("Executing steps in process", alive, EngineEventData.in_process(1))
        assert storage.claim_concurrency_slot("warehouse", dead.run_id, "dbt_base").is_claimed
        assert not storage.claim_concurrency_slot("warehouse", alive.run_id, "dbt_base").is_claimed  # waits
    with cli_instance() as instance:  # the next command line run
        assert instance.get_run_by_id(dead.run_id).status == dg.DagsterRunStatus.FAILURE
        assert instance.get_run_by_id(alive.run_id).status == dg.DagsterRunStatus.STARTED  # pid 1 lives
        assert instance.event_log_storage.get_concurrency_run_ids() == {alive.run_id}
        assert instance.event_log_storage.claim_concurrency_slot("warehouse", alive.run_id, "dbt_base").is_claimed


def test_a_run_holds_its_own_sqlite_files_open_not_the_earlier_runs(tmp_path, monkeypatch) -> None:
    import time

    from pipelines.instance import _KeptOpen

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with cli_instance() as instance:
        earlier = create_run_for_test(instance, job_name="ingest")
        instance.report_engine_event("earlier run", earlier)
    folder = tmp_path / "history" / "runs"
    kept = _KeptOpen(folder)
    kept.start()
    try:
        with cli_instance() as instance:
            run = create_run_for_test(instance, job_name="build_and_publish")
            instance.report_engine_event("this run", run)
            time.sleep(1.5)
        held = {path.name for path in kept.held}
    finally:
        kept.close()
    assert held == {"index.db", "runs.db", f"{run.run_id}.db"}
