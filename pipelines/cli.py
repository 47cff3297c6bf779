"""`innostat`: the command line of the platform. Every subcommand has --help with an example.

A thin layer: the flags become a typed `Settings` (`Settings.resolve`: a flag wins over its environment variable)
and the options of `pipelines/orchestration/runs.py`, which does the work; this module parses, prints what went wrong,
and exits with the code. Exit codes: 0 done, 1 failed, 2 usage, 3 busy (another run holds the warehouse).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import traceback

from pipelines.lib.environment import apply_offline_defaults
from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.settings import Settings
from pipelines.orchestration import runs as orchestration
from pipelines.orchestration.runs import EXIT_BUSY, EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError

__all__ = ["EXIT_BUSY", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
LOG_LEVELS = ("debug", "info", "warning", "error")


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


def _run_options(args: argparse.Namespace) -> orchestration.RunOptions:
    return orchestration.RunOptions(log_level=args.log_level, timings=getattr(args, "timings", None))


def cmd_run(args: argparse.Namespace) -> int:
    settings = Settings.resolve(args.landing, args.warehouse, demo=args.demo, full_refresh=args.full_refresh)
    return orchestration.run_pipeline(settings, _run_options(args))


def cmd_backfill(args: argparse.Namespace) -> int:
    """Rebuild a month range of the monthly facts (and everything downstream), then publish."""
    settings = Settings.resolve(None, args.warehouse, demo=False, full_refresh=False)
    return orchestration.backfill(settings, (args.start, args.end), _run_options(args))


def cmd_generate(args: argparse.Namespace) -> int:
    return orchestration.generate_sample(
        orchestration.SampleOptions(
            out=args.out, seed=args.seed, scale=args.scale, years=args.years, manifest=args.manifest
        )
    )


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = Settings.resolve(args.landing, args.warehouse, demo=args.demo)
    return orchestration.ingest_only(settings, args.table)


def cmd_rollback(args: argparse.Namespace) -> int:
    return orchestration.rollback(Settings.resolve(None, args.warehouse))


def cmd_releases(args: argparse.Namespace) -> int:
    return orchestration.list_releases(Settings.resolve(None, args.warehouse))


def cmd_release_notes(args: argparse.Namespace) -> int:
    return orchestration.release_notes(Settings.resolve(None, args.warehouse), args.release)


def _release_id(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a release id; releases are numbered 1, 2, 3, …")
    return int(text)


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate a sample landing zone if there is none, then run the pipeline with a local demo key."""
    settings = Settings.resolve(args.landing, args.warehouse, demo=True, full_refresh=False)
    sample = orchestration.SampleOptions(out=str(settings.landing), seed=args.seed, scale=args.scale, years=args.years)
    return orchestration.demo(settings, sample, orchestration.RunOptions(log_level=args.log_level))


def cmd_sql(args: argparse.Namespace) -> int:
    from pipelines.orchestration import sql_shell

    settings = Settings.resolve(None, args.warehouse)
    try:
        return sql_shell.main(settings.warehouse, args.sql, max_rows=args.max_rows)
    except FileNotFoundError as err:
        raise UsageError(str(err)) from err


def cmd_docs(args: argparse.Namespace) -> int:
    from pipelines.lib.docs import INDICATORS_DOC, write_indicators_doc

    changed = write_indicators_doc()
    orchestration.say(
        f"{INDICATORS_DOC} {'updated from the catalogue' if changed else 'already matches the catalogue'}"
    )
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
        "\nexit codes: 0 published, or nothing new (no new file, no code change: nothing published);"
        "\n  1 a step or blocking check failed (published file unchanged); 2 usage;"
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
        help="put the previous release back, naming the release it restores and the one it withdraws "
        "(atomic; run twice to undo)",
        epilog="example: innostat rollback --warehouse warehouse/innostat.duckdb"
        "\nA withdrawn release id is never reused: the next publish takes the next id.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    roll.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    roll.set_defaults(func=cmd_rollback)

    rel = commands.add_parser(
        "releases",
        help="list the releases of the published warehouse: id, time, values added/revised/removed, note",
        epilog="example: innostat releases --warehouse warehouse/innostat.duckdb",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    rel.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    rel.set_defaults(func=cmd_releases)

    notes = commands.add_parser(
        "release-notes",
        help="print one release's note (发布说明) in Markdown, with the values it revised",
        epilog="examples:\n  innostat release-notes              # the published release\n"
        "  innostat release-notes --release 2 > release-2.md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    notes.add_argument("--release", type=_release_id, default=None, metavar="N", help="release id (default: latest)")
    notes.add_argument("--warehouse", default=None, help="published DuckDB file (default: $INNOSTAT_WAREHOUSE)")
    notes.set_defaults(func=cmd_release_notes)

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
