"""Reading a JSON Lines file (plain or gzip) once, a large chunk at a time, into numbered batches of lines.

Memory stays bounded by one batch however big a yearly volume gets. A whole-file problem (gzip truncated or
corrupt, not UTF-8, empty, over a cap) rejects the file (`FileRejected`), possibly after some batches were
yielded: the ingestion writes a file's rows under a temporary name and keeps them only when all of it parsed.
"""

from __future__ import annotations

import contextlib
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import polars as pl

from pipelines.ingest.base import FileRejected, open_regular
from pipelines.ingest.limits import ratio_exceeded, size
from pipelines.ingest.reasons import (
    BAD_ENCODING,
    COMPRESSION_RATIO,
    CORRUPT_FILE,
    EMPTY_FILE,
    LINE_TOO_LONG,
    TOO_LARGE,
)
from pipelines.lib.settings import IngestLimits

BATCH_LINES = 100_000
# A batch also ends past this many bytes of text, so lines near the line cap cannot make one batch huge (100 000
# lines of 1 MiB would be 100 GB); typical lines (~300 bytes) never reach it before BATCH_LINES.
BATCH_BYTES = 64 << 20
_CHUNK_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = "\ufeff"
DEFAULT_LIMITS = IngestLimits()  # the caps' defaults, for a reader called outside a run (a run passes its own)


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


def iter_line_frames(
    path: Path, batch_lines: int | None = None, *, limits: IngestLimits = DEFAULT_LIMITS
) -> Iterator[pl.DataFrame]:
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
        for frame in _iter_line_chunks(path, limits):
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


def iter_line_batches(
    path: Path, batch_lines: int | None = None, *, limits: IngestLimits = DEFAULT_LIMITS
) -> Iterator[list[tuple[int, str]]]:
    """`iter_line_frames` as lists of (line number, text), for readers that want Python values."""
    for frame in iter_line_frames(path, batch_lines, limits=limits):
        yield list(frame.iter_rows())


def _iter_line_chunks(path: Path, caps: IngestLimits) -> Iterator[pl.DataFrame]:
    """Non-blank lines with their numbers, a large chunk at a time (LF never occurs inside a UTF-8 sequence, and a
    raw CR cannot occur inside valid JSON, so CRLF can be folded chunk-wise).

    Polars checks the chunk is UTF-8 while it makes the bytes a string (Rust's check, the same as Python's strict
    decoder), then splits it: four times faster than Python decoding the chunk and polars copying that string in
    (a month of a city's events: 0.45 s of 3 s). Only a chunk polars refuses is decoded by Python, for the message.
    """
    pending = b""
    first = 1
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
