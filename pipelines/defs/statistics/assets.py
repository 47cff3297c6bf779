"""Ingestion of the statistics feed into raw/statistics."""

from pipelines.defs.ingestion import build_raw_asset

raw_statistics = build_raw_asset("statistics", group="statistics")
