"""gov_services/: events of the district's government-service platform (政务服务平台), JSON Lines.

Cases are simulated day by day; each case's events (submitted → accepted → completed → rated, or a
rejection) land in the file of the period they occurred in, so a case spans files and days. The GS facts
of the manifest are counted here from the same simulation, by the rules of FEEDS.md.
"""

from __future__ import annotations

import json
from bisect import bisect
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .common import JsonlFiles, Landing, Occasions, iso_time, make_mobile, make_resident_id, make_uscc, months_of

FEED = "gov_services"
FULL_SCALE_CASES_PER_YEAR = 250_000

# department → (share of cases, items as (code, name, share of person applicants, promised days))
DEPARTMENTS: dict[str, tuple[float, list[tuple[str, str, float, int]]]] = {
    "区市场监督管理局": (
        0.22,
        [
            ("SJ001", "企业设立登记", 0.0, 3),
            ("SJ002", "食品经营许可", 0.0, 10),
            ("SJ003", "个体工商户设立登记", 0.6, 3),
            ("SJ004", "企业变更登记", 0.0, 3),
        ],
    ),
    "区人力资源和社会保障局": (
        0.21,
        [
            ("RS001", "失业保险金申领", 1.0, 5),
            ("RS002", "就业登记", 1.0, 1),
            ("RS003", "社会保障卡申领", 1.0, 7),
            ("RS004", "职业技能培训补贴申领", 1.0, 15),
            ("RS005", "单位社会保险登记", 0.0, 2),
        ],
    ),
    "区住房和城乡建设局": (
        0.08,
        [
            ("ZJ001", "建筑工程施工许可", 0.0, 7),
            ("ZJ002", "商品房预售许可", 0.0, 10),
            ("ZJ003", "房屋租赁登记备案", 1.0, 3),
            ("ZJ004", "建筑业企业资质审批", 0.0, 20),
        ],
    ),
    "区民政局": (
        0.09,
        [
            ("MZ001", "结婚登记", 1.0, 1),
            ("MZ002", "最低生活保障申请", 1.0, 20),
            ("MZ003", "高龄津贴申领", 1.0, 10),
            ("MZ004", "社会组织成立登记", 0.0, 15),
        ],
    ),
    "区卫生健康局": (
        0.07,
        [("WJ001", "医疗机构执业登记", 0.0, 20), ("WJ002", "公共场所卫生许可", 0.0, 10), ("WJ003", "生育登记", 1.0, 1)],
    ),
    "区医疗保障局": (
        0.16,
        [
            ("YB001", "异地就医备案", 1.0, 1),
            ("YB002", "医保关系转移接续", 1.0, 10),
            ("YB003", "门诊慢特病待遇认定", 1.0, 15),
        ],
    ),
    "国家税务总局衡阳市雁峰区税务局": (
        0.17,
        [
            ("SW001", "增值税发票领用", 0.0, 1),
            ("SW002", "个人所得税综合所得汇算退税", 1.0, 5),
            ("SW003", "税务登记信息变更", 0.0, 1),
        ],
    ),
}
CHANNELS = ["online", "app", "window", "self_service"]
RATINGS = [5, 4, 3, 2, 1]
# Online submissions through the day, by hour (people file from home in the evening too).
ONLINE_HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 5, 8, 9, 8, 6, 6, 8, 8, 7, 6, 5, 5, 6, 6, 4, 2]
# In-person visits a completed case took, by channel ("最多跑一次": hardly ever more than one).
VISITS = {"online": [0, 1, 2], "app": [0, 1, 2], "self_service": [0, 1, 2], "window": [1, 2, 3]}
VISIT_SHARES = {"online": [0.9, 0.09, 0.01], "app": [0.9, 0.09, 0.01], "self_service": [0.6, 0.38, 0.02]}
VISIT_SHARES["window"] = [0.85, 0.12, 0.03]
# Optional fields some exporters write as null on events they do not apply to.
NULLS = {
    "accepted": ',"visits":null,"rating":null,"channel":null',
    "completed": ',"promised_days":null,"rating":null,"channel":null',
    "rated": ',"visits":null,"promised_days":null,"channel":null',
    "rejected": ',"visits":null,"promised_days":null,"rating":null,"channel":null',
}


def cumulative(weights: list[float]) -> list[float]:
    """Cumulative shares ending in 1.0, for drawing with `bisect(cum, random())`."""
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return [c / total for c in out[:-1]] + [1.0 + 1e-9]


DEPARTMENT_TABLE = [(name, items) for name, (_, items) in DEPARTMENTS.items()]
DEPARTMENT_CUM = cumulative([share for share, _ in DEPARTMENTS.values()])
RATINGS_CUM = cumulative([0.78, 0.15, 0.04, 0.02, 0.01])
ONLINE_HOURS_CUM = cumulative(ONLINE_HOURS)
VISITS_CUM = {channel: cumulative(shares) for channel, shares in VISIT_SHARES.items()}


# What the manifest counts per Asia/Shanghai month, so tests can recompute every GS_* rate.
GS_COUNTERS = [
    "submitted",  # by month of submission
    "submitted_online_or_app",
    "completed",  # by month of completion, from here on
    "completed_visits_le1",
    "completed_visits_0",
    "completed_accepted",
    "completed_on_time",
    "processing_days_sum",
    "rated",
    "rated_ge4",
]


def channel_shares(year: int) -> list[float]:
    """Online and app shares rise a few points a year (一网通办); the window loses them."""
    step = max(-4, min(6, year - 2019))
    online, app, self_service = 0.30 + 0.03 * step, 0.18 + 0.035 * step, 0.07
    return [online, app, 1 - online - app - self_service, self_service]


def dumps(event: dict[str, object]) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Applicant:
    kind: str
    id: str
    phone: str


class GovWriter:
    def __init__(self, landing: Landing) -> None:
        self.landing = landing
        self.rng = landing.rng(FEED)
        self.files = JsonlFiles(landing, FEED, "gov_services", "events", landing.rng(FEED + "/files"))
        self.persons = self.make_persons(landing.volume(120_000, 150))
        self.firms = self.make_firms(landing.volume(15_000, 40))
        self.case_seq: dict[date, int] = {}
        self.stats: dict[str, dict[str, float]] = {}
        self.by_department: dict[str, dict[str, int]] = {}
        self.happens = Occasions(self.rng)
        items = [f"{d} {code} {name}" for d, (_, its) in DEPARTMENTS.items() for code, name, _, _ in its]
        landing.public_text += "\n".join(items) + "\n"

    def make_persons(self, count: int) -> list[Applicant]:
        rng, seen, out = self.rng, set(), []
        while len(out) < count:
            number = make_resident_id(rng)
            if number not in seen:
                seen.add(number)
                out.append(Applicant("person", number, make_mobile(rng)))
        return out

    def make_firms(self, count: int) -> list[Applicant]:
        """Applicant firms: individual businesses (92430406…) and companies registered by the city or the
        province (91430400…, 91430100…). No code is an R&D filer's (91430406…): theirs are not personal."""
        rng, seen, out = self.rng, set(), []
        while len(out) < count:
            kind, division = rng.choice([("92", "430406"), ("92", "430406"), ("91", "430400"), ("91", "430100")])
            code = make_uscc(rng, division, kind)
            if code not in seen:
                seen.add(code)
                out.append(Applicant("enterprise", code, make_mobile(rng)))
        return out

    # --- one case ------------------------------------------------------------------------------------

    def stat(self, month: str) -> dict[str, float]:
        return self.stats.setdefault(month, dict.fromkeys(GS_COUNTERS, 0))

    def case(self, day: datetime, seq: int, channel_cum: list[float], month: str, first_of_month: bool) -> None:
        """One case: draw it, write its events, and count it as FEEDS.md says ingestion will."""
        rand = self.rng.random
        department, items = DEPARTMENT_TABLE[bisect(DEPARTMENT_CUM, rand())]
        item_code, item_name, person_share, promised = items[int(rand() * len(items))]
        pool = self.persons if rand() < person_share else self.firms
        applicant = pool[int(rand() * len(pool))]
        channel = CHANNELS[bisect(channel_cum, rand())]
        if day.weekday() == 6 and channel in ("window", "self_service"):
            channel = "app"  # halls are closed on Sundays
        online = channel in ("online", "app")
        hour = bisect(ONLINE_HOURS_CUM, rand()) if online else 8 + int(rand() * 10)
        submitted = day + timedelta(seconds=hour * 3600 + int(rand() * 3600))
        style = "naive" if channel == "self_service" and rand() < 0.3 else self.style()
        if first_of_month and seq == 1:  # just after midnight, written in UTC: the previous day in Z time
            channel, style, online = "online", "Z", True
            submitted = day + timedelta(seconds=300 + int(rand() * 2700))
        case_id = f"ZW{day:%Y%m%d}{seq:04d}"
        draw = rand()  # the phone is mostly given, sometimes null, sometimes absent
        with_phone = 0.03 <= draw < 0.97
        phone = f',"applicant_phone":"{applicant.phone}"' if with_phone else ',"applicant_phone":null'
        if draw >= 0.97:
            phone = ""
        # Values are our own codes and names, none needing JSON escapes: a template is safe and fast.
        first = (
            f'{{"event_id":"EV{case_id[2:]}01","case_id":"{case_id}","event_type":"submitted",'
            f'"occurred_at":"{iso_time(submitted, style)}","item_code":"{item_code}","item_name":"{item_name}",'
            f'"department":"{department}","channel":"{channel}","applicant_type":"{applicant.kind}",'
            f'"applicant_id":"{applicant.id}"{phone}}}'
        )
        self.landing.pii.add(applicant.id)
        if with_phone:
            self.landing.pii.add(applicant.phone)
        events: list[tuple[datetime, str, str]] = []  # (time, event_type, extra fields as JSON text)
        accepted = completed = None
        visits = 0
        outcome = rand()
        if outcome < 0.025:
            events.append((submitted + timedelta(seconds=1800 + int(rand() * 3 * 86400)), "rejected", ""))
        else:
            delay = 300 + int(rand() * 3300) if not online else 1800 + int(rand() * 29 * 3600)
            accepted = submitted + timedelta(seconds=delay)
            events.append((accepted, "accepted", f',"promised_days":{promised}'))
            if outcome < 0.035:
                events.append((accepted + timedelta(seconds=86400 + int(rand() * 4 * 86400)), "rejected", ""))
            else:
                factor = 0.05 + rand() * 0.93 if rand() < 0.93 else 1.02 + rand() * 0.78
                completed = accepted + timedelta(seconds=int(promised * 86400 * factor))
                visits = VISITS[channel][bisect(VISITS_CUM[channel], rand())]
                events.append((completed, "completed", f',"visits":{visits}'))
                if rand() < 0.62:
                    rated = completed + timedelta(seconds=600 + int(rand() * 72 * 3600))
                    events.append((rated, "rated", f',"rating":{RATINGS[bisect(RATINGS_CUM, rand())]}'))
                    if rand() < 0.02:  # the applicant changed their mind: the latest rating counts
                        rated += timedelta(seconds=86400 + int(rand() * 9 * 86400))
                        events.append((rated, "rated", f',"rating":{RATINGS[bisect(RATINGS_CUM, rand())]}'))
        self.emit(case_id, submitted, first, events)

        # Facts, from what is delivered: events after the range's end never arrive.
        s = self.stat(month)
        s["submitted"] += 1
        s["submitted_online_or_app"] += online
        dept = self.by_department.setdefault(month, {})
        dept[department] = dept.get(department, 0) + 1
        end = self.files.end
        if completed is not None and accepted is not None and completed < end:
            c = self.stat(f"{completed.year:04d}-{completed.month:02d}")
            c["completed"] += 1
            c["completed_visits_le1"] += visits <= 1
            c["completed_visits_0"] += visits == 0
            c["completed_accepted"] += 1
            elapsed = (completed - accepted).total_seconds()
            c["completed_on_time"] += elapsed <= promised * 86400
            c["processing_days_sum"] += elapsed / 86400
            ratings = [(t, extra) for t, kind, extra in events if kind == "rated" and t < end]
            if ratings:
                c["rated"] += 1
                c["rated_ge4"] += int(max(ratings)[1].rsplit(":", 1)[1]) >= 4

    def style(self) -> str:
        return "Z" if self.rng.random() < 0.15 else "+08"

    def emit(self, case_id: str, submitted: datetime, first: str, events: list[tuple[datetime, str, str]]) -> None:
        """Place each event in its file; now and then late, repeated, or with null optional fields.
        Each messy case is forced until it has happened a few times, so small scales have them too."""
        files = self.files
        key = files.key(submitted)
        assert key is not None
        nxt = files.next_key(key)
        if nxt is not None and self.happens("late_submitted", 0.002):
            files.add(nxt, submitted, first)  # the submitted event arrives a file late, after its successors
        else:
            files.add(key, submitted, first)
            if nxt is not None and self.happens("repeat", 0.003):
                files.add(nxt, submitted, first)
        rand = self.rng.random
        for number, (moment, kind, extra) in enumerate(events, start=2):
            key = files.key(moment)
            if key is None:
                continue
            nulls = NULLS[kind] if rand() < 0.1 else ""  # some exporters write every column, null if unused
            head = f'{{"event_id":"EV{case_id[2:]}{number:02d}","case_id":"{case_id}","event_type":"{kind}",'
            line = f'{head}"occurred_at":"{iso_time(moment, self.style())}"{extra}{nulls}}}'
            files.add(key, moment, line)
            nxt = files.next_key(key)
            if nxt is None:
                continue
            if kind == "rated" and self.happens("repeat_other_rating", 0.0002):
                # a repeat carrying another rating: the first delivered copy counts
                other = ',"rating":5' if extra != ',"rating":5' else ',"rating":1'
                files.add(nxt, moment, line.replace(extra, other))
            elif self.happens("repeat", 0.003):  # at-least-once delivery: the same line again, later
                files.add(nxt, moment, line)

    # --- planted lines -------------------------------------------------------------------------------

    def plants(self, year: int, month: int, index: int) -> None:
        """Bad lines in the first months' files, each a fresh case so nothing valid depends on them."""
        rules = {
            0: ["not_json", "missing_event_id"],
            1: ["truncated_json", "missing_case_id"],
            2: ["missing_event_type", "unknown_event_type"],
            3: ["missing_occurred_at", "unknown_channel"],
            4: ["unknown_applicant_type"],
        }.get(index, [])
        rng = self.rng
        for rule in rules:
            day = date(year, month, rng.randint(2, 27))
            seq = self.case_seq[day] = self.case_seq.get(day, 0) + 1
            moment = datetime(year, month, day.day, rng.randint(9, 16), rng.randrange(60), rng.randrange(60))
            applicant = rng.choice(self.persons)
            case_id = f"ZW{day:%Y%m%d}{seq:04d}"
            event: dict[str, object] = {
                "event_id": f"EV{case_id[2:]}01",
                "case_id": case_id,
                "event_type": "submitted",
                "occurred_at": iso_time(moment, "+08"),
                "item_code": "RS003",
                "item_name": "社会保障卡申领",
                "department": "区人力资源和社会保障局",
                "channel": "online",
                "applicant_type": "person",
                "applicant_id": applicant.id,
                "applicant_phone": applicant.phone,
            }
            pii = [applicant.id, applicant.phone]
            if rule == "not_json":
                line, pii = f"<html><head><title>502 Bad Gateway</title></head></html> {moment:%Y-%m-%d %H:%M:%S}", []
            elif rule == "truncated_json":
                text = dumps(event)
                line = text[: text.index('"applicant_phone"') + 24]  # cut mid-number by a full disk
                pii = [applicant.id]
            else:
                field, value = {
                    "missing_event_id": ("event_id", None),
                    "missing_case_id": ("case_id", None),
                    "missing_event_type": ("event_type", None),
                    "missing_occurred_at": ("occurred_at", None),
                    "unknown_event_type": ("event_type", "cancelled"),
                    "unknown_channel": ("channel", "wechat"),
                    "unknown_applicant_type": ("applicant_type", "government"),
                }[rule]
                if value is None:
                    del event[field]
                else:
                    event[field] = value
                line = dumps(event)
            key = self.files.key(moment)
            assert key is not None
            self.files.plant(key, line, rule, pii)

    # --- the range -----------------------------------------------------------------------------------

    def run(self) -> None:
        months = months_of(self.landing.years)
        for index, (year, month) in enumerate(months):
            if month == 1:
                per_day = self.day_counts(year)
            channel_cum = cumulative(channel_shares(year))
            day = datetime(year, month, 1)
            while day.month == month:
                for seq in range(1, per_day[day.date()] + 1):
                    self.case(
                        day, seq, channel_cum, f"{year:04d}-{month:02d}", first_of_month=day.day == 1 and index > 0
                    )
                self.case_seq[day.date()] = per_day[day.date()]
                day += timedelta(days=1)
            self.plants(year, month, index)
            self.files.flush_through(year, month)
        self.files.finish()

    def day_counts(self, year: int) -> dict[date, int]:
        """Cases per day: weekdays full, Saturdays about half, Sundays a third; exact yearly total."""
        total = self.landing.volume(FULL_SCALE_CASES_PER_YEAR, 100)
        days = [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]
        weights = [{5: 0.45, 6: 0.3}.get(d.weekday(), 1.0) * self.rng.uniform(0.85, 1.15) for d in days]
        scale = total / sum(weights)
        counts, running, done = {}, 0.0, 0
        for d, w in zip(days, weights, strict=True):
            running += w * scale
            counts[d] = round(running) - done
            done += counts[d]
        return counts


def generate(landing: Landing) -> None:
    writer = GovWriter(landing)
    year, month = landing.years[0], 3
    writer.files.resend[(year, month, 0)] = f"events_{year}-{month:02d}_resend.jsonl"
    writer.run()
    landing.facts["gs_by_month"] = {
        m: {k: round(v, 6) if isinstance(v, float) else v for k, v in s.items()}
        for m, s in sorted(writer.stats.items())
    }
    landing.facts["gs_submitted_by_department"] = {
        m: dict(sorted(d.items())) for m, d in sorted(writer.by_department.items())
    }
