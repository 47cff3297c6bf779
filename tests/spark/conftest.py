"""The `spark` marker: tests that start a real Spark session (Java 17+). `INNOSTAT_SKIP_SPARK=1` skips them on a
developer's machine; in CI (`CI=true`) they always run, and a missing Java fails them instead of skipping."""

from __future__ import annotations

import os

import pytest


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "spark: builds the dbt project on Apache Spark; INNOSTAT_SKIP_SPARK=1 skips it (never in CI)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("INNOSTAT_SKIP_SPARK") != "1" or _in_ci():
        return
    skip = pytest.mark.skip(reason="INNOSTAT_SKIP_SPARK=1 (these tests always run in CI)")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)
