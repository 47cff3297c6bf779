"""Judging a landed file against the caps on what it may cost (`IngestLimits` in pipelines/lib/settings.py: each an
`INNOSTAT_MAX_…` setting with a default far above any real delivery; docs/operations.md lists them). A file over
a cap is rejected in the ledger once, with the reason, and is never retried (its content hash is committed like
any other file's).
"""

from __future__ import annotations

from pipelines.lib.settings import GiB, MiB

__all__ = ["RATIO_FLOOR_BYTES", "GiB", "MiB", "ratio_exceeded", "size"]

# Below this much uncompressed content the ratio is not judged: small files that compress well are harmless.
RATIO_FLOOR_BYTES = 64 * MiB


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
