"""Shared helpers for the sample-data generator: seeded randomness, check digits, writers, delivery times.

The generator is the independent oracle for ingestion, so nothing here may import `pipelines.ingest`,
`pipelines.lib` or python-stdnum: the check digits are computed from the standards directly.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO, Any

import xlsxwriter

SHANGHAI = timezone(timedelta(hours=8))

# Every mtime must lie in the past for any run from 2026 on, whatever the requested years.
LATEST_DELIVERY = datetime(2025, 12, 31, 23, 59, 59)
FIRST_YEAR, LAST_YEAR = 2001, 2024

FEEDS = ("statistics", "rd_filings", "gov_services", "security_incidents", "security_cameras")

REGION_DISTRICT = "430406"
# Street/town codes of Yanfeng from regions.csv, with a population share used to weight every feed.
STREETS: dict[str, tuple[str, float]] = {
    "430406001000": ("先锋街道", 0.17),
    "430406002000": ("雁峰街道", 0.20),
    "430406003000": ("天马山街道", 0.17),
    "430406004000": ("黄茶岭街道", 0.19),
    "430406005000": ("白沙洲街道", 0.15),
    "430406100000": ("岳屏镇", 0.12),
}
STREET_CODES = list(STREETS)
STREET_WEIGHTS = [share for _, share in STREETS.values()]
# A real neighbouring district code that is deliberately absent from regions.csv, and an unused street code.
UNKNOWN_REGION = "430407"
UNKNOWN_STREET = "430406009000"

# --- check digits -------------------------------------------------------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714-1997 organisation code
_ID_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # GB 11643-1999 resident ID
_ID_CHECK = "10X98765432"


def uscc_check_char(first17: str) -> str:
    """Check character of a unified social credit code (GB 32100-2015) from its first 17 characters."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    """True when `code` is 18 characters of the GB 32100-2015 alphabet with the right check character."""
    return len(code) == 18 and all(c in USCC_ALPHABET for c in code) and uscc_check_char(code[:17]) == code[17]


def org_code_check_char(first8: str) -> str:
    """Check character of the 9-character organisation code embedded in a credit code (GB 11714)."""
    total = sum(int(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def resident_id_check_char(first17: str) -> str:
    """Check character of an 18-digit resident ID (GB 11643-1999, ISO 7064 MOD 11-2)."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_resident_id(number: str) -> bool:
    """True when `number` is 17 digits plus the right check character."""
    return len(number) == 18 and number[:17].isdigit() and resident_id_check_char(number[:17]) == number[17]


def make_uscc(rng: random.Random, division: str = REGION_DISTRICT, kind: str = "91") -> str:
    """A valid credit code: registering authority and type (91 company, 92 individual business), the
    division code, an organisation code with its own check character, and the check character."""
    org8 = f"{rng.randrange(10**8):08d}"
    first17 = kind + division + org8 + org_code_check_char(org8)
    return first17 + uscc_check_char(first17)


# Home areas of residents who deal with Yanfeng: mostly Hengyang's districts and counties, some from afar.
_ID_AREAS = ["430406"] * 14 + ["430405", "430407", "430408", "430412", "430421", "430422", "430423"]
_ID_AREAS += ["430424", "430426", "430481", "430482", "430102", "430211", "440304", "360402"]


def make_resident_id(rng: random.Random, *, wrong_check: bool = False, born_from: int = 1940) -> str:
    """A resident ID with a real structure; `wrong_check` swaps in a wrong check character."""
    birth = date(born_from, 1, 1) + timedelta(days=rng.randrange((date(2004, 12, 31) - date(born_from, 1, 1)).days))
    first17 = rng.choice(_ID_AREAS) + birth.strftime("%Y%m%d") + f"{rng.randrange(1, 1000):03d}"
    check = resident_id_check_char(first17)
    if wrong_check:
        check = rng.choice([c for c in _ID_CHECK if c != check])
    return first17 + check


_MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152"]
_MOBILE_PREFIXES += ["153", "155", "156", "157", "158", "159", "173", "176", "177", "180", "181", "182"]
_MOBILE_PREFIXES += ["183", "185", "186", "187", "188", "189", "191", "193", "198", "199"]


def make_mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


_SURNAMES = (
    "王李张刘陈杨黄赵周吴徐孙朱马胡郭林何高罗郑梁谢宋唐许邓冯韩曹曾彭肖蔡潘田董袁于余"
    "叶蒋杜苏魏程吕丁沈任姚卢傅钟姜崔谭廖范汪陆金石戴贾韦夏邱方侯邹熊孟秦白江阎薛尹段"
    "雷黎史龙陶贺顾毛郝龚邵万钱严覃武"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志宏波辉鹏飞浩宇欣怡梓"
    "涵子轩雨婷思琪俊杰佳慧文博嘉怡晨阳一鸣海燕春梅秋菊湘衡岳"
)


def make_chinese_name(rng: random.Random) -> str:
    """A two- or three-character Chinese personal name."""
    # Mostly three characters: a two-character name is likelier to occur inside other text by chance.
    given = "".join(rng.choice(_GIVEN) for _ in range(1 if rng.random() < 0.15 else 2))
    return rng.choice(_SURNAMES) + given


# --- numbers and times ---------------------------------------------------------------------------------


def scaled(base: float, scale: float, floor: int) -> int:
    """A volume `base` at scale 1, multiplied by `scale`, never below `floor`."""
    return max(floor, round(base * scale))


def dec(value: float | Decimal | str, places: int = 2) -> Decimal:
    """Round half-up to a fixed number of decimals, as a statistician would print it."""
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def with_thousands(value: Decimal) -> str:
    """`1234567.5` → `1,234,567.5`, keeping the decimals as given."""
    text = format(value, "f")
    whole, _, frac = text.partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


def iso_time(local: datetime, style: str) -> str:
    """ISO 8601 text of a naive Asia/Shanghai time: style `+08` (offset), `Z` (UTC) or `naive`."""
    # isoformat() is several times faster than strftime and prints no fraction for whole seconds
    if style == "Z":
        return (local - timedelta(hours=8)).isoformat() + "Z"
    if style == "naive":
        return local.isoformat()
    return local.isoformat() + "+08:00"


def month_key(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


def months_of(years: tuple[int, int]) -> list[tuple[int, int]]:
    return [(y, m) for y in range(years[0], years[1] + 1) for m in range(1, 13)]


class Occasions:
    """Draws the rare messy cases: each with its own probability, but eagerly until it has happened
    `floor` times, so that even the smallest scale holds every case."""

    def __init__(self, rng: random.Random, eager: float = 0.25) -> None:
        self.random = rng.random
        self.eager = eager
        self.count: Counter[str] = Counter()

    def __call__(self, what: str, probability: float, floor: int = 3) -> bool:
        if self.random() < (probability if self.count[what] >= floor else self.eager):
            self.count[what] += 1
            return True
        return False


# --- writers ------------------------------------------------------------------------------------------

Cell = str | int | float | Decimal | None


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Cell]], encoding: str) -> None:
    """CSV as Excel writes it: CRLF, minimal quoting; `encoding` is utf-8, utf-8-sig or gb18030."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row])


@dataclass
class Sheet:
    name: str
    rows: list[list[Cell]]


def write_xlsx(path: Path, sheets: Sequence[Sheet], created: datetime, author: str) -> None:
    """An .xlsx with fixed document dates so the bytes depend only on the content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False})
    workbook.set_properties({"created": created, "author": author})
    for sheet in sheets:
        worksheet = workbook.add_worksheet(sheet.name)
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    worksheet.write_string(r, c, value)
                else:
                    worksheet.write_number(r, c, float(value))
    workbook.close()


def open_text_lines(path: Path) -> IO[str]:
    """A UTF-8 text handle; `.gz` files get a gzip stream with no name or time in its header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        raw = gzip.GzipFile(filename="", mode="wb", fileobj=path.open("wb"), mtime=0, compresslevel=6)
        return _ClosingText(raw)
    return path.open("w", encoding="utf-8", newline="\n")


class _ClosingText(io.TextIOWrapper):
    """Closes the underlying file as well as the gzip stream."""

    def __init__(self, raw: gzip.GzipFile) -> None:
        super().__init__(raw, encoding="utf-8", newline="\n")
        self._file = raw.fileobj

    def close(self) -> None:
        super().close()
        if self._file is not None and not self._file.closed:
            self._file.close()


# --- the landing zone being written -------------------------------------------------------------------


@dataclass
class Landing:
    """What every feed writer shares: the target folder, the knobs, and the manifest under construction."""

    out_dir: Path
    seed: int
    scale: float
    years: tuple[int, int]
    progress: Callable[[str], None]
    planted: list[dict[str, Any]] = field(default_factory=list)
    pii: set[str] = field(default_factory=set)
    files: Counter[str] = field(default_factory=Counter)
    duplicates: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)
    # Non-personal text already written (firm, department, item names): no clear name may occur in it.
    public_text: str = ""

    def rng(self, name: str) -> random.Random:
        """An independent stream per purpose, so adding draws to one feed leaves the others unchanged."""
        return random.Random(f"{self.seed}/{name}")

    def volume(self, base: float, floor: int) -> int:
        return scaled(base, self.scale, floor)

    def rel(self, path: Path) -> str:
        return path.relative_to(self.out_dir).as_posix()

    def plant(self, feed: str, path: Path, row: int, rule: str, sheet: str | None = None) -> None:
        """Record one row that ingestion must quarantine."""
        self.planted.append({"feed": feed, "file": self.rel(path), "row": row, "sheet": sheet, "rule": rule})

    def deliver(self, feed: str, path: Path, when: datetime) -> None:
        """Give a written file its delivery time (naive Asia/Shanghai) and count it."""
        if when > LATEST_DELIVERY:
            raise ValueError(f"delivery time {when} of {path.name} lies after {LATEST_DELIVERY}")
        stamp = int(when.replace(tzinfo=SHANGHAI).timestamp()) * 10**9
        os.utime(path, ns=(stamp, stamp))
        self.files[feed] += 1

    def redeliver(self, feed: str, source: Path, name: str, when: datetime) -> Path:
        """A byte-identical copy under another name, delivered later: ingestion must skip it."""
        target = source.with_name(name)
        shutil.copyfile(source, target)
        self.deliver(feed, target, when)
        self.duplicates.append(self.rel(target))
        return target


class JsonlFiles:
    """Spreads a JSON Lines feed over delivery files: one per month, and one per day in the range's last
    month, each delivered shortly after the period it covers. Lines are buffered per file and written when
    the caller says a month is complete, so memory holds about one month, never the whole range."""

    def __init__(self, landing: Landing, feed: str, folder: str, prefix: str, rng: random.Random) -> None:
        self.landing, self.feed, self.prefix, self.rng = landing, feed, prefix, rng
        self.dir = landing.out_dir / folder
        self.first = (landing.years[0], 1)
        self.last = (landing.years[1], 12)
        self.end = datetime(landing.years[1] + 1, 1, 1)
        self.buffers: dict[tuple[int, int, int], list[tuple[datetime, int, str]]] = {}
        self.planted: dict[tuple[int, int, int], list[tuple[str, str, set[str]]]] = {}
        self.resend: dict[tuple[int, int, int], str] = {}
        self.shuffle = True  # swap a few lines: exports are only roughly in time order
        self.counter = 0
        self.written = 0
        self.total = len(months_of(landing.years)) - 1 + 31

    def key(self, moment: datetime) -> tuple[int, int, int] | None:
        """The file a line of this (Asia/Shanghai) time lands in; None after the range's end."""
        if moment >= self.end:
            return None
        if (moment.year, moment.month) == self.last:
            return (moment.year, moment.month, moment.day)
        return (moment.year, moment.month, 0)

    def next_key(self, key: tuple[int, int, int]) -> tuple[int, int, int] | None:
        """The file delivered after `key` (for late and repeated lines); None after the last one."""
        year, month, day = key
        if day == 0:
            ny, nm = add_months(year, month, 1)
            return (ny, nm, 0) if (ny, nm) != self.last else (ny, nm, 1)
        return self.key(datetime(year, month, day) + timedelta(days=1))

    def add(self, key: tuple[int, int, int], moment: datetime, line: str) -> None:
        self.counter += 1
        self.buffers.setdefault(key, []).append((moment, self.counter, line))

    def plant(self, key: tuple[int, int, int], line: str, rule: str, pii: Iterable[str] = ()) -> None:
        """A line ingestion must quarantine; placed at a seeded position when its file is written."""
        self.planted.setdefault(key, []).append((line, rule, set(pii)))

    def path(self, key: tuple[int, int, int]) -> Path:
        year, month, day = key
        if day:
            return self.dir / f"{self.prefix}_{year}-{month:02d}-{day:02d}.jsonl"
        gz = ".gz" if (year * 12 + month) % 2 else ""
        return self.dir / f"{self.prefix}_{year}-{month:02d}.jsonl{gz}"

    def flush_through(self, year: int, month: int) -> None:
        """Write every file that only holds lines up to the end of (year, month)."""
        for key in sorted(k for k in self.buffers.keys() | self.planted.keys() if (k[0], k[1]) <= (year, month)):
            self._write(key)

    def _write(self, key: tuple[int, int, int]) -> None:
        rng = self.rng
        entries = sorted(self.buffers.pop(key, []))
        lines = [line for _, _, line in entries]
        for i in range(len(lines) - 1 if self.shuffle else 0):
            if rng.random() < 0.03:
                j = min(len(lines) - 1, i + rng.randint(1, 30))
                lines[i], lines[j] = lines[j], lines[i]
        planted = self.planted.pop(key, [])
        positions = []
        for line, _rule, pii in planted:
            position = rng.randrange(len(lines) + 1)
            lines.insert(position, line)
            positions = [p + (p >= position) for p in positions] + [position]
            self.landing.pii |= pii
        path = self.path(key)
        with open_text_lines(path) as handle:
            for line in lines:
                handle.write(line)
                handle.write("\n")
        for (_, rule, _pii), position in zip(planted, positions, strict=True):
            self.landing.plant(self.feed, path, position + 1, rule)
        year, month, day = key
        if day:
            when = datetime(year, month, day, 1, 30) + timedelta(days=1, minutes=rng.randrange(90))
        else:
            ny, nm = add_months(year, month, 1)
            when = datetime(ny, nm, 1, 2, rng.randrange(60))
        self.landing.deliver(self.feed, path, when)
        self.written += 1
        if key in self.resend:
            name = self.resend[key] + (".gz" if path.name.endswith(".gz") else "")
            self.landing.redeliver(self.feed, path, name, when + timedelta(days=9))
        if self.written % 6 == 0 or day:
            self.landing.progress(f"{self.feed}: {self.written}/{self.total} files")

    def finish(self) -> None:
        for key in sorted(self.buffers.keys() | self.planted.keys()):
            self._write(key)
        self.landing.progress(f"{self.feed}: {self.written}/{self.written} files")
