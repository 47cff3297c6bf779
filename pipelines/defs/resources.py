"""Resources shared by every domain: where the landing zone and warehouse are, and the dbt CLI."""

import subprocess
import sys
from collections.abc import Sequence
from functools import cached_property
from importlib import metadata
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dbt.core import dbt_cli_invocation
from packaging import version

from pipelines.defs.transform.dbt_project import dbt_project
from pipelines.lib.pseudonymise import Pseudonymiser, load_key
from pipelines.lib.run_lock import describe, die_with_parent, warehouse_lock
from pipelines.lib.settings import DEFAULT_DBT_TARGET, Settings


class WarehouseResource(dg.ConfigurableResource):
    """The run's `Settings` as Dagster carries them: the landing zone, the published warehouse path (all state
    lives in `<warehouse>.state/`) and the run's switches. Built from the settings by `resources_for`; a run's
    config may set them too."""

    landing: str
    warehouse: str
    demo: bool = False
    full_refresh: bool = False
    dbt_target: str = DEFAULT_DBT_TARGET

    @classmethod
    def from_settings(cls, settings: Settings) -> "WarehouseResource":
        return cls(
            landing=str(settings.landing),
            warehouse=str(settings.warehouse),
            demo=settings.demo,
            full_refresh=settings.full_refresh,
            dbt_target=settings.dbt_target,
        )

    @property
    def settings(self) -> Settings:
        return Settings(
            landing=Path(self.landing).expanduser().resolve(),
            warehouse=Path(self.warehouse).expanduser().resolve(),
            demo=self.demo,
            full_refresh=self.full_refresh,
            dbt_target=self.dbt_target,
        )

    def pseudonymiser(self) -> Pseudonymiser:
        return Pseudonymiser(load_key(demo=self.demo, demo_key_path=self.settings.state_dir / "demo_pii.key"))


@dg.resource(required_resource_keys={"warehouse"})
def run_lock(context: dg.InitResourceContext):
    """The warehouse's run lock (lib/run_lock.py), held for the whole of a build run: a second run, Dagster's or
    `innostat run`, fails at its start with a message naming the holder. Inside `innostat run`, which holds the
    lock already, it only counts. (What a failed build left is overwritten by the first dbt step's copy.)"""
    settings = context.resources.warehouse.settings
    run = context.run
    command = f"dagster run {run.run_id} ({run.job_name})" if run else "dagster"

    def taken_over(left: dict) -> None:
        context.log.warning(f"the previous run ({describe(left)}) ended without releasing the lock; taking over")

    # Steps run in the run's one process (the jobs' in_process_executor), so this is once per run; a multiprocess
    # run (assets materialised from the UI) takes it per step.
    with warehouse_lock(settings, command, on_takeover=taken_over) as held:
        yield held


class LocalDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI, told the dbt version instead of asking, and with no in-process dbt adapter.

    dagster-dbt runs `dbt --version` in a subprocess before every dbt step to learn it: a whole dbt start, 3 s
    of each daily run at city size (benchmarks/RESULTS.md, fifth round). The executable is this environment's
    dbt (`default_resources`), so its version is the installed dbt-core's (tests/operations/test_dbt_targets.py
    checks the two agree).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        """No in-process dbt adapter. dagster-dbt builds one before every dbt step (1.1 s: dbt's config, profile
        and macros loaded in this process) only to fetch row counts and column metadata, which this project does
        not ask for (`fetch_row_counts`, `fetch_column_metadata`); without it, dbt's events also stream as dbt
        runs instead of after it (benchmarks/RESULTS.md, seventh round)."""
        return None


class _SubprocessDyingWithParent:
    """The `subprocess` module as dagster-dbt's invocation module sees it: every dbt process it starts gets
    SIGKILL when the process that started it dies (lib/run_lock.die_with_parent). A killed `innostat run` or
    Dagster run worker then leaves no dbt writing a build file that the next run is about to remove or replace."""

    def __getattr__(self, name: str):
        return getattr(subprocess, name)

    @staticmethod
    def Popen(*args, **kwargs):  # the name dagster-dbt calls
        kwargs.setdefault("preexec_fn", die_with_parent())
        return subprocess.Popen(*args, **kwargs)


dbt_cli_invocation.subprocess = _SubprocessDyingWithParent()


def resources_for(settings: Settings) -> dict:
    """The resources of a code location or a run over the warehouse of `settings`."""
    return {
        "warehouse": WarehouseResource.from_settings(settings),
        # dbt from this environment, also when the caller did not activate it (cron, CI, a full path)
        "dbt": LocalDbtCliResource(
            project_dir=dbt_project,
            profiles_dir=str(dbt_project.project_dir),
            dbt_executable=str(Path(sys.executable).parent / "dbt"),
        ),
        "run_lock": run_lock,
    }
