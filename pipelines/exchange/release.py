"""One release of the published warehouse, read by SQL: its observations, the catalogue and the regions.

A release is read from `marts.indicator_value_history` and `marts.releases` (PUBLISHING.md §2) when the warehouse
has them: the rows with `valid_from <= R and (valid_to is null or valid_to > R)` are what release R published. A
warehouse published before releases existed has neither table; it exports its current `marts.indicator_values`
as the release `current`, dated by `marts.warehouse_info.built_at`.

A withheld cell (`conf_status` other than `F`) is read with no value whatever the table holds: the bundle never
carries a withheld figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.lib.feeds import FEEDS

CURRENT = "current"  # the release label of a warehouse without release history
KEY = ("indicator_code", "region_code", "period", "dimension", "member")
COLUMNS = (*KEY, "period_type", "value", "unit", "conf_status")


class ReleaseError(ValueError):
    """The warehouse or the release asked for does not exist; the message says what does."""


@dataclass(frozen=True)
class Observation:
    indicator_code: str
    region_code: str
    period: str
    dimension: str
    member: str
    period_type: str
    value: float | None
    unit: str
    conf_status: str
    revised: bool  # the key's value or code differs from the release before


@dataclass(frozen=True)
class Indicator:
    code: str
    name_zh: str
    name_en: str
    unit: str
    frequency: str
    definition: str
    source: str

    @property
    def domain(self) -> str:
        """The subject area of its first source feed (lib/feeds.py): one sheet of the workbook per domain."""
        feed = self.source.split(",")[0].strip()
        return FEEDS[feed].domain if feed in FEEDS else feed


@dataclass(frozen=True)
class Region:
    code: str
    name_zh: str
    name_en: str
    level: str
    parent_code: str | None


@dataclass(frozen=True)
class Release:
    """What one bundle holds. `release_id` is an int, or `CURRENT` for a warehouse without release history."""

    release_id: int | str
    published_at: datetime  # Asia/Shanghai wall clock, no time zone
    observations: list[Observation]
    indicators: list[Indicator]
    regions: list[Region]
    labels: dict[tuple[str, str], str]  # (label_set, code) → Chinese label, from the reporting_labels seed
    note_zh: str = ""

    @property
    def folder(self) -> str:
        return f"release-{self.release_id}"


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchone()
    return bool(found and found[0])


def has_history(con: duckdb.DuckDBPyConnection) -> bool:
    return _has_table(con, "marts", "releases") and _has_table(con, "marts", "indicator_value_history")


def release_ids(con: duckdb.DuckDBPyConnection) -> list[int | str]:
    """Every release the warehouse can export, oldest first: its release ids, or `[CURRENT]`."""
    if not has_history(con):
        return [CURRENT]
    return [row[0] for row in con.execute("select release_id from marts.releases order by release_id").fetchall()]


def published_at(con: duckdb.DuckDBPyConnection, release_id: int | str) -> datetime:
    if release_id == CURRENT:
        return con.execute("select built_at from marts.warehouse_info").fetchone()[0]
    return con.execute("select published_at from marts.releases where release_id = ?", [release_id]).fetchone()[0]


def connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    """The published file, read-only (as Superset and statisticians open it)."""
    if not warehouse.is_file():
        raise ReleaseError(f"nothing is published at {warehouse}; run `innostat run` first")
    return duckdb.connect(str(warehouse), read_only=True)


def resolve(con: duckdb.DuckDBPyConnection, wanted: int | None) -> int | str:
    """The release to export: `wanted`, or the latest; an unknown release names the ones that exist."""
    ids = release_ids(con)
    if not ids:
        raise ReleaseError("the warehouse has no release yet (marts.releases is empty)")
    if wanted is None:
        return ids[-1]
    if wanted not in ids:
        if ids == [CURRENT]:
            raise ReleaseError(
                f"release {wanted} does not exist: this warehouse has no release history (marts.releases), only "
                "its current values; omit --release to export them"
            )
        known = f"{ids[0]} … {ids[-1]}" if len(ids) > 2 else ", ".join(map(str, ids))
        raise ReleaseError(f"release {wanted} does not exist; this warehouse holds releases {known}")
    return wanted


_CURRENT_SQL = """
    select indicator_code, region_code, period, dimension, member, period_type,
        case when conf_status = 'F' then value end as value, unit, conf_status, false as revised
    from marts.indicator_values
    order by indicator_code, region_code, dimension, member, period
"""

# A key is revised in R when R replaced an earlier row of it (the row that was valid until R).
_RELEASE_SQL = """
    select h.indicator_code, h.region_code, h.period, h.dimension, h.member, h.period_type,
        case when h.conf_status = 'F' then h.value end as value, h.unit, h.conf_status,
        h.valid_from = $r and exists (
            select 1 from marts.indicator_value_history as p
            where p.valid_to = $r and p.indicator_code = h.indicator_code and p.region_code = h.region_code
                and p.period = h.period and p.dimension = h.dimension and p.member = h.member
        ) as revised
    from marts.indicator_value_history as h
    where h.valid_from <= $r and (h.valid_to is null or h.valid_to > $r)
    order by h.indicator_code, h.region_code, h.dimension, h.member, h.period
"""


def read_release(con: duckdb.DuckDBPyConnection, release_id: int | str) -> Release:
    if release_id == CURRENT:
        rows = con.execute(_CURRENT_SQL).fetchall()
        note = ""
    else:
        rows = con.execute(_RELEASE_SQL, {"r": release_id}).fetchall()
        note = con.execute("select note_zh from marts.releases where release_id = ?", [release_id]).fetchone()[0]
    indicators = [
        Indicator(*row)
        for row in con.execute(
            "select code, name_zh, name_en, unit, frequency, definition, source from marts.indicators order by code"
        ).fetchall()
    ]
    regions = [
        Region(*row)
        for row in con.execute(
            "select region_code, name_zh, name_en, level, parent_code from marts.dim_region order by region_code"
        ).fetchall()
    ]
    labels = {}
    if _has_table(con, "reference", "reporting_labels"):
        labels = {
            (label_set, code): name
            for label_set, code, name in con.execute(
                "select label_set, code, name_zh from reference.reporting_labels"
            ).fetchall()
        }
    return Release(
        release_id=release_id,
        published_at=published_at(con, release_id),
        observations=[Observation(*row) for row in rows],
        indicators=indicators,
        regions=regions,
        labels=labels,
        note_zh=note or "",
    )
