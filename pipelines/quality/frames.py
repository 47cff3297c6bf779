"""The frames a check reads: this run's batch of a raw table (its rows, a chunk at a time, and one row per file it
delivered), and a mart of the working build (its rows, only the changed ones when asked, and its row count against
the last publish)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipelines.lib.feeds import INGEST_LEDGER, ledger_dir, raw_schema, table_dir
from pipelines.quality.chunking import ArrowChunk, Chunk, FrameChunk, ParquetChunk, chunk_rows
from pipelines.quality.suites.marts import mart_schema

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.quality.suites.core import Suite

# --- this run's batch of a raw table -------------------------------------------------------------------------


def _needed_columns(suites: list[Suite], frame: str) -> set[str]:
    return set().union(*(s.base_columns() for s in suites if s.frame == frame))


def _run_ledger(raw_dir: Path, table: str, run_id: str) -> pl.DataFrame:
    ledger_files = sorted(ledger_dir(raw_dir).glob(f"{table}-*.parquet"))
    return (
        pl.scan_parquet(ledger_files).filter(pl.col("run_id") == run_id).collect()
        if ledger_files
        else pl.DataFrame(schema=raw_schema(INGEST_LEDGER))
    )


def _loaded_paths(raw_dir: Path, table: str, ledger: pl.DataFrame) -> list[Path]:
    folder = table_dir(raw_dir, table)
    return [
        folder / f"{digest}.parquet"
        for digest in ledger.filter(pl.col("status") == "loaded")["file_hash"].to_list()
        if (folder / f"{digest}.parquet").exists()
    ]


def raw_row_chunks(raw_dir: Path, table: str, run_id: str, suites: list[Suite], *, workers: int = 1) -> Iterator[Chunk]:
    """This run's raw rows (only the columns the suites read), whole files at a time, about `chunk_rows(workers)`
    each. A chunk names its files; whoever judges it reads them (a worker process reads its own)."""
    schema = raw_schema(table)
    wanted = tuple(c for c in schema if c in _needed_columns(suites, "rows"))
    pending: list[str] = []
    size = 0
    yielded = False
    rows_per_chunk = chunk_rows(workers)
    for path in _loaded_paths(raw_dir, table, _run_ledger(raw_dir, table, run_id)):
        pending.append(str(path))
        size += pl.scan_parquet(path).select(pl.len()).collect().item()  # from the footer: no data is read
        if size >= rows_per_chunk:
            yield ParquetChunk(tuple(pending), wanted)
            pending, size, yielded = [], 0, True
    if pending or not yielded:
        empty = pl.DataFrame(schema={c: schema[c] for c in wanted}).to_pandas()
        yield ParquetChunk(tuple(pending), wanted) if pending else FrameChunk(empty)


def raw_frames(
    raw_dir: Path, table: str, run_id: str, suites: list[Suite], *, with_rows: bool = True
) -> dict[str, pd.DataFrame]:
    """This run's batch of a raw table: its rows (`rows`, unless not `with_rows`) and one row per file it
    ingested (`delivery`)."""
    ledger = _run_ledger(raw_dir, table, run_id)
    delivery = ledger.select(
        "source_file",
        "status",
        "reason",
        "rows_loaded",
        "rows_quarantined",
        "rows_skipped",
        (pl.col("rows_loaded") + pl.col("rows_skipped")).alias("rows_delivered"),
    ).sort("source_file")

    if not with_rows:
        return {"delivery": delivery.to_pandas()}
    schema = raw_schema(table)
    wanted = [c for c in schema if c in _needed_columns(suites, "rows")]
    paths = _loaded_paths(raw_dir, table, ledger)
    rows = (
        pl.concat([pl.read_parquet(p, columns=wanted) for p in paths], how="vertical_relaxed")
        if paths
        else pl.DataFrame(schema={c: schema[c] for c in wanted})
    )
    return {"rows": rows.to_pandas(), "delivery": delivery.to_pandas()}


# --- a mart of the working build -----------------------------------------------------------------------------


def mart_table(model: str) -> str:
    """The checked model's table, `<schema>.<model>` (quoted)."""
    return f"{mart_schema(model)}.{_quote(model)}"


def _mart_columns(con: duckdb.DuckDBPyConnection, model: str, suites: list[Suite]) -> list[str]:
    existing = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [mart_schema(model), model],
        ).fetchall()
    }
    if not existing:
        raise LookupError(f"{mart_schema(model)}.{model} does not exist in the working build; did the dbt step run?")
    return sorted(_needed_columns(suites, "rows") & existing) or sorted(existing)


def mart_frames(
    con: duckdb.DuckDBPyConnection, model: str, published: Path, suites: list[Suite], *, with_rows: bool = True
) -> dict:
    """The mart as built (`rows`, only the columns the suites read, unless not `with_rows`) and its row count
    against the last publish."""
    wanted = _mart_columns(con, model, suites)
    (built,) = con.execute(f"select count(*) from {mart_table(model)}").fetchall()[0]
    frames = {"row_count": row_count_frame(built, published_row_count(published, model))}
    if with_rows:
        frames["rows"] = con.execute(f"select {', '.join(_quote(c) for c in wanted)} from {mart_table(model)}").df()
    return frames


def mart_row_chunks(
    con: duckdb.DuckDBPyConnection, model: str, suites: list[Suite], *, except_in: str | None = None, workers: int = 1
) -> Iterator[Chunk]:
    """The mart's rows (only the columns the suites read) about `chunk_rows(workers)` at a time; at least one
    chunk, judged in this process when `workers` is 1, else by worker processes.

    With `except_in` (an attached database), only the rows whose values (over the columns read) hash to no row
    of that database's copy of the mart: the rows a row-wise rule has not judged yet. Matching 64-bit row hashes
    takes 2 s on a city's 10 M cases, an anti join over every column 13 s and EXCEPT ALL 32 s. A changed row
    is skipped only if its hash equals a judged row's, about one chance in 10^12 per row at that size, and even
    then uniqueness and the dbt tests still see it."""
    columns = _mart_columns(con, model, suites)
    wanted = ", ".join(_quote(c) for c in columns)
    query = f"select {wanted} from {mart_table(model)}"
    if except_in is not None:
        query = (
            f"select {wanted} from (select {wanted}, hash({wanted}) as __row_hash from {mart_table(model)}) "
            f"anti join (select hash({wanted}) as __row_hash from {except_in}.{mart_table(model)}) "
            "using (__row_hash)"
        )
    in_process = workers == 1
    rows_per_chunk = chunk_rows(workers)
    cursor = con.cursor()  # the chunks stream while the caller may query `con`
    try:
        reader = cursor.sql(query).to_arrow_reader(rows_per_chunk)
        batches: list = []
        rows = 0
        yielded = False
        for batch in reader:  # DuckDB hands over batches smaller than asked: gathered up to a chunk
            batches.append(batch)
            rows += batch.num_rows
            if rows >= rows_per_chunk:
                chunk = _mart_chunk(batches, reader.schema, in_process)
                batches, rows, yielded = [], 0, True  # the batches are let go before the chunk is judged
                yield chunk
        if batches or not yielded:  # no row at all: one empty chunk, with the columns
            yield _mart_chunk(batches, reader.schema, in_process)
    finally:
        cursor.close()


def _mart_chunk(batches: list, schema: Any, in_process: bool) -> Chunk:
    """Arrow batches as one chunk: a pandas frame to judge here (the Arrow table is let go, the frame keeps
    only the buffers it shares), or the Arrow table for a worker."""
    import pyarrow as pa

    chunk = ArrowChunk(pa.Table.from_batches(batches, schema=schema))
    return FrameChunk(chunk.load()) if in_process else chunk


def mart_repeated_values(con: duckdb.DuckDBPyConnection, model: str, column: str, columns: list[str]):
    """The rows of <schema>.<model> whose `column` value occurs more than once (nulls never repeat, as in GX), and
    the mart's row count: all a uniqueness rule needs, without reading the whole column into pandas."""
    table = mart_table(model)
    key = _quote(column)
    frame = con.execute(
        f"select {', '.join(_quote(c) for c in columns)} from {table} "
        f"where {key} in (select {key} from {table} where {key} is not null group by {key} having count(*) > 1)"
    ).df()
    (rows,) = con.execute(f"select count(*) from {table}").fetchall()[0]
    return frame, rows


def row_count_frame(rows_built: int, rows_published: int | None) -> pd.DataFrame:
    """One row: the share of the last publish's rows the build lost (0 when it has more, or nothing was published)."""
    import pandas as pd

    share = max(0.0, 1 - rows_built / rows_published) if rows_published else 0.0
    return pd.DataFrame({"rows_published": [rows_published], "rows_built": [rows_built], "row_drop_share": [share]})


def published_row_count(published: Path, model: str) -> int | None:
    """Rows of <schema>.<model> in the published warehouse (opened read-only); None when there is none."""
    if not published.exists():
        return None
    con = duckdb.connect(str(published), read_only=True)
    try:
        (found,) = con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
            [mart_schema(model), model],
        ).fetchall()[0]
        if not found:
            return None
        return con.execute(f"select count(*) from {mart_table(model)}").fetchall()[0][0]
    finally:
        con.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
