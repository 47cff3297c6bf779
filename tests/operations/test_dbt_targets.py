"""dagster-dbt writes a target folder per dbt invocation; old ones are pruned so daily runs do not fill the disk."""

from __future__ import annotations

import os
import time
from pathlib import Path

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


def test_innostat_dbt_tells_dagster_the_version_of_the_dbt_it_starts_without_starting_dbt():
    """dagster-dbt asks its executable's version before every dbt step; `innostat-dbt` answers from the installed
    metadata instead of a whole dbt start (3 s a step), and the answer is the one dbt itself gives."""
    import re
    import subprocess
    import sys
    from importlib import metadata

    from packaging import version

    from pipelines.defs.transform.dbt_launcher import dbt_path
    from pipelines.defs.transform.dbt_resource import LocalDbtCliResource, dbt_resource, launcher_path

    resource = dbt_resource()
    assert isinstance(resource, LocalDbtCliResource)
    assert resource.dbt_executable == str(launcher_path())
    # what dagster-dbt's own (unchanged) code reads from the executable
    assert resource._cli_version == version.parse(metadata.version("dbt-core"))
    reported = subprocess.run([str(dbt_path()), "--version"], capture_output=True, text=True, check=True)
    assert str(resource._cli_version) == re.search(r"(\d+\.\d+\.\d+)", reported.stdout).group(1)
    # and the answer imports no dbt
    probe = (
        "import sys; from pipelines.defs.transform import dbt_launcher; dbt_launcher.version_text(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dbt', 'dagster')))"
    )
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "[]\n"


def test_dbt_dies_with_the_process_that_started_it(tmp_path):
    """`innostat-dbt` asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG), and the setting survives the
    exec into dbt: a killed run leaves no dbt writing its build file. The stand-in for dbt here only waits, since
    what is checked is how long the process lives, not what dbt does."""
    import signal
    import subprocess
    import sys

    import pytest

    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux only")
    from pipelines.lib.settings import PROJECT_ROOT

    bin_dir = tmp_path / "bin"  # a Python beside a "dbt", as in a virtual environment
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    (bin_dir / "dbt").write_text("#!/bin/sh\nexec sleep 120\n")
    (bin_dir / "dbt").chmod(0o755)
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, subprocess, sys, time\n"
            "env = {**os.environ, 'INNOSTAT_DBT_PARENT_PID': str(os.getpid()), 'PYTHONPATH': sys.argv[2]}\n"
            "child = subprocess.Popen([sys.argv[1], '-m', 'pipelines.defs.transform.dbt_launcher', 'build'], env=env)\n"
            "print(child.pid, flush=True)\n"
            "time.sleep(120)\n",
            str(bin_dir / "python"),
            str(PROJECT_ROOT),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    child = int(parent.stdout.readline())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "sleep" not in Path(f"/proc/{child}/cmdline").read_text():
        time.sleep(0.1)  # until the launcher has become the "dbt"
    assert "sleep" in Path(f"/proc/{child}/cmdline").read_text()
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its reaper does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_no_dbt_adapter_is_built_in_the_run_process():
    """dagster-dbt builds a dbt adapter in the run's process before every dbt step (1.1 s) for row counts and
    column metadata this project does not fetch: LocalDbtCliResource builds none. The guard: dagster-dbt still
    calls the private method it overrides (defs/transform/dbt_resource.py, the one private member overridden), so
    an upgrade that renames it fails here instead of silently costing time."""
    import inspect

    from dagster_dbt import DbtCliResource

    from pipelines.defs.transform.dbt_resource import dbt_resource

    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None
