"""Reference data: the region codes a feed may use (the project's own copy of the contract's regions.csv)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache

from pipelines.lib.settings import SEEDS_DIR

DISTRICT_CODE = "430406"


@dataclass(frozen=True)
class Regions:
    codes: frozenset[str]
    street_codes: frozenset[str]  # 12-digit streets and towns of the district
    names: dict[str, str]


@cache
def load_regions() -> Regions:
    with open(SEEDS_DIR / "regions.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    codes = frozenset(row["region_code"] for row in rows)
    streets = frozenset(code for code in codes if len(code) == 12)
    return Regions(codes=codes, street_codes=streets, names={r["region_code"]: r["name_zh"] for r in rows})
