"""Sample landing zone for Yanfeng District: every feed of FEEDS.md with its messy cases, and a manifest
that says what ingestion must make of it.

It is the independent oracle for ingestion: it imports nothing from `pipelines.ingest`, `pipelines.lib`
or python-stdnum, and computes its facts from its own simulation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import gov_services, rd_filings, security, statistics
from .common import FEEDS, FIRST_YEAR, LAST_YEAR, REGION_DISTRICT, Landing

__all__ = ["generate_landing"]

FOLDERS = ["statistics", "rd_filings", "gov_services", "security/incidents", "security/cameras"]
HEADLINE = ["GDP", "RD_EXPENDITURE", "HT_VALUE_ADDED"]


def generate_landing(
    out_dir: Path,
    *,
    seed: int = 20200101,
    scale: float = 1.0,
    years: tuple[int, int] = (2019, 2022),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write a landing zone under `out_dir` (byte- and mtime-identical for the same arguments) and return
    its manifest: planted bad rows, expected quarantine counts, every clear personal value, and facts."""
    out_dir = Path(out_dir)
    first, last = years
    if not FIRST_YEAR <= first <= last <= LAST_YEAR:
        raise ValueError(f"years must lie within {FIRST_YEAR}-{LAST_YEAR} (deliveries run a year past the end)")
    if not scale > 0:
        raise ValueError("scale must be positive")
    occupied = [f for f in FOLDERS if (out_dir / f).is_dir() and any((out_dir / f).iterdir())]
    if occupied:
        raise FileExistsError(f"{out_dir} already holds landed files in {', '.join(occupied)}; use an empty folder")
    for folder in FOLDERS:
        (out_dir / folder).mkdir(parents=True, exist_ok=True)

    landing = Landing(out_dir, seed, scale, (first, last), progress or (lambda _message: None))
    statistics.generate(landing)
    rd_filings.generate(landing)
    gov_services.generate(landing)
    security.generate_incidents(landing)
    security.generate_cameras(landing)

    planted = sorted(landing.planted, key=lambda p: (FEEDS.index(p["feed"]), p["file"], p["sheet"] or "", p["row"]))
    counts = Counter(p["feed"] for p in planted)
    district = landing.facts["statistics_current"].get(REGION_DISTRICT, {})
    headline = {
        str(year): {code: district.get(str(year), {}).get(code) for code in HEADLINE} for year in range(first, last + 1)
    }
    return {
        "generator": "pipelines.generate",
        "seed": seed,
        "scale": scale,
        "years": [first, last],
        "files": {feed: landing.files[feed] for feed in FEEDS},
        "duplicate_files": sorted(landing.duplicates),
        "quarantine_expected": {feed: counts[feed] for feed in FEEDS},
        "quarantine_planted": planted,
        "pii_values": sorted(landing.pii),
        "headline_430406_yuan": headline,
        "facts": landing.facts,
    }
