"""The gov_services and security models against the generator's own count of what it delivered.

End to end on a tiny landing zone: `innostat generate` (which records per-month GS_/SEC_ facts in its manifest,
counted by the rules of FEEDS.md from the simulation itself), `innostat ingest`, then a real `dbt build` of the
gov_services and security models (plus statistics, for POPULATION). Every published GS_*/SEC_* number of every
month must equal the manifest's, and the marts must hold no personal value in clear.

The edge cases the generator plants (repeated event_ids, a repeat carrying another rating, a submitted event
delivered a file late, an event just after midnight written in UTC, incidents re-sent with another category or
street, camera-days re-delivered with the other online value) are all exercised at this scale.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
BIN = Path(sys.executable).parent
DISTRICT = "430406"
SELECT = [  # these areas' models with everything upstream (statistics, for POPULATION), and the seeds
    "path:seeds",
    "+path:models/intermediate/gov_services",
    "+path:models/marts/gov_services",
    "+path:models/intermediate/security",
    "+path:models/marts/security",
]

pytestmark = pytest.mark.slow


def _run(args: list[str], env: dict[str, str], cwd: Path = ROOT) -> None:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[duckdb.DuckDBPyConnection, dict]]:
    work = tmp_path_factory.mktemp("gov_security")
    env = {
        **os.environ,
        "INNOSTAT_PII_KEY": "test-key-not-for-production",
        "INNOSTAT_RAW_DIR": str(work / "wh.duckdb.state" / "raw"),
        "INNOSTAT_BUILD_PATH": str(work / "build.duckdb"),
        "DBT_LOG_PATH": str(work / "dbt_logs"),
        "DBT_TARGET_PATH": str(work / "dbt_target"),
    }
    innostat = str(BIN / "innostat")
    manifest_path = work / "manifest.json"
    generate = [innostat, "generate", "--out", str(work / "landing"), "--scale", "0.002", "--years", "2020-2021"]
    _run([*generate, "--manifest", str(manifest_path)], env)
    _run([innostat, "ingest", "--landing", str(work / "landing"), "--warehouse", str(work / "wh.duckdb")], env)
    _run(
        [str(BIN / "dbt"), "build", "--profiles-dir", ".", "--indirect-selection", "cautious", "--select", *SELECT],
        env,
        cwd=DBT_PROJECT,
    )
    con = duckdb.connect(str(work / "build.duckdb"), read_only=True)
    yield con, json.loads(manifest_path.read_text(encoding="utf-8"))
    con.close()


def _values(con: duckdb.DuckDBPyConnection, model: str) -> dict[tuple[str, str, str, str, str], float]:
    rows = con.execute(
        f"select indicator_code, region_code, period, dimension, member, value from intermediate.{model}"
    ).fetchall()
    out = {}
    for code, region, period, dimension, member, value in rows:
        assert (code, region, period, dimension, member) not in out
        assert value is not None and math.isfinite(value)
        out[(code, region, period, dimension, member)] = value
    return out


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _check(actual: dict, expected: dict) -> None:
    """Every expected value is published (None: no row), and nothing else is published for those codes."""
    for key, value in expected.items():
        if value is None:
            assert key not in actual, f"{key}: expected no row, got {actual[key]}"
            continue
        assert key in actual, f"{key}: missing, expected {value}"
        # the manifest rounds processing_days_sum to 6 decimals
        tolerance = 1e-5 if key[0] == "GS_AVG_PROCESSING_DAYS" else 1e-9
        assert actual[key] == pytest.approx(value, rel=1e-9, abs=tolerance), key
    codes = {k[0] for k in expected}
    published = {k for k, v in expected.items() if v is not None}
    extra = sorted(k for k in actual if k[0] in codes and k not in published)
    assert not extra, f"published but not expected: {extra[:5]}"


def test_gov_service_indicators_match_the_generator(built) -> None:
    con, manifest = built
    facts = manifest["facts"]
    actual = _values(con, "int_indicator_values__gov_services")
    expected: dict = {}
    for month, s in facts["gs_by_month"].items():
        values = {
            "GS_CASES_SUBMITTED": s["submitted"] or None,
            "GS_ONLINE_SHARE": _ratio(s["submitted_online_or_app"], s["submitted"]),
            "GS_CASES_COMPLETED": s["completed"] or None,
            "GS_ONE_VISIT_RATE": _ratio(s["completed_visits_le1"], s["completed"]),
            "GS_ZERO_VISIT_RATE": _ratio(s["completed_visits_0"], s["completed"]),
            "GS_ON_TIME_RATE": _ratio(s["completed_on_time"], s["completed_accepted"]),
            "GS_AVG_PROCESSING_DAYS": _ratio(s["processing_days_sum"], s["completed_accepted"]),
            "GS_SATISFACTION_RATE": _ratio(s["rated_ge4"], s["rated"]),
        }
        for code, value in values.items():
            expected[(code, DISTRICT, month, "total", "total")] = value
    for month, departments in facts["gs_submitted_by_department"].items():
        for department, count in departments.items():
            expected[("GS_CASES_SUBMITTED", DISTRICT, month, "department", department)] = count
    # the manifest has department counts of submissions only; other department rows are checked for consistency
    compared = {k: v for k, v in actual.items() if k[3] == "total" or k[0] == "GS_CASES_SUBMITTED"}
    _check(compared, expected)
    for code in ("GS_CASES_SUBMITTED", "GS_CASES_COMPLETED"):
        totals = {k[2]: v for k, v in actual.items() if k[0] == code and k[3] == "total"}
        for period, total in totals.items():
            parts = sum(v for k, v in actual.items() if k[0] == code and k[2] == period and k[3] == "department")
            assert parts == total, (code, period)


def test_security_indicators_match_the_generator(built) -> None:
    con, manifest = built
    facts = manifest["facts"]
    actual = _values(con, "int_indicator_values__security")
    population = {
        (region, year): years[year]["POPULATION"]
        for region, years in facts["statistics_current"].items()
        for year in years
        if len(year) == 4 and "POPULATION" in years[year]
    }
    expected: dict = {}
    for month, m in facts["sec_incidents_by_month"].items():
        year = month[:4]
        counts = {DISTRICT: m["incidents"], **m["by_street"]}
        for region, count in counts.items():
            expected[("SEC_INCIDENTS", region, month, "total", "total")] = count
            pop = population.get((region, year))
            expected[("SEC_INCIDENTS_PER_10K", region, month, "total", "total")] = (
                count / (pop / 10_000) if pop else None
            )
        for category, count in m["by_category"].items():
            expected[("SEC_INCIDENTS", DISTRICT, month, "category", category)] = count
        medians = {DISTRICT: m["median_response_min"], **m["median_response_min_by_street"]}
        for region, median in medians.items():
            expected[("SEC_MEDIAN_RESPONSE_MIN", region, month, "total", "total")] = median
        expected[("SEC_RESPONSE_15MIN_RATE", DISTRICT, month, "total", "total")] = _ratio(
            m["within_15min"], m["with_arrival"]
        )
    for month, m in facts["sec_cameras_by_month"].items():
        by_region = {DISTRICT: m, **m["by_street"]}
        for region, c in by_region.items():
            expected[("SEC_CAMERAS", region, month, "total", "total")] = c["cameras"]
            expected[("SEC_CAMERA_ONLINE_RATE", region, month, "total", "total")] = _ratio(
                c["online_days"], c["camera_days"]
            )
    # the manifest has the 15-minute rate for the district only
    street_15 = {k for k in actual if k[0] == "SEC_RESPONSE_15MIN_RATE" and k[1] != DISTRICT}
    _check({k: v for k, v in actual.items() if k not in street_15}, expected)
    assert street_15, "street rows of SEC_RESPONSE_15MIN_RATE are published"


def test_marts_hold_no_personal_value_in_clear(built) -> None:
    con, manifest = built
    personal = {str(v) for v in manifest["pii_values"]}
    assert personal
    for table in ("fct_gov_service_cases", "fct_security_incidents", "fct_camera_days"):
        columns = [r[0] for r in con.execute(f"describe marts.{table}").fetchall()]
        assert not set(columns) & {
            "applicant_id",
            "applicant_phone",
            "reporter_name",
            "reporter_phone",
            "reporter_id_number",
        }
        for row in con.execute(f"select * from marts.{table}").fetchall():
            leaked = {str(v) for v in row if isinstance(v, str)} & personal
            assert not leaked, f"{table} holds personal values in clear"
        for column in (c for c in columns if c.endswith("_pseudonym")):
            bad = con.execute(
                f"select count(*) from marts.{table} where {column} is not null and {column} not like 'p:%'"
            ).fetchone()[0]
            assert bad == 0, f"{table}.{column} holds a value that is not a pseudonym"
    # coordinates are stored to 3 decimals
    off_grid = con.execute(
        "select count(*) from marts.fct_security_incidents where abs(lat * 1000 - round(lat * 1000)) > 1e-6"
    ).fetchone()[0]
    assert off_grid == 0
