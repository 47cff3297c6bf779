"""The cluster deployment is checked offline: `deploy/lint.sh` (what `make deploy-lint` runs) passes, and the
values schema really rejects the mistakes it is there for."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VALUES = ROOT / "deploy" / "helm" / "values.yaml"
SCHEMA = ROOT / "deploy" / "helm" / "values.schema.json"


def test_deploy_lint_passes():
    result = subprocess.run(
        ["bash", str(ROOT / "deploy" / "lint.sh")],
        env={"BIN": str(BIN), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for tool in ("hadolint", "yamllint", "check-jsonschema"):
        assert f"[deploy-lint] {tool}" in result.stdout


def _code_location(values: dict) -> dict:
    return values["dagster-user-deployments"]["deployments"][0]


def _celery(values):
    values["runLauncher"]["type"] = "CeleryK8sRunLauncher"


def _literal_pii_key(values):
    _code_location(values)["env"].append({"name": "INNOSTAT_PII_KEY", "value": "not-a-secret"})


def _literal_postgres_password(values):
    values["postgresql"]["postgresqlPassword"] = "not-a-secret"


def _no_dbt_target(values):
    env = _code_location(values)["env"]
    _code_location(values)["env"] = [e for e in env if e["name"] != "INNOSTAT_DBT_TARGET"]


def _wrong_module(values):
    _code_location(values)["dagsterApiGrpcArgs"] = ["--module-name", "pipelines.defs"]


@pytest.mark.parametrize(
    "break_values", [_celery, _literal_pii_key, _literal_postgres_password, _no_dbt_target, _wrong_module]
)
def test_schema_rejects(tmp_path, break_values):
    values = copy.deepcopy(yaml.safe_load(VALUES.read_text(encoding="utf-8")))
    break_values(values)
    broken = tmp_path / "values.yaml"
    broken.write_text(yaml.safe_dump(values), encoding="utf-8")
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(SCHEMA), str(broken)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1, f"{break_values.__name__} passed the schema: {result.stdout}"
