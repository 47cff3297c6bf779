"""marts.fct_security_incidents: one row per 110 incident in its current state, behind every SEC_* figure."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import (
    MONTH_PERIOD,
    WARN,
    Rule,
    Suite,
    between,
    in_set,
    matches,
    not_null,
    pseudonymised,
    street_codes,
    unique,
)
from pipelines.quality.suites.raw.security_incidents import CATEGORIES, SOURCES

TABLE = "marts.fct_security_incidents"
# Around Yanfeng District (about 26.85–26.92 N, 112.56–112.65 E), with some 30 km to spare: a point outside is
# a GPS or typing error. Only a warning: the incident still happened and is counted by its street code.
LAT_BAND = (26.6, 27.2)
LON_BAND = (112.3, 112.9)


def rules() -> list[Rule]:
    return [
        not_null("incident_id", "an incident is identified by its incident_id"),
        unique("incident_id", "one row per incident (its current state): a duplicate counts an incident twice"),
        not_null("received_at", "SEC_INCIDENTS buckets incidents by the month they were received"),
        in_set("category_known", "category", CATEGORIES, "SEC_INCIDENTS is broken down by these categories"),
        in_set("report_source_known", "report_source", SOURCES, "the four report sources of the contract"),
        in_set("street_code_known", "street_code", street_codes(), "SEC_* figures are published per street"),
        between(
            "response_min_non_negative",
            "response_min",
            "arrival after receipt: a negative response time would corrupt SEC_MEDIAN_RESPONSE_MIN",
            min_value=0,
        ),
        between(
            "records_delivered_positive",
            "records_delivered",
            "an incident exists because a record arrived",
            min_value=1,
        ),
        matches("received_month_format", "received_month", MONTH_PERIOD, "SEC_INCIDENTS' month key"),
        between(
            "latitude_near_district",
            "lat",
            "an incident of the district lies near it",
            min_value=LAT_BAND[0],
            max_value=LAT_BAND[1],
            severity=WARN,
        ),
        between(
            "longitude_near_district",
            "lon",
            "an incident of the district lies near it",
            min_value=LON_BAND[0],
            max_value=LON_BAND[1],
            severity=WARN,
        ),
        *pseudonymised(["reporter_name_pseudonym", "reporter_phone_pseudonym", "reporter_id_number_pseudonym"]),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=("incident_id",))]
