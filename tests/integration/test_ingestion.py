"""End to end through Dagster: every feed lands exactly once, bad rows are quarantined, nothing personal leaks."""

from __future__ import annotations

import gzip
import hashlib

import dagster as dg
import duckdb
import pytest

from pipelines.defs.ingestion import raw_assets
from pipelines.defs.resources import WarehouseResource, run_lock
from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.settings import Settings
from tests.integration.conftest import copy_landing

RAW_ASSETS = list(raw_assets.values())


def _materialize(settings: Settings) -> dg.ExecuteInProcessResult:
    resource = WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse))
    return dg.materialize(
        RAW_ASSETS, resources={"warehouse": resource, "run_lock": run_lock}, instance=dg.DagsterInstance.ephemeral()
    )


def _raw_query(settings: Settings, sql: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        return con.execute(sql.replace("RAW", str(settings.raw_dir))).fetchall()
    finally:
        con.close()


def _raw_fingerprint(settings: Settings) -> dict[str, str]:
    return {
        p.relative_to(settings.raw_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(settings.raw_dir.rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def ingested(generated, tmp_path_factory, pii_key_module):
    landing, manifest = generated
    root = tmp_path_factory.mktemp("ingested")
    settings = Settings.resolve(copy_landing(landing, root / "landing"), root / "wh" / "innostat.duckdb")
    result = _materialize(settings)
    assert result.success
    return settings, manifest, result


@pytest.fixture(scope="module")
def pii_key_module():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INNOSTAT_PII_KEY", "integration-test-key")
        yield


def test_every_feed_loads_and_quarantine_counts_match_what_was_planted(ingested):
    settings, manifest, _ = ingested
    counts = dict(
        _raw_query(settings, "select feed, count(*) from read_parquet('RAW/quarantine/*.parquet') group by 1")
    )
    for feed, expected in manifest["quarantine_expected"].items():
        assert counts.get(feed, 0) == expected, f"{feed}: quarantined {counts.get(feed, 0)}, planted {expected}"
    for table in RAW_TABLES:
        (loaded,) = _raw_query(settings, f"select count(*) from read_parquet('RAW/{table}/*.parquet')")[0]
        assert loaded > 0, f"raw.{table} is empty"


def test_every_quarantined_row_has_a_reason_and_a_location(ingested):
    settings, manifest, _ = ingested
    rows = _raw_query(
        settings,
        "select feed, source_file, source_row, reason from read_parquet('RAW/quarantine/*.parquet') "
        "where reason is null or reason = '' or source_file is null or source_row is null",
    )
    assert rows == []
    planted = {(p["feed"], p["file"], p["row"]) for p in manifest["quarantine_planted"]}
    found = set(
        _raw_query(settings, "select feed, source_file, source_row from read_parquet('RAW/quarantine/*.parquet')")
    )
    assert found == planted


def test_a_second_run_over_the_same_landing_zone_changes_nothing(ingested):
    settings, _, _ = ingested
    before = _raw_fingerprint(settings)
    result = _materialize(settings)
    assert result.success
    for event in result.get_asset_materialization_events():
        assert event.materialization.metadata["files_new"].value == 0
    assert _raw_fingerprint(settings) == before


def test_the_ledger_records_every_landed_file_once(ingested):
    settings, manifest, _ = ingested
    ledger = _raw_query(
        settings,
        "select feed, source_file, file_hash, status, duplicate_of, reason_code, rows_loaded, rows_quarantined "
        "from read_parquet('RAW/ingest_ledger/*.parquet')",
    )
    assert len(ledger) == sum(manifest["files"].values()), "every landed file gets one ledger row"
    assert len({(feed, source) for feed, source, *_ in ledger}) == len(ledger)
    loaded = [row for row in ledger if row[3] == "loaded"]
    duplicates = [row for row in ledger if row[3] == "duplicate"]
    assert len(loaded) + len(duplicates) == len(ledger)
    assert len({(feed, digest) for feed, _, digest, *_ in loaded}) == len(loaded)
    assert len(duplicates) == len(manifest["duplicate_files"])
    originals = {(feed, digest): source for feed, source, digest, *_ in loaded}
    for feed, source, digest, _, duplicate_of, code, rows_loaded, rows_quarantined in duplicates:
        assert duplicate_of == originals[(feed, digest)] != source
        assert (code, rows_loaded, rows_quarantined) == ("duplicate_file", 0, 0)


def test_a_copy_landing_later_is_recorded_once_as_a_duplicate(ingested, tmp_path):
    settings_src, _, _ = ingested
    landing = copy_landing(settings_src.landing, tmp_path / "landing")
    settings = Settings.resolve(landing, tmp_path / "wh" / "innostat.duckdb")
    assert _materialize(settings).success
    original = sorted((landing / "statistics").glob("*.csv"))[0]
    (landing / "statistics" / "resent").mkdir()
    copy = landing / "statistics" / "resent" / original.name
    copy.write_bytes(original.read_bytes())
    before = _raw_fingerprint(settings)
    for _ in range(2):  # the second run finds it recorded: nothing changes
        assert _materialize(settings).success
    added = set(_raw_fingerprint(settings)) - set(before)
    assert len(added) == 1 and next(iter(added)).startswith("ingest_ledger/statistics-")
    rows = _raw_query(
        settings,
        "select status, duplicate_of, rows_loaded from read_parquet('RAW/ingest_ledger/*.parquet') "
        f"where source_file = 'statistics/resent/{original.name}'",
    )
    assert rows == [("duplicate", f"statistics/{original.name}", 0)]


def test_no_personal_value_is_stored_in_clear(ingested):
    settings, manifest, _ = ingested
    pii = [v for v in manifest["pii_values"] if len(v) >= 2]
    assert pii, "the generator should plant personal values"
    blob = b"".join(p.read_bytes() for p in settings.state_dir.rglob("*") if p.is_file())
    # Parquet pages are compressed, so also scan the decoded text columns of every raw file.
    con = duckdb.connect()
    leaks = []
    for path in settings.raw_dir.rglob("*.parquet"):
        columns = con.execute(f"describe select * from read_parquet('{path}')").fetchall()
        text_columns = [name for name, dtype, *_ in columns if dtype == "VARCHAR"]
        if not text_columns:
            continue
        values = "\n".join(
            str(v) for row in con.execute(f"select * from read_parquet('{path}')").fetchall() for v in row
        )
        leaks += [(path.name, value) for value in pii if value in values]
    con.close()
    assert leaks == []
    assert not any(value.encode() in blob for value in pii if len(value) >= 6)


def test_bad_files_are_rejected_in_the_ledger_and_the_rest_still_loads(ingested, tmp_path, monkeypatch):
    settings_src, _, _ = ingested
    landing = copy_landing(settings_src.landing, tmp_path / "landing")
    outside = tmp_path / "outside.jsonl"  # fake personal data, reachable only through a link
    outside.write_text('{"incident_id":"X","reporter_name":"秘密李四","reporter_phone":"13877776666"}\n')
    (landing / "security" / "incidents" / "x.jsonl").symlink_to(outside)
    with gzip.open(landing / "gov_services" / "bomb.jsonl.gz", "wb") as bomb:
        for _ in range(8):
            bomb.write(b"\0" * (1 << 20))
    monkeypatch.setenv("INNOSTAT_MAX_DECOMPRESSED_BYTES", str(4 << 20))
    good = gzip.compress(
        b'{"event_id":"x1","case_id":"c1","event_type":"submitted","occurred_at":"2021-05-03T09:00:00+08:00"}\n' * 50
    )
    (landing / "gov_services" / "truncated.jsonl.gz").write_bytes(good[: len(good) // 2])
    (landing / "statistics" / "empty.csv").write_bytes(b"")
    (landing / "statistics" / "wrong_header.csv").write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    (landing / "rd_filings" / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    (landing / "security" / "cameras" / "late.csv").write_text(
        "camera_id,street_code,installed_on,status_date,online\nYFXL9999,430406001000,2019-01-01,2021-06-30,1\n",
        encoding="utf-8",
    )
    settings = Settings.resolve(landing, tmp_path / "wh" / "innostat.duckdb")
    assert _materialize(settings).success
    rejected = dict(
        _raw_query(
            settings,
            "select source_file, reason from read_parquet('RAW/ingest_ledger/*.parquet') where status = 'rejected'",
        )
    )
    assert set(rejected) == {
        "gov_services/truncated.jsonl.gz",
        "gov_services/bomb.jsonl.gz",
        "security/incidents/x.jsonl",
        "statistics/empty.csv",
        "statistics/wrong_header.csv",
        "rd_filings/corrupt.xlsx",
    }
    codes = dict(
        _raw_query(settings, "select source_file, reason_code from read_parquet('RAW/ingest_ledger/*.parquet')")
    )
    assert codes["security/incidents/x.jsonl"] == "not_regular_file"
    assert codes["gov_services/bomb.jsonl.gz"] == "too_large"
    assert codes["statistics/empty.csv"] == "empty_file" and codes["statistics/wrong_header.csv"] == "wrong_header"
    stored = "".join(str(row) for row in _raw_query(settings, "select * from read_parquet('RAW/quarantine/*.parquet')"))
    assert "秘密李四" not in stored and "13877776666" not in stored
    assert "empty" in rejected["statistics/empty.csv"]
    assert "header" in rejected["statistics/wrong_header.csv"]
    (late,) = _raw_query(
        settings, "select count(*) from read_parquet('RAW/security_cameras/*.parquet') where camera_id = 'YFXL9999'"
    )[0]
    assert late == 1
