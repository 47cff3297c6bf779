"""计量单位 and the statistics indicator catalogue (FEEDS.md §1).

Every delivered value is stored in base units (yuan, persons, count), so a revision delivered in 万元 after a
first delivery in 亿元 compares like with like. Factors are Decimals: 236.40 亿元 is exactly 23 640 000 000 yuan.
`%` is a unit of the contract (kind `ratio`, base 0–1), but no statistics indicator is a ratio, so a `%` row
never fits and is quarantined.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Literal, NamedTuple

from pipelines.lib.numbers import SPACES

UnitKind = Literal["money", "persons", "count", "ratio"]

BASE_UNIT: dict[str, str] = {"money": "yuan", "persons": "persons", "count": "count", "ratio": "ratio"}


class Unit(NamedTuple):
    kind: UnitKind
    factor: Decimal  # delivered value × factor = value in base units
    base: str  # yuan, persons, count, ratio


UNITS: dict[str, Unit] = {
    "元": Unit("money", Decimal(1), "yuan"),
    "万元": Unit("money", Decimal(10_000), "yuan"),
    "亿元": Unit("money", Decimal(100_000_000), "yuan"),
    "人": Unit("persons", Decimal(1), "persons"),
    "万人": Unit("persons", Decimal(10_000), "persons"),
    "家": Unit("count", Decimal(1), "count"),
    "个": Unit("count", Decimal(1), "count"),
    "件": Unit("count", Decimal(1), "count"),
    "%": Unit("ratio", Decimal("0.01"), "ratio"),
}


class Indicator(NamedTuple):
    code: str
    kind: Literal["flow", "stock"]  # flow: monthly values are cumulative from January; stock: month-end level
    unit_kind: UnitKind


# name_zh → (code, kind, unit kind): the table of FEEDS.md §1, in its order.
INDICATORS: dict[str, Indicator] = {
    "地区生产总值": Indicator("GDP", "flow", "money"),
    "高新技术产业增加值": Indicator("HT_VALUE_ADDED", "flow", "money"),
    "全社会研发经费支出": Indicator("RD_EXPENDITURE", "flow", "money"),
    "常住人口": Indicator("POPULATION", "stock", "persons"),
    "高新技术企业数": Indicator("HT_ENTERPRISES", "stock", "count"),
    "发明专利拥有量": Indicator("INVENTION_PATENTS", "stock", "count"),
    "技术合同成交额": Indicator("TECH_CONTRACT_TURNOVER", "flow", "money"),
    "地方财政科技支出": Indicator("FISCAL_ST_EXPENDITURE", "flow", "money"),
    "一般公共预算支出": Indicator("FISCAL_EXPENDITURE", "flow", "money"),
    "输变电产业产值": Indicator("OUTPUT_POWER_EQUIPMENT", "flow", "money"),
    "大数据产业营业收入": Indicator("REVENUE_BIG_DATA", "flow", "money"),
    "金融商贸业增加值": Indicator("VA_FINANCE_COMMERCE", "flow", "money"),
    "健康文旅产业营业收入": Indicator("REVENUE_HEALTH_TOURISM", "flow", "money"),
}

_PARENTHESISED = re.compile(r"\([^()]*\)")


def normalise_indicator_name(text: str) -> str:
    """The base name of a delivered 指标名称: spaces trimmed, `（）` made half-width, parenthesised parts such
    as a unit `（亿元）` or an abbreviation `(R&D)` dropped, so `地区生产总值（亿元）` matches `地区生产总值`."""
    name = text.strip(SPACES).replace("（", "(").replace("）", ")")
    while True:
        stripped = _PARENTHESISED.sub("", name)
        if stripped == name:
            break
        name = stripped
    return name.strip(SPACES)


def lookup_indicator(text: object) -> Indicator | None:
    """The indicator a delivered 指标名称 names, or None when it names none of the catalogue's."""
    if not isinstance(text, str):
        return None
    return INDICATORS.get(normalise_indicator_name(text))


def lookup_unit(text: object) -> Unit | None:
    """The unit a delivered 计量单位 names (surrounding spaces allowed), or None for an unknown unit."""
    if not isinstance(text, str):
        return None
    return UNITS.get(text.strip(SPACES))


def unit_fits(unit: Unit, indicator: Indicator) -> bool:
    return unit.kind == indicator.unit_kind


def to_base(value: Decimal, unit: str) -> Decimal:
    """A value delivered in `unit` (a key of UNITS), in base units."""
    return value * UNITS[unit].factor


def from_base(value: Decimal, unit: str) -> Decimal:
    """The inverse of `to_base`: a base-unit value expressed in `unit`."""
    return value / UNITS[unit].factor
