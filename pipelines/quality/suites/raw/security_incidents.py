"""raw.security_incidents: the rows of this run's 110 incident files (one row per delivered record)."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import Rule, Suite, in_set, not_null, pseudonymised, street_codes
from pipelines.quality.suites.raw import LINEAGE_INDEX

TABLE = "raw.security_incidents"
CATEGORIES = ("theft", "fraud", "traffic", "dispute", "fire", "violence", "other")
SOURCES = ("call_110", "app", "camera", "patrol")


def rules() -> list[Rule]:
    needed = "an incident without it cannot be counted by street and month"
    return [
        *(not_null(column, needed) for column in ("incident_id", "received_at", "category", "street_code")),
        in_set("category_known", "category", CATEGORIES, "SEC_INCIDENTS is broken down by these categories"),
        in_set("source_known", "source", SOURCES, "the four report sources of the contract"),
        in_set("street_code_known", "street_code", street_codes(), "SEC_* figures are published per street"),
        *pseudonymised(["reporter_name_pseudonym", "reporter_phone_pseudonym", "reporter_id_number_pseudonym"]),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=LINEAGE_INDEX)]
