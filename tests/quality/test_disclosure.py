"""The disclosure audit (pipelines/quality/disclosure.py) on a real build of the generated landing zone, whose
planted filings exercise every rule: it passes on what dbt published, and on a working build tampered with in
each way a figure can leak, it fails naming the expectation and the cell, and the publish does not happen."""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pytest

from pipelines.defs.publish.assets import published_warehouse
from pipelines.defs.quality.checks import disclosure_check
from pipelines.defs.resources import WarehouseResource, run_lock
from pipelines.lib.settings import QualitySettings
from pipelines.lib.warehouse import prepare_build
from pipelines.orchestration.runs import failure_messages
from pipelines.quality.checks import DISCLOSURE_CHECK, check_disclosure
from pipelines.quality.disclosure import MICRODATA
from pipelines.quality.history import publish_blockers
from pipelines.quality.suites.raw.rd_filings import CREDIT_CODE
from tests.quality.conftest import clone, rows, sha256

CHECK = f"marts/indicator_values:{DISCLOSURE_CHECK}"
EXPECTATIONS = {
    "conf_status_matches_recomputation",
    "withheld_value_is_null",
    "additive_group_not_singly_withheld",
    "intensity_withheld_with_expenditure",
    "primary_cells_protected",
}
KEY = "indicator_code, region_code, period, dimension, member"
# the true value of a cell, summed from the microdata as the indicators are
TRUE_VALUE = f"""
    select case when ? = 'ENT_RD_PERSONNEL' then sum(rd_personnel)::double
        else sum(cast(rd_expense_wan_yuan as decimal(38, 6)) * 10000)::double end
    from {MICRODATA}
    where is_current and cast(filing_year as varchar) = ?
        and (street_code = ? or ? = '430406') and (? = 'total' or industry = ?)
"""


def _execute(path, sql: str, params: list | None = None) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql, params or [])
    finally:
        con.close()


def _true_value(path, cell: tuple) -> float:
    indicator, region, period, dimension, member = cell
    return rows(path, TRUE_VALUE, [indicator, period, region, region, dimension, member])[0][0]


def _publish(path, cell: tuple) -> None:
    """The tamper: cell becomes free with its true value."""
    value = _true_value(path, cell)
    _execute(
        path,
        f"update marts.indicator_values set conf_status = 'F', value = ? where ({KEY}) = (?, ?, ?, ?, ?)",
        [value, *cell],
    )


def _withheld(path, where: str) -> list[tuple]:
    return rows(path, f"select {KEY} from marts.indicator_values where {where} order by all")


def _check(settings) -> dict:
    outcome = check_disclosure(settings, QualitySettings(), "tampered", CHECK)
    assert {r.expectation for r in outcome.results} == EXPECTATIONS
    return {r.expectation: r for r in outcome.blocking_failures}


def _named(result, cell: tuple) -> bool:
    return any(tuple(s.get(k) for k in KEY.split(", ")) == cell for s in result.sample)


@pytest.fixture
def working(baseline, tmp_path):
    settings = clone(baseline, tmp_path)
    prepare_build(settings)
    return settings


def test_the_published_build_passes_and_says_how_well_it_is_protected(baseline):
    codes = dict(rows(baseline.warehouse, "select conf_status, count(*) from marts.indicator_values group by 1"))
    assert {"A", "O", "D"} <= set(codes)  # the planted filings exercise every rule
    recorded = rows(
        baseline.warehouse,
        "select expectation, passed, message, sample from marts.data_quality where check_name = ?",
        [CHECK],
    )
    assert {r[0] for r in recorded} == EXPECTATIONS and all(r[1] for r in recorded)
    messages = {r[0]: r[2] for r in recorded}
    withheld = codes["A"] + codes["O"] + codes["D"]
    assert f"{withheld} withheld cells;" in messages["withheld_value_is_null"]
    assert "0 cells differ" in messages["conf_status_matches_recomputation"]
    tightest = re.search(r"tightest primary protection ±([0-9.]+) %", messages["primary_cells_protected"])
    assert tightest and float(tightest.group(1)) >= 10
    # officials read these rows: never a credit code
    assert not any(re.search(CREDIT_CODE[1:-1], f"{r[2]} {r[3]}") for r in recorded)


def test_an_intensity_published_beside_its_withheld_expenditure_fails(working):
    cell = _withheld(
        working.build_path,
        "indicator_code = 'ENT_RD_INTENSITY' and conf_status = 'D'",
    )[0]
    _execute(
        working.build_path,
        f"update marts.indicator_values set conf_status = 'F', value = 0.01 where ({KEY}) = (?, ?, ?, ?, ?)",
        list(cell),
    )
    failed = _check(working)
    assert set(failed) == {"conf_status_matches_recomputation", "intensity_withheld_with_expenditure"}
    assert _named(failed["conf_status_matches_recomputation"], cell)
    assert failed["conf_status_matches_recomputation"].sample[0]["expected_status"] == "D"
    assert _named(failed["intensity_withheld_with_expenditure"], cell)


def test_a_withheld_cell_with_its_value_set_back_fails(working):
    cell = _withheld(working.build_path, "indicator_code = 'ENT_RD_PERSONNEL' and conf_status = 'A'")[0]
    _execute(
        working.build_path,
        f"update marts.indicator_values set value = ? where ({KEY}) = (?, ?, ?, ?, ?)",
        [_true_value(working.build_path, cell), *cell],
    )
    failed = _check(working)
    assert "withheld_value_is_null" in failed and "conf_status_matches_recomputation" not in failed
    assert _named(failed["withheld_value_is_null"], cell)
    assert "1 cells where value NULL ≠ withheld" in failed["withheld_value_is_null"].message


def test_one_withheld_cell_left_alone_in_a_group_fails(working):
    # a street-group D cell (not the district total): published, it leaves its partner alone in the group
    pairs = rows(
        working.build_path,
        f"""
        select {KEY} from marts.indicator_values as v
        where indicator_code = 'ENT_RD_EXPENDITURE' and conf_status = 'D' and dimension = 'total'
            and region_code <> '430406'
            and (select count(*) from marts.indicator_values as g
                 where g.indicator_code = v.indicator_code and g.period = v.period and g.dimension = 'total'
                     and g.conf_status <> 'F') = 2
        order by all
        """,
    )
    cell = pairs[0]
    _publish(working.build_path, cell)
    failed = _check(working)
    assert "additive_group_not_singly_withheld" in failed and "conf_status_matches_recomputation" in failed
    (group,) = failed["additive_group_not_singly_withheld"].sample
    assert (group["indicator_code"], group["period"], group["additive_group"]) == (cell[0], cell[2], "streets")
    assert "1 groups with exactly one" in failed["additive_group_not_singly_withheld"].message


def test_a_primary_cell_recoverable_within_ten_percent_fails_the_interval_audit(working):
    """A group where only a primary cell P and a cell Q worth less than 10 % of P are withheld, everything else
    published: two withheld cells, yet P + Q is the published total minus the published others, so P lies in
    [0, P + Q], less than +10 % above its true value."""
    path = working.build_path
    cells = rows(
        path,
        f"""
        select {KEY}, conf_status from marts.indicator_values
        where indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL') and region_code <> '430406'
            or indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL') and dimension = 'industry'
        order by all
        """,
    )
    true = {cell[:5]: _true_value(path, cell[:5]) for cell in cells}
    found = None
    for primary in (c[:5] for c in cells if c[5] in ("A", "O")):
        group = [c[:5] for c in cells if (c[0], c[2], c[3]) == (primary[0], primary[2], primary[3])]
        small = [c for c in group if c != primary and true[c] < 0.1 * true[primary]]
        if small:
            found = primary, min(small, key=lambda c: true[c]), group
            break
    assert found, "the generated data hold a primary cell and a cell of its group worth less than 10 % of it"
    primary, small, group = found
    total = (primary[0], "430406", primary[2], "total", "total")
    for cell in [*group, total]:
        if cell not in (primary, small):
            _publish(path, cell)
    _execute(
        path,
        f"update marts.indicator_values set conf_status = 'D', value = null where ({KEY}) = (?, ?, ?, ?, ?)",
        list(small),
    )
    failed = _check(working)
    assert "primary_cells_protected" in failed
    assert _named(failed["primary_cells_protected"], primary)
    assert re.search(r"[1-9]\d* not protected by ±10 %", failed["primary_cells_protected"].message)


def test_a_leaking_build_is_not_published(working):
    """In Dagster, as `innostat run` executes it: the blocking check fails, the publish step never runs, and the
    publish guard refuses the build on its own too."""
    before = sha256(working.warehouse)
    cell = _withheld(working.build_path, "indicator_code = 'ENT_RD_EXPENDITURE' and conf_status = 'O'")[0]
    _execute(
        working.build_path,
        f"update marts.indicator_values set value = ? where ({KEY}) = (?, ?, ?, ?, ?)",
        [_true_value(working.build_path, cell), *cell],
    )

    @dg.asset(key=["marts", "indicator_values"], group_name="transform")
    def built():
        """Stands in for the dbt step: the mart is already in the working build."""

    resources = {
        "warehouse": WarehouseResource(landing=str(working.landing), warehouse=str(working.warehouse)),
        "run_lock": run_lock,
    }
    result = dg.materialize(
        [built, disclosure_check, published_warehouse],
        resources=resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    assert not any(
        e.is_step_materialization and e.asset_key.path == ["warehouse", "published"] for e in result.all_events
    )
    (message,) = failure_messages(result)
    assert DISCLOSURE_CHECK in message and "withheld_value_is_null" in message
    assert sha256(working.warehouse) == before
    assert "marts.indicator_values: withheld_value_is_null failed in this run" in publish_blockers(
        working, result.run_id
    )
