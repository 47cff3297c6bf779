"""Fixtures of the quality-gate tests: a warehouse published once from the shared generated landing zone, and
private copies of it to plant problems in."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
from pathlib import Path

import pytest

from pipelines.cli import main
from pipelines.lib.settings import Settings
from tests.conftest import TEST_PII_KEY
from tests.helpers import rows  # noqa: F401  (the quality tests import it from here)
from tests.integration.conftest import copy_landing

with contextlib.suppress(ImportError):  # the session's landing zone: tests/conftest.py, or tests/integration/
    from tests.integration.conftest import generated  # noqa: F401


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def baseline(generated, tmp_path_factory) -> Settings:
    """`innostat run` once on a clean copy of the generated landing zone: the published warehouse to start from."""
    landing, _ = generated
    root = tmp_path_factory.mktemp("quality_baseline")
    settings = Settings.resolve(copy_landing(landing, root / "landing"), root / "wh" / "innostat.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INNOSTAT_PII_KEY", TEST_PII_KEY)
        code = main(["run", "--landing", str(settings.landing), "--warehouse", str(settings.warehouse)])
    assert code == 0, "the clean landing zone must publish"
    return settings


def clone(source: Settings, root: Path) -> Settings:
    """A private copy of a published warehouse: landing zone, state folder (raw layer, ledger, history), file."""
    target = Settings.resolve(copy_landing(source.landing, root / "landing"), root / "wh" / "innostat.duckdb")
    shutil.copytree(source.state_dir, target.state_dir)
    shutil.copy2(source.warehouse, target.warehouse)
    return target
