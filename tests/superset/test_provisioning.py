"""Provisioning from nothing, and again: the second run changes nothing and keeps what admins added."""

from __future__ import annotations

import importlib.util
import json
import shutil
import stat

import duckdb

from tests.superset.conftest import DASHBOARDS, SUPERSET_DIR


def test_provisioning_from_nothing_ran_every_step_and_generated_the_admin_password(superset):
    log = superset.provision_log
    for step in range(1, 7):
        assert f"step {step}/6" in log
    assert "provisioned in" in log
    assert f"warehouse {superset.warehouse}" in log  # the published file, from INNOSTAT_WAREHOUSE
    assert log.count(superset.admin_password) == 1  # printed once, when generated
    assert stat.S_IMODE((superset.state_dir / "admin_password").stat().st_mode) == 0o600
    assert stat.S_IMODE((superset.state_dir / "secret_key").stat().st_mode) == 0o600


def _snapshot(superset, admin) -> dict:
    def listing(endpoint: str, *keys: str) -> list:
        result = admin.get(f"{superset.url}/api/v1/{endpoint}/", params={"q": "(page_size:100)"}, timeout=30)
        return sorted(tuple(str(item.get(k)) for k in keys) for item in result.json()["result"])

    roles = admin.get(f"{superset.url}/api/v1/security/roles/search/", params={"q": "(page_size:100)"}, timeout=30)
    return {
        "dashboards": listing("dashboard", "id", "uuid", "slug", "dashboard_title"),
        "charts": listing("chart", "id", "uuid", "slice_name"),
        "datasets": listing("dataset", "id", "uuid", "table_name"),
        "databases": listing("database", "id", "database_name"),
        "rls": listing("rowlevelsecurity", "id", "name"),
        "roles": sorted((r["name"], tuple(sorted(r["permission_ids"]))) for r in roles.json()["result"]),
    }


def test_provisioning_again_changes_nothing(superset, admin):
    # something an admin adds by hand must survive: a row-level security rule
    dataset = admin.get(f"{superset.url}/api/v1/dataset/", timeout=30).json()["result"][0]["id"]
    role = admin.post(f"{superset.url}/api/v1/security/roles/", json={"name": "Idempotency check"}, timeout=30)
    rule = admin.post(
        f"{superset.url}/api/v1/rowlevelsecurity/",
        json={
            "name": "idempotency check",
            "filter_type": "Regular",
            "tables": [dataset],
            "roles": [role.json()["id"]],
            "clause": "1 = 1",
        },
        timeout=30,
    )
    assert rule.status_code == 201, rule.text
    password = (superset.state_dir / "admin_password").read_text()
    before = _snapshot(superset, admin)

    again = superset.provision_again()
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "admin user 'admin' exists" in again.stdout
    assert "generated admin password" not in again.stdout
    assert (superset.state_dir / "admin_password").read_text() == password
    assert _snapshot(superset, admin) == before


def test_the_metadata_database_and_the_state_folder_are_private(superset):
    """superset.db holds every user's password hash."""
    assert stat.S_IMODE((superset.state_dir / "superset.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(superset.state_dir.stat().st_mode) == 0o700


def _provision_module():
    spec = importlib.util.spec_from_file_location("innostat_superset_provision", SUPERSET_DIR / "provision.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_sample_warehouse_marks_every_dashboard(superset, admin, tmp_path):
    """A warehouse built by `innostat demo` says so in marts.warehouse_info (is_sample_data); provisioning then
    marks every dashboard 「（示例数据）」 with a banner. Without the table, or with false, nothing is marked."""
    provision = _provision_module()
    sample = tmp_path / "sample.duckdb"
    shutil.copy2(superset.warehouse, sample)
    assert provision.is_sample_warehouse(sample) is False  # built with a real key: is_sample_data is false
    assert provision.is_sample_warehouse(tmp_path / "missing.duckdb") is False
    con = duckdb.connect(str(sample))
    con.execute("drop view marts.warehouse_info")  # a warehouse published before the table existed
    con.close()
    assert provision.is_sample_warehouse(sample) is False
    con = duckdb.connect(str(sample))
    con.execute("create table marts.warehouse_info as select true as is_sample_data")
    con.close()
    assert provision.is_sample_warehouse(sample) is True

    def titles() -> dict[str, str]:
        listing = admin.get(f"{superset.url}/api/v1/dashboard/", params={"q": "(page_size:100)"}, timeout=30)
        return {d["slug"]: d["dashboard_title"] for d in listing.json()["result"]}

    marked = superset.provision_again(INNOSTAT_WAREHOUSE=str(sample))
    try:
        assert marked.returncode == 0, marked.stdout[-2000:] + marked.stderr[-2000:]
        assert "sample data" in marked.stdout
        assert titles() == {slug: f"{title}（示例数据）" for slug, title in DASHBOARDS.items()}
        for slug in DASHBOARDS:
            detail = admin.get(f"{superset.url}/api/v1/dashboard/{slug}", timeout=30).json()["result"]
            position = json.loads(detail["position_json"])
            assert "示例数据" in position["MARKDOWN-sample-data"]["meta"]["code"], slug
            assert position["GRID_ID"]["children"][0] == "ROW-sample-data", slug
    finally:
        restored = superset.provision_again()
        assert restored.returncode == 0, restored.stdout[-2000:] + restored.stderr[-2000:]
    assert titles() == DASHBOARDS


def test_export_keeps_every_file_name_and_names_a_new_chart_by_the_rule(superset, tmp_path):
    """`provision.py export` writes each asset back to its file (found by uuid); a chart without a file gets the
    name of docs/superset.md's rule: `<dashboard>__<indicator>__<view>`, the view its visualisation type."""
    assets = tmp_path / "assets"
    shutil.copytree(SUPERSET_DIR / "assets", assets)
    before = {path.relative_to(assets) for path in assets.rglob("*.yaml")}
    (assets / "charts" / "overview__rd_intensity__big.yaml").unlink()  # as if made in the UI
    exported = superset.provision_again("export", "--assets", str(assets))
    assert exported.returncode == 0, exported.stdout[-2000:] + exported.stderr[-2000:]
    after = {path.relative_to(assets) for path in assets.rglob("*.yaml")}
    new = after - before
    assert {str(path) for path in new} == {"charts/overview__rd_intensity__big_number.yaml"}
    assert after - new == before - {path for path in before if path.name == "overview__rd_intensity__big.yaml"}
