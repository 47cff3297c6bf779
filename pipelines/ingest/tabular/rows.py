"""What every tabular reader shares: header names cleaned and checked against the contract, rows turned into an
all-text frame keyed by the contract's names (of extra columns only the names are kept), values cut short.
"""

from __future__ import annotations

import json

import polars as pl

from pipelines.ingest.base import FileRejected
from pipelines.ingest.reasons import (
    WRONG_HEADER,
)
from pipelines.lib.settings import IngestLimits

SPACES = " \t\u3000\ufeff\xa0"

DEFAULT_LIMITS = IngestLimits()  # the caps' defaults, for a reader called outside a run (a run passes its own)


def clean_header(name: object) -> str:
    """Trim spaces; full-width parentheses (what Excel on Chinese Windows types) become half-width."""
    return "" if name is None else str(name).strip(SPACES).replace("（", "(").replace("）", ")")


def frame_from_rows(
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


def check_header(names: list[str], required: list[str], where: str) -> None:
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


def short(value: object, chars: int = 200) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= chars else text[:chars] + "…"
