"""New incident or camera files start a run."""

from pipelines.defs.ingestion import build_feed_sensor
from pipelines.defs.jobs import INGEST_JOB_NAME

security_incidents_sensor = build_feed_sensor("security_incidents", INGEST_JOB_NAME)
security_cameras_sensor = build_feed_sensor("security_cameras", INGEST_JOB_NAME)
