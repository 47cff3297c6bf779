"""Thresholds of the quality gates, in one place. Each can be overridden by an environment variable.

| setting | default | variable |
| --- | --- | --- |
| yoy_max_change | 0.5 | INNOSTAT_QUALITY_YOY_MAX_CHANGE |
| max_row_drop_share | 0.2 | INNOSTAT_QUALITY_MAX_ROW_DROP_SHARE |
| rd_intensity_max | 0.10 | INNOSTAT_QUALITY_RD_INTENSITY_MAX |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

SAMPLE_SIZE = 5  # unexpected values kept per expectation: enough to find the rows, never a data dump


@dataclass(frozen=True)
class Thresholds:
    # |value / value of the same period a year before − 1| above this is a warning (real data can jump)
    yoy_max_change: float = 0.5
    # a mart may lose at most this share of its rows against the last published warehouse; more blocks
    max_row_drop_share: float = 0.2
    # RD_INTENSITY (R&D expenditure / GDP) of a county: 0 to 10 % (China is about 2.4 %, Shenzhen about 6 %)
    rd_intensity_max: float = 0.10


def load_thresholds() -> Thresholds:
    """The defaults, with any `INNOSTAT_QUALITY_<NAME>` environment variable applied."""
    overrides = {}
    for field in fields(Thresholds):
        text = os.environ.get(f"INNOSTAT_QUALITY_{field.name.upper()}")
        if text:
            try:
                overrides[field.name] = float(text)
            except ValueError as err:
                raise ValueError(f"INNOSTAT_QUALITY_{field.name.upper()}={text!r} is not a number") from err
    return Thresholds(**overrides)
