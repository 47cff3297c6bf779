"""Suites of the raw tables. They judge the batch a run ingests: the rows of the files this run added to the
ingest ledger (`rows`), and one row per such file (`delivery`). Earlier batches were judged when they landed,
and they stay in the append-only raw layer whatever their verdict; what keeps a bad value out of the published
warehouse for good are the mart suites, which judge the whole published content on every run.
"""

from __future__ import annotations

import importlib

from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import BLOCK, Suite, between

LINEAGE_INDEX = ("source_file", "source_sheet", "source_row")  # where an offending row was delivered


def delivery_suite(table: str) -> Suite:
    """Every file this run ingested delivered at least one row (loaded, or an exact re-delivery)."""
    rule = between(
        "new_files_deliver_rows",
        "rows_delivered",
        "a delivered file that yields no row (empty, rejected as a whole, or every row quarantined) means the "
        "source system sent the wrong file: publishing would silently miss its data",
        min_value=1,
        severity=BLOCK,
        threshold="≥ 1 row per new file (rows_loaded + rows_skipped)",
    )
    return Suite(
        table=f"raw.{table}",
        frame="delivery",
        part="delivery",
        rules=(rule,),
        index_columns=("source_file", "status", "reason", "rows_quarantined"),
    )


def build_suites(table: str, thresholds: QualityThresholds) -> list[Suite]:
    """The raw table's suites: its rows suite and the delivery suite."""
    if table not in RAW_TABLES:
        raise KeyError(f"no suites for raw table {table!r}; known: {', '.join(RAW_TABLES)}")
    module = importlib.import_module(f"pipelines.quality.suites.raw.{table}")
    return [*module.build_suites(thresholds), delivery_suite(table)]
