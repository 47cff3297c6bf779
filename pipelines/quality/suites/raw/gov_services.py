"""raw.gov_services: the rows of this run's government-service event files (one row per event line)."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import Rule, Suite, between, in_set, not_null, pseudonymised
from pipelines.quality.suites.raw import LINEAGE_INDEX

TABLE = "raw.gov_services"
EVENT_TYPES = ("submitted", "accepted", "completed", "rejected", "rated")
CHANNELS = ("online", "app", "window", "self_service")
APPLICANT_TYPES = ("person", "enterprise")


def rules() -> list[Rule]:
    needed = "an event without it cannot be placed in its case and month"
    return [
        *(not_null(column, needed) for column in ("event_id", "case_id", "event_type", "occurred_at")),
        in_set("event_type_known", "event_type", EVENT_TYPES, "the five event types of the contract"),
        in_set("channel_known", "channel", CHANNELS, "GS_ONLINE_SHARE counts online and app submissions"),
        in_set("applicant_type_known", "applicant_type", APPLICANT_TYPES, "applicants are persons or enterprises"),
        between("visits_non_negative", "visits", "in-person visits are a count", min_value=0, threshold="≥ 0"),
        between("promised_days_positive", "promised_days", "a promised time limit is at least one day", min_value=1),
        between("rating_in_range", "rating", "ratings are 1 to 5 (GS_SATISFACTION_RATE)", min_value=1, max_value=5),
        *pseudonymised(["applicant_id_pseudonym", "applicant_phone_pseudonym"]),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=LINEAGE_INDEX)]
