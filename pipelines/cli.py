"""`innostat`: the command line of the platform. Every subcommand has --help with an example."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from pathlib import Path

from pipelines.lib.environment import apply_offline_defaults, export_settings
from pipelines.lib.settings import DBT_PROJECT_DIR, QualitySettings, Settings
from pipelines.lib.warehouse import adopt_staged_build, stage_build_copy
from pipelines.quality.process import checks_in_own_process

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_BUSY = 3  # another run holds the warehouse (lib/run_lock.py)
LOG_LEVELS = ("debug", "info", "warning", "error")


class UsageError(Exception):
    """An argument that parsed but cannot be used (a month outside the data …): exit 2 with the message."""


@dataclass(frozen=True)
class RunOptions:
    """What `innostat run` needs. `demo` and `backfill` build one of these: a command that runs another goes
    through `run_pipeline`, never through a hand-built argparse.Namespace."""

    landing: str | None = None
    warehouse: str | None = None
    demo: bool = False
    log_level: str = "WARNING"
    full_refresh: bool = False
    timings: str | None = None


@dataclass(frozen=True)
class SampleOptions:
    """What `innostat generate` needs; `demo` generates with it too."""

    out: str
    seed: int = 20200101
    scale: float = 1.0
    years: tuple[int, int] = (2019, 2022)
    manifest: str | None = None


def _say(message: str) -> None:
    print(f"[innostat] {message}", flush=True)


def _add_location_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--landing", help="landing zone folder (default: $INNOSTAT_LANDING, else data/landing)", default=None
    )
    parser.add_argument(
        "--warehouse",
        help="published DuckDB file (default: $INNOSTAT_WAREHOUSE, else warehouse/innostat.duckdb); "
        "its state lives in PATH.state/",
        default=None,
    )


def _years(text: str) -> tuple[int, int]:
    try:
        first, _, last = text.partition("-")
        span = (int(first), int(last or first))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"--years wants FIRST-LAST such as 2019-2022, not {text!r}") from err
    if span[0] > span[1]:
        raise argparse.ArgumentTypeError(f"--years {text}: the first year is after the last")
    return span


def _month(text: str) -> str:
    """argparse type of --from/--to: a calendar month YYYY-MM."""
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month; write YYYY-MM with a month 01–12, e.g. 2021-03")
    return match[0]


def _log_level(text: str) -> str:
    """argparse type of --log-level: one of LOG_LEVELS, in any case; Dagster wants it upper-case."""
    if text.lower() not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
    return text.upper()


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number, e.g. 0.05")
    return value


def _add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        type=_log_level,
        default="WARNING",
        metavar="LEVEL",
        help=f"{' | '.join(LOG_LEVELS)} (default warning; info shows Dagster's steps, debug also dbt's lines "
        "and the traceback of an unexpected error)",
    )


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
    _say("dbt parse (the model files changed since the last manifest)")
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
    manifest = generate_landing(out, seed=options.seed, scale=options.scale, years=options.years, progress=_say)
    if options.manifest:
        Path(options.manifest).parent.mkdir(parents=True, exist_ok=True)
        Path(options.manifest).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    files = manifest.get("files", {})
    _say(f"wrote {sum(files.values())} files to {out} in {time.monotonic() - started:.1f} s: {files}")
    return EXIT_OK


def cmd_generate(args: argparse.Namespace) -> int:
    return generate_sample(
        SampleOptions(out=args.out, seed=args.seed, scale=args.scale, years=args.years, manifest=args.manifest)
    )


def _check_pii_key(settings: Settings, demo: bool) -> int | None:
    from pipelines.lib.pseudonymise import PiiKeyMissing, warehouse_key

    try:
        warehouse_key(settings.state_dir, demo=demo)  # none set outside a demo, or not the warehouse's key
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


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipelines.lib.feeds import RAW_TABLES
    from pipelines.lib.pseudonymise import Pseudonymiser, warehouse_key

    settings = Settings.resolve(args.landing, args.warehouse)
    if not settings.landing.is_dir():
        raise UsageError(f"the landing zone {settings.landing} does not exist; pass --landing or set INNOSTAT_LANDING")
    if (code := _check_pii_key(settings, args.demo)) is not None:
        return code
    pseudonymiser = Pseudonymiser(warehouse_key(settings.state_dir, demo=args.demo))
    tables = args.table or list(RAW_TABLES)
    return _exclusive(settings, "ingest", lambda: _ingest(settings, pseudonymiser, tables), clean=False)


def _ingest(settings: Settings, pseudonymiser, tables: list[str]) -> int:
    from pipelines.ingest.runner import ingest_table
    from pipelines.lib.settings import IngestSettings

    ingest = IngestSettings.from_env()
    failed = False
    for number, table in enumerate(tables, start=1):
        _say(f"[{number}/{len(tables)}] ingesting {table} from {settings.landing}")
        report = ingest_table(table, settings.landing, settings.raw_dir, pseudonymiser, progress=_say, settings=ingest)
        for source_file, error in report.errors:
            print(f"innostat: {table}: {source_file}: unexpected error: {error}", file=sys.stderr)
            failed = True
    return EXIT_FAILED if failed else EXIT_OK


def _failure_messages(result) -> list[str]:
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
            # warnings (freshness, year-over-year bands) are reported by _warnings, they never fail a run
            if evaluation.severity.value == "ERROR":
                messages.append(f"{where} failed{detail}")
            else:
                warned.append(f"{where} warned{detail}")
    return messages + warned if not result.success else messages


def _warnings(result) -> list[str]:
    """Checks that failed with severity WARN: shown, never blocking."""
    found = []
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "WARN":
                detail = evaluation.description or ""
                found.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name} {detail}".strip())
    return found


def _definitions():
    """The project's Dagster definitions, loaded once per command: loading them again for a run's second job cost
    ~1 s (component tree, dbt manifest). Not cached across commands, since the resources read the settings."""
    from pipelines.definitions import defs

    return defs()


def _execute(
    job_name: str,
    instance,
    log_level: str,
    tags: dict | None = None,
    run_id: str | None = None,
    selection=None,
    definitions=None,
):
    """Run a job in this process; `selection` (a dg.AssetSelection) narrows it to some of its assets."""
    definitions = definitions or _definitions()
    job = definitions.resolve_job_def(job_name)
    return job.execute_in_process(
        instance=instance,
        raise_on_error=False,
        run_id=run_id,
        asset_selection=None if selection is None else list(selection.resolve(definitions.resolve_asset_graph())),
        tags=tags or {},
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )


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


class _Timings:
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
    for message in _failure_messages(result) or ["the run failed without a step failure; see the log above"]:
        print(f"  - {message}", file=sys.stderr)
    return EXIT_FAILED


def _build(
    settings: Settings,
    window: tuple[str, str] | None,
    log_level: str,
    instance,
    started: float,
    timings: _Timings | None = None,
    run_id: str | None = None,
    definitions=None,
) -> int:
    from pipelines.defs.jobs import BUILD_JOB_NAME, build_selection
    from pipelines.defs.operations.automation import RANGE_END, RANGE_START, build_tags
    from pipelines.lib.build_inputs import base_is_current

    tags = build_tags(window)
    _say(f"[2/2] build, check and publish (monthly facts for {tags[RANGE_START]} … {tags[RANGE_END]})")
    keep_base = base_is_current(settings)
    if keep_base:
        _say("statistics and R&D models kept from the published warehouse: no new file of theirs, no code change")
    result = _execute(BUILD_JOB_NAME, instance, log_level, tags, run_id, build_selection(keep_base), definitions)
    if timings is not None:
        timings.phase("build_and_publish", instance, result)
        timings.write()
    if not result.success or _failure_messages(result):
        return _report_failure(result, started)
    _say(f"published {settings.warehouse} in {time.monotonic() - started:.1f} s")
    return EXIT_OK


def _prepare_run(options: RunOptions, *, ingests: bool = True) -> Settings | int:
    settings = Settings.resolve(options.landing, options.warehouse)
    if ingests and not settings.landing.is_dir():
        print(
            f"innostat: the landing zone {settings.landing} does not exist; "
            "create it, or generate one with `innostat generate --out DIR`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if ingests and (code := _check_pii_key(settings, options.demo)) is not None:
        return code
    export_settings(settings, demo=options.demo)
    os.environ["INNOSTAT_DBT_FULL_REFRESH"] = "1" if options.full_refresh else "0"
    ensure_dbt_manifest()
    return settings


def run_pipeline(options: RunOptions) -> int:
    """Ingest, build, check and publish: `innostat run`, and the pipeline part of `innostat demo`."""
    prepared = _prepare_run(options)
    if isinstance(prepared, int):
        return prepared
    settings = prepared
    _say(f"run: landing {settings.landing} → warehouse {settings.warehouse}")
    started = time.monotonic()
    timings = _Timings(options.timings)
    # Started before Dagster is imported: it imports Great Expectations on the other core meanwhile.
    return _exclusive(settings, "run", lambda: _checked_run(options, settings, started, timings))


def _checked_run(options: RunOptions, settings: Settings, started: float, timings: _Timings) -> int:
    with checks_in_own_process(QualitySettings.from_env()):
        return _run(options, settings, started, timings)


def cmd_run(args: argparse.Namespace) -> int:
    return run_pipeline(
        RunOptions(
            landing=args.landing,
            warehouse=args.warehouse,
            demo=args.demo,
            log_level=args.log_level,
            full_refresh=args.full_refresh,
            timings=args.timings,
        )
    )


def _exclusive(settings: Settings, command: str, body, clean: bool = True) -> int:
    """`body()` holding the warehouse's run lock (lib/run_lock.py); EXIT_BUSY, naming the holder, when another
    run holds it. A run first removes what a failed run left half-built (a full disk frees itself)."""
    from pipelines.lib.run_lock import WarehouseBusy, describe, warehouse_lock
    from pipelines.lib.warehouse import clean_failed_build

    def taken_over(left: dict) -> None:
        _say(f"the previous run ({describe(left)}) ended without releasing the warehouse; taking it over")

    try:
        with warehouse_lock(settings, f"innostat {command}", on_takeover=taken_over):
            if clean and (removed := clean_failed_build(settings)):
                _say(f"removed what a failed run left: {', '.join(removed)}")
            return body()
    except WarehouseBusy as err:
        print(f"innostat: {err}", file=sys.stderr)
        return EXIT_BUSY


def _run(args: RunOptions, settings: Settings, started: float, timings: _Timings) -> int:
    from pipelines.defs.jobs import INGEST_JOB_NAME
    from pipelines.instance import cli_instance
    from pipelines.lib.months import pending_window

    timings.phase("start")
    build_run_id = str(uuid.uuid4())
    # The build starts from a copy of the published file (seconds at a city's size): staged while ingestion runs.
    staging = _BuildCopy(settings)
    with cli_instance() as instance:
        _say("[1/2] ingest new files of every feed")
        definitions = _definitions()
        ingested = _execute(INGEST_JOB_NAME, instance, args.log_level, definitions=definitions)
        staged = staging.result()
        timings.phase("ingest", instance, ingested)
        if not ingested.success or _failure_messages(ingested):
            if staged is not None:
                staged.unlink(missing_ok=True)
            return _report_failure(ingested, started)
        if staged is not None:
            adopt_staged_build(settings, staged, build_run_id)
        for line in ingest_summary(settings.raw_dir, ingested.run_id):
            _say(line)
        for warning in _warnings(ingested):
            _say(f"warning: {warning}")
        # The months the published warehouse lacks (this run's files, and any an earlier run ingested but did not
        # publish); a first build (or --full-refresh) covers all. The plan is recorded for the publish step.
        window = pending_window(settings, build_run_id, full=args.full_refresh)
        timings.phase("plan")
        return _build(settings, window, args.log_level, instance, started, timings, build_run_id, definitions)


def ingest_summary(raw_dir: Path, run_id: str) -> list[str]:
    """One line per raw table that took files in this ingest run: files, rows loaded, rows quarantined, files
    rejected whole; or one line saying nothing new came."""
    import duckdb

    from pipelines.lib.feeds import ledger_dir

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


def cmd_backfill(args: argparse.Namespace) -> int:
    """Rebuild a month range of the monthly facts (and everything downstream), then publish."""
    if args.start > args.end:
        raise UsageError(f"--from {args.start} is after --to {args.end}")
    # no ingestion: no personal value is read, no key is needed
    options = RunOptions(warehouse=args.warehouse, log_level=args.log_level, timings=args.timings)
    settings = Settings.resolve(None, options.warehouse)
    # the range is checked against the data under the run lock: another run may be adding months meanwhile
    return _exclusive(settings, "backfill", lambda: _backfill(settings, options, (args.start, args.end)))


def _backfill(settings: Settings, options: RunOptions, requested: tuple[str, str]) -> int:
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
    prepared = _prepare_run(options, ingests=False)
    if isinstance(prepared, int):
        return prepared
    timings = _Timings(options.timings)
    window = (max(requested[0], span[0]), min(requested[1], span[1]))
    with checks_in_own_process(QualitySettings.from_env()), cli_instance() as instance:
        return _build(prepared, window, options.log_level, instance, time.monotonic(), timings)


def cmd_rollback(args: argparse.Namespace) -> int:
    from pipelines.lib.warehouse import PublishError, rollback

    settings = Settings.resolve(None, args.warehouse)

    def swap() -> int:
        try:
            path = rollback(settings)
        except PublishError as err:
            print(f"innostat: {err}", file=sys.stderr)
            return EXIT_FAILED
        _say(f"rolled back: {path} is the previous publish again (run rollback again to undo)")
        return EXIT_OK

    return _exclusive(settings, "rollback", swap, clean=False)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a sample landing zone if there is none, then run the pipeline with a local demo key."""
    settings = Settings.resolve(args.landing, args.warehouse)
    if not settings.landing.exists() or not any(settings.landing.iterdir()):
        _say(f"generating sample feeds (scale {args.scale}) into {settings.landing}")
        generate_sample(SampleOptions(out=str(settings.landing), seed=args.seed, scale=args.scale, years=args.years))
    return run_pipeline(
        RunOptions(
            landing=str(settings.landing), warehouse=str(settings.warehouse), demo=True, log_level=args.log_level
        )
    )


def cmd_sql(args: argparse.Namespace) -> int:
    from pipelines.lib import sql_shell

    settings = Settings.resolve(None, args.warehouse)
    try:
        return sql_shell.main(settings.warehouse, args.sql, max_rows=args.max_rows)
    except FileNotFoundError as err:
        raise UsageError(str(err)) from err


def cmd_docs(args: argparse.Namespace) -> int:
    from pipelines.lib.docs import INDICATORS_DOC, write_indicators_doc

    changed = write_indicators_doc()
    _say(f"{INDICATORS_DOC} {'updated from the catalogue' if changed else 'already matches the catalogue'}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="innostat",
        description="Innovation statistics for Yanfeng District: ingest the feeds, build, check and publish.",
        epilog="example: innostat run --landing data/landing --warehouse warehouse/innostat.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="ingest the landing zone, build and check the warehouse, publish it (one process, no server)",
        epilog="example: INNOSTAT_PII_KEY=... innostat run --landing data/landing --warehouse warehouse/innostat.duckdb"
        "\nexit codes: 0 published; 1 a step or blocking check failed (published file unchanged); 2 usage;"
        "\n  3 busy: another run (named in the message) holds the warehouse; nothing was changed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location_flags(run)
    run.add_argument("--demo", action="store_true", help="without INNOSTAT_PII_KEY, use a random local demo key")
    _add_log_level(run)
    run.add_argument(
        "--full-refresh", action="store_true", help="rebuild every month and incremental model from the raw layer"
    )
    run.add_argument("--timings", metavar="FILE", help="write the wall seconds of each phase and step as JSON")
    run.set_defaults(func=cmd_run)

    backfill = commands.add_parser(
        "backfill",
        help="rebuild the monthly facts of a month range (and the indicators), then publish",
        epilog="example: innostat backfill --from 2021-01 --to 2021-06",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    backfill.add_argument(
        "--from", dest="start", type=_month, required=True, help="first month, YYYY-MM (Asia/Shanghai)"
    )
    backfill.add_argument("--to", dest="end", type=_month, required=True, help="last month, YYYY-MM")
    backfill.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    _add_log_level(backfill)
    backfill.add_argument("--full-refresh", action="store_true", help=argparse.SUPPRESS)
    backfill.add_argument("--timings", metavar="FILE", help="write the wall seconds of each step as JSON")
    backfill.set_defaults(func=cmd_backfill)

    gen = commands.add_parser(
        "generate",
        help="write a realistic sample landing zone that follows the feed contract",
        epilog="example: innostat generate --out data/landing --seed 7 --scale 0.01 --years 2019-2022",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--out", required=True, help="landing zone folder to write")
    gen.add_argument("--seed", type=int, default=20200101, help="random seed; same seed, same files (default 20200101)")
    gen.add_argument("--scale", type=_positive, default=1.0, help="volume multiplier; 1.0 = one district's real volume")
    gen.add_argument("--years", type=_years, default=(2019, 2022), help="year range, e.g. 2019-2022 (default)")
    gen.add_argument("--manifest", help="also write what was planted (expected quarantine counts…) to this JSON file")
    gen.set_defaults(func=cmd_generate)

    ingest = commands.add_parser(
        "ingest",
        help="only ingest new files into the raw Parquet layer (no build, no publish)",
        epilog="example: innostat ingest --table gov_services --demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location_flags(ingest)
    from pipelines.lib.feeds import RAW_TABLES

    ingest.add_argument(
        "--table",
        action="append",
        choices=list(RAW_TABLES),
        metavar="TABLE",
        help=f"raw table to ingest, one of {', '.join(RAW_TABLES)} (repeatable; default: all)",
    )
    ingest.add_argument("--demo", action="store_true", help="without INNOSTAT_PII_KEY, use a random local demo key")
    ingest.set_defaults(func=cmd_ingest)

    roll = commands.add_parser(
        "rollback",
        help="put the previously published warehouse back (atomic; run twice to undo)",
        epilog="example: innostat rollback --warehouse warehouse/innostat.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    roll.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    roll.set_defaults(func=cmd_rollback)

    sql = commands.add_parser(
        "sql",
        help="a read-only SQL shell over the published warehouse, with the pipeline's own DuckDB",
        epilog='examples:\n  innostat sql\n  innostat sql -c "select code, name_zh from marts.indicators limit 5"'
        "\n\nIn the shell: end a statement with ; (it may span lines), .tables lists the tables, .quit or Ctrl-D "
        "leaves.\nHistory is kept in ~/.innostat_sql_history.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sql.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    sql.add_argument("-c", "--command", dest="sql", metavar="SQL", help="run these statements, print, and exit")
    sql.add_argument("--max-rows", type=int, default=40, help="rows printed per result (default 40)")
    sql.set_defaults(func=cmd_sql)

    demo = commands.add_parser(
        "demo",
        help="generate sample feeds if the landing zone is empty, then run with a local demo key",
        epilog="example: innostat demo --scale 0.05",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location_flags(demo)
    demo.add_argument("--seed", type=int, default=20200101, help="generator seed")
    demo.add_argument("--scale", type=_positive, default=0.05, help="generator volume multiplier (default 0.05)")
    demo.add_argument("--years", type=_years, default=(2019, 2022), help="year range (default 2019-2022)")
    _add_log_level(demo)
    demo.set_defaults(func=cmd_demo)
    docs = commands.add_parser(
        "docs",
        help="regenerate docs/indicators.md from the indicator catalogue seed",
        epilog="example: innostat docs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    docs.set_defaults(func=cmd_docs)
    return parser


def _configure_logging(level: str) -> None:
    """Python logging at the chosen level, with a handler of that level on the root logger. Without it, dbt's
    telemetry library (snowplow_tracker, imported with dbt) calls `logging.basicConfig()`, and every INFO record
    of Dagster's loggers then reached the terminal through the root logger whatever --log-level said."""
    handler = logging.StreamHandler()
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s %(message)s"))
    logging.root.addHandler(handler)
    logging.root.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    apply_offline_defaults()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or a bad argument (argparse printed why): its code, as a return value
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    _configure_logging(getattr(args, "log_level", "WARNING"))
    try:
        return args.func(args)
    except UsageError as err:
        print(f"innostat {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"innostat {args.command}: interrupted; the published warehouse is left as it was", file=sys.stderr)
        return 130
    except Exception as err:  # the last line of defence: a clear message, the traceback on demand
        if getattr(args, "log_level", "") == "DEBUG":
            traceback.print_exc()
        else:
            print(
                f"innostat {args.command}: unexpected error: {type(err).__name__}: {err}\n"
                f"  (rerun with --log-level debug for the traceback, if `innostat {args.command} --help` "
                "offers it; the published warehouse is left as it was)",
                file=sys.stderr,
            )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
