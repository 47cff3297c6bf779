"""Property tests for 统计期, 计量单位, indicator names and decimal texts: the parsing the statistics feed rests on."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.lib.numbers import MISSING_MARKS, canonical_decimal, decimal_to_float, parse_decimal
from pipelines.lib.periods import MAX_YEAR, MIN_YEAR, Period, parse_period
from pipelines.lib.units import (
    INDICATORS,
    UNITS,
    from_base,
    lookup_indicator,
    lookup_unit,
    normalise_indicator_name,
    to_base,
    unit_fits,
)

years = st.integers(MIN_YEAR, MAX_YEAR)
months = st.integers(1, 12)
spaces = st.sampled_from(["", " ", "  ", "\u3000", "\t"])


# --- periods -----------------------------------------------------------------------------------------------


@given(years, months, spaces, spaces)
def test_every_monthly_form_gives_the_same_key(year: int, month: int, left: str, right: str) -> None:
    expected = Period(f"{year}-{month:02d}", "month")
    for form in (f"{year}-{month:02d}", f"{year}年{month}月", f"{year}年{month:02d}月", f"{year}年1-{month}月"):
        assert parse_period(left + form + right) == expected, form


@given(years, spaces)
def test_annual_forms_give_the_year(year: int, pad: str) -> None:
    assert parse_period(f"{year}") == Period(str(year), "year")
    assert parse_period(f"{pad}{year}年{pad}") == Period(str(year), "year")


@given(st.one_of(st.integers(1000, MIN_YEAR - 1), st.integers(MAX_YEAR + 1, 9999)), months)
def test_years_outside_1949_2100_are_rejected(year: int, month: int) -> None:
    for form in (f"{year}", f"{year}年", f"{year}-{month:02d}", f"{year}年{month}月", f"{year}年1-{month}月"):
        assert parse_period(form) is None, form


@given(years, st.integers(2, 12), months)
def test_a_cumulative_range_must_start_in_january(year: int, start: int, end: int) -> None:
    assert parse_period(f"{year}年{start}-{end}月") is None


@given(years, st.one_of(st.integers(0, 0), st.integers(13, 99)))
def test_months_outside_1_12_are_rejected(year: int, month: int) -> None:
    for form in (f"{year}-{month:02d}", f"{year}年{month}月", f"{year}年1-{month}月"):
        assert parse_period(form) is None, form


@pytest.mark.parametrize(
    "text",
    ["2020-3", "2020-003", "2020/03", "2020.03", "202003", "2020年Q1", "2020Q1", "2020年1—3月", "2020年度",
     "２０２０", "２０２０年", "2020年03", "20", "", "年", "2020年1-3", "2020-03-01", "2020-03-01 00:00:00"],
)  # fmt: skip
def test_other_forms_are_rejected(text: str) -> None:
    assert parse_period(text) is None


@given(st.text())
def test_junk_never_raises_and_anything_accepted_is_one_of_the_five_forms(text: str) -> None:
    period = parse_period(text)
    if period is not None:
        body = text.strip(" \t\r\n\u3000\xa0")
        assert re.fullmatch(r"[0-9]{4}(年|-[0-9]{2}|年[0-9]{1,2}月|年0?1-[0-9]{1,2}月)?", body)
        assert parse_period(period.key) == period  # the key is itself a delivered form of the same period


@given(st.text(alphabet=st.characters(blacklist_categories=["Nd"])))
def test_text_without_digits_is_rejected(text: str) -> None:
    assert parse_period(text) is None


def test_non_text_is_rejected() -> None:
    assert parse_period(None) is None
    assert parse_period(2020) is None


# --- units -------------------------------------------------------------------------------------------------

amounts = st.decimals(min_value=0, max_value=10**12, places=4, allow_nan=False, allow_infinity=False)


@given(amounts, st.sampled_from(sorted(UNITS)))
def test_unit_conversion_round_trips(amount: Decimal, unit: str) -> None:
    assert from_base(to_base(amount, unit), unit) == amount


@given(amounts)
def test_money_units_agree_on_one_amount(amount: Decimal) -> None:
    yuan = to_base(amount, "亿元")
    assert to_base(from_base(yuan, "万元"), "万元") == yuan
    assert from_base(yuan, "万元") == amount * 10_000


def test_base_units_and_factors() -> None:
    assert to_base(Decimal("236.40"), "亿元") == Decimal("23640000000")
    assert float(to_base(Decimal("236.40"), "亿元")) == 23_640_000_000.0  # exact, unlike 236.4 * 1e8
    assert to_base(Decimal("5.12"), "万人") == Decimal(51_200)
    assert {u: UNITS[u].base for u in ("元", "万元", "亿元")} == dict.fromkeys(("元", "万元", "亿元"), "yuan")
    assert {UNITS[u].base for u in ("家", "个", "件")} == {"count"}
    assert UNITS["%"].kind == "ratio"


def test_percent_fits_no_indicator() -> None:
    assert not any(unit_fits(UNITS["%"], indicator) for indicator in INDICATORS.values())


@pytest.mark.parametrize(("name", "unit", "fits"), [("地区生产总值", "亿元", True), ("地区生产总值", "万人", False),
                                                    ("常住人口", "万人", True), ("常住人口", "家", False),
                                                    ("高新技术企业数", "家", True), ("发明专利拥有量", "件", True),
                                                    ("发明专利拥有量", "元", False)])  # fmt: skip
def test_unit_fits_the_indicator_kind(name: str, unit: str, fits: bool) -> None:
    assert unit_fits(UNITS[unit], INDICATORS[name]) is fits


@given(st.text())
def test_unknown_units_are_rejected(text: str) -> None:
    unit = lookup_unit(text)
    assert unit is None or text.strip(" \t\r\n\u3000\xa0") in UNITS


def test_indicator_table_matches_the_contract() -> None:
    assert len(INDICATORS) == 13
    assert INDICATORS["常住人口"] == ("POPULATION", "stock", "persons")
    assert INDICATORS["全社会研发经费支出"] == ("RD_EXPENDITURE", "flow", "money")
    assert {i.unit_kind for i in INDICATORS.values()} == {"money", "persons", "count"}
    assert len({i.code for i in INDICATORS.values()}) == 13


# --- indicator names ---------------------------------------------------------------------------------------


@given(
    st.sampled_from(sorted(INDICATORS)),
    spaces,
    spaces,
    st.sampled_from(["", "（亿元）", "(亿元)", "(R&D)", "（R&D）", " (万元)", "（现价（亿元））"]),
)
def test_name_variants_match_the_base_indicator(name: str, left: str, right: str, suffix: str) -> None:
    assert lookup_indicator(left + name + suffix + right) == INDICATORS[name]


@pytest.mark.parametrize("text", ["研发人员数", "地区生产", "地区生产总值(", "地区 生产总值", "", "GDP"])
def test_unknown_names_are_rejected(text: str) -> None:
    assert lookup_indicator(text) is None


def test_name_normalisation() -> None:
    assert normalise_indicator_name(" 全社会研发经费支出(R&D)\u3000") == "全社会研发经费支出"
    assert normalise_indicator_name("地区生产总值（亿元）") == "地区生产总值"


@given(st.text())
def test_junk_names_never_raise(text: str) -> None:
    indicator = lookup_indicator(text)
    assert indicator is None or indicator in INDICATORS.values()


# --- decimal texts -----------------------------------------------------------------------------------------


@given(st.integers(0, 10**15), st.integers(0, 9999), spaces)
def test_grouped_and_plain_decimals_agree(whole: int, fraction: int, pad: str) -> None:
    plain = f"{whole}.{fraction}"
    grouped = f"{whole:,}.{fraction}"
    assert parse_decimal(pad + plain + pad) == parse_decimal(grouped) == Decimal(plain)


@pytest.mark.parametrize(
    "text", ["1,23", "12,345,67", "1,2345", ",123", "1.", ".5", "1e5", "+5", "1 234", "１２", "0x10", "--5", "—"]
)
def test_malformed_decimals_are_rejected(text: str) -> None:
    assert parse_decimal(text) is None


@given(st.text())
def test_junk_decimals_never_raise(text: str) -> None:
    value = parse_decimal(text)
    assert value is None or value.is_finite()


def test_missing_marks_are_not_numbers() -> None:
    assert {"", "-", "\u2014", "\u2026"} == MISSING_MARKS
    assert all(parse_decimal(mark) is None for mark in MISSING_MARKS)


@given(amounts, st.integers(0, 4))
def test_canonical_decimal_ignores_trailing_zeros(amount: Decimal, zeros: int) -> None:
    padded = Decimal(f"{amount:f}" + ("0" * zeros if "." in f"{amount:f}" else ("." + "0" * zeros if zeros else "")))
    assert canonical_decimal(padded) == canonical_decimal(amount)
    assert Decimal(canonical_decimal(amount)) == amount


def test_decimal_to_float_refuses_infinity() -> None:
    assert decimal_to_float(Decimal("1e400")) is None
    assert decimal_to_float(Decimal("612.50")) == 612.5
    assert decimal_to_float(None) is None


def test_minus_zero_is_zero() -> None:
    assert str(decimal_to_float(parse_decimal("-0.00"))) == "0.0"
