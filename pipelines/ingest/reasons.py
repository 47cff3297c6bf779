"""Why a row is quarantined or a file rejected: stable codes with Chinese and English labels.

The one source is the dbt seed `dbt_project/seeds/quarantine_reasons.csv` (code, scope, label_zh, label_en): dbt
joins it to give `marts.quarantine` and `marts.ingest_ledger` their `reason_label`, and ingestion reads it here, so
a parser can only name a code the seed holds (`code()` raises at import time otherwise).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from pipelines.lib.settings import SEEDS_DIR

SEED = SEEDS_DIR / "quarantine_reasons.csv"


@dataclass(frozen=True)
class Reason:
    code: str
    scope: str  # row (a quarantined row) | file (a whole file in the ledger)
    label_zh: str
    label_en: str


@cache
def reasons() -> dict[str, Reason]:
    """Every reason code of the seed, in its order."""
    with open(SEED, encoding="utf-8", newline="") as handle:
        return {row["code"]: Reason(**row) for row in csv.DictReader(handle)}


def code(name: str, scope: str | None = None) -> str:
    """`name` when the seed holds it (and, given `scope`, with that scope); KeyError otherwise."""
    reason = reasons().get(name)
    if reason is None or (scope is not None and reason.scope != scope):
        known = ", ".join(c for c, r in reasons().items() if scope is None or r.scope == scope)
        raise KeyError(f"unknown {scope or ''} reason code {name!r}; quarantine_reasons.csv holds {known}")
    return name


# The codes the runner itself writes (the parsers name theirs where they raise or quarantine).
MISSING_FIELD = code("missing_field", "row")
UNKNOWN_REGION = code("unknown_region", "row")
NOT_ALLOWED_VALUE = code("not_allowed_value", "row")
BAD_NUMBER = code("bad_number", "row")
NEGATIVE_NUMBER = code("negative_number", "row")
OUT_OF_RANGE = code("out_of_range", "row")
WRONG_TYPE = code("wrong_type", "row")
BAD_TIMESTAMP = code("bad_timestamp", "row")
BAD_JSON = code("bad_json", "row")
RAGGED_ROW = code("ragged_row", "row")
PERSONAL_DATA_IN_TEXT = code("personal_data_in_text", "row")
CELL_TOO_LONG = code("cell_too_long", "row")
FORMULA_CELL = code("formula_cell", "row")

EMPTY_FILE = code("empty_file", "file")
WRONG_HEADER = code("wrong_header", "file")
BAD_ENCODING = code("bad_encoding", "file")
CORRUPT_FILE = code("corrupt_file", "file")
NOT_REGULAR_FILE = code("not_regular_file", "file")
TOO_LARGE = code("too_large", "file")
COMPRESSION_RATIO = code("compression_ratio", "file")
LINE_TOO_LONG = code("line_too_long", "file")
DUPLICATE_FILE = code("duplicate_file", "file")
