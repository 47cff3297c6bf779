"""统计期: the five ways the statistics office writes a period, reduced to one key.

Annual `2020` and `2020年` give `2020`; monthly `2020-03`, `2020年3月` (or `2020年03月`) and `2020年1-3月` all
give `2020-03`, so a revision in another form than the first delivery lands on the same key. `2020年1-3月` is
the cumulative-from-January form; a range that does not start at January (`2020年2-3月`) is not a 统计期 a
flow indicator can be published under, so it is rejected, like anything outside the five forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pipelines.lib.numbers import SPACES

MIN_YEAR = 1949  # the People's Republic's statistics start here
MAX_YEAR = 2100

# ASCII digits only: `\d` would also accept full-width ２０２０.
_YEAR = re.compile(r"([0-9]{4})年?")
_MONTH_DASH = re.compile(r"([0-9]{4})-([0-9]{2})")
_MONTH_ZH = re.compile(r"([0-9]{4})年([0-9]{1,2})月")
_MONTH_CUMULATIVE = re.compile(r"([0-9]{4})年(0?1)-([0-9]{1,2})月")


@dataclass(frozen=True)
class Period:
    key: str  # `2020` or `2020-03`
    type: Literal["year", "month"]

    @property
    def year(self) -> int:
        return int(self.key[:4])


def parse_period(text: object) -> Period | None:
    """The period key of a delivered 统计期, or None when it is in none of the five forms."""
    if not isinstance(text, str):
        return None
    body = text.strip(SPACES)
    if match := _YEAR.fullmatch(body):
        year = int(match.group(1))
        return Period(str(year), "year") if MIN_YEAR <= year <= MAX_YEAR else None
    match = _MONTH_DASH.fullmatch(body) or _MONTH_ZH.fullmatch(body)
    if match:
        return _month(match.group(1), match.group(2))
    if match := _MONTH_CUMULATIVE.fullmatch(body):
        return _month(match.group(1), match.group(3))
    return None


def _month(year_text: str, month_text: str) -> Period | None:
    year, month = int(year_text), int(month_text)
    if not (MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12):
        return None
    return Period(f"{year:04d}-{month:02d}", "month")
