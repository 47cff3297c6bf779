"""marts.indicator_values: every published figure. The suites officials' numbers depend on most."""

from __future__ import annotations

import great_expectations.expectations as gxe
import pandas as pd

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import (
    BLOCK,
    MONTH_PERIOD,
    WARN,
    YEAR_PERIOD,
    Column,
    Rule,
    Suite,
    between,
    catalogue,
    in_set,
    indicator_codes,
    matches,
    not_null,
    region_codes,
    statistics_indicator_codes,
)

TABLE = "marts.indicator_values"
KEY = ("indicator_code", "region_code", "period", "dimension", "member")
COLUMNS = (*KEY, "period_type", "unit", "conf_status")
CONF_STATUS = ("F", "A", "O", "D")  # SDMX CONF_STATUS: free; withheld (docs/indicators.md), value null


def _catalogue_pairs(attribute: str) -> list[tuple[str, str]]:
    pairs = []
    for row in catalogue():
        for value in row[attribute].split(","):
            pairs.append((row["code"], value.strip()))
    return pairs


def rules(thresholds: QualityThresholds) -> list[Rule]:
    grain = "part of the published grain: a null cannot be queried or shown"
    return [
        *(not_null(column, grain) for column in COLUMNS),
        not_null(
            "value",
            "a free figure is published with its value; only a withheld cell (conf_status A, O, D) has none",
            where=Column("conf_status") == "F",
            threshold="no nulls where conf_status = F",
        ),
        in_set("conf_status_known", "conf_status", CONF_STATUS, "SDMX CONF_STATUS codes of disclosure control"),
        Rule(
            "grain_unique",
            gxe.ExpectCompoundColumnsToBeUnique(column_list=list(KEY)),
            BLOCK,
            "one figure per indicator, region, period and breakdown: a duplicate is summed twice in a dashboard",
            "no duplicate (indicator_code, region_code, period, dimension, member)",
        ),
        in_set("indicator_code_known", "indicator_code", indicator_codes(), "every code is in marts.indicators"),
        in_set("region_code_known", "region_code", region_codes(), "every region is in regions.csv"),
        in_set("period_type_known", "period_type", ("year", "month"), "periods are years or months"),
        matches(
            "year_period_format",
            "period",
            YEAR_PERIOD,
            "an annual figure's period is `2020`",
            where=Column("period_type") == "year",
        ),
        matches(
            "month_period_format",
            "period",
            MONTH_PERIOD,
            "a monthly figure's period is `2020-03`",
            where=Column("period_type") == "month",
        ),
        Rule(
            "frequency_matches_catalogue",
            gxe.ExpectColumnPairValuesToBeInSet(
                column_A="indicator_code", column_B="period_type", value_pairs_set=_catalogue_pairs("frequency")
            ),
            BLOCK,
            "an indicator is published only at the frequencies the catalogue defines (RD_INTENSITY is annual)",
            "(indicator_code, period_type) as in the catalogue's frequency",
        ),
        Rule(
            "unit_matches_catalogue",
            gxe.ExpectColumnPairValuesToBeInSet(
                column_A="indicator_code", column_B="unit", value_pairs_set=_catalogue_pairs("unit")
            ),
            BLOCK,
            "a figure in another unit than its definition is off by a factor (万元 for yuan, % for ratio)",
            "(indicator_code, unit) as in the catalogue",
        ),
        between(
            "ratios_within_unit_interval",
            "value",
            "shares and rates are ratios 0–1: a value above 1 is a percentage or a broken denominator",
            min_value=0,
            max_value=1,
            where=Column("unit") == "ratio",
            threshold="0 … 1 where unit = ratio",
        ),
        between(
            "rd_intensity_within_band",
            "value",
            "R&D expenditure / GDP of a county lies between 0 and 10 %; beyond is a unit or delivery error",
            min_value=0,
            max_value=thresholds.rd_intensity_max,
            where=Column("indicator_code") == "RD_INTENSITY",
            threshold=f"0 … {thresholds.rd_intensity_max:g} (rd_intensity_max)",
        ),
        between(
            "money_non_negative",
            "value",
            "money is produced, spent or earned: never below zero",
            min_value=0,
            where=Column("unit") == "yuan",
            threshold="≥ 0 where unit = yuan",
        ),
        between(
            "counts_non_negative",
            "value",
            "counts of cases, incidents, cameras, enterprises, patents and people are never below zero",
            min_value=0,
            where=Column("unit").is_in(["count", "persons"]),
            threshold="≥ 0 where unit = count or persons",
        ),
        between(
            "durations_non_negative",
            "value",
            "processing days and response minutes run forward in time",
            min_value=0,
            where=Column("unit").is_in(["days", "minutes"]),
            threshold="≥ 0 where unit = days or minutes",
        ),
        between(
            "per_10k_non_negative",
            "value",
            "a count per 10 000 residents is never below zero",
            min_value=0,
            where=Column("unit") == "per_10k",
            threshold="≥ 0 where unit = per_10k",
        ),
    ]


def ht_gdp_pairs(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per region and period with both GDP and HT_VALUE_ADDED (totals): the pair to compare."""
    totals = rows[(rows["dimension"] == "total") & rows["indicator_code"].isin(["GDP", "HT_VALUE_ADDED"])]
    wide = totals.pivot_table(
        index=["region_code", "period"], columns="indicator_code", values="value", aggfunc="max"
    ).reset_index()
    wide.columns.name = None
    for column in ("GDP", "HT_VALUE_ADDED"):
        if column not in wide:
            wide[column] = pd.Series(dtype="float64")
    out = wide.rename(columns={"GDP": "gdp", "HT_VALUE_ADDED": "ht_value_added"})
    return out.dropna(subset=["gdp", "ht_value_added"])[["region_code", "period", "gdp", "ht_value_added"]]


def yoy_changes(rows: pd.DataFrame) -> pd.DataFrame:
    """Statistics indicators (totals) beside the same period a year before: yoy_change = value / previous − 1."""
    codes = statistics_indicator_codes()
    current = rows[(rows["dimension"] == "total") & rows["indicator_code"].isin(codes)]
    current = current[["indicator_code", "region_code", "period", "value"]].copy()
    year = current["period"].str.slice(0, 4)
    previous_year = (pd.to_numeric(year, errors="coerce") - 1).astype("Int64").astype("string")
    current["previous_period"] = previous_year + current["period"].str.slice(4)
    previous = current[["indicator_code", "region_code", "period", "value"]].rename(
        columns={"period": "previous_period", "value": "previous_value"}
    )
    paired = current.merge(previous, on=["indicator_code", "region_code", "previous_period"], how="inner")
    paired = paired[paired["previous_value"] > 0]
    paired = paired.assign(yoy_change=paired["value"] / paired["previous_value"] - 1)
    return paired[["indicator_code", "region_code", "period", "previous_value", "value", "yoy_change"]]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    band = thresholds.yoy_max_change
    return [
        Suite(table=TABLE, frame="rows", rules=tuple(rules(thresholds)), index_columns=KEY),
        Suite(
            table=TABLE,
            frame="rows",
            part="ht_within_gdp",
            derive=ht_gdp_pairs,
            needs=("indicator_code", "region_code", "period", "dimension", "value"),
            index_columns=("region_code", "period"),
            rules=(
                Rule(
                    "ht_value_added_within_gdp",
                    gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                        column_A="gdp",
                        column_B="ht_value_added",
                        or_equal=True,
                        ignore_row_if="either_value_is_missing",
                    ),
                    BLOCK,
                    "high-tech value added is part of GDP: above it means a wrong unit or a typo in a delivery",
                    "HT_VALUE_ADDED ≤ GDP for the same region and period",
                ),
            ),
        ),
        Suite(
            table=TABLE,
            frame="rows",
            part="yoy",
            derive=yoy_changes,
            needs=("indicator_code", "region_code", "period", "dimension", "value"),
            index_columns=("indicator_code", "region_code", "period", "previous_value", "value"),
            rules=(
                between(
                    "yoy_change_within_band",
                    "yoy_change",
                    "a statistics figure that moves more than the band against the same period a year before is "
                    "worth a second look; real data can jump, so it only warns",
                    min_value=-band,
                    max_value=band,
                    severity=WARN,
                    threshold=f"−{band:.0%} … +{band:.0%} of the same period a year before (yoy_max_change)",
                ),
            ),
        ),
    ]
