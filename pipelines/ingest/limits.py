"""Caps on what one landed file may cost, so no file can take the run past its memory budget (4 GiB).

Every cap is a setting (environment variable, read when a file is parsed) with a default far above any real
delivery; docs/operations.md lists them. A file over a cap is rejected in the ledger once, with the reason, and is
never retried (its content hash is committed like any other file's).
"""

from __future__ import annotations

from dataclasses import dataclass

from pipelines.lib.environment import number_setting

MiB = 1 << 20
GiB = 1 << 30

# Below this much uncompressed content the ratio is not judged: small files that compress well are harmless.
RATIO_FLOOR_BYTES = 64 * MiB


@dataclass(frozen=True)
class Limits:
    csv_bytes: int  # a CSV file is read whole: its size on disk
    decompressed_bytes: int  # a .jsonl.gz file's uncompressed content
    compression_ratio: float  # uncompressed / compressed, for gzip and for the xlsx zip container
    line_bytes: int  # one JSON Lines line
    cell_chars: int  # one CSV or xlsx cell
    xlsx_bytes: int  # the uncompressed content of an xlsx workbook (its sheets are read whole)


_SETTINGS = {  # field → (environment variable, default, parse)
    "csv_bytes": ("INNOSTAT_MAX_CSV_BYTES", 256 * MiB, int),
    "decompressed_bytes": ("INNOSTAT_MAX_DECOMPRESSED_BYTES", 8 * GiB, int),
    "compression_ratio": ("INNOSTAT_MAX_COMPRESSION_RATIO", 100.0, float),
    "line_bytes": ("INNOSTAT_MAX_LINE_BYTES", 1 * MiB, int),
    "cell_chars": ("INNOSTAT_MAX_CELL_CHARS", 4096, int),
    "xlsx_bytes": ("INNOSTAT_MAX_XLSX_BYTES", 128 * MiB, int),
}


def limits() -> Limits:
    """The caps in force: each `INNOSTAT_MAX_…` variable, else its default. A value that is not a positive number
    raises ValueError naming the variable."""
    return Limits(
        **{
            name: number_setting(variable, default, parse, lambda n: n > 0, "a positive number")
            for name, (variable, default, parse) in _SETTINGS.items()
        }
    )


def ratio_exceeded(uncompressed: int, compressed: int, cap: float) -> bool:
    """True when `uncompressed` bytes from `compressed` bytes on disk expand more than `cap` times (judged only
    past `RATIO_FLOOR_BYTES`)."""
    return uncompressed > RATIO_FLOOR_BYTES and uncompressed > cap * max(compressed, 1)


def size(n: float) -> str:
    """Bytes for a message: `200 MiB`."""
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.0f} {unit}"
    return f"{n:.0f} bytes"
