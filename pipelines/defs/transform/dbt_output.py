"""What a dbt step prints in `innostat run`: a progress line and a summary, not dbt's line per node.

dagster-dbt writes every dbt log line to stdout as it streams dbt's events: a START and a PASS/OK line for each of
~360 models, seeds and tests, ~720 lines a run. In `innostat run` (a console logger below DEBUG in the run config)
a dbt step instead prints one line when dbt starts building, a progress count that rewrites itself on a terminal,
every line about a failure, warning or skipped node as it comes, and dbt's own count at the end:

    [innostat] dbt_base: dbt build of 205 nodes
    [innostat] dbt_base: 205 nodes in 6.2 s: PASS=206 WARN=0 ERROR=0 SKIP=0 NO-OP=0 TOTAL=206

`innostat run --log-level debug` prints every line, and so do runs in the Dagster webserver and daemon, where the
step's stdout is its log in the UI.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

import dagster as dg

NODE = re.compile(r"^(\d+) of (\d+) (START|OK|PASS|NO-OP|SUCCESS)\b")
DONE = re.compile(r"^Done\. (PASS=.*)$")
SECONDS = re.compile(r"^Finished running .* \(([\d.]+)s\)\.$")
# dbt's preamble and closing lines: said again, shorter, by the summary
QUIET = re.compile(
    r"^(Running with dbt=|Registered adapter:|Found \d+ |Concurrency: |Unable to do partial parsing|"
    r"Finished running |Completed successfully$)"
)


def prints_every_dbt_line(context: dg.AssetExecutionContext) -> bool:
    """Every dbt line unless the run's console logger is configured below DEBUG, as `innostat run` does."""
    loggers = context.run.run_config.get("loggers") or {}
    level = ((loggers.get("console") or {}).get("config") or {}).get("log_level")
    return level is None or str(level).upper() == "DEBUG"


class DbtSummary:
    """Takes dbt's lines in place of stdout (this thread's writes only) and prints the short form."""

    def __init__(self, step: str, out: TextIO) -> None:
        self.step = step
        self.out = out
        self.owner = threading.current_thread()
        self.partial = ""
        self.total = 0
        self.done = 0
        self.seconds: str | None = None
        self.counts: str | None = None
        self.interactive = bool(getattr(out, "isatty", lambda: False)())
        self.progress_shown = False
        self.last_progress = 0.0

    # the file-like side, while dagster-dbt writes
    def write(self, text: str) -> int:
        if threading.current_thread() is not self.owner:
            return self.out.write(text)
        self.partial += text
        *lines, self.partial = self.partial.split("\n")
        for line in lines:
            self.line(line.rstrip())
        return len(text)

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return False

    def line(self, line: str) -> None:
        if not line.strip():
            return
        node = NODE.match(line)
        if node:
            number, total, status = int(node.group(1)), int(node.group(2)), node.group(3)
            if total > 1 and total != self.total:  # the build's nodes (not the one-node hook lists)
                self.total = total
                self._say(f"dbt build of {total} nodes")
            if status != "START" and total == self.total:
                self.done = number
                self._progress()
            return
        if done := DONE.match(line):
            self.counts = done.group(1)
            return
        if seconds := SECONDS.match(line):
            self.seconds = seconds.group(1)
        if QUIET.match(line):
            return
        # failures, warnings, skipped nodes and anything unexpected: as dbt wrote them
        self._clear_progress()
        self.out.write(f"  {line}\n")
        self.out.flush()

    def _say(self, message: str) -> None:
        self._clear_progress()
        self.out.write(f"[innostat] {self.step}: {message}\n")
        self.out.flush()

    def _progress(self) -> None:
        now = time.monotonic()
        if not self.interactive or (now - self.last_progress < 0.2 and self.done < self.total):
            return
        self.last_progress = now
        self.out.write(f"\r[innostat] {self.step}: {self.done}/{self.total}")
        self.out.flush()
        self.progress_shown = True

    def _clear_progress(self) -> None:
        if self.progress_shown:
            self.out.write("\r\033[K")
            self.progress_shown = False

    def close(self) -> None:
        if self.partial:
            self.line(self.partial)
            self.partial = ""
        if self.counts:
            took = f" in {float(self.seconds):.1f} s" if self.seconds else ""
            self._say(f"{self.total} nodes{took}: {self.counts}")
        else:
            self._clear_progress()

    @contextmanager
    def capturing(self) -> Iterator[None]:
        saved, sys.stdout = sys.stdout, self
        try:
            yield
        finally:
            sys.stdout = saved


class _BelowWarning(logging.Filter):
    """dagster-dbt's INFO lines ("Running dbt command: …"), which reach stderr through the root handler that
    dbt's tracking library installs on import; they stay in the run's own event log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not record.name.startswith("dagster")


@contextmanager
def quiet_dagster_info() -> Iterator[None]:
    handlers = list(logging.getLogger().handlers)
    quiet = _BelowWarning()
    for handler in handlers:
        handler.addFilter(quiet)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(quiet)


def summarised(stream: Iterator[Any], step: str) -> Iterator[Any]:
    """`stream` (a dbt invocation's events) with dbt's lines printed in short (see the module docstring)."""
    summary = DbtSummary(step, sys.stdout)
    events = iter(stream)
    try:
        while True:
            with summary.capturing():
                try:
                    event = next(events)
                except StopIteration:
                    break
            yield event
    finally:
        summary.close()
