"""Reading CSV and xlsx feeds into all-text frames keyed by the contract's header names.

Header names may carry spaces and come in any order. Of extra columns only the names are kept (a JSON list in
`extra_columns`), never their values: the contract is an allow-list, and source systems put people there
(联系人, 联系电话). xlsx: every sheet whose first row holds the feed's header is read, other sheets are ignored.

Rows the readers themselves reject (ragged CSV records, cells longer than `INNOSTAT_MAX_CELL_CHARS`, xlsx rows
holding a formula) come out as quarantine rows beside the frame. A whole file over a cap (`limits.py`) raises
`FileRejected` before it is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.ingest.base import QUARANTINE_COLUMNS
from pipelines.ingest.reasons import (
    CELL_TOO_LONG,
    RAGGED_ROW,
)
from pipelines.ingest.tabular.csv_file import read_csv_records
from pipelines.ingest.tabular.rows import DEFAULT_LIMITS, short
from pipelines.ingest.tabular.xlsx_file import read_xlsx_records
from pipelines.lib.settings import IngestLimits


def read_tabular(
    path: Path, required: list[str], caps: IngestLimits = DEFAULT_LIMITS
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """CSV or xlsx, by extension: (frame, quarantine rows the reader rejected) per CSV file or per feed sheet.

    The reader's rejects are ragged records, rows with a cell over `INNOSTAT_MAX_CELL_CHARS` and xlsx rows
    holding a formula."""
    if path.name.lower().endswith(".xlsx"):
        for frame, formulas in read_xlsx_records(path, required, caps):
            frame, too_long = split_long_cells(frame, required, caps)
            yield frame, pl.concat([formulas, too_long])
    else:
        frame, ragged = read_csv_records(path, required, caps)
        frame, too_long = split_long_cells(frame, required, caps)
        yield frame, pl.concat([ragged_to_quarantine(ragged), too_long])


def split_long_cells(
    frame: pl.DataFrame, required: list[str], caps: IngestLimits = DEFAULT_LIMITS
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows whose every cell is within `INNOSTAT_MAX_CELL_CHARS`, quarantine rows for the others, their cells
    cut to the cap (at most 200 characters) in `raw`)."""
    cap = caps.cell_chars
    shown = min(cap, 200)
    lengths = [pl.col(name).str.len_chars().fill_null(0) for name in required]
    too_long = pl.any_horizontal([length > cap for length in lengths])
    if frame.is_empty() or not frame.select(too_long.any()).item():
        return frame, pl.DataFrame(schema=QUARANTINE_COLUMNS)
    which = pl.concat_str(
        [
            pl.when(length > cap).then(pl.format(f"{name}: {{}} characters", length))
            for name, length in zip(required, lengths, strict=True)
        ],
        separator="; ",
        ignore_nulls=True,
    )
    bad = frame.filter(too_long)
    quarantined = bad.select(
        pl.col("source_row").cast(pl.Int64),
        pl.col("source_sheet").cast(pl.String),
        pl.format(f"a cell is longer than {cap} characters (INNOSTAT_MAX_CELL_CHARS): {{}}", which).alias("reason"),
        pl.lit(CELL_TOO_LONG).alias("reason_code"),
        which.alias("reason_detail"),
        pl.struct(
            [
                pl.when(pl.col(n).str.len_chars() > shown)
                .then(pl.col(n).str.slice(0, shown) + "…")
                .otherwise(pl.col(n))
                .alias(n)
                for n in required
            ]
        )
        .struct.json_encode()
        .alias("raw"),
    )
    return frame.filter(~too_long), quarantined


def ragged_to_quarantine(ragged: list[tuple[int, str, list]]) -> pl.DataFrame:
    """Quarantine rows for records whose field count does not match the header (values as `_keep_contract_values`
    left them: the contract's columns by name)."""
    return pl.DataFrame(
        {
            "source_row": [n for n, _, _ in ragged],
            "source_sheet": [None] * len(ragged),
            "reason": [r for _, r, _ in ragged],
            "reason_code": [RAGGED_ROW] * len(ragged),
            "reason_detail": [r.removeprefix("the row has ") for _, r, _ in ragged],
            "raw": [json.dumps({k: short(v) for k, v in pairs}, ensure_ascii=False) for _, _, pairs in ragged],
        },
        schema=QUARANTINE_COLUMNS,
    )
