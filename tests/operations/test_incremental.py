"""Incremental monthly builds equal a full rebuild, after late events, re-sent incidents and a backfill."""

from __future__ import annotations

import json
import math
import os
import shutil

import duckdb
import pytest

from pipelines.cli import main
from pipelines.defs.transform.assets import month_window_of_build
from pipelines.lib.months import touched_months
from pipelines.lib.settings import Settings
from tests.helpers import copy_landing

COMPARED = {
    "marts.indicator_values": "indicator_code, region_code, period, dimension, member",
    "marts.fct_gov_service_cases": "case_id",
    "marts.fct_security_incidents": "incident_id",
    "marts.fct_camera_days": "camera_id, status_date",
}


def _table(path, name: str, order: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select * from {name} order by {order}").fetchall()
    finally:
        con.close()


def _same(left: list[tuple], right: list[tuple]) -> bool:
    """Equal rows; doubles within 1e-9 relative (a mean summed in another order may differ in the last bit)."""
    if len(left) != len(right):
        return False
    for a_row, b_row in zip(left, right, strict=True):
        for a, b in zip(a_row, b_row, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12):
                    return False
            elif a != b:
                return False
    return True


def _late_files(landing, earliest_gov_file):
    """A late completion and rating for a case of the first month, and a re-sent incident that changes category
    and street, delivered after everything else."""
    opener = __import__("gzip").open if earliest_gov_file.suffix == ".gz" else open
    with opener(earliest_gov_file, "rt", encoding="utf-8") as handle:
        submitted = next(
            json.loads(line)
            for line in handle
            if line.strip().startswith("{") and '"submitted"' in line and line.strip().endswith("}")
        )
    late_events = landing / "gov_services" / "zz_late_events.jsonl"
    late_events.write_text(
        "\n".join(
            json.dumps(event, ensure_ascii=False)
            for event in (
                {
                    "event_id": "late-1",
                    "case_id": submitted["case_id"],
                    "event_type": "rated",
                    "occurred_at": "2021-12-30T10:00:00+08:00",
                    "rating": 1,
                },
                {
                    "event_id": "late-2",
                    "case_id": "LATE-CASE-1",
                    "event_type": "submitted",
                    "occurred_at": "2020-02-10T09:00:00+08:00",
                    "department": "区民政局",
                    "channel": "window",
                    "applicant_type": "person",
                },
            )
        )
        + "\n",
        encoding="utf-8",
    )
    resent = landing / "security" / "incidents" / "zz_resent.jsonl"
    resent.write_text(
        json.dumps(
            {
                "incident_id": "LATE-JQ-1",
                "received_at": "2020-03-05T22:14:05+08:00",
                "arrived_at": "2020-03-05T22:20:05+08:00",
                "category": "fraud",
                "street_code": "430406003000",
                "source": "app",
            }
        )
        + "\n"
        + json.dumps(
            {
                "incident_id": "LATE-JQ-1",
                "received_at": "2020-03-05T22:14:05+08:00",
                "arrived_at": "2020-03-05T22:20:05+08:00",
                "category": "theft",
                "street_code": "430406001000",
                "source": "app",
            }
        )
        + "\n",
        encoding="utf-8",
    )
    for path in (late_events, resent):
        os.utime(path, (2_000_000_000, 2_000_000_000))  # delivered last
    return submitted["case_id"]


@pytest.fixture(scope="module")
def key():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INNOSTAT_PII_KEY", "incremental-test-key")
        yield


def test_incremental_runs_and_backfill_equal_a_full_rebuild(generated, tmp_path, key):
    source, _ = generated
    landing = copy_landing(source, tmp_path / "landing")
    # hold back the newest gov-service and incident files: they arrive in a second, incremental run
    held = tmp_path / "held"
    held.mkdir()
    newest = sorted((landing / "gov_services").iterdir(), key=lambda p: p.stat().st_mtime)[-3:]
    newest += sorted((landing / "security" / "incidents").iterdir(), key=lambda p: p.stat().st_mtime)[-3:]
    for path in newest:
        shutil.move(path, held / path.name)

    incremental = tmp_path / "incremental" / "innostat.duckdb"
    assert main(["run", "--landing", str(landing), "--warehouse", str(incremental)]) == 0

    for path in newest:
        folder = "gov_services" if path.name.startswith("events") else "security/incidents"
        shutil.move(held / path.name, landing / folder / path.name)
    earliest = sorted((landing / "gov_services").iterdir(), key=lambda p: p.name)[0]
    late_case = _late_files(landing, earliest)
    assert main(["run", "--landing", str(landing), "--warehouse", str(incremental)]) == 0
    # the second run rebuilt a window, not everything: it starts at the late months
    assert touched_months(incremental.with_name(incremental.name + ".state") / "raw")[0] < "2020-02"

    full = tmp_path / "full" / "innostat.duckdb"
    assert main(["run", "--landing", str(landing), "--warehouse", str(full)]) == 0
    for name, order in COMPARED.items():
        assert _same(_table(incremental, name, order), _table(full, name, order)), name

    # the cases table keeps its never-repeating text columns uncompressed (macros/column_compression.sql) after
    # a first build and after the delete+insert of an incremental run
    for warehouse in (full, incremental):
        con = duckdb.connect(str(warehouse), read_only=True)
        (ddl,) = con.execute(
            "select sql from duckdb_tables() where table_name = 'int_gov_service_cases_assembled'"
        ).fetchone()
        stored = con.execute(
            "select distinct compression from pragma_storage_info('intermediate.int_gov_service_cases_assembled') "
            "where column_name = 'applicant_id_pseudonym' and segment_type = 'VARCHAR'"
        ).fetchall()
        con.close()
        for column in ("case_id", "applicant_id_pseudonym", "applicant_phone_pseudonym"):
            assert f"{column} VARCHAR USING COMPRESSION Uncompressed" in ddl, ddl
        assert "department VARCHAR," in ddl, ddl
        assert stored == [("Uncompressed",)], stored

    # the late rating and the re-sent incident are in the incremental result
    con = duckdb.connect(str(incremental), read_only=True)
    rating = con.execute("select rating from marts.fct_gov_service_cases where case_id = ?", [late_case]).fetchone()
    late_case_row = con.execute("select submitted_at from marts.fct_gov_service_cases where case_id = 'LATE-CASE-1'")
    assert rating == (1,) and late_case_row.fetchone() is not None
    con.close()
    incident = _table(incremental, "marts.fct_security_incidents where incident_id = 'LATE-JQ-1'", "incident_id")
    assert len(incident) == 1 and "theft" in incident[0]

    # a case of 2021 is outside the backfill's window: planted text in a column no indicator reads must survive
    # (the window reaches dbt through the environment; were it lost, every case would be rebuilt)
    planted = "planted outside the window"
    outside_case, original = _plant_item_name(incremental, "2021-03", planted)
    assert main(["backfill", "--from", "2020-01", "--to", "2020-06", "--warehouse", str(incremental)]) == 0
    # still planted after the backfill (then back as it was, for the comparison below)
    assert _plant_item_name(incremental, None, original, case_id=outside_case) == (outside_case, planted)
    for name, order in COMPARED.items():
        assert _same(_table(incremental, name, order), _table(full, name, order)), f"after backfill: {name}"


def _plant_item_name(warehouse, month: str | None, text: str | None, case_id: str | None = None) -> tuple:
    """(case_id, item_name before) of a case submitted in `month` (or `case_id`); sets item_name to `text`
    unless None."""
    con = duckdb.connect(str(warehouse))
    try:
        if case_id is None:
            (case_id,) = con.execute(
                "select min(case_id) from marts.fct_gov_service_cases where submitted_month = ? "
                "and completed_month = ? and item_name is not null",
                [month, month],
            ).fetchone()
        (before,) = con.execute(
            "select item_name from marts.fct_gov_service_cases where case_id = ?", [case_id]
        ).fetchone()
        if text is not None:
            # the mart is a view of this table
            con.execute(
                "update intermediate.int_gov_service_cases_assembled set item_name = ? where case_id = ?",
                [text, case_id],
            )
    finally:
        con.close()
    return case_id, before


def test_a_first_build_has_no_month_window(tmp_path):
    """Nothing published: dbt gets no window, so the tests of the incremental models read whole tables directly
    (every row is rebuilt) instead of looking the window's ids up; once a warehouse is published, the run's
    partition range is the window."""
    settings = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "innostat.duckdb")
    assert month_window_of_build(settings, ("2019-01", "2022-12")) is None
    duckdb.connect(str(settings.warehouse)).close()
    assert month_window_of_build(settings, ("2022-12", "2022-12")) == ("2022-12", "2022-12")


def test_backfill_rejects_bad_months(tmp_path, key, capsys):
    assert main(["backfill", "--from", "2021-6", "--to", "2021-07", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
