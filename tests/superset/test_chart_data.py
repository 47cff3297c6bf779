"""Every chart of every dashboard returns data through the REST API, and the numbers are the marts' numbers."""

from __future__ import annotations

import json
import math
import os
import re
import shutil

import duckdb
import pytest

from tests.superset.conftest import DASHBOARDS

PSEUDONYM_PREFIX = "p:"  # pipelines/lib/pseudonymise.py


def _marts(superset, sql: str) -> list[tuple]:
    con = duckdb.connect(str(superset.warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _has_table(superset, schema: str, table: str) -> bool:
    sql = f"select count(*) from information_schema.tables where table_schema = '{schema}' and table_name = '{table}'"
    return _marts(superset, sql)[0][0] == 1


def chart_data(superset, session, chart_id: int) -> list[dict]:
    """The chart's own saved query (its query_context), as a dashboard would run it; every query must succeed."""
    response = session.get(f"{superset.url}/api/v1/chart/{chart_id}/data/", timeout=120)
    assert response.status_code == 200, f"chart {chart_id}: {response.status_code} {response.text[:500]}"
    results = response.json()["result"]
    assert results, f"chart {chart_id} ran no query"
    for result in results:
        assert not result.get("error"), f"chart {chart_id}: {result['error']}"
    return results


def _chart_id(dashboards, slug: str, name: str) -> int:
    (found,) = [c["id"] for c in dashboards[slug]["charts"] if c["slice_name"] == name]
    return found


def test_the_seven_dashboards_exist_with_their_chinese_titles(dashboards):
    assert {slug: d["title"] for slug, d in dashboards.items()} == DASHBOARDS
    for slug, dashboard in dashboards.items():
        assert len(dashboard["charts"]) >= 3, slug


def test_every_chart_of_every_dashboard_returns_data(superset, admin, dashboards):
    empty, pending = [], []
    quality_published = _has_table(superset, "marts", "data_quality")
    for slug, dashboard in dashboards.items():
        for chart in dashboard["charts"]:
            if chart["slice_name"] in QUALITY_CHARTS and not quality_published:
                pending.append(chart["slice_name"])  # marts.data_quality is not published by this pipeline yet
                continue
            results = chart_data(superset, admin, chart["id"])
            if not any(result["rowcount"] for result in results):
                empty.append(f"{slug}: {chart['slice_name']}")
    # empty only while the published file has nothing to show there (no withheld cell, no release or revision)
    for name, sql in EMPTY_WITHOUT.items():
        if any(entry.endswith(f": {name}") for entry in empty) and _marts_count(superset, sql) == 0:
            empty = [entry for entry in empty if not entry.endswith(f": {name}")]
            pending.append(name)
    assert empty == [], "charts without rows"
    if pending:
        pytest.skip(f"marts.data_quality not in the published warehouse yet; not checked: {pending}")


QUALITY_CHARTS = {"各表最近一次质量检查", "每次运行的检查结果（条）"}
REVISIONS = """select count(*) from marts.indicator_value_history as h
    join marts.indicator_value_history as before on before.valid_to = h.valid_from"""
EMPTY_WITHOUT = {
    "保密未公布的数值": "select count(*) from marts.indicator_values where conf_status != 'F'",
    "发布记录": "select count(*) from marts.releases",
    "每次发布新增、修订、撤下的数值（个）": "select count(*) from marts.releases",
    "各次发布修订的数值": REVISIONS,
    "最新发布修订的数值（已修订）": REVISIONS + " where h.valid_from = (select max(release_id) from marts.releases)",
}


def _marts_count(superset, sql: str) -> int:
    try:
        return _marts(superset, sql)[0][0]
    except duckdb.CatalogException:  # a table the pipeline does not publish yet
        return 0


def test_every_chart_has_a_saved_query_and_a_description(superset, admin, dashboards):
    """The saved query is what reports and this API run; the description is what the dashboard shows under it."""
    for dashboard in dashboards.values():
        for chart in dashboard["charts"]:
            detail = admin.get(f"{superset.url}/api/v1/chart/{chart['id']}", timeout=30).json()["result"]
            assert detail["query_context"], chart["slice_name"]
            assert detail["description"], chart["slice_name"]


def test_rd_intensity_beside_the_higher_regions_equals_marts(superset, admin, dashboards):
    chart = _chart_id(dashboards, "innovation-overview", "研发经费投入强度：雁峰区与衡阳市、湖南省、全国")
    (result,) = chart_data(superset, admin, chart)
    shown = {
        (row["period"], region): value
        for row in result["data"]
        for region, value in row.items()
        if region != "period" and value is not None
    }
    expected = dict(
        ((period, name), value)
        for period, name, value in _marts(
            superset,
            """
        select v.period, r.name_zh, v.value from marts.indicator_values as v
        join marts.dim_region as r using (region_code)
        where v.indicator_code = 'RD_INTENSITY' and v.period_type = 'year' and v.dimension = 'total'""",
        )
    )
    assert expected and set(shown) == set(expected)
    for key, value in expected.items():
        assert math.isclose(shown[key], value, rel_tol=1e-9), key
    assert {name for _, name in expected} >= {"雁峰区"}


def test_enterprise_rd_by_street_equals_marts_in_wan_yuan(superset, admin, dashboards):
    chart = _chart_id(dashboards, "enterprise-rd", "各街道（镇）企业研发费用（万元）")
    (result,) = chart_data(superset, admin, chart)
    shown = {
        (year, row["street_label"]): value
        for row in result["data"]
        for year, value in row.items()
        if year != "street_label" and value is not None
    }
    expected = {  # withheld cells have no value (tests/superset/test_publishing.py checks their labels)
        (period, name): value / 1e4
        for period, name, value in _marts(
            superset,
            """
        select v.period, r.name_zh, v.value from marts.indicator_values as v
        join marts.dim_region as r using (region_code)
        where v.indicator_code = 'ENT_RD_EXPENDITURE' and r.level in ('street', 'town') and v.dimension = 'total'
          and v.conf_status = 'F'""",
        )
    }
    assert expected and shown.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(shown[key], value, rel_tol=1e-9), key


def test_incidents_by_category_equal_marts_with_chinese_labels(superset, admin, dashboards):
    chart = _chart_id(dashboards, "public-safety", "警情类别构成（按月）")
    (result,) = chart_data(superset, admin, chart)
    labels = {
        "theft": "盗窃",
        "fraud": "诈骗",
        "traffic": "交通",
        "dispute": "纠纷",
        "fire": "火灾",
        "violence": "暴力",
        "other": "其他",
    }
    shown = {
        (row["period"], label): value
        for row in result["data"]
        for label, value in row.items()
        if label != "period" and value is not None
    }
    expected = {
        (period, labels[member]): value
        for period, member, value in _marts(
            superset,
            """
        select period, member, value from marts.indicator_values
        where indicator_code = 'SEC_INCIDENTS' and dimension = 'category' and region_code = '430406'""",
        )
    }
    assert expected and shown == pytest.approx(expected)


def test_plan_targets_against_actuals_equal_marts(superset, admin, dashboards):
    chart = _chart_id(dashboards, "innovation-overview", "规划目标与实际值")
    (result,) = chart_data(superset, admin, chart)
    shown = {(row["year"], row["target_name"]): row["achievement_ratio"] for row in result["data"]}
    expected = _marts(superset, "select period, achievement_ratio from marts.plan_target_progress order by all")

    def ordered(pairs):  # no ratio without an actual: None sorts last within a year
        return sorted(pairs, key=lambda pair: (pair[0], pair[1] is None, pair[1] or 0))

    assert len(shown) == len(expected)
    shown_pairs = ordered((year, ratio) for (year, _), ratio in shown.items())
    expected_pairs = ordered(expected)
    assert [year for year, _ in shown_pairs] == [year for year, _ in expected_pairs]
    for (_, got), (_, want) in zip(shown_pairs, expected_pairs, strict=True):
        assert (got is None and want is None) or math.isclose(got, want, rel_tol=1e-9)


def test_power_output_against_its_300_yi_target_equals_marts(superset, admin, dashboards):
    chart = _chart_id(dashboards, "four-industries", "输变电产业产值与300亿元目标")
    actual, target = chart_data(superset, admin, chart)
    expected = _marts(
        superset,
        """select period, actual_value / 1e8, target_value / 1e8 from marts.plan_target_progress
        where target_code = 'POWER_EQUIPMENT_OUTPUT_300YI' and actual_value is not null order by period""",
    )
    assert {r["year"]: r["actual_yi_yuan"] for r in actual["data"]} == pytest.approx({p: a for p, a, _ in expected})
    assert {r["target_yi_yuan"] for r in target["data"]} == {300.0}


def test_quarantine_and_freshness_equal_the_ledger(superset, admin, dashboards):
    freshness = _chart_id(dashboards, "data-quality", "各数据源新鲜度")
    (result,) = chart_data(superset, admin, freshness)
    names = {
        "statistics": "统计局指标",
        "rd_filings": "企业研发投入填报",
        "gov_services": "政务服务事件",
        "security_incidents": "110接处警",
        "security_cameras": "雪亮工程摄像头",
    }
    shown = {row["feed_name"]: (row["files"], row["rows_loaded"], row["rows_quarantined"]) for row in result["data"]}
    expected = {
        names[feed]: (files, loaded, quarantined)
        for feed, files, loaded, quarantined in _marts(
            superset,
            """
        select feed, count(*) filter (where status <> 'duplicate'), sum(rows_loaded), sum(rows_quarantined)
        from marts.ingest_ledger group by feed""",
        )
    }
    assert shown == expected

    reasons = _chart_id(dashboards, "data-quality", "隔离原因")
    (result,) = chart_data(superset, admin, reasons)
    by_feed: dict[str, int] = {}
    for row in result["data"]:
        by_feed[row["feed_name"]] = by_feed.get(row["feed_name"], 0) + row["rows"]
    expected_rows = dict(_marts(superset, "select feed, count(*) from marts.quarantine group by feed"))
    assert by_feed == {names[feed]: rows for feed, rows in expected_rows.items()}


def test_no_chart_shows_personal_data(superset, admin, dashboards):
    """Only pseudonyms exist in the warehouse, and no chart reads them: no pseudonym, no personal column."""
    quality_published = _has_table(superset, "marts", "data_quality")
    for dashboard in dashboards.values():
        for chart in dashboard["charts"]:
            if chart["slice_name"] in QUALITY_CHARTS and not quality_published:
                continue
            for result in chart_data(superset, admin, chart["id"]):
                columns = " ".join(result["colnames"]).lower()
                assert not any(word in columns for word in ("pseudonym", "applicant", "reporter", "raw")), columns
                for row in result["data"]:
                    for value in row.values():
                        assert not (isinstance(value, str) and value.startswith(PSEUDONYM_PREFIX)), chart


def test_a_newly_published_warehouse_shows_without_a_restart(superset, admin, dashboards):
    """The pipeline publishes with os.replace; the next query must read the new file (no pooled connection,
    no result cache), and a rollback shows the old numbers again."""
    chart = _chart_id(dashboards, "innovation-overview", "高新技术企业数（家）")

    def yanfeng() -> dict[str, float]:
        (result,) = chart_data(superset, admin, chart)
        return {row["period"]: row["雁峰区"] for row in result["data"]}

    before = yanfeng()
    published = superset.warehouse
    kept = published.with_name("kept-for-test.duckdb")
    changed = published.with_name("changed-for-test.duckdb")
    shutil.copy2(published, kept)
    shutil.copy2(published, changed)
    con = duckdb.connect(str(changed))
    con.execute(
        "update marts.indicator_values set value = value + 1000 "
        "where indicator_code = 'HT_ENTERPRISES' and region_code = '430406' and period_type = 'year'"
    )
    con.close()
    try:
        os.replace(changed, published)  # what publish does
        assert yanfeng() == {period: value + 1000 for period, value in before.items()}
    finally:
        os.replace(kept, published)
    assert yanfeng() == before


def _chart_params(admin, superset, chart_id: int) -> dict:
    detail = admin.get(f"{superset.url}/api/v1/chart/{chart_id}", timeout=30).json()["result"]
    return json.loads(detail["params"])


def test_counts_show_without_decimals_and_count_axes_step_by_whole_numbers(superset, admin, dashboards):
    """ "92 家", never "92.00 家": the plan table writes counts whole; count charts format ',d' and their value
    axis steps by at least 1 (ECharts minInterval), so a small count shows no 0.5 tick."""
    table = _chart_id(dashboards, "innovation-overview", "规划目标与实际值")
    (result,) = chart_data(superset, admin, table)
    expected = {
        (period, code): (target, actual, unit)
        for period, code, target, actual, unit in _marts(
            superset, "select period, target_code, target_value, actual_value, unit from marts.plan_target_progress"
        )
    }
    counts = [row for row in result["data"] if row["target_text"].endswith(" 家")]
    assert counts, "no count target in the plan table"
    for row in counts:
        assert re.fullmatch(r"[\d,]+ 家", row["target_text"]), row
        assert row["actual_text"] == "—" or re.fullmatch(r"[\d,]+ 家", row["actual_text"]), row
    shown = {(row["year"], row["target_text"], row["actual_text"]) for row in counts}
    assert shown == {
        (period, f"{target:,.0f} 家", "—" if actual is None else f"{actual:,.0f} 家")
        for (period, _), (target, actual, unit) in expected.items()
        if unit == "count"
    }

    count_metrics = {"count", "files", "rows", "checks"}
    count_charts = [
        chart
        for dashboard in dashboards.values()
        for chart in dashboard["charts"]
        if chart["viz_type"].startswith("echarts_timeseries")
        and set(_chart_params(admin, superset, chart["id"]).get("metrics") or []) & count_metrics
    ]
    assert len(count_charts) >= 8
    for chart in count_charts:
        params = _chart_params(admin, superset, chart["id"])
        assert params["y_axis_format"] == ",d", chart["slice_name"]
        assert re.search(r"minInterval:\s*1\b", params.get("echart_options") or ""), chart["slice_name"]


def test_a_ratio_changes_in_percentage_points(superset, admin, dashboards):
    """R&D intensity 2.87 % → 2.99 % reads "+0.12 个百分点", not "+4.2 %" (a relative change): the big numbers of
    ratios carry no relative comparison, and a chart beside each gives the difference × 100."""
    share = "高新技术产业增加值占GDP比重"
    ratios = [
        ("innovation-overview", "研发经费投入强度（雁峰区）", "研发经费投入强度", "RD_INTENSITY", ""),
        ("innovation-overview", f"{share}（雁峰区）", share, "HT_VA_SHARE", ""),
        ("enterprise-rd", "企业研发投入强度", "企业研发投入强度", "ENT_RD_INTENSITY", "and dimension = 'total'"),
    ]
    for slug, big, name, code, extra in ratios:
        change = f"{name}：较上年变化（百分点）"
        params = _chart_params(admin, superset, _chart_id(dashboards, slug, big))
        assert not params.get("compare_lag"), big
        (result,) = chart_data(superset, admin, _chart_id(dashboards, slug, change))
        (shown,) = result["data"][0].values()
        values = _marts(
            superset,
            f"""select period, value from marts.indicator_values where indicator_code = '{code}'
            and region_code = '430406' and period_type = 'year' {extra} order by period desc limit 2""",
        )
        assert len(values) == 2, code
        (latest, now), (before, then) = values
        assert int(latest) == int(before) + 1
        if now is None or then is None:  # a withheld year (conf_status A, O, D): no change to show either
            assert shown is None, change
            continue
        assert math.isclose(shown, (now - then) * 100, rel_tol=1e-9, abs_tol=1e-12), change
        change_params = _chart_params(admin, superset, _chart_id(dashboards, slug, change))
        assert "个百分点" in change_params["subtitle"]


def test_big_numbers_name_their_metric_in_chinese(superset, admin, dashboards):
    """The trend line's tooltip shows the metric's name: a label in Chinese, not a saved metric's identifier."""
    big_numbers = [c for d in dashboards.values() for c in d["charts"] if c["viz_type"].startswith("big_number")]
    assert len(big_numbers) >= 9
    for chart in big_numbers:
        metric = _chart_params(admin, superset, chart["id"])["metric"]
        assert isinstance(metric, dict), chart["slice_name"]
        assert not re.search(r"[A-Za-z]", metric["label"].replace("GDP", "")), chart["slice_name"]
