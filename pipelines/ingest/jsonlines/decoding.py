"""Decoding lines into JSON objects (orjson when the environment has it, the stdlib otherwise), column by column,
and the scrubbed `raw` of a line for the quarantine. The Python decoder is the authority the fast path is held to.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import polars as pl

from pipelines.ingest.jsonlines.reading import LINE_SCHEMA
from pipelines.lib import pii_scan
from pipelines.lib.pseudonymise import Pseudonymiser

SHOWN_CHARS = 60  # offending values are cut to this length in reasons

try:  # orjson is a transitive dependency today; the stdlib is the fallback, never a requirement
    import orjson

    loads_json = orjson.loads
    JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - exercised only where orjson is absent

    def _reject_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    def loads_json(text: str) -> Any:
        # NaN/Infinity are not JSON: reject them as orjson does, so both decoders quarantine the same lines.
        return json.loads(text, parse_constant=_reject_constant)

    JSON_ERRORS = (ValueError,)


@dataclass
class DecodedBatch:
    """The objects of one batch, as delivered, column by column; lines that are no object are already rejected."""

    values: dict[str, list[Any]]  # known field → delivered values (None when absent)
    extra_columns: list[str | None]  # the names of unknown keys as a JSON list (never their values), or None
    source_row: list[int]
    lines: dict[int, str]  # line number → text of the decoded lines, to rebuild the raw of a quarantined row
    rejected: list[tuple[int, str, str | None, str]] = field(default_factory=list)  # (line, reason, detail, raw)
    batch: pl.DataFrame | None = None  # every line of the batch (LINE_SCHEMA), when some took the fast path

    def texts(self, rows: list[int]) -> dict[int, str]:
        """Line number → text for `rows` (a quarantined row may come from either path)."""
        found = {n: self.lines[n] for n in rows if n in self.lines}
        missing = [n for n in rows if n not in found]
        if missing and self.batch is not None:
            found.update(self.batch.filter(pl.col("source_row").is_in(missing)).iter_rows())
        return found


Lines = pl.DataFrame | list[tuple[int, str]]
"""A batch of lines: a frame of LINE_SCHEMA (as read), or (line number, text) pairs."""


def line_frame(batch: Lines) -> pl.DataFrame:
    if isinstance(batch, pl.DataFrame):
        return batch
    numbers = [n for n, _ in batch]
    texts = [t for _, t in batch]
    return pl.DataFrame({"source_row": numbers, "line": texts}, schema=LINE_SCHEMA)


def line_pairs(batch: Lines) -> list[tuple[int, str]]:
    return list(batch.iter_rows()) if isinstance(batch, pl.DataFrame) else batch


def decode_batch(
    batch: list[tuple[int, str]], known: tuple[str, ...], personal: tuple[str, ...], pseudonymise: Pseudonymiser
) -> DecodedBatch:
    """Parse every line; split the objects into per-field lists and the names of their unknown keys into
    `extra_columns` (the contract's allow-list: what it does not name is not stored, only its name, for the
    audit)."""
    known_set = frozenset(known)
    objects: list[dict] = []
    rows: list[int] = []
    extras: list[str | None] = []
    rejected: list[tuple[int, str, str | None, str]] = []
    for number, line in batch:
        try:
            obj = loads_json(line)
        except JSON_ERRORS as err:
            rejected.append(
                (number, f"invalid JSON ({err})", "invalid JSON", _scrub_line(line, personal, pseudonymise))
            )
            continue
        if type(obj) is not dict:
            got = _json_type(obj)
            reason = f"not a JSON object (got {got})"
            rejected.append((number, reason, got, _scrub_line(line, personal, pseudonymise)))
            continue
        objects.append(obj)
        rows.append(number)
        if known_set.issuperset(obj):
            extras.append(None)
        else:
            extras.append(extra_names([k for k in obj if k not in known_set], pseudonymise))
    values = {name: list(map(dict.get, objects, repeat(name))) for name in known}
    return DecodedBatch(values, extras, rows, dict(batch), rejected)


def extra_names(names: list[str], pseudonymise: Pseudonymiser) -> str:
    """The names of what the contract does not name, as a JSON list (a name holding a number is scrubbed)."""
    return json.dumps([pii_scan.scrub(pseudonymise.scrub_text(n, ()), pseudonymise) for n in names], ensure_ascii=False)


def _scrub_line(line: str, personal: tuple[str, ...], pseudonymise: Pseudonymiser) -> str:
    """A line that is no JSON object: every Chinese run, ID-, credit-code- and phone-shaped value pseudonymised."""
    return pii_scan.scrub(pseudonymise.scrub_unparseable(line, personal), pseudonymise)


def scrub_value(value: Any, personal: tuple[str, ...], pseudonymise: Pseudonymiser) -> Any:
    """Pseudonymise personal keys at any depth, and anything shaped like an ID number or a phone elsewhere.

    Used on what the contract does not name (unknown keys) and on quarantined objects, where a personal value may
    sit under an unexpected key.
    """
    if isinstance(value, dict):
        return {
            k: (pseudonymise(v) if k in personal and v is not None else scrub_value(v, personal, pseudonymise))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [scrub_value(v, personal, pseudonymise) for v in value]
    if isinstance(value, str):
        return pseudonymise.scrub_text(value, ())
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
        scrubbed = pseudonymise.scrub_text(text, ())
        return value if scrubbed == text else scrubbed
    return value


def raw_of_line(
    line: str,
    personal: tuple[str, ...],
    pseudonymise: Pseudonymiser,
    prepare: Callable[[dict], dict] | None = None,
    known: tuple[str, ...] | None = None,
) -> str:
    """The quarantine `raw` of a parsed line: the object with every personal field pseudonymised, any other value
    holding a phone or an ID scrubbed (`pii_scan.scrub_value`), and of the keys outside `known` only the names
    (in `extra_columns`).

    `prepare` is the feed's own protection (coarsened coordinates) applied before the scrub."""
    obj = loads_json(line)
    if prepare is not None:
        obj = prepare(obj)
    if known is not None and not frozenset(known).issuperset(obj):
        extra = [k for k in obj if k not in known]
        obj = {k: v for k, v in obj.items() if k in known}
        obj["extra_columns"] = json.loads(extra_names(extra, pseudonymise))
    # Values beside the personal keys that hold a number first (whole when a name may stand beside it), then the
    # personal keys by name and what is merely shaped like an ID or a phone.
    scrubbed = {k: v if k in personal else pii_scan.scrub_value(v, pseudonymise) for k, v in obj.items()}
    return json.dumps(scrub_value(scrubbed, personal, pseudonymise), ensure_ascii=False)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {list: "an array", str: "a string", type(None): "null"}.get(type(value), type(value).__name__)


def show(value: Any) -> str:
    """An offending value as it was delivered (JSON text, so "5" and 5 read differently), cut short for a reason."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
