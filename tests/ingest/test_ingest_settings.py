"""The ingestion's settings: read once from the environment at the edge, then passed down, never read deep inside."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.runner import ingest_table
from pipelines.lib.feeds import ledger_dir
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.settings import IngestLimits, IngestSettings

EVENT = (
    '{"event_id":"EVS1","case_id":"ZWS1","event_type":"submitted","occurred_at":"2022-11-15T10:00:00+08:00",'
    '"item_code":"SJ001","item_name":"企业开办登记","department":"区市场监督管理局","channel":"online"}\n'
)
CAPS = (
    "INNOSTAT_MAX_CSV_BYTES",
    "INNOSTAT_MAX_DECOMPRESSED_BYTES",
    "INNOSTAT_MAX_COMPRESSION_RATIO",
    "INNOSTAT_MAX_LINE_BYTES",
    "INNOSTAT_MAX_CELL_CHARS",
    "INNOSTAT_MAX_XLSX_BYTES",
)


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = IngestSettings.from_env({})
    assert settings.settle_seconds == 5.0
    assert settings.workers == max(1, os.cpu_count() or 1)
    assert settings.limits == IngestLimits()
    caps = settings.limits
    assert (caps.csv_bytes, caps.decompressed_bytes, caps.line_bytes, caps.xlsx_bytes) == (
        256 << 20,
        8 << 30,
        1 << 20,
        128 << 20,
    )
    assert (caps.compression_ratio, caps.cell_chars) == (100.0, 4096)


def test_every_variable_is_read_with_its_own_name() -> None:
    environ = {"INNOSTAT_SETTLE_SECONDS": "0.5", "INNOSTAT_INGEST_WORKERS": "3"}
    environ |= {name: str(1000 + i) for i, name in enumerate(CAPS)}
    settings = IngestSettings.from_env(environ)
    assert (settings.settle_seconds, settings.workers) == (0.5, 3)
    limits = settings.limits
    read = (
        limits.csv_bytes,
        limits.decompressed_bytes,
        limits.compression_ratio,
        limits.line_bytes,
        limits.cell_chars,
        limits.xlsx_bytes,
    )
    assert read == tuple(1000 + i for i in range(len(CAPS)))


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("INNOSTAT_SETTLE_SECONDS", "-1", "INNOSTAT_SETTLE_SECONDS must be a number of seconds ≥ 0, got '-1'"),
        ("INNOSTAT_INGEST_WORKERS", "0", "INNOSTAT_INGEST_WORKERS must be a whole number ≥ 1"),
        *((name, "lots", f"{name} must be a positive number, got 'lots'") for name in CAPS),
    ],
)
def test_a_value_out_of_range_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        IngestSettings.from_env({variable: value})


def test_a_run_applies_the_settings_it_is_given_not_the_environment(tmp_path: Path, monkeypatch) -> None:
    """A cap passed in rejects the file although the environment sets none (and one set there is not read)."""
    monkeypatch.setenv("INNOSTAT_MAX_LINE_BYTES", "not read when settings are passed")
    landing, raw_dir = tmp_path / "landing", tmp_path / "raw"
    (landing / "gov_services").mkdir(parents=True)
    (landing / "gov_services" / "long.jsonl").write_text(EVENT + EVENT.replace("企业开办登记", "登" * 200))
    settings = IngestSettings(settle_seconds=0, workers=1, limits=IngestLimits(line_bytes=400))
    report = ingest_table("gov_services", landing, raw_dir, Pseudonymiser(b"settings-test"), settings=settings)
    assert report.errors == [] and report.files_rejected == 1
    (verdict,) = duckdb.sql(
        f"select status, reason_code from read_parquet('{ledger_dir(raw_dir)}/gov_services-*.parquet')"
    ).fetchall()
    assert verdict == ("rejected", "line_too_long")
