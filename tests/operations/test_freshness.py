"""Freshness per feed cadence: daily feeds late after a day and a half, R&D filings judged by filing season."""

import json
import os
from datetime import date, datetime

from pipelines.ingest.runner import ingest_table
from pipelines.lib.freshness import assess, cadences, data_end, demo_clock
from pipelines.lib.pseudonymise import Pseudonymiser

CAMERAS = "camera_id,street_code,installed_on,status_date,online\nYFXL0001,430406001000,2018-06-01,2026-03-01,1\n"
STATISTICS = "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,地区生产总值,亿元,2026-04,20.5,快报\n"
FILING_HEADER = (
    "填报编号,统一社会信用代码,企业名称,所属街道代码,所属产业,年度,研发费用(万元),研发人员(人),主营业务收入(万元),"
    "新产品销售收入(万元),发明专利申请(件),发明专利授权(件),高新技术企业证书编号,填报时间,更正原填报编号\n"
)
FILING = (
    "YFRD-1,91110000600037341L,衡阳某电气有限公司,430406001000,输变电,2025,612.50,28,9810,3120,4,2,,"
    "2026-04-15 10:22:00,\n"
)


def _deliver(settings, folder: str, name: str, text: str, when: datetime) -> None:
    path = settings.landing / folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))


def test_daily_feed_is_late_after_a_day_and_a_half(settings):
    _deliver(settings, "security/cameras", "c.csv", CAMERAS, datetime(2026, 3, 1, 8, 0))
    ingest_table("security_cameras", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert not assess(settings.raw_dir, "security_cameras", now=datetime(2026, 3, 2, 8, 0)).is_late
    late = assess(settings.raw_dir, "security_cameras", now=datetime(2026, 3, 3, 8, 0))
    assert late.is_late and "LATE" in late.describe()


def test_nothing_delivered_is_late(settings):
    assert assess(settings.raw_dir, "gov_services").is_late


def test_rd_filings_follow_the_filing_season(settings):
    _deliver(settings, "rd_filings", "f.csv", FILING_HEADER + FILING, datetime(2026, 4, 20, 9, 0))
    ingest_table("rd_filings", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert not assess(settings.raw_dir, "rd_filings", now=datetime(2027, 1, 10)).is_late
    assert not assess(settings.raw_dir, "rd_filings", now=datetime(2027, 5, 10)).is_late  # this season still open
    assert assess(settings.raw_dir, "rd_filings", now=datetime(2027, 7, 2)).is_late  # season over, nothing new


def test_cadences_are_configurable(tmp_path, monkeypatch):
    config = tmp_path / "freshness.json"
    config.write_text(json.dumps({"statistics": {"max_age_days": 40}}), encoding="utf-8")
    monkeypatch.setenv("INNOSTAT_FRESHNESS_CONFIG", str(config))
    assert cadences()["statistics"].max_age_days == 40
    assert cadences()["gov_services"].max_age_days == 1.5


def test_a_demo_is_judged_against_its_own_data_end_not_today(settings):
    """Sample data end years ago: judged by today every feed is late; judged as a demo, by the sample's own clock
    (the day after its last day), the feeds that delivered on their cadence are on time."""
    _deliver(settings, "security/cameras", "c.csv", CAMERAS, datetime(2026, 3, 1, 8, 0))
    _deliver(settings, "rd_filings", "f.csv", FILING_HEADER + FILING, datetime(2026, 4, 20, 9, 0))
    ingest_table("security_cameras", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    ingest_table("rd_filings", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert data_end(settings.raw_dir) == date(2026, 3, 1)  # the cameras' status date
    assert demo_clock(settings.raw_dir) == datetime(2026, 3, 3)

    assert assess(settings.raw_dir, "security_cameras", now=datetime(2029, 1, 1)).is_late
    demo = assess(settings.raw_dir, "security_cameras", demo=True)
    assert not demo.is_late and demo.demo_as_of == datetime(2026, 3, 3)
    assert "on time" in demo.describe() and "sample data, judged as of 2026-03-03" in demo.describe()
    # a delivery after the sample's clock lies in its future: not counted, and nothing earlier came
    filings = assess(settings.raw_dir, "rd_filings", demo=True)
    assert filings.last_delivered_at is None and filings.is_late
    # a demo whose daily feed stopped long before its end is still late by its own clock
    later = datetime(2026, 9, 1, 8, 0)
    _deliver(settings, "security/cameras", "d.csv", CAMERAS.replace("2026-03-01", "2026-09-01"), later)
    ingest_table("security_cameras", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    _deliver(settings, "statistics", "s.csv", STATISTICS, datetime(2026, 5, 15, 10, 0))
    ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert assess(settings.raw_dir, "statistics", demo=True).is_late  # 110 days before 2026-09-03
    assert not assess(settings.raw_dir, "security_cameras", demo=True).is_late
