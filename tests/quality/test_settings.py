"""The quality settings are read from the environment in one place, with the names, defaults and messages the
operators' docs give (docs/quality.md, docs/operations.md)."""

from __future__ import annotations

import pickle
import re

import pytest

from pipelines.lib.settings import QualitySettings, QualityThresholds


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = QualitySettings.from_env({})
    assert settings == QualitySettings()
    assert settings.check_process and settings.check_workers == 1
    assert settings.thresholds == QualityThresholds(yoy_max_change=0.5, max_row_drop_share=0.2, rd_intensity_max=0.1)


def test_every_variable_is_read_and_the_settings_cross_to_the_check_process() -> None:
    settings = QualitySettings.from_env(
        {
            "INNOSTAT_CHECK_PROCESS": " 0 ",
            "INNOSTAT_CHECK_WORKERS": "3",
            "INNOSTAT_QUALITY_YOY_MAX_CHANGE": "0.75",
            "INNOSTAT_QUALITY_MAX_ROW_DROP_SHARE": "0.1",
            "INNOSTAT_QUALITY_RD_INTENSITY_MAX": "0.05",
            "INNOSTAT_QUALITY_UNKNOWN": "ignored",
        }
    )
    assert not settings.check_process and settings.check_workers == 3
    assert settings.thresholds == QualityThresholds(yoy_max_change=0.75, max_row_drop_share=0.1, rd_intensity_max=0.05)
    assert pickle.loads(pickle.dumps(settings)) == settings  # handed to the check process with each check
    assert QualitySettings.from_env({"INNOSTAT_CHECK_PROCESS": "1", "INNOSTAT_QUALITY_YOY_MAX_CHANGE": ""}) == (
        QualitySettings()
    )


@pytest.mark.parametrize(
    ("variable", "text", "message"),
    [
        ("INNOSTAT_QUALITY_MAX_ROW_DROP_SHARE", "much", "INNOSTAT_QUALITY_MAX_ROW_DROP_SHARE='much' is not a number"),
        ("INNOSTAT_CHECK_WORKERS", "0", "INNOSTAT_CHECK_WORKERS must be a whole number ≥ 1 (1 = no worker processes)"),
    ],
)
def test_a_value_that_does_not_parse_is_named(variable: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        QualitySettings.from_env({variable: text})
