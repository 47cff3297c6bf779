"""Writing the raw layer's Parquet files: always to a temporary name, renamed into place when complete, so a
crash leaves either nothing or an orphan that the next run removes and redoes (`layout.remove_orphans`)."""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq


def arrow_schema(columns: dict[str, pl.DataType]) -> pa.Schema:
    return pl.DataFrame(schema=columns).to_arrow().schema


def write_parquet(path: Path, frames: list[pl.DataFrame], columns: dict[str, pl.DataType]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    schema = arrow_schema(columns)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        if not frames:
            writer.write_table(schema.empty_table())
        for frame in frames:
            writer.write_table(frame.select(list(columns)).cast(columns).to_arrow().cast(schema))
    os.replace(tmp, path)


# A column whose first batch has more distinct values than this share of its rows (ids, pseudonyms, timestamps,
# line numbers) is written without a dictionary: Parquet would build one, overflow it and fall back to plain
# pages anyway. Skipping that made a month of city events 22 % faster to write and 19 % smaller (issue 7).
_DICTIONARY_MAX_DISTINCT_SHARE = 0.1


def dictionary_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of `frame` worth a Parquet dictionary: few distinct values for their rows."""
    limit = max(1, int(frame.height * _DICTIONARY_MAX_DISTINCT_SHARE))
    counts = frame.select(pl.all().n_unique()).row(0)
    return [name for name, distinct in zip(frame.columns, counts, strict=True) if distinct <= limit]


class StreamingParquet:
    """Writes batches to a temporary file and renames it into place only when the whole file parsed.

    The writer opens on the first batch, which decides the columns that get a dictionary. With `row_groups_by`,
    each batch is written as one row group per value of that column, rows in their delivered order within it."""

    def __init__(self, path: Path, columns: dict[str, pl.DataType], row_groups_by: str | None = None):
        self.path, self.columns, self.row_groups_by = path, columns, row_groups_by
        self.schema = arrow_schema(columns)
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.writer: pq.ParquetWriter | None = None

    def __enter__(self) -> StreamingParquet:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.select(list(self.columns)).cast(self.columns)
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.tmp, self.schema, compression="zstd", use_dictionary=dictionary_columns(frame)
            )
        parts = frame.partition_by(self.row_groups_by, maintain_order=True) if self.row_groups_by else [frame]
        for part in parts:
            self.writer.write_table(part.to_arrow().cast(self.schema))  # one call, one row group

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.writer is None:  # no valid row at all: a file with the table's schema and no row group
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self.writer.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)
