"""Ingestion of the gov_services feed into raw/gov_services."""

from pipelines.defs.ingestion import build_raw_asset

raw_gov_services = build_raw_asset("gov_services", group="gov_services")
