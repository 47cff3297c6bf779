"""No demo key outside the demo, and no second key for one warehouse (issue 28.7): Dagster's ingestion and the CLI
refuse, and say why and where the runbook is."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.defs.ingestion import feed_sensors, raw_assets
from pipelines.defs.resources import WarehouseResource, run_lock
from pipelines.lib.pseudonymise import DEMO_KEY_FILE, FINGERPRINT_FILE

ROWS = "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,地区生产总值,亿元,2019,236.40,初步核实\n"


@pytest.fixture
def landed(settings):
    (settings.landing / "statistics").mkdir(parents=True)
    (settings.landing / "statistics" / "a.csv").write_text(ROWS, encoding="utf-8")
    return settings


def _resource(settings, demo: bool = False) -> WarehouseResource:
    return WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse), demo=demo)


def _ingest(settings, demo: bool = False) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [raw_assets["statistics"]],
        resources={"warehouse": _resource(settings, demo), "run_lock": run_lock},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.error.message


def _tick(settings, demo: bool = False):
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": _resource(settings, demo)})
        return feed_sensors["statistics"](context)


def test_dagster_refuses_to_ingest_without_a_key_outside_a_demo(landed, monkeypatch):
    monkeypatch.delenv("INNOSTAT_PII_KEY", raising=False)
    skip = _tick(landed)
    assert isinstance(skip, dg.SkipReason)
    assert "1 new statistics file(s) wait" in skip.skip_message and "INNOSTAT_PII_KEY is not set" in skip.skip_message

    result = _ingest(landed)
    assert not result.success
    message = _failure(result)
    assert "refusing to ingest: INNOSTAT_PII_KEY is not set" in message
    assert 'docs/operations.md, "The pseudonymisation key"' in message
    assert not (landed.state_dir / DEMO_KEY_FILE).exists()  # no random key written beside the data
    assert not list(landed.raw_dir.glob("statistics/*.parquet"))

    # a demo (make demo: INNOSTAT_DEMO=1) may use its local demo key
    assert isinstance(_tick(landed, demo=True), dg.RunRequest)
    assert _ingest(landed, demo=True).success
    assert (landed.state_dir / DEMO_KEY_FILE).exists() and (landed.state_dir / FINGERPRINT_FILE).exists()


def test_dagster_and_the_cli_refuse_another_key_than_the_warehouses(landed, monkeypatch, capsys):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "the-warehouses-key")
    assert _ingest(landed).success
    recorded = (landed.state_dir / FINGERPRINT_FILE).read_text(encoding="utf-8")
    assert "the-warehouses-key" not in recorded

    monkeypatch.setenv("INNOSTAT_PII_KEY", "another-key")
    (landed.landing / "statistics" / "b.csv").write_text(ROWS.replace("236.40", "240.00"), encoding="utf-8")
    skip = _tick(landed)
    assert isinstance(skip, dg.SkipReason) and "differs" in skip.skip_message
    result = _ingest(landed)
    assert not result.success
    assert 'docs/operations.md, "Rotate the pseudonymisation key"' in _failure(result)

    location = ["--landing", str(landed.landing), "--warehouse", str(landed.warehouse)]
    assert main(["ingest", *location]) == 2
    err = capsys.readouterr().err
    assert "key differs" in err and "Rotate the pseudonymisation key" in err and "another-key" not in err
    assert main(["run", *location]) == 2
    assert "Rotate the pseudonymisation key" in capsys.readouterr().err

    monkeypatch.setenv("INNOSTAT_PII_KEY", "the-warehouses-key")
    assert main(["ingest", *location]) == 0
    assert (landed.state_dir / FINGERPRINT_FILE).read_text(encoding="utf-8") == recorded
