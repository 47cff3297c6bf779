"""rd_filings/: enterprises' annual R&D returns (企业研发投入填报), in three batches a year.

Batch 1 (CSV, April) and batch 2 (workbook, May) hold the first filings; batch 3 (CSV, July) holds the
amendments, duplicate submissions, re-deliveries and most planted bad rows. The manifest's ENT facts are
computed here from the filings as generated, by the rule of FEEDS.md: the current filing of an
enterprise-year is its valid filing with the latest 填报时间.

The filers are a census of the district's enterprises, not a volume: up to scale 1 there are always
FULL_SCALE_ENTERPRISES of them, so that beside the statistics feed (which does not scale either) the demo's
figures agree. Their current filings hold about ENTERPRISE_SHARE_OF_RD of the district's 全社会研发经费支出 and
CERTIFIED_SHARE_FILING of its 高新技术企业数 file with a certificate, at every scale. Above scale 1 (benchmarks) the
filers grow in number, sharing the same totals.

Planted for disclosure control (docs/indicators.md), every year unless said otherwise:
- SPARSE_STREET (岳屏镇) has exactly SPARSE_STREET_FILERS filers, so its cells are withheld (`A`);
- DOMINATED_INDUSTRY (金融商贸: trading firms that spend little on R&D) has one supply-chain platform holding
  about 90 % of the industry's R&D spend (`O`);
- in the first year, the largest transformer maker runs a project that makes it over 85 % of the district's filed
  R&D spend (the district total is `O`); the filers' total still follows the statistics.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from .common import (
    REGION_DISTRICT,
    STREET_CODES,
    STREET_WEIGHTS,
    UNKNOWN_STREET,
    Cell,
    Landing,
    Sheet,
    dec,
    make_uscc,
    uscc_check_char,
    write_csv,
    write_xlsx,
)
from .statistics import district_final

FEED = "rd_filings"
HEADER = [
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
ENCODINGS = ["utf-8-sig", "utf-8", "gb18030"]  # the first year alone has BOM and GB18030
FULL_SCALE_ENTERPRISES = 480  # about 500 filings a year with the amendments and duplicates
ENTERPRISE_SHARE_OF_RD = Decimal("0.78")  # filing enterprises spend most of the district's R&D (China: ~77 %)
CERTIFIED_SHARE_FILING = 0.95  # a few certified high-tech enterprises miss the filing season each year
# Disclosure-control cases (module docstring): a town with two filers, an industry one firm dominates, and a year
# whose district total one firm dominates.
SPARSE_STREET = "430406100000"  # 岳屏镇
SPARSE_STREET_FILERS = 2
DOMINATED_INDUSTRY = "金融商贸"
DOMINATED_INDUSTRY_OTHERS_SCALE = 0.02  # R&D spend and intensity of its other firms: revenue as before, little R&D
DOMINATED_INDUSTRY_LEADER_SIZE = 50.0  # relative R&D spend of its leader: about 5 % of the district's filed R&D
DOMINATED_TOTAL_SHARE = 0.9  # the transformer maker's share of the filed R&D spend in the first year

# industry → (share of enterprises, name endings)
INDUSTRIES: dict[str, tuple[float, list[str]]] = {
    "输变电": (0.26, ["电气", "变压器", "电力设备", "电缆", "输变电设备", "开关", "电工"]),
    "大数据": (0.16, ["数据科技", "信息技术", "软件", "智能科技", "云计算", "网络科技"]),
    "金融商贸": (0.18, ["商贸", "供应链管理", "融资租赁", "贸易", "物流"]),
    "健康文旅": (0.14, ["医疗器械", "生物科技", "文化旅游", "健康产业", "医药"]),
    "其他": (0.26, ["新材料", "机械制造", "环保科技", "建材", "食品", "化工"]),
}
# Two-character words for firm names, in pairs.
_NAME_PAIRS = (
    "雁城南岳湘江蒸湘华鑫恒远金雁衡开中天瑞达博远联创鼎盛宏泰永昌天瑞正泰力源远航国信新源卓越精诚华宇鸿运湘南衡山回雁"
    "船山石鼓岣嵝耒水珠晖来雁星辰华汇中科航宇顺达凯盛北辰创新"
)
_NAME_WORDS = [_NAME_PAIRS[i : i + 2] for i in range(0, len(_NAME_PAIRS), 2)]
_COMPANY_FORMS = ["有限公司", "有限公司", "有限责任公司", "股份有限公司"]


@dataclass
class Enterprise:
    code: str
    name: str
    street: str
    industry: str
    size: float  # relative R&D spend
    intensity: float  # R&D / revenue
    tech: float  # ranks enterprises for certification
    zero_revenue: bool
    cert_start: int | None = None
    cert_serials: dict[int, int] | None = None


@dataclass
class Filing:
    fid: str
    ent: Enterprise
    year: str
    expense: Decimal
    personnel: int
    revenue: Decimal
    new_product: Decimal
    patents_applied: int
    patents_granted: int
    cert: str
    submitted: datetime
    slash_time: bool
    amends: str = ""
    industry: str | None = None  # overrides for planted bad rows
    street: str | None = None
    code: str | None = None
    time_text: str | None = None
    expense_text: str | None = None

    def time(self) -> str:
        if self.time_text is not None:
            return self.time_text
        return self.submitted.strftime("%Y/%m/%d %H:%M" if self.slash_time else "%Y-%m-%d %H:%M:%S")

    def cells(self, typed: bool = False) -> list[Cell]:
        """The 15 columns; `typed` gives numbers as numbers (an Excel sheet), else as text (a CSV)."""

        def money(value: Decimal) -> Cell:
            return value if typed else format(value, "f")

        def count(value: int) -> Cell:
            return value if typed else str(value)

        expense: Cell = self.expense_text if self.expense_text is not None else money(self.expense)
        return [
            self.fid,
            self.code or self.ent.code,
            self.ent.name,
            self.street or self.ent.street,
            self.industry or self.ent.industry,
            self.year,
            expense,
            count(self.personnel),
            money(self.revenue),
            money(self.new_product),
            count(self.patents_applied),
            count(self.patents_granted),
            self.cert,
            self.time(),
            self.amends,
        ]


def plain_number(value: Decimal) -> str:
    """`612.50` → `612.5`, `600.00` → `600`: another spelling of the same number."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class RdWriter:
    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.rng = landing.rng(FEED)
        self.dir = landing.out_dir / FEED
        self.enterprises = self.make_enterprises()
        landing.public_text += "\n".join(e.name for e in self.enterprises) + "\n"
        self.seq: dict[int, int] = {}
        # valid deliveries: (delivered at, file name, sheet index, row, filing)
        self.valid: list[tuple[datetime, str, int, int, Filing]] = []
        self.certify()

    # --- the enterprises -----------------------------------------------------------------------------

    def make_enterprises(self) -> list[Enterprise]:
        rng = self.rng
        count = self.landing.volume(FULL_SCALE_ENTERPRISES, FULL_SCALE_ENTERPRISES)  # a census: never fewer
        names: set[str] = set()
        codes: set[str] = set()
        out = []
        industries = list(INDUSTRIES)
        shares = [INDUSTRIES[i][0] for i in industries]
        in_sparse_street = 0
        other_streets = [c for c in STREET_CODES if c != SPARSE_STREET]
        other_weights = [w for c, w in zip(STREET_CODES, STREET_WEIGHTS, strict=True) if c != SPARSE_STREET]
        for index in range(count):
            industry = industries[index % 5] if index < 5 else rng.choices(industries, shares)[0]
            while True:
                word = rng.choice(_NAME_WORDS) + (rng.choice(_NAME_WORDS) if rng.random() < 0.3 else "")
                name = f"衡阳{word}{rng.choice(INDUSTRIES[industry][1])}{rng.choice(_COMPANY_FORMS)}"
                if name not in names:
                    break
            code = make_uscc(rng)
            while code in codes:
                code = make_uscc(rng)
            names.add(name)
            codes.add(code)
            tech_bias = 1.5 if industry in ("输变电", "大数据") else 0.0
            street = rng.choices(STREET_CODES, STREET_WEIGHTS)[0]
            if street == SPARSE_STREET:
                in_sparse_street += 1
                if in_sparse_street > SPARSE_STREET_FILERS:
                    street = rng.choices(other_streets, other_weights)[0]
            out.append(
                Enterprise(
                    code=code,
                    name=name,
                    street=street,
                    industry=industry,
                    size=rng.lognormvariate(0, 1.1) * (1.8 if industry == "输变电" else 1.0),
                    intensity=rng.uniform(0.015, 0.09),
                    tech=rng.random() + tech_bias * rng.random(),
                    zero_revenue=index in (7, 23),  # young firms with no sales yet
                )
            )
        # DOMINATED_INDUSTRY: its trading firms spend little on R&D (same revenue), its leader much
        members = [e for e in out if e.industry == DOMINATED_INDUSTRY and not e.zero_revenue]
        leader = max(members, key=lambda e: e.size)
        for ent in out:
            if ent.industry == DOMINATED_INDUSTRY and ent is not leader:
                ent.size *= DOMINATED_INDUSTRY_OTHERS_SCALE
                ent.intensity *= DOMINATED_INDUSTRY_OTHERS_SCALE
        leader.size = DOMINATED_INDUSTRY_LEADER_SIZE
        return out

    def dominant_filer(self) -> Enterprise:
        """The largest transformer maker with sales outside the sparse street: over 85 % of the first year."""
        makers = [
            e for e in self.enterprises if e.industry == "输变电" and not e.zero_revenue and e.street != SPARSE_STREET
        ]
        return max(makers, key=lambda e: (e.size, e.code))

    def certify(self) -> None:
        """Certified (高新技术企业) filers follow the district's HT_ENTERPRISES (57 in 2019, 92 in 2022): a share
        CERTIFIED_SHARE_FILING of them, at every scale."""
        rng = self.rng
        ranked = sorted(self.enterprises, key=lambda e: -e.tech)
        first, last = self.landing.years
        for year in range(first, last + 1):
            _, ht = district_final("HT_ENTERPRISES", year)
            target = min(round(int(ht) * CERTIFIED_SHARE_FILING), len(ranked) - 5)
            for ent in ranked[:target]:
                if ent.cert_start is None:
                    ent.cert_start = year - rng.randrange(3) if year == first else year
                    ent.cert_serials = {}
        for ent in self.enterprises:
            if ent.cert_start is not None:
                ent.size *= 1.6
                # certification asks for R&D of at least 3-5 % of revenue (高企认定): certified filers report it
                ent.intensity = max(ent.intensity, rng.uniform(0.03, 0.06))

    def certificate(self, ent: Enterprise, year: int) -> str:
        """GR + issue year + 43 (Hunan) + serial; renewed every three years with a new number."""
        if ent.cert_start is None or ent.cert_start > year or ent.cert_serials is None:
            return ""
        issued = ent.cert_start + 3 * ((year - ent.cert_start) // 3)
        if issued not in ent.cert_serials:
            ent.cert_serials[issued] = self.rng.randrange(1, 3000)
        return f"GR{issued}43{ent.cert_serials[issued]:06d}"

    # --- filings -------------------------------------------------------------------------------------

    def next_id(self, year: int) -> str:
        self.seq[year] = self.seq.get(year, 0) + 1
        return f"YFRD-{year}-{self.seq[year]:05d}"

    def moment(self, start: datetime, end: datetime, slash: bool) -> datetime:
        """A working-hours time between two dates; minute precision when written in the slash format."""
        rng = self.rng
        day = start + timedelta(days=rng.randrange(max(1, (end - start).days)))
        moment = day.replace(hour=rng.randrange(8, 18), minute=rng.randrange(60), second=rng.randrange(60))
        return moment.replace(second=0) if slash else moment

    def first_filings(self, year: int) -> list[Filing]:
        rng = self.rng
        _, rd_total = district_final("RD_EXPENDITURE", year)
        total_wan = rd_total * 10**4 * ENTERPRISE_SHARE_OF_RD
        weights = [e.size * rng.lognormvariate(0, 0.15) for e in self.enterprises]
        if year == self.landing.years[0]:  # the transformer maker's project year: it dominates the district total
            dominant = self.enterprises.index(self.dominant_filer())
            others = sum(weights) - weights[dominant]
            weights[dominant] = others * DOMINATED_TOTAL_SHARE / (1 - DOMINATED_TOTAL_SHARE)
        scale = float(total_wan) / sum(weights)
        windows = [
            (datetime(year + 1, 3, 1), datetime(year + 1, 4, 7)),
            (datetime(year + 1, 4, 8), datetime(year + 1, 5, 10)),
        ]
        filings = []
        for index, (ent, weight) in enumerate(zip(self.enterprises, weights, strict=True)):
            expense = dec(weight * scale)
            # from the unrounded spend: a trading firm's few yuan of R&D still come with its revenue
            revenue = Decimal("0.00") if ent.zero_revenue else dec(weight * scale / ent.intensity)
            applied = min(30, int(rng.expovariate(1.0) * float(expense) / 150))
            slash = rng.random() < 0.3
            window = windows[0] if index % 20 < 11 else windows[1]
            filings.append(
                Filing(
                    fid="",
                    ent=ent,
                    year=str(year),
                    expense=expense,
                    personnel=max(1, round(float(expense) / rng.uniform(12, 25))),
                    revenue=revenue,
                    new_product=dec(float(revenue) * rng.uniform(0, 0.6)),
                    patents_applied=applied,
                    patents_granted=rng.randint(0, applied),
                    cert=self.certificate(ent, year),
                    submitted=self.moment(*window, slash),
                    slash_time=slash,
                )
            )
        filings.sort(key=lambda f: f.submitted)
        for filing in filings:
            filing.fid = self.next_id(year)
        return filings

    def record(
        self, path: Path, when: datetime, sheet_index: int, sheet: str | None, rows: list[Filing], rules: dict[int, str]
    ) -> None:
        for number, filing in enumerate(rows, start=2):
            if id(filing) in rules:
                self.landing.plant(FEED, path, number, rules[id(filing)], sheet)
            else:
                self.valid.append((when, path.name, sheet_index, number, filing))

    def write_csv(self, name: str, when: datetime, rows: list[Filing], rules: dict[int, str], encoding: str) -> None:
        path = self.dir / name
        write_csv(path, HEADER, [f.cells() for f in rows], encoding)
        self.record(path, when, 0, None, rows, rules)
        self.landing.deliver(FEED, path, when)

    def write_workbook(
        self, name: str, when: datetime, sheets: list[tuple[str, list[str], list[Filing]]], rules: dict[int, str]
    ) -> None:
        """Feed sheets (columns as written; `备注` gets a remark) and, last, a notes sheet."""
        path = self.dir / name
        built = []
        for index, (sheet_name, columns, rows) in enumerate(sheets):
            order = [HEADER.index(c.strip()) if c.strip() in HEADER else None for c in columns]
            table: list[list[Cell]] = [list(columns)]
            for filing in rows:
                cells = filing.cells(typed=True)
                remark = "首次填报" if filing.ent.cert_start == int(filing.year) else ""
                table.append([cells[i] if i is not None else remark for i in order])
            built.append(Sheet(sheet_name, table))
            self.record(path, when, index, sheet_name, rows, rules)
        built.append(
            Sheet("填表说明", [["企业研发投入填报说明"], ["金额单位：万元"], ["填报时间格式：年-月-日 时:分:秒"]])
        )
        write_xlsx(path, built, when, "雁峰区科学技术局")
        self.landing.deliver(FEED, path, when)

    def bad_rows(self, year: int, filings: list[Filing], later: datetime) -> list[tuple[Filing, str]]:
        """One row per rd_filings rule of FEEDS.md, each otherwise valid, each with a fresh 填报编号."""
        rng = self.rng
        picks = rng.sample(filings, 10)

        def variant(base: Filing, **changes: object) -> Filing:
            return replace(
                base,
                fid=self.next_id(year),
                submitted=later + timedelta(minutes=rng.randrange(1, 600)),
                amends="",
                **changes,
            )

        wrong = picks[0].ent.code[:17] + next(c for c in "0123456789" if c != uscc_check_char(picks[0].ent.code[:17]))
        return [
            (variant(picks[0], code=wrong), "uscc_check_digit"),
            (variant(picks[1], code=picks[1].ent.code[:17]), "uscc_length"),
            (variant(picks[2], year="1999"), "year_too_early"),
            (variant(picks[3], year="2202"), "year_future"),
            (variant(picks[4], expense=Decimal("-35.00")), "money_negative"),
            (variant(picks[5], expense_text="约500"), "money_not_number"),
            (variant(picks[6], industry="新能源"), "industry_unknown"),
            (variant(picks[7], street=REGION_DISTRICT), "street_not_12_digit"),
            (variant(picks[8], street=UNKNOWN_STREET), "street_unknown"),
            (variant(picks[9], time_text=(later - timedelta(days=3)).strftime("%Y.%m.%d")), "time_format"),
        ]

    def year(self, year: int, plant: bool, index: int) -> None:
        """Three deliveries for one 年度; `plant` puts the bad rows into this year's files."""
        filings = self.first_filings(year)
        cut = datetime(year + 1, 4, 8)
        batch1 = [f for f in filings if f.submitted < cut]
        when1 = datetime(year + 1, 4, 8, 17, self.rng.randrange(60))
        self.write_csv(f"{year}年度研发投入填报_第一批.csv", when1, batch1, {}, ENCODINGS[index % 3])
        self.batch_two(year, [f for f in filings if f.submitted >= cut], filings, plant)
        self.batch_three(year, batch1, filings, plant, ENCODINGS[(index + 2) % 3])

    def batch_two(self, year: int, batch: list[Filing], filings: list[Filing], plant: bool) -> None:
        """A workbook of two feed sheets, one with reordered, spaced columns and a 备注 column."""
        rng = self.rng
        rules: dict[int, str] = {}
        key_industries = [f for f in batch if f.ent.industry in ("输变电", "大数据")]
        others = [f for f in batch if f.ent.industry not in ("输变电", "大数据")]
        if plant:
            later = datetime(year + 1, 5, 9, 9)
            base = rng.sample(filings, 3)
            extra = {
                "certificate_format": replace(base[0], cert=f"GR{year + 1}", submitted=later.replace(hour=10)),
                "certificate_bad_prefix": replace(
                    base[1], cert=f"HT{year + 1}43000123", submitted=later.replace(hour=11)
                ),
                "time_format": replace(base[2], submitted=later, time_text=later.strftime("%d/%m/%Y %H:%M")),
            }
            for rule, filing in extra.items():
                filing.fid = self.next_id(year)
                rules[id(filing)] = rule
                others.insert(rng.randrange(len(others) + 1), filing)
        reordered = [
            " 填报编号",
            "企业名称",
            "统一社会信用代码 ",
            "年度",
            "所属产业",
            "所属街道代码",
            *HEADER[6:],
            "备注",
        ]
        when = datetime(year + 1, 5, 12, 10, rng.randrange(60))
        sheets = [("输变电及大数据企业", reordered, key_industries), ("其他企业", HEADER, others)]
        self.write_workbook(f"{year}年度研发投入填报_第二批.xlsx", when, sheets, rules)

    def batch_three(self, year: int, batch1: list[Filing], filings: list[Filing], plant: bool, encoding: str) -> None:
        """Amendments, duplicate submissions and re-deliveries of earlier filings, and the bad rows."""
        rng = self.rng
        window = (datetime(year + 1, 5, 15), datetime(year + 1, 6, 30))
        n_amend = max(2, round(0.04 * len(filings)))
        n_dup = max(1, round(0.02 * len(filings)))
        exact = rng.choice(batch1)  # re-delivered unchanged
        others = [f for f in batch1 if f is not exact]
        same = rng.choice([f for f in others if f.slash_time] or others)  # re-delivered in another spelling
        chosen = rng.sample([f for f in filings if f not in (exact, same)], n_amend + n_dup + 2)
        amend, dup = chosen[:n_amend], chosen[n_amend : n_amend + n_dup]
        early, conflict = chosen[-2:]
        rows: list[Filing] = []
        for original in amend:
            slash = rng.random() < 0.3
            changed = replace(
                original,
                fid=self.next_id(year),
                expense=dec(original.expense * Decimal(str(rng.uniform(0.85, 1.2)))),
                personnel=max(1, original.personnel + rng.randint(-2, 3)),
                submitted=self.moment(*window, slash),
                slash_time=slash,
                amends=original.fid,
            )
            rows.append(changed)
        for original in dup:  # submitted twice by mistake: identical figures, new number, later time
            rows.append(replace(original, fid=self.next_id(year), submitted=self.moment(*window, original.slash_time)))
        # A paper return keyed in late: new number, delivered now, but dated before the original: it loses.
        earlier = early.submitted - timedelta(days=rng.randint(2, 20), minutes=rng.randint(1, 300))
        earlier = earlier.replace(second=0) if early.slash_time else earlier
        rows.append(
            replace(early, fid=self.next_id(year), expense=dec(early.expense * Decimal("0.9")), submitted=earlier)
        )
        rows.append(exact)  # the same 15 values again: adds nothing, is not quarantined
        # The same filing spelled differently (no trailing zeros; a whole minute in the other time format).
        respelled = replace(same, expense_text=plain_number(same.expense))
        if same.submitted.second == 0:
            respelled.slash_time = not same.slash_time
        rows.append(respelled)
        rules: dict[int, str] = {}
        if plant:
            # same 填报编号, new figures (also when the filing reported no R&D spend)
            clash = replace(conflict, expense=dec(conflict.expense * Decimal("1.3") + 1))
            rules[id(clash)] = "id_conflict"
            rows.append(clash)
            for filing, rule in self.bad_rows(year, filings, window[1].replace(hour=8)):
                rules[id(filing)] = rule
                rows.insert(rng.randrange(len(rows) + 1), filing)
        when = datetime(year + 1, 7, 3, 9, rng.randrange(60))
        self.write_csv(f"{year}年度研发投入更正及补报.csv", when, rows, rules, encoding)

    # --- facts ---------------------------------------------------------------------------------------

    def facts(self) -> dict[str, dict[str, object]]:
        """Per year: ENT_* inputs over current filings (latest 填报时间 of each enterprise-year)."""
        seen: dict[str, Filing] = {}
        for *_, filing in sorted(self.valid, key=lambda v: v[:4]):
            seen.setdefault(filing.fid, filing)  # re-deliveries of a filing add nothing
        current: dict[tuple[str, str], Filing] = {}
        for filing in seen.values():
            key = (filing.ent.code, filing.year)
            if key not in current or filing.submitted > current[key].submitted:
                current[key] = filing
        out: dict[str, dict[str, object]] = {}
        for (_, year), f in sorted(current.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            y = out.setdefault(
                year,
                {
                    "expense_yuan": 0.0,
                    "personnel": 0,
                    "filings": 0,
                    "certified": 0,
                    "intensity_expense_yuan": 0.0,
                    "intensity_revenue_yuan": 0.0,
                    "expense_yuan_by_industry": {},
                    "expense_yuan_by_street": {},
                },
            )
            yuan = float(f.expense * 10**4)
            y["expense_yuan"] += yuan
            y["personnel"] += f.personnel
            y["filings"] += 1
            y["certified"] += bool(f.cert)
            if f.revenue > 0:
                y["intensity_expense_yuan"] += yuan
                y["intensity_revenue_yuan"] += float(f.revenue * 10**4)
            for dimension, member in (
                ("expense_yuan_by_industry", f.ent.industry),
                ("expense_yuan_by_street", f.ent.street),
            ):
                y[dimension][member] = y[dimension].get(member, 0.0) + yuan
        for y in out.values():
            for k in ("expense_yuan", "intensity_expense_yuan", "intensity_revenue_yuan"):
                y[k] = round(y[k], 2)
            for k in ("expense_yuan_by_industry", "expense_yuan_by_street"):
                y[k] = {m: round(v, 2) for m, v in sorted(y[k].items())}
        return out


def generate(landing: Landing) -> None:
    writer = RdWriter(landing)
    first, last = landing.years
    for index, year in enumerate(range(first, last + 1)):
        writer.year(year, plant=index == 0, index=index)
        landing.progress(f"{FEED}: {landing.files[FEED]} files ({year})")
    landing.facts["ent_rd"] = writer.facts()
