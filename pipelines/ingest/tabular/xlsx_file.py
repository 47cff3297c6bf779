"""Reading the sheets of an xlsx workbook whose first row holds the feed's header, after checking the workbook
against its caps (zip sizes, then every part streamed through a counter); a row holding a formula is quarantined.
"""

from __future__ import annotations

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
    COMPRESSION_RATIO,
    CORRUPT_FILE,
    FORMULA_CELL,
    TOO_LARGE,
    WRONG_HEADER,
)
from pipelines.ingest.tabular.rows import DEFAULT_LIMITS, SPACES, clean_header, frame_from_rows, short
from pipelines.lib.settings import IngestLimits

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
            if not any(v is not None and str(v).strip(SPACES) for v in values):
                continue
            if (ref := scan.formulas.get(number + offset_to_sheet)) is not None:
                formula_rows.append((number, ref, list(values)))
                continue
            rows.append((number, list(values)))
        frame = frame_from_rows(header, rows, required, sheet)
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
                    {name: short(values[i]) for i, name in enumerate(names) if name in wanted and i < len(values)},
                    ensure_ascii=False,
                )
                for _, _, values in rows
            ],
        },
        schema=QUARANTINE_COLUMNS,
    )
