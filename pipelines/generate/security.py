"""security/: 110 incidents (JSON Lines, re-sent as they progress) and the daily status of the 雪亮工程
cameras (CSV). The SEC facts of the manifest are counted here from the same simulation."""

from __future__ import annotations

import json
import math
import statistics as stats
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .common import (
    REGION_DISTRICT,
    STREET_CODES,
    STREET_WEIGHTS,
    UNKNOWN_STREET,
    JsonlFiles,
    Landing,
    Occasions,
    add_months,
    iso_time,
    make_chinese_name,
    make_mobile,
    make_resident_id,
    month_key,
    months_of,
)

INCIDENTS = "security_incidents"
CAMERAS = "security_cameras"
FULL_SCALE_INCIDENTS_PER_YEAR = 20_000
FULL_SCALE_CAMERAS = 3_000

CATEGORIES = ["theft", "fraud", "traffic", "dispute", "fire", "violence", "other"]
CATEGORY_SHARES = [0.18, 0.14, 0.22, 0.28, 0.03, 0.05, 0.10]
SOURCES = ["call_110", "app", "camera", "patrol"]
SOURCE_SHARES = [0.72, 0.12, 0.06, 0.10]
# Calls by hour of day: quiet before dawn, busiest in the evening.
HOURS = [3, 2, 1.5, 1, 1, 1, 1.5, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5.5, 6, 6.5, 7, 7, 6, 5, 4]
# Rough centres of Yanfeng's streets and town, around 26.88 N, 112.60 E.
CENTRES = {
    "430406001000": (26.8935, 112.6112),
    "430406002000": (26.8781, 112.6068),
    "430406003000": (26.8702, 112.5957),
    "430406004000": (26.8614, 112.6139),
    "430406005000": (26.8497, 112.6281),
    "430406100000": (26.8420, 112.5853),
}


@dataclass
class Reporter:
    name: str
    phone: str
    id_number: str


def median(values: list[float]) -> float | None:
    return float(stats.median(values)) if values else None


# --- incidents ---------------------------------------------------------------------------------------


class IncidentWriter:
    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.rng = landing.rng(INCIDENTS)
        # Re-sends must stay in sending order within a file: the later line is the incident's state.
        self.files = JsonlFiles(landing, INCIDENTS, "security/incidents", "incidents", landing.rng(INCIDENTS + "/f"))
        self.files.shuffle = False
        self.reporters = [self.make_reporter(False) for _ in range(landing.volume(30_000, 80))]
        self.wrong_check = [self.make_reporter(True) for _ in range(3)]
        self.happens = Occasions(self.rng)
        self.seq: dict[date, int] = {}
        # per month of receipt, over each incident's last delivered record
        self.months: dict[str, dict[str, object]] = {}
        self.flagged: set[str] = set()

    def make_reporter(self, wrong_check: bool) -> Reporter:
        rng = self.rng
        while True:
            name = make_chinese_name(rng)
            if name not in self.landing.public_text:  # a clear name must never look like a firm's
                break
        return Reporter(name, make_mobile(rng), make_resident_id(rng, wrong_check=wrong_check, born_from=1950))

    def place(self, street: str) -> tuple[float, float]:
        lat, lon = CENTRES[street]
        return round(lat + self.rng.gauss(0, 0.004), 6), round(lon + self.rng.gauss(0, 0.004), 6)

    def incident(self, day: date, seq: int) -> None:
        rng = self.rng
        received = datetime(
            day.year, day.month, day.day, rng.choices(range(24), HOURS)[0], rng.randrange(60), rng.randrange(60)
        )
        category = rng.choices(CATEGORIES, CATEGORY_SHARES)[0]
        source = rng.choices(SOURCES, SOURCE_SHARES)[0]
        street = rng.choices(STREET_CODES, STREET_WEIGHTS)[0]
        lat, lon = self.place(street)
        dispatched = received + timedelta(seconds=rng.randint(20, 240))
        no_visit = (category == "fraud" and source != "camera" and rng.random() < 0.7) or rng.random() < 0.04
        if no_visit:  # handled by phone or passed on: no arrival on scene
            arrived = None
            closed = received + timedelta(seconds=rng.randint(1800, 3 * 86400))
            sends = rng.choices([1, 2], [0.4, 0.6])[0]
        else:
            minutes = min(60.0, max(3.0, rng.lognormvariate(math.log(12), 0.45)))
            arrived = received + timedelta(seconds=int(minutes * 60))
            closed = arrived + timedelta(seconds=int(min(6 * 3600, max(600, rng.lognormvariate(math.log(3000), 0.8)))))
            sends = rng.choices([1, 2, 3], [0.25, 0.45, 0.30])[0]

        reporter = None
        if source in ("call_110", "app"):
            wrong = self.happens("wrong_check_digit", 0.003)
            reporter = rng.choice(self.wrong_check) if wrong else rng.choice(self.reporters)
            if wrong:
                self.flagged.add(reporter.id_number)
        first_category, first_street, first_place = category, street, (lat, lon)
        if sends > 1 and self.happens("category_change", 0.01):
            first_category = rng.choice([c for c in CATEGORIES if c != category])
        elif sends > 1 and self.happens("street_change", 0.005):
            first_street = rng.choice([s for s in STREET_CODES if s != street])
            first_place = self.place(first_street)

        incident_id = f"JQ{day:%Y%m%d}{seq:04d}"
        hide_id = reporter is not None and reporter not in self.wrong_check and rng.random() < 0.15
        versions: list[tuple[datetime, datetime | None, datetime | None]]
        versions = {1: [(closed, arrived, closed)], 2: [(dispatched, None, None), (closed, arrived, closed)]}.get(
            sends, [(dispatched, None, None), (arrived or closed, arrived, None), (closed, arrived, closed)]
        )
        state = None
        for number, (sent, arr, clo) in enumerate(versions, start=1):
            key = self.files.key(sent)
            if key is None:
                break
            final = number == len(versions)
            style = "Z" if rng.random() < 0.2 else "+08"
            record = {
                "incident_id": incident_id,
                "received_at": iso_time(received, style),
                "dispatched_at": iso_time(dispatched, style),
                "arrived_at": None if arr is None else iso_time(arr, style),
                "closed_at": None if clo is None else iso_time(clo, style),
                "category": category if final else first_category,
                "street_code": street if final else first_street,
                "lat": lat if final else first_place[0],
                "lon": lon if final else first_place[1],
                "source": source,
                "reporter_name": reporter.name if reporter else None,
                "reporter_phone": reporter.phone if reporter else None,
                "reporter_id_number": None if reporter is None or hide_id else reporter.id_number,
            }
            self.files.add(key, sent, json.dumps(record, ensure_ascii=False, separators=(",", ":")))
            for field in ("reporter_name", "reporter_phone", "reporter_id_number"):
                if record[field]:
                    self.landing.pii.add(str(record[field]))
            state = (record["street_code"], record["category"], arr)
        if state is not None:  # else even the first send falls after the range: not delivered yet
            self.record_state(received, *state)

    def record_state(self, received: datetime, street: str, category: str, arrived: datetime | None) -> None:
        month = self.months.setdefault(
            month_key(received),
            {
                "incidents": 0,
                "by_category": Counter(),
                "by_street": Counter(),
                "response_min": [],
                "response_min_by_street": {},
            },
        )
        month["incidents"] += 1
        month["by_category"][category] += 1
        month["by_street"][street] += 1
        if arrived is not None:
            minutes = (arrived - received).total_seconds() / 60
            month["response_min"].append(minutes)
            month["response_min_by_street"].setdefault(street, []).append(minutes)

    def plants(self, year: int, month: int, index: int) -> None:
        """Bad records in the first months' files, each with a fresh incident number."""
        rules = {
            0: ["not_json", "missing_incident_id"],
            1: ["unknown_category", "unknown_source"],
            2: ["street_unknown", "street_not_12_digit"],
        }
        rng = self.rng
        for rule in rules.get(index, []):
            day = date(year, month, rng.randint(2, 27))
            seq = self.seq[day] = self.seq.get(day, 0) + 1
            received = datetime(year, month, day.day, rng.randint(8, 22), rng.randrange(60), rng.randrange(60))
            reporter = rng.choice(self.reporters)
            record: dict[str, object] = {
                "incident_id": f"JQ{day:%Y%m%d}{seq:04d}",
                "received_at": iso_time(received, "+08"),
                "dispatched_at": iso_time(received + timedelta(seconds=90), "+08"),
                "arrived_at": None,
                "closed_at": None,
                "category": "dispute",
                "street_code": "430406002000",
                "lat": 26.878412,
                "lon": 112.607055,
                "source": "call_110",
                "reporter_name": reporter.name,
                "reporter_phone": reporter.phone,
                "reporter_id_number": reporter.id_number,
            }
            pii = [reporter.name, reporter.phone, reporter.id_number]
            if rule == "not_json":  # a line of the exporter's log that slipped into the file
                line = f"{received:%Y-%m-%d %H:%M:%S} WARN export retry reporter={reporter.name} tel={reporter.phone}"
                pii = [reporter.name, reporter.phone]
            else:
                if rule == "missing_incident_id":
                    del record["incident_id"]
                else:
                    field, value = {
                        "unknown_category": ("category", "robbery"),
                        "unknown_source": ("source", "wechat"),
                        "street_unknown": ("street_code", UNKNOWN_STREET),
                        "street_not_12_digit": ("street_code", REGION_DISTRICT),
                    }[rule]
                    record[field] = value
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":"))
            key = self.files.key(received)
            assert key is not None
            self.files.plant(key, line, rule, pii)

    def run(self) -> None:
        per_year = self.landing.volume(FULL_SCALE_INCIDENTS_PER_YEAR, 365)
        for index, (year, month) in enumerate(months_of(self.landing.years)):
            days = (date(*add_months(year, month, 1), 1) - date(year, month, 1)).days
            first_day = (date(year, month, 1) - date(year, 1, 1)).days
            year_days = (date(year + 1, 1, 1) - date(year, 1, 1)).days
            for offset in range(days):
                day = date(year, month, 1) + timedelta(days=offset)
                # exact yearly total: whole numbers of the running expected count
                n = round(per_year * (first_day + offset + 1) / year_days) - round(
                    per_year * (first_day + offset) / year_days
                )
                for seq in range(1, n + 1):
                    self.incident(day, seq)
                self.seq[day] = n
            self.plants(year, month, index)
            self.files.flush_through(year, month)
        self.files.finish()

    def facts(self) -> dict[str, object]:
        out = {}
        for month, m in sorted(self.months.items()):
            response = m["response_min"]
            out[month] = {
                "incidents": m["incidents"],
                "by_category": dict(sorted(m["by_category"].items())),
                "by_street": dict(sorted(m["by_street"].items())),
                "with_arrival": len(response),
                "within_15min": sum(1 for r in response if r <= 15.0),
                "median_response_min": median(response),
                "median_response_min_by_street": {s: median(v) for s, v in sorted(m["response_min_by_street"].items())},
            }
        return out


# --- cameras -----------------------------------------------------------------------------------------


@dataclass
class Camera:
    id: str
    street: str
    installed: date
    reliability: float

    prefix: str = ""  # the row's first three columns, formatted once

    def __post_init__(self) -> None:
        self.prefix = f"{self.id},{self.street},{self.installed},"


class CameraWriter:
    """One CSV per month of daily rows, and the range's last month as one file a day."""

    HEADER = "camera_id,street_code,installed_on,status_date,online\n"

    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.rng = landing.rng(CAMERAS)
        self.dir = landing.out_dir / "security" / "cameras"
        start = date(landing.years[0], 1, 1)
        end = date(landing.years[1], 12, 1)
        self.cameras = []
        for i in range(landing.volume(FULL_SCALE_CAMERAS, 8)):
            if i < 4 or self.rng.random() < 0.85:  # most were installed before the range; the first few surely
                since = date(start.year - 4, 1, 1)
                installed = since + timedelta(days=self.rng.randrange((start - since).days))
            else:
                installed = start + timedelta(days=self.rng.randrange((end - start).days))
            reliability = 0.985 if self.rng.random() < 0.9 else 0.85
            street = self.rng.choices(STREET_CODES, STREET_WEIGHTS)[0]
            self.cameras.append(Camera(f"YFXL{i + 1:04d}", street, installed, reliability))
        # rows re-delivered in the next file with the other online value (none after the last file)
        self.corrections: list[str] = []
        self.happens = Occasions(self.rng, eager=0.05)
        self.months: dict[str, dict[str, object]] = {}

    def bad_rows(self) -> dict[tuple[int, date], tuple[str, str, str]]:
        """(camera index, day) → (street, online, rule): rows to quarantine, replacing the good row."""
        first, last = self.landing.years
        plan = {
            (0, date(first, 1, 5)): ("online_invalid", "2"),
            (1, date(first, 1, 12)): ("online_invalid", "yes"),
            (2, date(first, 1, 19)): ("online_invalid", ""),
            (3, date(first, 2, 9)): ("street_unknown", None),
            (0, date(last, 12, 6)): ("online_invalid", "2"),  # in a daily file
        }
        out = {}
        for (i, day), (rule, online) in plan.items():
            street = UNKNOWN_STREET if online is None else self.cameras[i].street
            out[(i, day)] = (street, "1" if online is None else online, rule)
        return out

    def write(self, name: str, days: list[date], when: datetime, bad: dict) -> None:
        """Write one file of daily rows, ending with the previous file's corrections, and count the rows."""
        rand = self.rng.random
        last_file = days[-1] == date(self.landing.years[1], 12, 31)
        bad_days = {day for _, day in bad}
        path = self.dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pending, self.corrections = self.corrections, []
        number = 1
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            handle.write(self.HEADER)
            for day in days:
                text_day = day.isoformat()
                month = self.months.setdefault(
                    month_key(day), {"cameras": set(), "days": Counter(), "online": Counter()}
                )
                seen, camera_days, online_days = month["cameras"], month["days"], month["online"]
                lines = []
                for index, camera in enumerate(self.cameras):
                    if camera.installed > day:
                        continue
                    number += 1
                    planted = bad.get((index, day)) if day in bad_days else None
                    if planted is not None:
                        street, online_text, rule = planted
                        lines.append(f"{camera.id},{street},{camera.installed},{text_day},{online_text}\n")
                        self.landing.plant(CAMERAS, path, number, rule)
                        continue
                    online = 1 if rand() < camera.reliability else 0
                    lines.append(f"{camera.prefix}{text_day},{online}\n")
                    if not last_file and self.happens("correction", 0.00002):
                        # the camera-day comes again in the next file with the other value: that one wins
                        self.corrections.append(f"{camera.prefix}{text_day},{1 - online}\n")
                        online = 1 - online
                    seen.add(index)
                    camera_days[camera.street] += 1
                    online_days[camera.street] += online
                handle.write("".join(lines))
            handle.write("".join(pending))
        self.landing.deliver(CAMERAS, path, when)

    def run(self) -> None:
        bad = self.bad_rows()
        months = months_of(self.landing.years)
        for index, (year, month) in enumerate(months):
            ny, nm = add_months(year, month, 1)
            days = [
                date(year, month, 1) + timedelta(days=i) for i in range((date(ny, nm, 1) - date(year, month, 1)).days)
            ]
            if index < len(months) - 1:
                self.write(f"cameras_{year}-{month:02d}.csv", days, datetime(ny, nm, 1, 6, self.rng.randrange(60)), bad)
                if index % 6 == 5:
                    self.landing.progress(f"{CAMERAS}: {index + 1}/{len(months) - 1 + len(days)} files")
                continue
            for day in days:
                when = datetime(day.year, day.month, day.day, 6, self.rng.randrange(60)) + timedelta(days=1)
                self.write(f"cameras_{day:%Y%m%d}.csv", [day], when, bad)
            self.landing.progress(f"{CAMERAS}: {index + len(days)}/{index + len(days)} files")

    def facts(self) -> dict[str, object]:
        """Per month: distinct cameras with a valid row, camera-days and online camera-days, by street."""
        out = {}
        for month, m in sorted(self.months.items()):
            cameras = Counter(self.cameras[i].street for i in m["cameras"])
            out[month] = {
                "cameras": len(m["cameras"]),
                "camera_days": sum(m["days"].values()),
                "online_days": sum(m["online"].values()),
                "by_street": {
                    street: {
                        "cameras": cameras[street],
                        "camera_days": m["days"][street],
                        "online_days": m["online"][street],
                    }
                    for street in sorted(m["days"])
                },
            }
        return out


def generate_incidents(landing: Landing) -> None:
    writer = IncidentWriter(landing)
    writer.run()
    landing.facts["sec_incidents_by_month"] = writer.facts()
    landing.facts["reporter_ids_wrong_check_digit"] = sorted(writer.flagged)


def generate_cameras(landing: Landing) -> None:
    writer = CameraWriter(landing)
    writer.run()
    landing.facts["sec_cameras_by_month"] = writer.facts()
