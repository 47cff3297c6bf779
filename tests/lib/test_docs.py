"""The indicator documentation is generated from the catalogue; drift between the two fails here."""

import csv
import re

from pipelines.lib.docs import INDICATORS_DOC, render_catalogue
from pipelines.lib.settings import SEEDS_DIR

CONTRACT_CODES = {
    *[
        "GDP",
        "HT_VALUE_ADDED",
        "RD_EXPENDITURE",
        "POPULATION",
        "HT_ENTERPRISES",
        "INVENTION_PATENTS",
        "TECH_CONTRACT_TURNOVER",
    ],
    *[
        "FISCAL_ST_EXPENDITURE",
        "FISCAL_EXPENDITURE",
        "OUTPUT_POWER_EQUIPMENT",
        "REVENUE_BIG_DATA",
        "VA_FINANCE_COMMERCE",
    ],
    "REVENUE_HEALTH_TOURISM",
    *["RD_INTENSITY", "HT_VA_SHARE", "PATENTS_PER_10K", "FISCAL_ST_SHARE"],
    *["ENT_RD_EXPENDITURE", "ENT_RD_PERSONNEL", "ENT_RD_INTENSITY", "ENT_HT_CERTIFIED"],
    *["GS_CASES_SUBMITTED", "GS_CASES_COMPLETED", "GS_ONE_VISIT_RATE", "GS_ZERO_VISIT_RATE", "GS_ONLINE_SHARE"],
    *["GS_ON_TIME_RATE", "GS_AVG_PROCESSING_DAYS", "GS_SATISFACTION_RATE"],
    *["SEC_INCIDENTS", "SEC_INCIDENTS_PER_10K", "SEC_MEDIAN_RESPONSE_MIN", "SEC_RESPONSE_15MIN_RATE"],
    *["SEC_CAMERAS", "SEC_CAMERA_ONLINE_RATE"],
}


def test_indicators_doc_matches_the_catalogue():
    assert render_catalogue() in INDICATORS_DOC.read_text(encoding="utf-8"), "run `innostat docs` and commit"


def test_catalogue_has_exactly_the_contract_codes_with_names():
    with open(SEEDS_DIR / "indicator_catalogue.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["code"] for row in rows} == CONTRACT_CODES
    for row in rows:
        assert re.search(r"[\u4e00-\u9fff]", row["name_zh"]), row["code"]
        assert row["name_en"] and row["definition"] and row["formula"] and row["grain"], row["code"]
