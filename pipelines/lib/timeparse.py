"""Timestamps: everything is stored as naive Asia/Shanghai wall-clock time.

Shanghai has had no daylight saving since 1991, so differences of naive local times are exact durations, and
month buckets need no time-zone support in the engine (DuckDB and Spark agree without ICU).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
_ISO_SHAPE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_iso_to_shanghai(text: str) -> datetime:
    """ISO 8601 → naive Asia/Shanghai. No offset means Asia/Shanghai already. Raises ValueError."""
    text = text.strip()
    if not _ISO_SHAPE.match(text):
        raise ValueError(f"not an ISO 8601 timestamp: {text!r}")
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(SHANGHAI).replace(tzinfo=None)
    return moment


def try_parse_iso(text: object) -> datetime | None:
    """Like `parse_iso_to_shanghai`, but None for anything unparseable or absent."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return parse_iso_to_shanghai(text)
    except ValueError:
        return None


def parse_date(text: str) -> date:
    """A calendar date `YYYY-MM-DD`. Raises ValueError."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    return date.fromisoformat(text.strip())


def mtime_to_shanghai(mtime: float) -> datetime:
    """A file's modification time as naive Asia/Shanghai: the `delivered_at` of everything in it."""
    return datetime.fromtimestamp(mtime, SHANGHAI).replace(tzinfo=None)
