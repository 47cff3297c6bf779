"""dbt models as Dagster assets, built from the manifest that `dbt parse` writes (no database needed).

Raw sources map onto the ingestion assets' keys (`raw/<table>`), models onto `<schema>/<name>`, so lineage runs
from the landing zone to the marts. dbt tests are asset checks. A build is two dbt invocations, split by dbt tags:
`dbt_base` (seeds, statistics, R&D filings, untagged; left out of a run when its inputs did not change, see
lib/build_inputs.py) and `dbt_monthly`: government services and security (tag `monthly`: partitioned by month
and incremental, the partition range reaching dbt as INNOSTAT_MIN_MONTH/MAX_MONTH), then what is rebuilt whole
on every run (tag `final`: indicator_values, which stacks every area, and the ledger and quarantine marts).
The `final` models share the monthly invocation, so they carry its month partitions in Dagster: a daily run
pays dbt's start (imports, manifest, ~3 s) once, not twice. Both write the same working file, never the
published one.
"""

import os
import shutil
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.defs.partitions import WINDOW_END, WINDOW_START, monthly_partitions_for
from pipelines.defs.resources import WarehouseResource
from pipelines.defs.transform.dbt_launcher import PARENT_PID_ENV
from pipelines.defs.transform.dbt_output import prints_every_dbt_line, quiet_dagster_info, summarised
from pipelines.defs.transform.dbt_project import dbt_project
from pipelines.lib.build_inputs import BASE_GROUP, base_fingerprint, record_fingerprint
from pipelines.lib.settings import MONTH_WINDOW_ENV, Settings
from pipelines.lib.warehouse import ensure_build_prepared

LOCK_ERRORS = ("Could not set lock on file", "Conflicting lock is held")


class InnostatTranslator(DagsterDbtTranslator):
    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # the raw layer; or the release tables the publish step writes (source `publish`, schema marts)
            layer = "marts" if dbt_resource_props.get("source_name") == "publish" else "raw"
            return dg.AssetKey([layer, dbt_resource_props["name"]])
        schema = dbt_resource_props.get("config", {}).get("schema") or "main"
        return dg.AssetKey([schema, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return domain_of(dbt_resource_props)


def domain_of(dbt_resource_props: Mapping[str, Any]) -> str:
    """The Dagster group of a dbt node: its domain, the folder under its layer (`models/staging/security/…` →
    `security`, `models/marts/indicators/…` → `indicators`), so staging, intermediate and marts of a feed sit in
    one group beside the feed's raw tables (defs/ingestion.py); seeds, the lookups every domain shares, are
    `core`, as is any model outside a domain folder."""
    parts = Path(dbt_resource_props.get("original_file_path") or "").parts
    if len(parts) > 3 and parts[0] == "models":
        return parts[2]
    return "core"


TRANSLATOR = InnostatTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def failed_dbt_nodes(invocation) -> str:
    """Name every failed model or test with dbt's message, so the operator knows what to fix."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except Exception:  # no artifact when dbt could not even start
        return "see the dbt output above"
    failed = [
        f"{r['unique_id'].split('.')[2]} ({r['status']}: {(r.get('message') or '').strip()[:300]})"
        for r in results
        if r["status"] in ("error", "fail")
    ]
    return "; ".join(failed) or "see the dbt output above"


def share_partial_parse(target_path: Path) -> None:
    """Offer this invocation's parse to the next one.

    dagster-dbt gives every invocation its own target folder, seeded with `dbt_project/target/partial_parse.msgpack`.
    That file comes from `dbt parse` without a build path, and dbt parses everything again (~10 s) when the profile
    differs — which it does in every run, since the profile names the warehouse's build file. Handing the parse of a
    run's first invocation to the next lets dbt skip parsing whenever profile and vars match (dbt checks that
    itself, so a parse from another warehouse only costs the full parse it would have done anyway). No invocation
    passes --vars (the month window travels as environment variables), so all of a run's invocations match.
    """
    produced = target_path / "partial_parse.msgpack"
    if not produced.exists():
        return
    shared = dbt_project.project_dir / "target" / "partial_parse.msgpack"
    tmp = shared.with_name(f".{shared.name}.{os.getpid()}.tmp")
    shutil.copyfile(produced, tmp)
    os.replace(tmp, shared)  # atomic: a concurrent reader copies the old file or the new one


KEEP_INVOCATION_TARGETS = 30  # the newest dbt target folders kept for debugging (a day of runs, and more)
_INVOCATION_PREFIXES = ("dbt_base-", "dbt_monthly-", "dbt_final-")  # dbt_final: the step before 2026-12


def prune_invocation_targets(target_dir: Path, keep: int = KEEP_INVOCATION_TARGETS, min_age_s: float = 86_400) -> int:
    """Remove old per-invocation target folders; returns how many.

    dagster-dbt writes each invocation's manifest, run results and compiled SQL to a folder of its own
    (`target/<step>-<run>-<id>/`, about 7 MB): three a run, a thousand a year of daily runs. The newest `keep`
    stay, and so does anything younger than `min_age_s` (a run of another warehouse may be using it right now).
    """
    if not target_dir.is_dir():
        return 0
    folders = [p for p in target_dir.iterdir() if p.is_dir() and p.name.startswith(_INVOCATION_PREFIXES)]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    removed = 0
    for folder in folders[keep:]:
        if now - folder.stat().st_mtime >= min_age_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


@contextmanager
def dbt_environment(settings: Settings, window: tuple[str, str] | None):
    """The variables dbt's profile and macros read (`Settings.dbt_env`: the build file, the raw layer, the demo
    mark, the month window; None: all months), for the dbt process started inside, and this process's own values
    put back afterwards. dagster-dbt hands dbt a copy of this process's environment and takes no other, so this
    is the one place the settings become environment variables."""
    wanted = {**settings.dbt_env(window), PARENT_PID_ENV: str(os.getpid())}  # for `innostat-dbt`
    names = {*wanted, *MONTH_WINDOW_ENV}  # a window left over from an earlier step never reaches dbt
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def month_window_of_build(settings: Settings, months: tuple[str, str]) -> tuple[str, str] | None:
    """The month window dbt gets: the run's months, or None on a first build (nothing published yet).

    A first build starts from an empty file, so every incremental model is built whole whatever the window; the
    window would only narrow its tests to the "rebuilt rows" (macros/rebuilt_rows.sql), which are all rows, and
    finding them by key looked up every event id among every event id (13 s of a city's first build)."""
    return months if settings.warehouse.exists() else None


def _run_dbt(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    args: list[str],
    window: tuple[str, str] | None = None,
):
    """dbt build into this run's working file; a DuckDB lock held by another process is retried with backoff."""
    settings = warehouse.settings
    with dbt_environment(settings, window):
        yield from _run_dbt_build(context, dbt, settings, args)


def _run_dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource, settings: Settings, args):
    ensure_build_prepared(settings, context.run.run_id)
    if settings.full_refresh:
        args = [*args, "--full-refresh"]
    # dbt unit tests check the SQL, not the data: they run in CI (tests/dbt), not in every production build
    command = ["build", "--exclude-resource-type", "unit_test", *args]
    if prints_every_dbt_line(context):
        invocation = dbt.cli(command, context=context, raise_on_error=False)
        yield from invocation.stream()
    else:  # `innostat run` below --log-level debug: a progress line and a summary
        with quiet_dagster_info():
            invocation = dbt.cli(command, context=context, raise_on_error=False)
            yield from summarised(invocation.stream(), context.op_def.name)
    share_partial_parse(invocation.target_path)
    prune_invocation_targets(dbt_project.project_dir / "target")
    if not invocation.is_successful():
        failed = failed_dbt_nodes(invocation)
        if any(marker in failed for marker in LOCK_ERRORS):
            raise dg.RetryRequested(max_retries=4, seconds_to_wait=5 * 2**context.retry_number) from None
        raise dg.Failure(description=f"dbt build failed: {failed}")


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    exclude="tag:monthly tag:final",
    name="dbt_base",
    pool="warehouse",
)
def dbt_base(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Seeds, statistics and R&D filings: small, rebuilt in full when a run needs them (lib/build_inputs.py)."""
    # Taken before dbt reads anything: a file landing meanwhile makes the next run's fingerprint differ.
    fingerprint = base_fingerprint(warehouse.settings)
    yield from _run_dbt(context, dbt, warehouse, [])
    record_fingerprint(warehouse.settings.build_path, BASE_GROUP, fingerprint, context.run.run_id)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
    select="tag:monthly tag:final",
    name="dbt_monthly",
    partitions_def=monthly_partitions_for(None),  # the warehouse's own: `with_month_partitions`
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="warehouse",
)
def dbt_monthly(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Government-service and security facts (only the months of the run's partition range are recomputed), then
    marts.indicator_values (every area's indicators stacked) and the ledger and quarantine of every feed."""
    partitions = context.partition_key_range
    tags = context.run.tags
    # `innostat run`, `backfill` and the sensor name the months to rebuild, also outside the partitions
    months = (tags.get(WINDOW_START, partitions.start), tags.get(WINDOW_END, partitions.end))
    window = month_window_of_build(warehouse.settings, months)
    if window is None:
        context.log.info(f"first build ({months[0]} … {months[1]}): every model whole, no month window")
    else:
        context.log.info(f"incremental month window {window[0]} … {window[1]}")
    yield from _run_dbt(context, dbt, warehouse, [], window)


DBT_ASSETS = [dbt_base, dbt_monthly]


def with_month_partitions(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The dbt assets with the month partitions of one warehouse (`defs/partitions.monthly_partitions`): its
    months are known only when the definitions are built for it, while the assets' keys, checks and code are the
    same for every warehouse."""
    return [dbt_base, dbt_monthly.map_asset_specs(lambda spec: spec.replace_attributes(partitions_def=partitions))]
