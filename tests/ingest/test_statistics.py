"""statistics parser: every rule of FEEDS.md §1 on real CSV and xlsx files."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileContext, FileRejected
from pipelines.ingest.statistics import HEADER, PARSER
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

EXAMPLE = [
    ["430406", "地区生产总值", "亿元", "2019", "236.40", "初步核实"],
    ["430406", " 高新技术产业增加值 ", "亿元", "2019年", "79.90", ""],
    ["430406", "输变电产业产值", "万元", "2020年1-3月", "412,000", "快报"],
    ["430406003000", "常住人口", "万人", "2020", "5.12", "最终核实"],
    ["430406", "技术合同成交额", "万元", "2020", "—", "快报"],
]
GOOD = ["430406", "地区生产总值", "亿元", "2020", "1", "快报"]


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def context(path: Path, tmp_path: Path) -> FileContext:
    return FileContext(
        feed="statistics",
        path=path,
        source_file=f"statistics/{path.name}",
        regions=load_regions(),
        pseudonymise=Pseudonymiser(b"test-key"),
        raw_table_dir=tmp_path / "raw" / "statistics",
    )


def parse(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(PARSER.parse(context(path, tmp_path)))
    expected = {**PARSER.columns, "source_row": pl.Int64(), "source_sheet": pl.String()}
    for batch in batches:
        assert batch.valid.schema == pl.Schema(expected)
        assert batch.quarantined.schema == pl.Schema(QUARANTINE_COLUMNS)
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


def parse_rows(tmp_path: Path, rows: list[list[str]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    return parse(write_csv(tmp_path / "s.csv", rows), tmp_path)


def only_reason(tmp_path: Path, row: list[str]) -> str:
    valid, quarantined = parse_rows(tmp_path, [row])
    assert valid.is_empty()
    assert quarantined["source_row"].to_list() == [2]
    return quarantined["reason"].item()


# --- what loads ----------------------------------------------------------------------------------------------


def test_the_contract_examples_load_in_base_units(tmp_path: Path) -> None:
    valid, quarantined = parse_rows(tmp_path, EXAMPLE)
    assert quarantined.is_empty()
    assert valid.select(
        "region_code", "indicator_name", "indicator_code", "period", "period_type", "value", "unit", "status"
    ).rows() == [
        ("430406", "地区生产总值", "GDP", "2019", "year", 23_640_000_000.0, "yuan", "初步核实"),
        ("430406", "高新技术产业增加值", "HT_VALUE_ADDED", "2019", "year", 7_990_000_000.0, "yuan", "快报"),
        ("430406", "输变电产业产值", "OUTPUT_POWER_EQUIPMENT", "2020-03", "month", 4_120_000_000.0, "yuan", "快报"),
        ("430406003000", "常住人口", "POPULATION", "2020", "year", 51_200.0, "persons", "最终核实"),
        ("430406", "技术合同成交额", "TECH_CONTRACT_TURNOVER", "2020", "year", None, "yuan", "快报"),
    ]
    # the delivered texts stay beside the normalised values, for audit
    assert valid.select("unit_delivered", "period_delivered", "value_delivered").row(2) == (
        "万元",
        "2020年1-3月",
        "412,000",
    )
    assert valid["source_row"].to_list() == [2, 3, 4, 5, 6]
    assert valid["source_sheet"].to_list() == [None] * 5


def test_the_three_monthly_forms_share_one_key(tmp_path: Path) -> None:
    rows = [[*GOOD[:3], period, "1", ""] for period in ("2020-03", "2020年3月", "2020年03月", "2020年1-3月")]
    valid, _ = parse_rows(tmp_path, rows)
    assert set(valid["period"]) == {"2020-03"} and set(valid["period_type"]) == {"month"}


@pytest.mark.parametrize(
    ("name", "code"),
    [("地区生产总值（亿元）", "GDP"), ("全社会研发经费支出(R&D)", "RD_EXPENDITURE"),
     ("\u3000常住人口 ", "POPULATION"), (" 全社会研发经费支出（R&D） ", "RD_EXPENDITURE")],
)  # fmt: skip
def test_names_with_spaces_and_parenthesised_parts_match(tmp_path: Path, name: str, code: str) -> None:
    unit = "万人" if code == "POPULATION" else "万元"
    valid, quarantined = parse_rows(tmp_path, [["430406", name, unit, "2020", "1", ""]])
    assert quarantined.is_empty()
    assert valid["indicator_code"].item() == code
    assert valid["indicator_name"].item() == name.strip(" \u3000")


@pytest.mark.parametrize("mark", ["", "-", "—", "…", "  -  "])
def test_missing_marks_are_kept_as_null(tmp_path: Path, mark: str) -> None:
    valid, quarantined = parse_rows(tmp_path, [[*GOOD[:4], mark, ""]])
    assert quarantined.is_empty()
    assert valid["value"].to_list() == [None]
    assert valid["value_delivered"].item() == mark


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [("1,234.5", "元", 1234.5), (" 1234.5 ", "元", 1234.5), ("0", "亿元", 0.0), ("1,000,000", "人", 1e6),
     ("12", "家", 12.0), ("3", "个", 3.0), ("7", "件", 7.0), ("0.1", "亿元", 10_000_000.0)],
)  # fmt: skip
def test_numbers_and_units(tmp_path: Path, text: str, unit: str, value: float) -> None:
    name = {"元": "地区生产总值", "亿元": "地区生产总值", "人": "常住人口"}.get(unit, "高新技术企业数")
    valid, quarantined = parse_rows(tmp_path, [["430406", name, unit, "2020", text, ""]])
    assert quarantined.is_empty()
    assert valid["value"].item() == value


def test_every_region_level_is_accepted(tmp_path: Path) -> None:
    codes = ["100000", "430000", "430400", "430406", "430406001000", "430406100000"]
    valid, quarantined = parse_rows(tmp_path, [[code, *GOOD[1:]] for code in codes])
    assert quarantined.is_empty() and valid["region_code"].to_list() == codes


# --- one test per quarantine reason -------------------------------------------------------------------------


def test_unknown_indicator(tmp_path: Path) -> None:
    assert only_reason(tmp_path, ["430406", "研发人员数", "人", "2020", "1", ""]) == "unknown 指标名称 '研发人员数'"


def test_empty_region_code(tmp_path: Path) -> None:
    assert only_reason(tmp_path, ["", *GOOD[1:]]) == "empty 地区代码"


@pytest.mark.parametrize("code", ["430406999000", "430405", "4304060010", "43040600100"])
def test_unknown_region_code(tmp_path: Path, code: str) -> None:
    assert only_reason(tmp_path, [code, *GOOD[1:]]) == f"unknown 地区代码 '{code}'"


@pytest.mark.parametrize("unit", ["千元", "万", "亿", "yuan", "百万元"])
def test_unknown_unit(tmp_path: Path, unit: str) -> None:
    assert only_reason(tmp_path, ["430406", "地区生产总值", unit, "2020", "1", ""]) == f"unknown 计量单位 '{unit}'"


def test_percent_fits_no_indicator(tmp_path: Path) -> None:
    reason = only_reason(tmp_path, ["430406", "地区生产总值", "%", "2020", "1", ""])
    assert reason == "计量单位 '%' fits no statistics indicator (none is a ratio)"


@pytest.mark.parametrize(
    ("name", "unit", "kind"),
    [("地区生产总值", "万人", "money"), ("常住人口", "家", "persons"), ("发明专利拥有量", "元", "count")],
)
def test_unit_that_does_not_fit_the_indicator(tmp_path: Path, name: str, unit: str, kind: str) -> None:
    reason = only_reason(tmp_path, ["430406", name, unit, "2020", "1", ""])
    assert reason == f"计量单位 '{unit}' does not fit 指标名称 '{name}' (a {kind} indicator)"


@pytest.mark.parametrize(
    "period", ["2020年2-3月", "2020-3", "2020-13", "1948", "2101年", "2020年13月", "2020Q1", "２０２０", "2020年度", ""]
)
def test_invalid_period(tmp_path: Path, period: str) -> None:
    reason = only_reason(tmp_path, [*GOOD[:3], period, "1", ""])
    assert reason.startswith(f"invalid 统计期 '{period}' (expected 2020, 2020年, 2020-03, 2020年3月 or 2020年1-3月")


@pytest.mark.parametrize("text", ["1,23", "12,345,67", "1e5", "abc", "——", "1 234", "N/A", "１２", "1.", "+5", "(5)"])
def test_value_not_a_number(tmp_path: Path, text: str) -> None:
    assert only_reason(tmp_path, [*GOOD[:4], text, ""]) == f"数值 '{text}' is not a number"


@pytest.mark.parametrize("text", ["-5", "-0.1", "-1,234.5"])
def test_negative_value(tmp_path: Path, text: str) -> None:
    reason = only_reason(tmp_path, [*GOOD[:4], text, ""])
    assert reason == f"negative 数值 '{text}' (every statistics indicator is a non-negative quantity)"


def test_value_beyond_a_double(tmp_path: Path) -> None:
    huge = "9" * 400
    assert only_reason(tmp_path, [*GOOD[:4], huge, ""]) == f"数值 '{huge}' is too large"


@pytest.mark.parametrize("status", ["终审", "final", "快"])
def test_unknown_status(tmp_path: Path, status: str) -> None:
    assert only_reason(tmp_path, [*GOOD[:5], status]) == f"unknown 数据状态 '{status}'"


def test_every_broken_rule_is_named(tmp_path: Path) -> None:
    reason = only_reason(tmp_path, ["999999", "研发人员数", "%", "2020-13", "-1", "x"])
    assert reason.split("; ") == [
        "unknown 地区代码 '999999'",
        "unknown 指标名称 '研发人员数'",
        "计量单位 '%' fits no statistics indicator (none is a ratio)",
        reason.split("; ")[3],
        "negative 数值 '-1' (every statistics indicator is a non-negative quantity)",
        "unknown 数据状态 'x'",
    ]
    assert reason.split("; ")[3].startswith("invalid 统计期 '2020-13'")


def test_quarantine_keeps_the_raw_row_and_the_rest_loads(tmp_path: Path) -> None:
    valid, quarantined = parse_rows(tmp_path, [GOOD, ["430406", "研发人员数", "人", "2020", "1", ""], GOOD])
    assert valid["source_row"].to_list() == [2, 4]
    assert quarantined["source_row"].to_list() == [3]
    assert json.loads(quarantined["raw"].item()) == {
        "地区代码": "430406",
        "指标名称": "研发人员数",
        "计量单位": "人",
        "统计期": "2020",
        "数值": "1",
        "数据状态": "",
        "extra_columns": None,
    }


def test_a_ragged_record_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD) + "\n430406,常住人口,万人,2020\n", encoding="utf-8")
    valid, quarantined = parse(path, tmp_path)
    assert valid.height == 1
    assert quarantined.select("source_row", "reason").rows() == [(3, "the row has 4 fields, the header 6")]


# --- files: encodings, header variants, xlsx, whole-file failures -------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    valid, quarantined = parse(write_csv(tmp_path / "s.csv", EXAMPLE, encoding=encoding), tmp_path)
    assert quarantined.is_empty()
    assert valid["indicator_name"].to_list()[:2] == ["地区生产总值", "高新技术产业增加值"]


def test_header_spaces_order_and_extra_columns(tmp_path: Path) -> None:
    header = [" 数值", "备注", "数据状态 ", "统计期", "计量单位", "指标名称", "地区代码"]
    path = write_csv(tmp_path / "s.csv", [["5.12", "人口普查", "", "2020", "万人", "常住人口", "430406"]], header)
    valid, quarantined = parse(path, tmp_path)
    assert quarantined.is_empty()
    assert valid.select("region_code", "indicator_code", "value").row(0) == ("430406", "POPULATION", 51_200.0)
    assert json.loads(valid["extra_columns"].item()) == ["备注"]  # the name only, never the value


def test_a_header_only_file_gives_an_empty_typed_batch(tmp_path: Path) -> None:
    valid, quarantined = parse(write_csv(tmp_path / "s.csv", []), tmp_path)
    assert valid.is_empty() and quarantined.is_empty()


def test_wrong_header_rejects_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [GOOD], header=["地区代码", "指标", "计量单位", "统计期", "数值", "数据状态"])
    with pytest.raises(FileRejected, match="missing 指标名称"):
        parse(path, tmp_path)


def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_bytes(b"")
    with pytest.raises(FileRejected, match="empty"):
        parse(path, tmp_path)


def write_xlsx(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = xlsxwriter.Workbook(path)
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, book.add_format({"num_format": "yyyy-mm-dd"}))
                elif value is not None:
                    sheet.write(r, c, value)
    book.close()
    return path


def test_xlsx_reads_every_feed_sheet_with_numeric_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "s.xlsx",
        {
            "说明": [["本表由统计局提供"], ["数值单位见计量单位列"]],
            "2019": [HEADER, [430406, "地区生产总值", "亿元", 2019, 236.4, "初步核实"]],
            "2020": [
                HEADER,
                [430406003000, "常住人口", "万人", "2020年", 5.12, None],
                [None, None, None, None, None, None],
                [430406, "地区生产总值", "亿元", datetime(2020, 3, 1), 1, ""],  # Excel turned 2020-03 into a date
            ],
        },
    )
    valid, quarantined = parse(path, tmp_path)
    assert valid.select("source_sheet", "source_row", "region_code", "period", "value").rows() == [
        ("2019", 2, "430406", "2019", 23_640_000_000.0),
        ("2020", 2, "430406003000", "2020", 51_200.0),
    ]
    assert quarantined.select("source_sheet", "source_row").rows() == [("2020", 4)]
    assert quarantined["reason"].item().startswith("invalid 统计期 '2020-03-01 00:00:00'")


def test_xlsx_without_a_feed_sheet_is_rejected(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "s.xlsx", {"说明": [["地区", "指标"], ["x", "y"]]})
    with pytest.raises(FileRejected, match="no sheet"):
        parse(path, tmp_path)


def test_a_corrupt_xlsx_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "s.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not a workbook")
    with pytest.raises(FileRejected, match="cannot be opened"):
        parse(path, tmp_path)


def test_parser_attributes() -> None:
    assert (PARSER.feed, PARSER.table, PARSER.folder, PARSER.extensions) == (
        "statistics",
        "statistics",
        "statistics",
        (".csv", ".xlsx"),
    )
