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

import os
import shutil
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


@contextmanager
def cli_instance() -> Iterator[dg.DagsterInstance]:
    """The instance of a command-line run: persistent under $DAGSTER_HOME (created from the template when
    missing), else ephemeral. Runs executed in it show in the Dagster UI of the same DAGSTER_HOME."""
    home = dagster_home()
    if home is None:
        with dg.DagsterInstance.ephemeral() as instance:
            yield instance
        return
    ensure_dagster_home(home)
    os.environ["DAGSTER_HOME"] = str(home)  # absolute from now on, for Dagster's own lookups in this process
    with dg.DagsterInstance.get() as instance:
        yield instance
