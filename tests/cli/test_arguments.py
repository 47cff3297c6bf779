"""Every subcommand checks its arguments: a bad one is named with what is allowed, exit 2, and no traceback
(issue 23). These run the real `innostat` entry point in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pipelines.cli import build_parser


def innostat(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["backfill", "--from", "2021-13", "--to", "2021-14"], "'2021-13' is not a month"),
        (["backfill", "--from", "2021-3", "--to", "2021-04"], "write YYYY-MM"),
        (["backfill", "--from", "2021-06", "--to", "2021-01"], "--from 2021-06 is after --to 2021-01"),
        (["ingest", "--table", "foo"], "choose from 'statistics', 'rd_filings'"),
        (["run", "--log-level", "loud"], "use one of debug, info, warning, error"),
        (["generate", "--out", "x", "--scale", "-1"], "not a positive number"),
        (["demo", "--years", "2022-2019"], "the first year is after the last"),
        (["sql", "--warehouse", "/nonexistent/w.duckdb", "-c", "select 1"], "no published warehouse"),
    ],
)
def test_a_bad_argument_exits_2_with_a_message_and_no_traceback(args, says, tmp_path):
    result = innostat(*args)
    assert result.returncode == 2, result.stderr
    assert says in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_backfill_outside_the_data_is_refused_naming_the_data_span(tmp_path):
    """`--from 2030-01 --to 2030-02` used to build 2026-12 silently and exit 0."""
    import duckdb
    import polars as pl

    warehouse = tmp_path / "w.duckdb"
    duckdb.connect(str(warehouse)).close()
    cases = tmp_path / "w.duckdb.state" / "raw" / "gov_services"
    cases.mkdir(parents=True)
    pl.select(occurred_at=pl.datetime(2021, 3, 15)).write_parquet(cases / "a.parquet")
    result = innostat("backfill", "--from", "2030-01", "--to", "2030-02", "--warehouse", str(warehouse))
    assert result.returncode == 2, result.stderr
    assert "no monthly data in 2030-01 … 2030-02" in result.stderr
    assert "holds 2021-03 … 2021-03" in result.stderr


def test_every_subcommand_has_help_with_an_example():
    parser = build_parser()
    (commands,) = [action for action in parser._actions if action.dest == "command"]
    for name, sub in commands.choices.items():
        assert "example" in (sub.epilog or ""), name
        assert sub.format_help(), name


def test_an_unexpected_error_is_one_line_naming_it(tmp_path):
    """A corrupt published file: the message names the error and the published file, no traceback."""
    warehouse = tmp_path / "w.duckdb"
    warehouse.write_bytes(b"not a duckdb file" * 100)
    result = innostat("sql", "--warehouse", str(warehouse), "-c", "select 1")
    assert result.returncode == 1
    assert "innostat sql: unexpected error: " in result.stderr
    assert "Traceback" not in result.stderr
