"""Ingestion of the rd_filings feed into raw/rd_filings."""

from pipelines.defs.ingestion import build_raw_asset

raw_rd_filings = build_raw_asset("rd_filings", group="rd_filings")
