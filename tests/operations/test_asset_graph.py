"""A snapshot of the whole Dagster graph: every asset key, check, job, sensor and schedule.

A change to the graph shows up in review as a change to `__snapshots__/test_asset_graph.ambr`; accept it with
`pytest tests/operations/test_asset_graph.py --snapshot-update` when it is intended.
"""

import dagster as dg

from pipelines.definitions import defs


def test_asset_graph_snapshot(snapshot):
    definitions = defs()
    graph = definitions.resolve_asset_graph()
    groups: dict[str, list[str]] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        groups.setdefault(graph.get(key).group_name, []).append(key.to_user_string())
    shape = {
        # each feed's raw tables and dbt models in one group (defs/ingestion.py, defs/transform/assets.py)
        "groups": dict(sorted(groups.items())),
        "assets": sorted(key.to_user_string() for key in graph.get_all_asset_keys()),
        "checks": sorted(key.to_user_string() for key in graph.asset_check_keys),
        "jobs": sorted(job.name for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")),
        "sensors": sorted(sensor.name for sensor in definitions.sensors),
        "schedules": sorted(schedule.name for schedule in definitions.schedules),
    }
    assert shape == snapshot


def test_lineage_runs_from_raw_to_the_published_warehouse():
    graph = defs().resolve_asset_graph()
    upstream = {key.to_user_string() for key in graph.get(dg.AssetKey(["warehouse", "published"])).parent_keys}
    assert "marts/indicator_values" in upstream
    indicator_values = graph.get(dg.AssetKey(["marts", "indicator_values"]))
    ancestors, frontier = set(), {indicator_values.key}
    while frontier:
        key = frontier.pop()
        for parent in graph.get(key).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.add(parent)
    names = {key.to_user_string() for key in ancestors}
    for table in ("statistics", "rd_filings", "gov_services", "security_incidents", "security_cameras"):
        assert f"raw/{table}" in names
