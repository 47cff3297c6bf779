"""The run's Great Expectations checks, judged in a process of their own that is started before they are needed.

Importing great_expectations with the suites takes about 5 s of one core (scipy, pandas, sqlalchemy, pydantic
models of every expectation), and a run used to pay it at its first check: 8 % of a city's daily run
(benchmarks/CHANGELOG.md, eleventh round). `innostat run` starts this process first thing, so the import runs on
the second core while the run's own process imports Dagster and ingests, and every check of the run is then
judged there. Where no process was started (the Dagster webserver and daemon, tests that call a check directly),
or with INNOSTAT_CHECK_PROCESS=0 (`QualitySettings.check_process`), a check runs in the calling process.

Dagster runs a job's steps one after another in `innostat run`, so one process judging one check at a time is
enough. A check need not wait for its step, though. The ingest job runs its steps level by level, every feed's
ingestion before any raw check, so a raw table's ingestion asset starts its check as soon as the table's files are
in (`start_check`): the check process judges it while the run ingests the next feeds, and the check step collects
the outcome (`run_check` with the same key). Requests are answered in the order they were sent.

After every check the process returns the freed memory to the OS (`release_memory`), like the run's own process
does after a check it judged itself, since it stays alive beside dbt's DuckDB.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import pickle
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from pipelines.lib.settings import QUALITY_CHECK_PROCESS as SWITCH  # "0": judge the checks in the run's own process

if TYPE_CHECKING:
    from pipelines.lib.settings import QualitySettings

T = TypeVar("T")


def _warm_up() -> None:
    """What every check needs first: the runtime, GX and the suites (imported, not built: a suite takes its
    thresholds)."""
    import pipelines.quality.checks
    import pipelines.quality.suites.marts
    import pipelines.quality.suites.raw  # noqa: F401


def release_memory() -> None:
    """Hand the memory of a check's freed frames back to the OS. glibc keeps a freed heap for reuse, so without
    this the run's process stays at its largest chunk while dbt's DuckDB works beside it, and the two add up
    against the run's memory budget (benchmarks/RESULTS.md)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


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


def _stop(signum, frame) -> None:
    raise SystemExit(0)


def _serve(connection) -> None:
    """The check process: warm up, then answer `(function, args)` with `(True, result)` or `(False, error)` until
    told to stop (None) or the run's process is gone (EOF).

    SIGTERM (`CheckProcess.close`) ends it as a normal exit, so that its multiprocessing semaphores are removed:
    tqdm, which GX calls even with its bars off, creates one on its first bar. Killed by the default handler, the
    process left it to the run's resource tracker, which warned "There appear to be 1 leaked semaphore objects to
    clean up at shutdown" at the end of the run whenever the process was still alive when the run closed it."""
    signal.signal(signal.SIGTERM, _stop)
    try:
        _answer(connection)
    finally:  # leaving: a SIGTERM now would cut short the exit's cleanup, between a semaphore's unlink and its
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # unregistering, and the tracker would warn all the same


def _answer(connection) -> None:
    from pipelines.quality.chunking import start_check_worker

    start_check_worker()
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
        except SystemExit:  # told to stop while judging: nobody waits for the reply
            raise
        except BaseException as error:  # every failure goes back to the check that asked
            reply = (False, _portable(error))
        finally:
            release_memory()
        try:
            connection.send(reply)
        except OSError:  # the run's process closed the pipe meanwhile
            return


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
        self._waiting: dict[str, str] = {}  # key → function name of each request sent and not yet answered, in order
        self._replies: dict[str, tuple[bool, Any]] = {}  # key → (ok, result or error), answered and not collected
        self._numbers = itertools.count()

    def start(self, key: str, function: Callable[..., Any], *args: Any) -> None:
        """Send `function(*args)` now, for a later `call` with the same key to collect (once asked, not again)."""
        with self._lock:
            if key not in self._waiting and key not in self._replies:
                # A process that is gone fails the check step that collects this, not the step starting it
                with contextlib.suppress(RuntimeError):
                    self._send(key, function, args)

    def call(self, function: Callable[..., T], *args: Any, key: str | None = None) -> T:
        """`function(*args)` judged in the process: the reply of an earlier `start` under `key`, or sent now."""
        with self._lock:
            if key is None or (key not in self._waiting and key not in self._replies):
                key = key or f"call-{next(self._numbers)}"
                self._send(key, function, args)
            while key not in self._replies:  # replies come back in the order the requests were sent
                waited = next(iter(self._waiting))
                self._replies[waited] = self._receive(self._waiting.pop(waited))
            ok, value = self._replies.pop(key)
        if not ok:
            raise value
        return value

    def _send(self, key: str, function: Callable[..., Any], args: tuple) -> None:
        self._waiting[key] = getattr(function, "__name__", str(function))
        try:
            self._connection.send((function, args))
        except OSError as error:  # a broken pipe: the process is gone
            raise self._ended(self._waiting[key]) from error

    def _receive(self, name: str) -> tuple[bool, Any]:
        try:
            return self._connection.recv()
        except (EOFError, OSError) as error:
            raise self._ended(name) from error

    def _ended(self, name: str) -> RuntimeError:
        self._process.join(timeout=5)
        return RuntimeError(
            f"the run's check process ended while judging {name} (exit code {self._process.exitcode}; -9 is the "
            f"kernel's out-of-memory killer). Rerun with {SWITCH}=0 to judge the checks in the run's own process "
            "and see the error there."
        )

    def close(self) -> None:
        """Stop the process. Between checks it holds nothing open, so a warm-up still importing is cut short. A
        check started ahead and never collected (its run failed meanwhile) is cut short too: what a check writes
        is written under a temporary name and renamed, or into the working build, which the next build replaces."""
        self._connection.close()
        if self._process.is_alive():
            self._process.terminate()  # ends it as a normal exit (see _serve)
        self._process.join(timeout=10)
        if self._process.is_alive():  # inside a long call that does not return to Python: no more waiting
            self._process.kill()
            self._process.join(timeout=5)


_current: CheckProcess | None = None


@contextmanager
def checks_in_own_process(settings: QualitySettings) -> Iterator[CheckProcess | None]:
    """Judge the checks run inside the block in a check process started now, unless `settings.check_process` is
    off (INNOSTAT_CHECK_PROCESS=0)."""
    global _current
    if not settings.check_process or _current is not None:
        yield _current
        return
    _current = CheckProcess()
    try:
        yield _current
    finally:
        process, _current = _current, None
        process.close()


def start_check(key: str, function: Callable[..., Any], *args: Any) -> None:
    """Start judging `function(*args)` now in the run's check process, while the run goes on with other steps;
    `run_check(..., key=key)` collects the result. Without a check process, nothing: the check runs when asked."""
    if _current is not None:
        _current.start(key, function, *args)


def run_check(function: Callable[..., T], *args: Any, key: str | None = None) -> T:
    """`function(*args)` (a module-level function, so it pickles by name) in the run's check process when one is
    running, else here. With the `key` of a `start_check`, its result (the check is not judged twice)."""
    if _current is not None:
        return _current.call(function, *args, key=key)
    return function(*args)
