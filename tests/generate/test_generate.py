"""The sample-data generator: deterministic, messy where FEEDS.md allows, and honest in its manifest.

The contract checks below re-read the landing zone with their own small parser, so a planted row that
is not really bad, a bad row that is not listed, or a manifest fact that the files do not support fails
here, before it misleads an ingestion test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import re
import statistics as stats
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import fastexcel
import pytest

from pipelines.generate import generate_landing
from pipelines.generate.common import is_valid_resident_id, is_valid_uscc, resident_id_check_char, uscc_check_char

SCALE = 0.003
SHANGHAI = timezone(timedelta(hours=8))
STREETS = {"430406001000", "430406002000", "430406003000", "430406004000", "430406005000", "430406100000"}
REGIONS = STREETS | {"100000", "430000", "430400", "430406"}
FEED_FOLDERS = {
    "statistics": "statistics",
    "rd_filings": "rd_filings",
    "gov_services": "gov_services",
    "security_incidents": "security/incidents",
    "security_cameras": "security/cameras",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("first") / "landing"
    return out, generate_landing(out, seed=7, scale=SCALE)


def snapshot(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def delivery_order(root: Path, folder: str, skip: set[str]) -> list[Path]:
    """Files of a feed in FEEDS.md delivery order (mtime, then name), without byte-identical re-deliveries."""
    files = [p for p in (root / folder).iterdir() if p.is_file() and p.relative_to(root).as_posix() not in skip]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


# --- determinism, volume, layout -------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_mtimes_and_manifest(generated, tmp_path):
    root, manifest = generated
    again = generate_landing(tmp_path / "landing", seed=7, scale=SCALE)
    assert snapshot(tmp_path / "landing") == snapshot(root)
    assert json.dumps(again, sort_keys=True) == json.dumps(manifest, sort_keys=True)


def test_other_seed_gives_other_data(generated, tmp_path):
    root, _ = generated
    generate_landing(tmp_path / "landing", seed=8, scale=SCALE)
    first, other = snapshot(root), snapshot(tmp_path / "landing")
    # the same deliveries (a quiet day may have no incident file) ...
    assert {n for n in first if "incidents" not in n} == {n for n in other if "incidents" not in n}
    changed = [name for name in first if name in other and first[name][0] != other[name][0]]
    assert len(changed) > 0.8 * len(first)  # ... with other contents
    assert all(name in changed for name in first if name.startswith(("gov_services/", "rd_filings/")))


def test_scale_changes_volume(tmp_path):
    small = generate_landing(tmp_path / "small", scale=0.002, years=(2021, 2021))
    large = generate_landing(tmp_path / "large", scale=0.02, years=(2021, 2021))

    def lines(root: Path, folder: str) -> int:
        return sum(len(read_lines(p)) for p in (root / folder).iterdir())

    assert lines(tmp_path / "large", "gov_services") > 5 * lines(tmp_path / "small", "gov_services")
    assert lines(tmp_path / "large", "security/cameras") > 5 * lines(tmp_path / "small", "security/cameras")
    assert small["files"]["statistics"] == large["files"]["statistics"]  # aggregates do not scale
    assert small["quarantine_expected"] == large["quarantine_expected"]  # every messy case at any scale


def test_every_feed_has_its_files_and_the_manifest_counts_them(generated):
    root, manifest = generated
    for feed, folder in FEED_FOLDERS.items():
        files = [p for p in (root / folder).iterdir() if p.is_file()]
        assert len(files) == manifest["files"][feed] > 0
    suffixes = Counter("".join(p.suffixes[-2:]) for p in (root / "gov_services").iterdir())
    assert suffixes[".jsonl"] and suffixes[".jsonl.gz"]
    cameras = sorted(p.name for p in (root / "security/cameras").iterdir())
    assert "cameras_2019-01.csv" in cameras and "cameras_20221231.csv" in cameras


def test_mtimes_are_past_and_make_the_delivery_order(generated):
    root, manifest = generated
    mtimes = {p.relative_to(root).as_posix(): p.stat().st_mtime for p in root.rglob("*") if p.is_file()}
    assert max(mtimes.values()) < datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    stats_dir = "statistics/"
    assert mtimes[stats_dir + "2020年统计年报_最终核实.csv"] > mtimes[stats_dir + "2020年统计年报（初步核实）.xlsx"]
    assert mtimes[stats_dir + "2020年统计年报（初步核实）.xlsx"] > mtimes[stats_dir + "2020年雁峰区主要指标快报.csv"]
    assert datetime.fromtimestamp(mtimes[stats_dir + "2020年雁峰区主要指标快报.csv"], SHANGHAI).year == 2021
    for duplicate in manifest["duplicate_files"]:
        twins = [n for n in mtimes if n != duplicate and (root / n).read_bytes() == (root / duplicate).read_bytes()]
        assert len(twins) == 1 and mtimes[twins[0]] < mtimes[duplicate]


def test_refuses_bad_arguments_and_occupied_folders(generated, tmp_path):
    root, _ = generated
    with pytest.raises(ValueError):
        generate_landing(tmp_path / "x", years=(2019, 2030))
    with pytest.raises(FileExistsError):
        generate_landing(root)


# --- formats ----------------------------------------------------------------------------------------------


def test_csv_encodings_are_really_mixed(generated):
    root, _ = generated
    for folder in ("statistics", "rd_filings"):
        kinds = Counter()
        for path in (root / folder).glob("*.csv"):
            data = path.read_bytes()
            if data.startswith(b"\xef\xbb\xbf"):
                kinds["bom"] += 1
                continue
            try:
                data.decode("utf-8")
                kinds["utf-8"] += 1
            except UnicodeDecodeError:
                data.decode("gb18030")
                kinds["gb18030"] += 1
        assert kinds["bom"] and kinds["utf-8"] and kinds["gb18030"], (folder, kinds)


def test_workbooks_have_a_notes_sheet_and_two_feed_sheets(generated):
    root, _ = generated
    for folder in ("statistics", "rd_filings"):
        for path in (root / folder).glob("*.xlsx"):
            sheets = list(read_sheets(path))
            assert "填表说明" in [name for name, _ in sheets]
            key = "地区代码" if folder == "statistics" else "填报编号"
            headers = [[str(c) for c in rows[0]] for _, rows in sheets if key in [str(c).strip() for c in rows[0]]]
            assert len(headers) == 2  # two feed sheets
            standard = STAT_HEADER if folder == "statistics" else RD_HEADER
            reordered = [h for h in headers if [c.strip() for c in h][: len(standard)] != standard]
            assert len(reordered) == 1 and "备注" in reordered[0]  # reordered, with an extra column
            assert any(c != c.strip() for c in reordered[0])  # and names with surrounding spaces


def test_check_digits_against_known_codes():
    assert is_valid_uscc("91110000600037341L")
    assert not is_valid_uscc("91110000600037341M")
    assert uscc_check_char("91350100M000100Y4") == "3"  # another published code, 91350100M000100Y43
    assert is_valid_resident_id("11010519491231002X")
    assert resident_id_check_char("44052418800101001") == "4"  # the standard's worked example
    assert not is_valid_resident_id("110105194912310021")


def test_generated_codes_carry_correct_check_digits(generated):
    root, manifest = generated
    codes = {row["统一社会信用代码"] for _, _, _, row in table_rows(root, "rd_filings")}
    planted_codes = 2  # the wrong-check-digit and the wrong-length rows
    assert sum(not is_valid_uscc(c) for c in codes) == planted_codes
    ids = [v for v in manifest["pii_values"] if len(v) == 18 and v[:17].isdigit() and not v.startswith("9")]
    flagged = set(manifest["facts"]["reporter_ids_wrong_check_digit"])
    assert flagged and all(not is_valid_resident_id(i) for i in flagged)
    assert all(is_valid_resident_id(i) for i in ids if i not in flagged)


# --- manifest: planted rows are exactly the rows the contract rejects -----------------------------------------


def test_expected_counts_equal_planted_rows(generated):
    _, manifest = generated
    planted = Counter(p["feed"] for p in manifest["quarantine_planted"])
    assert manifest["quarantine_expected"] == {feed: planted[feed] for feed in FEED_FOLDERS}
    assert all(manifest["quarantine_expected"].values())


def test_rows_breaking_the_contract_are_exactly_the_planted_ones(generated):
    root, manifest = generated
    planted = {(p["file"], p["sheet"], p["row"]) for p in manifest["quarantine_planted"]}
    bad = set(bad_rows(root, set(manifest["duplicate_files"])))
    assert bad == planted


def test_personal_values_are_listed_and_only_in_personal_feeds(generated):
    root, manifest = generated
    pii = set(manifest["pii_values"])
    for folder in ("statistics", "rd_filings"):
        for _, _, _, row in table_rows(root, folder):
            assert not pii & set(row.values())
    written = set()
    for folder, fields in (
        ("gov_services", ("applicant_id", "applicant_phone")),
        ("security/incidents", ("reporter_name", "reporter_phone", "reporter_id_number")),
    ):
        for path in (root / folder).iterdir():
            for line in read_lines(path):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                written |= {record[f] for f in fields if record.get(f)}
    assert written <= pii
    assert len(pii - written) <= 3  # only values inside the two lines that are not JSON


# --- manifest facts, recomputed from the files ---------------------------------------------------------------


def test_headline_statistics(generated):
    _, manifest = generated
    headline = manifest["headline_430406_yuan"]
    assert headline["2019"] == {"GDP": 236.40e8, "RD_EXPENDITURE": 6.2e8, "HT_VALUE_ADDED": 79.90e8}
    assert set(headline) == {"2019", "2020", "2021", "2022"}
    china = manifest["facts"]["statistics_current"]["100000"]
    assert china["2021"]["RD_EXPENDITURE"] == pytest.approx(27956.3e8)


def test_statistics_current_values_follow_the_delivery_order(generated):
    root, manifest = generated
    current: dict[tuple[str, str, str], float] = {}
    for _, _, _, row in valid_rows(root, "statistics", set(manifest["duplicate_files"])):
        value = row["数值"].strip().replace(",", "")
        if value not in ("", "-", "—", "…"):
            code = STAT_CODES[row["指标名称"].strip()]
            current[(row["地区代码"].strip(), code, period_key(row["统计期"].strip()))] = float(
                Decimal(value) * STAT_UNITS[row["计量单位"].strip()][1]
            )
    expected = {
        (region, code, period): value
        for region, periods in manifest["facts"]["statistics_current"].items()
        for period, codes in periods.items()
        for code, value in codes.items()
    }
    assert current.keys() == expected.keys()
    assert all(current[k] == pytest.approx(v, rel=1e-12) for k, v in expected.items())
    # the first year's final table says "…" for 技术合同成交额: that does not erase the preliminary number
    assert expected[("430406", "TECH_CONTRACT_TURNOVER", str(manifest["years"][0]))] > 0


def test_enterprise_facts_follow_the_current_filings(generated):
    root, manifest = generated
    first: dict[str, dict] = {}
    for _, _, _, row in valid_rows(root, "rd_filings", set(manifest["duplicate_files"])):
        first.setdefault(row["填报编号"].strip(), row)
    current: dict[tuple[str, str], dict] = {}
    for row in first.values():
        key = (row["统一社会信用代码"], row["年度"])
        if key not in current or filing_time(row) > filing_time(current[key]):
            current[key] = row
    by_year: dict[str, list[dict]] = {}
    for (_, year), row in current.items():
        by_year.setdefault(year, []).append(row)
    facts = manifest["facts"]["ent_rd"]
    assert facts.keys() == by_year.keys()
    for year, rows in by_year.items():
        assert facts[year]["expense_yuan"] == pytest.approx(sum(float(r["研发费用(万元)"]) * 1e4 for r in rows))
        assert facts[year]["certified"] == sum(1 for r in rows if r["高新技术企业证书编号"])
        assert facts[year]["filings"] == len(rows)
    # The filers are the district's census at any scale up to 1: beside the statistics they do not shrink.
    district = manifest["facts"]["statistics_current"]["430406"]
    for year, y in facts.items():
        assert y["filings"] >= 480 > 0.05 * 480  # not the 40 filers of a scaled-down sample
        assert y["certified"] == round(district[year]["HT_ENTERPRISES"] * 0.95)  # 57 in 2019 → 54 file
        assert 0.7 < y["expense_yuan"] / district[year]["RD_EXPENDITURE"] < 0.85  # enterprises: ~78 % of R&D


def test_gov_service_facts_follow_the_event_rules(generated):
    root, manifest = generated
    events: dict[str, dict] = {}
    for path in delivery_order(root, "gov_services", set(manifest["duplicate_files"])):
        for line in read_lines(path):
            record = parse_json(line)
            if record is not None and gov_line_ok(record):
                events.setdefault(record["event_id"], record)  # the first delivered copy counts
    cases: dict[str, dict[str, list]] = {}
    for e in events.values():
        cases.setdefault(e["case_id"], {}).setdefault(e["event_type"], []).append(e)
    counted: dict[str, Counter] = {}
    for case in cases.values():
        submitted = case["submitted"][0]
        s = counted.setdefault(month(submitted["occurred_at"]), Counter())
        s["submitted"] += 1
        s["submitted_online_or_app"] += submitted["channel"] in ("online", "app")
        if "completed" not in case:
            continue
        done = min(case["completed"], key=lambda e: instant(e["occurred_at"]))
        accepted = min(case["accepted"], key=lambda e: instant(e["occurred_at"]))
        c = counted.setdefault(month(done["occurred_at"]), Counter())
        elapsed = (instant(done["occurred_at"]) - instant(accepted["occurred_at"])).total_seconds()
        c["completed"] += 1
        c["completed_visits_le1"] += done["visits"] <= 1
        c["completed_visits_0"] += done["visits"] == 0
        c["completed_accepted"] += 1
        c["completed_on_time"] += elapsed <= accepted["promised_days"] * 86400
        c["processing_days_sum"] += elapsed / 86400
        if "rated" in case:
            c["rated"] += 1
            c["rated_ge4"] += max(case["rated"], key=lambda e: instant(e["occurred_at"]))["rating"] >= 4
    facts = manifest["facts"]["gs_by_month"]
    assert facts.keys() == counted.keys()
    for m, values in facts.items():
        for name, value in values.items():
            assert counted[m][name] == pytest.approx(value, abs=1e-5), (m, name)


def test_incident_and_camera_facts_follow_the_later_delivery(generated):
    root, manifest = generated
    state: dict[str, dict] = {}
    for path in delivery_order(root, "security/incidents", set(manifest["duplicate_files"])):
        for line in read_lines(path):
            record = parse_json(line)
            if record is not None and incident_ok(record):
                state[record["incident_id"]] = record  # the later delivered record is the state
    by_month: dict[str, list[dict]] = {}
    for record in state.values():
        by_month.setdefault(month(record["received_at"]), []).append(record)
    facts = manifest["facts"]["sec_incidents_by_month"]
    assert facts.keys() == by_month.keys()
    for m, records in by_month.items():
        response = [
            (instant(r["arrived_at"]) - instant(r["received_at"])).total_seconds() / 60
            for r in records
            if r["arrived_at"]
        ]
        assert facts[m]["incidents"] == len(records)
        assert facts[m]["by_category"] == dict(sorted(Counter(r["category"] for r in records).items()))
        assert facts[m]["by_street"] == dict(sorted(Counter(r["street_code"] for r in records).items()))
        assert facts[m]["within_15min"] == sum(1 for r in response if r <= 15.0)
        if response:
            assert facts[m]["median_response_min"] == pytest.approx(stats.median(response))

    days: dict[tuple[str, str], tuple[str, str]] = {}
    for path in delivery_order(root, "security/cameras", set(manifest["duplicate_files"])):
        for _, row in csv_rows(path):
            if row["online"] in ("0", "1") and row["street_code"] in STREETS:
                days[(row["camera_id"], row["status_date"])] = (row["street_code"], row["online"])
    cameras = manifest["facts"]["sec_cameras_by_month"]
    for m, values in cameras.items():
        rows = [(cam, v) for (cam, day), v in days.items() if day.startswith(m)]
        assert values["cameras"] == len({cam for cam, _ in rows})
        assert values["camera_days"] == len(rows)
        assert values["online_days"] == sum(v[1] == "1" for _, v in rows)


# --- a small, independent reader of the contract ----------------------------------------------------------

STAT_CODES = {
    "地区生产总值": "GDP",
    "高新技术产业增加值": "HT_VALUE_ADDED",
    "全社会研发经费支出": "RD_EXPENDITURE",
    "常住人口": "POPULATION",
    "高新技术企业数": "HT_ENTERPRISES",
    "发明专利拥有量": "INVENTION_PATENTS",
    "技术合同成交额": "TECH_CONTRACT_TURNOVER",
    "地方财政科技支出": "FISCAL_ST_EXPENDITURE",
    "一般公共预算支出": "FISCAL_EXPENDITURE",
    "输变电产业产值": "OUTPUT_POWER_EQUIPMENT",
    "大数据产业营业收入": "REVENUE_BIG_DATA",
    "金融商贸业增加值": "VA_FINANCE_COMMERCE",
    "健康文旅产业营业收入": "REVENUE_HEALTH_TOURISM",
}
STAT_KIND = {"POPULATION": "persons", "HT_ENTERPRISES": "count", "INVENTION_PATENTS": "count"}
STAT_UNITS = {
    "元": ("money", 1),
    "万元": ("money", 10**4),
    "亿元": ("money", 10**8),
    "人": ("persons", 1),
    "万人": ("persons", 10**4),
    "家": ("count", 1),
    "个": ("count", 1),
    "件": ("count", 1),
}
STAT_HEADER = ["地区代码", "指标名称", "计量单位", "统计期", "数值", "数据状态"]
RD_HEADER = ["填报编号", "统一社会信用代码", "企业名称", "所属街道代码", "所属产业", "年度", "研发费用(万元)"]
RD_HEADER += ["研发人员(人)", "主营业务收入(万元)", "新产品销售收入(万元)", "发明专利申请(件)", "发明专利授权(件)"]
RD_HEADER += ["高新技术企业证书编号", "填报时间", "更正原填报编号"]
PERIODS = [
    (re.compile(r"^(\d{4})年?$"), lambda m: m[1]),
    (re.compile(r"^(\d{4})-(\d{2})$"), lambda m: f"{m[1]}-{m[2]}"),
    (re.compile(r"^(\d{4})年(\d{1,2})月$"), lambda m: f"{m[1]}-{int(m[2]):02d}"),
    (re.compile(r"^(\d{4})年1-(\d{1,2})月$"), lambda m: f"{m[1]}-{int(m[2]):02d}"),
]
NUMBER = re.compile(r"^-?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")


def period_key(text: str) -> str | None:
    for pattern, key in PERIODS:
        m = pattern.match(text)
        if m:
            result = key(m)
            return result if len(result) == 4 or 1 <= int(result[5:]) <= 12 else None
    return None


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8").splitlines()


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def csv_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    rows = list(csv.reader(io.StringIO(read_text(path), newline="")))
    header = [h.strip() for h in rows[0]]
    return [(number, dict(zip(header, row, strict=True))) for number, row in enumerate(rows[1:], start=2)]


def read_sheets(path: Path):
    """(sheet name, rows of text cells) of every sheet, via fastexcel as ingestion would read them."""
    reader = fastexcel.read_excel(path)
    for name in reader.sheet_names:
        frame = reader.load_sheet(name, header_row=None, dtypes="string").to_polars()
        yield name, [["" if v is None else v for v in row] for row in frame.rows()]


def table_rows(root: Path, folder: str):
    """(file, sheet, row number, row) over the CSVs and the feed sheets of the workbooks of a feed."""
    first = "地区代码" if folder == "statistics" else "填报编号"
    for path in sorted((root / folder).iterdir()):
        name = path.relative_to(root).as_posix()
        if path.suffix == ".csv":
            for number, row in csv_rows(path):
                yield name, None, number, row
            continue
        for sheet, rows in read_sheets(path):
            header = [str(c).strip() for c in rows[0]]
            if first not in header:
                continue
            for number, row in enumerate(rows[1:], start=2):
                yield name, sheet, number, {h: str(v) for h, v in zip(header, row, strict=True)}


def statistics_ok(row: dict[str, str]) -> bool:
    code = STAT_CODES.get(row["指标名称"].strip())
    unit = STAT_UNITS.get(row["计量单位"].strip())
    value = row["数值"].strip()
    return (
        row["地区代码"].strip() in REGIONS
        and code is not None
        and unit is not None
        and unit[0] == STAT_KIND.get(code, "money")
        and period_key(row["统计期"].strip()) is not None
        and (value in ("", "-", "—", "…") or NUMBER.match(value) is not None)
        and row["数据状态"].strip() in ("", "快报", "初步核实", "最终核实")
    )


def filing_time(row: dict[str, str]) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
        try:
            return datetime.strptime(row["填报时间"].strip(), fmt)
        except ValueError:
            pass
    raise ValueError(row["填报时间"])


def rd_ok(row: dict[str, str]) -> bool:
    money = [
        "研发费用(万元)",
        "主营业务收入(万元)",
        "新产品销售收入(万元)",
        "研发人员(人)",
        "发明专利申请(件)",
        "发明专利授权(件)",
    ]
    try:
        filing_time(row)
        numbers_ok = all(float(row[c]) >= 0 for c in money)
    except ValueError:
        return False
    cert = row["高新技术企业证书编号"].strip()
    return (
        is_valid_uscc(row["统一社会信用代码"].strip())
        and row["年度"].strip().isdigit()
        and 2000 <= int(row["年度"]) <= datetime.now().year
        and numbers_ok
        and row["所属产业"].strip() in ("输变电", "大数据", "金融商贸", "健康文旅", "其他")
        and row["所属街道代码"].strip() in STREETS
        and (cert == "" or re.fullmatch(r"GR\d{12}", cert) is not None)
    )


def rd_content(row: dict[str, str]) -> tuple:
    """The 15 values as parsed, so spelling differences (`612.50` / `612.5`, time formats) compare equal."""
    numeric = {c for c in row if c.endswith(("(万元)", "(人)", "(件)"))}
    values = tuple(
        float(row[c]) if c in numeric else row[c].strip() for c in sorted(row) if c != "填报时间" and c != "备注"
    )
    return (*values, filing_time(row))


def parse_json(line: str) -> dict | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


def gov_line_ok(r: dict) -> bool:
    return (
        all(r.get(k) is not None for k in ("event_id", "case_id", "event_type", "occurred_at"))
        and r["event_type"] in ("submitted", "accepted", "completed", "rejected", "rated")
        and r.get("channel") in (None, "online", "app", "window", "self_service")
        and r.get("applicant_type") in (None, "person", "enterprise")
    )


def incident_ok(r: dict) -> bool:
    return (
        r.get("incident_id") is not None
        and r.get("category") in ("theft", "fraud", "traffic", "dispute", "fire", "violence", "other")
        and r.get("source") in ("call_110", "app", "camera", "patrol")
        and r.get("street_code") in STREETS
    )


def instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def month(text: str) -> str:
    return instant(text).astimezone(SHANGHAI).strftime("%Y-%m")


def bad_rows(root: Path, duplicates: set[str]):
    """(file, sheet, row) of every row that breaks FEEDS.md, skipping byte-identical re-deliveries."""
    for file, sheet, number, row in table_rows(root, "statistics"):
        if file not in duplicates and not statistics_ok(row):
            yield file, sheet, number
    seen: dict[str, tuple] = {}
    rd = [(p.relative_to(root).as_posix(), i) for i, p in enumerate(delivery_order(root, "rd_filings", duplicates))]
    order = dict(rd)
    for file, sheet, number, row in sorted(
        table_rows(root, "rd_filings"), key=lambda r: (order[r[0]], r[1] or "", r[2])
    ):
        if not rd_ok(row):
            yield file, sheet, number
            continue
        content = rd_content(row)
        if seen.setdefault(row["填报编号"].strip(), content) != content:
            yield file, sheet, number
    for folder, ok in (("gov_services", gov_line_ok), ("security/incidents", incident_ok)):
        for path in delivery_order(root, folder, duplicates):
            for number, line in enumerate(read_lines(path), start=1):
                record = parse_json(line)
                if record is None or not ok(record):
                    yield path.relative_to(root).as_posix(), None, number
    for path in delivery_order(root, "security/cameras", duplicates):
        for number, row in csv_rows(path):
            if row["online"] not in ("0", "1") or row["street_code"] not in STREETS:
                yield path.relative_to(root).as_posix(), None, number


def valid_rows(root: Path, folder: str, duplicates: set[str]):
    """Valid table rows in delivery order (file, sheet in workbook order, row)."""
    files = {p.relative_to(root).as_posix(): i for i, p in enumerate(delivery_order(root, folder, duplicates))}
    bad = set(bad_rows(root, duplicates))
    sheet_order: dict[tuple[str, str | None], int] = {}
    rows = []
    for file, sheet, number, row in table_rows(root, folder):
        if file in files and (file, sheet, number) not in bad:
            position = sheet_order.setdefault((file, sheet), len(sheet_order))
            rows.append((files[file], position, number, row))
    return sorted(rows, key=lambda r: r[:3])
