"""raw.rd_filings: the rows of this run's enterprise R&D filing files (one row per valid filing)."""

from __future__ import annotations

from datetime import date

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import Rule, Suite, between, in_set, matches, non_negative, not_null, street_codes
from pipelines.quality.suites.raw import LINEAGE_INDEX

TABLE = "raw.rd_filings"
INDUSTRIES = ("输变电", "大数据", "金融商贸", "健康文旅", "其他")
CREDIT_CODE = r"^[0-9A-HJ-NPQRTUWXY]{18}$"  # GB 32100-2015 alphabet; the check digit is verified at ingestion
CERTIFICATE = r"^GR\d{12}$"
MONEY = ["rd_expense_wan_yuan", "revenue_wan_yuan", "new_product_revenue_wan_yuan"]
COUNTS = ["rd_personnel", "invention_patent_applications", "invention_patents_granted"]


def rules() -> list[Rule]:
    needed = "a filing without it cannot be attributed to an enterprise, year, street and industry"
    return [
        *(
            not_null(column, needed)
            for column in ("filing_id", "credit_code", "filing_year", "street_code", "industry", "submitted_at")
        ),
        matches("credit_code_format", "credit_code", CREDIT_CODE, "统一社会信用代码 is 18 characters of GB 32100"),
        in_set("street_code_known", "street_code", street_codes(), "所属街道代码 is one of the district's streets"),
        in_set("industry_known", "industry", INDUSTRIES, "所属产业 is one of the five industries of the plan"),
        between(
            "filing_year_plausible",
            "filing_year",
            "年度 is a year from 2000 to the current year",
            min_value=2000,
            max_value=date.today().year,
            threshold="2000 … current year",
        ),
        *non_negative(MONEY, "money (万元) is never below zero"),
        *non_negative(COUNTS, "people and patents are counts: never below zero"),
        matches(
            "certificate_format",
            "ht_certificate_no",
            CERTIFICATE,
            "高新技术企业证书编号 is GR + 12 digits (or empty); ENT_HT_CERTIFIED counts it",
        ),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=LINEAGE_INDEX)]
