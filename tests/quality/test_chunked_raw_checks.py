"""Raw suites over a big batch run chunk by chunk (bounded memory); the merged verdict must be the whole one."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from pipelines.lib.settings import QualitySettings, QualityThresholds
from pipelines.quality import chunking, gx_runner
from pipelines.quality.checks import mart_suites, raw_suites

DEFAULTS = QualityThresholds()

GOOD_PSEUDONYM = "p:" + "a" * 64


def _events(n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "event_id": f"E{i}",
                "case_id": None if i % 97 == 5 else f"C{i // 3}",  # missing case ids: a blocking failure
                "event_type": "submitted",
                "occurred_at": datetime(2021, 5, 3, 9, 0),
                "channel": "fax" if i % 41 == 7 else "online",
                "applicant_type": "person",
                "visits": -1 if i % 53 == 2 else 1,
                "promised_days": 3,
                "rating": 4,
                "applicant_id_pseudonym": "13800138000" if i == 250 else GOOD_PSEUDONYM,  # a clear phone: a leak
                "applicant_phone_pseudonym": GOOD_PSEUDONYM,
                "source_file": f"gov_services/events_{i // 100}.jsonl",
                "source_sheet": None,
                "source_row": i % 100 + 1,
            }
        )
    return pd.DataFrame(rows)


def test_chunked_verdicts_equal_the_whole_frames_verdict() -> None:
    (suite,) = [s for s in raw_suites("gov_services", DEFAULTS) if s.frame == "rows"]
    row_parts, rest = chunking.split_row_wise([suite])
    assert [len(p.rules) for p in row_parts] == [len(suite.rules)] and rest == []
    frame = _events(400)
    whole = gx_runner.validate(suite, frame)
    parts = [frame.iloc[start : start + 130].reset_index(drop=True) for start in range(0, len(frame), 130)]
    merged = chunking.merge_chunk_results([gx_runner.validate(suite, part) for part in parts])
    assert [r.as_dict() for r in merged] == [r.as_dict() for r in whole]
    failed = {r.expectation for r in whole if not r.passed}
    assert {"case_id_not_null", "channel_known", "visits_non_negative", "applicant_id_pseudonym_is_pseudonym"} <= failed
    assert all(r.element_count == 400 for r in merged)

    judged, rows = chunking.judge([suite], lambda _rest: {}, lambda _row_wise: map(chunking.FrameChunk, parts))
    assert rows == 400 and [r.as_dict() for r in judged] == [r.as_dict() for r in whole]


def test_worker_processes_give_the_in_process_verdicts(tmp_path, monkeypatch) -> None:
    """Chunks judged by worker processes (raw Parquet files they read themselves, mart rows handed over as
    Arrow) give the same merged results as one process judging them in order."""
    (suite,) = [s for s in raw_suites("gov_services", DEFAULTS) if s.frame == "rows"]
    row_parts, _rest = chunking.split_row_wise([suite])
    frame = _events(400)
    columns = tuple(frame.columns)
    paths = []
    for number, start in enumerate(range(0, len(frame), 100)):
        paths.append(tmp_path / f"{number}.parquet")
        pl.from_pandas(frame.iloc[start : start + 100]).write_parquet(paths[-1])
    chunks = [
        chunking.ParquetChunk((str(paths[0]), str(paths[1])), columns),
        chunking.ParquetChunk((str(paths[2]),), columns),
    ]
    chunks.append(chunking.ArrowChunk(pa.Table.from_pandas(frame.iloc[300:], preserve_index=False)))

    monkeypatch.setenv("INNOSTAT_CHECK_WORKERS", "1")
    alone = list(chunking.judge_chunks(row_parts, iter(chunks), QualitySettings.from_env().check_workers))
    monkeypatch.setenv("INNOSTAT_CHECK_WORKERS", "2")
    side_by_side = list(chunking.judge_chunks(row_parts, iter(chunks), QualitySettings.from_env().check_workers))
    assert [rows for _, rows in side_by_side] == [200, 100, 100]

    def merged(judged):
        return [r.as_dict() for r in chunking.merge_chunk_results([results for (results,), _rows in judged])]

    assert merged(side_by_side) == merged(alone) == [r.as_dict() for r in gx_runner.validate(suite, frame)]
    monkeypatch.setenv("INNOSTAT_CHECK_WORKERS", "none")
    with pytest.raises(ValueError, match="INNOSTAT_CHECK_WORKERS must be a whole number ≥ 1"):
        QualitySettings.from_env()


def test_workers_start_under_a_parent_run_as_python_dash_m() -> None:
    """`python -m pytest` and Dagster's code server (`python -m dagster api grpc`) leave a spawned worker a bare
    `__main__`; with pyspark installed, GX's import of it called sys.exit(0) in the worker
    (chunking.start_check_worker). The worker test above, run that way, must still pass."""
    test = f"{Path(__file__).resolve()}::test_worker_processes_give_the_in_process_verdicts"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def test_uniqueness_is_judged_on_the_whole_column_and_the_rest_chunk_by_chunk() -> None:
    (suite,) = [s for s in mart_suites("fct_gov_service_cases", DEFAULTS) if s.frame == "rows"]
    _row_parts, rest = chunking.split_row_wise([suite])
    assert [rule.gx_type for s in rest for rule in s.rules] == ["expect_column_values_to_be_unique"]
    assert rest[0].base_columns() == {"case_id"}  # the whole-table part reads one column, not the mart
    frame = pd.DataFrame({"case_id": ["C1", "C2", "C2", "C3"], "visits": [0, -1, 2, 1]})
    seen = []

    def whole(parts):
        seen.append(sorted(parts[0].base_columns()))
        return {"rows": frame[["case_id"]]}

    judged, rows = chunking.judge(
        [suite],
        whole,
        lambda _row_wise: map(chunking.FrameChunk, [frame.iloc[:2], frame.iloc[2:].reset_index(drop=True)]),
    )
    assert seen == [["case_id"]] and rows == 4
    assert [r.expectation for r in judged] == [rule.name for rule in suite.rules]  # the suite's own order
    verdicts = {r.expectation: (r.passed, r.unexpected_count) for r in judged}
    assert verdicts["case_id_unique"] == (False, 2) and verdicts["visits_non_negative"] == (False, 1)


def test_delivery_suites_stay_whole() -> None:
    delivery = [s for s in raw_suites("gov_services", DEFAULTS) if s.frame == "delivery"]
    row_parts, rest = chunking.split_row_wise(delivery)
    assert delivery and row_parts == [] and rest == delivery


def test_gx_does_not_fingerprint_every_batch() -> None:
    """GX's md5 over every cell of a batch (a batch marker nothing reads) cost two thirds of a raw check."""
    batch = gx_runner._gx_batch_definition().get_batch(batch_parameters={"dataframe": _events(10)})
    assert "ge_load_time" in batch.batch_markers  # the markers are there, only the fingerprint is not
    assert "pandas_data_fingerprint" not in batch.batch_markers


def test_rules_on_narrow_frames_give_the_whole_frames_verdicts(monkeypatch) -> None:
    """Big frames are validated a column group at a time; verdicts, counts and samples must not change."""
    (suite,) = [s for s in raw_suites("gov_services", DEFAULTS) if s.frame == "rows"]
    frame = _events(400)
    monkeypatch.setattr(gx_runner, "NARROW_FROM_ROWS", 10**9)
    whole = gx_runner.validate(suite, frame)
    monkeypatch.setattr(gx_runner, "NARROW_FROM_ROWS", 0)
    narrow = gx_runner.validate(suite, frame)
    assert [r.as_dict() for r in narrow] == [r.as_dict() for r in whole]
    assert sum(not r.passed for r in whole) >= 4 and all(r.sample for r in whole if not r.passed)


def test_nullable_integers_are_judged_as_numpy_numbers() -> None:
    """DuckDB hands a nullable BIGINT to pandas as Int64, on which GX judges a range value by value in Python;
    as numpy numbers the verdicts, counts and samples are the raw path's (polars hands float64 with NaN)."""
    (suite,) = [s for s in raw_suites("gov_services", DEFAULTS) if s.frame == "rows"]
    frame = _events(400)
    frame["visits"] = frame["visits"].where(frame.index % 7 != 0)  # nulls: skipped by a range rule
    nullable = frame.astype({"visits": "Int64", "promised_days": "Int64", "rating": "Int64"})
    converted = gx_runner.numpy_numbers(nullable)
    assert [str(converted[c].dtype) for c in ("visits", "promised_days", "rating")] == ["float64", "int64", "int64"]
    assert [r.as_dict() for r in gx_runner.validate(suite, nullable)] == [
        r.as_dict() for r in gx_runner.validate(suite, frame)
    ]
    (visits,) = [r for r in gx_runner.validate(suite, nullable) if r.expectation == "visits_non_negative"]
    assert not visits.passed and visits.unexpected_count == sum(1 for i in range(400) if i % 53 == 2 and i % 7)
