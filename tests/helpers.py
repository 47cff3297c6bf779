"""Plain helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

# The tiny but complete sample every end-to-end test starts from.
TINY = {"seed": 7, "scale": 0.002, "years": (2020, 2021)}


def copy_landing(source: Path, target: Path) -> Path:
    """A private copy of a landing zone that keeps modification times (delivery order)."""
    shutil.copytree(source, target, copy_function=shutil.copy2)
    return target
