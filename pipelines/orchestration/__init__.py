"""What the `innostat` commands and the Makefile do, over one typed `Settings` (the layer under `pipelines.cli`):

- `runs`: run, backfill, rollback, ingest-only, demo, the run lock, the ingest summary;
- `sql_shell`: the read-only SQL shell of `innostat sql`;
- `services`: the Dagster and Superset background services of `make dagster` / `make superset` / `make stop`.
"""
