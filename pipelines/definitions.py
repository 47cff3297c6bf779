"""Dagster entry point: every domain's definitions from `pipelines/defs/`, plus the shared resources."""

from pathlib import Path

import dagster as dg

from pipelines.lib.environment import apply_offline_defaults

apply_offline_defaults()

from pipelines.defs.resources import default_resources  # noqa: E402  (telemetry is off before Dagster loads)


@dg.definitions
def defs() -> dg.Definitions:
    domains = dg.load_from_defs_folder(path_within_project=Path(__file__).parent / "defs")
    return dg.Definitions.merge(domains, dg.Definitions(resources=default_resources()))
