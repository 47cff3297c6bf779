"""Dagster definitions by stage (ingestion, transform, quality, publish, operations), assembled for one warehouse
by `pipelines.definitions.build_definitions`."""
