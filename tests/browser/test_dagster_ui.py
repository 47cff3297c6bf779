"""Smoke test of the data team's cockpit: the Dagster webserver starts on our definitions and a headless
browser renders the asset graph (screenshot in docs/screenshots/dagster_asset_graph.png)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.lib.settings import PROJECT_ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = PROJECT_ROOT / "docs" / "screenshots" / "dagster_asset_graph.png"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def webserver(tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: apt-get install chromium (.ci/run does)")
    home = tmp_path_factory.mktemp("dagster_home")
    shutil.copy(PROJECT_ROOT / "pipelines" / "instance" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "DAGSTER_DISABLE_TELEMETRY": "1"}
    env["INNOSTAT_WAREHOUSE"] = str(tmp_path_factory.mktemp("wh") / "innostat.duckdb")
    webserver_bin = Path(sys.executable).parent / "dagster-webserver"
    process = subprocess.Popen(
        [str(webserver_bin), "-m", "pipelines.definitions", "-h", "127.0.0.1", "-p", str(port)],
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


def test_asset_graph_renders_offline(webserver):
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
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        try:
            # the lineage shows one node per group: ingestion by feed → transform → publish
            for group in ("statistics", "security", "transform", "publish"):
                page.wait_for_selector(f"text={group}", timeout=90_000)
            skip = page.get_by_role("button", name="Skip")  # first-visit newsletter dialog
            if skip.count():
                skip.first.click()
            page.wait_for_timeout(1000)
        finally:
            page.screenshot(path=str(SCREENSHOT))
        browser.close()
    assert SCREENSHOT.stat().st_size > 10_000
    assert outside == [], f"the UI reached outside 127.0.0.1: {outside[:5]}"
