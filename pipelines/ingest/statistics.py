"""statistics: the 统计局 indicator tables (FEEDS.md §1), CSV or xlsx, into `raw.statistics`.

Every delivered row is a vintage: the raw table keeps the delivered texts (period, unit, value) beside the
normalised ones (period key `2020`/`2020-03`, value in base units), and revisions are resolved later in dbt.

Row rules beyond the contract's wording, written down here because the contract leaves room:
- 指标名称 is matched after trimming spaces (also full-width), making `（）` half-width and dropping
  parenthesised parts, so `地区生产总值（亿元）` and `全社会研发经费支出(R&D)` are their base indicators.
- 数值 must be a plain decimal or one with correct thousands separators; only empty, `-`, `—` and `…` mean
  "not available" (value null, row kept). A negative number is quarantined: all 13 indicators are
  non-negative quantities (money spent or produced, people, enterprises, patents), so a minus sign is a typing
  or export error, not a value.
- An empty 地区代码 is quarantined like an unknown one; a code of any level in regions.csv is accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import polars as pl

from pipelines.ingest.base import FileContext, ParsedBatch, Rule, personal_text_rule, split_by_rules
from pipelines.ingest.reasons import (
    BAD_NUMBER,
    MISSING_FIELD,
    NEGATIVE_NUMBER,
    NOT_ALLOWED_VALUE,
    UNKNOWN_REGION,
    code,
)
from pipelines.ingest.tabular.reader import read_tabular
from pipelines.lib.feeds import feed
from pipelines.lib.numbers import (
    MISSING_MARKS,
    decimal_to_float,
    is_decimal_text,
    is_missing_mark,
    is_negative_text,
    parse_decimal,
    strip_spaces,
)
from pipelines.lib.periods import parse_period
from pipelines.lib.pii_scan import flag_personal_text
from pipelines.lib.units import lookup_indicator, lookup_unit

HEADER = ["地区代码", "指标名称", "计量单位", "统计期", "数值", "数据状态"]
# Delivered texts stored as they came, which no closed rule constrains: scanned for phones and resident IDs.
FREE_TEXT = ("指标名称",)
STATUSES = ("快报", "初步核实", "最终核实")
DEFAULT_STATUS = "快报"  # the contract: an empty 数据状态 means a flash estimate

PERIOD_FORMS = "2020, 2020年, 2020-03, 2020年3月 or 2020年1-3月, with year 1949-2100 and month 1-12"

FEED = feed("statistics")
COLUMNS: dict[str, pl.DataType] = FEED.own_columns()  # declared in dbt's raw source


class StatisticsParser:
    feed = FEED.name
    table = FEED.table
    folder = FEED.folder
    extensions = FEED.extensions
    columns = COLUMNS
    independent_files = True
    row_groups_by = None

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]:
        for frame, rejected in read_tabular(ctx.path, HEADER, ctx.limits):
            valid, quarantined = self.split(frame, ctx.regions.codes)
            quarantined = pl.concat([quarantined, rejected])
            yield ParsedBatch(valid=valid, quarantined=quarantined.sort("source_row"))

    def split(self, frame: pl.DataFrame, region_codes: frozenset[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """All-text rows (contract header names) → typed valid rows and quarantine rows."""
        work = flag_personal_text(_normalise(frame), FREE_TEXT)
        region, name, unit = pl.col("_region"), pl.col("_name"), pl.col("_unit")
        value_text = pl.col("_value_text")
        known_unit = pl.col("_unit_kind").is_not_null()
        value_shown = value_text.str.slice(0, 60)
        rules: list[Rule] = [
            personal_text_rule(),
            Rule(region == "", MISSING_FIELD, "empty 地区代码", pl.lit("地区代码")),
            Rule(
                (region != "") & ~region.is_in(list(region_codes)),
                UNKNOWN_REGION,
                pl.format("unknown 地区代码 '{}'", region),
                region,
            ),
            Rule(
                pl.col("_indicator_code").is_null(),
                code("unknown_indicator"),
                pl.format("unknown 指标名称 '{}'", name),
                name,
            ),
            Rule(~known_unit, code("unknown_unit"), pl.format("unknown 计量单位 '{}'", unit), unit),
            Rule(
                pl.col("_unit_kind") == "ratio",
                code("unit_mismatch"),
                pl.format("计量单位 '{}' fits no statistics indicator (none is a ratio)", unit),
                unit,
            ),
            Rule(
                known_unit
                & (pl.col("_unit_kind") != "ratio")
                & pl.col("_indicator_unit_kind").is_not_null()
                & (pl.col("_unit_kind") != pl.col("_indicator_unit_kind")),
                code("unit_mismatch"),
                pl.format(
                    "计量单位 '{}' does not fit 指标名称 '{}' (a {} indicator)",
                    unit,
                    name,
                    pl.col("_indicator_unit_kind"),
                ),
                pl.format("{} / {}", unit, name),
            ),
            Rule(
                pl.col("_period").is_null(),
                code("bad_period"),
                pl.format("invalid 统计期 '{}' (expected " + PERIOD_FORMS + ")", pl.col("_period_text")),
                pl.col("_period_text"),
            ),
            Rule(
                is_negative_text(value_text),
                NEGATIVE_NUMBER,
                pl.format("negative 数值 '{}' (every statistics indicator is a non-negative quantity)", value_text),
                value_shown,
            ),
            Rule(
                ~is_missing_mark(value_text) & ~is_decimal_text(value_text),
                BAD_NUMBER,
                pl.format("数值 '{}' is not a number", value_text),
                value_shown,
            ),
            Rule(
                is_decimal_text(value_text) & ~is_negative_text(value_text) & known_unit & pl.col("value").is_null(),
                BAD_NUMBER,
                pl.format("数值 '{}' is too large", value_text),
                value_shown,
            ),
            Rule(
                ~pl.col("status").is_in(list(STATUSES)),
                NOT_ALLOWED_VALUE,
                pl.format("unknown 数据状态 '{}'", pl.col("_status_text")),
                pl.col("_status_text"),
            ),
        ]
        valid, quarantined = split_by_rules(work, rules, [*HEADER, "extra_columns"])
        return _finish(valid, self.columns), quarantined


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Trimmed texts, lookups by distinct value (a file holds few distinct names, units and periods), and
    the value in base units via Decimal, so 236.40 亿元 is exactly 23 640 000 000 yuan before it is a float."""
    work = frame.with_columns(
        strip_spaces(pl.col("地区代码")).alias("_region"),
        strip_spaces(pl.col("指标名称")).alias("_name"),
        strip_spaces(pl.col("计量单位")).alias("_unit"),
        strip_spaces(pl.col("统计期")).alias("_period_text"),
        strip_spaces(pl.col("数值")).alias("_value_text"),
        strip_spaces(pl.col("数据状态")).alias("_status_text"),
    )
    names = {n: lookup_indicator(n) for n in work["_name"].unique().to_list()}
    units = {u: lookup_unit(u) for u in work["_unit"].unique().to_list()}
    periods = {p: parse_period(p) for p in work["_period_text"].unique().to_list()}

    def mapped(column: str, mapping: dict) -> pl.Expr:
        return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String)

    factors = {u: unit.factor for u, unit in units.items() if unit is not None}
    values = [
        _to_base(text, factors.get(unit_text))
        for text, unit_text in zip(work["_value_text"].to_list(), work["_unit"].to_list(), strict=True)
    ]
    return work.with_columns(
        mapped("_name", {n: i.code for n, i in names.items() if i}).alias("_indicator_code"),
        mapped("_name", {n: i.unit_kind for n, i in names.items() if i}).alias("_indicator_unit_kind"),
        mapped("_unit", {u: k.kind for u, k in units.items() if k}).alias("_unit_kind"),
        mapped("_unit", {u: k.base for u, k in units.items() if k}).alias("_base_unit"),
        mapped("_period_text", {p: v.key for p, v in periods.items() if v}).alias("_period"),
        mapped("_period_text", {p: v.type for p, v in periods.items() if v}).alias("_period_type"),
        pl.Series("value", values, dtype=pl.Float64),
        pl.when(pl.col("_status_text") == "")
        .then(pl.lit(DEFAULT_STATUS))
        .otherwise(pl.col("_status_text"))
        .alias("status"),
    )


def _to_base(text: str, factor: Decimal | None) -> float | None:
    """Value in base units, or None when not available, not a non-negative number, or the unit is unknown."""
    if factor is None or text in MISSING_MARKS:
        return None
    number = parse_decimal(text)
    if number is None or number < 0:
        return None
    return decimal_to_float(number * factor)


def _finish(valid: pl.DataFrame, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """The raw table's columns plus source_row and source_sheet, with exact dtypes even when empty."""
    out = valid.select(
        pl.col("_region").alias("region_code"),
        pl.col("_name").alias("indicator_name"),
        pl.col("_indicator_code").alias("indicator_code"),
        pl.col("计量单位").alias("unit_delivered"),
        pl.col("统计期").alias("period_delivered"),
        pl.col("_period").alias("period"),
        pl.col("_period_type").alias("period_type"),
        pl.col("数值").alias("value_delivered"),
        pl.col("value"),
        pl.col("_base_unit").alias("unit"),
        pl.col("status"),
        pl.col("extra_columns"),
        pl.col("source_row"),
        pl.col("source_sheet"),
    )
    return out.cast({**columns, "source_row": pl.Int64(), "source_sheet": pl.String()})


PARSER = StatisticsParser()
