"""Files parsed by worker processes land exactly as when parsed in-process: same rows, quarantine and ledger."""

from __future__ import annotations

import gzip
import pickle

import duckdb
import pytest

from pipelines.ingest import runner
from pipelines.ingest import workers as worker_pool
from pipelines.lib.feeds import RAW_TABLES, feed
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.settings import IngestSettings
from tests.helpers import copy_landing

# What may differ between two ingestions of the same files: when they ran, and which run it was.
VOLATILE = "ingested_at"


def _ingest_all(landing, raw_dir, workers: int, said: list[str] | None = None) -> dict[str, runner.IngestReport]:
    say = (lambda message: None) if said is None else said.append
    return {
        table: runner.ingest_table(
            table, landing, raw_dir, Pseudonymiser(b"parallel-test"), workers=workers, progress=say
        )
        for table in RAW_TABLES
    }


def _rows(raw_dir, folder: str, exclude: str) -> list[tuple]:
    con = duckdb.connect()
    try:
        query = f"select * exclude ({exclude}) from read_parquet('{raw_dir}/{folder}/*.parquet', union_by_name=true)"
        return sorted(con.sql(query).fetchall(), key=repr)
    finally:
        con.close()


@pytest.fixture(scope="module")
def landing_with_a_corrupt_file(generated, tmp_path_factory):
    landing, _ = generated
    copy = copy_landing(landing, tmp_path_factory.mktemp("parallel") / "landing")
    folder = copy / feed("gov_services").folder
    good = sorted(folder.glob("*.jsonl*"))[0]
    (folder / "events_truncated.jsonl.gz").write_bytes(gzip.compress(good.read_bytes())[:-20])
    return copy


def test_worker_processes_land_the_same_rows_quarantine_and_ledger(landing_with_a_corrupt_file, tmp_path, monkeypatch):
    monkeypatch.setattr(worker_pool, "PARALLEL_MIN_BYTES", 0)  # the sample is small: parallelise it all the same
    landing = landing_with_a_corrupt_file
    in_process = _ingest_all(landing, tmp_path / "in_process" / "raw", workers=1)
    said: list[str] = []
    in_workers = _ingest_all(landing, tmp_path / "in_workers" / "raw", workers=2, said=said)
    assert any(m.startswith("gov_services: ") and m.endswith("parsed by 2 processes") for m in said), said
    assert not any(m.startswith("rd_filings: ") and "processes" in m for m in said)  # keeps state across files

    for table in RAW_TABLES:
        a, b = in_process[table], in_workers[table]
        assert not b.errors, b.errors
        assert (b.files_new, b.files_rejected, b.rows_loaded, b.rows_quarantined) == (
            a.files_new,
            a.files_rejected,
            a.rows_loaded,
            a.rows_quarantined,
        ), table
        assert _rows(tmp_path / "in_workers" / "raw", table, VOLATILE) == _rows(
            tmp_path / "in_process" / "raw", table, VOLATILE
        ), table
    assert in_workers["gov_services"].files_rejected == 1  # the truncated file: rejected, in the ledger
    assert in_workers["gov_services"].rows_quarantined > 0
    for folder, volatile in (("quarantine", VOLATILE), ("ingest_ledger", f"{VOLATILE}, run_id")):
        assert _rows(tmp_path / "in_workers" / "raw", folder, volatile) == _rows(
            tmp_path / "in_process" / "raw", folder, volatile
        )


def test_a_second_run_with_workers_finds_nothing_new(landing_with_a_corrupt_file, tmp_path, monkeypatch):
    monkeypatch.setattr(worker_pool, "PARALLEL_MIN_BYTES", 0)
    raw_dir = tmp_path / "raw"
    _ingest_all(landing_with_a_corrupt_file, raw_dir, workers=2)
    again = _ingest_all(landing_with_a_corrupt_file, raw_dir, workers=2)
    assert all(report.files_new == 0 and report.files_seen > 0 for report in again.values())


def test_a_crash_before_the_ledger_leaves_orphans_that_the_next_run_redoes(generated, tmp_path, monkeypatch):
    """Worker output without a ledger entry is not committed: the next run removes it and parses the file again."""
    monkeypatch.setattr(worker_pool, "PARALLEL_MIN_BYTES", 0)
    landing = copy_landing(generated[0], tmp_path / "landing")
    raw_dir = tmp_path / "raw"
    first = runner.ingest_table("gov_services", landing, raw_dir, Pseudonymiser(b"k"), workers=2)
    ledger = sorted((raw_dir / "ingest_ledger").glob("gov_services-*.parquet"))
    ledger[0].unlink()  # as if the run died after the worker wrote the file's data, before the commit marker
    second = runner.ingest_table("gov_services", landing, raw_dir, Pseudonymiser(b"k"), workers=2)
    assert (second.files_new, second.files_already_ingested) == (1, first.files_seen - 1)
    con = duckdb.connect()
    (loaded,) = con.sql(f"select count(*) from read_parquet('{raw_dir}/gov_services/*.parquet')").fetchall()[0]
    assert loaded == first.rows_loaded  # the orphan was replaced, not added to


def test_the_pseudonymiser_travels_to_workers_without_clear_values():
    pseudonymise = Pseudonymiser(b"k")
    pseudonymise("430406199001011234")
    shipped = pickle.dumps(pseudonymise)
    assert b"430406199001011234" not in shipped
    assert pickle.loads(shipped)("430406199001011234") == pseudonymise("430406199001011234")


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_a_bad_worker_count_says_what_is_allowed(value, monkeypatch):
    monkeypatch.setenv("INNOSTAT_INGEST_WORKERS", value)
    with pytest.raises(ValueError, match="INNOSTAT_INGEST_WORKERS must be a whole number"):
        IngestSettings.from_env()


def test_the_worker_count_defaults_to_the_cores(monkeypatch):
    monkeypatch.delenv("INNOSTAT_INGEST_WORKERS", raising=False)
    assert IngestSettings.from_env().workers >= 1
    monkeypatch.setenv("INNOSTAT_INGEST_WORKERS", "3")
    assert IngestSettings.from_env().workers == 3
