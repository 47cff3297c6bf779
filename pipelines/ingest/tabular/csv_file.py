"""Reading a CSV file (UTF-8, UTF-8 with BOM or GB18030, detected) whole, within its size cap: a plain file
column-wise, any other through the csv module; ragged records come back beside the frame.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl

from pipelines.ingest.base import FileRejected, open_regular
from pipelines.ingest.limits import size
from pipelines.ingest.reasons import (
    BAD_ENCODING,
    CORRUPT_FILE,
    EMPTY_FILE,
    TOO_LARGE,
)
from pipelines.ingest.tabular.rows import DEFAULT_LIMITS, SPACES, check_header, clean_header, frame_from_rows
from pipelines.lib.encoding import UndecodableFile, decode_csv_bytes
from pipelines.lib.settings import IngestLimits


def read_csv_records(
    path: Path, required: list[str], caps: IngestLimits = DEFAULT_LIMITS
) -> tuple[pl.DataFrame, list[tuple[int, str, list]]]:
    """Read a whole CSV file (one file is bounded; the feed history never is).

    Returns (frame of well-formed records, ragged records as (record number, reason, values)); the values of a
    ragged record are kept by the header's name for the contract's columns only (a ragged record cannot say which
    value is whose, so nothing beyond the contract's columns is kept).
    """
    cap = caps.csv_bytes
    if (on_disk := path.stat().st_size) > cap:
        raise FileRejected(
            f"the CSV file is {size(on_disk)}, over the {size(cap)} cap (INNOSTAT_MAX_CSV_BYTES); split it into "
            "smaller files",
            TOO_LARGE,
            size(on_disk),
        )
    with open_regular(path) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:  # grew since its size was checked
        raise FileRejected(f"the CSV file is over the {size(cap)} cap (INNOSTAT_MAX_CSV_BYTES)", TOO_LARGE)
    if not data.strip():
        raise FileRejected(
            "the file is empty; the source system should re-deliver it with a header and rows", EMPTY_FILE
        )
    try:
        text, _encoding = decode_csv_bytes(data)
    except UndecodableFile as err:
        raise FileRejected(str(err), BAD_ENCODING) from err
    del data
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise FileRejected(f"unreadable CSV header: {err}", CORRUPT_FILE) from err
    names = [clean_header(h) for h in header]
    check_header(names, required, "the CSV file")
    if (fast := _read_plain_csv(text, header, required)) is not None:
        return fast[0], _keep_contract_values(fast[1], names, required)
    rows: list[tuple[int, list]] = []
    ragged: list[tuple[int, str, list]] = []
    number = 1
    try:
        for values in reader:
            number += 1
            if not any(v.strip(SPACES) for v in values):
                continue  # a blank record is not a row
            if len(values) != len(header):
                ragged.append((number, f"the row has {len(values)} fields, the header {len(header)}", values))
                continue
            rows.append((number, values))
    except csv.Error as err:
        raise FileRejected(f"malformed CSV near record {number}: {err}", CORRUPT_FILE, f"record {number}") from err
    return frame_from_rows(header, rows, required, None), _keep_contract_values(ragged, names, required)


def _keep_contract_values(
    ragged: list[tuple[int, str, list]], names: list[str], required: list[str]
) -> list[tuple[int, str, list]]:
    """Ragged records with their values by position under the contract's column names only, as [name, value]
    pairs (the rest is dropped: it may be an extra column's personal value)."""
    wanted = set(required)
    return [
        (number, reason, [[name, values[i]] for i, name in enumerate(names) if name in wanted and i < len(values)])
        for number, reason, values in ragged
    ]


# Characters that make CSV more than "split lines at LF, fields at commas": quoting, other line ends, NUL
# (which the csv module rejects). A file without any of them is read column-wise.
_NOT_PLAIN = ('"', "\r", "\0")


def _read_plain_csv(
    text: str, header: list[str], required: list[str]
) -> tuple[pl.DataFrame, list[tuple[int, str, list]]] | None:
    """The column-wise twin of the csv-module loop in `read_csv_records`, for the common plain file: no quotes,
    LF line ends, no columns beyond the contract's. Same frame, same ragged records, same record numbers (without
    quotes a record is a line). Returns None when the file is not plain; the csv module then reads it.

    The 雪亮 camera snapshot is millions of such rows a year: this keeps its ingestion out of a Python loop."""
    names = [clean_header(h) for h in header]
    if any(c in text for c in _NOT_PLAIN) or set(names) - set(required) or len(set(names)) != len(names):
        return None
    lines = pl.Series("line", text.split("\n")[1:], dtype=pl.String)
    body = (
        pl.DataFrame({"line": lines})
        .with_row_index("source_row", offset=2)
        .with_columns(pl.col("source_row").cast(pl.Int64))
        # a record whose fields are all spaces is no row (the csv loop skips it too)
        .filter(pl.col("line").str.replace_all(",", "", literal=True).str.strip_chars(SPACES) != "")
        .with_columns(pl.col("line").str.split(",").alias("fields"))
        .with_columns(pl.col("fields").list.len().alias("field_count"))
    )
    width = len(header)
    ragged_rows = body.filter(pl.col("field_count") != width)
    ragged = [
        (number, f"the row has {count} fields, the header {width}", values)
        for number, count, values in ragged_rows.select("source_row", "field_count", "fields").iter_rows()
    ]
    index = {name: i for i, name in enumerate(names)}
    frame = body.filter(pl.col("field_count") == width).select(
        *(pl.col("fields").list.get(index[name]).alias(name) for name in required),
        pl.lit(None, dtype=pl.String).alias("extra_columns"),
        "source_row",
        pl.lit(None, dtype=pl.String).alias("source_sheet"),
    )
    return frame, ragged
