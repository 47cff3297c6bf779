"""Headless Chromium (Debian's, driven by playwright) opens every dashboard as an official would.

Asserts that every chart rendered (a canvas or svg, or a table for table charts), that no chart shows an error,
that no API call failed, and that no request left 127.0.0.1 (the CSP blocks Superset's telemetry pixel before it
is sent). Saves a PNG of each dashboard to docs/screenshots/ (shown in the README).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.superset.conftest import DASHBOARDS, PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
# the README shows these; SUPERSET_SCREENSHOTS_DIR sends them elsewhere (e.g. to keep the committed ones)
SCREENSHOTS = Path(os.environ.get("SUPERSET_SCREENSHOTS_DIR") or PROJECT_ROOT / "docs" / "screenshots")
RENDERED = "canvas, svg, table"
ERRORS = "[role=alert], .ant-alert-error, .error-alert"


def _saves_label_colours(response) -> bool:
    """The dashboard page saves the colours of labels it has not seen before (a new year, a new department) into
    the dashboard; a viewer may not change a dashboard, so that silent, unawaited PUT is refused. Nothing shows."""
    return response.request.method == "PUT" and response.status == 403 and "/colors?" in response.url


@pytest.fixture(scope="module")
def browser_page(superset, official):
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium fonts-noto-cjk (.ci/run does this)")
    playwright_api = pytest.importorskip("playwright.sync_api")
    traffic = {"outside": [], "left": [], "failed_api": []}
    local = urlparse(superset.url).netloc

    def is_outside(url: str) -> bool:
        return urlparse(url).scheme in ("http", "https", "ws", "wss") and urlparse(url).netloc != local

    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(
            viewport={"width": 1600, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai"
        )
        page = context.new_page()
        page.on("request", lambda r: traffic["outside"].append(r.url) if is_outside(r.url) else None)
        page.on("requestfinished", lambda r: traffic["left"].append(r.url) if is_outside(r.url) else None)
        page.on(
            "requestfailed",
            lambda r: (
                traffic["left"].append(f"{r.url} ({r.failure})") if is_outside(r.url) and r.failure != "csp" else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                traffic["failed_api"].append(f"{r.status} {r.request.method} {r.url}")
                if "/api/" in r.url and r.status >= 400 and not _saves_label_colours(r)
                else None
            ),
        )
        # wait until the login page is quiet: a request still in flight when the form is sent could bring back an
        # anonymous session cookie after the login's (PUBLIC_PERMISSIONS in superset/provision.py)
        page.goto(f"{superset.url}/login/", wait_until="networkidle")
        page.fill("#username", official)
        page.fill("#password", superset.users[official])
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/login" not in url, timeout=60_000)
        yield page, traffic
        browser.close()


@pytest.mark.parametrize("slug", list(DASHBOARDS))
def test_dashboard_renders_every_chart_offline(superset, dashboards, browser_page, slug):
    page, traffic = browser_page
    traffic["failed_api"].clear()
    response = page.goto(f"{superset.url}/superset/dashboard/{slug}/", wait_until="domcontentloaded")
    csp = response.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "http" not in csp, csp

    expected = len(dashboards[slug]["charts"])
    charts = page.locator("[data-test=chart-grid-component]")
    page.wait_for_function(
        """([expected, rendered, errors]) => {
            const charts = [...document.querySelectorAll('[data-test=chart-grid-component]')];
            return charts.length === expected && charts.every(c =>
                c.querySelector(errors) || (c.querySelector(rendered) && !c.querySelector('.loading')));
        }""",
        arg=[expected, RENDERED, ERRORS],
        timeout=120_000,
    )
    page.wait_for_timeout(2500)  # ECharts animates for about a second

    assert page.title() and DASHBOARDS[slug] in page.locator("body").inner_text()
    assert charts.count() == expected
    for index in range(expected):
        chart = charts.nth(index)
        name = chart.get_attribute("data-test-chart-name")
        assert chart.locator(ERRORS).count() == 0, f"{name}: {chart.locator(ERRORS).first.inner_text()}"
        viz = chart.get_attribute("data-test-viz-type")
        shape = "table" if viz == "table" else "canvas, svg"
        assert chart.locator(shape).count() > 0, f"{name} ({viz}) did not render"
    assert traffic["failed_api"] == []
    assert traffic["left"] == [], "requests left 127.0.0.1"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{slug}.png"
    page.screenshot(path=str(target.with_suffix(".tmp.png")), full_page=True)
    shutil.move(target.with_suffix(".tmp.png"), target)


def test_nothing_left_the_machine(browser_page):
    """The only outside request Superset's UI makes (a telemetry pixel) was stopped by the CSP."""
    _, traffic = browser_page
    assert traffic["left"] == []


def test_sql_lab_is_not_offered_to_an_official(superset, browser_page):
    """An official who types the SQL Lab address is refused (403), and the menu has no SQL entry."""
    page, _ = browser_page
    refused = page.goto(f"{superset.url}/sqllab/", wait_until="domcontentloaded")
    assert refused.status == 403
    page.goto(f"{superset.url}/dashboard/list/", wait_until="networkidle")
    menu = page.locator("[data-test=navbar-top], .main-nav, header").first.inner_text()
    assert "SQL" not in menu and "看板" in menu
