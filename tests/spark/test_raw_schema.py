"""The raw Parquet files the ingestion writes have exactly the columns and types dbt's raw source declares.

The raw source (`_staging__sources.yml`) is the one declaration of the raw layer: the ingestion writes with the
types `pipelines/lib/feeds.py` reads from it, dbt's on-run-start hook makes one view per table of it, and Spark
reads the raw Parquet folders with the declared types (it cannot infer a schema from a folder whose only file is
the zero-row `_empty.parquet`). What is left to check is that the files as written match what Spark is told: the
mapping from declared types to Parquet types, through a real ingestion. No Spark needed: DuckDB describes them.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.ingest.layout import ensure_layout
from pipelines.ingest.runner import ingest_table
from pipelines.lib import feeds
from pipelines.lib.feeds import (
    EMPTY_MARKER,
    INGEST_LEDGER,
    QUARANTINE,
    RAW_TABLES,
    ledger_dir,
    quarantine_dir,
    table_dir,
)
from pipelines.lib.pseudonymise import Pseudonymiser

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "dbt_project" / "models" / "staging" / "_staging__sources.yml"
# DuckDB's name for each declared type (declared types are portable names, mapped for Spark in create_raw_views)
DUCKDB_TYPE = {"string": "VARCHAR", "varchar": "VARCHAR", "timestamp": "TIMESTAMP"}


def _declared() -> dict[str, list[tuple[str, str]]]:
    (source,) = [s for s in yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"] if s["name"] == "raw"]
    return {
        table["name"]: [(c["name"], DUCKDB_TYPE.get(c["data_type"], c["data_type"].upper())) for c in table["columns"]]
        for table in source["tables"]
    }


def _described(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    return [(name, kind) for name, kind, *_ in con.execute(f"describe select * from read_parquet('{path}')").fetchall()]


@pytest.mark.parametrize("table", RAW_TABLES)
def test_written_raw_files_have_the_declared_columns(generated, tmp_path, table):
    """The schema files and every file a real ingestion of the sample wrote, data, quarantine and ledger alike."""
    landing, _ = generated
    raw_dir = tmp_path / "raw"
    ensure_layout(raw_dir, table)
    ingest_table(table, landing, raw_dir, Pseudonymiser(b"raw-schema-test"), workers=1)
    declared = _declared()
    con = duckdb.connect()
    try:
        folders = {
            table: table_dir(raw_dir, table),
            QUARANTINE: quarantine_dir(raw_dir),
            INGEST_LEDGER: ledger_dir(raw_dir),
        }
        for name, folder in folders.items():
            files = sorted(folder.glob("*.parquet"))
            assert folder / EMPTY_MARKER in files, name
            if name != QUARANTINE:  # every sample feed loads files; not every one quarantines rows
                assert len(files) > 1, f"{name}: the sample should have written files"
            for path in files:
                assert _described(con, path) == declared[name], path
    finally:
        con.close()


def test_the_registry_refuses_a_declaration_that_names_other_tables(tmp_path, monkeypatch):
    """Feeds and raw source name the same tables by construction: a source without a feed's table is refused."""
    sources = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))
    (raw,) = [s for s in sources["sources"] if s["name"] == "raw"]
    raw["tables"] = [t for t in raw["tables"] if t["name"] != "security_cameras"]
    changed = tmp_path / "_staging__sources.yml"
    changed.write_text(yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(feeds, "SOURCES_YAML", changed)
    feeds._declared.cache_clear()
    try:
        with pytest.raises(ValueError, match="security_cameras"):
            feeds.raw_schema("statistics")
    finally:
        feeds._declared.cache_clear()
