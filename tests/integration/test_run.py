"""`innostat run` end to end: ingest, dbt build, checks, atomic publish; failures change nothing."""

from __future__ import annotations

import hashlib
import os
import shutil

import duckdb
import pytest

from pipelines.cli import main
from pipelines.lib.settings import Settings
from tests.helpers import rows
from tests.integration.conftest import copy_landing

FEEDS = ("statistics", "rd_filings", "gov_services", "security_incidents", "security_cameras")


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def published(generated, tmp_path_factory):
    landing, manifest = generated
    root = tmp_path_factory.mktemp("run")
    settings = Settings.resolve(copy_landing(landing, root / "landing"), root / "wh" / "innostat.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INNOSTAT_PII_KEY", "run-test-key")
        before = {name: value for name, value in os.environ.items() if name.startswith("INNOSTAT_")}
        code = main(["run", "--landing", str(settings.landing), "--warehouse", str(settings.warehouse)])
        assert code == 0
        # the settings reached Dagster and dbt as resources: the CLI's own environment is as it was
        assert {name: value for name, value in os.environ.items() if name.startswith("INNOSTAT_")} == before
        yield settings, manifest, patch


def test_run_publishes_the_quarantine_with_exact_counts(published):
    settings, manifest, _ = published
    counts = dict(rows(settings.warehouse, "select feed, count(*) from marts.quarantine group by feed"))
    for feed in FEEDS:
        assert counts.get(feed, 0) == manifest["quarantine_expected"][feed], feed
    assert not settings.build_path.exists()  # the working file became the published one


def test_the_quarantine_and_the_ledger_group_by_reason_code_with_chinese_labels(published):
    settings, manifest, _ = published
    groups = rows(
        settings.warehouse,
        "select reason_code, reason_label, count(*) from marts.quarantine group by all order by all",
    )
    seed = rows(settings.warehouse, "select code, label_zh from reference.quarantine_reasons")
    assert {(code, label) for code, label, _ in groups} <= set(seed)
    assert sum(n for *_, n in groups) == sum(manifest["quarantine_expected"].values())
    (distinct_reasons,) = rows(settings.warehouse, "select count(distinct reason) from marts.quarantine")[0]
    assert len(groups) < distinct_reasons  # the codes summarise: the reasons name each bad value
    ledger = rows(settings.warehouse, "select status, count(*) from marts.ingest_ledger group by all")
    assert sum(n for _, n in ledger) == sum(manifest["files"].values())
    assert dict(ledger).get("duplicate", 0) == len(manifest["duplicate_files"])


def test_raw_tables_are_visible_in_the_published_file(published):
    settings, _, _ = published
    for table in (*FEEDS, "ingest_ledger", "quarantine"):
        (count,) = rows(settings.warehouse, f"select count(*) from raw.{table}")[0]
        assert count > 0, table


def test_no_personal_value_anywhere_in_the_published_warehouse(published):
    settings, manifest, _ = published
    pii = set(manifest["pii_values"])
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    columns = con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where data_type = 'VARCHAR' and table_schema not in ('information_schema', 'pg_catalog')"
    ).fetchall()
    leaks = []
    for schema, table, column in columns:
        values = {v for (v,) in con.execute(f'select distinct "{column}" from {schema}.{table}').fetchall() if v}
        leaks += [(schema, table, column, v) for v in values if v in pii]
        text = "\n".join(values)
        leaks += [(schema, table, column, p) for p in pii if len(p) >= 6 and p in text]
    con.close()
    assert columns and leaks == []


def test_a_second_run_changes_no_published_value(published):
    settings, _, _ = published
    query = "select * from marts.quarantine order by all"
    before = rows(settings.warehouse, query)
    assert main(["run", "--landing", str(settings.landing), "--warehouse", str(settings.warehouse)]) == 0
    assert rows(settings.warehouse, query) == before


def test_a_failed_check_leaves_the_published_file_byte_for_byte(published, tmp_path, capsys):
    settings, _, _ = published
    landing = copy_landing(settings.landing, tmp_path / "landing")
    target = Settings.resolve(landing, tmp_path / "wh" / "innostat.duckdb")
    shutil.copytree(settings.state_dir, target.state_dir)
    shutil.copy2(settings.warehouse, target.warehouse)
    before = _sha(target.warehouse)
    planted = landing / "statistics" / "zz_planted.csv"
    planted.write_text(
        "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,高新技术产业增加值,亿元,2021,99999,最终核实\n",
        encoding="utf-8",
    )
    os.utime(planted, (2_000_000_000, 2_000_000_000))  # delivered last
    code = main(["run", "--landing", str(landing), "--warehouse", str(target.warehouse)])
    assert code == 1
    assert _sha(target.warehouse) == before
    assert "assert_ht_value_added_within_gdp" in capsys.readouterr().err


def test_no_key_refuses_to_ingest(generated, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("INNOSTAT_PII_KEY", raising=False)
    landing, _ = generated
    code = main(["run", "--landing", str(landing), "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == 2
    assert "INNOSTAT_PII_KEY" in capsys.readouterr().err
    assert not (tmp_path / "w.duckdb.state" / "raw").exists()
