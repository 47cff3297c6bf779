"""The run's check process: checks are judged there when `innostat run` started it, here otherwise, and whatever
goes wrong there reaches the check that asked."""

from __future__ import annotations

import os
import time

import pytest

from pipelines.lib.settings import QualitySettings
from pipelines.quality import process as check_process
from pipelines.quality.process import SWITCH, checks_in_own_process, run_check, start_check

STARTED = QualitySettings()  # the default: a check process is started


def test_without_a_check_process_a_check_runs_in_the_calling_process() -> None:
    assert run_check(os.getpid) == os.getpid()


def test_a_check_process_judges_in_a_process_of_its_own_and_stops_with_the_block() -> None:
    with checks_in_own_process(STARTED) as started:
        assert started is not None
        first, second = run_check(os.getpid), run_check(os.getpid)
        assert first == second != os.getpid()  # one process for every check of the run
        process = started._process
    assert not process.is_alive()
    assert check_process._current is None
    assert run_check(os.getpid) == os.getpid()


def test_an_error_in_the_check_process_is_raised_in_the_run_with_its_traceback() -> None:
    with checks_in_own_process(STARTED):
        with pytest.raises(ValueError, match="invalid literal") as raised:
            run_check(int, "not a number")
        assert any("in the run's check process" in note for note in raised.value.__notes__)
        assert run_check(int, "7") == 7  # the process serves the next check


def test_a_check_process_that_dies_fails_the_check_with_what_to_do() -> None:
    with checks_in_own_process(STARTED), pytest.raises(RuntimeError, match=rf"exit code 3.*{SWITCH}=0"):
        run_check(os._exit, 3)


def test_the_switch_keeps_the_checks_in_the_run_process(monkeypatch) -> None:
    monkeypatch.setenv(SWITCH, "0")
    with checks_in_own_process(QualitySettings.from_env()) as started:
        assert started is None
        assert run_check(os.getpid) == os.getpid()


def test_a_check_started_ahead_is_judged_then_and_collected_once() -> None:
    with checks_in_own_process(STARTED):
        run_check(os.getpid)  # the process has warmed up
        start_check("run-1/raw", time.monotonic_ns)
        start_check("run-1/raw", os._exit, 3)  # already asked: not sent again
        time.sleep(0.5)
        asked_after = time.monotonic_ns()
        assert run_check(os.getpid) != os.getpid()  # a check asked meanwhile waits for the one started ahead
        judged = run_check(time.monotonic_ns, key="run-1/raw")
        assert judged < asked_after - 400_000_000  # judged when started, half a second before it was collected
        assert run_check(time.monotonic_ns, key="run-1/raw") > asked_after  # collected: asked again, judged again


def test_an_error_of_a_check_started_ahead_is_raised_when_it_is_collected() -> None:
    with checks_in_own_process(STARTED):
        start_check("run-1/raw", int, "not a number")
        assert run_check(int, "7") == 7
        with pytest.raises(ValueError, match="invalid literal"):
            run_check(int, "not a number", key="run-1/raw")


def test_without_a_check_process_a_check_started_ahead_runs_when_asked() -> None:
    start_check("run-1/raw", os._exit, 3)  # nothing to start it in: ignored
    assert run_check(os.getpid, key="run-1/raw") == os.getpid()


def test_a_check_started_after_the_process_died_fails_when_it_is_collected() -> None:
    with checks_in_own_process(STARTED):
        with pytest.raises(RuntimeError, match="exit code 3"):
            run_check(os._exit, 3)
        start_check("run-1/raw", os.getpid)  # the ingestion step that starts it does not fail
        with pytest.raises(RuntimeError, match=rf"ended while judging getpid.*{SWITCH}=0"):
            run_check(os.getpid, key="run-1/raw")


LOCK_SCRIPT = """
from pipelines.lib.settings import QualitySettings
from pipelines.quality.process import checks_in_own_process, run_check


def bar_lock():
    import tqdm

    tqdm.tqdm(total=1, disable=True)  # as GX does: a bar, even switched off, creates tqdm's multiprocessing lock
    return True


if __name__ == "__main__":
    with checks_in_own_process(QualitySettings()):
        assert run_check(bar_lock)
"""


def test_closing_the_check_process_leaks_no_semaphore(tmp_path, monkeypatch) -> None:
    """The process is stopped as a normal exit, so the run's end prints no resource_tracker warning."""
    import subprocess
    import sys

    from pipelines.lib.settings import PROJECT_ROOT

    monkeypatch.delenv(SWITCH, raising=False)
    script = tmp_path / "run_with_checks.py"
    script.write_text(LOCK_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "default"}
    finished = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 0, finished.stderr
    assert "leaked semaphore" not in finished.stderr, finished.stderr
