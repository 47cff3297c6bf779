"""A JSON Lines feed's batch: its typed frame (plain lines through the fast path, the rest decoded line by line), the
feed's rules applied to the suspect rows only, and the quarantine rows with their scrubbed raw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

from pipelines.ingest.base import QUARANTINE_COLUMNS, Rule, split_by_rules
from pipelines.ingest.jsonlines.decoding import (
    SHOWN_CHARS,
    DecodedBatch,
    Lines,
    decode_batch,
    line_frame,
    raw_of_line,
)
from pipelines.ingest.jsonlines.fast_path import split_plain
from pipelines.ingest.reasons import (
    BAD_JSON,
)
from pipelines.lib import pii_scan
from pipelines.lib.pseudonymise import Pseudonymiser


def frame_of_batch(
    batch: Lines,
    kinds: dict[str, str],
    known: tuple[str, ...],
    personal: tuple[str, ...],
    pseudonymise: Pseudonymiser,
    plain_frame: Callable[[pl.DataFrame], pl.DataFrame],
    decoded_frame: Callable[[DecodedBatch], pl.DataFrame],
) -> tuple[pl.DataFrame, DecodedBatch]:
    """A feed's typed frame of one batch, in line order: plain lines through the column-wise path
    (`plain_frame`), the rest decoded line by line (`decoded_frame`). The DecodedBatch returned knows every
    line's text, so `quarantine_rows` can rebuild the raw of any row, plain or not."""
    plain, rest = split_plain(batch, kinds)
    decoded = decode_batch(rest, known, personal, pseudonymise)
    frame = decoded_frame(decoded)
    if plain is not None and plain.height:
        frame = pl.concat([plain_frame(plain), frame]).sort("source_row")
        decoded.batch = line_frame(batch)
    return frame, decoded


def cut(column: str) -> pl.Expr:
    """A delivered text value, cut short for a reason."""
    return pl.col(column).str.slice(0, SHOWN_CHARS)


def not_in(column: str, allowed: Iterable[str]) -> pl.Expr:
    """True where the column holds a value outside `allowed` (null is not a value: absent passes)."""
    return pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed))


def apply_rules(frame: pl.DataFrame, rules: list[Rule]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`split_by_rules`, run only on the rows that break at least one rule.

    Building every reason for every row costs more than the whole rest of a batch; the few suspects get the full
    treatment, the clean rows just pass. Returns (valid rows, quarantine rows with source_row, reason, code and
    detail).
    """
    suspect = pl.any_horizontal([rule.bad.fill_null(False) for rule in rules]).alias("__suspect")
    tagged = frame.with_columns(suspect)
    clean = tagged.filter(~pl.col("__suspect")).drop("__suspect")
    still_valid, quarantined = split_by_rules(
        tagged.filter(pl.col("__suspect")).drop("__suspect"), rules, ["source_row"]
    )
    if still_valid.height:  # cannot happen (suspect ⇔ some rule fires); kept so no row is ever dropped
        clean = pl.concat([clean, still_valid]).sort("source_row")
    return clean, quarantined


def quarantine_rows(
    quarantined: pl.DataFrame,
    decoded: DecodedBatch,
    personal: tuple[str, ...],
    pseudonymise: Pseudonymiser,
    prepare: Callable[[dict], dict] | None = None,
    known: tuple[str, ...] | None = None,
) -> pl.DataFrame:
    """Rule-quarantined rows (raw rebuilt from the line, scrubbed) plus the lines that were not objects.

    Reasons and details go through the same ID/phone scrub: a personal value in the wrong field must not leak via a
    reason.
    """
    rows = quarantined["source_row"].to_list()
    reasons = quarantined["reason"].to_list()
    codes = quarantined["reason_code"].to_list()
    details = quarantined["reason_detail"].to_list()
    texts = decoded.texts(rows)
    raws = [raw_of_line(texts[n], personal, pseudonymise, prepare, known) for n in rows]
    for number, reason, detail, raw in decoded.rejected:
        rows.append(number)
        reasons.append(reason)
        codes.append(BAD_JSON)
        details.append(detail)
        raws.append(raw)

    def safe(text: str | None) -> str | None:
        return None if text is None else pii_scan.scrub(pseudonymise.scrub_text(text, ()), pseudonymise)

    frame = pl.DataFrame(
        {
            "source_row": rows,
            "source_sheet": [None] * len(rows),
            "reason": [safe(r) for r in reasons],
            "reason_code": codes,
            "reason_detail": [safe(d) for d in details],
            "raw": raws,
        },
        schema=QUARANTINE_COLUMNS,
    )
    return frame.sort("source_row")
