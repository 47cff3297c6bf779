"""The data team's cockpit: `innostat run` writes into a DAGSTER_HOME, the Dagster webserver started on that
instance shows its runs and every month partition materialised, and a headless browser renders the asset graph
without the first-visit newsletter dialog. Its screenshot goes to a temporary folder, or to DAGSTER_SCREENSHOTS_DIR
when set (`DAGSTER_SCREENSHOTS_DIR=docs/screenshots` renews the README's): a test run leaves the work tree clean."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.lib.months import touched_months
from pipelines.lib.settings import PROJECT_ROOT, Settings
from tests.helpers import copy_landing

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT_NAME = "dagster_asset_graph.png"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory, generated):
    """`innostat run --demo` on the tiny sample, into a DAGSTER_HOME that does not exist yet."""
    home = tmp_path_factory.mktemp("instance") / "dagster_home"
    landing = copy_landing(generated[0], tmp_path_factory.mktemp("cli") / "landing")
    warehouse = landing.parent / "wh" / "innostat.duckdb"
    env = {**os.environ, "DAGSTER_HOME": str(home), "INNOSTAT_LANDING": str(landing)}
    env["INNOSTAT_WAREHOUSE"] = str(warehouse)
    finished = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run", "--demo"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    return env, finished.stdout


@pytest.fixture(scope="module")
def webserver(cli_run):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (.ci/run does)")
    env, _ = cli_run
    port = _free_port()
    env = {**env, "DAGSTER_DISABLE_TELEMETRY": "1"}
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    process = subprocess.Popen(
        [str(webserver_bin), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                break
        except OSError:
            time.sleep(1)
    else:
        process.kill()
        pytest.fail("the Dagster webserver did not answer within 180 s")
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_asset_graph_renders_offline(webserver, tmp_path):
    from playwright.sync_api import sync_playwright

    outside = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on(
            "request",
            lambda request: (
                outside.append(request.url)
                if not request.url.startswith((webserver, "data:", "blob:", "about:"))
                else None
            ),
        )
        page.goto(f"{webserver}/asset-groups", wait_until="networkidle", timeout=120_000)
        folder = Path(os.environ.get("DAGSTER_SCREENSHOTS_DIR") or tmp_path)
        screenshot = (folder if folder.is_absolute() else PROJECT_ROOT / folder) / SCREENSHOT_NAME
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        try:
            # the lineage shows one node per group: each feed's raw tables and dbt models → indicators → publish
            for group in ("statistics", "security", "indicators", "publish"):
                page.wait_for_selector(f"text={group}", timeout=90_000)
            page.wait_for_timeout(1000)
            # nux disabled in dagster.yaml: no "Join the Dagster community" e-mail dialog on a first visit
            assert page.get_by_role("dialog").count() == 0
            assert page.get_by_text("Dagster community").count() == 0
        finally:
            page.screenshot(path=str(screenshot))
        browser.close()
    assert screenshot.stat().st_size > 10_000
    assert outside == [], f"the UI reached outside 127.0.0.1: {outside[:5]}"


def _graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.loads(response.read())
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def _months(first: str, last: str) -> int:
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:]) - int(first[5:]) + 1


def test_the_cli_run_and_its_partitions_show_in_the_ui(cli_run, webserver):
    env, output = cli_run
    assert Path(env["DAGSTER_HOME"], "dagster.yaml").exists()  # created from pipelines/instance/dagster.yaml
    data = _graphql(
        webserver,
        "{ workspaceOrError { ... on Workspace { locationEntries { name } } }"
        " runsOrError { ... on Runs { results { jobName status } } }"
        " assetNodes { assetKey { path } isPartitioned partitionStats { numMaterialized numPartitions } } }",
    )
    assert [entry["name"] for entry in data["workspaceOrError"]["locationEntries"]] == ["innostat"]
    runs = {(run["jobName"], run["status"]) for run in data["runsOrError"]["results"]}
    assert runs == {("ingest", "SUCCESS"), ("build_and_publish", "SUCCESS")}

    # the partitions span the months with data (the sample's years ended long ago), and the first build
    # materialised every one of them: "N of N" in the UI
    settings = Settings.resolve(env["INNOSTAT_LANDING"], env["INNOSTAT_WAREHOUSE"])
    first, last = touched_months(settings.raw_dir)
    expected = _months(first, last)
    partitioned = {
        "/".join(node["assetKey"]["path"]): node["partitionStats"]
        for node in data["assetNodes"]
        if node["isPartitioned"]
    }
    assert len(partitioned) > 10
    for key, stats in partitioned.items():
        assert stats == {"numMaterialized": expected, "numPartitions": expected}, key
    assert f"monthly facts for {first} … {last}" in output

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{webserver}/runs", wait_until="networkidle", timeout=120_000)
        for job in ("build_and_publish", "ingest"):
            page.get_by_text(job, exact=True).first.wait_for(timeout=60_000)
        assert page.get_by_text("No runs found").count() == 0
        browser.close()
