"""The contract between the ingestion runner and the per-feed parsers.

A parser turns one landed file into batches of valid rows (typed, normalised, pseudonymised) and quarantined
rows (with a reason and the scrubbed raw row). A problem with the whole file (corrupt, empty, wrong header)
raises `FileRejected`; the runner records it in the ledger and carries on with the other files.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import polars as pl

from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import Regions

# What a parser returns for each rejected row; the runner adds feed, source_file, file_hash, ingested_at.
QUARANTINE_COLUMNS: dict[str, pl.DataType] = {
    "source_row": pl.Int64(),
    "source_sheet": pl.String(),
    "reason": pl.String(),
    "raw": pl.String(),  # the raw row as JSON, personal fields already pseudonymised
}

# Lineage columns every raw table carries. Parsers fill source_row and source_sheet; the runner the rest.
LINEAGE_COLUMNS: dict[str, pl.DataType] = {
    "source_file": pl.String(),  # path relative to the landing zone, e.g. statistics/2020.csv
    "source_sheet": pl.String(),  # xlsx sheet name, null for CSV and JSON Lines
    "source_row": pl.Int64(),  # CSV/xlsx: record number with the header as 1; JSON Lines: line number
    "file_hash": pl.String(),  # sha256 of the file's bytes: the ingest ledger's key
    "delivered_at": pl.Datetime("us"),  # the file's modification time, Asia/Shanghai: delivery order
    "ingested_at": pl.Datetime("us"),
}


class FileRejected(Exception):
    """The whole file is unusable; `reason` says what was wrong and what to do."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class FileContext:
    feed: str
    path: Path
    source_file: str
    regions: Regions
    pseudonymise: Pseudonymiser
    raw_table_dir: Path  # this feed's Parquet folder, for parsers that look at earlier deliveries
    run_state: dict = field(default_factory=dict)  # survives across the files of one ingest run


@dataclass
class ParsedBatch:
    valid: pl.DataFrame  # the feed's columns (see FeedParser.columns) plus source_row and source_sheet
    quarantined: pl.DataFrame  # QUARANTINE_COLUMNS


class FeedParser(Protocol):
    feed: str  # quarantine feed name, e.g. "security_incidents"
    table: str  # raw table name, e.g. "security_incidents" → raw.security_incidents
    folder: str  # landing sub-folder, e.g. "security/incidents"
    extensions: tuple[str, ...]  # e.g. (".jsonl", ".jsonl.gz")
    columns: dict[str, pl.DataType]  # the raw table's own columns, without the lineage columns
    # True when a file parses the same whatever else was delivered: such files may be parsed side by side in
    # worker processes. False when the parser keeps state across the files of a run (`FileContext.run_state`).
    independent_files: bool
    # A column whose values each get Parquet row groups of their own (None: row groups as the batches come).
    # A reader that filters on it then skips the row groups of the other values by their statistics.
    row_groups_by: str | None

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]: ...


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=QUARANTINE_COLUMNS)


def split_by_rules(
    frame: pl.DataFrame, rules: list[tuple[pl.Expr, pl.Expr | str]], raw_columns: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply row rules column-wise. Each rule is (expression true when the row is bad, reason).

    Returns (rows that pass every rule, quarantine rows with every failed reason joined by "; ").
    `raw_columns` are the delivered columns serialised into the quarantine's `raw` JSON.
    """
    if frame.is_empty():
        return frame, empty_quarantine()
    reason_exprs = [
        pl.when(bad.fill_null(False)).then(pl.lit(reason) if isinstance(reason, str) else reason)
        for bad, reason in rules
    ]
    tagged = frame.with_columns(pl.concat_list(reason_exprs).list.drop_nulls().list.join("; ").alias("__reason"))
    is_bad = pl.col("__reason") != ""
    valid = tagged.filter(~is_bad).drop("__reason")
    quarantined = tagged.filter(is_bad).select(
        pl.col("source_row").cast(pl.Int64),
        pl.col("source_sheet").cast(pl.String),
        pl.col("__reason").alias("reason"),
        pl.struct(raw_columns).struct.json_encode().alias("raw"),
    )
    return valid, quarantined
