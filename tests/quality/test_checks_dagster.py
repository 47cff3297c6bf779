"""The mart checks in real Dagster runs, with the real publish asset, on a working build planted with a problem.

dbt is replaced by an asset that only reports the marts as built, so a row changed in the working build stays
as planted. Everything else is what `innostat run` executes: the checks, their blocking, the publish step.
"""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from pipelines.defs.publish.assets import published_warehouse
from pipelines.defs.quality.checks import MARTS, mart_quality_checks
from pipelines.defs.resources import WarehouseResource, run_lock
from pipelines.lib.warehouse import prepare_build
from pipelines.orchestration.runs import failure_messages as _failure_messages
from pipelines.quality.suites.marts import mart_schema
from tests.quality.conftest import clone, rows, sha256

PUBLISH = dg.AssetKey(["warehouse", "published"])


@dg.multi_asset(specs=[dg.AssetSpec([mart_schema(model), model]) for model in MARTS], group_name="transform")
def built_marts():
    """Stands in for the dbt step: the marts (and confidential.fct_rd_filings) are already in the working build."""
    for model in MARTS:
        yield dg.MaterializeResult(asset_key=[mart_schema(model), model])


def _materialize(settings, assets=None) -> dg.ExecuteInProcessResult:
    resource = WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse))
    return dg.materialize(
        assets or [built_marts, *mart_quality_checks, published_warehouse],
        resources={"warehouse": resource, "run_lock": run_lock},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.event_specific_data.asset_key.to_user_string(): e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def _published_in(result) -> bool:
    return any(e.is_step_materialization and e.asset_key == PUBLISH for e in result.all_events)


def _execute(path, sql: str) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.fixture
def working(baseline, tmp_path):
    """A copy of the published warehouse, and a working build started from it as the dbt step starts one."""
    settings = clone(baseline, tmp_path)
    prepare_build(settings)
    return settings


def test_a_year_over_year_jump_is_recorded_and_published_without_blocking(working):
    before = sha256(working.warehouse)
    _execute(
        working.build_path,
        "update marts.indicator_values set value = value * 3 "
        "where indicator_code = 'TECH_CONTRACT_TURNOVER' and region_code = '430406' and period = '2021'",
    )
    result = _materialize(working)

    assert result.success and _published_in(result)
    evaluations = _evaluations(result)
    assert sorted(evaluations) == sorted(f"{mart_schema(model)}/{model}" for model in MARTS)
    warned = evaluations.pop("marts/indicator_values")
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "yoy_change_within_band" in warned.description and "TECH_CONTRACT_TURNOVER" in warned.description
    assert all(e.passed for e in evaluations.values())
    assert _failure_messages(result) == []  # so `innostat run` exits 0

    assert sha256(working.warehouse) != before and not working.build_path.exists()
    # the publish made a release: its id in the step's metadata, the one planted change in its changes
    (published,) = [e for e in result.all_events if e.is_step_materialization and e.asset_key == PUBLISH]
    release = published.step_materialization_data.materialization.metadata["release_id"].value
    assert rows(working.warehouse, "select max(release_id) from marts.releases") == [(release,)]
    changes = f"select indicator_code, period, change from marts.indicator_value_changes({release})"
    assert rows(working.warehouse, changes) == [("TECH_CONTRACT_TURNOVER", "2021", "revised")]
    history = rows(
        working.warehouse,
        "select table_name, expectation, severity, passed, sample from marts.data_quality where run_id = ?",
        [result.run_id],
    )
    assert {r[0] for r in history} == {f"{mart_schema(model)}.{model}" for model in MARTS}
    assert [r[:4] for r in history if not r[3]] == [("marts.indicator_values", "yoy_change_within_band", "warn", False)]
    (sample,) = json.loads(next(r[4] for r in history if not r[3]))
    assert sample["indicator_code"] == "TECH_CONTRACT_TURNOVER" and sample["yoy_change"] > 2  # ×3 on +37 %
    # the history keeps the earlier runs (the baseline's checks) beside this one
    assert rows(working.warehouse, "select count(distinct run_id) > 1 from marts.data_quality") == [(True,)]


def test_a_negative_incident_count_in_a_mart_blocks_the_publish_step(working):
    before = sha256(working.warehouse)
    _execute(
        working.build_path,
        "update marts.indicator_values set value = -3 where rowid = (select min(rowid) from marts.indicator_values "
        "where indicator_code = 'SEC_INCIDENTS' and dimension = 'total')",
    )
    result = _materialize(working)

    assert not result.success
    failed = _evaluations(result)["marts/indicator_values"]
    assert not failed.passed and failed.severity == dg.AssetCheckSeverity.ERROR and failed.blocking
    assert "counts_non_negative" in failed.description and "value=-3.0" in failed.description
    assert failed.metadata["failed_blocking"].value == 1
    # Dagster did not execute the publish step: it depends on the blocking checks of the marts it reads
    assert not _published_in(result)
    assert not any(e.step_key == "warehouse__published" and e.is_step_start for e in result.all_events)
    (message,) = _failure_messages(result)
    assert message.startswith("check great_expectations on marts/indicator_values failed")
    assert "counts_non_negative" in message and "SEC_INCIDENTS" in message

    assert sha256(working.warehouse) == before
    failures = rows(
        working.build_path,
        "select table_name, expectation, unexpected_count, sample from marts.data_quality "
        "where run_id = ? and not passed and severity = 'block'",
        [result.run_id],
    )
    assert [f[:3] for f in failures] == [("marts.indicator_values", "counts_non_negative", 1)]
    assert json.loads(failures[0][3])[0]["indicator_code"] == "SEC_INCIDENTS"

    # publishing that build on its own (as a UI materialisation of the publish asset would) is refused too
    alone = _materialize(working, [published_warehouse])
    assert not alone.success and not _published_in(alone)
    assert any("refusing to publish" in m and "counts_non_negative" in m for m in _failure_messages(alone))
    assert sha256(working.warehouse) == before


def test_a_mart_that_lost_rows_since_the_last_publish_blocks(working):
    (published,) = rows(working.warehouse, "select count(*) from marts.fct_security_incidents")[0]
    _execute(
        working.build_path,
        "delete from marts.fct_security_incidents where rowid in "
        "(select rowid from marts.fct_security_incidents order by incident_id limit (select count(*) * 0.3 "
        "from marts.fct_security_incidents))",
    )
    result = _materialize(working)

    assert not result.success and not _published_in(result)
    evaluations = _evaluations(result)
    assert not evaluations["marts/fct_security_incidents"].passed
    assert evaluations["marts/indicator_values"].passed  # only the shrunk mart fails
    (message,) = _failure_messages(result)
    assert "row_count_not_dropped" in message and f"rows_published={published}" in message
