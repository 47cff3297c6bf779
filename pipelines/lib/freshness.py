"""Is each feed on time? Expected cadences, configurable, judged on the ledger's latest delivery.

Defaults: government services and security daily; statistics monthly; R&D filings yearly, in a filing season
(the year's filings are due between March and June of the following year). Override with a JSON file named by
`INNOSTAT_FRESHNESS_CONFIG`, e.g. {"statistics": {"max_age_days": 40}}.

A demo (`innostat demo`, `--demo`, `make demo`) is judged against its own clock, not today's: sample data end
years ago, and every feed would be "late" by years. Its clock stands at the end of the day after the data's last
day (`demo_clock`), when that day's files are in; deliveries after it (the statistics' final tables of the last
year, its R&D filings) lie in the sample's future and are not counted.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb

from pipelines.lib.feeds import ledger_dir, table_dir
from pipelines.lib.months import MONTHLY_TABLES
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
    demo_as_of: datetime | None = None  # the sample's clock, when judged as a demo

    def describe(self) -> str:
        clock = f"; sample data, judged as of {self.demo_as_of:%Y-%m-%d %H:%M}" if self.demo_as_of else ""
        if self.last_delivered_at is None:
            return f"{self.feed}: nothing delivered yet (expected {self.cadence.description}{clock})"
        state = "LATE" if self.is_late else "on time"
        return (
            f"{self.feed}: {state}; last delivery {self.last_delivered_at:%Y-%m-%d %H:%M} "
            f"({self.age_days:.1f} days ago; expected {self.cadence.description}{clock})"
        )


def _ledger(raw_dir: Path) -> list[str]:
    return [str(p) for p in ledger_dir(raw_dir).glob("*.parquet")]


def last_delivery(raw_dir: Path, feed: str | None = None, until: datetime | None = None) -> datetime | None:
    """The latest delivery time (Asia/Shanghai) of a loaded file of `feed` (of any feed when None), at or
    before `until` when given."""
    ledger = _ledger(raw_dir)
    if not ledger:
        return None
    con = duckdb.connect()
    try:
        (latest,) = con.execute(
            "select max(delivered_at) from read_parquet(?) where status = 'loaded' "
            "and (? is null or feed = ?) and (? is null or delivered_at <= ?)",
            [ledger, feed, feed, until, until],
        ).fetchone()
    finally:
        con.close()
    return latest


def data_end(raw_dir: Path) -> date | None:
    """The latest day the daily feeds (government services, security) hold rows for."""
    ends = []
    con = duckdb.connect()
    try:
        for table, column in MONTHLY_TABLES.items():
            files = [str(p) for p in table_dir(raw_dir, table).glob("*.parquet")]
            if files:
                (end,) = con.execute(f"select max(cast({column} as date)) from read_parquet(?)", [files]).fetchone()
                if end is not None:
                    ends.append(end)
    finally:
        con.close()
    return max(ends, default=None)


def demo_clock(raw_dir: Path) -> datetime | None:
    """A demo's "now": the end of the day after its data's last day (that day's files come in the next morning);
    without daily data, its latest delivery. None when nothing was delivered."""
    end = data_end(raw_dir)
    if end is not None:
        return datetime.combine(end + timedelta(days=2), datetime.min.time())
    return last_delivery(raw_dir)


def assess(raw_dir: Path, feed: str, now: datetime | None = None, *, demo: bool = False) -> Freshness:
    """Is `feed` late at `now` (default: the present, or a demo's own clock when `demo`)?"""
    cadence = cadences()[feed]
    as_of = demo_clock(raw_dir) if demo and now is None else None
    now = now or as_of or datetime.now(SHANGHAI).replace(tzinfo=None)
    last = last_delivery(raw_dir, feed, until=as_of)
    if last is None:
        return Freshness(feed, cadence, None, None, True, as_of)
    age = (now - last) / timedelta(days=1)
    late = age > cadence.max_age_days
    if late and cadence.season_months:
        first, final = cadence.season_months
        in_season = first <= now.month <= final
        # during the season this year's filings may still come; a delivery since the season opened is on time
        season_start = datetime(now.year, first, 1)
        late = not in_season and last < season_start
    return Freshness(feed, cadence, last, age, late, as_of)
