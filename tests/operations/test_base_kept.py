"""A daily run keeps the statistics and R&D tables from the published warehouse; a revision rebuilds them.

Real `innostat run`s on the tiny sample (Dagster, dbt, GX, publish). What a kept `dbt_base` must not do is
serve stale figures: the run after a statistics revision rebuilds it and publishes the revised value.
"""

from __future__ import annotations

import os
import shutil

import pytest

from pipelines.cli import main
from tests.helpers import copy_landing, rows

KEPT = "statistics and R&D models kept from the published warehouse"
POPULATION_2021 = (
    "select value from marts.indicator_values where indicator_code = 'POPULATION' and region_code = '430406' "
    "and period = '2021' and dimension = 'total'"
)


def _base_run_id(warehouse) -> str:
    return rows(warehouse, "select run_id from ops.build_inputs where build_group = 'dbt_base'")[0][0]


def _delivered_last(path) -> None:
    os.utime(path, (2_000_000_000, 2_000_000_000))


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "base-kept-test-key")


def test_daily_run_keeps_base_and_a_revision_rebuilds_it(generated, tmp_path, key, capsys):
    source, _ = generated
    landing = copy_landing(source, tmp_path / "landing")
    held = sorted((landing / "gov_services").iterdir(), key=lambda p: p.stat().st_mtime)[-1]
    shutil.move(held, tmp_path / held.name)
    warehouse = tmp_path / "wh" / "innostat.duckdb"

    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    assert KEPT not in capsys.readouterr().out
    first_build = _base_run_id(warehouse)
    statistics_values = rows(
        warehouse, "select count(*), sum(value) from marts.indicator_values where indicator_code = 'GDP'"
    )
    (population,) = rows(warehouse, POPULATION_2021)

    # A day of events, and a statistics file delivered again under another name (same content: not new data)
    shutil.move(tmp_path / held.name, landing / "gov_services" / held.name)
    resent = sorted((landing / "statistics").glob("*.csv"))[0]
    shutil.copy2(resent, resent.with_name("重发_" + resent.name))
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    assert KEPT in capsys.readouterr().out
    assert _base_run_id(warehouse) == first_build
    assert (
        rows(warehouse, "select count(*), sum(value) from marts.indicator_values where indicator_code = 'GDP'")
        == statistics_values
    )
    # the ledger and quarantine marts are rebuilt on every run: the day's file is in the ledger
    assert rows(warehouse, f"select count(*) from marts.ingest_ledger where source_file like '%{held.name}'") == [(1,)]

    # A revision of 2021's population (final verification): the next run rebuilds the base and publishes it
    revision = landing / "statistics" / "2021年常住人口_最终核实_修订.csv"
    revision.write_text(
        "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,常住人口,万人,2021,99.5,最终核实\n", encoding="utf-8"
    )
    _delivered_last(revision)
    assert main(["run", "--landing", str(landing), "--warehouse", str(warehouse)]) == 0
    assert KEPT not in capsys.readouterr().out
    assert _base_run_id(warehouse) != first_build
    assert population != (995_000.0,)
    assert rows(warehouse, POPULATION_2021) == [(995_000.0,)]
