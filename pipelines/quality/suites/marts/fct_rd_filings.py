"""confidential.fct_rd_filings: every valid R&D filing with its current flag, behind every ENT_* figure."""

from __future__ import annotations

from datetime import date

import great_expectations.expectations as gxe

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import (
    BLOCK,
    Column,
    Rule,
    Suite,
    between,
    in_set,
    matches,
    non_negative,
    not_null,
    street_codes,
    unique,
)
from pipelines.quality.suites.raw.rd_filings import CREDIT_CODE, INDUSTRIES

TABLE = "confidential.fct_rd_filings"  # enterprise microdata: never in marts
MONEY = ["rd_expense_yuan", "revenue_yuan", "new_product_revenue_wan_yuan"]
COUNTS = ["rd_personnel", "invention_patent_applications", "invention_patents_granted"]


def rules() -> list[Rule]:
    return [
        not_null("filing_id", "a filing is identified by its 填报编号"),
        unique("filing_id", "one row per filing"),
        not_null("is_current", "the ENT_* figures sum only current filings"),
        Rule(
            "one_current_filing_per_enterprise_year",
            gxe.ExpectCompoundColumnsToBeUnique(
                column_list=["credit_code", "filing_year"],
                row_condition=Column("is_current") == True,  # noqa: E712 (a GX condition, not a comparison)
            ),
            BLOCK,
            "amendments and duplicate submissions must never be summed twice into ENT_*",
            "no two current filings of one (credit_code, filing_year)",
        ),
        matches("credit_code_format", "credit_code", CREDIT_CODE, "统一社会信用代码 is 18 characters of GB 32100"),
        in_set("street_code_known", "street_code", street_codes(), "ENT_* figures are published per street"),
        in_set("industry_known", "industry", INDUSTRIES, "ENT_* figures are published per industry"),
        between(
            "filing_year_plausible",
            "filing_year",
            "年度 is a year from 2000 to the current year",
            min_value=2000,
            max_value=date.today().year,
            threshold="2000 … current year",
        ),
        *non_negative(MONEY, "ENT_RD_EXPENDITURE and ENT_RD_INTENSITY sum money: never below zero"),
        *non_negative(COUNTS, "ENT_RD_PERSONNEL sums people; patents are counts"),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=("filing_id",))]
