"""One real Superset for the whole session: a tiny published warehouse, provisioned from nothing, on a free port.

The pipeline runs (two: the second delivers late revisions, so the warehouse holds two releases; about 2 minutes)
and Superset's provisioning (about 1.5 minutes) do not depend on each other (the DuckDB URI is only a path until the
first query), so they run side by side; then gunicorn starts. Both
run with the Superset environment (superset/.venv, `make superset-install`), never this one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from pipelines.generate import generate_landing

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SUPERSET_DIR = PROJECT_ROOT / "superset"
SUPERSET_PYTHON = SUPERSET_DIR / ".venv" / "bin" / "python"
SUPERSET_GUNICORN = SUPERSET_DIR / ".venv" / "bin" / "gunicorn"
INNOSTAT = Path(sys.executable).with_name("innostat")
# The tiny sample of the end-to-end tests. SUPERSET_TEST_SCALE / SUPERSET_TEST_YEARS give the screenshots more
# data (the README's were taken with 0.02 and 2019-2022).
SCALE = float(os.environ.get("SUPERSET_TEST_SCALE", "0.002"))
YEARS = tuple(int(y) for y in os.environ.get("SUPERSET_TEST_YEARS", "2020-2021").split("-"))

DASHBOARDS = {  # slug → title, as in superset/assets/dashboards/
    "innovation-overview": "创新指标总览",
    "four-industries": "四大产业",
    "enterprise-rd": "企业研发",
    "government-services": "政务服务",
    "public-safety": "平安雁峰",
    "data-quality": "数据质量",
    "releases": "数据发布",
}
# Held back from the first `innostat run` and delivered before the second, so the published warehouse holds two
# releases and the second revises values (the last year's final statistics and R&D corrections): what the 数据发布
# dashboard and the overview's 已修订 mark show.
LATE_DELIVERIES = ("statistics/{year}年统计年报_最终核实.csv", "rd_filings/{year}年度研发投入更正及补报.csv")


@dataclass
class Superset:
    url: str
    admin_user: str
    admin_password: str
    warehouse: Path
    state_dir: Path
    env: dict[str, str]
    provision_log: str
    users: dict[str, str] = field(default_factory=dict)  # username → password, made by tests

    def session(self, user: str | None = None, password: str | None = None) -> requests.Session:
        """A REST session: JWT from /api/v1/security/login, then the CSRF token with a same-origin Referer."""
        user = user or self.admin_user
        password = password or (self.admin_password if user == self.admin_user else self.users[user])
        http = requests.Session()
        login = http.post(
            f"{self.url}/api/v1/security/login",
            json={"username": user, "password": password, "provider": "db", "refresh": True},
            timeout=30,
        )
        login.raise_for_status()
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        http.headers["Referer"] = self.url
        token = http.get(f"{self.url}/api/v1/security/csrf_token/", timeout=30)
        token.raise_for_status()
        http.headers["X-CSRFToken"] = token.json()["result"]
        return http

    def provision_again(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        """provision.py with these arguments (none: provision), in this Superset's environment plus `env`."""
        return subprocess.run(
            [str(SUPERSET_PYTHON), str(SUPERSET_DIR / "provision.py"), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


def _wait_healthy(url: str, server: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"gunicorn exited with {server.returncode}:\n{_tail(log)}")
        try:
            if requests.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"Superset did not answer {url}/health within {timeout} s:\n{_tail(log)}")


def _run_pipeline(landing: Path, warehouse: Path, env: dict[str, str], cwd: Path) -> None:
    pipeline = subprocess.run(
        [str(INNOSTAT), "run", "--landing", str(landing), "--warehouse", str(warehouse)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=cwd,
    )
    if pipeline.returncode != 0:
        output = pipeline.stdout[-3000:] + pipeline.stderr[-3000:]
        pytest.fail(f"innostat run failed ({pipeline.returncode}):\n{output}")


@pytest.fixture(scope="session")
def superset(tmp_path_factory) -> Superset:
    if not SUPERSET_PYTHON.exists():
        pytest.fail(
            f"{SUPERSET_PYTHON} is missing: the Superset tests need the Superset environment. "
            "Create it with `make superset-install` (`make test` does this first)."
        )
    root = tmp_path_factory.mktemp("superset")
    state = root / "state"
    warehouse = root / "wh" / "innostat.duckdb"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERSET_", "INNOSTAT_"))}
    env.update(
        SUPERSET_CONFIG_PATH=str(SUPERSET_DIR / "superset_config.py"),
        SUPERSET_STATE_DIR=str(state),
        SUPERSET_HOME=str(state),
        SUPERSET_ADMIN_USER="admin",  # no password: provisioning generates one, saves and prints it (tested)
        INNOSTAT_WAREHOUSE=str(warehouse),
        INNOSTAT_PII_KEY="superset-test-key",
        PYTHONDONTWRITEBYTECODE="1",
    )

    provision_log = root / "provision.log"
    with provision_log.open("w") as log:
        provisioning = subprocess.Popen(
            [str(SUPERSET_PYTHON), str(SUPERSET_DIR / "provision.py")],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
        )
    try:
        landing = root / "landing"
        generate_landing(landing, seed=7, scale=SCALE, years=YEARS)
        late = [landing / name.format(year=YEARS[-1]) for name in LATE_DELIVERIES]
        held = root / "held_back"
        held.mkdir()
        for path in late:
            path.rename(held / path.name)
        _run_pipeline(landing, warehouse, env, root)  # release 1
        for path in late:
            (held / path.name).rename(path)
        _run_pipeline(landing, warehouse, env, root)  # release 2: the late deliveries revise values
        provisioning.wait(timeout=900)
    finally:
        if provisioning.poll() is None:
            provisioning.kill()
    if provisioning.returncode != 0:
        pytest.fail(f"provisioning failed ({provisioning.returncode}):\n{_tail(provision_log, 60)}")

    server_log = root / "gunicorn.log"
    with server_log.open("w") as log:
        server = subprocess.Popen(
            [
                str(SUPERSET_GUNICORN),
                "-w",
                "1",
                "-k",
                "gthread",
                "--threads",
                "8",
                "--timeout",
                "120",
                "-b",
                f"127.0.0.1:{port}",
                "superset.app:create_app()",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, server, server_log)
        yield Superset(
            url=url,
            admin_user="admin",
            admin_password=(state / "admin_password").read_text().strip(),
            warehouse=warehouse,
            state_dir=state,
            env=env,
            provision_log=provision_log.read_text(),
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="session")
def admin(superset: Superset) -> requests.Session:
    return superset.session()


@pytest.fixture(scope="session")
def dashboards(superset: Superset, admin: requests.Session) -> dict[str, dict]:
    """slug → {id, title, charts: [{id, slice_name, viz_type}]} of every dashboard Superset holds."""
    listing = admin.get(f"{superset.url}/api/v1/dashboard/", params={"q": "(page_size:100)"}, timeout=30).json()
    found = {}
    for item in listing["result"]:
        charts = admin.get(f"{superset.url}/api/v1/dashboard/{item['id']}/charts", timeout=30).json()["result"]
        found[item["slug"]] = {
            "id": item["id"],
            "title": item["dashboard_title"],
            "charts": [
                {"id": c["id"], "slice_name": c["slice_name"], "viz_type": c["form_data"]["viz_type"]} for c in charts
            ],
        }
    return found


def make_user(superset: Superset, admin: requests.Session, username: str, roles: list[str]) -> str:
    """A user with the named roles (created once per session); returns the username."""
    if username in superset.users:
        return username
    ids = {
        r["name"]: r["id"]
        for r in admin.get(
            f"{superset.url}/api/v1/security/roles/", params={"q": "(page_size:100)"}, timeout=30
        ).json()["result"]
    }
    password = f"pw-{username}-{os.urandom(4).hex()}"
    created = admin.post(
        f"{superset.url}/api/v1/security/users/",
        json={
            "active": True,
            "username": username,
            "first_name": username,
            "last_name": "test",
            "email": f"{username}@innostat.test",
            "password": password,
            "roles": [ids[r] for r in roles],
        },
        timeout=30,
    )
    assert created.status_code == 201, created.text
    superset.users[username] = password
    return username


@pytest.fixture(scope="session")
def official(superset: Superset, admin: requests.Session) -> str:
    return make_user(superset, admin, "official_test", ["Official"])


@pytest.fixture(scope="session")
def statistician(superset: Superset, admin: requests.Session) -> str:
    return make_user(superset, admin, "statistician_test", ["Statistician"])
