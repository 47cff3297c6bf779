"""Provisioning from nothing, and again: the second run changes nothing and keeps what admins added."""

from __future__ import annotations

import stat


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
