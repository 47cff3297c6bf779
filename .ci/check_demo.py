"""After `make demo`: Dagster and Superset answer, and one chart's data read through Superset's REST API equals
the published warehouse. Run with the Superset environment's Python (it has requests and DuckDB):

    superset/.venv/bin/python .ci/check_demo.py --dagster http://127.0.0.1:3000 --superset http://127.0.0.1:8088
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import duckdb
import requests

# the overview: R&D intensity of Yanfeng beside its higher regions
# (superset/assets/charts/overview__rd_intensity__by_region.yaml, over reporting.rpt_indicator_values)
CHART = "研发经费投入强度：雁峰区与衡阳市、湖南省、全国"
FRESHNESS = "各数据源新鲜度"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dagster", default="http://127.0.0.1:3000")
    parser.add_argument("--superset", default="http://127.0.0.1:8088")
    parser.add_argument("--warehouse", default=os.environ.get("INNOSTAT_WAREHOUSE", "warehouse/innostat.duckdb"))
    parser.add_argument("--state", default=os.environ.get("SUPERSET_STATE_DIR", "superset/.state"))
    args = parser.parse_args()

    runs = requests.post(
        f"{args.dagster}/graphql",
        json={"query": "{ runsOrError { ... on Runs { results { runId status } } } }"},
        timeout=60,
    )
    runs.raise_for_status()
    recorded = runs.json()["data"]["runsOrError"]["results"]
    if not recorded:  # `innostat demo` runs in the DAGSTER_HOME instance: its ingest and build show in the UI
        print("[check] Dagster's UI lists no run: the demo's runs did not reach its instance", file=sys.stderr)
        return 1
    print(f"[check] Dagster answers GraphQL and lists the demo's {len(recorded)} run(s)")

    http = requests.Session()
    password = (Path(args.state) / "admin_password").read_text().strip()
    login = http.post(
        f"{args.superset}/api/v1/security/login",
        json={"username": "admin", "password": password, "provider": "db", "refresh": True},
        timeout=60,
    )
    login.raise_for_status()
    http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    charts = http.get(f"{args.superset}/api/v1/chart/", params={"q": "(page_size:200)"}, timeout=60).json()["result"]
    names = {c["slice_name"]: c["id"] for c in charts}
    chart_id = next((i for name, i in names.items() if CHART in name), None)
    if chart_id is None:
        print(f"[check] no chart named like {CHART!r} among {sorted(names)}", file=sys.stderr)
        return 1
    data = http.get(f"{args.superset}/api/v1/chart/{chart_id}/data/", timeout=120)
    data.raise_for_status()
    rows = [row for result in data.json()["result"] for row in result["data"]]
    shown = {(row["period"], region): value for row in rows for region, value in row.items() if region != "period"}
    con = duckdb.connect(args.warehouse, read_only=True)
    try:
        published = con.execute(
            """select v.period, r.name_zh, v.value from marts.indicator_values as v
               join marts.dim_region as r using (region_code)
               where v.indicator_code = 'RD_INTENSITY' and v.dimension = 'total'"""
        ).fetchall()
    finally:
        con.close()
    expected = {(period, region): value for period, region, value in published}
    wrong = {key: (value, expected.get(key)) for key, value in shown.items() if expected.get(key) != value}
    if not shown or wrong:
        print(
            f"[check] chart {chart_id}: {len(shown)} values shown; differing from the warehouse: {wrong}",
            file=sys.stderr,
        )
        return 1
    print(
        f"[check] Superset chart {chart_id} ({CHART}) returned {len(shown)} values through the API, "
        "each equal to marts.indicator_values"
    )
    freshness = names.get(FRESHNESS)
    if freshness is None:
        print(f"[check] no chart named {FRESHNESS!r}", file=sys.stderr)
        return 1
    data = http.get(f"{args.superset}/api/v1/chart/{freshness}/data/", timeout=120)
    data.raise_for_status()
    days = {
        row.get("feed_name", row.get("feed")): row["days_since_delivery"]
        for result in data.json()["result"]
        for row in result["data"]
        if "days_since_delivery" in row
    }
    # sample data are judged as of their own end, not today: no feed of the demo is years late (issue 23)
    if not days or max(days.values()) > 120:
        print(f"[check] days since the last delivery, per feed: {days}", file=sys.stderr)
        return 1
    print(f"[check] the data-quality dashboard's feed freshness, days since the last delivery: {days}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
