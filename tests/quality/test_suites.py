"""The suites on small frames, with real Great Expectations: each kind of expectation passes on clean data and
fails, with the right name, severity and sample, on one planted problem."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from pipelines.defs.quality import checks
from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.settings import QualitySettings
from pipelines.lib.settings import QualityThresholds as Thresholds
from pipelines.quality.frames import row_count_frame
from pipelines.quality.gx_runner import run_suites
from pipelines.quality.results import REDACTED, RuleResult
from pipelines.quality.suites.catalogue import COMMAND, QUALITY_DOC, all_suites, render
from pipelines.quality.suites.marts import MARTS
from pipelines.quality.suites.marts import build_suites as mart_suites
from pipelines.quality.suites.raw import build_suites as raw_suites

STREET = "430406001000"
PSEUDONYM = "p:" + "ab" * 32


def _failed(results) -> dict[str, RuleResult]:
    return {r.expectation: r for r in results if not r.passed}


# --- marts.indicator_values ---------------------------------------------------------------------------------


def _value(code, region, period, value, unit, dimension="total", member="total", conf_status="F") -> dict:
    return {
        "indicator_code": code,
        "region_code": region,
        "period": period,
        "period_type": "month" if "-" in period else "year",
        "dimension": dimension,
        "member": member,
        "value": value,
        "unit": unit,
        "conf_status": conf_status,
    }


def _indicator_values() -> pd.DataFrame:
    return pd.DataFrame(
        [
            _value("GDP", "430406", "2020", 2.4e10, "yuan"),
            _value("GDP", "430406", "2021", 2.6e10, "yuan"),
            _value("HT_VALUE_ADDED", "430406", "2020", 8.4e9, "yuan"),
            _value("HT_VALUE_ADDED", "430406", "2021", 9.4e9, "yuan"),
            _value("HT_VA_SHARE", "430406", "2021", 0.36, "ratio"),
            _value("RD_INTENSITY", "430406", "2021", 0.029, "ratio"),
            _value("RD_INTENSITY", "100000", "2021", 0.024, "ratio"),
            _value("TECH_CONTRACT_TURNOVER", "430406", "2020-03", 1.0e8, "yuan"),
            _value("TECH_CONTRACT_TURNOVER", "430406", "2021-03", 1.3e8, "yuan"),
            _value("POPULATION", "430406", "2021", 36000.0, "persons"),
            _value("PATENTS_PER_10K", "430406", "2021", 14.7, "per_10k"),
            _value("SEC_INCIDENTS", STREET, "2021-03", 12.0, "count"),
            _value("SEC_INCIDENTS", "430406", "2021-03", 3.0, "count", "category", "theft"),
            _value("SEC_MEDIAN_RESPONSE_MIN", STREET, "2021-03", 9.5, "minutes"),
            _value("GS_AVG_PROCESSING_DAYS", "430406", "2021-03", 3.2, "days"),
            _value("GS_ONLINE_SHARE", "430406", "2021-03", 0.6, "ratio"),
            _value("ENT_RD_EXPENDITURE", STREET, "2021", None, "yuan", conf_status="A"),  # withheld: no value
            _value("ENT_RD_INTENSITY", STREET, "2021", None, "ratio", conf_status="D"),
        ]
    )


def _mart_frames(frame: pd.DataFrame, built: int = 100, published: int | None = 100) -> dict:
    return {"rows": frame, "row_count": row_count_frame(built, published)}


def _plant(frame: pd.DataFrame, code: str, at: str, **changes) -> pd.DataFrame:
    """Change the first row of an indicator and period."""
    out = frame.copy()
    first = out.index[(out["indicator_code"] == code) & (out["period"] == at)][0]
    for column, value in changes.items():
        out.loc[first, column] = value
    return out


def test_a_clean_indicator_values_frame_passes_every_expectation():
    results = run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(_indicator_values()))
    assert _failed(results) == {}
    names = {r.expectation for r in results}
    assert {"ht_value_added_within_gdp", "yoy_change_within_band", "row_count_not_dropped"} <= names


# Each planted row breaks one rule (or the rules named with it), on a key of its own, so one validation shows
# that every planted problem fails exactly its expectations and nothing else.
PLANTED = [
    (_value("HT_VA_SHARE", "430400", "2021", 36.0, "ratio"), {"ratios_within_unit_interval"}),  # a percentage
    (_value("RD_INTENSITY", "430000", "2021", 0.15, "ratio"), {"rd_intensity_within_band"}),
    (_value("SEC_INCIDENTS", "430406002000", "2021-04", -3.0, "count"), {"counts_non_negative"}),
    (_value("TECH_CONTRACT_TURNOVER", "430400", "2021-05", -1.0, "yuan"), {"money_non_negative"}),
    (_value("GS_AVG_PROCESSING_DAYS", "430406", "2021-04", -0.5, "days"), {"durations_non_negative"}),
    (_value("PATENTS_PER_10K", "430400", "2021", -1.0, "per_10k"), {"per_10k_non_negative"}),
    (_value("POPULATION", "999999", "2021", 1.0, "persons"), {"region_code_known"}),
    (_value("POPULATION", "430400", "2021年", 1.0, "persons") | {"period_type": "year"}, {"year_period_format"}),
    (_value("GS_ONLINE_SHARE", "430406", "2021-13", 0.5, "ratio"), {"month_period_format"}),
    (_value("RD_INTENSITY", "430406", "2021-12", 0.03, "ratio"), {"frequency_matches_catalogue"}),  # annual only
    (_value("GDP", "430000", "2021", 5e12, "count"), {"unit_matches_catalogue"}),
    (
        _value("NOT_IN_CATALOGUE", "430406", "2021", 1.0, "count"),  # nor its frequency or unit
        {"indicator_code_known", "frequency_matches_catalogue", "unit_matches_catalogue"},
    ),
    (_value("GS_ONLINE_SHARE", "430406", "2021-05", 0.5, None), {"unit_not_null", "unit_matches_catalogue"}),
    (_value("ENT_RD_PERSONNEL", STREET, "2021", None, "persons"), {"value_not_null"}),  # free without a value
    (_value("ENT_RD_PERSONNEL", "430406", "2021", 12.0, "persons", conf_status="X"), {"conf_status_known"}),
]


def test_each_planted_problem_fails_exactly_its_expectations_and_names_its_row():
    frame = pd.concat([_indicator_values(), pd.DataFrame([row for row, _ in PLANTED])], ignore_index=True)
    failed = _failed(run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(frame)))
    expected = {name for _, names in PLANTED for name in names}
    assert {name for name, r in failed.items() if r.blocks} == expected
    for name in expected:
        plants = [row for row, names in PLANTED if name in names]
        assert failed[name].unexpected_count == len(plants), name
        keys = {(s.get("indicator_code"), s.get("region_code"), s.get("period")) for s in failed[name].sample}
        assert {(row["indicator_code"], row["region_code"], row["period"]) for row in plants} <= keys, name


def test_high_tech_value_added_above_gdp_fails_with_both_values_in_the_sample():
    frame = _plant(_indicator_values(), "HT_VALUE_ADDED", "2021", value=9.9999e12)
    failed = _failed(run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(frame)))
    result = failed["ht_value_added_within_gdp"]
    assert result.blocks and result.unexpected_count == 1
    assert result.sample == [{"gdp": 2.6e10, "region_code": "430406", "period": "2021", "ht_value_added": 9.9999e12}]
    assert "ht_value_added_within_gdp" in result.describe() and "9999900000000.0" in result.describe()


def test_equal_ht_and_gdp_pass_and_a_region_without_gdp_has_no_pair():
    frame = _plant(_indicator_values(), "HT_VALUE_ADDED", "2021", value=2.6e10)
    frame = pd.concat([frame, pd.DataFrame([_value("HT_VALUE_ADDED", "430400", "2021", 5e12, "yuan")])])
    assert "ht_value_added_within_gdp" not in _failed(
        run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(frame))
    )


def test_a_duplicate_figure_breaks_the_grain():
    frame = _indicator_values()
    frame = pd.concat([frame, frame.iloc[[0]]])
    failed = _failed(run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(frame)))
    assert set(failed) == {"grain_unique"}


def test_a_year_over_year_jump_only_warns():
    frame = _plant(_indicator_values(), "TECH_CONTRACT_TURNOVER", "2021-03", value=1.0e8 * 1.6)
    failed = _failed(run_suites(mart_suites("indicator_values", Thresholds()), _mart_frames(frame)))
    assert set(failed) == {"yoy_change_within_band"}
    warning = failed["yoy_change_within_band"]
    assert warning.severity == "warn" and not warning.blocks
    (sample,) = warning.sample
    assert sample["indicator_code"] == "TECH_CONTRACT_TURNOVER" and sample["period"] == "2021-03"
    assert sample["previous_value"] == 1.0e8 and round(sample["yoy_change"], 2) == 0.6


def test_the_year_over_year_band_is_configurable(monkeypatch):
    frame = _plant(_indicator_values(), "TECH_CONTRACT_TURNOVER", "2021-03", value=1.0e8 * 1.6)
    monkeypatch.setenv("INNOSTAT_QUALITY_YOY_MAX_CHANGE", "0.75")
    thresholds = QualitySettings.from_env().thresholds
    assert thresholds.yoy_max_change == 0.75
    assert _failed(run_suites(mart_suites("indicator_values", thresholds), _mart_frames(frame))) == {}
    monkeypatch.setenv("INNOSTAT_QUALITY_YOY_MAX_CHANGE", "lots")
    with pytest.raises(ValueError, match="INNOSTAT_QUALITY_YOY_MAX_CHANGE='lots' is not a number"):
        QualitySettings.from_env()


@pytest.mark.parametrize(
    ("built", "published", "share", "passes"),
    [
        (80, 100, 0.2, True),  # exactly the allowed drop
        (79, 100, 0.2, False),
        (150, 100, 0.2, True),  # growth always passes
        (0, None, 0.2, True),  # nothing published yet
        (60, 100, 0.5, True),  # a wider configured share
    ],
)
def test_a_mart_may_not_lose_more_rows_than_the_configured_share(built, published, share, passes):
    frames = _mart_frames(_indicator_values(), built, published)
    failed = _failed(run_suites(mart_suites("indicator_values", Thresholds(max_row_drop_share=share)), frames))
    assert ("row_count_not_dropped" not in failed) is passes
    if not passes:
        assert failed["row_count_not_dropped"].blocks
        assert failed["row_count_not_dropped"].sample[0]["rows_published"] == published


# --- raw tables ---------------------------------------------------------------------------------------------


def _statistics_rows() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"region_code": "430406", "indicator_code": "GDP", "period": "2021", "period_type": "year",
             "value": 2.6e10, "unit": "yuan", "status": "快报", "source_file": "statistics/2021.csv",
             "source_sheet": None, "source_row": 2},
            {"region_code": "430406", "indicator_code": "POPULATION", "period": "2021-03", "period_type": "month",
             "value": None, "unit": "persons", "status": "最终核实", "source_file": "statistics/2021.csv",
             "source_sheet": None, "source_row": 3},
        ]
    )  # fmt: skip


def _delivery(*files: tuple[str, str, int, int, int]) -> pd.DataFrame:
    frame = pd.DataFrame(
        files, columns=["source_file", "status", "rows_loaded", "rows_quarantined", "rows_skipped"]
    ).assign(reason=None)
    return frame.assign(rows_delivered=frame["rows_loaded"] + frame["rows_skipped"])


def test_clean_statistics_rows_and_a_good_delivery_pass():
    frames = {"rows": _statistics_rows(), "delivery": _delivery(("statistics/2021.csv", "loaded", 2, 1, 0))}
    assert _failed(run_suites(raw_suites("statistics", Thresholds()), frames)) == {}


def test_planted_raw_statistics_problems_name_the_delivered_rows():
    planted = {
        3: ("region_code", "430499", "region_code_known"),
        4: ("period", "2021-01", "year_period_format"),  # a month key on an annual row
        5: ("unit", "ratio", "unit_is_base_unit"),
        6: ("value", -5.0, "value_non_negative"),
        7: ("status", "draft", "status_known"),
    }
    clean = _statistics_rows().iloc[0]
    rows = pd.DataFrame(
        [clean.to_dict() | {"source_row": n, column: value} for n, (column, value, _) in planted.items()]
    )
    frames = {"rows": pd.concat([_statistics_rows(), rows], ignore_index=True), "delivery": _delivery()}
    failed = _failed(run_suites(raw_suites("statistics", Thresholds()), frames))
    assert set(failed) == {name for _, _, name in planted.values()}
    for source_row, (_, _, name) in planted.items():
        (sample,) = failed[name].sample
        assert sample["source_file"] == "statistics/2021.csv" and sample["source_row"] == source_row


@pytest.mark.parametrize(
    ("file", "passes"),
    [
        (("statistics/empty.csv", "rejected", 0, 0, 0), False),  # an empty (or unreadable) file
        (("statistics/all_bad.csv", "loaded", 0, 7, 0), False),  # every row quarantined
        (("rd_filings/again.csv", "loaded", 0, 0, 4), True),  # exact re-deliveries: neither new nor quarantined
        (("statistics/ok.csv", "loaded", 1, 0, 0), True),
    ],
)
def test_every_new_file_must_deliver_rows(file, passes):
    frames = {"rows": _statistics_rows().iloc[0:0], "delivery": _delivery(file)}
    failed = _failed(run_suites(raw_suites("statistics", Thresholds()), frames))
    assert ("new_files_deliver_rows" not in failed) is passes
    if not passes:
        (sample,) = failed["new_files_deliver_rows"].sample
        assert sample["source_file"] == file[0] and sample["rows_delivered"] == 0


def test_a_run_without_new_files_has_nothing_to_judge():
    frames = {"rows": _statistics_rows().iloc[0:0], "delivery": _delivery()}
    results = run_suites(raw_suites("statistics", Thresholds()), frames)
    assert all(r.passed for r in results)


# --- samples: personal fields, the cap, errors --------------------------------------------------------------


def _case(number: int, **changes) -> dict:
    row = {
        "case_id": f"ZW{number:06d}",
        "channel": "online",
        "applicant_type": "person",
        "visits": 0,
        "promised_days": 3,
        "rating": 5,
        "rating_count": 1,
        "event_count": 4,
        "processing_days": 1.5,
        "submitted_month": "2021-03",
        "completed_month": "2021-03",
        "applicant_id_pseudonym": PSEUDONYM,
        "applicant_phone_pseudonym": PSEUDONYM,
    }
    return {**row, **changes}


def test_a_clear_phone_number_fails_and_never_reaches_the_sample():
    phone = "13800138000"
    frame = pd.DataFrame([_case(1), _case(2, applicant_phone_pseudonym=phone)])
    results = run_suites(mart_suites("fct_gov_service_cases", Thresholds()), _mart_frames(frame))
    failed = _failed(results)
    assert set(failed) == {"applicant_phone_pseudonym_is_pseudonym"}
    leak = failed["applicant_phone_pseudonym_is_pseudonym"]
    assert leak.sample == [{"applicant_phone_pseudonym": REDACTED, "case_id": "ZW000002"}]
    assert phone not in json.dumps([r.as_dict() for r in results]) and phone not in leak.describe()


def test_a_sample_keeps_at_most_five_values():
    frame = pd.DataFrame([_case(n, visits=-n) for n in range(1, 13)])
    failed = _failed(run_suites(mart_suites("fct_gov_service_cases", Thresholds()), _mart_frames(frame)))
    assert failed["visits_non_negative"].unexpected_count == 12
    assert len(failed["visits_non_negative"].sample) == 5


def test_an_expectation_that_cannot_be_evaluated_counts_as_failed():
    frame = pd.DataFrame([_case(1)]).drop(columns=["processing_days"])
    failed = _failed(run_suites(mart_suites("fct_gov_service_cases", Thresholds()), _mart_frames(frame)))
    assert set(failed) == {"processing_days_non_negative"}
    assert failed["processing_days_non_negative"].blocks
    assert "processing_days" in failed["processing_days_non_negative"].error


# --- the suites as a whole ----------------------------------------------------------------------------------


def test_every_expectation_has_a_unique_name_a_severity_and_a_reason():
    by_table: dict[str, list[str]] = {}
    for suite in all_suites():
        assert suite.expectation_suite().expectations, suite.name
        for rule in suite.rules:
            assert rule.severity in ("block", "warn") and rule.why, rule.name
            by_table.setdefault(suite.table, []).append(rule.name)
    assert len(by_table) == 9
    for table, names in by_table.items():
        assert len(names) == len(set(names)), table
    warnings = {name for names in by_table.values() for name in names if "yoy" in name}
    assert warnings == {"yoy_change_within_band"}
    # every suite has its Dagster check, and every check its suites
    assert checks.RAW_TABLES == RAW_TABLES and checks.MARTS == MARTS


def test_docs_list_every_expectation():
    text = QUALITY_DOC.read_text(encoding="utf-8")
    assert render(text) == text, f"docs/quality.md is out of date: run `{COMMAND}`"
