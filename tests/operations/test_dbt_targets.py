"""dagster-dbt writes a target folder per dbt invocation; old ones are pruned so daily runs do not fill the disk."""

from __future__ import annotations

import os
import time

from pipelines.defs.transform.assets import prune_invocation_targets


def _folder(target, name: str, age_days: float):
    folder = target / name
    (folder / "compiled").mkdir(parents=True)
    (folder / "run_results.json").write_text("{}", encoding="utf-8")
    stamp = time.time() - age_days * 86_400
    os.utime(folder, (stamp, stamp))
    return folder


def test_old_invocation_folders_go_the_newest_and_the_recent_stay(tmp_path):
    target = tmp_path / "target"
    old = [_folder(target, f"dbt_monthly-run{i}-x", age_days=10 + i) for i in range(5)]
    recent = [_folder(target, f"dbt_base-run{i}-y", age_days=0.1) for i in range(5)]
    (target / "partial_parse.msgpack").write_bytes(b"parse")
    other = _folder(target, "compiled", age_days=30)  # dbt's own folders are not invocation folders

    removed = prune_invocation_targets(target, keep=2)

    assert removed == 5  # the five old ones; the recent five stay although only two are "kept"
    assert all(not folder.exists() for folder in old)
    assert all(folder.exists() for folder in recent)
    assert other.exists() and (target / "partial_parse.msgpack").exists()


def test_the_newest_stay_however_old(tmp_path):
    target = tmp_path / "target"
    folders = [_folder(target, f"dbt_final-run{i}-z", age_days=100 + i) for i in range(4)]
    assert prune_invocation_targets(target, keep=3) == 1
    assert [folder.exists() for folder in folders] == [True, True, True, False]  # the oldest went


def test_no_target_folder_is_nothing_to_do(tmp_path):
    assert prune_invocation_targets(tmp_path / "missing") == 0


def test_the_dbt_version_told_to_dagster_is_the_version_of_the_dbt_it_runs():
    """LocalDbtCliResource skips dagster-dbt's `dbt --version` subprocess (3 s a step); the version it states
    instead must be the one that executable reports."""
    import re
    import subprocess

    from dagster_dbt import DbtCliResource

    from pipelines.defs.resources import LocalDbtCliResource, default_resources

    resource = default_resources()["dbt"]
    assert isinstance(resource, LocalDbtCliResource)
    reported = subprocess.run([resource.dbt_executable, "--version"], capture_output=True, text=True, check=True)
    assert resource._cli_version == DbtCliResource._cli_version.func(resource)  # what dagster-dbt would ask
    assert str(resource._cli_version) == re.search(r"(\d+\.\d+\.\d+)", reported.stdout).group(1)


def test_no_dbt_adapter_is_built_in_the_run_process():
    """dagster-dbt builds a dbt adapter in the run's process before every dbt step (1.1 s) for row counts and
    column metadata this project does not fetch: LocalDbtCliResource builds none. The guard: dagster-dbt still
    calls the method it overrides, so an upgrade that renames it fails here instead of silently costing time."""
    import inspect

    from dagster_dbt import DbtCliResource

    from pipelines.defs.resources import default_resources

    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)
    assert default_resources()["dbt"]._initialize_dbt_core_adapter(["build"]) is None
