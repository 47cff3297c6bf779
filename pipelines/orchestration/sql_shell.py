"""`innostat sql`: a read-only SQL shell over the published warehouse, with the pipeline's own DuckDB.

The DuckDB shell on the package index (1.5) cannot open a file written by DuckDB 2.0. Harlequin 2.17 (a
maintained terminal SQL IDE) accepts DuckDB 2.0, but its exact pins would move the pipeline's environment
(sqlfluff 4.4 → 3.4, click), so statisticians get this small shell instead: readline history and editing,
statements that span lines until `;`, results printed as boxed tables, and `.tables` / `.help` / `.quit`.
The connection is read-only: a publish replaces the file by rename, so the shell keeps reading the release it
opened until it is restarted.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb

HISTORY = Path.home() / ".innostat_sql_history"
HELP = """statements end with ; and may span lines. Commands:
  .tables          the published tables and views, by schema
  .help            this text
  .quit            leave (or Ctrl-D)"""
TABLES = """select table_schema as schema, string_agg(table_name, ', ' order by table_name) as tables
from information_schema.tables
where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog')
group by table_schema order by table_schema"""


def open_read_only(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if not warehouse.exists():
        raise FileNotFoundError(
            f"no published warehouse at {warehouse}; run `innostat run` (or `make demo`) first, or pass --warehouse"
        )
    return duckdb.connect(str(warehouse), read_only=True)


def run_statements(
    con: duckdb.DuckDBPyConnection, text: str, *, max_rows: int = 40, echo: Callable[[str], None] = print
) -> bool:
    """Run one or more `;`-separated statements, printing each result; False when one failed (its error
    printed, the rest skipped)."""
    for statement in _split(text):
        if statement.strip() == ".tables":
            statement = TABLES
        elif statement.strip() == ".help":
            echo(HELP)
            continue
        try:
            relation = con.sql(statement)
        except duckdb.Error as err:
            echo(f"error: {err}")
            return False
        if relation is not None:
            relation.show(max_rows=max_rows, max_width=200)
    return True


def _split(text: str) -> Iterable[str]:
    """Statements of `text`, split on the `;` that end them (DuckDB's own parser, so `;` inside quotes stays)."""
    try:
        return [statement.query for statement in duckdb.extract_statements(text)]
    except duckdb.Error:
        return [text]  # let DuckDB report the syntax error when it runs it


def interactive(con: duckdb.DuckDBPyConnection, warehouse: Path, *, max_rows: int = 40) -> int:
    try:
        import readline
    except ImportError:  # no readline on this Python: the shell works, without history
        readline = None
    if readline is not None:
        HISTORY.touch(exist_ok=True)
        readline.read_history_file(HISTORY)
        readline.set_history_length(2000)
    print(f"innostat sql: {warehouse} (read-only). End statements with ;  .tables lists tables, .quit leaves.")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input("   ...> " if buffer else "innostat> ")
            except EOFError:
                print()
                break
            except KeyboardInterrupt:  # Ctrl-C drops the statement being typed, as psql does
                print()
                buffer.clear()
                continue
            stripped = line.strip()
            if not buffer and stripped in (".quit", ".exit", "\\q"):
                break
            if not buffer and stripped.startswith("."):
                run_statements(con, stripped, max_rows=max_rows)
                continue
            buffer.append(line)
            if stripped.endswith(";"):
                run_statements(con, "\n".join(buffer), max_rows=max_rows)
                buffer.clear()
    finally:
        if readline is not None:
            readline.write_history_file(HISTORY)
    return 0


def main(warehouse: Path, sql: str | None, *, max_rows: int = 40) -> int:
    con = open_read_only(warehouse)
    try:
        if sql is not None:
            return 0 if run_statements(con, sql, max_rows=max_rows) else 1
        if not sys.stdin.isatty():  # statements piped in: `innostat sql < query.sql`
            return 0 if run_statements(con, sys.stdin.read(), max_rows=max_rows) else 1
        return interactive(con, warehouse, max_rows=max_rows)
    finally:
        con.close()
