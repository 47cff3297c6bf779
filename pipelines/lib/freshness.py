"""Is each feed on time? Expected cadences, configurable, judged on the ledger's latest delivery.

Defaults: government services and security daily; statistics monthly; R&D filings yearly, in a filing season
(the year's filings are due between March and June of the following year). Override with a JSON file named by
`INNOSTAT_FRESHNESS_CONFIG`, e.g. {"statistics": {"max_age_days": 40}}.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.timeparse import SHANGHAI


@dataclass(frozen=True)
class Cadence:
    description: str
    max_age_days: float  # a delivery older than this (outside the season) makes the feed late
    season_months: tuple[int, int] | None = None  # only judged late after the season's last month


DEFAULT_CADENCES: dict[str, Cadence] = {
    "statistics": Cadence("monthly (统计月报)", max_age_days=35),
    "rd_filings": Cadence("yearly, filing season March–June", max_age_days=366, season_months=(3, 6)),
    "gov_services": Cadence("daily", max_age_days=1.5),
    "security_incidents": Cadence("daily", max_age_days=1.5),
    "security_cameras": Cadence("daily (雪亮 snapshot)", max_age_days=1.5),
}


def cadences() -> dict[str, Cadence]:
    configured = os.environ.get("INNOSTAT_FRESHNESS_CONFIG")
    result = dict(DEFAULT_CADENCES)
    if configured:
        overrides = json.loads(Path(configured).read_text(encoding="utf-8"))
        for feed, values in overrides.items():
            if feed not in result:
                raise ValueError(f"{configured}: unknown feed {feed!r}; known: {', '.join(result)}")
            if "season_months" in values and values["season_months"] is not None:
                values["season_months"] = tuple(values["season_months"])
            result[feed] = replace(result[feed], **values)
    return result


@dataclass(frozen=True)
class Freshness:
    feed: str
    cadence: Cadence
    last_delivered_at: datetime | None
    age_days: float | None
    is_late: bool

    def describe(self) -> str:
        if self.last_delivered_at is None:
            return f"{self.feed}: nothing delivered yet (expected {self.cadence.description})"
        state = "LATE" if self.is_late else "on time"
        return (
            f"{self.feed}: {state}; last delivery {self.last_delivered_at:%Y-%m-%d %H:%M} "
            f"({self.age_days:.1f} days ago; expected {self.cadence.description})"
        )


def last_delivery(raw_dir: Path, feed: str) -> datetime | None:
    ledger = list((raw_dir / "ingest_ledger").glob("*.parquet"))
    if not ledger:
        return None
    con = duckdb.connect()
    try:
        (latest,) = con.execute(
            "select max(delivered_at) from read_parquet(?) where feed = ? and status = 'loaded'",
            [[str(p) for p in ledger], feed],
        ).fetchone()
    finally:
        con.close()
    return latest


def assess(raw_dir: Path, feed: str, now: datetime | None = None) -> Freshness:
    cadence = cadences()[feed]
    now = now or datetime.now(SHANGHAI).replace(tzinfo=None)
    last = last_delivery(raw_dir, feed)
    if last is None:
        return Freshness(feed, cadence, None, None, True)
    age = (now - last) / timedelta(days=1)
    late = age > cadence.max_age_days
    if late and cadence.season_months:
        first, final = cadence.season_months
        in_season = first <= now.month <= final
        # during the season this year's filings may still come; a delivery since the season opened is on time
        season_start = datetime(now.year, first, 1)
        late = not in_season and last < season_start
    return Freshness(feed, cadence, last, age, late)
