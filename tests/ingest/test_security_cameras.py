"""security_cameras parser: the camera-status rules of FEEDS.md §4 on real CSV files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.ingest.base import QUARANTINE_COLUMNS, FileContext, FileRejected
from pipelines.ingest.security_cameras import HEADER, PARSER
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

EXAMPLE = "camera_id,street_code,installed_on,status_date,online\r\n" \
          "YFXL0001,430406001000,2018-06-01,2021-05-03,1\r\n" \
          "YFXL0002,430406003000,2019-11-20,2021-05-03,0\r\n"  # fmt: skip
GOOD = ["YFXL0001", "430406001000", "2018-06-01", "2021-05-03", "1"]
COL = {name: i for i, name in enumerate(HEADER)}


def row(**changes: str) -> list[str]:
    out = list(GOOD)
    for name, value in changes.items():
        out[COL[name]] = value
    return out


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER, encoding: str = "utf-8") -> Path:
    lines = [",".join(header), *(",".join(r) for r in rows)]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def parse(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ctx = FileContext(
        feed="security_cameras",
        path=path,
        source_file=f"security/cameras/{path.name}",
        regions=load_regions(),
        pseudonymise=Pseudonymiser(b"test-key"),
        raw_table_dir=tmp_path / "raw" / "security_cameras",
    )
    batches = list(PARSER.parse(ctx))
    expected = {**PARSER.columns, "source_row": pl.Int64(), "source_sheet": pl.String()}
    for batch in batches:
        assert batch.valid.schema == pl.Schema(expected)
        assert batch.quarantined.schema == pl.Schema(QUARANTINE_COLUMNS)
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


def only_reason(tmp_path: Path, bad: list[str]) -> str:
    valid, quarantined = parse(write_csv(tmp_path / "c.csv", [bad]), tmp_path)
    assert valid.is_empty()
    assert quarantined["source_row"].to_list() == [2]
    return quarantined["reason"].item()


def test_the_contract_example_loads(tmp_path: Path) -> None:
    path = tmp_path / "cameras_20210503.csv"
    path.write_text(EXAMPLE, encoding="utf-8", newline="")
    valid, quarantined = parse(path, tmp_path)
    assert quarantined.is_empty()
    assert valid.drop("extra_columns", "source_sheet").rows() == [
        ("YFXL0001", "430406001000", date(2018, 6, 1), date(2021, 5, 3), True, 2),
        ("YFXL0002", "430406003000", date(2019, 11, 20), date(2021, 5, 3), False, 3),
    ]


def test_spaces_empty_install_date_and_repeated_camera_days(tmp_path: Path) -> None:
    rows = [row(online=" 1 ", camera_id=" YFXL0001 "), row(installed_on="", online="0"), row(online="\u30000")]
    valid, quarantined = parse(write_csv(tmp_path / "c.csv", rows), tmp_path)
    assert quarantined.is_empty()
    # every camera-day row is kept: the later delivered one wins in dbt, not here
    assert valid.select("camera_id", "installed_on", "is_online").rows() == [
        ("YFXL0001", date(2018, 6, 1), True),
        ("YFXL0001", None, False),
        ("YFXL0001", date(2018, 6, 1), False),
    ]


# --- one test per quarantine reason -------------------------------------------------------------------------


@pytest.mark.parametrize("online", ["2", "yes", "", "true", "01", "1.0", "-1"])
def test_online_other_than_0_or_1(tmp_path: Path, online: str) -> None:
    assert only_reason(tmp_path, row(online=online)) == f"online '{online}' is not 0 or 1"


@pytest.mark.parametrize("code", ["430406", "430406999000", "", "43040600100"])
def test_unknown_street(tmp_path: Path, code: str) -> None:
    assert (
        only_reason(tmp_path, row(street_code=code))
        == f"street_code '{code}' is not a 12-digit street code in regions.csv"
    )


@pytest.mark.parametrize("day", ["", "2021-5-3", "2021/05/03", "2021-02-30", "20210503", "2021-05-03 00:00:00"])
def test_invalid_status_date(tmp_path: Path, day: str) -> None:
    assert only_reason(tmp_path, row(status_date=day)) == f"status_date '{day}' is not a valid YYYY-MM-DD date"


@pytest.mark.parametrize("day", ["2018-6-1", "2018-13-01", "unknown"])
def test_invalid_install_date(tmp_path: Path, day: str) -> None:
    reason = only_reason(tmp_path, row(installed_on=day))
    assert reason == f"installed_on '{day}' is neither empty nor a valid YYYY-MM-DD date"


def test_empty_camera_id(tmp_path: Path) -> None:
    assert only_reason(tmp_path, row(camera_id=" ")) == "empty camera_id"


def test_every_broken_rule_is_named_and_the_rest_loads(tmp_path: Path) -> None:
    bad = ["", "430406", "x", "2021-02-30", "yes"]
    valid, quarantined = parse(write_csv(tmp_path / "c.csv", [GOOD, bad, GOOD]), tmp_path)
    assert valid["source_row"].to_list() == [2, 4]
    assert quarantined["reason"].item().split("; ") == [
        "empty camera_id",
        "street_code '430406' is not a 12-digit street code in regions.csv",
        "status_date '2021-02-30' is not a valid YYYY-MM-DD date",
        "installed_on 'x' is neither empty nor a valid YYYY-MM-DD date",
        "online 'yes' is not 0 or 1",
    ]
    assert json.loads(quarantined["raw"].item())["online"] == "yes"


def test_a_ragged_record_is_quarantined(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(",".join(HEADER) + "\n" + ",".join(GOOD) + "\nYFXL0003,430406001000\n", encoding="utf-8")
    valid, quarantined = parse(path, tmp_path)
    assert valid.height == 1
    assert quarantined.select("source_row", "reason").rows() == [(3, "the row has 2 fields, the header 5")]


# --- files ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_bom_and_gb18030_are_read_too(tmp_path: Path, encoding: str) -> None:
    valid, quarantined = parse(write_csv(tmp_path / "c.csv", [row(camera_id="雁峰01")], encoding=encoding), tmp_path)
    assert quarantined.is_empty() and valid["camera_id"].item() == "雁峰01"


def test_header_spaces_order_and_extra_columns(tmp_path: Path) -> None:
    header = [" online", "status_date ", "备注", "installed_on", "street_code", "camera_id"]
    path = write_csv(tmp_path / "c.csv", [["0", "2021-05-03", "镜头遮挡", "", "430406002000", "YFXL0009"]], header)
    valid, _ = parse(path, tmp_path)
    assert valid.select("camera_id", "is_online").row(0) == ("YFXL0009", False)
    assert json.loads(valid["extra_columns"].item()) == ["备注"]  # the name only, never the value


def test_a_header_only_file_gives_an_empty_typed_batch(tmp_path: Path) -> None:
    valid, quarantined = parse(write_csv(tmp_path / "c.csv", []), tmp_path)
    assert valid.is_empty() and quarantined.is_empty()


def test_wrong_header_rejects_the_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [GOOD], ["camera_id", "street_code", "installed_on", "status_date", "status"])
    with pytest.raises(FileRejected, match="missing online"):
        parse(path, tmp_path)


def test_an_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"\n\n")
    with pytest.raises(FileRejected, match="empty"):
        parse(path, tmp_path)


def test_parser_attributes() -> None:
    assert (PARSER.feed, PARSER.table, PARSER.folder, PARSER.extensions) == (
        "security_cameras",
        "security_cameras",
        "security/cameras",
        (".csv",),
    )
