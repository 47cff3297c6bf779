"""New rd_filings files start a run."""

from pipelines.defs.ingestion import build_feed_sensor
from pipelines.defs.jobs import INGEST_JOB_NAME

rd_filings_sensor = build_feed_sensor("rd_filings", INGEST_JOB_NAME)
