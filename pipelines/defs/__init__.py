"""Dagster definitions, one folder per domain, loaded by `pipelines.definitions`."""
