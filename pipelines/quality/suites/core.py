"""The building blocks of every suite: a named rule with a severity, a suite per frame, and reference data.

A `Rule` is one GX expectation with a stable name (what `marts.data_quality` and the run's error message show),
a severity (`block` stops publication, `warn` is recorded only) and the reason it exists (docs/quality.md).
A `Suite` is the rules validated against one frame of a table: the table's rows, this run's deliveries, or a frame
derived from the rows (pairs, year-over-year changes, row counts).
"""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

import pandas as pd

with warnings.catch_warnings():
    # GX imports pyspark when it is installed (the Spark target's group); its pandas-version warning is noise
    warnings.filterwarnings("ignore", category=FutureWarning)
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column as Column  # re-exported for the suites
    from great_expectations.expectations.row_conditions import Condition

from pipelines.lib.regions import load_regions
from pipelines.lib.settings import SEEDS_DIR

Severity = Literal["block", "warn"]
BLOCK: Severity = "block"
WARN: Severity = "warn"
_GX_SEVERITY = {BLOCK: "critical", WARN: "warning"}

YEAR_PERIOD = r"^\d{4}$"
MONTH_PERIOD = r"^\d{4}-(?:0[1-9]|1[0-2])$"
PSEUDONYM = r"^p:[0-9a-f]{64}$"  # pipelines.lib.pseudonymise: "p:" + HMAC-SHA256 hex
# Fields that are personal in the feed contract. In the warehouse they exist only as `<field>_pseudonym`.
CLEAR_PERSONAL_FIELDS = frozenset(
    {"applicant_id", "applicant_phone", "reporter_name", "reporter_phone", "reporter_id_number"}
)


# Fields that identify an enterprise (statistical confidentiality, docs/indicators.md): marts.data_quality is read
# by officials, so a sample never names the firm behind an offending filing (its filing_id and row locate it).
CONFIDENTIAL_FIELDS = frozenset({"credit_code", "enterprise_name", "ht_certificate_no"})


def is_personal(column: str) -> bool:
    """A column whose values are never copied into a sample, not even as pseudonyms."""
    return column in CLEAR_PERSONAL_FIELDS or column in CONFIDENTIAL_FIELDS or column.endswith("_pseudonym")


@dataclass(frozen=True)
class Rule:
    name: str  # stable snake_case name, unique within its table
    expectation: gxe.Expectation
    severity: Severity
    why: str  # one sentence for docs/quality.md
    threshold: str = ""  # the limit in words, for docs/quality.md; derived from the expectation when empty

    def __post_init__(self) -> None:
        if self.severity not in (BLOCK, WARN):
            raise ValueError(f"{self.name}: severity must be block or warn, not {self.severity!r}")
        self.expectation.meta = {"rule": self.name, "severity": self.severity}
        self.expectation.severity = _GX_SEVERITY[self.severity]

    @property
    def gx_type(self) -> str:
        return self.expectation.expectation_type

    def columns(self) -> set[str]:
        """Columns the expectation reads, so a check loads only those."""
        config = self.expectation
        found = _condition_columns(getattr(config, "row_condition", None))
        for attribute in ("column", "column_A", "column_B"):
            value = getattr(config, attribute, None)
            if isinstance(value, str):
                found.add(value)
        found.update(getattr(config, "column_list", None) or [])
        return found

    def describe_threshold(self) -> str:
        if self.threshold:
            return self.threshold
        config = self.expectation
        lo, hi = getattr(config, "min_value", None), getattr(config, "max_value", None)
        if lo is not None and hi is not None:
            return f"{lo:g} … {hi:g}"
        if lo is not None or hi is not None:
            return f"≥ {lo:g}" if hi is None else f"≤ {hi:g}"
        if getattr(config, "regex", None):
            return f"`{config.regex}`"
        values = getattr(config, "value_set", None)
        if values is not None:
            shown = sorted(map(str, values))
            return ", ".join(shown) if len(shown) <= 8 else f"{len(shown)} known values"
        return ""


@dataclass(frozen=True)
class Suite:
    table: str  # the table the results are recorded under, e.g. "raw.statistics", "marts.indicator_values"
    frame: str  # the base frame the check supplies: "rows", "delivery" or "row_count"
    rules: tuple[Rule, ...]
    part: str = ""  # names a derived suite beside its table, e.g. "ht_within_gdp"
    index_columns: tuple[str, ...] = ()  # identify an offending row in a sample
    derive: Callable[[pd.DataFrame], pd.DataFrame] | None = None  # base frame → the frame validated
    needs: tuple[str, ...] = ()  # base-frame columns `derive` reads

    def __post_init__(self) -> None:
        names = [rule.name for rule in self.rules]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"{self.name}: rule names must be unique, repeated: {sorted(duplicates)}")

    @property
    def name(self) -> str:
        return f"{self.table}.{self.part}" if self.part else self.table

    def rule(self, name: str) -> Rule:
        return next(rule for rule in self.rules if rule.name == name)

    def base_columns(self) -> set[str]:
        """Columns of the base frame this suite needs."""
        if self.derive is not None:
            return set(self.needs)
        return set(self.index_columns).union(*(rule.columns() for rule in self.rules))

    def expectation_suite(self) -> gx.ExpectationSuite:
        return gx.ExpectationSuite(name=self.name, expectations=[rule.expectation for rule in self.rules])


def _condition_columns(condition: Condition | None) -> set[str]:
    if condition is None:
        return set()
    if hasattr(condition, "conditions"):
        return set().union(*(_condition_columns(c) for c in condition.conditions))
    column = getattr(condition, "column", None)
    return {column.name} if column is not None else set()


# --- rule helpers: one line per rule in the table modules --------------------------------------------------


def _where(where: Condition | None) -> dict:
    """GX row condition objects (`Column("unit") == "ratio"`): the expectation judges only those rows."""
    return {"row_condition": where} if where is not None else {}


def not_null(
    column: str, why: str, *, severity: Severity = BLOCK, where: Condition | None = None, threshold: str = "no nulls"
) -> Rule:
    expectation = gxe.ExpectColumnValuesToNotBeNull(column=column, **_where(where))
    return Rule(f"{column}_not_null", expectation, severity, why, threshold)


def unique(column: str, why: str, *, severity: Severity = BLOCK) -> Rule:
    return Rule(f"{column}_unique", gxe.ExpectColumnValuesToBeUnique(column=column), severity, why, "no duplicates")


def in_set(
    name: str,
    column: str,
    values,
    why: str,
    *,
    severity: Severity = BLOCK,
    where: Condition | None = None,
    threshold: str = "",
) -> Rule:
    expectation = gxe.ExpectColumnValuesToBeInSet(column=column, value_set=sorted(values), **_where(where))
    return Rule(name, expectation, severity, why, threshold)


def between(
    name: str,
    column: str,
    why: str,
    *,
    min_value: float | None = None,
    max_value: float | None = None,
    severity: Severity = BLOCK,
    where: Condition | None = None,
    threshold: str = "",
) -> Rule:
    expectation = gxe.ExpectColumnValuesToBeBetween(
        column=column, min_value=min_value, max_value=max_value, **_where(where)
    )
    return Rule(name, expectation, severity, why, threshold)


def matches(
    name: str,
    column: str,
    regex: str,
    why: str,
    *,
    severity: Severity = BLOCK,
    where: Condition | None = None,
) -> Rule:
    expectation = gxe.ExpectColumnValuesToMatchRegex(column=column, regex=regex, **_where(where))
    return Rule(name, expectation, severity, why)


def non_negative(columns: list[str], why: str) -> list[Rule]:
    """`<column>_non_negative`: money and counts are never below zero."""
    return [between(f"{column}_non_negative", column, why, min_value=0, threshold="≥ 0") for column in columns]


def pseudonymised(columns: list[str]) -> list[Rule]:
    """Personal fields hold keyed pseudonyms only: a clear value here is a leak. Samples of them are redacted."""
    why = "personal data stops at ingestion: a value that is not a `p:` pseudonym would be a clear identity"
    return [matches(f"{column}_is_pseudonym", column, PSEUDONYM, why) for column in columns]


# --- reference data -----------------------------------------------------------------------------------------


def region_codes() -> frozenset[str]:
    return load_regions().codes


def street_codes() -> frozenset[str]:
    return load_regions().street_codes


@cache
def catalogue() -> tuple[dict[str, str], ...]:
    """The indicator catalogue seed (code, unit, frequency, source …), as published in marts.indicators."""
    with open(SEEDS_DIR / "indicator_catalogue.csv", encoding="utf-8") as handle:
        return tuple(csv.DictReader(handle))


def indicator_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in catalogue())


def statistics_indicator_codes() -> frozenset[str]:
    """Indicators of the statistics feed, delivered and derived (RD_INTENSITY, HT_VA_SHARE …)."""
    return frozenset(row["code"] for row in catalogue() if row["source"] == "statistics")
