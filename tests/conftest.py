"""Shared fixtures: a throwaway landing zone and warehouse under tmp_path, a fixed test key."""

from __future__ import annotations

import os

import pytest

from pipelines.lib.environment import apply_offline_defaults
from pipelines.lib.settings import Settings

apply_offline_defaults()
TEST_PII_KEY = "test-key-not-for-production"


def pytest_configure(config: pytest.Config) -> None:
    """No Dagster instance on disk, from the start of the session (session fixtures run the CLI too):
    `innostat run` records its runs in $DAGSTER_HOME, which `make test` sets to the project's .dagster_home.
    Set empty, runs are ephemeral: nothing written, and no SQLite events to store (several seconds a run).
    tests/browser/test_dagster_ui.py and tests/operations/test_instance.py use a DAGSTER_HOME of their own."""
    os.environ["DAGSTER_HOME"] = ""


@pytest.fixture
def pii_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("INNOSTAT_PII_KEY", TEST_PII_KEY)
    return TEST_PII_KEY


@pytest.fixture
def settings(tmp_path) -> Settings:
    landing = tmp_path / "landing"
    landing.mkdir()
    return Settings.resolve(landing, tmp_path / "wh" / "innostat.duckdb")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Tests never touch the developer's own warehouse or Dagster instance."""
    for name in ("INNOSTAT_LANDING", "INNOSTAT_WAREHOUSE", "INNOSTAT_BUILD_PATH", "INNOSTAT_RAW_DIR", "INNOSTAT_DEMO"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", "")  # ephemeral runs (see pytest_configure)
    # Files a test writes are complete when written: no waiting for them to settle (tests/ingest/test_discovery.py
    # sets its own).
    monkeypatch.setenv("INNOSTAT_SETTLE_SECONDS", "0")


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """(landing zone, manifest) of a tiny but complete sample, generated once; copy it before changing it."""
    from pipelines.generate import generate_landing
    from tests.helpers import TINY

    landing = tmp_path_factory.mktemp("generated") / "landing"
    manifest = generate_landing(landing, **TINY)
    return landing, manifest
