"""`make stop` ends whole process trees: a service whose children ignore SIGTERM, or start a session of their
own, leaves no process behind (pipelines/orchestration/services.py)."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.orchestration import services

# A parent that ignores SIGTERM (as `dagster dev` under nohup did), with one child in its session that ignores
# it too, and one that escapes into a session of its own and ignores SIGTERM as well.
TREE = textwrap.dedent(
    """
    import os, signal, subprocess, sys, time
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", stubborn])
    escaping = "import os, signal, time; os.setsid(); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)"
    subprocess.Popen([sys.executable, "-c", escaping])
    print("ready", flush=True)
    time.sleep(600)
    """
)


@pytest.fixture
def run_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(services, "RUN_DIR", tmp_path)
    return tmp_path


def _wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_stop_ends_every_process_of_the_tree_even_those_ignoring_sigterm(run_dir):
    log = run_dir / "tree.log"
    assert services.start("tree", [sys.executable, "-c", TREE], log) == 0
    _wait_for(lambda: "ready" in log.read_text())
    session = services.running("tree")
    members = services.session_members(session)
    assert len(members) == 3, members  # the leader, its stubborn child, the grandchild in its own session

    assert services.stop("tree", grace=1.0)

    assert [pid for pid in members if _alive(pid)] == []
    assert not (run_dir / "tree.pid").exists()
    assert services.running("tree") is None


def test_a_second_start_does_not_start_a_second_copy(run_dir, capsys):
    log = run_dir / "sleeper.log"
    command = [sys.executable, "-c", "import time; time.sleep(600)"]
    services.start("sleeper", command, log)
    first = services.running("sleeper")
    services.start("sleeper", command, log)
    assert services.running("sleeper") == first
    assert "already running" in capsys.readouterr().out
    assert services.stop("sleeper")


def test_wait_reports_a_service_that_died_while_starting(run_dir, capsys):
    log = run_dir / "dies.log"
    services.start("dies", [sys.executable, "-c", "print('cannot bind the port'); raise SystemExit(1)"], log)
    assert not services.wait("dies", "http://127.0.0.1:9/", timeout=20)
    assert "cannot bind the port" in capsys.readouterr().err


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
