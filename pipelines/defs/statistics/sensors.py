"""New statistics files start a run."""

from pipelines.defs.ingestion import build_feed_sensor
from pipelines.defs.jobs import INGEST_JOB_NAME

statistics_sensor = build_feed_sensor("statistics", INGEST_JOB_NAME)
