"""Reading CSV and xlsx feeds into all-text frames keyed by the contract's header names.

Header names may carry spaces and come in any order; extra columns are kept as JSON in `extra_columns`.
xlsx: every sheet whose first row holds the feed's header is read, other sheets are ignored.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from pipelines.ingest.base import FileRejected
from pipelines.lib.encoding import UndecodableFile, decode_csv_bytes

_SPACES = " \t\u3000\ufeff\xa0"


def clean_header(name: object) -> str:
    """Trim spaces; full-width parentheses (what Excel on Chinese Windows types) become half-width."""
    return "" if name is None else str(name).strip(_SPACES).replace("（", "(").replace("）", ")")


def _frame_from_rows(
    header: list[str], rows: list[tuple[int, list[str | None]]], required: list[str], sheet: str | None
) -> pl.DataFrame:
    """Rows are (record number, values). Missing cells become empty strings so rules see one shape."""
    names = [clean_header(h) for h in header]
    index = {name: i for i, name in enumerate(names) if name}
    extras = [(name, i) for name, i in index.items() if name not in required]
    columns: dict[str, list] = {name: [] for name in required}
    extra_values: list[str | None] = []
    row_numbers: list[int] = []
    for number, values in rows:
        row_numbers.append(number)
        for name in required:
            i = index[name]
            value = values[i] if i < len(values) else None
            columns[name].append("" if value is None else str(value))
        if extras:
            extra = {name: values[i] for name, i in extras if i < len(values) and values[i] not in (None, "")}
            extra_values.append(json.dumps(extra, ensure_ascii=False) if extra else None)
        else:
            extra_values.append(None)
    frame = pl.DataFrame(
        {**columns, "extra_columns": extra_values, "source_row": row_numbers},
        schema={**dict.fromkeys(required, pl.String), "extra_columns": pl.String, "source_row": pl.Int64},
    )
    return frame.with_columns(pl.lit(sheet, dtype=pl.String).alias("source_sheet"))


def _check_header(names: list[str], required: list[str], where: str) -> None:
    missing = [name for name in required if name not in names]
    if missing:
        raise FileRejected(
            f"wrong header in {where}: missing {', '.join(missing)}; the contract's header is "
            f"{', '.join(required)} (found {', '.join(n for n in names if n) or 'nothing'})"
        )


def read_csv_records(path: Path, required: list[str]) -> tuple[pl.DataFrame, list[tuple[int, str, list]]]:
    """Read a whole CSV file (one file is bounded; the feed history never is).

    Returns (frame of well-formed records, ragged records as (record number, reason, values)).
    """
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("the file is empty; the source system should re-deliver it with a header and rows")
    try:
        text, _encoding = decode_csv_bytes(data)
    except UndecodableFile as err:
        raise FileRejected(str(err)) from err
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise FileRejected(f"unreadable CSV header: {err}") from err
    names = [clean_header(h) for h in header]
    _check_header(names, required, "the CSV file")
    if (fast := _read_plain_csv(text, header, required)) is not None:
        return fast
    rows: list[tuple[int, list]] = []
    ragged: list[tuple[int, str, list]] = []
    number = 1
    try:
        for values in reader:
            number += 1
            if not any(v.strip(_SPACES) for v in values):
                continue  # a blank record is not a row
            if len(values) != len(header):
                ragged.append((number, f"the row has {len(values)} fields, the header {len(header)}", values))
                continue
            rows.append((number, values))
    except csv.Error as err:
        raise FileRejected(f"malformed CSV near record {number}: {err}") from err
    return _frame_from_rows(header, rows, required, None), ragged


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
        .filter(pl.col("line").str.replace_all(",", "", literal=True).str.strip_chars(_SPACES) != "")
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


def read_xlsx_records(path: Path, required: list[str]) -> Iterator[pl.DataFrame]:
    """Yield one frame per sheet whose first row holds the feed's header. Rejects the file if none does."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(path)
        sheet_names = reader.sheet_names
    except Exception as err:  # fastexcel raises its own error types for corrupt workbooks
        raise FileRejected(f"the workbook cannot be opened ({type(err).__name__}: {err}); re-export it") from err
    found = False
    for sheet in sheet_names:
        try:
            table = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
        except Exception as err:
            raise FileRejected(f"sheet {sheet!r} cannot be read ({type(err).__name__}: {err})") from err
        if table.height == 0:
            continue
        header = [clean_header(v) for v in table.row(0)]
        if not all(name in header for name in required):
            continue  # not a feed sheet (notes, pivots): ignored by contract
        found = True
        rows = []
        for offset, values in enumerate(table.slice(1).iter_rows(), start=2):
            if not any(v is not None and str(v).strip(_SPACES) for v in values):
                continue
            rows.append((offset, list(values)))
        yield _frame_from_rows(header, rows, required, sheet)
    if not found:
        raise FileRejected(
            f"no sheet's first row holds the header ({', '.join(required)}); sheets: {', '.join(sheet_names)}"
        )


def read_tabular(path: Path, required: list[str]) -> Iterator[tuple[pl.DataFrame, list[tuple[int, str, list]]]]:
    """CSV or xlsx, by extension: (frame, ragged records) per CSV file or per feed sheet."""
    if path.name.lower().endswith(".xlsx"):
        for frame in read_xlsx_records(path, required):
            yield frame, []
    else:
        yield read_csv_records(path, required)


def ragged_to_quarantine(ragged: list[tuple[int, str, list]]) -> pl.DataFrame:
    """Quarantine rows for records whose field count does not match the header."""
    return pl.DataFrame(
        {
            "source_row": [n for n, _, _ in ragged],
            "source_sheet": [None] * len(ragged),
            "reason": [r for _, r, _ in ragged],
            "raw": [json.dumps(v, ensure_ascii=False) for _, _, v in ragged],
        },
        schema={"source_row": pl.Int64, "source_sheet": pl.String, "reason": pl.String, "raw": pl.String},
    )
