"""The dbt CLI resource: dagster-dbt's, started through `innostat-dbt` (defs/transform/dbt_launcher.py), with no
dbt adapter in the run's process.

Everything here goes through dagster-dbt's public options but one: `_initialize_dbt_core_adapter`, a private
method, is overridden, because dagster-dbt offers no public way to leave it out. dagster-dbt builds a dbt adapter
in the run's process before every dbt step (1.1 s: dbt's config, profile and macros loaded here) only to fetch row
counts and column metadata, which this project does not ask for (`fetch_row_counts`, `fetch_column_metadata`).
tests/operations/test_dbt_targets.py fails when a dagster-dbt upgrade no longer calls the method by that name, so
the override never goes stale silently; drop it when dagster-dbt offers a switch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from dagster_dbt import DbtCliResource

from pipelines.defs.transform.dbt_project import dbt_project

LAUNCHER = "innostat-dbt"  # [project.scripts] in pyproject.toml


class LocalDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI with no in-process dbt adapter (see the module docstring)."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No in-process dbt adapter: this project fetches no row counts or column metadata. Without it, dbt's
        events also stream as dbt runs instead of after it (benchmarks/CHANGELOG.md, seventh round)."""
        return None


def launcher_path() -> Path:
    """`innostat-dbt` of this environment, also when the caller did not activate it (cron, CI, a full path)."""
    return Path(sys.executable).with_name(LAUNCHER)


def dbt_resource() -> LocalDbtCliResource:
    return LocalDbtCliResource(
        project_dir=dbt_project,
        profiles_dir=str(dbt_project.project_dir),
        dbt_executable=str(launcher_path()),
    )
