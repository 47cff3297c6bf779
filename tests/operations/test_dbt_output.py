"""`innostat run` shows a dbt step as a progress line and dbt's totals; failures still show in full."""

from __future__ import annotations

import io
import sys

from pipelines.defs.transform.dbt_output import DbtSummary, summarised

DBT_LINES = [
    "Running with dbt=1.11.16",
    "Registered adapter: duckdb=1.11.1",
    "Found 34 models, 322 data tests, 3 seeds, 1 operation, 7 sources, 545 macros, 21 unit tests",
    "",
    "Concurrency: 1 threads (target='duckdb')",
    "1 of 1 START hook: innostat.on-run-start.0 ..................................... [RUN]",
    "1 of 1 OK hook: innostat.on-run-start.0 ........................................ [OK in 0.04s]",
    "1 of 3 START sql view model staging.stg_rd_filings__filings .................. [RUN]",
    "1 of 3 OK created sql view model staging.stg_rd_filings__filings ............. [OK in 0.13s]",
    "2 of 3 START test not_null_fct_x_id ........................................... [RUN]",
    "2 of 3 FAIL 2 not_null_fct_x_id ............................................... [FAIL 2 in 0.02s]",
    "3 of 3 START test unique_fct_x_id ............................................. [RUN]",
    "3 of 3 PASS unique_fct_x_id ................................................... [PASS in 0.02s]",
    "",
    "Finished running 1 project hook, 1 view model, 2 data tests in 0 hours 0 minutes and 6.20 seconds (6.20s).",
    "Completed with 1 error, 0 partial successes, and 0 warnings:",
    "Failure in test not_null_fct_x_id (models/marts/_marts__models.yml)",
    "  Got 2 results, configured to fail if != 0",
    "Done. PASS=2 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=3",
]


def _events(lines):
    """What dagster-dbt does: write each dbt line to sys.stdout, then yield an event."""
    for number, line in enumerate(lines):
        sys.stdout.write(line + "\n")
        yield number


def test_a_dbt_step_prints_a_progress_line_failures_and_the_totals(monkeypatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    events = list(summarised(_events(DBT_LINES), "dbt_monthly"))
    assert events == list(range(len(DBT_LINES)))  # every event reaches Dagster
    assert sys.stdout is out  # stdout is given back
    printed = out.getvalue().splitlines()
    assert printed == [
        "[innostat] dbt_monthly: dbt build of 3 nodes",
        "  2 of 3 FAIL 2 not_null_fct_x_id ............................................... [FAIL 2 in 0.02s]",
        "  Completed with 1 error, 0 partial successes, and 0 warnings:",
        "  Failure in test not_null_fct_x_id (models/marts/_marts__models.yml)",
        "    Got 2 results, configured to fail if != 0",
        "[innostat] dbt_monthly: 3 nodes in 6.2 s: PASS=2 WARN=0 ERROR=1 SKIP=0 NO-OP=0 TOTAL=3",
    ]


def test_on_a_terminal_the_count_rewrites_itself() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Terminal()
    summary = DbtSummary("dbt_base", out)
    for line in DBT_LINES[:9] + DBT_LINES[11:13]:
        summary.line(line)
    summary.close()
    assert "\r[innostat] dbt_base: 1/3" in out.getvalue()
    assert "\r[innostat] dbt_base: 3/3" in out.getvalue()


def test_other_threads_write_through() -> None:
    import threading

    out = io.StringIO()
    summary = DbtSummary("dbt_base", out)
    with summary.capturing():
        thread = threading.Thread(target=lambda: print("[innostat] from another thread"))
        thread.start()
        thread.join()
        print("1 of 3 START sql view model staging.x ... [RUN]")
    assert out.getvalue() == "[innostat] from another thread\n[innostat] dbt_base: dbt build of 3 nodes\n"
