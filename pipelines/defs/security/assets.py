"""Ingestion of the security feeds: 110 incidents and 雪亮 camera status."""

from pipelines.defs.ingestion import build_raw_asset

raw_security_incidents = build_raw_asset("security_incidents", group="security")
raw_security_cameras = build_raw_asset("security_cameras", group="security")
