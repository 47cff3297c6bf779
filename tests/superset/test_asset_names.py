"""The asset files follow the naming rule of docs/superset.md ("From the dbt model to the chart"), so a reader
traces an indicator from its dbt view to its charts by file names alone. No Superset needed: YAML and dbt files.

- a dataset is a physical table (no `sql:`) over a dbt view of schema `reporting`, its file named as that view;
- a chart is `charts/<dashboard>__<indicator or subject>__<view>.yaml`, on the dashboard it names, and when it
  shows one indicator, the middle part is that indicator's code in lower case.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ASSETS = ROOT / "superset" / "assets"
REPORTING = ROOT / "dbt_project" / "models" / "marts" / "reporting"
CHART_NAME = re.compile(r"(?P<dashboard>[a-z_]+?)__(?P<subject>[a-z0-9_]+?)__(?P<view>[a-z0-9_]+)")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _indicator_codes(chart: dict) -> set[str]:
    """The indicator codes a chart filters on (its adhoc filters on indicator_code)."""
    params = chart["params"] if isinstance(chart["params"], dict) else json.loads(chart["params"])
    codes: set[str] = set()
    for condition in params.get("adhoc_filters") or []:
        if condition.get("subject") == "indicator_code":
            comparator = condition.get("comparator")
            codes.update(comparator if isinstance(comparator, list) else [comparator])
    return codes


def test_every_dataset_is_a_reporting_view_named_as_its_file():
    models = {path.stem for path in REPORTING.glob("rpt_*.sql")}
    datasets = sorted((ASSETS / "datasets").rglob("*.yaml"))
    assert datasets
    for path in datasets:
        dataset = _load(path)
        assert "sql" not in dataset or dataset["sql"] is None, f"{path.name}: a virtual dataset; make it a dbt view"
        assert dataset["schema"] == "reporting", path.name
        assert dataset["table_name"] == path.stem, path.name
        assert path.stem in models, f"{path.name}: no dbt model {path.stem}.sql in {REPORTING}"
    assert models == {path.stem for path in datasets}, "a reporting view without a dataset, or the reverse"


def test_every_chart_is_named_for_its_dashboard_and_indicator():
    on_dashboard = {}
    for path in (ASSETS / "dashboards").glob("*.yaml"):
        for key, item in _load(path)["position"].items():
            if isinstance(item, dict) and item.get("type") == "CHART":
                on_dashboard[item["meta"]["uuid"]] = (path.stem, key)
    charts = sorted((ASSETS / "charts").glob("*.yaml"))
    assert len(charts) >= 40
    for path in charts:
        name = CHART_NAME.fullmatch(path.stem)
        assert name, f"{path.name}: not <dashboard>__<indicator or subject>__<view>.yaml"
        chart = _load(path)
        dashboard, layout_id = on_dashboard[chart["uuid"]]
        assert name["dashboard"] == dashboard, f"{path.name} is on dashboard {dashboard}"
        assert layout_id == f"CHART-{path.stem}", f"{path.name}: its place in {dashboard}.yaml is {layout_id}"
        codes = _indicator_codes(chart)
        if len(codes) == 1:
            assert name["subject"] == next(iter(codes)).lower(), f"{path.name} shows {codes}"
