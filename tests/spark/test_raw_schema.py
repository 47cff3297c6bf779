"""The raw source columns declared for dbt (`_staging__sources.yml`) are exactly what the ingestion writes.

Spark reads the raw Parquet folders with these declared types (it cannot infer a schema from a folder whose only
file is the zero-row `_empty.parquet`), so a raw column added, renamed or retyped in the ingestion must show up
here, not as a Spark error on a cluster. No Spark needed: DuckDB describes the ingestion's own schema files.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.ingest.runner import EMPTY_MARKER, ensure_layout

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "dbt_project" / "models" / "staging" / "_staging__sources.yml"
DBT_PROJECT = ROOT / "dbt_project" / "dbt_project.yml"
# DuckDB's name for each declared type (declared types are portable names, mapped for Spark in create_raw_views)
DUCKDB_TYPE = {"string": "VARCHAR", "varchar": "VARCHAR", "timestamp": "TIMESTAMP"}


def _declared() -> dict[str, list[tuple[str, str]]]:
    (source,) = [s for s in yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"] if s["name"] == "raw"]
    return {
        table["name"]: [(c["name"], DUCKDB_TYPE.get(c["data_type"], c["data_type"].upper())) for c in table["columns"]]
        for table in source["tables"]
    }


def test_every_raw_table_of_the_project_is_declared():
    raw_tables = yaml.safe_load(DBT_PROJECT.read_text(encoding="utf-8"))["vars"]["raw_tables"]
    assert sorted(_declared()) == sorted(raw_tables)


@pytest.mark.parametrize(
    "table", ["statistics", "rd_filings", "gov_services", "security_incidents", "security_cameras"]
)
def test_declared_raw_columns_match_the_ingestion(tmp_path, table):
    ensure_layout(tmp_path, table)  # writes <table>/, quarantine/ and ingest_ledger/ zero-row schema files
    declared = _declared()
    con = duckdb.connect()
    try:
        for folder in (table, "quarantine", "ingest_ledger"):
            written = con.execute(f"describe select * from read_parquet('{tmp_path / folder / EMPTY_MARKER}')")
            assert [(name, kind) for name, kind, *_ in written.fetchall()] == declared[folder], folder
    finally:
        con.close()
