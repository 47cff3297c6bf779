"""raw.statistics: the rows of this run's statistics files (one row per delivered value, in base units)."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import (
    MONTH_PERIOD,
    YEAR_PERIOD,
    Column,
    Rule,
    Suite,
    between,
    in_set,
    indicator_codes,
    matches,
    not_null,
    region_codes,
)
from pipelines.quality.suites.raw import LINEAGE_INDEX

TABLE = "raw.statistics"
STATUSES = ("快报", "初步核实", "最终核实")
BASE_UNITS = ("yuan", "persons", "count")  # the 13 delivered indicators are money, persons or counts


def rules() -> list[Rule]:
    key = "part of the statistics key (region, indicator, period): a row without it cannot be published"
    return [
        *(not_null(column, key) for column in ("region_code", "indicator_code", "period", "period_type")),
        in_set("region_code_known", "region_code", region_codes(), "a region outside regions.csv has no place"),
        in_set("indicator_code_known", "indicator_code", indicator_codes(), "an indicator outside the catalogue"),
        in_set("period_type_known", "period_type", ("year", "month"), "periods are years or months"),
        matches(
            "year_period_format",
            "period",
            YEAR_PERIOD,
            "an annual period is the key `2020`; anything else splits one figure into several",
            where=Column("period_type") == "year",
        ),
        matches(
            "month_period_format",
            "period",
            MONTH_PERIOD,
            "a monthly period is the key `2020-03`; anything else splits one figure into several",
            where=Column("period_type") == "month",
        ),
        in_set("unit_is_base_unit", "unit", BASE_UNITS, "values are stored in base units (yuan, persons, count)"),
        between(
            "value_non_negative",
            "value",
            "all 13 statistics indicators are money, people or counts: never below zero",
            min_value=0,
            threshold="≥ 0 (missing = not available)",
        ),
        in_set("status_known", "status", STATUSES, "数据状态 is flash, preliminary or final"),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=LINEAGE_INDEX)]
