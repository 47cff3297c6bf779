"""marts.fct_gov_service_cases: one row per government-service case, behind every GS_* figure."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import (
    MONTH_PERIOD,
    Rule,
    Suite,
    between,
    in_set,
    matches,
    not_null,
    pseudonymised,
    unique,
)
from pipelines.quality.suites.raw.gov_services import APPLICANT_TYPES, CHANNELS

TABLE = "marts.fct_gov_service_cases"


def rules() -> list[Rule]:
    return [
        not_null("case_id", "a case is identified by its case_id"),
        unique("case_id", "one row per case: a duplicate counts a case twice in GS_CASES_*"),
        in_set("channel_known", "channel", CHANNELS, "GS_ONLINE_SHARE counts online and app submissions"),
        in_set("applicant_type_known", "applicant_type", APPLICANT_TYPES, "applicants are persons or enterprises"),
        between("visits_non_negative", "visits", "GS_*_VISIT_RATE count in-person visits", min_value=0),
        between("promised_days_positive", "promised_days", "GS_ON_TIME_RATE needs a limit ≥ 1 day", min_value=1),
        between("rating_in_range", "rating", "GS_SATISFACTION_RATE reads ratings 1 to 5", min_value=1, max_value=5),
        between("rating_count_non_negative", "rating_count", "a count of ratings", min_value=0),
        between("event_count_positive", "event_count", "a case exists because an event arrived", min_value=1),
        between(
            "processing_days_non_negative",
            "processing_days",
            "completion after acceptance: a negative duration would pull GS_AVG_PROCESSING_DAYS down",
            min_value=0,
        ),
        matches("submitted_month_format", "submitted_month", MONTH_PERIOD, "GS_CASES_SUBMITTED's month key"),
        matches("completed_month_format", "completed_month", MONTH_PERIOD, "GS_CASES_COMPLETED's month key"),
        *pseudonymised(["applicant_id_pseudonym", "applicant_phone_pseudonym"]),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=("case_id",))]
