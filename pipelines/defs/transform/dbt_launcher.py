"""`innostat-dbt`: the dbt executable that dagster-dbt starts (`DbtCliResource(dbt_executable=…)`, a public option).

It stands in front of this environment's `dbt` for two reasons (benchmarks/CHANGELOG.md, fifth round):

- `innostat-dbt --version` answers from the installed dbt-core's metadata, without starting dbt: dagster-dbt asks
  the executable's version before every dbt step, and a whole dbt start for it cost 3 s of each daily run.
- Anything else: the process asks Linux to SIGKILL it when the process that started it dies (PR_SET_PDEATHSIG,
  kept across `exec`), then becomes `dbt` with the same arguments. A killed `innostat run` or Dagster run worker
  then leaves no dbt writing a build file that the next run is about to remove or replace.

Light on purpose: it imports nothing of Dagster or dbt, so it adds a Python start (~30 ms) to a dbt step.
"""

from __future__ import annotations

import ctypes
import os
import sys
from importlib import metadata
from pathlib import Path

PARENT_PID_ENV = "INNOSTAT_DBT_PARENT_PID"  # the process that started this one (defs/transform/assets.py)
_PR_SET_PDEATHSIG = 1
_SIGKILL = 9


def version_text() -> str:
    """What `dbt --version` says first, the line dagster-dbt reads the version from."""
    return f"Core:\n  - installed: {metadata.version('dbt-core')}\n"


def die_with_parent() -> None:
    """SIGKILL this process (and the dbt it becomes) when its parent dies; exit at once if the parent named in
    INNOSTAT_DBT_PARENT_PID is already gone (it died between starting this process and the prctl). Linux only."""
    if not sys.platform.startswith("linux"):
        return
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, _SIGKILL, 0, 0, 0)
    expected = os.environ.get(PARENT_PID_ENV, "").strip()
    if expected.isdigit() and os.getppid() != int(expected):
        os._exit(1)


def dbt_path() -> Path:
    """This environment's dbt, beside the Python running this script (also when the environment is not active)."""
    return Path(sys.executable).with_name("dbt")


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        sys.stdout.write(version_text())
        return
    die_with_parent()
    dbt = dbt_path()
    os.execv(dbt, [str(dbt), *args])


if __name__ == "__main__":
    main()
