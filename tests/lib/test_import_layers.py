"""The import layers of pipelines/ (pyproject.toml [tool.importlinter], docs/architecture.md) hold, and a breach fails.

Real import-linter over the real package: once as it is, once over a copy with one upward import planted in
`lib/`, which the contract must name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(folder)}  # the package under `folder`, not the installed one
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_layers_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_from_lib_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / "pipelines", tmp_path / "pipelines", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    feeds = tmp_path / "pipelines" / "lib" / "feeds.py"
    feeds.write_text(feeds.read_text(encoding="utf-8") + "\nfrom pipelines.ingest import registry  # noqa\n")

    result = _lint_imports(tmp_path)

    assert result.returncode != 0
    assert "pipelines.lib is not allowed to import pipelines.ingest" in result.stdout
    assert "pipelines.lib.feeds -> pipelines.ingest.registry" in result.stdout
