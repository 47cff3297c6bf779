"""What the `innostat` commands do, over one typed `Settings`: run, backfill, rollback, ingest-only, demo.

The command line (`pipelines/cli.py`) parses the flags into a `Settings` and the options below, calls one of
these, and turns its result into an exit code. This module runs the project's Dagster jobs in process, over
definitions built for the given settings (`pipelines.definitions.build_definitions`): the settings reach the
assets as resources, never through this process's environment.

- `run_pipeline`: ingest, then build, check and publish what the published warehouse lacks;
- `backfill`: rebuild a month range of the monthly facts, then publish;
- `ingest_only`, `rollback`, `demo`, `generate_sample`;
- `list_releases`, `release_notes`: what the published file records of its releases (pipelines/publish/).

Each takes the warehouse's run lock (`exclusive`) and returns one of the EXIT_* codes; an argument that parsed but
cannot be used raises `UsageError`.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from pipelines.lib.feeds import RAW_TABLES, ledger_dir
from pipelines.lib.settings import DBT_PROJECT_DIR, Settings
from pipelines.lib.warehouse import adopt_staged_build, stage_build_copy
from pipelines.quality.process import checks_in_own_process

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BUSY = 3  # another run holds the warehouse (lib/run_lock.py)


class UsageError(Exception):
    """An argument that parsed but cannot be used (a month outside the data …): exit 2 with the message."""


@dataclass(frozen=True)
class RunOptions:
    """How a run reports: Dagster's console log level, and where `--timings` writes the seconds of each phase.
    What it runs over is the `Settings`."""

    log_level: str = "WARNING"
    timings: str | None = None


@dataclass(frozen=True)
class SampleOptions:
    """What `innostat generate` needs; `demo` generates with it too."""

    out: str
    seed: int = 20200101
    scale: float = 1.0
    years: tuple[int, int] = (2019, 2022)
    manifest: str | None = None


def say(message: str) -> None:
    print(f"[innostat] {message}", flush=True)


def ensure_dbt_manifest() -> Path:
    """`dbt parse` when the manifest is missing or older than any model, macro, seed or config file."""
    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    sources = [
        p
        for folder in ("models", "macros", "seeds", "tests")
        for p in (DBT_PROJECT_DIR / folder).rglob("*")
        if p.is_file()
    ] + [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    newest = max((p.stat().st_mtime for p in sources), default=0)
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return manifest
    say("dbt parse (the model files changed since the last manifest)")
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(
        ["parse", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"]
    )
    if not result.success:
        raise SystemExit(f"dbt parse failed: {result.exception}; run `cd dbt_project && dbt parse` to see why")
    return manifest


def generate_sample(options: SampleOptions) -> int:
    from pipelines.generate import generate_landing

    out = Path(options.out)
    started = time.monotonic()
    manifest = generate_landing(out, seed=options.seed, scale=options.scale, years=options.years, progress=say)
    if options.manifest:
        Path(options.manifest).parent.mkdir(parents=True, exist_ok=True)
        Path(options.manifest).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    files = manifest.get("files", {})
    say(f"wrote {sum(files.values())} files to {out} in {time.monotonic() - started:.1f} s: {files}")
    return EXIT_OK


def check_pii_key(settings: Settings) -> int | None:
    """EXIT_USAGE, saying why, when the warehouse's key is not at hand (`settings.demo`: its demo key may be)."""
    from pipelines.lib.pseudonymise import PiiKeyMissing, warehouse_key

    try:
        warehouse_key(settings.state_dir, demo=settings.demo)  # none set outside a demo, or not the warehouse's key
    except PiiKeyMissing as err:
        print(f"innostat: {err}", file=sys.stderr)
        if (settings.state_dir / "demo_pii.key").exists():
            print(
                f"  This warehouse was built by `make demo` with the demo key {settings.state_dir / 'demo_pii.key'}:"
                " to go on with the demo, add --demo (`innostat run --demo`, or `make run DEMO=1`).",
                file=sys.stderr,
            )
        return EXIT_USAGE
    return None


# --- the run lock ---------------------------------------------------------------------------------------------


def exclusive(settings: Settings, command: str, body: Callable[[], int], clean: bool = True) -> int:
    """`body()` holding the warehouse's run lock (lib/run_lock.py); EXIT_BUSY, naming the holder, when another
    run holds it. A run first removes what a failed run left half-built (a full disk frees itself)."""
    from pipelines.lib.run_lock import WarehouseBusy, describe, warehouse_lock
    from pipelines.lib.warehouse import clean_failed_build

    def taken_over(left: dict) -> None:
        say(f"the previous run ({describe(left)}) ended without releasing the warehouse; taking it over")

    try:
        with warehouse_lock(settings, f"innostat {command}", on_takeover=taken_over):
            if clean and (removed := clean_failed_build(settings)):
                say(f"removed what a failed run left: {', '.join(removed)}")
            return body()
    except WarehouseBusy as err:
        print(f"innostat: {err}", file=sys.stderr)
        return EXIT_BUSY


# --- ingest only ----------------------------------------------------------------------------------------------


def ingest_only(settings: Settings, tables: list[str] | None = None) -> int:
    """Ingest new files of `tables` (default: every raw table) into the raw layer; no build, no publish."""
    from pipelines.lib.pseudonymise import Pseudonymiser, warehouse_key

    if not settings.landing.is_dir():
        raise UsageError(f"the landing zone {settings.landing} does not exist; pass --landing or set INNOSTAT_LANDING")
    if (code := check_pii_key(settings)) is not None:
        return code
    pseudonymiser = Pseudonymiser(warehouse_key(settings.state_dir, demo=settings.demo))
    tables = tables or list(RAW_TABLES)
    return exclusive(settings, "ingest", lambda: _ingest(settings, pseudonymiser, tables), clean=False)


def _ingest(settings: Settings, pseudonymiser, tables: list[str]) -> int:
    from pipelines.ingest.runner import ingest_table

    failed = False
    for number, table in enumerate(tables, start=1):
        say(f"[{number}/{len(tables)}] ingesting {table} from {settings.landing}")
        report = ingest_table(
            table, settings.landing, settings.raw_dir, pseudonymiser, progress=say, settings=settings.ingest
        )
        for source_file, error in report.errors:
            print(f"innostat: {table}: {source_file}: unexpected error: {error}", file=sys.stderr)
            failed = True
    return EXIT_FAILED if failed else EXIT_OK


# --- what a Dagster run did -----------------------------------------------------------------------------------


def failure_messages(result) -> list[str]:
    """Readable reasons a Dagster run failed: failed steps with their errors, and failed blocking checks with
    their description (a Great Expectations check names the table, the expectation and sample values).
    Checks that warned are listed after the failures, but only when the run failed: a warning never fails a run."""
    messages, warned = [], []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            if error and error.cls_name == "DagsterAssetCheckFailedError":
                continue  # the failed checks themselves are listed below, with what they found
            text = error.message.strip() if error else "unknown error"
            if error and error.cause:
                text += f" (caused by: {error.cause.message.strip()})"
            messages.append(f"step {event.step_key} failed: {text}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.passed:
                continue
            where = f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
            detail = f": {evaluation.description}" if evaluation.description else ""
            # warnings (freshness, year-over-year bands) are reported by warnings(), they never fail a run
            if evaluation.severity.value == "ERROR":
                messages.append(f"{where} failed{detail}")
            else:
                warned.append(f"{where} warned{detail}")
    return messages + warned if not result.success else messages


def warnings(result) -> list[str]:
    """Checks that failed with severity WARN: shown, never blocking."""
    found = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "WARN":
                detail = evaluation.description or ""
                found.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} {detail}".strip())
    return found


def step_seconds(instance, run_id: str) -> dict[str, float]:
    """Wall seconds of every step of a finished run (ingest per feed, each dbt group, checks, publish), from the
    step start and end events in the instance's event log."""
    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and event.step_key in started:
            seconds[event.step_key] = round(entry.timestamp - started[event.step_key], 3)
    return seconds


class Timings:
    """`--timings FILE`: phases and steps of a run as JSON, for the benchmark (benchmarks/run.py)."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.phases: dict[str, float] = {}
        self.steps: dict[str, float] = {}
        self._mark = time.monotonic()

    def phase(self, name: str, instance=None, result=None) -> None:
        now = time.monotonic()
        self.phases[name] = round(now - self._mark, 3)
        self._mark = now
        if result is not None:
            self.steps.update(step_seconds(instance, result.run_id))

    def write(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"phases": self.phases, "steps": self.steps}, indent=1))


def _report_failure(result, started: float) -> int:
    print(
        f"innostat: run failed after {time.monotonic() - started:.1f} s; the published warehouse was left as it was.",
        file=sys.stderr,
    )
    for message in failure_messages(result) or ["the run failed without a step failure; see the log above"]:
        print(f"  - {message}", file=sys.stderr)
    return EXIT_FAILED


def ingest_summary(raw_dir: Path, run_id: str) -> list[str]:
    """One line per raw table that took files in this ingest run: files, rows loaded, rows quarantined, files
    rejected whole; or one line saying nothing new came."""
    import duckdb

    ledger = [str(p) for p in ledger_dir(raw_dir).glob("*.parquet")]
    rows = []
    if ledger:
        con = duckdb.connect()
        try:
            rows = con.execute(
                """select split_part(parse_filename(filename, true), '-', 1) as raw_table, count(*),
                          coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0),
                          count(*) filter (where status = 'rejected'),
                          count(*) filter (where status = 'duplicate')
                   from read_parquet(?, filename = true, union_by_name = true)
                   where run_id = ?
                   group by all order by raw_table""",
                [ledger, run_id],
            ).fetchall()
        finally:
            con.close()
    if not rows:
        return ["ingested: no new file in the landing zone"]
    return [
        f"ingested {table}: {files} file(s), {loaded:,} rows loaded, {quarantined:,} quarantined"
        + (f", {rejected} file(s) rejected whole (marts.ingest_ledger says why)" if rejected else "")
        + (f", {duplicates} re-sent copy(ies) of files already in (nothing added)" if duplicates else "")
        for table, files, loaded, quarantined, rejected, duplicates in rows
    ]


# --- Dagster in this process ----------------------------------------------------------------------------------


def _execute(definitions, job_name: str, instance, log_level: str, tags=None, run_id=None, selection=None):
    """Run a job of `definitions` in this process; `selection` (a dg.AssetSelection) narrows it to some of its
    assets. The definitions are built once per command (`build_definitions`): building them again for a run's
    second job cost ~1 s (dbt manifest, month partitions)."""
    job = definitions.resolve_job_def(job_name)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_id=run_id,
        asset_selection=None if selection is None else list(selection.resolve(definitions.resolve_asset_graph())),
        tags=tags or {},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )


def _build(settings: Settings, definitions, build, options: RunOptions, instance, started: float, timings, run_id=None):
    """Run the build job as `build` (a `defs/operations/automation.BuildRun`) planned it, and report."""
    from pipelines.defs.jobs import BUILD_JOB_NAME
    from pipelines.defs.operations.automation import RANGE_END, RANGE_START

    say(f"[2/2] build, check and publish (monthly facts for {build.tags[RANGE_START]} … {build.tags[RANGE_END]})")
    if build.keep_base:
        say("statistics and R&D models kept from the published warehouse: no new file of theirs, no code change")
    result = _execute(definitions, BUILD_JOB_NAME, instance, options.log_level, build.tags, run_id, build.selection)
    timings.phase("build_and_publish", instance, result)
    timings.write()
    if not result.success or failure_messages(result):
        return _report_failure(result, started)
    from pipelines.publish.releases import current_release

    release = current_release(settings.warehouse)
    what = (
        f"release {release.release_id} ({release.values_added} values added, {release.values_revised} revised, "
        f"{release.values_removed} removed; `innostat release-notes` tells which)"
        if release
        else "it"
    )
    say(f"published {what} to {settings.warehouse} in {time.monotonic() - started:.1f} s")
    return EXIT_OK


def _prepare(settings: Settings, *, ingests: bool = True) -> Settings | int:
    """The settings a run goes with (a warehouse holding sample data stays a demo), or the exit code that stops
    it: no landing zone, or no key for the warehouse."""
    if ingests and not settings.landing.is_dir():
        print(
            f"innostat: the landing zone {settings.landing} does not exist; "
            "create it, or generate one with `innostat generate --out DIR`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if ingests and (code := check_pii_key(settings)) is not None:
        return code
    ensure_dbt_manifest()
    return settings.with_demo_data()


class _BuildCopy:
    """`stage_build_copy` in a thread. A copy that failed (disk full …) gives None: the build's first dbt step
    then copies again itself, and reports the error."""

    def __init__(self, settings: Settings) -> None:
        self.staged: Path | None = None
        self.thread = threading.Thread(target=self._copy, args=(settings,), name="stage-build", daemon=True)
        self.thread.start()

    def _copy(self, settings: Settings) -> None:
        with contextlib.suppress(OSError):
            self.staged = stage_build_copy(settings)

    def result(self) -> Path | None:
        self.thread.join()
        return self.staged


# --- run ------------------------------------------------------------------------------------------------------


def run_pipeline(settings: Settings, options: RunOptions = RunOptions()) -> int:
    """Ingest, build, check and publish: `innostat run`, and the pipeline part of `innostat demo`."""
    prepared = _prepare(settings)
    if isinstance(prepared, int):
        return prepared
    settings = prepared
    say(f"run: landing {settings.landing} → warehouse {settings.warehouse}")
    started = time.monotonic()
    timings = Timings(options.timings)
    # Started before Dagster is imported: it imports Great Expectations on the other core meanwhile.
    return exclusive(settings, "run", lambda: _checked_run(settings, options, started, timings))


def _checked_run(settings: Settings, options: RunOptions, started: float, timings: Timings) -> int:
    with checks_in_own_process(settings.quality):
        return _run(settings, options, started, timings)


def _run(settings: Settings, options: RunOptions, started: float, timings: Timings) -> int:
    from pipelines.definitions import build_definitions
    from pipelines.defs.jobs import INGEST_JOB_NAME
    from pipelines.defs.operations.automation import build_partitions, planned_build
    from pipelines.instance import cli_instance
    from pipelines.lib.build_inputs import nothing_new
    from pipelines.lib.months import plan_build
    from pipelines.publish.releases import current_release

    timings.phase("start")
    build_run_id = str(uuid.uuid4())
    # The build starts from a copy of the published file (seconds at a city's size): staged while ingestion runs.
    staging = _BuildCopy(settings)
    with cli_instance() as instance:
        say("[1/2] ingest new files of every feed")
        definitions = build_definitions(settings)
        ingested = _execute(definitions, INGEST_JOB_NAME, instance, options.log_level)
        staged = staging.result()
        timings.phase("ingest", instance, ingested)
        if not ingested.success or failure_messages(ingested):
            if staged is not None:
                staged.unlink(missing_ok=True)
            return _report_failure(ingested, started)
        for line in ingest_summary(settings.raw_dir, ingested.run_id):
            say(line)
        for warning in warnings(ingested):
            say(f"warning: {warning}")
        # The months the published warehouse lacks (this run's files, and any an earlier run ingested but did not
        # publish); a first build (or --full-refresh) covers all. The plan is recorded for the publish step,
        # as the build sensor does (`planned_build`).
        plan = plan_build(settings, full=settings.full_refresh)
        if nothing_new(settings, plan.pending):
            # The staged copy stays where it is: the next run's copy starts from it (lib/warehouse.py).
            timings.phase("plan")
            timings.write()
            release = current_release(settings.warehouse)
            say(
                "nothing new: the published warehouse holds every file ingested (a re-sent copy adds nothing) and "
                "was built by today's code and parameters ("
                + (f"release {release.release_id}" if release else "the last publish")
                + f"); {settings.warehouse} is left as it was, no release"
            )
            return EXIT_OK
        if staged is not None:
            adopt_staged_build(settings, staged, build_run_id)
        build = planned_build(settings, build_partitions(definitions), plan, build_run_id)
        timings.phase("plan")
        return _build(settings, definitions, build, options, instance, started, timings, build_run_id)


# --- backfill -------------------------------------------------------------------------------------------------


def backfill(settings: Settings, requested: tuple[str, str], options: RunOptions = RunOptions()) -> int:
    """Rebuild a month range of the monthly facts (and everything downstream), then publish. No ingestion: no
    personal value is read, no key is needed."""
    if requested[0] > requested[1]:
        raise UsageError(f"--from {requested[0]} is after --to {requested[1]}")
    # the range is checked against the data under the run lock: another run may be adding months meanwhile
    return exclusive(settings, "backfill", lambda: _backfill(settings, options, requested))


def _backfill(settings: Settings, options: RunOptions, requested: tuple[str, str]) -> int:
    from pipelines.definitions import build_definitions
    from pipelines.defs.operations.automation import build_partitions, window_build
    from pipelines.instance import cli_instance
    from pipelines.lib.months import touched_months

    if not settings.warehouse.exists():
        raise UsageError(f"nothing is published at {settings.warehouse} yet; run `innostat run` first")
    span = touched_months(settings.raw_dir)
    if span is None or requested[1] < span[0] or requested[0] > span[1]:
        held = f"{span[0]} … {span[1]}" if span else "no monthly rows"
        raise UsageError(
            f"no monthly data in {requested[0]} … {requested[1]}: the raw layer of {settings.warehouse} holds {held}"
        )
    prepared = _prepare(settings, ingests=False)
    if isinstance(prepared, int):
        return prepared
    settings = prepared
    timings = Timings(options.timings)
    window = (max(requested[0], span[0]), min(requested[1], span[1]))
    with checks_in_own_process(settings.quality), cli_instance() as instance:
        definitions = build_definitions(settings)
        build = window_build(settings, build_partitions(definitions), window)
        return _build(settings, definitions, build, options, instance, time.monotonic(), timings)


# --- rollback, demo -------------------------------------------------------------------------------------------


def rollback(settings: Settings) -> int:
    """Put the previously published warehouse back (atomic; a second rollback undoes the first)."""
    from pipelines.lib.warehouse import PublishError
    from pipelines.lib.warehouse import rollback as swap_back
    from pipelines.publish.releases import current_release

    def named(release) -> str:
        return f"release {release.release_id} (published {release.published_at:%Y-%m-%d %H:%M})" if release else ""

    def swap() -> int:
        withdrawn = current_release(settings.warehouse)
        try:
            path = swap_back(settings)
        except PublishError as err:
            print(f"innostat: {err}", file=sys.stderr)
            return EXIT_FAILED
        restored = current_release(path)
        say(
            f"rolled back: {path} publishes {named(restored) or 'the publish before (it records no release)'} "
            f"again; {named(withdrawn) or 'the publish it replaced'} is withdrawn "
            "(run rollback again to undo; the next publish takes a new release id, never a withdrawn one)"
        )
        return EXIT_OK

    return exclusive(settings, "rollback", swap, clean=False)


# --- releases -------------------------------------------------------------------------------------------------


def _published(settings: Settings) -> Path:
    if not settings.warehouse.exists():
        raise UsageError(f"nothing is published at {settings.warehouse} yet; run `innostat run` first")
    return settings.warehouse


def list_releases(settings: Settings) -> int:
    """`innostat releases`: one line per release of the published file, oldest first."""
    from pipelines.publish.releases import releases_of

    found = releases_of(_published(settings))
    if not found:
        say(f"{settings.warehouse} records no release yet (published before releases were numbered)")
        return EXIT_OK
    print(f"{'release':>7}  {'published_at (Asia/Shanghai)':<28} {'added':>7} {'revised':>7} {'removed':>7}  note")
    for r in found:
        print(
            f"{r.release_id:>7}  {r.published_at:%Y-%m-%d %H:%M:%S}{'':<9} {r.values_added:>7} "
            f"{r.values_revised:>7} {r.values_removed:>7}  {r.note_zh}"
        )
    return EXIT_OK


def release_notes(settings: Settings, release_id: int | None = None) -> int:
    """`innostat release-notes`: one release's note in Markdown (default: the published release)."""
    from pipelines.publish.releases import release_markdown

    try:
        print(release_markdown(_published(settings), release_id), end="")
    except LookupError as err:
        raise UsageError(str(err)) from err
    return EXIT_OK


def demo(settings: Settings, sample: SampleOptions, options: RunOptions = RunOptions()) -> int:
    """Generate a sample landing zone into `settings.landing` if it has none, then run the pipeline with the
    warehouse's local demo key."""
    if not settings.landing.exists() or not any(settings.landing.iterdir()):
        say(f"generating sample feeds (scale {sample.scale}) into {settings.landing}")
        generate_sample(replace(sample, out=str(settings.landing)))
    return run_pipeline(replace(settings, demo=True), options)
