"""`innostat run` end to end with the quality gates: the clean landing zone passes every expectation; a planted
problem stops the run with a message naming the table, the expectation and sample values, leaves the published
file byte for byte, and is recorded in the working build's data-quality history."""

from __future__ import annotations

import json
import os

from pipelines.cli import main
from pipelines.quality.suites.catalogue import all_suites
from tests.quality.conftest import clone, rows, sha256

LAST = 2_000_000_000  # a modification time after every generated file: delivered last


def _last_run_failures(path) -> list[tuple]:
    return rows(
        path,
        "select table_name, expectation, severity, sample from marts.data_quality "
        "where run_id = (select run_id from marts.data_quality order by checked_at desc limit 1) and not passed "
        "and expectation_type <> 'freshness' "
        "order by table_name, expectation",
    )


def test_the_clean_landing_zone_passes_every_expectation(baseline):
    # freshness states are recorded too (pipelines/lib/freshness.py); the generated deliveries are years old
    recorded = rows(
        baseline.warehouse,
        "select table_name, expectation, passed from marts.data_quality where expectation_type <> 'freshness'",
    )
    (late,) = rows(baseline.warehouse, "select count(*) from marts.data_quality where expectation = 'feed_is_fresh'")[0]
    assert late == 5  # one freshness state per feed
    expected = {(suite.table, rule.name) for suite in all_suites() for rule in suite.rules}
    assert {(table, name) for table, name, _ in recorded} == expected
    assert len(recorded) == len(expected)  # one run, every expectation once
    assert [r for r in recorded if not r[2]] == []


def test_an_empty_new_file_stops_the_run_before_the_build(baseline, tmp_path, pii_key, capsys):
    target = clone(baseline, tmp_path)
    before = sha256(target.warehouse)
    (published_rows,) = rows(target.warehouse, "select count(*) from marts.indicator_values")[0]
    empty = target.landing / "statistics" / "zz_empty.csv"
    empty.write_bytes(b"")
    os.utime(empty, (LAST, LAST))

    code = main(["run", "--landing", str(target.landing), "--warehouse", str(target.warehouse)])
    err = capsys.readouterr().err
    assert code == 1
    assert sha256(target.warehouse) == before
    assert "check great_expectations on raw/statistics failed" in err
    assert "new_files_deliver_rows" in err and "statistics/zz_empty.csv" in err

    failures = _last_run_failures(target.build_path)
    assert [f[:3] for f in failures] == [("raw.statistics", "new_files_deliver_rows", "block")]
    assert json.loads(failures[0][3])[0]["source_file"] == "statistics/zz_empty.csv"
    # dbt did not run: the working build is the published warehouse plus the quality history
    assert rows(target.build_path, "select count(*) from marts.indicator_values") == [(published_rows,)]


def test_high_tech_value_added_above_gdp_stops_the_publish(baseline, tmp_path, pii_key, capsys):
    target = clone(baseline, tmp_path)
    before = sha256(target.warehouse)
    planted = target.landing / "statistics" / "zz_planted.csv"
    planted.write_text(
        "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,高新技术产业增加值,亿元,2021,99999,最终核实\n",
        encoding="utf-8",
    )
    os.utime(planted, (LAST, LAST))

    code = main(["run", "--landing", str(target.landing), "--warehouse", str(target.warehouse)])
    err = capsys.readouterr().err
    assert code == 1
    assert sha256(target.warehouse) == before
    assert "check great_expectations on marts/indicator_values failed" in err
    assert "ht_value_added_within_gdp" in err and "ht_value_added=9999900000000.0" in err
    assert "ratios_within_unit_interval" in err and "HT_VA_SHARE" in err
    assert "refusing to publish" not in err  # Dagster's blocking stopped the publish step before its guard

    failures = _last_run_failures(target.build_path)
    assert [f[:3] for f in failures] == [
        ("marts.indicator_values", "ht_value_added_within_gdp", "block"),
        ("marts.indicator_values", "ratios_within_unit_interval", "block"),
        ("marts.indicator_values", "yoy_change_within_band", "warn"),  # recorded, but it is not what blocked
    ]
    (sample,) = json.loads(failures[0][3])
    assert sample == {"gdp": sample["gdp"], "region_code": "430406", "period": "2021", "ht_value_added": 9.9999e12}
