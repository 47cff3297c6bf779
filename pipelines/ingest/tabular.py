"""Reading CSV and xlsx feeds into all-text frames keyed by the contract's header names.

Header names may carry spaces and come in any order. Of extra columns only the names are kept (a JSON list in
`extra_columns`), never their values: the contract is an allow-list, and source systems put people there
(联系人, 联系电话). xlsx: every sheet whose first row holds the feed's header is read, other sheets are ignored.

Rows the readers themselves reject (ragged CSV records, cells longer than `INNOSTAT_MAX_CELL_CHARS`, xlsx rows
holding a formula) come out as quarantine rows beside the frame. A whole file over a cap (`limits.py`) raises
`FileRejected` before it is read.
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import polars as pl

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileRejected, open_regular
from pipelines.ingest.limits import ratio_exceeded, size
from pipelines.ingest.reasons import (
    BAD_ENCODING,
    CELL_TOO_LONG,
    COMPRESSION_RATIO,
    CORRUPT_FILE,
    EMPTY_FILE,
    FORMULA_CELL,
    RAGGED_ROW,
    TOO_LARGE,
    WRONG_HEADER,
)
from pipelines.lib.encoding import UndecodableFile, decode_csv_bytes
from pipelines.lib.settings import IngestLimits

_SPACES = " \t\u3000\ufeff\xa0"

DEFAULT_LIMITS = IngestLimits()  # the caps' defaults, for a reader called outside a run (a run passes its own)


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
            extra = [name for name, i in extras if i < len(values) and values[i] not in (None, "")]
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
        # The names found are shown only when the row is a header with a slip (half the contract's columns or
        # more): a first row holding none or few is data (a missing header), and data may be personal.
        if 2 * (len(required) - len(missing)) >= len(required):
            found = f"found {', '.join(n[:40] for n in names[:40] if n)}"
        else:
            found = f"the first row holds {len(required) - len(missing)} of them: is the header missing?"
        raise FileRejected(
            f"wrong header in {where}: missing {', '.join(missing)}; the contract's header is "
            f"{', '.join(required)} ({found})",
            WRONG_HEADER,
            f"missing {', '.join(missing)}",
        )


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
    _check_header(names, required, "the CSV file")
    if (fast := _read_plain_csv(text, header, required)) is not None:
        return fast[0], _keep_contract_values(fast[1], names, required)
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
        raise FileRejected(f"malformed CSV near record {number}: {err}", CORRUPT_FILE, f"record {number}") from err
    return _frame_from_rows(header, rows, required, None), _keep_contract_values(ragged, names, required)


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


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_CELL_REF = re.compile(r"([A-Z]+)([0-9]+)")


@dataclass
class _SheetScan:
    first_row: int | None = None  # the sheet's first row holding a cell value: fastexcel's row 1
    formulas: dict[int, str] = field(default_factory=dict)  # sheet row → first formula cell's reference (`D5`)


class _Counted(io.RawIOBase):
    """A zip member read through a byte counter: past `cap` bytes the file is rejected, whatever its header
    declared (a zip's sizes can lie)."""

    def __init__(self, member: IO[bytes], cap: int, total: list[int]):
        self.member, self.cap, self.total = member, cap, total

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.member.read(len(buffer))
        self.total[0] += len(data)
        if self.total[0] > self.cap:
            raise _TooBig(self.total[0])
        buffer[: len(data)] = data
        return len(data)


class _TooBig(Exception):
    pass


def _inspect_xlsx(content: bytes, caps: IngestLimits) -> dict[str, _SheetScan]:
    """Check the workbook against the caps before fastexcel reads a sheet whole, and find its formula cells.

    The zip's declared sizes are checked first (cheap), then every worksheet is streamed through expat with a
    byte counter, so a sheet that inflates beyond its declared size is caught too. Returns sheet name → scan."""
    on_disk = len(content)
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except (zipfile.BadZipFile, OSError) as err:
        raise FileRejected(
            f"the workbook cannot be opened ({type(err).__name__}: {err}); re-export it", CORRUPT_FILE
        ) from err
    with archive:
        declared = sum(info.file_size for info in archive.infolist())
        _check_xlsx_size(declared, on_disk, caps)
        try:
            sheets = _sheet_paths(archive)
        except (KeyError, ET.ParseError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
            raise FileRejected(
                f"the workbook cannot be opened ({type(err).__name__}: {err}); re-export it", CORRUPT_FILE
            ) from err
        scans: dict[str, _SheetScan] = {}
        total = [0]
        sheet_members = set(sheets.values())
        try:
            for info in archive.infolist():  # shared strings and styles are read whole by fastexcel too
                if info.filename not in sheet_members:
                    with archive.open(info) as handle:
                        counted = _Counted(handle, caps.xlsx_bytes, total)
                        while counted.read(1 << 20):
                            pass
        except _TooBig as big:
            _check_xlsx_size(big.args[0], on_disk, caps)
            raise
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
            raise FileRejected(
                f"the workbook cannot be read ({type(err).__name__}: {err}); re-export it", CORRUPT_FILE
            ) from err
        for name, member in sheets.items():
            try:
                with archive.open(member) as handle:
                    scans[name] = _scan_sheet(io.BufferedReader(_Counted(handle, caps.xlsx_bytes, total)))
            except _TooBig as big:
                _check_xlsx_size(big.args[0], on_disk, caps)
                raise
            except (ET.ParseError, zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
                raise FileRejected(
                    f"sheet {name!r} cannot be read ({type(err).__name__}: {err}); re-export the workbook",
                    CORRUPT_FILE,
                ) from err
            _check_xlsx_size(total[0], on_disk, caps)
    return scans


def _check_xlsx_size(uncompressed: int, on_disk: int, caps: IngestLimits) -> None:
    if uncompressed > caps.xlsx_bytes:
        raise FileRejected(
            f"the workbook holds over {size(uncompressed)} uncompressed, beyond the {size(caps.xlsx_bytes)} cap "
            "(INNOSTAT_MAX_XLSX_BYTES); deliver the data as CSV or in smaller workbooks",
            TOO_LARGE,
            f"> {size(caps.xlsx_bytes)} uncompressed",
        )
    if ratio_exceeded(uncompressed, on_disk, caps.compression_ratio):
        raise FileRejected(
            f"the workbook expands more than {caps.compression_ratio:g} times ({size(on_disk)} → "
            f"{size(uncompressed)}; INNOSTAT_MAX_COMPRESSION_RATIO): a zip bomb or a sheet of filler",
            COMPRESSION_RATIO,
            f"{uncompressed / max(on_disk, 1):.0f}×",
        )


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → its worksheet part in the zip, from xl/workbook.xml and its relationships."""
    workbook = ET.fromstring(archive.read("xl/workbook.xml"))
    rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {rel.get("Id"): rel.get("Target", "") for rel in rels}
    paths = {}
    for sheet in workbook.iter(f"{_SHEET_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if member in archive.namelist():
            paths[sheet.get("name", "")] = member
    return paths


def _scan_sheet(stream: IO[bytes]) -> _SheetScan:
    """The sheet's first row with a value and its rows holding a formula, streamed (elements cleared as read)."""
    scan = _SheetScan()
    cell, value_tags = f"{_SHEET_NS}c", (f"{_SHEET_NS}v", f"{_SHEET_NS}is", f"{_SHEET_NS}f")
    for _event, element in ET.iterparse(stream, events=("end",)):
        if element.tag != cell:
            continue
        match = _CELL_REF.fullmatch(element.get("r", ""))
        if match is not None and any(element.find(tag) is not None for tag in value_tags):
            row = int(match.group(2))
            scan.first_row = row if scan.first_row is None else min(scan.first_row, row)
            if element.find(f"{_SHEET_NS}f") is not None:
                scan.formulas.setdefault(row, match.group(0))
        element.clear()
    return scan


def read_xlsx_records(
    path: Path, required: list[str], caps: IngestLimits = DEFAULT_LIMITS
) -> Iterator[tuple[pl.DataFrame, pl.DataFrame]]:
    """Yield (frame, quarantine rows) per sheet whose first row holds the feed's header. Rejects the file if none
    does, or if it is over a cap. A row holding a formula is quarantined: its cached value is whatever the last
    program to save the file computed (a `=HYPERLINK(…)` reads as 0), not a delivered value."""
    import fastexcel

    with open_regular(path) as handle:  # read once, so fastexcel reads the very bytes checked here
        content = handle.read(caps.xlsx_bytes + 1)
    if len(content) > caps.xlsx_bytes:
        raise FileRejected(
            f"the workbook is over {size(caps.xlsx_bytes)} even compressed (INNOSTAT_MAX_XLSX_BYTES)",
            TOO_LARGE,
            f"> {size(caps.xlsx_bytes)}",
        )
    try:
        scans = _inspect_xlsx(content, caps)
    except _TooBig as big:  # over the cap though not judged by ratio: the size cap's message
        raise FileRejected(
            f"the workbook holds over {size(big.args[0])} uncompressed, beyond the {size(caps.xlsx_bytes)} cap "
            "(INNOSTAT_MAX_XLSX_BYTES)",
            TOO_LARGE,
        ) from None
    try:
        reader = fastexcel.read_excel(content)
        sheet_names = reader.sheet_names
    except Exception as err:  # fastexcel raises its own error types for corrupt workbooks
        raise FileRejected(
            f"the workbook cannot be opened ({type(err).__name__}: {err}); re-export it", CORRUPT_FILE
        ) from err
    found = False
    for sheet in sheet_names:
        try:
            table = reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars()
        except Exception as err:
            raise FileRejected(f"sheet {sheet!r} cannot be read ({type(err).__name__}: {err})", CORRUPT_FILE) from err
        if table.height == 0:
            continue
        header = [clean_header(v) for v in table.row(0)]
        if not all(name in header for name in required):
            continue  # not a feed sheet (notes, pivots): ignored by contract
        found = True
        scan = scans.get(sheet, _SheetScan())
        offset_to_sheet = (scan.first_row or 1) - 1  # fastexcel's row 1 is the sheet's first row with a value
        rows, formula_rows = [], []
        for number, values in enumerate(table.slice(1).iter_rows(), start=2):
            if not any(v is not None and str(v).strip(_SPACES) for v in values):
                continue
            if (ref := scan.formulas.get(number + offset_to_sheet)) is not None:
                formula_rows.append((number, ref, list(values)))
                continue
            rows.append((number, list(values)))
        frame = _frame_from_rows(header, rows, required, sheet)
        yield frame, _formula_quarantine(formula_rows, header, required, sheet)
    if not found:
        raise FileRejected(
            f"no sheet's first row holds the header ({', '.join(required)}); sheets: {', '.join(sheet_names)}",
            WRONG_HEADER,
            "no feed sheet",
        )


def _formula_quarantine(
    rows: list[tuple[int, str, list]], header: list[str], required: list[str], sheet: str
) -> pl.DataFrame:
    names = [clean_header(h) for h in header]
    wanted = set(required)
    return pl.DataFrame(
        {
            "source_row": [n for n, _, _ in rows],
            "source_sheet": [sheet] * len(rows),
            "reason": [
                f"cell {ref} holds a formula: its cached value is not a delivered value; deliver values (paste as "
                "values) instead of formulas"
                for _, ref, _ in rows
            ],
            "reason_code": [FORMULA_CELL] * len(rows),
            "reason_detail": [ref for _, ref, _ in rows],
            "raw": [
                json.dumps(
                    {name: _short(values[i]) for i, name in enumerate(names) if name in wanted and i < len(values)},
                    ensure_ascii=False,
                )
                for _, _, values in rows
            ],
        },
        schema=QUARANTINE_COLUMNS,
    )


def _short(value: object, chars: int = 200) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= chars else text[:chars] + "…"


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
            "raw": [json.dumps({k: _short(v) for k, v in pairs}, ensure_ascii=False) for _, _, pairs in ragged],
        },
        schema=QUARANTINE_COLUMNS,
    )
