"""A small generated landing zone shared by the end-to-end tests (generated once per session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.generate import generate_landing

TINY = {"seed": 7, "scale": 0.002, "years": (2020, 2021)}


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    """(landing zone, manifest) of a tiny but complete sample; copy it before changing it."""
    landing = tmp_path_factory.mktemp("generated") / "landing"
    manifest = generate_landing(landing, **TINY)
    return landing, manifest


def copy_landing(source: Path, target: Path) -> Path:
    """A private copy that keeps modification times (delivery order)."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
    return target
