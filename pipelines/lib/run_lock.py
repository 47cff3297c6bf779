"""One run per warehouse: a lock on `<warehouse>.state/run.lock`, and child processes that die with the run.

`innostat run`, `backfill` and `rollback` and every Dagster build run hold the lock for their whole length. It is
a POSIX record lock (`fcntl.lockf`): the kernel releases it when the holder's process ends, however it ends, and
a child process never inherits it. The file names the holder (pid, host, command, start), so a second run can say
who is in the way. A holder that ended without releasing (killed, out of memory) left its record: the next run
takes the lock over and says so; `innostat run` then removes what the dead run left half-built
(`lib/warehouse.clean_failed_build`), and a Dagster build writes its copy over it.

dbt, which the run starts to write the build, is started through `innostat-dbt`
(defs/transform/dbt_launcher.py): killing the run kills it too, so no dbt keeps writing a build file after the run
that owns it is gone.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipelines.lib.settings import Settings

LOCK_NAME = "run.lock"


class WarehouseBusy(RuntimeError):
    """Another live process holds the warehouse's run lock."""

    def __init__(self, settings: Settings, holder: dict | None) -> None:
        self.holder = holder
        who = describe(holder) if holder else "another process (it has not written its name yet)"
        super().__init__(
            f"the warehouse {settings.warehouse} is busy: {who} is running on it. Wait for it to end; a run that was "
            f"killed releases the lock with its process, so there is nothing to delete by hand "
            f"(lock file: {lock_path(settings)})."
        )


def describe(holder: dict) -> str:
    return (
        f"pid {holder.get('pid')} on {holder.get('host')} (`{holder.get('command')}`, "
        f"started {holder.get('started_at')})"
    )


def lock_path(settings: Settings) -> Path:
    return settings.state_dir / LOCK_NAME


@dataclass
class _Held:
    fd: int
    depth: int
    taken_over: dict | None


_held: dict[Path, _Held] = {}  # locks this process holds; a nested acquire (CLI → Dagster step) only counts


def _read(fd: int) -> dict | None:
    data = os.pread(fd, 65_536, 0)
    if not data.strip():
        return None
    try:
        return json.loads(data)
    except ValueError:
        return {"pid": "?", "host": "?", "command": data[:200].decode(errors="replace"), "started_at": "?"}


def holder(settings: Settings) -> dict | None:
    """Who holds the lock now (None: nobody). Never called by the holder itself: closing any descriptor of the
    lock file would release a POSIX lock."""
    path = lock_path(settings)
    if path in _held:
        return {"pid": os.getpid(), "host": socket.gethostname(), "command": "this process", "started_at": "?"}
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EACCES):
                return _read(fd) or {"pid": "?", "host": "?", "command": "?", "started_at": "?"}
            raise
        return None
    finally:
        os.close(fd)  # releases the probe's lock, if it got one


@contextmanager
def warehouse_lock(settings: Settings, command: str, on_takeover: Callable[[dict], None] | None = None) -> Iterator:
    """Hold the warehouse's run lock, or raise `WarehouseBusy` at once naming the holder.

    `on_takeover(record)` is called when the lock was left by a process that ended without releasing it."""
    path = lock_path(settings)
    if path in _held:
        _held[path].depth += 1
        try:
            yield _held[path]
        finally:
            _held[path].depth -= 1
        return
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        busy = _read(fd)
        os.close(fd)
        if err.errno in (errno.EAGAIN, errno.EACCES):
            raise WarehouseBusy(settings, busy) from None
        raise
    left = _read(fd)  # a record still there: its run ended without releasing (killed)
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "command": command,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, json.dumps(record).encode(), 0)
    os.fsync(fd)
    held = _held[path] = _Held(fd=fd, depth=1, taken_over=left)
    try:
        if left is not None and on_takeover is not None:
            on_takeover(left)
        yield held
    finally:
        del _held[path]
        try:
            os.ftruncate(fd, 0)  # released cleanly: nothing for the next run to take over
        finally:
            os.close(fd)
