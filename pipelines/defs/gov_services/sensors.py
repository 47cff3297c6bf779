"""New gov_services files start a run."""

from pipelines.defs.ingestion import build_feed_sensor
from pipelines.defs.jobs import INGEST_JOB_NAME

gov_services_sensor = build_feed_sensor("gov_services", INGEST_JOB_NAME)
