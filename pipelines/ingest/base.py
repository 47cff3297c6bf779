"""The contract between the ingestion runner and the per-feed parsers.

A parser turns one landed file into batches of valid rows (typed, normalised, pseudonymised) and quarantined
rows (with a reason and the scrubbed raw row). A problem with the whole file (corrupt, empty, wrong header)
raises `FileRejected`; the runner records it in the ledger and carries on with the other files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, NamedTuple, Protocol

import polars as pl

from pipelines.ingest.reasons import code as reason_code
from pipelines.lib.feeds import QUARANTINE_COLUMNS  # what a parser returns per rejected row
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import Regions
from pipelines.lib.settings import IngestLimits


class FileRejected(Exception):
    """The whole file is unusable; `reason` says what was wrong and what to do, `code` is a file-scope code of
    quarantine_reasons.csv and `detail` the offending value or measure, if any."""

    def __init__(self, reason: str, code: str, detail: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = reason_code(code, "file")
        self.detail = detail


def open_regular(path: Path) -> IO[bytes]:
    """`path` opened for reading without following a symbolic link, refused (`FileRejected`, not_regular_file)
    unless it is a regular file: a parser never reads through a link swapped in after discovery."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as err:
        if os.path.islink(path):
            raise FileRejected(
                "a symbolic link, not a regular file: never followed or read",
                reason_code("not_regular_file"),
                "symbolic link",
            ) from err
        raise
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise FileRejected("not a regular file: never read", reason_code("not_regular_file"), "not a regular file")
    return handle


class Rule(NamedTuple):
    """A row rule: `bad` is true where the row breaks it; `code` (a row-scope code of quarantine_reasons.csv),
    `reason` (words, may name the value) and `detail` (the offending value alone) say why."""

    bad: pl.Expr
    code: str | pl.Expr
    reason: pl.Expr | str
    detail: pl.Expr | None = None


@dataclass
class FileContext:
    feed: str
    path: Path
    source_file: str
    regions: Regions
    pseudonymise: Pseudonymiser
    raw_table_dir: Path  # this feed's Parquet folder, for parsers that look at earlier deliveries
    run_state: dict = field(default_factory=dict)  # survives across the files of one ingest run
    limits: IngestLimits = field(default_factory=IngestLimits)  # the run's caps on what a file may cost


@dataclass
class ParsedBatch:
    valid: pl.DataFrame  # the feed's columns (see FeedParser.columns) plus source_row and source_sheet
    quarantined: pl.DataFrame  # QUARANTINE_COLUMNS


class FeedParser(Protocol):
    # Name, table, folder, extensions and columns come from the feed's entry in pipelines/lib/feeds.py.
    feed: str  # the feed's name, e.g. "security_incidents": its ledger and quarantine `feed` value
    table: str  # the raw table it fills: the feed's name → raw.security_incidents
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


def split_by_rules(frame: pl.DataFrame, rules: list[Rule], raw_columns: list[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply row rules column-wise.

    Returns (rows that pass every rule, quarantine rows with every failed reason joined by "; ", and the code and
    detail of the first failed rule). `raw_columns` are the delivered columns serialised into the quarantine's
    `raw` JSON.
    """
    if frame.is_empty():
        return frame, empty_quarantine()
    for rule in rules:
        if isinstance(rule.code, str):
            reason_code(rule.code, "row")
    reason_exprs = [
        pl.when(rule.bad.fill_null(False)).then(pl.lit(rule.reason) if isinstance(rule.reason, str) else rule.reason)
        for rule in rules
    ]
    first_code: pl.Expr | None = None
    first_detail: pl.Expr | None = None
    for rule in rules:
        bad = rule.bad.fill_null(False)
        value = pl.lit(rule.code) if isinstance(rule.code, str) else rule.code
        detail = pl.lit(None, pl.String) if rule.detail is None else rule.detail.cast(pl.String)
        first_code = pl.when(bad).then(value) if first_code is None else first_code.when(bad).then(value)
        first_detail = pl.when(bad).then(detail) if first_detail is None else first_detail.when(bad).then(detail)
    tagged = frame.with_columns(pl.concat_list(reason_exprs).list.drop_nulls().list.join("; ").alias("__reason"))
    is_bad = pl.col("__reason") != ""
    valid = tagged.filter(~is_bad).drop("__reason")
    quarantined = tagged.filter(is_bad).select(
        pl.col("source_row").cast(pl.Int64),
        pl.col("source_sheet").cast(pl.String),
        pl.col("__reason").alias("reason"),
        first_code.cast(pl.String).alias("reason_code"),  # type: ignore[union-attr]
        first_detail.cast(pl.String).alias("reason_detail"),  # type: ignore[union-attr]
        pl.struct(raw_columns).struct.json_encode().alias("raw"),
    )
    return valid, quarantined


def personal_text_rule(flags: str = "__personal") -> Rule:
    """The rule on `pii_scan.flag_personal_text`'s column: a free-text field holding a phone number or a resident
    ID quarantines its row. The reason names the fields and kinds, never the values."""
    found = pl.col(flags)
    return Rule(
        found.is_not_null(),
        reason_code("personal_data_in_text", "row"),
        pl.format("personal data in free text ({})", found),
        found,
    )
