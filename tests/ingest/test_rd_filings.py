"""rd_filings parser: the rules of FEEDS.md §2, conflicts and exact re-deliveries across rows, files and runs."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from stdnum.cn import uscc

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileContext, FileRejected
from pipelines.ingest.rd_filings import HEADER, KNOWN_KEY, PARSER, SKIPPED_KEY, current_year
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

FIRST = ["YFRD-2020-00017", "91110000600037341L", "衡阳某电气有限公司", "430406001000", "输变电", "2020", "612.50",
         "28", "9810.00", "3120.40", "4", "2", "GR202043000123", "2021-03-15 10:22:00", ""]  # fmt: skip
AMENDMENT = ["YFRD-2020-00211", "91110000600037341L", "衡阳某电气有限公司", "430406001000", "输变电", "2020",
             "640.00", "29", "9810.00", "3120.40", "4", "2", "GR202043000123", "2021/04/02 09:10",
             "YFRD-2020-00017"]  # fmt: skip
COL = {name: i for i, name in enumerate(HEADER)}


def credit_code(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


def row(base: list[str] = FIRST, **changes: str) -> list[str]:
    """A copy of `base` with columns changed by their Chinese header name (keyword = header)."""
    out = list(base)
    for name, value in changes.items():
        out[COL[name]] = value
    return out


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def context(path: Path, tmp_path: Path, run_state: dict | None = None) -> FileContext:
    return FileContext(
        feed="rd_filings",
        path=path,
        source_file=f"rd_filings/{path.name}",
        regions=load_regions(),
        pseudonymise=Pseudonymiser(b"test-key"),
        raw_table_dir=tmp_path / "raw" / "rd_filings",
        run_state={} if run_state is None else run_state,
    )


def parse(path: Path, tmp_path: Path, run_state: dict | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    batches = list(PARSER.parse(context(path, tmp_path, run_state)))
    expected = {**PARSER.columns, "source_row": pl.Int64(), "source_sheet": pl.String()}
    for batch in batches:
        assert batch.valid.schema == pl.Schema(expected)
        assert batch.quarantined.schema == pl.Schema(QUARANTINE_COLUMNS)
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


def parse_rows(tmp_path: Path, rows: list[list[str]], run_state: dict | None = None, name: str = "f.csv"):
    return parse(write_csv(tmp_path / name, rows), tmp_path, run_state)


def only_reason(tmp_path: Path, bad: list[str]) -> str:
    valid, quarantined = parse_rows(tmp_path, [bad])
    assert valid.is_empty()
    assert quarantined["source_row"].to_list() == [2]
    return quarantined["reason"].item()


# --- what loads ----------------------------------------------------------------------------------------------


def test_the_contract_examples_load(tmp_path: Path) -> None:
    valid, quarantined = parse_rows(tmp_path, [FIRST, AMENDMENT])
    assert quarantined.is_empty()
    first = valid.row(0, named=True)
    assert {k: v for k, v in first.items() if k != "content_hash"} == {
        "filing_id": "YFRD-2020-00017",
        "credit_code": "91110000600037341L",
        "enterprise_name": "衡阳某电气有限公司",
        "street_code": "430406001000",
        "industry": "输变电",
        "filing_year": 2020,
        "rd_expense_wan_yuan": 612.5,
        "rd_personnel": 28,
        "revenue_wan_yuan": 9810.0,
        "new_product_revenue_wan_yuan": 3120.4,
        "invention_patent_applications": 4,
        "invention_patents_granted": 2,
        "ht_certificate_no": "GR202043000123",
        "submitted_at": datetime(2021, 3, 15, 10, 22),
        "amends_filing_id": None,
        "extra_columns": None,
        "source_row": 2,
        "source_sheet": None,
    }
    assert len(first["content_hash"]) == 64
    assert valid["submitted_at"][1] == datetime(2021, 4, 2, 9, 10)
    assert valid["amends_filing_id"][1] == "YFRD-2020-00017"


def test_empty_certificate_and_thousands_separators_and_whole_counts(tmp_path: Path) -> None:
    variant = row(**{"高新技术企业证书编号": " ", "主营业务收入(万元)": "9,810.00", "研发人员(人)": "28.0"})
    valid, quarantined = parse_rows(tmp_path, [variant])
    assert quarantined.is_empty()
    assert valid.select("ht_certificate_no", "revenue_wan_yuan", "rd_personnel").row(0) == (None, 9810.0, 28)


def test_the_current_year_is_accepted(tmp_path: Path) -> None:
    valid, _ = parse_rows(tmp_path, [row(**{"年度": str(current_year())})])
    assert valid["filing_year"].to_list() == [current_year()]


# --- one test per quarantine reason -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("91110000600037341X", "has a wrong check digit"),
        ("91110000600037341l", "is not 18 characters of the GB 32100-2015 alphabet"),  # lower case: not upper-cased
        ("9111000060003734", "is not 18 characters of the GB 32100-2015 alphabet"),
        ("91110000600037341L1", "is not 18 characters of the GB 32100-2015 alphabet"),
        ("9111000060003734IL", "is not 18 characters of the GB 32100-2015 alphabet"),  # I is not in the alphabet
        ("", "is not 18 characters of the GB 32100-2015 alphabet"),
    ],
)
def test_invalid_credit_code(tmp_path: Path, code: str, problem: str) -> None:
    assert only_reason(tmp_path, row(**{"统一社会信用代码": code})) == f"统一社会信用代码 '{code}' {problem}"


def test_credit_codes_with_letters_where_gb32100_allows_them(tmp_path: Path) -> None:
    code = credit_code("N2430406MA4L2X3Y0")  # a rural collective (N) with letters in the organisation code
    valid, quarantined = parse_rows(tmp_path, [row(**{"统一社会信用代码": code})])
    assert quarantined.is_empty() and valid["credit_code"].item() == code


@pytest.mark.parametrize("year", ["1999", "二〇二〇", "2020年", "", "20", "2020.5"])
def test_year_out_of_range_or_not_a_year(tmp_path: Path, year: str) -> None:
    expected = f"年度 '{year}' is not a year from 2000 to {current_year()}"
    assert only_reason(tmp_path, row(**{"年度": year})) == expected


def test_a_future_year_is_quarantined(tmp_path: Path) -> None:
    year = str(current_year() + 1)
    assert only_reason(tmp_path, row(**{"年度": year})).startswith(f"年度 '{year}' is not a year from 2000")


@pytest.mark.parametrize(
    "column", ["研发费用(万元)", "主营业务收入(万元)", "新产品销售收入(万元)", "研发人员(人)", "发明专利授权(件)"]
)
def test_negative_amounts_and_counts(tmp_path: Path, column: str) -> None:
    assert only_reason(tmp_path, row(**{column: "-1"})) == f"negative {column} '-1'"


@pytest.mark.parametrize("text", ["", "abc", "1,23", "1e3", "—", "-"])
@pytest.mark.parametrize("column", ["研发费用(万元)", "发明专利申请(件)"])
def test_amounts_and_counts_that_are_not_numbers(tmp_path: Path, column: str, text: str) -> None:
    assert only_reason(tmp_path, row(**{column: text})) == f"{column} '{text}' is not a number"


def test_a_fractional_count(tmp_path: Path) -> None:
    assert only_reason(tmp_path, row(**{"研发人员(人)": "28.5"})) == "研发人员(人) '28.5' is not a whole number"


@pytest.mark.parametrize("industry", ["农业", "输变电产业", ""])
def test_unknown_industry(tmp_path: Path, industry: str) -> None:
    assert only_reason(tmp_path, row(**{"所属产业": industry})) == f"unknown 所属产业 '{industry}'"


@pytest.mark.parametrize("code", ["430406", "430406999000", "430400001000", ""])
def test_street_code_not_a_street_of_the_district(tmp_path: Path, code: str) -> None:
    reason = only_reason(tmp_path, row(**{"所属街道代码": code}))
    assert reason == f"所属街道代码 '{code}' is not a 12-digit street code in regions.csv"


@pytest.mark.parametrize("certificate", ["gr202043000123", "GR20204300012", "GR2020430001234", "202043000123"])
def test_malformed_certificate(tmp_path: Path, certificate: str) -> None:
    reason = only_reason(tmp_path, row(**{"高新技术企业证书编号": certificate}))
    assert reason == f"高新技术企业证书编号 '{certificate}' is neither empty nor GR followed by 12 digits"


@pytest.mark.parametrize(
    "moment",
    ["2021-03-15 10:22", "2021/03/15 10:22:00", "2021-03-15T10:22:00", "2021-3-15 10:22:00", "2021-02-30 10:00:00",
     "2021/03/15 24:00", "2021-03-15", "", "2021-03-15 10:22:00+08:00"],
)  # fmt: skip
def test_submission_time_in_neither_form(tmp_path: Path, moment: str) -> None:
    reason = only_reason(tmp_path, row(**{"填报时间": moment}))
    assert reason == f"填报时间 '{moment}' is not a valid YYYY-MM-DD HH:MM:SS or YYYY/MM/DD HH:MM"


def test_empty_filing_id(tmp_path: Path) -> None:
    assert only_reason(tmp_path, row(**{"填报编号": "  "})) == "empty 填报编号"


def test_every_broken_rule_is_named_and_the_raw_row_kept(tmp_path: Path) -> None:
    bad = row(**{"所属产业": "农业", "年度": "1999", "研发费用(万元)": "-1"})
    valid, quarantined = parse_rows(tmp_path, [FIRST, bad])
    assert valid["source_row"].to_list() == [2]
    assert (
        quarantined["reason"].item()
        == "unknown 所属产业 '农业'; 年度 '1999' is not a year from 2000 to "
        + str(current_year())
        + "; negative 研发费用(万元) '-1'"
    )
    assert json.loads(quarantined["raw"].item())["研发费用(万元)"] == "-1"


# --- conflicts and re-deliveries ----------------------------------------------------------------------------

CONFLICT = (
    "填报编号 'YFRD-2020-00017' already delivered with different content (conflict; the first delivery stays current)"
)


def test_conflict_within_a_file_keeps_the_first(tmp_path: Path) -> None:
    valid, quarantined = parse_rows(tmp_path, [FIRST, row(**{"研发费用(万元)": "613"})])
    assert valid.select("source_row", "rd_expense_wan_yuan").rows() == [(2, 612.5)]
    assert quarantined.select("source_row", "reason").rows() == [(3, CONFLICT)]


def test_an_exact_redelivery_is_neither_loaded_nor_quarantined_but_counted(tmp_path: Path) -> None:
    same = row(
        **{
            "企业名称": " 衡阳某电气有限公司 ",
            "研发费用(万元)": "612.5",
            "研发人员(人)": "28.0",
            "主营业务收入(万元)": "9,810",
            "填报时间": "2021/03/15 10:22",
        }
    )
    state: dict = {}
    valid, quarantined = parse_rows(tmp_path, [FIRST, same, FIRST], state)
    assert valid["source_row"].to_list() == [2]
    assert quarantined.is_empty()
    assert state[SKIPPED_KEY] == 2


def test_later_files_of_the_same_run_see_earlier_ones(tmp_path: Path) -> None:
    state: dict = {}
    parse_rows(tmp_path, [FIRST], state, name="a.csv")
    valid, quarantined = parse_rows(tmp_path, [FIRST, row(**{"研发人员(人)": "30"}), AMENDMENT], state, name="b.csv")
    assert valid["filing_id"].to_list() == ["YFRD-2020-00211"]
    assert quarantined.select("source_row", "reason").rows() == [(3, CONFLICT)]
    assert state[SKIPPED_KEY] == 1


def test_earlier_runs_are_read_from_the_raw_parquet_files(tmp_path: Path) -> None:
    first_valid, _ = parse_rows(tmp_path, [FIRST], {}, name="a.csv")
    raw_dir = tmp_path / "raw" / "rd_filings"
    raw_dir.mkdir(parents=True)
    first_valid.with_columns(  # what the runner adds before writing
        pl.lit("rd_filings/a.csv").alias("source_file"),
        pl.lit("abc").alias("file_hash"),
        pl.lit(datetime(2021, 3, 16)).alias("delivered_at"),
        pl.lit(datetime(2021, 3, 16)).alias("ingested_at"),
    ).write_parquet(raw_dir / "abc.parquet")

    state: dict = {}  # a new run
    valid, quarantined = parse_rows(tmp_path, [FIRST, row(**{"研发人员(人)": "30"}), AMENDMENT], state, name="b.csv")
    assert valid["filing_id"].to_list() == ["YFRD-2020-00211"]
    assert quarantined["reason"].to_list() == [CONFLICT]
    assert state[SKIPPED_KEY] == 1
    assert set(state[KNOWN_KEY]) == {"YFRD-2020-00017", "YFRD-2020-00211"}


def test_an_invalid_row_is_not_a_delivery(tmp_path: Path) -> None:
    invalid_first = row(**{"研发费用(万元)": "-1"})
    valid, quarantined = parse_rows(tmp_path, [invalid_first, row(**{"研发费用(万元)": "700"})])
    assert valid.select("source_row", "rd_expense_wan_yuan").rows() == [(3, 700.0)]
    assert quarantined["reason"].to_list() == ["negative 研发费用(万元) '-1'"]


def test_content_hash_sees_every_column(tmp_path: Path) -> None:
    variants = [row(**{"填报编号": f"ID-{i}", name: value}) for i, (name, value) in enumerate(
        [("填报编号", "ID-0"), ("企业名称", "别的公司"), ("高新技术企业证书编号", ""), ("更正原填报编号", "X"),
         ("填报时间", "2021-03-15 10:22:01"), ("新产品销售收入(万元)", "3120.41")])]  # fmt: skip
    valid, _ = parse_rows(tmp_path, variants)
    assert valid["content_hash"].n_unique() == len(variants)


# --- files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_encodings(tmp_path: Path, encoding: str) -> None:
    valid, quarantined = parse(write_csv(tmp_path / "f.csv", [FIRST, AMENDMENT], encoding=encoding), tmp_path)
    assert quarantined.is_empty() and valid["enterprise_name"].to_list() == ["衡阳某电气有限公司"] * 2


def test_header_spaces_order_and_extra_columns(tmp_path: Path) -> None:
    order = list(reversed(range(len(HEADER))))
    header = [f" {HEADER[i]} " for i in order] + ["联系人"]
    path = write_csv(tmp_path / "f.csv", [[FIRST[i] for i in order] + ["王经理"]], header)
    valid, _ = parse(path, tmp_path)
    assert valid["filing_id"].item() == "YFRD-2020-00017"
    assert json.loads(valid["extra_columns"].item()) == ["联系人"]  # the name only, never the value


def test_xlsx_with_numeric_and_datetime_cells(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(path)
    book.add_worksheet("填报说明").write_row(0, 0, ["请按模板填写"])
    sheet = book.add_worksheet("2020")
    sheet.write_row(0, 0, HEADER)
    cells = [*FIRST[:5], 2020, 612.5, 28, 9810, 3120.4, 4, 2, "GR202043000123", None, ""]
    sheet.write_row(1, 0, cells)
    sheet.write_datetime(
        1, COL["填报时间"], datetime(2021, 3, 15, 10, 22), book.add_format({"num_format": "yyyy/m/d h:mm"})
    )
    book.close()
    valid, quarantined = parse(path, tmp_path)
    assert quarantined.is_empty()
    assert valid.select("filing_year", "rd_expense_wan_yuan", "submitted_at", "source_sheet", "source_row").row(0) == (
        2020,
        612.5,
        datetime(2021, 3, 15, 10, 22),
        "2020",
        2,
    )
    csv_valid, _ = parse_rows(tmp_path, [FIRST])
    assert valid["content_hash"].item() == csv_valid["content_hash"].item()  # the same filing, whatever the format


def test_wrong_header_rejects_the_file(tmp_path: Path) -> None:
    header = [h.replace("研发费用(万元)", "研发费用") for h in HEADER]
    with pytest.raises(FileRejected, match=r"missing 研发费用\(万元\)"):
        parse(write_csv(tmp_path / "f.csv", [FIRST], header), tmp_path)


def test_a_header_only_file_gives_an_empty_typed_batch(tmp_path: Path) -> None:
    state: dict = {}
    valid, quarantined = parse_rows(tmp_path, [], state)
    assert valid.is_empty() and quarantined.is_empty() and state[SKIPPED_KEY] == 0


def test_an_undecodable_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(",".join(HEADER).encode("utf-16"))
    with pytest.raises(FileRejected):
        parse(path, tmp_path)
