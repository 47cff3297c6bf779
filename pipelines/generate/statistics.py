"""statistics/: the 统计局 indicator tables, as monthly reports, annual flash/preliminary/final tables and a
comparison table for city, province and country. Aggregates, so the volume does not scale.

Every delivered value is also recorded as a vintage here, so the manifest can state the current value of
each key the way FEEDS.md defines it (latest delivery wins; a later "not available" does not erase a number).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from .common import (
    REGION_DISTRICT,
    STREETS,
    UNKNOWN_REGION,
    Cell,
    Landing,
    Sheet,
    dec,
    with_thousands,
    write_csv,
    write_xlsx,
)

FEED = "statistics"
HEADER = ["地区代码", "指标名称", "计量单位", "统计期", "数值", "数据状态"]
ENCODINGS = ["utf-8-sig", "gb18030", "utf-8"]

# code → (指标名称, flow/stock, unit kind)
INDICATORS: dict[str, tuple[str, str, str]] = {
    "GDP": ("地区生产总值", "flow", "money"),
    "HT_VALUE_ADDED": ("高新技术产业增加值", "flow", "money"),
    "RD_EXPENDITURE": ("全社会研发经费支出", "flow", "money"),
    "POPULATION": ("常住人口", "stock", "persons"),
    "HT_ENTERPRISES": ("高新技术企业数", "stock", "count"),
    "INVENTION_PATENTS": ("发明专利拥有量", "stock", "count"),
    "TECH_CONTRACT_TURNOVER": ("技术合同成交额", "flow", "money"),
    "FISCAL_ST_EXPENDITURE": ("地方财政科技支出", "flow", "money"),
    "FISCAL_EXPENDITURE": ("一般公共预算支出", "flow", "money"),
    "OUTPUT_POWER_EQUIPMENT": ("输变电产业产值", "flow", "money"),
    "REVENUE_BIG_DATA": ("大数据产业营业收入", "flow", "money"),
    "VA_FINANCE_COMMERCE": ("金融商贸业增加值", "flow", "money"),
    "REVENUE_HEALTH_TOURISM": ("健康文旅产业营业收入", "flow", "money"),
}
UNIT_FACTOR = {"元": 1, "万元": 10**4, "亿元": 10**8, "人": 1, "万人": 10**4, "家": 1, "个": 1, "件": 1}

# Final (最终核实) annual values of Yanfeng for 2019-2022, in the unit they are delivered in.
# 2019 GDP 236.40亿 with high-tech value added at 33.8% of it; power equipment heading for 300亿 by 2022.
DISTRICT_FINAL: dict[str, tuple[str, list[str]]] = {
    "GDP": ("亿元", ["236.40", "241.87", "262.53", "276.81"]),
    "HT_VALUE_ADDED": ("亿元", ["79.90", "83.69", "94.25", "102.42"]),
    "RD_EXPENDITURE": ("亿元", ["6.20", "6.93", "7.84", "8.71"]),
    "POPULATION": ("万人", ["30.12", "30.05", "29.96", "29.88"]),
    "HT_ENTERPRISES": ("家", ["57", "66", "78", "92"]),
    "INVENTION_PATENTS": ("件", ["318", "371", "440", "523"]),
    "TECH_CONTRACT_TURNOVER": ("万元", ["31200.00", "45600.00", "62300.00", "84100.00"]),
    "FISCAL_ST_EXPENDITURE": ("万元", ["3850.00", "4210.00", "4760.00", "5320.00"]),
    "FISCAL_EXPENDITURE": ("亿元", ["18.62", "20.31", "19.84", "21.17"]),
    "OUTPUT_POWER_EQUIPMENT": ("亿元", ["180.30", "212.60", "255.10", "301.40"]),
    "REVENUE_BIG_DATA": ("亿元", ["12.46", "16.83", "22.41", "29.57"]),
    "VA_FINANCE_COMMERCE": ("亿元", ["48.21", "47.06", "52.63", "55.34"]),
    "REVENUE_HEALTH_TOURISM": ("亿元", ["21.35", "15.42", "18.93", "17.26"]),
}
ANCHOR = 2019

# Published figures (亿元, 万人) for 2020-2022; 2019 and Hengyang's are plausible values, not citations.
COMPARISON: dict[str, dict[str, tuple[str, list[str]]]] = {
    "100000": {
        "GDP": ("亿元", ["986515", "1015986", "1143670", "1210207"]),
        "RD_EXPENDITURE": ("亿元", ["22143.6", "24393.1", "27956.3", "30782.9"]),
        "POPULATION": ("万人", ["140005", "141212", "141260", "141175"]),
    },
    "430000": {
        "GDP": ("亿元", ["39752.1", "41781.5", "46063.1", "48670.4"]),
        "RD_EXPENDITURE": ("亿元", ["787.2", "898.7", "1028.9", "1175.3"]),
        "POPULATION": ("万人", ["6640.0", "6645.0", "6622.0", "6604.0"]),
    },
    "430400": {
        "GDP": ("亿元", ["3372.7", "3508.5", "3840.3", "4089.7"]),
        "RD_EXPENDITURE": ("亿元", ["70.85", "80.31", "92.66", "104.52"]),
        "POPULATION": ("万人", ["666.3", "664.5", "661.2", "658.6"]),
    },
}

# Cumulative share of the year reached by the end of each month (Spring Festival keeps Jan-Feb low).
_MONTH_WEIGHTS = [0.055, 0.045, 0.085, 0.08, 0.085, 0.09, 0.08, 0.08, 0.09, 0.085, 0.09, 0.135]
MONTHLY_FLOW = ["OUTPUT_POWER_EQUIPMENT", "FISCAL_EXPENDITURE", "FISCAL_ST_EXPENDITURE", "TECH_CONTRACT_TURNOVER"]
MONTHLY_FLOW += ["REVENUE_BIG_DATA"]
MONTHLY_STOCK = ["HT_ENTERPRISES", "INVENTION_PATENTS"]
# The indicator whose final table says "not available" although earlier tables had a number, per year.
FINAL_NOT_AVAILABLE = ["TECH_CONTRACT_TURNOVER", "REVENUE_HEALTH_TOURISM", "VA_FINANCE_COMMERCE"]


def series_value(table: dict[str, tuple[str, list[str]]], code: str, year: int) -> tuple[str, Decimal]:
    """(unit, value) of a final annual value; outside 2019-2022 extrapolated at the 2019-2022 growth rate."""
    unit, values = table[code]
    numbers = [Decimal(v) for v in values]
    places = max(0, -Decimal(values[0]).as_tuple().exponent)
    if ANCHOR <= year < ANCHOR + len(values):
        return unit, numbers[year - ANCHOR]
    growth = (numbers[-1] / numbers[0]) ** (Decimal(1) / (len(values) - 1))
    base, steps = (numbers[0], year - ANCHOR) if year < ANCHOR else (numbers[-1], year - ANCHOR - len(values) + 1)
    return unit, dec(base * growth**steps, places)


def district_final(code: str, year: int) -> tuple[str, Decimal]:
    return series_value(DISTRICT_FINAL, code, year)


@dataclass
class Row:
    """One delivered row as written, plus what ingestion should make of it."""

    region: str
    name: str
    unit: str
    period: str
    value: Cell
    status: str
    note: str = ""
    key: tuple[str, str, str] | None = None  # (region, code, period) when the row is valid
    base: Decimal | None = None  # value in base units when valid and available
    rule: str | None = None  # the planted quarantine rule, if any

    def cells(self) -> list[Cell]:
        return [self.region, self.name, self.unit, self.period, self.value, self.status]


def good(
    region: str,
    code: str,
    period: str,
    period_text: str,
    unit: str,
    value: Decimal | None,
    status: str,
    *,
    missing: str = "—",
    pad: bool = False,
    thousands: bool = False,
    numeric: bool = False,
) -> Row:
    """A valid row; `numeric` writes a number cell (xlsx), `thousands` a separated text like `412,000`."""
    name = INDICATORS[code][0]
    if pad:
        name = f" {name} "
    cell: Cell
    if value is None:
        cell = missing
    elif numeric:
        cell = value
    else:
        cell = with_thousands(value) if thousands else format(value, "f")
    base = None if value is None else value * UNIT_FACTOR[unit]
    return Row(region, name, unit, period_text, cell, status, key=(region, code, period), base=base)


def bad(rule: str, region: str, name: str, unit: str, period: str, value: Cell, status: str = "快报") -> Row:
    return Row(region, name, unit, period, value, status, rule=rule)


def monthly_text(year: int, month: int, form: str) -> str:
    if form == "dash":
        return f"{year}-{month:02d}"
    if form == "cn":
        return f"{year}年{month}月"
    return f"{year}年1-{month}月"  # cumulative-from-January form, only for months after January


def flow_form(month: int) -> str:
    return {0: "range", 1: "dash", 2: "cn"}[month % 3]


def revision_form(month: int) -> str:
    """Another form than the first delivery of that month used."""
    return {"dash": "cn", "cn": "range", "range": "dash"}[flow_form(month)]


class StatisticsWriter:
    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.rng = landing.rng(FEED)
        self.dir = landing.out_dir / FEED
        self.vintages: list[tuple[datetime, str, int, int, tuple[str, str, str], Decimal | None, str]] = []
        self.monthly_values: dict[tuple[str, int, int], Decimal] = {}
        landing.public_text += "\n".join(name for name, _, _ in INDICATORS.values()) + "\n"
        landing.public_text += "\n".join(name for name, _ in STREETS.values()) + "\n"
        landing.public_text += "中国 湖南省 衡阳市 雁峰区 " + " ".join(UNIT_FACTOR) + "\n"

    # --- writing -----------------------------------------------------------------------------------

    def _record(self, path: Path, when: datetime, sheet_index: int, sheet: str | None, rows: list[Row]) -> None:
        for number, row in enumerate(rows, start=2):
            if row.rule is not None:
                self.landing.plant(FEED, path, number, row.rule, sheet)
            elif row.key is not None:
                status = row.status or "快报"
                self.vintages.append((when, path.name, sheet_index, number, row.key, row.base, status))

    def csv(self, name: str, when: datetime, rows: list[Row], encoding: str, header: list[str] = HEADER) -> Path:
        path = self.dir / name
        write_csv(path, header, [r.cells() for r in rows], encoding)
        self._record(path, when, 0, None, rows)
        self.landing.deliver(FEED, path, when)
        return path

    def xlsx(self, name: str, when: datetime, notes: list[str], sheets: list[tuple[str, list[str], list[Row]]]) -> Path:
        """A workbook: a notes sheet (ignored by ingestion: its first row is no header), then feed sheets
        given as (sheet name, column titles as written, rows); a title outside HEADER gets the row's note."""
        path = self.dir / name
        built = [Sheet("填表说明", [[line] for line in notes])]
        for index, (sheet_name, columns, rows) in enumerate(sheets, start=1):
            order = [HEADER.index(c.strip()) if c.strip() in HEADER else None for c in columns]
            table: list[list[Cell]] = [list(columns)]
            for row in rows:
                cells = row.cells()
                table.append([cells[i] if i is not None else row.note for i in order])
            built.append(Sheet(sheet_name, table))
            self._record(path, when, index, sheet_name, rows)
        write_xlsx(path, built, when, "雁峰区统计局")
        self.landing.deliver(FEED, path, when)
        return path

    @staticmethod
    def insert(rows: list[Row], rng: random.Random, *extra: Row) -> list[Row]:
        """Slip planted rows in among the good ones, at seeded positions."""
        out = list(rows)
        for row in extra:
            out.insert(rng.randrange(1, len(out) + 1), row)
        return out

    # --- tables ------------------------------------------------------------------------------------

    def monthly(self, year: int, month: int, first: bool, file_index: int) -> None:
        rng = self.rng
        rows: list[Row] = []
        for code in MONTHLY_FLOW:
            unit, annual = district_final(code, year)
            wan = annual * UNIT_FACTOR[unit] / UNIT_FACTOR["万元"]
            share = Decimal(str(sum(_MONTH_WEIGHTS[:month]))) * dec(1 + rng.uniform(-0.015, 0.015), 4)
            key = (code, year, month)
            self.monthly_values[key] = value = dec(wan * share, 0 if code == "OUTPUT_POWER_EQUIPMENT" else 2)
            status = rng.choice(["快报", "快报", ""])
            text = monthly_text(year, month, flow_form(month))
            period = f"{year}-{month:02d}"
            if month == 1 and code == "TECH_CONTRACT_TURNOVER":
                rows.append(good(REGION_DISTRICT, code, period, text, "万元", None, status, missing="-"))
            elif month == 1 and code == "REVENUE_BIG_DATA":
                rows.append(good(REGION_DISTRICT, code, period, text, "亿元", None, status, missing="…"))
            elif code == "REVENUE_BIG_DATA":
                rows.append(good(REGION_DISTRICT, code, period, text, "亿元", dec(value / 10**4), status))
            else:
                thousands = code == "OUTPUT_POWER_EQUIPMENT" or rng.random() < 0.5
                rows.append(good(REGION_DISTRICT, code, period, text, "万元", value, status, thousands=thousands))
        for code in MONTHLY_STOCK:
            unit, level_end = district_final(code, year)
            _, level_start = district_final(code, year - 1)
            level = dec(level_start + (level_end - level_start) * month / 12, 0)
            text = monthly_text(year, month, "dash" if month % 2 else "cn")
            missing = month == 2 and code == "INVENTION_PATENTS"
            value = None if missing else level
            rows.append(good(REGION_DISTRICT, code, f"{year}-{month:02d}", text, unit, value, "快报", missing=""))
        if not first:  # revise last month's power-equipment output, in another period form
            py, pm = (year, month - 1) if month > 1 else (year - 1, 12)
            revised = dec(
                self.monthly_values[("OUTPUT_POWER_EQUIPMENT", py, pm)] * dec(1 + rng.uniform(-0.008, 0.008), 4), 0
            )
            text = monthly_text(py, pm, revision_form(pm))
            rows.append(
                good(
                    REGION_DISTRICT,
                    "OUTPUT_POWER_EQUIPMENT",
                    f"{py}-{pm:02d}",
                    text,
                    "万元",
                    revised,
                    "初步核实",
                    thousands=True,
                )
            )
        encoding = ENCODINGS[file_index % 3]
        name = f"{year}年{month:02d}月主要经济指标月报.csv"
        when = datetime(year + (month == 12), month % 12 + 1, 15, 10, rng.randrange(60))
        planted = self.monthly_plants(year, month) if file_index < 12 else []
        path = self.csv(name, when, self.insert(rows, rng, *planted), encoding)
        if file_index == 4:  # a re-sent file, byte for byte, three days later
            self.landing.redeliver(FEED, path, f"{year}年{month:02d}月主要经济指标月报(重发).csv", when.replace(day=18))

    def monthly_plants(self, year: int, month: int) -> list[Row]:
        """The first range year's monthly reports carry the bad-period, bad-unit and bad-number rows."""
        table = {
            2: [("unit_unknown", "TECH_CONTRACT_TURNOVER", "美元", f"{year}-02", "1,250")],
            3: [("period_invalid", "OUTPUT_POWER_EQUIPMENT", "万元", f"{year}Q1", "398,120")],
            4: [("period_invalid", "OUTPUT_POWER_EQUIPMENT", "万元", f"{year}年13月", "526,400")],
            5: [
                ("period_invalid", "OUTPUT_POWER_EQUIPMENT", "万元", f"{year}/03", "398,120"),
                ("value_not_number", "FISCAL_EXPENDITURE", "万元", f"{year}-05", "abc"),
            ],
            6: [("value_not_number", "FISCAL_ST_EXPENDITURE", "万元", f"{year}年6月", "12万")],
            7: [("value_not_number", "REVENUE_BIG_DATA", "亿元", f"{year}年1-7月", "1.2.3")],
        }
        return [
            bad(rule, REGION_DISTRICT, INDICATORS[code][0], unit, period, value)
            for rule, code, unit, period, value in table.get(month, [])
        ]

    def flash(self, year: int, plant: bool, file_index: int) -> None:
        """The annual flash table, late January: every indicator, most as 快报, some with empty status."""
        rng = self.rng
        rows = []
        for i, code in enumerate(INDICATORS):
            unit, final = district_final(code, year)
            places = max(0, -final.as_tuple().exponent)
            value = (
                final if INDICATORS[code][2] == "count" else dec(final * dec(1 + rng.uniform(-0.025, 0.015), 4), places)
            )
            text = f"{year}年" if i % 4 == 1 else str(year)
            status = "" if i % 3 == 2 else "快报"
            shown = None if code == "TECH_CONTRACT_TURNOVER" else value  # not yet compiled in January
            rows.append(good(REGION_DISTRICT, code, str(year), text, unit, shown, status, pad=i in (1, 7)))
        planted = []
        if plant:
            planted = [
                bad("unknown_indicator", REGION_DISTRICT, "规模以上工业增加值", "亿元", str(year), "61.35"),
                bad("unknown_region", UNKNOWN_REGION, INDICATORS["GDP"][0], "亿元", str(year), "412.08"),
                bad("unit_percent", REGION_DISTRICT, INDICATORS["HT_VALUE_ADDED"][0], "%", str(year), "33.8"),
            ]
        when = datetime(year + 1, 1, 25, 16, rng.randrange(60))
        self.csv(f"{year}年雁峰区主要指标快报.csv", when, self.insert(rows, rng, *planted), ENCODINGS[file_index % 3])

    def street_population(self, year: int, in_persons: bool, status: str) -> list[Row]:
        _, district = district_final("POPULATION", year)
        persons = int(district * 10**4)
        shares = [share for _, share in STREETS.values()]
        counts = [int(persons * s) for s in shares]
        counts[0] += persons - sum(counts)
        rows = []
        for code, count in zip(STREETS, counts, strict=True):
            if in_persons:
                rows.append(good(code, "POPULATION", str(year), str(year), "人", Decimal(count), status, numeric=True))
            else:
                rows.append(good(code, "POPULATION", str(year), str(year), "万人", dec(Decimal(count) / 10**4), status))
        return rows

    def preliminary(self, year: int, plant: bool) -> None:
        """The April workbook: a notes sheet, the district sheet (reordered, spaced, with 备注), street sheet."""
        rng = self.rng
        rows = []
        for i, code in enumerate(INDICATORS):
            unit, final = district_final(code, year)
            places = max(0, -final.as_tuple().exponent)
            same = code in ("GDP", "HT_ENTERPRISES", "POPULATION") or INDICATORS[code][2] == "count"
            value = final if same else dec(final * dec(1 + rng.uniform(-0.006, 0.006), 4), places)
            text = f"{year}年" if i % 2 else str(year)
            if code == "TECH_CONTRACT_TURNOVER":  # a number stored as text, as Excel users do
                row = good(REGION_DISTRICT, code, str(year), text, unit, value, "初步核实", thousands=True)
            else:
                row = good(REGION_DISTRICT, code, str(year), text, unit, value, "初步核实", numeric=True)
            row.note = "含新纳统企业" if code == "HT_ENTERPRISES" else ""
            rows.append(row)
        streets = self.street_population(year, in_persons=True, status="初步核实")
        if plant:
            gdp = INDICATORS["GDP"][0]
            rows = self.insert(rows, rng, bad("unit_kind_mismatch", REGION_DISTRICT, gdp, "人", str(year), 2364000))
            pop = INDICATORS["POPULATION"][0]
            streets = self.insert(streets, rng, bad("unit_kind_mismatch", "430406002000", pop, "万元", str(year), 6.02))
        notes = [
            "雁峰区统计年报（初步核实）填报说明",
            "1. 数值按计量单位列填报，数据暂缺填“—”。",
            "2. 街道人口以人为单位。",
        ]
        district_columns = [" 指标名称 ", "地区代码", "统计期 ", "计量单位", " 数值", "数据状态", "备注"]
        when = datetime(year + 1, 4, 20, 11, rng.randrange(60))
        self.xlsx(
            f"{year}年统计年报（初步核实）.xlsx",
            when,
            notes,
            [("区级指标", district_columns, rows), ("街道人口", HEADER, streets)],
        )

    def final(self, year: int, plant: bool, file_index: int) -> None:
        """December: final values in the `2020年` form; one indicator re-delivered as not available."""
        rng = self.rng
        not_available = FINAL_NOT_AVAILABLE[file_index % len(FINAL_NOT_AVAILABLE)]
        rows = []
        for code in ["GDP", "HT_VALUE_ADDED", "RD_EXPENDITURE", "POPULATION", "HT_ENTERPRISES", "INVENTION_PATENTS"]:
            unit, value = district_final(code, year)
            rows.append(good(REGION_DISTRICT, code, str(year), f"{year}年", unit, value, "最终核实"))
        unit, _ = district_final(not_available, year)
        rows.append(good(REGION_DISTRICT, not_available, str(year), f"{year}年", unit, None, "最终核实", missing="…"))
        rows += self.street_population(year, in_persons=False, status="最终核实")
        if plant:
            rd = INDICATORS["RD_EXPENDITURE"][0]
            rows = self.insert(
                rows, rng, bad("status_unknown", REGION_DISTRICT, rd, "亿元", f"{year}年", "6.20", "修订")
            )
        header = [f" {h} " for h in HEADER] if file_index % 2 == 0 else HEADER
        when = datetime(year + 1, 12, 18, 15, rng.randrange(60))
        self.csv(f"{year}年统计年报_最终核实.csv", when, rows, ENCODINGS[(file_index + 1) % 3], header)

    def comparison(self, year: int) -> None:
        """City, province and country figures for benchmarking, from the published bulletins (GB18030)."""
        rows = []
        for region, table in COMPARISON.items():
            for code in table:
                unit, value = series_value(table, code, year)
                status = "初步核实" if code == "GDP" else "最终核实"
                rows.append(good(region, code, str(year), f"{year}年", unit, value, status, thousands=value >= 10**5))
        when = datetime(year + 1, 10, 12, 9, self.rng.randrange(60))
        self.csv(f"{year}年全国及省市主要指标对比.csv", when, rows, "gb18030")

    # --- facts -------------------------------------------------------------------------------------

    def current_values(self) -> dict[str, dict[str, dict[str, float]]]:
        """region → period → code → current value in base units, replaying deliveries in FEEDS order."""
        current: dict[tuple[str, str, str], Decimal] = {}
        for *_, key, base, _status in sorted(self.vintages, key=lambda v: v[:4]):
            if base is not None:
                current[key] = base
        out: dict[str, dict[str, dict[str, float]]] = {}
        for (region, code, period), value in sorted(current.items()):
            out.setdefault(region, {}).setdefault(period, {})[code] = float(value)
        return out


def generate(landing: Landing) -> None:
    writer = StatisticsWriter(landing)
    first_year, last_year = landing.years
    index = 0
    for year in range(first_year, last_year + 1):
        for month in range(1, 13):
            writer.monthly(year, month, first=index == 0, file_index=index)
            index += 1
        y = year - first_year
        writer.flash(year, plant=y == 0, file_index=y)
        writer.preliminary(year, plant=y == 0)
        writer.final(year, plant=y == 0, file_index=y)
        writer.comparison(year)
        landing.progress(f"{FEED}: {landing.files[FEED]} files ({year})")
    landing.facts["statistics_current"] = writer.current_values()
    landing.facts["statistics_vintages"] = len(writer.vintages)
