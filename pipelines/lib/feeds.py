"""The feeds and the raw layer, defined once: which raw tables exist, their columns, and where their files live.

The raw columns and types are declared in one place, dbt's raw source (`_staging__sources.yml`), because dbt
and Spark need them there; the ingestion, the quality suites and the Dagster definitions read them from here.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl
import yaml

from pipelines.lib.settings import DBT_PROJECT_DIR

SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "_staging__sources.yml"

# The raw tables the feeds fill, one Parquet folder each, in delivery-independent display order.
RAW_TABLES: tuple[str, ...] = ("statistics", "rd_filings", "gov_services", "security_incidents", "security_cameras")
QUARANTINE = "quarantine"  # every rejected row of every feed
INGEST_LEDGER = "ingest_ledger"  # one row per landed file: the exactly-once record
SIDE_TABLES: tuple[str, ...] = (QUARANTINE, INGEST_LEDGER)

# dbt's portable type names → the Parquet type the ingestion writes (timestamps: naive Asia/Shanghai wall clock)
_POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "double": pl.Float64(),
    "bigint": pl.Int64(),
    "integer": pl.Int32(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
}


@cache
def _declared() -> dict[str, dict[str, pl.DataType]]:
    sources = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))["sources"]
    (raw,) = [source for source in sources if source["name"] == "raw"]
    return {
        table["name"]: {column["name"]: _POLARS_TYPES[column["data_type"]] for column in table["columns"]}
        for table in raw["tables"]
    }


def raw_schema(table: str) -> dict[str, pl.DataType]:
    """The columns of raw table `table` (a feed's table, `quarantine` or `ingest_ledger`), in file order."""
    declared = _declared()
    if table not in declared:
        raise KeyError(f"unknown raw table {table!r}; declared in {SOURCES_YAML.name}: {', '.join(declared)}")
    return dict(declared[table])


def table_dir(raw_dir: Path, table: str) -> Path:
    """The folder of raw table `table` (feed table or side table): one Parquet file per ingested source file."""
    return raw_dir / table


def ledger_dir(raw_dir: Path) -> Path:
    return raw_dir / INGEST_LEDGER


def quarantine_dir(raw_dir: Path) -> Path:
    return raw_dir / QUARANTINE
