"""The benchmark's fairness check: a baseline only counts when it computed the pipeline's numbers."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchmarks.compare import compare

ROWS = [
    ("GS_CASES_SUBMITTED", "430406", "2021-03", "month", "total", "total", 120.0, "count", "F"),
    ("GS_CASES_SUBMITTED", "430406", "2021-04", "month", "total", "total", 0.0, "count", "F"),
    ("GS_ONLINE_SHARE", "430406", "2021-03", "month", "total", "total", 0.4, "ratio", "F"),
    ("RD_INTENSITY", "430406", "2021", "year", "total", "total", 0.0235, "ratio", "F"),
    ("ENT_RD_EXPENDITURE", "430406001000", "2021", "year", "total", "total", None, "yuan", "A"),
]
TABLE = (
    "(indicator_code varchar, region_code varchar, period varchar, period_type varchar, dimension varchar, "
    "member varchar, value double, unit varchar, conf_status varchar)"
)


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "innostat.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(f"create table marts.indicator_values {TABLE}")
    con.executemany("insert into marts.indicator_values values (?, ?, ?, ?, ?, ?, ?, ?, ?)", ROWS)
    con.close()
    return path


def _baseline(tmp_path: Path, rows: list[tuple]) -> Path:
    out = tmp_path / "baseline.parquet"
    con = duckdb.connect()
    con.execute(f"create table b {TABLE}")
    con.executemany("insert into b values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"copy b to '{out}' (format parquet)")
    con.close()
    return out


def test_same_numbers_compare_equal_and_a_zero_count_may_be_omitted(warehouse, tmp_path) -> None:
    assert compare(warehouse, _baseline(tmp_path, ROWS)).equal
    without_zero = [row for row in ROWS if row[6] != 0.0]
    assert compare(warehouse, _baseline(tmp_path, without_zero)).equal
    summed_otherwise = [(*row[:6], row[6] and row[6] * (1 + 1e-13), *row[7:]) for row in ROWS]  # last bits
    assert compare(warehouse, _baseline(tmp_path, summed_otherwise)).equal


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda rows: rows[1:], "missing"),  # a published value the baseline did not compute
        (
            lambda rows: [*rows, ("SEC_CAMERAS", "430406", "2021-03", "month", "total", "total", 5.0, "count", "F")],
            "extra",
        ),
        (lambda rows: [(*rows[0][:6], 121.0, *rows[0][7:]), *rows[1:]], "different"),
        (lambda rows: [*rows[:2], (*rows[2][:7], "per_10k", "F"), *rows[3:]], "different"),
        # a withheld cell must be withheld with the same code, and without its value
        (lambda rows: [*rows[:4], (*rows[4][:8], "D")], "different"),
        (lambda rows: [*rows[:4], (*rows[4][:6], 1.5e6, "yuan", "A")], "different"),
    ],
)
def test_any_other_difference_fails(warehouse, tmp_path, change, kind) -> None:
    result = compare(warehouse, _baseline(tmp_path, change(list(ROWS))))
    assert not result.equal and len(getattr(result, kind)) == 1
    assert "NOT equal" in result.summary()
