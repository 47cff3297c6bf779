"""Roles: officials read dashboards only, statisticians query marts only, nobody anonymous, streets by RLS."""

from __future__ import annotations

import json

import duckdb
import requests

from tests.superset.conftest import make_user
from tests.superset.test_chart_data import chart_data

STREET = ("430406001000", "先锋街道")


def _database(superset, admin) -> dict:
    (database,) = admin.get(f"{superset.url}/api/v1/database/", timeout=30).json()["result"]
    return admin.get(f"{superset.url}/api/v1/database/{database['id']}/connection", timeout=30).json()["result"]


def _run_sql(superset, session, database_id: int, sql: str) -> requests.Response:
    return session.post(
        f"{superset.url}/api/v1/sqllab/execute/",
        json={
            "database_id": database_id,
            "sql": sql,
            "schema": "marts",
            "runAsync": False,
        },
        timeout=120,
    )


def test_the_warehouse_is_connected_read_only_with_dml_off(superset, admin):
    database = _database(superset, admin)
    assert database["database_name"] == "innostat"
    assert database["allow_dml"] is False
    assert database["sqlalchemy_uri"] == f"duckdb:///{superset.warehouse}"
    connect_args = json.loads(database["extra"])["engine_params"]["connect_args"]
    assert connect_args["read_only"] is True
    assert connect_args["config"]["enable_external_access"] is False  # no read_csv('/etc/…') from SQL Lab
    # statisticians cannot write either: DuckDB itself refuses, on top of allow_dml
    refused = _run_sql(superset, admin, database["id"], "create table marts.scratch as select 1 as x")
    assert refused.status_code != 200


def test_nothing_is_public(superset):
    anonymous = requests.Session()
    assert anonymous.get(f"{superset.url}/api/v1/dashboard/", timeout=30).status_code == 401
    page = anonymous.get(f"{superset.url}/superset/dashboard/innovation-overview/", timeout=30, allow_redirects=False)
    assert page.status_code in (301, 302) and "/login" in page.headers["Location"]
    assert anonymous.get(f"{superset.url}/api/v1/chart/1/data/", timeout=30).status_code == 401


def test_the_public_role_only_serves_the_login_page(superset, admin):
    """Two permissions, neither touches data: the login page's translations and its UI event log (see
    PUBLIC_PERMISSIONS in superset/provision.py for why)."""
    roles = admin.get(f"{superset.url}/api/v1/security/roles/", params={"q": "(page_size:100)"}, timeout=30)
    (public,) = [r["id"] for r in roles.json()["result"] if r["name"] == "Public"]
    granted = admin.get(f"{superset.url}/api/v1/security/roles/{public}/permissions/", timeout=30).json()["result"]
    assert sorted((p["permission_name"], p["view_menu_name"]) for p in granted) == [
        ("can_language_pack", "Superset"),
        ("can_log", "Superset"),
    ]


def test_an_official_reads_every_dashboard(superset, admin, official, dashboards):
    session = superset.session(official)
    listed = session.get(f"{superset.url}/api/v1/dashboard/", params={"q": "(page_size:100)"}, timeout=30)
    assert {d["slug"] for d in listed.json()["result"]} == set(dashboards)
    for dashboard in dashboards.values():
        chart_data(superset, session, dashboard["charts"][0]["id"])


def test_an_official_is_refused_sql_lab_and_dataset_editing(superset, admin, official):
    database = _database(superset, admin)
    session = superset.session(official)
    assert _run_sql(superset, session, database["id"], "select 1 as x").status_code == 403
    assert session.get(f"{superset.url}/api/v1/dataset/", timeout=30).status_code == 403
    dataset_id = admin.get(f"{superset.url}/api/v1/dataset/", timeout=30).json()["result"][0]["id"]
    edit = session.put(f"{superset.url}/api/v1/dataset/{dataset_id}", json={"description": "x"}, timeout=30)
    assert edit.status_code == 403
    assert session.get(f"{superset.url}/api/v1/database/", timeout=30).status_code == 403


def test_a_statistician_queries_marts_and_nothing_else(superset, admin, statistician):
    database = _database(superset, admin)
    session = superset.session(statistician)
    ok = _run_sql(superset, session, database["id"], "select count(*) as n from marts.indicator_values")
    assert ok.status_code == 200, ok.text
    assert ok.json()["data"][0]["n"] > 0
    for sql in (
        "select count(*) from raw.quarantine",  # raw rows, pseudonymised but not published
        "select count(*) from intermediate.int_rd_filings_ranked",
        "select * from read_csv('/etc/passwd')",
    ):
        refused = _run_sql(superset, session, database["id"], sql)
        assert refused.status_code != 200, sql
        assert "SECURITY_ACCESS_ERROR" in refused.text or refused.status_code == 403, refused.text[:300]


def _query_dataset(superset, session, dataset_id: int, column: str) -> requests.Response:
    """An ad-hoc query through the chart-data API (what any chart runs): rows per value of one column."""
    return session.post(
        f"{superset.url}/api/v1/chart/data",
        json={
            "datasource": {"id": dataset_id, "type": "table"},
            "force": False,
            "result_format": "json",
            "result_type": "full",
            "queries": [
                {
                    "columns": [column],
                    "metrics": [{"expressionType": "SQL", "sqlExpression": "COUNT(*)", "label": "rows"}],
                    "filters": [],
                    "extras": {"where": "", "having": ""},
                    "orderby": [],
                    "row_limit": 10000,
                }
            ],
        },
        timeout=120,
    )


def test_row_level_security_limits_a_street_official_to_their_street(superset, admin, dashboards):
    """The documented setup (docs/superset.md): `provision.py street CODE --user NAME`, a role whose row-level
    security rule covers every dataset with street rows. Each dataset is asked through the chart-data API."""
    code, name = STREET
    street_user = make_user(superset, admin, "street_official_test", ["Official"])
    made = superset.provision_again("street", code, "--user", street_user)
    assert made.returncode == 0, made.stdout[-2000:] + made.stderr[-2000:]
    assert f"now sees only {name}" in made.stdout
    session = superset.session(street_user)

    con = duckdb.connect(str(superset.warehouse), read_only=True)
    try:
        sql = "select region_code, name_zh from marts.dim_region where level in ('street', 'town')"
        streets = dict(con.execute(sql).fetchall())
    finally:
        con.close()
    assert code in streets and len(streets) > 1

    datasets = admin.get(f"{superset.url}/api/v1/dataset/", params={"q": "(page_size:100)"}, timeout=30).json()
    checked = []
    for dataset in datasets["result"]:
        detail = admin.get(f"{superset.url}/api/v1/dataset/{dataset['id']}", timeout=30).json()["result"]
        columns = {column["column_name"] for column in detail["columns"]}
        if "region_code" not in columns:
            # no street rows without a region: nothing else names a region or a street
            assert not any("region" in column or "street" in column for column in columns), dataset["table_name"]
            continue
        everyone = _query_dataset(superset, admin, dataset["id"], "region_code")
        limited = _query_dataset(superset, session, dataset["id"], "region_code")
        assert everyone.status_code == 200 and limited.status_code == 200, limited.text[:300]
        seen_by_all = {row["region_code"] for row in everyone.json()["result"][0]["data"]}
        seen_by_street = {row["region_code"] for row in limited.json()["result"][0]["data"]}
        assert seen_by_street & set(streets) <= {code}, dataset["table_name"]
        # district and higher regions stay visible
        assert seen_by_street - set(streets) == seen_by_all - set(streets), dataset["table_name"]
        checked.append((dataset["table_name"], len(seen_by_all & set(streets))))
    assert {"rpt_indicator_values", "rpt_street_indicator_values"} <= {table for table, _ in checked}
    # the other datasets with region_code have street rows only now and then (plan targets, revisions)
    assert all(count > 1 for table, count in checked if table.endswith("indicator_values")), checked

    street_charts = [c for d in dashboards.values() for c in d["charts"] if c["slice_name"].startswith("各街道（镇）")]
    assert len(street_charts) >= 4
    shown_for_the_street = 0
    for chart in street_charts:
        everyone = {_street(row) for r in chart_data(superset, admin, chart["id"]) for row in r["data"]}
        limited = {_street(row) for r in chart_data(superset, session, chart["id"]) for row in r["data"]}
        assert len(everyone) > 1, chart["slice_name"]
        # the tiny sample may have no camera (say) in this street: then the official sees nothing, never others
        assert limited == ({name} if name in everyone else set()), chart["slice_name"]
        shown_for_the_street += name in limited
    assert shown_for_the_street >= 3


def _street(row: dict) -> str | None:
    """The street of a by-street chart's row: street_name, or the R&D charts' street_label without the reason a
    withheld cell carries (先锋街道（2021年 保密：少于3家企业）)."""
    label = row.get("street_name") or row.get("street_label")
    return label.split("（")[0] if label else None


def test_an_official_reads_charts_but_cannot_list_them(superset, admin, official, dashboards):
    """docs/superset.md: officials cannot list charts. Reading a chart's data needs the same permission as the
    list, so superset_config.py refuses the list, a chart's definition and its export to them."""
    session = superset.session(official)
    chart = dashboards["innovation-overview"]["charts"][0]["id"]
    chart_data(superset, session, chart)
    assert session.get(f"{superset.url}/api/v1/chart/", timeout=30).status_code == 403
    assert session.get(f"{superset.url}/api/v1/chart/{chart}", timeout=30).status_code == 403
    exported = session.get(f"{superset.url}/api/v1/chart/export/", params={"q": f"!({chart})"}, timeout=30)
    assert exported.status_code == 403
    assert admin.get(f"{superset.url}/api/v1/chart/", timeout=30).status_code == 200
