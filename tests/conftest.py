"""Shared fixtures: a throwaway landing zone and warehouse under tmp_path, a fixed test key."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pipelines.lib.environment import apply_offline_defaults
from pipelines.lib.settings import Settings

apply_offline_defaults()
TEST_PII_KEY = "test-key-not-for-production"
_SESSION_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """A DAGSTER_HOME of the session's own, set before any fixture: `innostat run` writes its runs into
    $DAGSTER_HOME, and `make test` exports the project's .dagster_home. Each test gets its own below."""
    home = Path(tempfile.mkdtemp(prefix="innostat-test-dagster-home-"))
    config.stash[_SESSION_HOME] = home
    os.environ["DAGSTER_HOME"] = str(home)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_SESSION_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


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
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    os.makedirs(tmp_path / "dagster_home", exist_ok=True)


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """(landing zone, manifest) of a tiny but complete sample, generated once; copy it before changing it."""
    from pipelines.generate import generate_landing
    from tests.helpers import TINY

    landing = tmp_path_factory.mktemp("generated") / "landing"
    manifest = generate_landing(landing, **TINY)
    return landing, manifest
