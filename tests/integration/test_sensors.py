"""Feed sensors: a new file requests one run keyed by content, an ingested or re-delivered file does not."""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest

from pipelines.defs.ingestion import feed_sensors
from pipelines.defs.resources import WarehouseResource
from pipelines.ingest.runner import ingest_table
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.settings import Settings

ROWS = "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,地区生产总值,亿元,2019,236.40,初步核实\n"


@pytest.fixture
def landing_settings(tmp_path, pii_key) -> Settings:  # without a key, the sensor says why it skips new files
    (tmp_path / "landing" / "statistics").mkdir(parents=True)
    return Settings.resolve(tmp_path / "landing", tmp_path / "wh" / "innostat.duckdb")


def _tick(settings: Settings, cursor: str | None = None):
    resource = WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"warehouse": resource})
        return feed_sensors["statistics"](context)


def test_new_files_request_one_run_and_ingested_files_none(landing_settings):
    settings = landing_settings
    assert isinstance(_tick(settings), dg.SkipReason)

    (settings.landing / "statistics" / "a.csv").write_text(ROWS, encoding="utf-8")
    first = _tick(settings)
    assert isinstance(first, dg.RunRequest)
    assert first.run_key.startswith("statistics-")
    assert _tick(settings).run_key == first.run_key  # same pending content → same key, deduplicated by Dagster

    (settings.landing / "statistics" / "b.csv").write_text(ROWS.replace("236.40", "240.00"), encoding="utf-8")
    burst = _tick(settings)
    assert burst.run_key != first.run_key
    assert burst.tags["innostat/new_files"] == "2"  # a burst of files is one run

    ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert isinstance(_tick(settings), dg.SkipReason)

    # the same bytes under another name add nothing, but get their ledger row (a duplicate): one run, then none
    shutil.copy2(settings.landing / "statistics" / "a.csv", settings.landing / "statistics" / "a_again.csv")
    assert isinstance(_tick(settings), dg.RunRequest)
    report = ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    assert (report.files_duplicate, report.rows_loaded) == (1, 0)
    assert isinstance(_tick(settings), dg.SkipReason)


def test_state_survives_a_restart(landing_settings):
    """The sensor keeps no memory of its own: the ledger on disk is the state, so a restart changes nothing."""
    settings = landing_settings
    (settings.landing / "statistics" / "a.csv").write_text(ROWS, encoding="utf-8")
    ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"k"))
    os.utime(settings.landing / "statistics" / "a.csv", (1, 1))  # even a touched file is known by content
    assert isinstance(_tick(settings), dg.SkipReason)
