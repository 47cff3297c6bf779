"""Streaming reader and column builders shared by the JSON Lines feeds (gov_services, security incidents).

A file is read once, a large chunk at a time, split into lines by polars and handed on in batches of at most
`BATCH_LINES` lines, so memory stays bounded by one batch however big a yearly volume gets. A whole-file problem
(gzip truncated or corrupt, not UTF-8, empty) is found on the way and rejects the file: the ingestion runner keeps
a file's rows only when all of it parsed, so a rejected file leaves no row. Within a batch the plain lines (see
`split_plain`) are recognised by a strict pattern and typed column-wise by an in-memory DuckDB; every other line
is decoded once in Python (orjson when the environment has it), which stays the authority: both give identical
rows. Typing and the rules are then column-wise polars.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import re
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import repeat
from pathlib import Path
from typing import IO, Any

import polars as pl

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileRejected, Rule, open_regular, split_by_rules
from pipelines.ingest.limits import limits, ratio_exceeded, size
from pipelines.ingest.reasons import (
    BAD_ENCODING,
    BAD_JSON,
    COMPRESSION_RATIO,
    CORRUPT_FILE,
    EMPTY_FILE,
    LINE_TOO_LONG,
    TOO_LARGE,
)
from pipelines.lib import pii_scan
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.timeparse import try_parse_iso

BATCH_LINES = 100_000
# A batch also ends past this many bytes of text, so lines near the line cap cannot make one batch huge (100 000
# lines of 1 MiB would be 100 GB); typical lines (~300 bytes) never reach it before BATCH_LINES.
BATCH_BYTES = 64 << 20
_CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
_SHOWN_CHARS = 60  # offending values are cut to this length in reasons

try:  # orjson is a transitive dependency today; the stdlib is the fallback, never a requirement
    import orjson

    _loads = orjson.loads
    _JSON_ERRORS: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - exercised only where orjson is absent

    def _reject_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    def _loads(text: str) -> Any:
        # NaN/Infinity are not JSON: reject them as orjson does, so both decoders quarantine the same lines.
        return json.loads(text, parse_constant=_reject_constant)

    _JSON_ERRORS = (ValueError,)


# --------------------------------------------------------------------------------------------- reading lines


@contextlib.contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    with open_regular(path) as handle:
        if path.name.lower().endswith(".gz"):
            with gzip.GzipFile(fileobj=handle, mode="rb") as unzipped:
                yield unzipped  # type: ignore[misc]
        else:
            yield handle


_READ_ERRORS = (OSError, EOFError, zlib.error)  # gzip.BadGzipFile is an OSError


def _unreadable(path: Path, err: BaseException) -> FileRejected:
    if path.name.lower().endswith(".gz"):
        return FileRejected(
            f"the gzip file is truncated or corrupt ({type(err).__name__}: {err}); re-deliver the complete file",
            CORRUPT_FILE,
            type(err).__name__,
        )
    return FileRejected(f"the file cannot be read ({type(err).__name__}: {err}); re-deliver it", CORRUPT_FILE)


def _refuse_gzip_named_jsonl(path: Path) -> None:
    if path.name.lower().endswith(".gz"):
        return
    with open_regular(path) as handle:
        if handle.read(2) == _GZIP_MAGIC:
            raise FileRejected(
                "the file is gzip-compressed but named .jsonl; rename it to .jsonl.gz and deliver it again",
                CORRUPT_FILE,
                "gzip named .jsonl",
            )


def _not_utf8(err: UnicodeDecodeError, data: bytes, first_line: int, *, last: bool) -> FileRejected:
    if last and err.end == len(data) and "unexpected end" in err.reason:
        return FileRejected(
            "the file is not valid UTF-8 (it ends inside a multi-byte character); re-deliver it complete",
            BAD_ENCODING,
        )
    line = first_line + data[: max(err.start, 0)].count(b"\n")
    return FileRejected(
        f"the file is not valid UTF-8 (undecodable bytes near line {line}); the contract requires "
        "UTF-8 JSON Lines: re-export it as UTF-8 and deliver it again",
        BAD_ENCODING,
        f"line {line}",
    )


def _empty() -> FileRejected:
    return FileRejected(
        "the file is empty (no JSON lines); the source system should re-deliver it with its records", EMPTY_FILE
    )


# Exactly the characters Python's str.isspace() accepts (tests/ingest/test_jsonlines.py holds the two equal): a line
# of only these is blank, as `str.strip` would leave it empty. Rust's \s would differ on U+001C..U+001F.
_BLANK_LINE = "^[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"
LINE_SCHEMA = {"source_row": pl.Int64(), "line": pl.String()}


def iter_line_frames(path: Path, batch_lines: int | None = None) -> Iterator[pl.DataFrame]:
    """Batches of at most `batch_lines` (default `BATCH_LINES`, read at call time) non-blank lines and about
    `BATCH_BYTES` of text (plus one read chunk), as frames of
    `source_row` (1-based line number; blank lines are counted, not rows) and `line` (the text without its break).

    Lines are split on LF only (a JSON string may hold U+2028 and the like); a leading UTF-8 BOM is dropped. The
    file is read once, a large chunk at a time, and split by polars: no Python object per line.
    Raises `FileRejected` when the file is corrupt or truncated, not UTF-8, or empty, possibly after some batches
    were yielded: the caller discards them (the ingestion runner writes a file's rows under a temporary name and
    keeps them only when the whole file parsed).
    """
    _refuse_gzip_named_jsonl(path)
    batch_lines = batch_lines or BATCH_LINES
    pending = pl.DataFrame(schema=LINE_SCHEMA)
    seen_any = False
    try:
        for frame in _iter_line_chunks(path):
            seen_any = seen_any or frame.height > 0
            pending = pl.concat([pending, frame]) if pending.height else frame
            while pending.height >= batch_lines:
                yield pending.head(batch_lines)
                pending = pending.slice(batch_lines)
            if pending.height and pending.estimated_size() > BATCH_BYTES:  # long lines: fewer of them a batch
                yield pending
                pending = pending.clear()
    except _READ_ERRORS as err:
        raise _unreadable(path, err) from err
    if not seen_any:
        raise _empty()
    if pending.height:
        yield pending


def iter_line_batches(path: Path, batch_lines: int | None = None) -> Iterator[list[tuple[int, str]]]:
    """`iter_line_frames` as lists of (line number, text), for readers that want Python values."""
    for frame in iter_line_frames(path, batch_lines):
        yield list(frame.iter_rows())


def _iter_line_chunks(path: Path) -> Iterator[pl.DataFrame]:
    """Non-blank lines with their numbers, a large chunk at a time (LF never occurs inside a UTF-8 sequence, and a
    raw CR cannot occur inside valid JSON, so CRLF can be folded chunk-wise).

    Polars checks the chunk is UTF-8 while it makes the bytes a string (Rust's check, the same as Python's strict
    decoder), then splits it: four times faster than Python decoding the chunk and polars copying that string in
    (a month of a city's events: 0.45 s of 3 s). Only a chunk polars refuses is decoded by Python, for the message.
    """
    pending = b""
    first = 1
    caps = limits()
    on_disk = path.stat().st_size
    gzipped = path.name.lower().endswith(".gz")
    total = 0
    with _open(path) as handle:
        while True:
            chunk = handle.read(_CHUNK_BYTES * 8)
            total += len(chunk)
            if gzipped:
                _check_expansion(total, on_disk, caps.decompressed_bytes, caps.compression_ratio)
            data = pending + chunk
            end = data.rfind(b"\n") if chunk else len(data)
            if end < 0:
                pending = data
                if len(pending) > caps.line_bytes:
                    raise _line_too_long(first, caps.line_bytes)
                continue
            if len(data) - end - 1 > caps.line_bytes:
                raise _line_too_long(first + data.count(b"\n", 0, end) + 1, caps.line_bytes)
            pending = data[end + 1 :]
            delivered = raw = data[:end]
            if first == 1 and raw.startswith(_BOM_BYTES):
                raw = raw[len(_BOM_BYTES) :]
            if b"\r" in raw:
                raw = raw.replace(b"\r\n", b"\n")
                raw = raw[:-1] if raw.endswith(b"\r") else raw
            if raw or chunk:
                lines = _utf8_lines(raw, delivered, first, last=not chunk)
                too_long = (lines.str.len_bytes() > caps.line_bytes).arg_true()
                if too_long.len():
                    raise _line_too_long(first + too_long[0], caps.line_bytes)
                numbered = pl.DataFrame(
                    [pl.int_range(first, first + lines.len(), dtype=pl.Int64, eager=True).alias("source_row"), lines]
                )
                yield numbered.filter(~pl.col("line").str.contains(_BLANK_LINE))
                first += lines.len()
            if not chunk:
                return


_BOM_BYTES = _BOM.encode("utf-8")


def _check_expansion(total: int, on_disk: int, cap: int, ratio: float) -> None:
    """Reject a gzip file whose content grows past the size cap or the ratio cap (a gzip bomb), while streaming:
    nothing past one chunk is ever held."""
    if total > cap:
        raise FileRejected(
            f"the gzip file expands beyond {size(cap)} (INNOSTAT_MAX_DECOMPRESSED_BYTES); split it into smaller files",
            TOO_LARGE,
            f"> {size(cap)} uncompressed",
        )
    if ratio_exceeded(total, on_disk, ratio):
        raise FileRejected(
            f"the gzip file expands more than {ratio:g} times ({size(on_disk)} → over {size(total)}; "
            "INNOSTAT_MAX_COMPRESSION_RATIO): a gzip bomb or a file of filler, not event data",
            COMPRESSION_RATIO,
            f"> {total / max(on_disk, 1):.0f}×",
        )


def _line_too_long(line: int, cap: int) -> FileRejected:
    return FileRejected(
        f"line {line} is longer than {size(cap)} (INNOSTAT_MAX_LINE_BYTES): no event is that long; re-deliver the "
        "file with one JSON object per line",
        LINE_TOO_LONG,
        f"line {line}",
    )


def _utf8_lines(raw: bytes, delivered: bytes, first_line: int, *, last: bool) -> pl.Series:
    """`raw` split on LF into a String series; `FileRejected` (via Python's decoder, on the bytes as delivered,
    so the message names the right line) when it is not UTF-8."""
    try:
        text = pl.Series("line", [raw], dtype=pl.Binary).cast(pl.String)
    except (pl.exceptions.ComputeError, pl.exceptions.InvalidOperationError):  # polars: "invalid utf8"
        try:
            delivered.decode("utf-8")
        except UnicodeDecodeError as err:
            raise _not_utf8(err, delivered, first_line, last=last) from err
        raise  # polars refused what Python accepts: a bug to report, never a silent loss
    return text.str.split("\n").explode()


# --------------------------------------------------------------------------------------------- decoding objects


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
            obj = _loads(line)
        except _JSON_ERRORS as err:
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
    obj = _loads(line)
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
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


# --------------------------------------------------------------------------------------------- typed columns
# Each builder returns (typed series, offending series): the second holds the delivered value as short text
# wherever it could not be typed (null elsewhere), so a rule can quarantine the row and name the value.


def _no_offence(name: str, length: int) -> pl.Series:
    return pl.repeat(None, length, dtype=pl.String, eager=True).alias(f"__bad_{name}")


def text_column(name: str, values: list[Any], *, strict_id: bool = False) -> tuple[pl.Series, pl.Series]:
    """Strings, stripped; empty means absent. Integers become their digits (an id sent as 12 is "12").

    Other JSON values (true, 1.5, arrays, objects) are kept as their JSON text too, unless `strict_id`, where
    they offend (an id must be a string or an integer).
    """
    try:
        series = pl.Series(name, values, dtype=pl.String, strict=True)
        bad = _no_offence(name, len(values))
    except TypeError:
        typed: list[str | None] = []
        offending: list[str | None] = []
        for v in values:
            if v is None or isinstance(v, str):
                typed.append(v)
                offending.append(None)
            elif isinstance(v, int | float) and not isinstance(v, bool) and (text := _number_text(v)) is not None:
                typed.append(text)
                offending.append(None)
            elif strict_id:
                typed.append(None)
                offending.append(show(v))
            else:
                typed.append(json.dumps(v, ensure_ascii=False))
                offending.append(None)
        series = pl.Series(name, typed, dtype=pl.String)
        bad = pl.Series(f"__bad_{name}", offending, dtype=pl.String)
    stripped = series.str.strip_chars()
    return stripped.set(stripped == "", None), bad


def _number_text(value: int | float) -> str | None:
    """An integer's digits (12.0 and 12 name the same id); None for fractions and for floats too large to be
    exact (orjson reads integers beyond 64 bits as floats), which cannot name an id."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return None


def int_column(name: str, values: list[Any]) -> tuple[pl.Series, pl.Series]:
    """JSON integers; 5.0 counts as 5. Strings ("5"), booleans, fractions and out-of-range numbers offend."""
    if bool not in set(map(type, values)):
        try:
            return pl.Series(name, values, dtype=pl.Int64, strict=True), _no_offence(name, len(values))
        except (TypeError, OverflowError):
            pass
    typed: list[int | None] = []
    offending: list[str | None] = []
    for v in values:
        number = None
        if v is None:
            typed.append(None)
            offending.append(None)
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            number = v
        elif isinstance(v, float) and v.is_integer():
            number = int(v)
        if number is not None and -(2**63) <= number < 2**63:
            typed.append(number)
            offending.append(None)
        else:
            typed.append(None)
            offending.append(show(v))
    return pl.Series(name, typed, dtype=pl.Int64), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


def float_column(name: str, values: list[Any]) -> tuple[pl.Series, pl.Series]:
    """JSON numbers as Float64. Strings ("26.88") and booleans offend."""
    if bool not in set(map(type, values)):
        try:
            return pl.Series(name, values, dtype=pl.Float64, strict=True), _no_offence(name, len(values))
        except (TypeError, OverflowError):
            pass
    typed: list[float | None] = []
    offending: list[str | None] = []
    for v in values:
        if v is None:
            typed.append(None)
            offending.append(None)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            typed.append(float(v))
            offending.append(None)
        else:
            typed.append(None)
            offending.append(show(v))
    return pl.Series(name, typed, dtype=pl.Float64), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


# The shape almost every event has, parsed column-wise by polars; everything else goes to `try_parse_iso`, which
# stays the authority (polars would also take year 0000 or a leap second, 23:59:60, that Python rejects: the
# gate excludes them).
_FAST_ISO = (
    r"^[12]\d{3}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)
_HAS_OFFSET = r"(?:Z|[+-]\d{2}:\d{2})$"
_UTC_TO_SHANGHAI = timedelta(hours=8)  # fixed +08:00, as timeparse.SHANGHAI (no DST since 1991)
_UNPARSEABLE = object()


def timestamp_column(name: str, values: list[Any] | pl.Series, cache: dict[str, Any]) -> tuple[pl.Series, pl.Series]:
    """ISO 8601 text → naive Asia/Shanghai `Datetime("us")`; empty or null is absent; anything else offends.

    The common shape is parsed by polars; the rest row by row through `try_parse_iso`, with `cache` (text →
    parse, kept for one file) because re-sent records repeat their timestamps.
    """
    if isinstance(values, pl.Series):  # the fast path's column: strings or null only
        texts = values.alias(name)
    else:
        try:
            texts = pl.Series(name, values, dtype=pl.String, strict=True)
        except TypeError:
            texts = pl.Series(name, [v if isinstance(v, str) else None for v in values], dtype=pl.String)
    frame = pl.DataFrame({"t": texts})
    fast = frame.select(
        pl.when(pl.col("t").str.contains(_FAST_ISO))
        .then(
            pl.when(pl.col("t").str.contains(_HAS_OFFSET))
            .then(pl.col("t").str.replace("Z", "+00:00", literal=True))
            .otherwise(pl.col("t") + "+08:00")
        )
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us")
        .dt.replace_time_zone(None)
        .alias(name)
    ).to_series()
    fast = fast + _UTC_TO_SHANGHAI
    if isinstance(values, pl.Series):
        delivered = values.is_not_null()
    else:
        delivered = pl.Series([v is not None for v in values], dtype=pl.Boolean)
    leftover = (fast.is_null() & delivered).arg_true().to_list()
    offending: list[str | None] = [None] * len(values)
    if leftover:
        if len(cache) > 500_000:
            cache.clear()
        parsed_rows: list[datetime | None] = []
        left_values = values.gather(leftover).to_list() if isinstance(values, pl.Series) else None
        for j, i in enumerate(leftover):
            v = values[i] if left_values is None else left_values[j]
            if isinstance(v, str):
                if v in cache:
                    parsed = cache[v]
                else:
                    parsed = None if not v.strip() else (try_parse_iso(v) or _UNPARSEABLE)
                    cache[v] = parsed
            else:
                parsed = _UNPARSEABLE
            if parsed is _UNPARSEABLE:
                offending[i] = show(v)
                parsed = None
            parsed_rows.append(parsed)
        fast = fast.scatter(leftover, pl.Series(parsed_rows, dtype=pl.Datetime("us")))
    return fast.alias(name), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


def pseudonym_column(name: str, values: Iterable[Any], pseudonymise: Pseudonymiser) -> pl.Series:
    """Personal values → keyed pseudonyms; the clear value never enters a frame."""
    return pl.Series(name, [None if v is None else pseudonymise(v) for v in values], dtype=pl.String)


# --------------------------------------------------------------------------------------------- the plain-line fast path
# Almost every delivered line is "plain": an object whose keys are all known, each at most once, and whose values
# are null or exactly the simple JSON type the field expects. A strict pattern (polars regex, the exact JSON grammar
# of that subset) recognises them, an in-memory DuckDB types them column-wise (json_transform), orjson reads their
# escaped strings; every other line goes through `decode_batch` and the list builders above, which stay the
# authority. Both give identical rows (tests/ingest/test_json_fast_path.py).

FAST_PATH = True  # tests switch it off to compare against the Python path

_WS = r"[ \t]*"  # JSON whitespace but CR (a lone CR stays in a line): such lines just take the Python path
# Strings: no raw control character; escapes as JSON allows, but no surrogate escape (orjson rejects a lone one).
_STR = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))*"'
_INT = r"(?:0|-?[1-9][0-9]{0,17})"  # fits Int64; no -0 (Python reads 0)
_NUM = r"(?:(?:0|-?[1-9][0-9]{0,15})(?:\.[0-9]{1,17})?|-0\.[0-9]{1,17})"  # no exponent, no -0 integer
_TOKENS = {  # field kind → the JSON values a plain line may hold there
    "text": f"{_STR}|{_INT}|null",  # strings, or integers kept as their digits (ids included)
    "str": f"{_STR}|null",  # timestamps and personal fields: strings only
    "int": f"{_INT}|null",
    "num": f"{_NUM}|null",
}


@functools.cache
def _plain_query(kinds: tuple[tuple[str, str], ...]) -> tuple[str, str, str]:
    """(the gate: a regex true exactly for the plain grammar, the DuckDB query typing the gated lines, the DuckDB
    query counting the distinct known keys present)."""
    # No space before a colon (what serialisers write), so `":` counts the keys below.
    member = "|".join(f'"{re.escape(k)}":{_WS}(?:{_TOKENS[kind]})' for k, kind in kinds)
    member = f"(?:{member})"
    gate = f"^{_WS}\\{{{_WS}(?:{member}(?:{_WS},{_WS}{member})*)?{_WS}\\}}{_WS}$"
    types = {"text": "VARCHAR", "str": "VARCHAR", "int": "BIGINT", "num": "DOUBLE"}
    spec = json.dumps({k: types[kind] for k, kind in kinds})
    paths = ", ".join(f"'$.\"{k}\"'" for k, _ in kinds)
    typed = f"SELECT source_row, unnest(json_transform(line, '{spec}')) FROM __plain_lines"
    present = f"SELECT list_sum(json_exists(line, [{paths}])::INTEGER[]) AS present FROM __plain_lines"
    return gate, typed, present


_duck = threading.local()


def _duckdb(query: str, lines: pl.DataFrame) -> pl.DataFrame:
    """`query` over `lines` (as table __plain_lines) in an in-memory DuckDB of this thread (never the warehouse),
    single-threaded like the rest of ingestion."""
    con = getattr(_duck, "con", None)
    if con is None:
        import duckdb

        con = _duck.con = duckdb.connect(":memory:", config={"threads": 1})
    con.register("__plain_lines", lines.to_arrow())
    try:
        result = pl.from_arrow(con.sql(query).to_arrow_table())
    finally:
        con.unregister("__plain_lines")
    assert isinstance(result, pl.DataFrame)
    return result


def split_plain(batch: Lines, kinds: dict[str, str]) -> tuple[pl.DataFrame | None, list[tuple[int, str]]]:
    """(plain lines as a typed frame with `source_row` and one column per field, the other lines).

    Kinds: "text" (string, or integer kept as its digits → String), "str" (string → String), "int" (→ Int64),
    "num" (→ Float64); null and absent are null. A string holding an escape is read by orjson itself.
    A line is plain when the gate passes (valid JSON of that shape, known keys only) and no key repeats.
    """
    if not FAST_PATH or not len(batch):
        return None, line_pairs(batch)
    gate, typed_query, present_query = _plain_query(tuple(kinds.items()))
    frame = line_frame(batch)
    gated = frame.filter(pl.col("line").str.contains(gate))
    if not gated.height:
        return None, line_pairs(batch)
    # Every key is `"name":`, and a string can only add `\":`: the count is at least the number
    # of keys. When it equals the number of distinct keys present, no key repeats (DuckDB would keep the first
    # copy, orjson the last). Most lines have no explicit null: there, the non-null fields already are that number.
    keys = gated.select(pl.col("line").str.count_matches('":', literal=True)).to_series()
    try:
        typed = _duckdb(typed_query, gated)
        aligned = typed["source_row"] == gated["source_row"]  # DuckDB keeps the order; checked all the same
        non_null = typed.select(pl.sum_horizontal([pl.col(k).is_not_null() for k in kinds])).to_series()
        plain_mask = aligned & (keys == non_null)
        unsure = (aligned & ~plain_mask).arg_true()
        if unsure.len():
            present = _duckdb(present_query, gated[unsure])["present"]
            plain_mask = plain_mask.scatter(unsure, keys.gather(unsure) == present)
    except Exception:  # DuckDB refusing a line must never lose it: the Python path takes the whole batch
        return None, line_pairs(batch)
    plain = typed.filter(plain_mask)
    plain = plain.with_columns(*(pl.col(name).cast(_DTYPES[kind]) for name, kind in kinds.items()))
    rest = (
        frame.filter(~pl.col("source_row").is_in(plain["source_row"].implode())) if plain.height < frame.height else []
    )
    plain_lines = gated.filter(plain_mask)["line"]
    escaped = plain_lines.str.contains("\\", literal=True).arg_true()
    if escaped.len():
        plain = _read_escaped(plain, plain_lines.gather(escaped).to_list(), escaped, kinds)
    return plain, line_pairs(rest)


_DTYPES = {"text": pl.String(), "str": pl.String(), "int": pl.Int64(), "num": pl.Float64()}


def _read_escaped(plain: pl.DataFrame, lines: list[str], rows: pl.Series, kinds: dict[str, str]) -> pl.DataFrame:
    """Strings of the lines holding an escape, decoded by orjson (the Python path's own decoder)."""
    objects = [_loads(line) for line in lines]
    columns = []
    for name, kind in kinds.items():
        if kind not in ("text", "str"):
            continue
        values = [None if (v := obj.get(name)) is None else v if isinstance(v, str) else str(v) for obj in objects]
        columns.append(plain[name].scatter(rows, pl.Series(values, dtype=pl.String)))
    return plain.with_columns(columns)


def text_series(name: str, values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`text_column` for the fast path's String column."""
    stripped = values.alias(name).str.strip_chars()
    return stripped.set(stripped == "", None), _no_offence(name, len(values))


def no_offence(name: str, length: int) -> pl.Series:
    return _no_offence(name, length)


def map_unique(name: str, values: pl.Series, function: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """`function` applied to the non-null values (null stays null), to each distinct value once when they repeat."""
    rows = values.is_not_null().arg_true()
    delivered = values.gather(rows)
    distinct = delivered.unique()
    if not distinct.len():
        return pl.repeat(None, len(values), dtype=dtype, eager=True).alias(name)
    if 2 * distinct.len() > delivered.len():  # mostly distinct: mapping back would cost more than it saves
        mapped = pl.Series([function(v) for v in delivered.to_list()], dtype=dtype)
        return pl.repeat(None, len(values), dtype=dtype, eager=True).scatter(rows, mapped).alias(name)
    mapped = pl.Series([function(v) for v in distinct.to_list()], dtype=dtype)
    return values.replace_strict(distinct, mapped, return_dtype=dtype).alias(name)


def pseudonym_series(name: str, values: pl.Series, pseudonymise: Pseudonymiser) -> pl.Series:
    """`pseudonym_column` for the fast path's String column, each distinct value pseudonymised once."""
    return map_unique(name, values, pseudonymise, pl.String())


# --------------------------------------------------------------------------------------------- rules and output


def cut(column: str) -> pl.Expr:
    """A delivered text value, cut short for a reason."""
    return pl.col(column).str.slice(0, _SHOWN_CHARS)


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
