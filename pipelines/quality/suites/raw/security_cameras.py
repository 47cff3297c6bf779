"""raw.security_cameras: the rows of this run's camera status snapshots (one row per camera and day)."""

from __future__ import annotations

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import Rule, Suite, in_set, not_null, street_codes
from pipelines.quality.suites.raw import LINEAGE_INDEX

TABLE = "raw.security_cameras"


def rules() -> list[Rule]:
    needed = "a camera-day without it cannot be counted (SEC_CAMERAS, SEC_CAMERA_ONLINE_RATE)"
    return [
        *(not_null(column, needed) for column in ("camera_id", "street_code", "status_date", "is_online")),
        in_set("street_code_known", "street_code", street_codes(), "camera figures are published per street"),
    ]


def build_suites(thresholds: QualityThresholds) -> list[Suite]:
    return [Suite(table=TABLE, frame="rows", rules=tuple(rules()), index_columns=LINEAGE_INDEX)]
