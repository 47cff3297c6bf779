"""Suites of the marts that officials see, and of the enterprise microdata behind the ENT_* figures (schema
`confidential`, MART_SCHEMAS). They judge the whole table in the working build on every run, and its row
count against the last published warehouse.
"""

from __future__ import annotations

import importlib

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import BLOCK, Suite, between

MARTS = ("indicator_values", "fct_gov_service_cases", "fct_security_incidents", "fct_rd_filings")

# A checked model lives in schema `marts` unless it holds enterprise microdata, which live in schema `confidential`
# (officials never read it; docs/indicators.md). The check keeps the model's name either way.
MART_SCHEMAS = {"fct_rd_filings": "confidential"}


def mart_schema(model: str) -> str:
    return MART_SCHEMAS.get(model, "marts")


def row_count_suite(table: str, thresholds: QualityThresholds) -> Suite:
    """The built table keeps at least (1 − max_row_drop_share) of the rows it had when last published."""
    share = thresholds.max_row_drop_share
    rule = between(
        "row_count_not_dropped",
        "row_drop_share",
        "the raw layer only grows, so a mart that shrinks means lost raw data or a broken model; publishing it "
        "would make figures disappear from the dashboards",
        max_value=share,
        severity=BLOCK,
        threshold=f"rows lost vs. the last publish ≤ {share:.0%} (max_row_drop_share); no published file: pass",
    )
    return Suite(
        table=table,
        frame="row_count",
        part="row_count",
        rules=(rule,),
        index_columns=("rows_published", "rows_built"),
    )


def build_suites(model: str, thresholds: QualityThresholds) -> list[Suite]:
    """The mart's suites, its row-count suite last."""
    if model not in MARTS:
        raise KeyError(f"no suites for mart {model!r}; known: {', '.join(MARTS)}")
    module = importlib.import_module(f"pipelines.quality.suites.marts.{model}")
    return [*module.build_suites(thresholds), row_count_suite(f"{mart_schema(model)}.{model}", thresholds)]
