"""`innostat`: the command line of the platform. Every subcommand has --help with an example."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from pipelines.lib.environment import apply_offline_defaults, export_settings
from pipelines.lib.settings import DBT_PROJECT_DIR, Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


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


def cmd_generate(args: argparse.Namespace) -> int:
    from pipelines.generate import generate_landing

    out = Path(args.out)
    started = time.monotonic()
    manifest = generate_landing(out, seed=args.seed, scale=args.scale, years=args.years, progress=_say)
    if args.manifest:
        Path(args.manifest).parent.mkdir(parents=True, exist_ok=True)
        Path(args.manifest).write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    files = manifest.get("files", {})
    _say(f"wrote {sum(files.values())} files to {out} in {time.monotonic() - started:.1f} s: {files}")
    return EXIT_OK


def _check_pii_key(settings: Settings, demo: bool) -> int | None:
    from pipelines.lib.pseudonymise import PiiKeyMissing, load_key

    try:
        load_key(demo=demo, demo_key_path=settings.state_dir / "demo_pii.key")
    except PiiKeyMissing as err:
        print(f"innostat: {err}", file=sys.stderr)
        return EXIT_USAGE
    return None


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipelines.ingest.registry import RAW_TABLES
    from pipelines.ingest.runner import ingest_table
    from pipelines.lib.pseudonymise import Pseudonymiser, load_key

    settings = Settings.resolve(args.landing, args.warehouse)
    if (code := _check_pii_key(settings, args.demo)) is not None:
        return code
    pseudonymiser = Pseudonymiser(load_key(demo=args.demo, demo_key_path=settings.state_dir / "demo_pii.key"))
    tables = args.table or list(RAW_TABLES)
    failed = False
    for number, table in enumerate(tables, start=1):
        _say(f"[{number}/{len(tables)}] ingesting {table} from {settings.landing}")
        report = ingest_table(table, settings.landing, settings.raw_dir, pseudonymiser, progress=_say)
        for source_file, error in report.errors:
            print(f"innostat: {table}: {source_file}: unexpected error: {error}", file=sys.stderr)
            failed = True
    return EXIT_FAILED if failed else EXIT_OK


def _failure_messages(result) -> list[str]:
    """Readable reasons a Dagster run failed: failed steps with their errors, and failed blocking checks."""
    messages = []
    for event in result.all_events:
        if event.event_type_value == "STEP_FAILURE":
            error = event.step_failure_data.error
            text = error.message.strip() if error else "unknown error"
            if error and error.cause:
                text += f" (caused by: {error.cause.message.strip()})"
            messages.append(f"step {event.step_key} failed: {text}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                messages.append(
                    f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed "
                    f"({evaluation.severity.value.lower()})"
                )
    return messages


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.resolve(args.landing, args.warehouse)
    if not settings.landing.is_dir():
        print(
            f"innostat: the landing zone {settings.landing} does not exist; "
            "create it, or generate one with `innostat generate --out DIR`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if (code := _check_pii_key(settings, args.demo)) is not None:
        return code
    export_settings(settings, demo=args.demo)
    ensure_dbt_manifest()
    _say(f"run: landing {settings.landing} → warehouse {settings.warehouse}")
    started = time.monotonic()

    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.defs.jobs import MAIN_JOB_NAME

    job = defs().resolve_job_def(MAIN_JOB_NAME)
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": args.log_level}}}},
        )
    elapsed = time.monotonic() - started
    failures = _failure_messages(result)
    if result.success and not failures:
        _say(f"published {settings.warehouse} in {elapsed:.1f} s")
        return EXIT_OK
    print(f"innostat: run failed after {elapsed:.1f} s; the published warehouse was left as it was.", file=sys.stderr)
    for message in failures or ["the run failed without a step failure; see the log above"]:
        print(f"  - {message}", file=sys.stderr)
    return EXIT_FAILED


def cmd_rollback(args: argparse.Namespace) -> int:
    from pipelines.lib.warehouse import PublishError, rollback

    settings = Settings.resolve(None, args.warehouse)
    try:
        path = rollback(settings)
    except PublishError as err:
        print(f"innostat: {err}", file=sys.stderr)
        return EXIT_FAILED
    _say(f"rolled back: {path} is the previous publish again (run rollback again to undo)")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a sample landing zone if there is none, then run the pipeline with a local demo key."""
    settings = Settings.resolve(args.landing, args.warehouse)
    if not settings.landing.exists() or not any(settings.landing.iterdir()):
        _say(f"generating sample feeds (scale {args.scale}) into {settings.landing}")
        generate = argparse.Namespace(
            out=str(settings.landing), seed=args.seed, scale=args.scale, years=args.years, manifest=None
        )
        cmd_generate(generate)
    run = argparse.Namespace(
        landing=str(settings.landing), warehouse=str(settings.warehouse), demo=True, log_level=args.log_level
    )
    return cmd_run(run)


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
        "\nexit codes: 0 published; 1 a step or blocking check failed (published file unchanged); 2 usage",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location_flags(run)
    run.add_argument("--demo", action="store_true", help="without INNOSTAT_PII_KEY, use a random local demo key")
    run.add_argument("--log-level", default="WARNING", help="Dagster log level (default WARNING; INFO shows steps)")
    run.set_defaults(func=cmd_run)

    gen = commands.add_parser(
        "generate",
        help="write a realistic sample landing zone that follows the feed contract",
        epilog="example: innostat generate --out data/landing --seed 7 --scale 0.01 --years 2019-2022",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("--out", required=True, help="landing zone folder to write")
    gen.add_argument("--seed", type=int, default=20200101, help="random seed; same seed, same files (default 20200101)")
    gen.add_argument("--scale", type=float, default=1.0, help="volume multiplier; 1.0 = one district's real volume")
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
    ingest.add_argument("--table", action="append", help="raw table to ingest (repeatable; default: all)")
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

    demo = commands.add_parser(
        "demo",
        help="generate sample feeds if the landing zone is empty, then run with a local demo key",
        epilog="example: innostat demo --scale 0.05",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_location_flags(demo)
    demo.add_argument("--seed", type=int, default=20200101, help="generator seed")
    demo.add_argument("--scale", type=float, default=0.05, help="generator volume multiplier (default 0.05)")
    demo.add_argument("--years", type=_years, default=(2019, 2022), help="year range (default 2019-2022)")
    demo.add_argument("--log-level", default="WARNING", help="Dagster log level")
    demo.set_defaults(func=cmd_demo)
    docs = commands.add_parser(
        "docs",
        help="regenerate docs/indicators.md from the indicator catalogue seed",
        epilog="example: innostat docs",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    docs.set_defaults(func=cmd_docs)
    return parser


def main(argv: list[str] | None = None) -> int:
    apply_offline_defaults()
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
