"""The column-wise fast path of the JSON Lines feeds must parse exactly what the Python path parses.

Plain lines (known keys once each, values of the simple type a field expects) are typed column-wise; every other
line goes through `decode_batch`, which stays the authority. Hypothesis mixes plain lines with every kind of
awkward one, for both feeds, and the batch parsed with the fast path must equal the batch parsed without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.ingest import gov_services, security_incidents
from pipelines.ingest.base import FileContext, ParsedBatch
from pipelines.ingest.jsonlines import fast_path
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import load_regions

REGIONS = load_regions()
STREET_CODES = sorted(REGIONS.street_codes)


class Raw(str):
    """A JSON token written into the line verbatim (valid or not)."""


RAW_TOKENS = [
    "-0",
    "-0.0",
    "0",
    "00",
    "01",
    "1.",
    ".5",
    "1e2",
    "1E+2",
    "5.0",
    "NaN",
    "Infinity",
    "-Infinity",
    "true",
    "false",
    "[1]",
    "[]",
    '{"a":1}',
    "{}",
    '"\\ud800"',
    '"\\udfff x"',
    '"\\ud83d\\ude00"',
    '"a\\u0000b"',
    '"\\/\\b\\f\\n\\r\\t"',
    '"\\u00e9\\u4e2d"',
    '" \\u3000x\\u2028 "',
    '"\\x"',
    '"a\tb"',
    "12345678901234567890",
    "-9223372036854775808",
    "9223372036854775807",
    "9223372036854775808",
    "123456789012345678",
    "-123456789012345678",
    "1234567890123456",
    "9999999999999999",
    "1.0000000000000002",
    "0.1",
    "26.88450000000000001",
    "-112.60295",
    "1e400",
    "null",
]
TEXT = st.text(alphabet=st.sampled_from([*'aZ09 -_:"\\/\t\n\x00\x1f\x7f', "é", "中", "张", "\u3000", "\u2028", "😀"]))
TIMESTAMPS = st.sampled_from(
    [
        "2021-05-03T09:12:33+08:00",
        "2021-05-03T01:40:00Z",
        "2021-05-03T01:40:00.123456Z",
        "2021-05-03T09:12:33",
        "2021-05-03 09:12:33",
        "2021-05-03T09:12",
        "2021-05-03",
        " 2021-05-03T09:12:33+08:00 ",
        "2021-05-03T23:59:60+08:00",
        "0000-01-01T00:00:00",
        "2021-02-30T00:00:00",
        "2021-05-03T09:12:33+0530",
        "2021-05-03T09:12:33-03:00",
        "yesterday",
        "",
        " ",
    ]
)
INTS = st.one_of(
    st.integers(-5, 10), st.integers(-(2**70), 2**70), st.sampled_from([5.0, 2.5, True, False, "5", "", [5]])
)
FLOATS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(-200, 200),
    st.integers(-(2**60), 2**60),
    st.sampled_from([True, "26.88", "x", [26.8], 26.8845, -0.0, 0.0005, 112.6025]),
)
SCALARS = st.one_of(
    TEXT,
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.sampled_from([Raw(t) for t in RAW_TOKENS]),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["applicant_id", "x"]), st.text(max_size=3), max_size=2),
)


def _values(field: str, kind: str, enums: dict[str, tuple[str, ...]]) -> st.SearchStrategy:
    if field in enums:
        typical = st.sampled_from([*enums[field], "Other", " online ", ""])
    elif kind == "int":
        typical = INTS
    elif kind == "num":
        typical = FLOATS
    elif field.endswith(("_at",)):
        typical = TIMESTAMPS
    elif field in ("street_code",):
        typical = st.sampled_from([*STREET_CODES, "430406", " 430406001000 "])
    else:
        typical = st.one_of(TEXT, st.integers(-(2**66), 2**66), st.sampled_from(["91110000600037341L", "13800000000"]))
    return st.one_of(typical, typical, typical, st.none(), SCALARS)


def _token(value: object, ensure_ascii: bool) -> str:
    return value if isinstance(value, Raw) else json.dumps(value, ensure_ascii=ensure_ascii)


@st.composite
def lines(draw, kinds: dict[str, str], enums: dict[str, tuple[str, ...]]) -> str:
    shape = draw(st.sampled_from(["object"] * 8 + ["raw", "array", "scalar"]))
    if shape == "raw":
        return draw(
            st.sampled_from(
                [
                    "{",
                    "not json",
                    '{"event_id":"a",}',
                    '{"incident_id":"a",}',
                    "{'a': 1}",
                    '{"a":1}{"b":2}',
                    '{"lat":NaN}',
                    '{"visits":Infinity}',
                    '\ufeff{"event_id":"e"}',
                    '{"event_id":"e"}\r',
                    "\u3000{}",
                    " {} ",
                    "{}",
                    '{"event_id":"\\ud800"}',
                    '{"event_\\u0069d":"e"}',
                ]
            )
        )
    if shape == "array":
        return json.dumps([draw(SCALARS) for _ in range(draw(st.integers(0, 2)))])
    if shape == "scalar":
        return _token(draw(SCALARS), True)
    names = draw(st.lists(st.sampled_from(list(kinds)), max_size=len(kinds) + 2))
    if draw(st.integers(0, 9)) == 0:  # an unknown key
        names.append(draw(st.sampled_from(["note", "Event_id", "lat ", "reporter_name_2"])))
    if draw(st.integers(0, 9)) > 1:  # mostly each key once, in any order
        names = list(dict.fromkeys(names))
    ensure_ascii = draw(st.booleans())
    colon, comma = draw(st.sampled_from([(":", ","), (": ", ", "), (" : ", " , "), (":\t", ",")]))
    members = [
        json.dumps(name) + colon + _token(draw(_values(name, kinds.get(name, "text"), enums)), ensure_ascii)
        for name in names
    ]
    pad = draw(st.sampled_from(["", " ", "\t"]))
    return pad + "{" + comma.join(members) + "}" + pad


GOV_ENUMS = {
    "event_type": gov_services.EVENT_TYPES,
    "channel": gov_services.CHANNELS,
    "applicant_type": gov_services.APPLICANT_TYPES,
}
SEC_ENUMS = {"category": security_incidents.CATEGORIES, "source": security_incidents.SOURCES}


def _ctx(feed: str) -> FileContext:
    return FileContext(
        feed=feed,
        path=Path("unused.jsonl"),
        source_file=f"{feed}/unused.jsonl",
        regions=REGIONS,
        pseudonymise=Pseudonymiser(b"test-key"),
        raw_table_dir=Path("unused"),
    )


def _parse(feed: str, batch: list[tuple[int, str]], *, fast: bool) -> ParsedBatch:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_path, "FAST_PATH", fast)
        ctx = _ctx(feed)
        if feed == "gov_services":
            return gov_services.PARSER._parse_batch(batch, ctx, {})
        rules = security_incidents._rules(ctx.regions.street_codes)
        return security_incidents.PARSER._parse_batch(batch, ctx, {}, rules)


def _assert_same(feed: str, texts: list[str]) -> None:
    batch = [(n, str(t)) for n, t in enumerate(texts, start=3) if t and not t.isspace()]  # a line is a plain str
    if not batch:
        return
    fast, slow = _parse(feed, batch, fast=True), _parse(feed, batch, fast=False)
    assert_frame_equal(fast.valid, slow.valid)
    assert_frame_equal(fast.quarantined, slow.quarantined)


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.lists(lines(gov_services.KINDS, GOV_ENUMS), min_size=1, max_size=25))
def test_gov_services_fast_path_equals_python_path(texts: list[str]) -> None:
    _assert_same("gov_services", texts)


@SETTINGS
@given(st.lists(lines(security_incidents.KINDS, SEC_ENUMS), min_size=1, max_size=25))
def test_security_incidents_fast_path_equals_python_path(texts: list[str]) -> None:
    _assert_same("security_incidents", texts)


@pytest.mark.parametrize("token", RAW_TOKENS)
@pytest.mark.parametrize(
    ("feed", "field"),
    [
        ("gov_services", "event_id"),
        ("gov_services", "item_name"),
        ("gov_services", "occurred_at"),
        ("gov_services", "visits"),
        ("gov_services", "applicant_id"),
        ("security_incidents", "incident_id"),
        ("security_incidents", "lat"),
        ("security_incidents", "reporter_id_number"),
    ],
)
def test_each_awkward_token_in_each_kind_of_field(feed: str, field: str, token: str) -> None:
    good = (
        {"event_id": "e", "case_id": "c", "event_type": "submitted", "occurred_at": "2021-05-03T09:12:33+08:00"}
        if feed == "gov_services"
        else {
            "incident_id": "i",
            "received_at": "2021-05-03T09:12:33+08:00",
            "category": "fire",
            "street_code": STREET_CODES[0],
            "source": "patrol",
        }
    )
    members = [f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in good.items() if k != field]
    line = "{" + ",".join([*members, f'"{field}":{token}']) + "}"
    _assert_same(feed, [json.dumps(good), line, json.dumps({**good, field: None})])


def _gov_line(i: int) -> str:
    kind = ("submitted", "accepted", "completed", "rated")[i % 4]
    record: dict[str, object] = {
        "event_id": f"EV2021050100{i:04d}",
        "case_id": f"ZW20210501{i // 4:04d}",
        "event_type": kind,
        "occurred_at": f"2021-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:33+08:00",
    }
    if kind == "submitted":
        record |= {
            "item_code": "ZJ004",
            "item_name": "建筑业企业资质审批",
            "department": "区住房和城乡建设局",
            "channel": ("online", "app", "window", "self_service")[i % 4],
            "applicant_type": "enterprise" if i % 3 else "person",
            "applicant_id": f"9143010061467{i % 1000:04d}C",
            "applicant_phone": f"133{i:08d}",
        }
    elif kind == "accepted":
        record["promised_days"] = 3
    elif kind == "completed":
        record |= {"visits": i % 3, "promised_days": None, "rating": None, "channel": None}
    else:
        record["rating"] = 1 + i % 5
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _incident_line(i: int) -> str:
    record = {
        "incident_id": f"JQ20210503{i:04d}",
        "received_at": "2021-05-03T22:14:05+08:00",
        "dispatched_at": "2021-05-03T22:15:30+08:00",
        "arrived_at": None if i % 2 else "2021-05-03T22:26:41+08:00",
        "closed_at": None,
        "category": security_incidents.CATEGORIES[i % 7],
        "street_code": STREET_CODES[i % len(STREET_CODES)],
        "lat": 26.8841 + i / 10_000,
        "lon": 112.6029,
        "source": "call_110",
        "reporter_name": "张三",
        "reporter_phone": f"139{i:08d}",
        "reporter_id_number": "11010519491231002X",
    }
    return json.dumps(record, ensure_ascii=bool(i % 5 == 0))


@pytest.mark.parametrize(
    ("feed", "make"), [("gov_services", _gov_line), ("security_incidents", _incident_line)], ids=["gov", "sec"]
)
def test_realistic_lines_take_the_fast_path(feed: str, make) -> None:
    texts = [make(i) for i in range(2_000)]
    texts[7] = texts[7][:-1] + ',"note":"x"}'  # an unknown key: Python path
    texts[11] = "not json"
    kinds = gov_services.KINDS if feed == "gov_services" else security_incidents.KINDS
    batch = list(enumerate(texts, start=1))
    plain, rest = fast_path.split_plain(batch, kinds)
    assert plain is not None
    assert [n for n, _ in rest] == [8, 12]
    assert plain.height == len(texts) - 2
    _assert_same(feed, texts)
    fast = _parse(feed, batch, fast=True)
    assert fast.valid.height >= len(texts) - 2 - (len(texts) // 10)


def test_every_field_has_a_kind() -> None:
    assert set(gov_services.KINDS) == set(gov_services.FIELDS)
    assert set(security_incidents.KINDS) == set(security_incidents.FIELDS)


def test_fast_path_off_sends_every_line_to_python() -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fast_path, "FAST_PATH", False)
        batch = [(1, _gov_line(1))]
        assert fast_path.split_plain(batch, gov_services.KINDS) == (None, batch)
