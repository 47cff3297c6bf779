"""Bounded resources: a file over a cap is rejected in the ledger once, with its reason, and never retried; a
gzip or zip bomb never takes the run's memory anywhere near the 4 GiB budget. Also: xlsx formula cells."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
import xlsxwriter

from pipelines.ingest import statistics
from pipelines.ingest.base import FileContext
from pipelines.ingest.runner import ingest_table
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions
from pipelines.lib.settings import IngestLimits

PSEUDONYMISE = Pseudonymiser(b"limits-test")
MiB = 1 << 20
EVENT = (
    '{"event_id":"EVR1","case_id":"ZWR1","event_type":"submitted","occurred_at":"2022-11-15T10:00:00+08:00",'
    '"item_code":"SJ001","item_name":"企业开办登记","department":"区市场监督管理局","channel":"online"}\n'
)

# Ingests one table in a fresh interpreter and prints the ledger's verdicts and the process's peak memory (KiB).
_MEASURE = """
import json, resource, sys
from pathlib import Path
import duckdb
from pipelines.ingest.runner import ingest_table
from pipelines.lib.pseudonymise import Pseudonymiser
table, landing, raw_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
report = ingest_table(table, landing, raw_dir, Pseudonymiser(b"k"), workers=1)
rows = duckdb.sql(
    f"select source_file, status, reason_code from read_parquet('{raw_dir}/ingest_ledger/*.parquet') order by 1"
).fetchall()
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ledger": rows, "errors": report.errors, "peak_kib": peak_kib}))
"""


def _ingest_measured(table: str, landing: Path, raw_dir: Path, env: dict[str, str] | None = None) -> dict:
    import os

    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, table, str(landing), str(raw_dir)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def _gzip(path: Path, piece: bytes, total: int) -> Path:
    with gzip.open(path, "wb", compresslevel=9) as handle:
        block = piece * (MiB // len(piece))
        for _ in range(total // len(block)):
            handle.write(block)
    return path


def _ledger(raw_dir: Path) -> list[tuple]:
    return duckdb.sql(
        "select source_file, status, reason_code, reason_detail "
        f"from read_parquet('{raw_dir}/ingest_ledger/*.parquet') order by 1"
    ).fetchall()


def test_a_gzip_bomb_is_rejected_once_in_bounded_memory(tmp_path: Path) -> None:
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "gov_services").mkdir(parents=True)
    zeros = _gzip(landing / "gov_services" / "zeros.jsonl.gz", b"\0", 200 * MiB)  # one endless line
    lines = _gzip(landing / "gov_services" / "lines.jsonl.gz", EVENT.encode(), 200 * MiB)  # filler lines
    assert zeros.stat().st_size < 1 * MiB and lines.stat().st_size < 2 * MiB
    measured = _ingest_measured("gov_services", landing, raw_dir)
    assert measured["errors"] == []
    assert sorted(measured["ledger"]) == [
        ["gov_services/lines.jsonl.gz", "rejected", "compression_ratio"],
        ["gov_services/zeros.jsonl.gz", "rejected", "line_too_long"],
    ]
    assert measured["peak_kib"] < 1024 * 1024  # under 1 GiB, far within the run's 4 GiB
    # Under a lowered size cap (and a ratio cap out of the way) the filler is too large instead.
    raw_2 = tmp_path / "raw2"
    env = {"INNOSTAT_MAX_DECOMPRESSED_BYTES": str(32 * MiB), "INNOSTAT_MAX_COMPRESSION_RATIO": "1000000"}
    measured = _ingest_measured("gov_services", landing, raw_2, env)
    assert ["gov_services/lines.jsonl.gz", "rejected", "too_large"] in measured["ledger"]
    # Recorded once: never retried.
    report = ingest_table("gov_services", landing, raw_2, PSEUDONYMISE, workers=1)
    assert (report.files_new, report.files_already_ingested) == (0, 2)


def _workbook(path: Path, rows: list[list], *, first_row: int = 0, formula: tuple[int, int, str, object] | None = None):
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("数据")
    for r, row in enumerate([statistics.HEADER, *rows]):
        for c, value in enumerate(row):
            sheet.write_string(first_row + r, c, value)
    if formula is not None:
        r, c, text, cached = formula
        sheet.write_formula(first_row + r, c, text, None, cached)
    book.close()
    return path


def _bomb(path: Path, padding: int) -> Path:
    """A valid workbook whose sheet carries `padding` bytes of whitespace: tiny zipped, huge unzipped."""
    source = _workbook(path.with_suffix(".src.xlsx"), [["430406", "地区生产总值", "亿元", "2020", "1", "快报"]])
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                head, _, tail = data.partition(b"<sheetData>")
                with out.open(info.filename, "w") as handle:
                    handle.write(head + b"<sheetData>")
                    for _ in range(padding // MiB):
                        handle.write(b" " * MiB)
                    handle.write(tail)
                continue
            out.writestr(info, data)
    source.unlink()
    return path


def test_a_zip_bomb_xlsx_is_rejected_once_in_bounded_memory(tmp_path: Path) -> None:
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "statistics").mkdir(parents=True)
    bomb = _bomb(landing / "statistics" / "bomb.xlsx", 200 * MiB)
    assert bomb.stat().st_size < 2 * MiB
    measured = _ingest_measured("statistics", landing, raw_dir)
    assert measured["ledger"] == [["statistics/bomb.xlsx", "rejected", "too_large"]]
    assert measured["peak_kib"] < 1024 * 1024
    raw_2 = tmp_path / "raw2"  # with a size cap above it, the ratio cap catches it
    measured = _ingest_measured("statistics", landing, raw_2, {"INNOSTAT_MAX_XLSX_BYTES": str(1 << 30)})
    assert measured["ledger"] == [["statistics/bomb.xlsx", "rejected", "compression_ratio"]]
    assert measured["peak_kib"] < 1024 * 1024


def test_csv_size_line_length_and_cell_length_caps(tmp_path: Path, monkeypatch) -> None:
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    for folder in ("statistics", "gov_services"):
        (landing / folder).mkdir(parents=True)
    row = ",".join(["430406", "地区生产总值", "亿元", "2020", "1", "快报"])
    long_name = "地区生产总值（" + "很" * 80 + "）"
    (landing / "statistics" / "big.csv").write_text(",".join(statistics.HEADER) + "\n" + (row + "\n") * 100)
    (landing / "statistics" / "cell.csv").write_text(
        ",".join(statistics.HEADER) + f"\n{row}\n430406,{long_name},亿元,2021,2,快报\n"
    )
    (landing / "gov_services" / "long.jsonl").write_text(EVENT + EVENT.replace("企业开办登记", "登" * 200))
    monkeypatch.setenv("INNOSTAT_MAX_CSV_BYTES", "1000")
    monkeypatch.setenv("INNOSTAT_MAX_CELL_CHARS", "50")
    monkeypatch.setenv("INNOSTAT_MAX_LINE_BYTES", "400")
    for table in ("statistics", "gov_services"):
        assert ingest_table(table, landing, raw_dir, PSEUDONYMISE, workers=1).errors == []
    ledger = {source: (status, code) for source, status, code, _ in _ledger(raw_dir)}
    assert ledger == {
        "statistics/big.csv": ("rejected", "too_large"),
        "statistics/cell.csv": ("loaded", None),
        "gov_services/long.jsonl": ("rejected", "line_too_long"),
    }
    quarantined = duckdb.sql(
        f"select source_row, reason_code, reason_detail, raw from read_parquet('{raw_dir}/quarantine/*.parquet')"
    ).fetchall()
    assert [(r[0], r[1], r[2]) for r in quarantined] == [(3, "cell_too_long", "指标名称: 88 characters")]
    assert long_name not in quarantined[0][3]  # cut in raw


def _parse(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    ctx = FileContext(
        feed="statistics",
        path=path,
        source_file=f"statistics/{path.name}",
        regions=load_regions(),
        pseudonymise=PSEUDONYMISE,
        raw_table_dir=tmp_path / "raw" / "statistics",
    )
    batches = list(statistics.PARSER.parse(ctx))
    return pl.concat([b.valid for b in batches]), pl.concat([b.quarantined for b in batches])


@pytest.mark.parametrize("first_row", [0, 2])
def test_a_formula_cell_is_quarantined_not_trusted_by_its_cached_value(tmp_path: Path, first_row: int) -> None:
    rows = [
        ["430406", "地区生产总值", "亿元", "2020", "236.40", "快报"],
        ["430406", "技术合同成交额", "万元", "2020", "", "快报"],
        ["430406", "常住人口", "万人", "2020", "5.12", "快报"],
    ]
    hyperlink = '=HYPERLINK("http://example.invalid/turnover","12.5")'
    path = _workbook(tmp_path / "s.xlsx", rows, first_row=first_row, formula=(2, 4, hyperlink, 0))
    valid, quarantined = _parse(path, tmp_path)
    assert valid["indicator_code"].to_list() == ["GDP", "POPULATION"]
    assert valid["source_row"].to_list() == [2, 4]
    assert quarantined.select("source_row", "source_sheet", "reason_code", "reason_detail").rows() == [
        (3, "数据", "formula_cell", f"E{first_row + 3}")
    ]


def test_a_file_without_its_header_does_not_put_its_first_row_in_the_ledger(tmp_path: Path) -> None:
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "statistics").mkdir(parents=True)
    (landing / "statistics" / "no_header.csv").write_text("张三,13812340000,430406198512120012\n1,2,3\n")
    (landing / "statistics" / "typo.csv").write_text("地区代码,指标名,计量单位,统计期,数值,数据状态\n")
    ingest_table("statistics", landing, raw_dir, PSEUDONYMISE, workers=1)
    ledger = duckdb.sql(
        f"select source_file, reason_code, reason from read_parquet('{raw_dir}/ingest_ledger/*.parquet') order by 1"
    ).fetchall()
    assert [(source, code) for source, code, _ in ledger] == [
        ("statistics/no_header.csv", "wrong_header"),
        ("statistics/typo.csv", "wrong_header"),
    ]
    assert "张三" not in ledger[0][2] and "13812340000" not in ledger[0][2] and "header missing" in ledger[0][2]
    assert "found 地区代码, 指标名" in ledger[1][2]  # a header with a slip is shown, to be fixed


def test_long_lines_make_smaller_batches_not_a_huge_one(tmp_path: Path) -> None:
    from pipelines.ingest.jsonlines.reading import BATCH_BYTES, iter_line_frames

    caps = IngestLimits(compression_ratio=1_000_000)  # the filler compresses far too well
    piece = EVENT.replace("企业开办登记", "登" * 150_000).encode()  # ~450 KB a line, within the 1 MiB cap
    path = _gzip(tmp_path / "long.jsonl.gz", piece, 128 * MiB)
    written = (MiB // len(piece)) * (128 * MiB // (len(piece) * (MiB // len(piece))))  # as _gzip writes them
    sizes, rows = [], 0
    for frame in iter_line_frames(path, limits=caps):
        sizes.append(frame["line"].str.len_bytes().sum())
        rows += frame.height
    assert rows == written
    assert len(sizes) > 1 and max(sizes) <= BATCH_BYTES + 8 * MiB  # one read chunk beyond the byte bound
