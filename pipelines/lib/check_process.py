"""The run's Great Expectations checks, judged in a process of their own that is started before they are needed.

Importing great_expectations with the suites takes about 5 s of one core (scipy, pandas, sqlalchemy, pydantic
models of every expectation), and a run used to pay it at its first check: 8 % of a city's daily run
(benchmarks/RESULTS.md, eleventh round). `innostat run` starts this process first thing, so the import runs on
the second core while the run's own process imports Dagster and ingests, and every check of the run is then
judged there. Where no process was started (the Dagster webserver and daemon, tests that call a check directly),
or with INNOSTAT_CHECK_PROCESS=0, a check runs in the calling process, as before.

Dagster runs a job's steps one after another in `innostat run`, so one process judging one check at a time is
enough. It returns the freed memory to the OS after every check (`quality.release_memory`), like the run's own
process did, since it stays alive beside dbt's DuckDB.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

SWITCH = "INNOSTAT_CHECK_PROCESS"  # "0": judge the checks in the run's own process


def _warm_up() -> None:
    """What every check needs first: GX and the suites (imported, not built: a suite reads its thresholds)."""
    import expectations.marts
    import expectations.raw  # noqa: F401


def _portable(error: BaseException) -> BaseException:
    """The error as it can cross the pipe, with the check process's traceback as a note for the log."""
    error.add_note("in the run's check process:\n" + "".join(traceback.format_exception(error)).rstrip())
    try:
        pickle.dumps(error)
    except Exception:
        portable = RuntimeError(f"{type(error).__name__}: {error}")
        portable.__notes__ = list(getattr(error, "__notes__", []))
        return portable
    return error


def _serve(connection) -> None:
    """The check process: warm up, then answer `(function, args)` with `(True, result)` or `(False, error)` until
    told to stop (None) or the run's process is gone (EOF)."""
    from pipelines.lib import quality

    quality.start_check_worker()
    with contextlib.suppress(Exception):  # the first check imports again and reports the error itself
        _warm_up()
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        function, args = message
        try:
            reply = (True, function(*args))
        except BaseException as error:  # every failure goes back to the check that asked
            reply = (False, _portable(error))
        finally:
            quality.release_memory()
        connection.send(reply)


class CheckProcess:
    """A spawned process that judges checks on request (spawn, not fork: the run's process holds DuckDB and
    polars thread pools that a forked child would inherit broken)."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        # not a daemon: INNOSTAT_CHECK_WORKERS may have it start worker processes of its own
        self._process = context.Process(target=_serve, args=(child,), name="innostat-checks")
        self._process.start()
        child.close()
        self._lock = threading.Lock()

    def call(self, function: Callable[..., T], *args: Any) -> T:
        with self._lock:
            try:
                self._connection.send((function, args))
                ok, value = self._connection.recv()
            except (EOFError, OSError) as error:  # a broken pipe is an OSError
                self._process.join(timeout=5)
                raise RuntimeError(
                    f"the run's check process ended while judging {getattr(function, '__name__', function)} "
                    f"(exit code {self._process.exitcode}; -9 is the kernel's out-of-memory killer). Rerun "
                    f"with {SWITCH}=0 to judge the checks in the run's own process and see the error there."
                ) from error
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Stop the process. Between checks it holds nothing open, so a warm-up still importing is cut short."""
        self._connection.close()
        if self._process.is_alive():
            self._process.terminate()
        self._process.join(timeout=10)


_current: CheckProcess | None = None


@contextmanager
def checks_in_own_process() -> Iterator[CheckProcess | None]:
    """Judge the checks run inside the block in a check process started now (unless INNOSTAT_CHECK_PROCESS=0)."""
    global _current
    if os.environ.get(SWITCH, "1").strip() == "0" or _current is not None:
        yield _current
        return
    _current = CheckProcess()
    try:
        yield _current
    finally:
        process, _current = _current, None
        process.close()


def run_check(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` (a module-level function, so it pickles by name) in the run's check process when one is
    running, else here."""
    if _current is not None:
        return _current.call(function, *args)
    return function(*args)
