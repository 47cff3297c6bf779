"""The Dagster instance the command line runs in: the `DAGSTER_HOME` one when it is set, so that `innostat run`,
`demo` and `backfill` show in the Dagster UI (`make dagster`) with their runs, materialisations and partitions.

`dagster.yaml` beside this file is the template of `$DAGSTER_HOME/dagster.yaml`: copied there when the folder
has none (also by `make dagster-home`), never over an operator's own file. `innostat` sets DAGSTER_HOME to the
project's `.dagster_home/` when it is unset (`lib/environment.apply_offline_defaults`), the folder `make dagster`
uses; set empty (`DAGSTER_HOME= innostat run`), the run is ephemeral, as before: nothing is kept.

The CLI writes into the same SQLite storage as a running webserver and daemon (`make dagster`): SQLite allows
one writer at a time, Dagster's SQLite storage waits for the lock, and the CLI's steps claim the `warehouse` pool
(`concurrency:` in dagster.yaml) like the daemon's runs, so a CLI run and a sensor's run never build at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg

TEMPLATE = Path(__file__).with_name("dagster.yaml")


def dagster_home() -> Path | None:
    """$DAGSTER_HOME as an absolute path (Dagster refuses a relative one), or None when it is not set."""
    home = os.environ.get("DAGSTER_HOME", "").strip()
    return Path(home).expanduser().resolve() if home else None


def ensure_dagster_home(home: Path) -> Path:
    """The folder, with dagster.yaml from the template unless it has one (kept: it may be the operator's)."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        partial = home / f".dagster.yaml.{os.getpid()}.tmp"
        shutil.copyfile(TEMPLATE, partial)
        os.replace(partial, config)  # atomic: a webserver starting meanwhile reads the whole file or none
    return home


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _executing_pid(instance: dg.DagsterInstance, run_id: str) -> int | None:
    """The process that executes the run's steps, from its "Executing steps in process (pid: N)" event."""
    pid = None
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        value = entry.dagster_event.engine_event_data.metadata.get("pid")
        if value is not None:
            pid = int(value.value)
    return pid


def release_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Free the pool slots of runs whose process is gone, and mark those runs failed; returns their ids.

    A run claims a slot of the `warehouse` pool for each step that writes DuckDB and frees it when the step ends.
    A run killed outright (kill -9, the out-of-memory killer, a closed terminal) frees nothing and stays
    "started", so every later run, from the CLI or the daemon, would wait for the slot for ever. Only for the
    SQLite storage, which lives on this machine: a process id means nothing on another host."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    storage = instance.event_log_storage
    if not isinstance(storage, SqliteEventLogStorage) or not storage.supports_global_concurrency_limits:
        return []
    released = []
    for run_id in sorted(storage.get_concurrency_run_ids()):
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            pid = _executing_pid(instance, run_id)
            if pid is None or _alive(pid):
                continue
            instance.report_run_failed(run, f"the process that ran it (pid {pid}) is gone; its pool slots are freed")
        storage.free_concurrency_slots_for_run(run_id)
        released.append(run_id)
    return released


class _KeptOpen(threading.Thread):
    """One idle connection to each SQLite file of the instance while a command-line run writes into it.

    Dagster's SQLite storage opens and closes a connection for every event it stores (a run stores one per
    materialisation, check result and step: ~600 for a daily run). Closing the last connection to a database in
    WAL mode checkpoints it and removes its log, with a sync to disk, for every event. A connection held open
    elsewhere (this one) keeps that for the end: a run shard's file appears when its run starts, so the folder is
    looked at twice a second. Idle connections hold no lock: the webserver and daemon read and write as before."""

    def __init__(self, folder: Path) -> None:
        super().__init__(name="innostat-sqlite-kept-open", daemon=True)
        self.folder = folder
        self.held: dict[Path, sqlite3.Connection] = {}
        self.stopped = threading.Event()
        # the shards of earlier runs (one file a run, thousands in a year) are left alone
        self.earlier = {path for path in folder.glob("*.db") if path.name != "index.db"}

    def run(self) -> None:
        while not self.stopped.is_set():
            for path in [self.folder.parent / "runs.db", *self.folder.glob("*.db")]:
                if path not in self.held and path not in self.earlier and path.exists():
                    with contextlib.suppress(sqlite3.Error):
                        connection = sqlite3.connect(path, check_same_thread=False)
                        connection.execute("select count(*) from sqlite_master").fetchone()  # joins the WAL
                        self.held[path] = connection
            self.stopped.wait(0.5)

    def close(self) -> None:
        self.stopped.set()
        self.join(timeout=5)
        for connection in self.held.values():
            with contextlib.suppress(sqlite3.Error):
                connection.close()


@contextmanager
def _sqlite_kept_open(instance: dg.DagsterInstance) -> Iterator[None]:
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    folder = getattr(instance.event_log_storage, "_base_dir", None)  # where its run shards and index live
    if not isinstance(instance.event_log_storage, SqliteEventLogStorage) or folder is None:
        yield
        return
    kept = _KeptOpen(Path(folder))
    kept.start()
    try:
        yield
    finally:
        kept.close()


@contextmanager
def cli_instance() -> Iterator[dg.DagsterInstance]:
    """The instance of a command-line run: persistent under $DAGSTER_HOME (created from the template when
    missing), else ephemeral. Runs executed in it show in the Dagster UI of the same DAGSTER_HOME. Pool slots
    left by a run killed outright are freed first (`release_dead_runs`)."""
    home = dagster_home()
    if home is None:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    ensure_dagster_home(home)
    os.environ["DAGSTER_HOME"] = str(home)  # absolute from now on, for Dagster's own lookups in this process
    with dg.DagsterInstance.get() as instance, _sqlite_kept_open(instance):
        release_dead_runs(instance)
        yield instance
