"""The published indicators computed with pandas alone, as a typical data team would write them.

The benchmark's pandas baseline: it reads the landing zone with pandas (CSV in UTF-8, UTF-8 with BOM or GB18030,
every xlsx sheet whose first row holds the feed header, JSON Lines plain or gzipped), applies the feed contract's
row rules (a row the pipeline quarantines does not count here either), resolves delivery order, duplicates,
revisions and current states, and computes every indicator of `marts.indicator_values` with groupby and merge.
The result is written to Parquet with the columns of `marts.indicator_values` (conf_status included: the
disclosure rules of PUBLISHING.md §1, parameters from the seed disclosure_rules), so `benchmarks.compare` can
check it key by key against a published warehouse.

Delivery order is file modification time, then path, then row (then xlsx sheet); a file whose bytes were already
delivered under another name adds nothing. It imports nothing from the pipeline and uses no SQL engine.

Example:

    python -m benchmarks.baselines.pandas_indicators --landing /tmp/bench/small/landing \\
        --out /tmp/bench/small/pandas.parquet
    python -m benchmarks.compare --warehouse /tmp/bench/small/wh/innostat.duckdb \\
        --baseline /tmp/bench/small/pandas.parquet
"""

from __future__ import annotations

import argparse
import codecs
import csv
import gzip
import hashlib
import io
import json
import re
import sys
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

try:  # the fastest JSON decoder at hand; the stdlib is the fallback
    import orjson

    _loads = orjson.loads
except ImportError:  # pragma: no cover

    def _reject_constant(name: str) -> None:
        raise ValueError(f"{name} is not valid JSON")

    def _loads(text: str):
        return json.loads(text, parse_constant=_reject_constant)


DEFAULT_REGIONS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "regions.csv"
# the disclosure parameters (one row); these defaults where the seed does not exist
DISCLOSURE_RULES = DEFAULT_REGIONS.with_name("disclosure_rules.csv")
DISCLOSURE_DEFAULTS = {"min_contributors": 3, "dominance_n": 1, "dominance_k_percent": 85, "protection_percent": 10}
DISTRICT = "430406"
SHANGHAI = timezone(timedelta(hours=8))
SPACES = " \t\r\n\u3000\xa0"  # what a spreadsheet or a hand-typed CSV puts around a value
HEADER_SPACES = " \t\u3000\ufeff\xa0"
MISSING_MARKS = ["", "-", "\u2014", "\u2026"]  # empty, -, —, …: "not available"
DECIMAL = r"-?(?:[0-9]+(?:\.[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?)"
OUTPUT_COLUMNS = ["indicator_code", "region_code", "period", "period_type", "dimension", "member", "value", "unit"]
JSONL_CHUNK_CHARS = 64 << 20  # lines read and decoded at a time from one JSON Lines file


class FileRejected(Exception):
    """The whole file is unusable (empty, wrong header, undecodable, corrupt): it adds nothing."""


# ----------------------------------------------------------------------------------------------------- files


def delivered_files(landing: Path, folder: str, extensions: tuple[str, ...]) -> list[Path]:
    """A feed's files in delivery order (mtime, then path); a file with the bytes of an earlier one is skipped."""
    root = landing / folder
    if not root.is_dir():
        return []
    files = [
        p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".") and p.name.lower().endswith(extensions)
    ]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.relative_to(root).as_posix()))
    sizes = Counter(p.stat().st_size for p in files)
    seen: set[str] = set()
    out = []
    for path in files:
        if sizes[path.stat().st_size] > 1:  # only files of equal size can have equal bytes
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
        out.append(path)
    return out


def strip(series: pd.Series) -> pd.Series:
    return series.fillna("").astype("str").str.strip(SPACES)


def clean_header(name: object) -> str:
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    return str(name).strip(HEADER_SPACES).replace("（", "(").replace("）", ")")


def _rows_below(table: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """The non-blank rows below the header row, as text named by the header (of a repeated name, the last)."""
    body = table.iloc[1:].fillna("").astype("str")
    body.columns = header
    values = body.drop(columns="row", errors="ignore")
    blank = (values.apply(lambda col: col.str.strip(HEADER_SPACES)) == "").all(axis=1)
    return body.loc[~blank, ~body.columns.duplicated(keep="last")]


def read_csv_feed(path: Path, required: list[str]) -> pd.DataFrame:
    """A CSV file as all-text columns with `row` (record number, header = 1); ragged records are dropped."""
    data = path.read_bytes()
    if not data.strip():
        raise FileRejected("empty file")
    if data.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    else:
        try:
            data.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "gb18030"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        raise FileRejected("neither UTF-8 nor GB18030") from err
    table = pd.read_csv(
        io.BytesIO(data),
        encoding=encoding,
        header=None,
        dtype=str,
        keep_default_na=False,
        on_bad_lines="skip",  # more fields than the header: quarantined by the contract
    )
    if table.empty:
        raise FileRejected("no header")
    header = [clean_header(h) for h in table.iloc[0]]
    if not set(required) <= set(header):
        raise FileRejected("wrong header")
    width = len(header)
    records = record_widths(text, width)
    body = _rows_below(table, header)
    if len(body) != len(records):
        raise RuntimeError(f"{path}: pandas kept {len(body)} records, the field count {len(records)}")
    body["row"] = records.index
    body["sheet"] = ""
    return body[(records == width).to_numpy()][[*required, "row", "sheet"]]


def record_widths(text: str, width: int) -> pd.Series:
    """Fields per record (index: record number, header = 1) of the records pandas keeps: non-blank, at most
    `width` fields. pandas pads a shorter record silently; the contract quarantines it, hence this count."""
    if '"' in text:  # quoted fields may hold commas and line breaks: let the csv module split records
        records = [
            (n, len(r), any(v.strip(HEADER_SPACES) for v in r))
            for n, r in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        ]
        counts = pd.DataFrame(records, columns=["row", "fields", "filled"]).set_index("row")
    else:
        lines = pd.Series(re.split(r"\r\n|\r|\n", text), dtype="str")
        lines.index += 1
        counts = pd.DataFrame(
            {"fields": lines.str.count(",") + 1, "filled": lines.str.replace(",", "").str.strip(HEADER_SPACES) != ""}
        )
    counts = counts.iloc[1:]
    return counts.loc[counts["filled"] & (counts["fields"] <= width), "fields"]


def read_xlsx_feed(path: Path, required: list[str]) -> pd.DataFrame:
    """Every sheet whose first row holds the feed header, as all-text columns with `row` and `sheet`."""
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=str)
    except Exception as err:  # a corrupt workbook, whatever the reader raises
        raise FileRejected(f"unreadable workbook: {err}") from err
    frames = []
    for name, table in sheets.items():
        if table.empty:
            continue
        header = [clean_header(h) for h in table.iloc[0]]
        if not set(required) <= set(header):
            continue
        body = _rows_below(table.assign(row=np.arange(1, len(table) + 1)), [*header, "row"])
        body["sheet"] = name
        frames.append(body[[*required, "row", "sheet"]])
    if not frames:
        raise FileRejected("no sheet holds the header")
    return pd.concat(frames, ignore_index=True)


def read_tabular_feed(landing: Path, folder: str, extensions: tuple[str, ...], required: list[str]) -> pd.DataFrame:
    """All delivered rows of a CSV/xlsx feed, with `file` (delivery rank), `row`, `sheet` and `seq` (read order)."""
    frames = []
    for rank, path in enumerate(delivered_files(landing, folder, extensions)):
        try:
            if path.name.lower().endswith(".xlsx"):
                frame = read_xlsx_feed(path, required)
            else:
                frame = read_csv_feed(path, required)
        except FileRejected:
            continue
        frames.append(frame.assign(file=rank))
    if not frames:
        return pd.DataFrame(columns=[*required, "row", "sheet", "file", "seq"])
    rows = pd.concat(frames, ignore_index=True)
    rows["seq"] = np.arange(len(rows))
    return rows


# -------------------------------------------------------------------------------------------------- statistics

STAT_INDICATORS = {  # 指标名称 → (code, unit kind)
    "地区生产总值": ("GDP", "money"),
    "高新技术产业增加值": ("HT_VALUE_ADDED", "money"),
    "全社会研发经费支出": ("RD_EXPENDITURE", "money"),
    "常住人口": ("POPULATION", "persons"),
    "高新技术企业数": ("HT_ENTERPRISES", "count"),
    "发明专利拥有量": ("INVENTION_PATENTS", "count"),
    "技术合同成交额": ("TECH_CONTRACT_TURNOVER", "money"),
    "地方财政科技支出": ("FISCAL_ST_EXPENDITURE", "money"),
    "一般公共预算支出": ("FISCAL_EXPENDITURE", "money"),
    "输变电产业产值": ("OUTPUT_POWER_EQUIPMENT", "money"),
    "大数据产业营业收入": ("REVENUE_BIG_DATA", "money"),
    "金融商贸业增加值": ("VA_FINANCE_COMMERCE", "money"),
    "健康文旅产业营业收入": ("REVENUE_HEALTH_TOURISM", "money"),
}
STAT_UNITS = {  # 计量单位 → (kind, factor to base units)
    "元": ("money", Decimal(1)),
    "万元": ("money", Decimal(10_000)),
    "亿元": ("money", Decimal(100_000_000)),
    "人": ("persons", Decimal(1)),
    "万人": ("persons", Decimal(10_000)),
    "家": ("count", Decimal(1)),
    "个": ("count", Decimal(1)),
    "件": ("count", Decimal(1)),
    "%": ("ratio", Decimal("0.01")),
}
BASE_UNIT = {"money": "yuan", "persons": "persons", "count": "count"}
STAT_HEADER = ["地区代码", "指标名称", "计量单位", "统计期", "数值", "数据状态"]
STATUSES = ["快报", "初步核实", "最终核实"]


def indicator_name(text: str) -> str:
    """`地区生产总值（亿元）` → `地区生产总值`: full-width parentheses made half-width, parenthesised parts dropped."""
    name = text.replace("（", "(").replace("）", ")")
    while (shorter := re.sub(r"\([^()]*\)", "", name)) != name:
        name = shorter
    return name.strip(SPACES)


def period_key(text: str) -> tuple[str, str] | tuple[None, None]:
    """统计期 → (`2020` or `2020-03`, year|month): 2020, 2020年, 2020-03, 2020年3月, 2020年1-3月."""
    if m := re.fullmatch(r"([0-9]{4})年?", text):
        return (m[1], "year") if 1949 <= int(m[1]) <= 2100 else (None, None)
    m = re.fullmatch(r"([0-9]{4})-([0-9]{2})", text) or re.fullmatch(r"([0-9]{4})年([0-9]{1,2})月", text)
    year, month = (m[1], m[2]) if m else (None, None)
    if m is None and (m := re.fullmatch(r"([0-9]{4})年(0?1)-([0-9]{1,2})月", text)):
        year, month = m[1], m[3]
    if year is None or not (1949 <= int(year) <= 2100 and 1 <= int(month) <= 12):
        return None, None
    return f"{year}-{int(month):02d}", "month"


def statistics_current(landing: Path, region_codes: set[str]) -> pd.DataFrame:
    """Current value of each (region, indicator, period): the latest delivered valid row with a value."""
    rows = read_tabular_feed(landing, "statistics", (".csv", ".xlsx"), STAT_HEADER)
    region = strip(rows["地区代码"])
    name = strip(rows["指标名称"])
    unit = strip(rows["计量单位"])
    period_text = strip(rows["统计期"])
    value_text = strip(rows["数值"])
    status = strip(rows["数据状态"]).replace("", "快报")

    names = {n: STAT_INDICATORS.get(indicator_name(n)) for n in name.unique()}
    code = name.map({n: i[0] for n, i in names.items() if i})
    wanted_kind = name.map({n: i[1] for n, i in names.items() if i})
    kind = unit.map({u: k for u, (k, _) in STAT_UNITS.items()})
    factor = unit.map({u: float(f) for u, (_, f) in STAT_UNITS.items()})
    periods = {p: period_key(p) for p in period_text.unique()}
    period = period_text.map({p: k for p, (k, _) in periods.items()})
    period_type = period_text.map({p: t for p, (_, t) in periods.items()})

    is_number = value_text.str.fullmatch(DECIMAL)
    number = pd.to_numeric(value_text.where(is_number).str.replace(",", "", regex=False), errors="coerce")
    missing = value_text.isin(MISSING_MARKS)
    value = number * factor + 0.0
    bad = (
        ~region.isin(region_codes)
        | code.isna()
        | kind.isna()
        | (kind == "ratio")
        | (kind != wanted_kind)
        | period.isna()
        | (is_number & (number < 0))
        | ~(missing | is_number)
        | (is_number & ~np.isfinite(value))
        | ~status.isin(STATUSES)
    )
    vintages = pd.DataFrame(
        {
            "region_code": region,
            "indicator_code": code,
            "period": period,
            "period_type": period_type,
            "value": value.where(~missing),
            "unit": wanted_kind.map(BASE_UNIT),
            "file": rows["file"],
            "row": rows["row"],
            "sheet": rows["sheet"],
        }
    )[~bad]
    return (
        vintages.dropna(subset=["value"])
        .sort_values(["file", "row", "sheet"], kind="stable")
        .drop_duplicates(["region_code", "indicator_code", "period"], keep="last")
    )


def statistics_indicators(current: pd.DataFrame) -> list[pd.DataFrame]:
    published = current.assign(dimension="total", member="total")[OUTPUT_COLUMNS]
    annual = current[current["period_type"] == "year"].pivot_table(
        index=["region_code", "period"], columns="indicator_code", values="value", aggfunc="max"
    )
    derived = []
    for code, numerator, denominator, scale, unit in [
        ("RD_INTENSITY", "RD_EXPENDITURE", "GDP", 1.0, "ratio"),
        ("HT_VA_SHARE", "HT_VALUE_ADDED", "GDP", 1.0, "ratio"),
        ("PATENTS_PER_10K", "INVENTION_PATENTS", "POPULATION", 10_000.0, "per_10k"),
        ("FISCAL_ST_SHARE", "FISCAL_ST_EXPENDITURE", "FISCAL_EXPENDITURE", 1.0, "ratio"),
    ]:
        if numerator not in annual or denominator not in annual:
            continue
        ratio = annual[numerator] / (annual[denominator] / scale).replace(0.0, np.nan)
        derived.append(
            ratio.rename("value")
            .reset_index()
            .assign(indicator_code=code, period_type="year", dimension="total", member="total", unit=unit)
        )
    return [published, *[d[OUTPUT_COLUMNS] for d in derived]]


# --------------------------------------------------------------------------------------------------- rd filings

RD_HEADER = [
    "填报编号",
    "统一社会信用代码",
    "企业名称",
    "所属街道代码",
    "所属产业",
    "年度",
    "研发费用(万元)",
    "研发人员(人)",
    "主营业务收入(万元)",
    "新产品销售收入(万元)",
    "发明专利申请(件)",
    "发明专利授权(件)",
    "高新技术企业证书编号",
    "填报时间",
    "更正原填报编号",
]
RD_MONEY = ["研发费用(万元)", "主营业务收入(万元)", "新产品销售收入(万元)"]
RD_COUNTS = ["研发人员(人)", "发明专利申请(件)", "发明专利授权(件)"]
INDUSTRIES = ["输变电", "大数据", "金融商贸", "健康文旅", "其他"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_ok(code: str) -> bool:
    """GB 32100-2015: 18 characters of the alphabet, the last the check character of the first 17."""
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        return False
    total = sum(w * USCC_ALPHABET.index(c) for w, c in zip(USCC_WEIGHTS, code[:17], strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def rd_current_filings(landing: Path, street_codes: set[str]) -> pd.DataFrame:
    """Valid filings, first delivery of each 填报编号 only, then the current filing of each enterprise-year."""
    rows = read_tabular_feed(landing, "rd_filings", (".csv", ".xlsx"), RD_HEADER)
    text = {name: strip(rows[name]) for name in RD_HEADER}
    credit = text["统一社会信用代码"]
    year_text = text["年度"]
    year = pd.to_numeric(year_text.where(year_text.str.fullmatch(r"[0-9]{1,6}")), errors="coerce")
    this_year = datetime.now(SHANGHAI).year
    numbers = {}
    bad = (
        (text["填报编号"] == "")
        | ~credit.map({c: uscc_ok(c) for c in credit.unique()}).astype(bool)
        | ~text["所属街道代码"].isin(street_codes)
        | ~text["所属产业"].isin(INDUSTRIES)
        | ~year.between(2000, this_year)
    )
    for name in RD_MONEY + RD_COUNTS:
        shaped = text[name].str.fullmatch(DECIMAL)
        number = pd.to_numeric(text[name].where(shaped).str.replace(",", "", regex=False), errors="coerce")
        bad |= number.isna() | (number < 0) | ~np.isfinite(number)
        if name in RD_COUNTS:
            bad |= number % 1 != 0
        numbers[name] = number + 0.0
    certificate = text["高新技术企业证书编号"]
    bad |= (certificate != "") & ~certificate.str.fullmatch(r"GR[0-9]{12}")
    submitted_text = text["填报时间"]
    submitted = pd.to_datetime(
        submitted_text.where(submitted_text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")),
        format="%Y-%m-%d %H:%M:%S",
        errors="coerce",
    ).fillna(
        pd.to_datetime(
            submitted_text.where(submitted_text.str.fullmatch(r"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}")),
            format="%Y/%m/%d %H:%M",
            errors="coerce",
        )
    )
    bad |= submitted.isna()
    filings = pd.DataFrame(
        {
            "filing_id": text["填报编号"],
            "credit_code": credit,
            "street_code": text["所属街道代码"],
            "industry": text["所属产业"],
            "filing_year": year,
            "rd_expense_wan_yuan": numbers["研发费用(万元)"],
            "rd_personnel": numbers["研发人员(人)"],
            "revenue_wan_yuan": numbers["主营业务收入(万元)"],
            "has_certificate": certificate != "",
            "submitted_at": submitted,
            "file": rows["file"],
            "row": rows["row"],
            "sheet": rows["sheet"],
            "seq": rows["seq"],
        }
    )[~bad]
    # A 填报编号 delivered again adds nothing: an exact re-delivery is dropped, a changed one is a conflict.
    filings = filings.sort_values("seq").drop_duplicates("filing_id", keep="first")
    return filings.sort_values(["submitted_at", "file", "row", "sheet"], kind="stable").drop_duplicates(
        ["credit_code", "filing_year"], keep="last"
    )


# ---------------------------------------------------------------------------------------- disclosure control


def disclosure_rules(path: Path = DISCLOSURE_RULES) -> dict[str, Decimal]:
    rules = {name: Decimal(value) for name, value in DISCLOSURE_DEFAULTS.items()}
    if path.exists():
        seed = pd.read_csv(path, dtype=str)
        rules.update({name: Decimal(seed[name].iloc[0]) for name in rules if name in seed.columns})
    return rules


def conf_status(current: pd.DataFrame, rules: dict[str, Decimal]) -> pd.DataFrame:
    """conf_status of every ENT_RD_EXPENDITURE, ENT_RD_PERSONNEL and ENT_RD_INTENSITY cell (PUBLISHING.md §1):
    A below min_contributors, O when the n largest contributions exceed k % of a non-zero sum, D for secondary
    suppression in the additive groups (streets + total, industries + total) to the fixed point, and intensity
    withheld with its expenditure. Sums are exact integers (0.01 yuan; persons)."""
    current = current.assign(period=current["filing_year"].astype(int).astype(str))
    cells = pd.concat(
        [
            current.assign(region_code=DISTRICT, dimension="total", member="total"),
            current.assign(region_code=current["street_code"], dimension="total", member="total"),
            current.assign(region_code=DISTRICT, dimension="industry", member=current["industry"]),
        ],
        ignore_index=True,
    )
    fen = (cells["rd_expense_wan_yuan"] * 1_000_000).round().astype("int64")
    contributions = pd.concat(
        [
            cells.assign(indicator_code="ENT_RD_EXPENDITURE", contribution=fen),
            cells.assign(indicator_code="ENT_RD_PERSONNEL", contribution=cells["rd_personnel"].astype("int64")),
            cells.assign(indicator_code="ENT_RD_INTENSITY", contribution=fen)[cells["revenue_wan_yuan"] > 0],
        ],
        ignore_index=True,
    )
    key = ["indicator_code", "period", "region_code", "dimension", "member"]
    n = int(rules["dominance_n"])
    grouped = contributions.groupby(key)["contribution"]
    status = grouped.agg(contributors="size", units="sum").reset_index()
    status["largest"] = grouped.apply(lambda c: int(c.nlargest(n).sum())).to_numpy()
    k = rules["dominance_k_percent"]
    status["conf_status"] = [
        "A" if count < rules["min_contributors"] else ("O" if units > 0 and largest * 100 > k * units else "F")
        for count, units, largest in zip(status["contributors"], status["units"], status["largest"], strict=True)
    ]
    records = status.to_dict("records")
    by_indicator_year: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        by_indicator_year.setdefault((record["indicator_code"], record["period"]), []).append(record)
    for (indicator, _), group in by_indicator_year.items():
        if indicator != "ENT_RD_INTENSITY":
            suppress_secondary(group, rules["protection_percent"])
    withheld_spend = {
        (r["period"], r["region_code"], r["dimension"], r["member"])
        for r in records
        if r["indicator_code"] == "ENT_RD_EXPENDITURE" and r["conf_status"] != "F"
    }
    for r in records:
        same_key = (r["period"], r["region_code"], r["dimension"], r["member"])
        if r["indicator_code"] == "ENT_RD_INTENSITY" and r["conf_status"] == "F" and same_key in withheld_spend:
            r["conf_status"] = "D"
    return pd.DataFrame(records)[[*key, "conf_status"]]


def suppress_secondary(cells: list[dict], protection_percent: Decimal) -> None:
    """D cells for one additive indicator and year, in place: visit the street group, then the industry group,
    until a round changes nothing; one cell per group and visit."""
    groups = [
        [c for c in cells if c["dimension"] == "total"],  # district total and streets
        [c for c in cells if c["region_code"] == DISTRICT],  # district total and industries
    ]
    changed = True
    while changed:
        changed = False
        for group in groups:
            withheld = [c for c in group if c["conf_status"] != "F"]
            free = [c for c in group if c["conf_status"] == "F"]
            hidden = sum(c["units"] for c in withheld)
            exposed = [
                c["units"]
                for c in withheld
                if c["conf_status"] in ("A", "O") and c["units"] * protection_percent > (hidden - c["units"]) * 100
            ]
            target = withheld[0]["units"] if len(withheld) == 1 else (max(exposed) if exposed else None)
            if target is None or not free:
                continue
            enough = sorted(
                (c for c in free if c["units"] * 100 >= target * protection_percent),
                key=lambda c: (c["units"], c["region_code"], c["member"]),
            )
            pick = enough[0] if enough else sorted(free, key=lambda c: (-c["units"], c["region_code"], c["member"]))[0]
            pick["conf_status"] = "D"
            changed = True


def enterprise_indicators(current: pd.DataFrame) -> list[pd.DataFrame]:
    current = current.assign(
        rd_expense_yuan=current["rd_expense_wan_yuan"] * 10_000,
        with_revenue=current["revenue_wan_yuan"] > 0,
        period=current["filing_year"].astype(int).astype(str),
    )
    current["intensity_rd_yuan"] = current["rd_expense_yuan"].where(current["with_revenue"])
    current["intensity_revenue_yuan"] = (current["revenue_wan_yuan"] * 10_000).where(current["with_revenue"])
    current["certified"] = current["credit_code"].where(current["has_certificate"])
    breakdowns = pd.concat(
        [
            current.assign(region_code=DISTRICT, dimension="total", member="total"),
            current.assign(region_code=current["street_code"], dimension="total", member="total"),
            current.assign(region_code=DISTRICT, dimension="industry", member=current["industry"]),
        ],
        ignore_index=True,
    )
    stats = (
        breakdowns.groupby(["period", "region_code", "dimension", "member"])
        .agg(
            ENT_RD_EXPENDITURE=("rd_expense_yuan", "sum"),
            ENT_RD_PERSONNEL=("rd_personnel", "sum"),
            numerator=("intensity_rd_yuan", "sum"),
            denominator=("intensity_revenue_yuan", "sum"),
            ENT_HT_CERTIFIED=("certified", "nunique"),
        )
        .reset_index()
    )
    stats["ENT_RD_INTENSITY"] = stats["numerator"] / stats["denominator"].replace(0.0, np.nan)
    units = {
        "ENT_RD_EXPENDITURE": "yuan",
        "ENT_RD_PERSONNEL": "persons",
        "ENT_RD_INTENSITY": "ratio",
        "ENT_HT_CERTIFIED": "count",
    }
    long = stats.melt(
        id_vars=["period", "region_code", "dimension", "member"],
        value_vars=list(units),
        var_name="indicator_code",
        value_name="value",
    )
    return [long.assign(period_type="year", unit=long["indicator_code"].map(units))[OUTPUT_COLUMNS]]


# ------------------------------------------------------------------------------------------------- JSON Lines


def jsonl_chunks(path: Path, fields: list[str]) -> Iterator[pd.DataFrame]:
    """The objects of a JSON Lines file (plain or gzip), a chunk of lines at a time, as columns `fields`.

    Lines that are not a JSON object are left out (quarantined). Raises FileRejected when the file is not
    readable gzip, not UTF-8 or holds no line: the caller then drops what it read of the file.
    """
    is_gz = path.name.lower().endswith(".gz")
    if not is_gz:
        with open(path, "rb") as handle:
            if handle.read(2) == b"\x1f\x8b":
                raise FileRejected("gzip data named .jsonl")
    first = True
    any_line = False
    try:
        with (
            gzip.open(path, "rb") if is_gz else open(path, "rb") as raw,
            io.TextIOWrapper(raw, encoding="utf-8", newline="\n") as handle,
        ):
            while lines := handle.readlines(JSONL_CHUNK_CHARS):
                if first and lines[0].startswith("\ufeff"):
                    lines[0] = lines[0][1:]
                first = False
                objects = []
                for line in lines:
                    if line.isspace() or not line:
                        continue
                    any_line = True
                    try:
                        obj = _loads(line)
                    except ValueError:
                        continue
                    if type(obj) is dict:
                        objects.append(obj)
                yield pd.DataFrame(objects, columns=fields)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as err:
        raise FileRejected(f"unreadable: {err}") from err
    if not any_line:
        raise FileRejected("empty file")


def _text_of(value: object, strict: bool) -> tuple[object, bool]:
    """How the pipeline reads a JSON value as text: (text or None, offends)."""
    if value is None or isinstance(value, str):
        return value, False
    if isinstance(value, float) and np.isnan(value):  # a field absent from every line of a chunk
        return None, False
    if isinstance(value, bool):
        return (None, True) if strict else (json.dumps(value), False)
    if isinstance(value, int):
        return str(value), False
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value)), False
    return (None, True) if strict else (json.dumps(value, ensure_ascii=False), False)


def text_field(series: pd.Series, strict: bool = False) -> tuple[pd.Series, pd.Series]:
    """(stripped text, empty as missing; offending) — integers count as their digits; `strict`: ids."""
    if isinstance(series.dtype, pd.StringDtype):
        text, bad = series, pd.Series(False, index=series.index)
    else:
        pairs = [_text_of(v, strict) for v in series.tolist()]
        text = pd.Series([t for t, _ in pairs], index=series.index, dtype="str")
        bad = pd.Series([b for _, b in pairs], index=series.index, dtype=bool)
    text = text.str.strip()
    return text.where(text != ""), bad


def _int_of(value: object) -> tuple[float, bool]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan, False
    if isinstance(value, bool) or not isinstance(value, int | float):
        return np.nan, True
    if isinstance(value, float) and not value.is_integer():
        return np.nan, True
    if not -(2**63) <= value < 2**63:
        return np.nan, True
    return float(value), False


def int_field(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(JSON integer as float, offending): 5.0 is 5; strings, booleans and fractions offend."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        values = series.astype("float64")
        bad = values.notna() & (values % 1 != 0)
        return values.where(~bad), bad
    pairs = [_int_of(v) for v in series.tolist()]
    return (
        pd.Series([v for v, _ in pairs], index=series.index, dtype="float64"),
        pd.Series([b for _, b in pairs], index=series.index, dtype=bool),
    )


def number_offends(series: pd.Series) -> pd.Series:
    """A JSON number or null is fine; a string or boolean offends (coordinates)."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return pd.Series(False, index=series.index)
    return series.map(lambda v: v is not None and (isinstance(v, bool) or not isinstance(v, int | float)))


ISO_SHAPE = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
)
HAS_OFFSET = r"(?:Z|[+-][0-9]{2}:?[0-9]{2})$"


def timestamp_field(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 → naive Asia/Shanghai (an offset is converted, none means Shanghai); (times, offending)."""
    if isinstance(series.dtype, pd.StringDtype):
        text, bad = series, pd.Series(False, index=series.index)
    else:
        is_text = series.map(lambda v: isinstance(v, str))
        text = series.where(is_text).astype("str")
        bad = series.notna() & ~is_text
    text = text.str.strip()
    text = text.where(text != "")
    shaped = text.str.fullmatch(ISO_SHAPE).fillna(False).astype(bool)
    offset = shaped & text.str.contains(HAS_OFFSET).fillna(False).astype(bool)
    local = pd.to_datetime(text.where(shaped & ~offset), format="ISO8601", errors="coerce")
    utc = pd.to_datetime(
        text.where(offset).str.replace(r"Z$", "+00:00", regex=True), format="ISO8601", utc=True, errors="coerce"
    )
    moments = local.astype("datetime64[us]").fillna(
        (utc.dt.tz_localize(None) + pd.Timedelta(hours=8)).astype("datetime64[us]")
    )
    bad |= text.notna() & moments.isna()
    return moments, bad


def read_jsonl_feed(landing: Path, folder: str, fields: list[str], validate) -> pd.DataFrame:
    """Valid records of every delivered file, in delivery order; a rejected file adds nothing."""
    frames = []
    for path in delivered_files(landing, folder, (".jsonl", ".jsonl.gz")):
        parts = []
        try:
            for chunk in jsonl_chunks(path, fields):
                parts.append(validate(chunk))
        except FileRejected:
            continue
        frames.extend(parts)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------------------- gov services

GS_FIELDS = [
    "event_id",
    "case_id",
    "event_type",
    "occurred_at",
    "department",
    "channel",
    "applicant_type",
    "visits",
    "promised_days",
    "rating",
]
EVENT_TYPES = pd.CategoricalDtype(["submitted", "accepted", "completed", "rejected", "rated"])
CHANNELS = pd.CategoricalDtype(["online", "app", "window", "self_service"])
APPLICANT_TYPES = ["person", "enterprise"]


def valid_gov_events(raw: pd.DataFrame) -> pd.DataFrame:
    """The contract's line rules; valid events keep only what the indicators need, in compact dtypes."""
    event_id, bad = text_field(raw["event_id"], strict=True)
    case_id, bad_case = text_field(raw["case_id"], strict=True)
    event_type, _ = text_field(raw["event_type"])
    occurred_at, bad_time = timestamp_field(raw["occurred_at"])
    department, _ = text_field(raw["department"])
    channel, _ = text_field(raw["channel"])
    applicant_type, _ = text_field(raw["applicant_type"])
    visits, bad_visits = int_field(raw["visits"])
    promised_days, bad_promised = int_field(raw["promised_days"])
    rating, bad_rating = int_field(raw["rating"])
    bad = (
        bad
        | bad_case
        | event_id.isna()
        | case_id.isna()
        | ~event_type.isin(EVENT_TYPES.categories)
        | occurred_at.isna()
        | bad_time
        | (channel.notna() & ~channel.isin(CHANNELS.categories))
        | (applicant_type.notna() & ~applicant_type.isin(APPLICANT_TYPES))
        | bad_visits
        | (visits < 0)
        | bad_promised
        | (promised_days < 1)
        | bad_rating
        | (rating < 1)
        | (rating > 5)
    )
    kind = event_type.where(event_type.isin(EVENT_TYPES.categories)).astype(EVENT_TYPES)
    number = visits.where(kind == "completed", promised_days.where(kind == "accepted", rating))
    submitted = kind == "submitted"
    events = pd.DataFrame(
        {
            "event_id": event_id,
            "case_id": case_id,
            "event_type": kind,
            "occurred_at": occurred_at,
            "number": number,  # visits (completed), promised_days (accepted) or rating (rated)
            "department": department.where(submitted),
            "channel": channel.where(submitted & channel.isin(CHANNELS.categories)).astype(CHANNELS),
        }
    )
    return events[~bad.to_numpy()]


def gov_service_indicators(landing: Path) -> list[pd.DataFrame]:
    events = read_jsonl_feed(landing, "gov_services", GS_FIELDS, valid_gov_events)
    events = events.drop_duplicates("event_id", keep="first").drop(columns="event_id")  # first delivered copy
    events["case"] = pd.factorize(events.pop("case_id"))[0]

    def first_of(chosen: pd.DataFrame, keep: str = "first") -> pd.DataFrame:
        """Per case, the event with the earliest (keep=last: latest) occurred_at; equal times by delivery order."""
        return chosen.sort_values("occurred_at", kind="stable").drop_duplicates("case", keep=keep).set_index("case")

    kind = events["event_type"]
    submissions = first_of(events[kind == "submitted"])
    acceptances = first_of(events[kind == "accepted"])
    completions = first_of(events[kind == "completed"])
    ratings = first_of(events[(kind == "rated") & events["number"].notna()], keep="last")  # a rating has a value
    del events, kind

    submitted = pd.DataFrame(
        {
            "period": submissions["occurred_at"].dt.to_period("M"),
            "department": submissions["department"],
            "online": submissions["channel"].isin(["online", "app"]),
        }
    )
    completed = pd.DataFrame(
        {
            "period": completions["occurred_at"].dt.to_period("M"),
            "department": submissions["department"].reindex(completions.index),
            "visits": completions["number"],
        }
    )
    accepted_at = acceptances["occurred_at"].reindex(completions.index)
    promised_days = acceptances["number"].reindex(completions.index)
    rating = ratings["number"].reindex(completions.index)
    deadline = accepted_at + pd.to_timedelta(promised_days * 24, unit="h")
    deadline_known = accepted_at.notna() & promised_days.notna()
    completed["one_visit"] = completed["visits"] <= 1
    completed["zero_visit"] = completed["visits"] == 0
    completed["deadline_known"] = deadline_known
    completed["on_time"] = deadline_known & (completions["occurred_at"] <= deadline)
    completed["processing_days"] = (completions["occurred_at"] - accepted_at) / pd.Timedelta(days=1)
    completed["rated"] = rating.notna()
    completed["satisfied"] = rating >= 4

    def by_member(frame: pd.DataFrame, **aggregations) -> pd.DataFrame:
        total = frame.groupby("period").agg(**aggregations).reset_index().assign(dimension="total", member="total")
        departments = (
            frame.groupby(["period", "department"], observed=True)
            .agg(**aggregations)
            .reset_index()
            .rename(columns={"department": "member"})
            .assign(dimension="department")
        )
        return pd.concat([total, departments], ignore_index=True)

    sub = by_member(submitted, cases=("online", "size"), online=("online", "sum"))
    comp = by_member(
        completed,
        cases=("visits", "size"),
        one_visit=("one_visit", "sum"),
        zero_visit=("zero_visit", "sum"),
        deadline_known=("deadline_known", "sum"),
        on_time=("on_time", "sum"),
        processing_days=("processing_days", "mean"),
        rated=("rated", "sum"),
        satisfied=("satisfied", "sum"),
    )
    values = {
        "GS_CASES_SUBMITTED": (sub, sub["cases"], "count"),
        "GS_ONLINE_SHARE": (sub, sub["online"] / sub["cases"], "ratio"),
        "GS_CASES_COMPLETED": (comp, comp["cases"], "count"),
        "GS_ONE_VISIT_RATE": (comp, comp["one_visit"] / comp["cases"], "ratio"),
        "GS_ZERO_VISIT_RATE": (comp, comp["zero_visit"] / comp["cases"], "ratio"),
        "GS_ON_TIME_RATE": (comp, comp["on_time"] / comp["deadline_known"].replace(0, np.nan), "ratio"),
        "GS_AVG_PROCESSING_DAYS": (comp, comp["processing_days"], "days"),
        "GS_SATISFACTION_RATE": (comp, comp["satisfied"] / comp["rated"].replace(0, np.nan), "ratio"),
    }
    out = []
    for code, (frame, value, unit) in values.items():
        out.append(
            pd.DataFrame(
                {
                    "indicator_code": code,
                    "region_code": DISTRICT,
                    "period": frame["period"].astype(str),
                    "period_type": "month",
                    "dimension": frame["dimension"],
                    "member": frame["member"].astype(str),
                    "value": value.astype("float64"),
                    "unit": unit,
                }
            )
        )
    return out


# ---------------------------------------------------------------------------------------------------- security

INCIDENT_FIELDS = [
    "incident_id",
    "received_at",
    "dispatched_at",
    "arrived_at",
    "closed_at",
    "category",
    "street_code",
    "lat",
    "lon",
    "source",
]
CATEGORIES = ["theft", "fraud", "traffic", "dispute", "fire", "violence", "other"]
SOURCES = ["call_110", "app", "camera", "patrol"]
CAMERA_HEADER = ["camera_id", "street_code", "installed_on", "status_date", "online"]


def incident_validator(street_codes: set[str]):
    def valid_incidents(raw: pd.DataFrame) -> pd.DataFrame:
        incident_id, bad = text_field(raw["incident_id"], strict=True)
        times = {
            name: timestamp_field(raw[name]) for name in ("received_at", "dispatched_at", "arrived_at", "closed_at")
        }
        category, _ = text_field(raw["category"])
        street, _ = text_field(raw["street_code"])
        source, _ = text_field(raw["source"])
        bad = (
            bad
            | incident_id.isna()
            | times["received_at"][0].isna()
            | ~category.isin(CATEGORIES)
            | ~source.isin(SOURCES)
            | ~street.isin(street_codes)
            | number_offends(raw["lat"])
            | number_offends(raw["lon"])
        )
        for _, offends in times.values():
            bad |= offends
        incidents = pd.DataFrame(
            {
                "incident_id": incident_id,
                "received_at": times["received_at"][0],
                "arrived_at": times["arrived_at"][0],
                "category": category,
                "street_code": street,
            }
        )
        return incidents[~bad.to_numpy()]

    return valid_incidents


def security_indicators(landing: Path, street_codes: set[str], population: pd.DataFrame) -> list[pd.DataFrame]:
    records = read_jsonl_feed(landing, "security/incidents", INCIDENT_FIELDS, incident_validator(street_codes))
    incidents = records.drop_duplicates("incident_id", keep="last")  # the later delivered valid record
    incidents = incidents.assign(
        period=incidents["received_at"].dt.to_period("M").astype(str),
        response_min=(incidents["arrived_at"] - incidents["received_at"]) / pd.Timedelta(minutes=1),
    )
    by_region = pd.concat(
        [incidents.assign(region_code=incidents["street_code"]), incidents.assign(region_code=DISTRICT)],
        ignore_index=True,
    )
    by_region["within_15"] = by_region["response_min"] <= 15.0
    stats = (
        by_region.groupby(["period", "region_code"])
        .agg(
            incidents=("incident_id", "size"),
            arrived=("response_min", "count"),
            within_15=("within_15", "sum"),
            median=("response_min", "median"),
        )
        .reset_index()
    )
    categories = incidents.groupby(["period", "category"]).size().rename("incidents").reset_index()
    stats["year"] = stats["period"].str[:4]
    with_population = stats.merge(population, on=["region_code", "year"], how="inner")

    def shaped(frame: pd.DataFrame, code: str, value: pd.Series, unit: str, breakdown: str | None = None):
        return pd.DataFrame(
            {
                "indicator_code": code,
                "region_code": frame.get("region_code", DISTRICT),
                "period": frame["period"],
                "period_type": "month",
                "dimension": breakdown or "total",
                "member": frame[breakdown] if breakdown else "total",
                "value": value.astype("float64"),
                "unit": unit,
            }
        )

    out = [
        shaped(stats, "SEC_INCIDENTS", stats["incidents"], "count"),
        shaped(categories, "SEC_INCIDENTS", categories["incidents"], "count", breakdown="category"),
        shaped(
            with_population,
            "SEC_INCIDENTS_PER_10K",
            with_population["incidents"] / (with_population["population"] / 10_000.0),
            "per_10k",
        ),
        shaped(stats, "SEC_MEDIAN_RESPONSE_MIN", stats["median"], "minutes"),
        shaped(stats, "SEC_RESPONSE_15MIN_RATE", stats["within_15"] / stats["arrived"].replace(0, np.nan), "ratio"),
    ]

    rows = read_tabular_feed(landing, "security/cameras", (".csv",), CAMERA_HEADER)
    text = {name: strip(rows[name]) for name in CAMERA_HEADER}
    date_shape = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    status_date = pd.to_datetime(
        text["status_date"].where(text["status_date"].str.fullmatch(date_shape)), format="%Y-%m-%d", errors="coerce"
    )
    installed = pd.to_datetime(
        text["installed_on"].where(text["installed_on"].str.fullmatch(date_shape)), format="%Y-%m-%d", errors="coerce"
    )
    bad = (
        (text["camera_id"] == "")
        | ~text["street_code"].isin(street_codes)
        | status_date.isna()
        | ((text["installed_on"] != "") & installed.isna())
        | ~text["online"].isin(["0", "1"])
    )
    camera_days = (
        pd.DataFrame(
            {
                "camera_id": text["camera_id"],
                "status_date": text["status_date"],
                "street_code": text["street_code"],
                "online": text["online"] == "1",
                "file": rows["file"],
                "row": rows["row"],
            }
        )[~bad]
        .sort_values(["file", "row"], kind="stable")
        .drop_duplicates(["camera_id", "status_date"], keep="last")  # the later delivered row wins
    )
    camera_days["period"] = camera_days["status_date"].str[:7]
    cameras = (
        pd.concat(
            [
                camera_days.assign(region_code=camera_days["street_code"]),
                camera_days.assign(region_code=DISTRICT),
            ],
            ignore_index=True,
        )
        .groupby(["period", "region_code"])
        .agg(cameras=("camera_id", "nunique"), days=("online", "size"), online=("online", "sum"))
        .reset_index()
    )
    out.append(shaped(cameras, "SEC_CAMERAS", cameras["cameras"], "count"))
    out.append(shaped(cameras, "SEC_CAMERA_ONLINE_RATE", cameras["online"] / cameras["days"], "ratio"))
    return out


# -------------------------------------------------------------------------------------------------------- main


def compute(landing: Path, regions_csv: Path) -> pd.DataFrame:
    regions = pd.read_csv(regions_csv, dtype=str)
    region_codes = set(regions["region_code"])
    street_codes = {code for code in region_codes if len(code) == 12}

    current = statistics_current(landing, region_codes)
    population = current.loc[
        (current["indicator_code"] == "POPULATION") & (current["period_type"] == "year") & (current["value"] > 0),
        ["region_code", "period", "value"],
    ].rename(columns={"period": "year", "value": "population"})
    filings = rd_current_filings(landing, street_codes)
    parts = [
        *statistics_indicators(current),
        *enterprise_indicators(filings),
        *gov_service_indicators(landing),
        *security_indicators(landing, street_codes, population),
    ]
    values = pd.concat(parts, ignore_index=True)
    values = values[np.isfinite(values["value"])]
    values = values.astype({c: "str" for c in OUTPUT_COLUMNS if c != "value"})
    # disclosure control: a withheld cell keeps its row, with its code and without its value
    status = conf_status(filings, disclosure_rules())
    values = values.merge(status, on=["indicator_code", "period", "region_code", "dimension", "member"], how="left")
    values["conf_status"] = values["conf_status"].fillna("F")
    values["value"] = values["value"].where(values["conf_status"] == "F")
    return values.reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.baselines.pandas_indicators",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--landing", type=Path, required=True, help="the landing zone (one folder per feed)")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file to write the indicator values to")
    parser.add_argument("--regions", type=Path, default=DEFAULT_REGIONS, help="regions.csv (default: the seed)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    values = compute(args.landing, args.regions)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    values.to_parquet(args.out, index=False)
    print(f"pandas baseline: {len(values)} rows in {time.perf_counter() - started:.1f} s → {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
