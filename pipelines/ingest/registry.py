"""The raw tables and the parser that fills each. A raw table and its Dagster asset key share one name."""

from __future__ import annotations

import importlib
from functools import cache

from pipelines.ingest.base import FeedParser

# raw table → module in pipelines.ingest holding its PARSER
RAW_TABLES: dict[str, str] = {
    "statistics": "statistics",
    "rd_filings": "rd_filings",
    "gov_services": "gov_services",
    "security_incidents": "security_incidents",
    "security_cameras": "security_cameras",
}


@cache
def parser_for(table: str) -> FeedParser:
    if table not in RAW_TABLES:
        raise KeyError(f"unknown raw table {table!r}; known: {', '.join(RAW_TABLES)}")
    return importlib.import_module(f"pipelines.ingest.{RAW_TABLES[table]}").PARSER
