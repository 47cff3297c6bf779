"""The fingerprint that lets a run keep `dbt_base` from the published warehouse changes with each of its inputs."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from pipelines.lib import build_inputs
from pipelines.lib.build_inputs import (
    BASE_GROUP,
    base_fingerprint,
    base_is_current,
    published_fingerprint,
    record_fingerprint,
)


@pytest.fixture
def code(tmp_path, monkeypatch):
    """A stand-in for the project's code folders, so a test can change 'the code'."""
    folder = tmp_path / "code"
    (folder / "models").mkdir(parents=True)
    (folder / "models" / "a.sql").write_text("select 1", encoding="utf-8")
    (folder / "target").mkdir()  # dbt's output: not an input
    monkeypatch.setattr(build_inputs, "_CODE_FOLDERS", (folder,))
    monkeypatch.setattr(build_inputs, "PROJECT_ROOT", tmp_path)
    return folder


def _raw_file(settings, feed: str, name: str, content: bytes = b"PAR1") -> None:
    folder = settings.raw_dir / feed
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)


def test_fingerprint_follows_raw_files_of_statistics_and_rd_only(settings, code):
    _raw_file(settings, "statistics", "a.parquet")
    before = base_fingerprint(settings)
    assert base_fingerprint(settings) == before  # stable

    _raw_file(settings, "gov_services", "events.parquet")  # a daily feed: not read by dbt_base
    _raw_file(settings, "quarantine", "q.parquet")
    assert base_fingerprint(settings) == before

    _raw_file(settings, "rd_filings", "b.parquet")
    with_filing = base_fingerprint(settings)
    assert with_filing != before

    path = settings.raw_dir / "rd_filings" / "b.parquet"
    os.utime(path, ns=(1, 1))  # the same name rewritten
    assert base_fingerprint(settings) != with_filing


def test_fingerprint_follows_the_code_but_not_dbt_output(settings, code):
    before = base_fingerprint(settings)
    (code / "target" / "manifest.json").write_text("{}", encoding="utf-8")
    (code / "models" / "a.cpython-311.pyc").write_bytes(b"\0")
    assert base_fingerprint(settings) == before

    (code / "models" / "a.sql").write_text("select 2", encoding="utf-8")
    assert base_fingerprint(settings) != before


def test_the_real_fingerprint_covers_dbt_project_suites_and_pipeline_code():
    covered = {folder.name for folder in build_inputs._CODE_FOLDERS}
    assert covered == {"dbt_project", "pipelines"}  # the suites: pipelines/quality/suites/


def test_base_is_current_only_with_the_same_published_fingerprint(settings, code):
    assert published_fingerprint(settings, BASE_GROUP) is None
    assert not base_is_current(settings)  # nothing published

    settings.warehouse.parent.mkdir(parents=True)
    import duckdb

    duckdb.connect(str(settings.warehouse)).close()  # published, but without a record: build
    assert published_fingerprint(settings, BASE_GROUP) is None
    assert not base_is_current(settings)

    record_fingerprint(settings.warehouse, BASE_GROUP, base_fingerprint(settings), "run-1")
    record_fingerprint(settings.warehouse, BASE_GROUP, base_fingerprint(settings), "run-2")  # replaces its row
    assert published_fingerprint(settings, BASE_GROUP) == base_fingerprint(settings)
    assert base_is_current(settings)

    assert not base_is_current(replace(settings, full_refresh=True))
    assert not base_is_current(replace(settings, dbt_target="spark"))

    _raw_file(settings, "statistics", "revision.parquet")
    assert not base_is_current(settings)


def test_a_file_whose_build_was_never_published_is_still_rebuilt(settings, code):
    """Issue 28: a statistics file ingested by a run that then failed (its build recorded the new fingerprint,
    but was never published) must not let the next run keep the published statistics tables."""
    import duckdb

    settings.warehouse.parent.mkdir(parents=True)
    duckdb.connect(str(settings.warehouse)).close()
    record_fingerprint(settings.warehouse, BASE_GROUP, base_fingerprint(settings), "run-1")
    assert base_is_current(settings)

    _raw_file(settings, "statistics", "ingested-by-a-failed-run.parquet")
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    duckdb.connect(str(settings.build_path)).close()
    record_fingerprint(settings.build_path, BASE_GROUP, base_fingerprint(settings), "run-2")  # built, not published
    assert not base_is_current(settings)  # the published file lacks it: the next run rebuilds dbt_base
