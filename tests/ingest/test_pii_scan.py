"""The free-text scanner finds phones and resident IDs however they are written, and leaves legitimate numbers
(credit codes, amounts, region codes, dates, ids) alone; every feed quarantines a row holding one, scrubbed."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest import gov_services, rd_filings, security_cameras, statistics
from pipelines.ingest.base import FileContext
from pipelines.ingest.file_ingest import scrub_quarantine
from pipelines.lib import pii_scan
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

PSEUDONYMISE = Pseudonymiser(b"pii-scan-test")

PERSONAL = [
    ("申请人赵飞燕 电话13812340000 身份证430406198512120012", ["mobile", "resident_id"]),
    ("联系 138-1234-5678", ["mobile"]),
    ("+86 139 1111 2222", ["mobile"]),
    ("0086-13911112222", ["mobile"]),
    ("138 1234 5678 转人工", ["mobile"]),
    ("办公室 0734-1234567", ["landline"]),
    ("(0734)8123456", ["landline"]),
    ("010-81234567", ["landline"]),
    ("证件 43040619851212001X", ["resident_id"]),
    ("证件 430406 19851212 0013", ["resident_id"]),
    ("旧证 430406851212001", ["resident_id"]),
    ("tel:13812340000.", ["mobile"]),
]
LEGITIMATE = [
    "91430406MA4L1C2X3Y",  # a credit code
    "统一社会信用代码 914304063381234567",  # an all-digit credit code (first character 9: no region)
    "430406001000",  # a 12-digit street code
    "金额 15000000000.50 元",  # an amount with decimals
    "1,380,000,000",
    "2021-05-03 09:12:33",
    "2021-05-03T09:12:33+08:00",
    "EVR1000001",
    "ZWR10000001",
    "GR202143000123",  # a high-tech certificate number
    "YFRD-2020-00017",
    "12345678901234567890",  # a long number: no ID has 20 digits
    "430406200013450012",  # 18 digits without a real date
    "企业开办登记",
]


@pytest.mark.parametrize(("text", "kinds"), PERSONAL)
def test_personal_numbers_are_found_however_written(text: str, kinds: list[str]) -> None:
    assert sorted(pii_scan.kinds(text)) == sorted(kinds)
    scrubbed = pii_scan.scrub(text, PSEUDONYMISE)
    assert pii_scan.kinds(scrubbed) == []
    assert "p:" in scrubbed


@pytest.mark.parametrize("text", LEGITIMATE)
def test_legitimate_numbers_are_left_alone(text: str) -> None:
    assert pii_scan.find(text) == []
    assert pii_scan.scrub(text, PSEUDONYMISE) == text


def test_one_number_written_two_ways_gets_one_pseudonym() -> None:
    plain = pii_scan.scrub("13912345678", PSEUDONYMISE)
    assert pii_scan.scrub("+86 139-1234-5678", PSEUDONYMISE) == plain == PSEUDONYMISE("13912345678")


def test_the_column_flags_come_from_the_vectorised_prefilter() -> None:
    values = pl.Series("item_name", [*LEGITIMATE, PERSONAL[0][0], None])
    flags = pii_scan.flag_series(values).to_list()
    assert flags[: len(LEGITIMATE)] == [None] * len(LEGITIMATE)
    assert flags[len(LEGITIMATE)] == "mobile, resident_id" and flags[-1] is None


def test_a_value_with_a_name_beside_the_number_is_pseudonymised_whole() -> None:
    raw = json.dumps({"item_name": PERSONAL[0][0], "amount": "15000000000.50"}, ensure_ascii=False)
    scrubbed = json.loads(pii_scan.scrub_json_text(raw, PSEUDONYMISE))
    assert scrubbed == {"item_name": PSEUDONYMISE(PERSONAL[0][0]), "amount": "15000000000.50"}


def _context(feed: str, folder: str, path: Path, tmp_path: Path) -> FileContext:
    return FileContext(
        feed=feed,
        path=path,
        source_file=f"{folder}/{path.name}",
        regions=load_regions(),
        pseudonymise=PSEUDONYMISE,
        raw_table_dir=tmp_path / "raw" / feed,
    )


def _parse(parser, path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(parser.parse(_context(parser.feed, parser.folder, path, tmp_path)))
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


def _assert_no_clear(frames: list[pl.DataFrame], clear: list[str]) -> None:
    text = "".join(f.write_json() for f in frames)
    for value in clear:
        assert value not in text


def test_gov_services_quarantines_an_item_name_holding_a_person(tmp_path: Path) -> None:
    good = {
        "event_id": "EVR1",
        "case_id": "ZWR1",
        "event_type": "submitted",
        "occurred_at": "2022-11-15T10:00:00+08:00",
        "item_code": "SJ001",
        "item_name": "企业开办登记",
        "department": "区市场监督管理局",
        "channel": "online",
        "applicant_type": "person",
    }
    leaky = {**good, "event_id": "EVR2", "item_name": "申请人赵飞燕 电话13812340000 身份证430406198512120012"}
    formatted = {**good, "event_id": "EVR3", "department": "窗口 138-1234-5678"}
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (good, leaky, formatted)), encoding="utf-8")
    valid, quarantined = _parse(gov_services.PARSER, path, tmp_path)
    assert valid["event_id"].to_list() == ["EVR1"]
    assert quarantined["reason_code"].to_list() == ["personal_data_in_text"] * 2
    assert quarantined["reason_detail"].to_list() == ["item_name: mobile, resident_id", "department: mobile"]
    _assert_no_clear([valid, quarantined], ["赵飞燕", "13812340000", "430406198512120012", "138-1234-5678"])


def test_tabular_feeds_quarantine_a_free_text_cell_holding_a_person(tmp_path: Path) -> None:
    rows = [
        ["430406", "地区生产总值", "亿元", "2020", "1", "快报"],
        ["430406", "地区生产总值（联系人 0734-1234567）", "亿元", "2021", "2", "快报"],
    ]
    path = tmp_path / "s.csv"
    path.write_text("\n".join(",".join(r) for r in [statistics.HEADER, *rows]) + "\n", encoding="utf-8")
    valid, quarantined = _parse(statistics.PARSER, path, tmp_path)
    quarantined = scrub_quarantine(quarantined, PSEUDONYMISE)  # what the runner does to every quarantine row
    assert valid["period"].to_list() == ["2020"]
    assert quarantined.select("source_row", "reason_code", "reason_detail").rows() == [
        (3, "personal_data_in_text", "指标名称: landline")
    ]
    _assert_no_clear([valid, quarantined], ["0734-1234567", "1234567"])

    cameras = tmp_path / "c.csv"
    cameras.write_text(
        ",".join(security_cameras.HEADER)
        + "\nYFXL0001,430406001000,,2021-06-30,1\n13812340000,430406001000,,2021-06-30,1\n",
        encoding="utf-8",
    )
    valid, quarantined = _parse(security_cameras.PARSER, cameras, tmp_path)
    assert valid["camera_id"].to_list() == ["YFXL0001"]
    assert quarantined["reason_code"].to_list() == ["personal_data_in_text"]


def test_rd_filings_extra_columns_keep_names_and_ragged_rows_are_scrubbed(tmp_path: Path) -> None:
    header = [*rd_filings.HEADER, "联系人", "联系电话", "法人身份证"]
    good = [
        "YFRD-2021-00001",
        "91430406MA4L1C2X3N",
        "衡阳某电气有限公司",
        "430406001000",
        "输变电",
        "2021",
        "100",
        "5",
        "1000",
        "0",
        "1",
        "0",
        "",
        "2022-03-01 10:00:00",
        "",
    ]
    people = ["王经理", "13812340000", "430406198512120012"]
    ragged = [*good[:2], "张三 13912345678", *good[2:], *people]  # one field too many, shifted
    path = tmp_path / "r.csv"
    path.write_text("\n".join(",".join(r) for r in (header, [*good, *people], ragged)) + "\n", encoding="utf-8")
    valid, quarantined = _parse(rd_filings.PARSER, path, tmp_path)
    quarantined = scrub_quarantine(quarantined, PSEUDONYMISE)  # what the runner does to every quarantine row
    assert json.loads(valid["extra_columns"].item()) == ["联系人", "联系电话", "法人身份证"]
    assert quarantined["reason_code"].to_list() == ["ragged_row"]
    _assert_no_clear([valid, quarantined], [*people, "张三", "13912345678"])
