"""Environment switches in one place: telemetry off before any tool is imported, and bounded numeric settings.

The paths and run switches are `lib/settings.Settings`; dbt gets them as environment variables from
`Settings.dbt_env`, set only where dbt is started (`defs/transform/assets.py`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pipelines.lib.settings import PROJECT_ROOT

# No network at run time: every tool's telemetry and version check is switched off before it is imported.
OFFLINE_DEFAULTS = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "DBT_VERSION_CHECK": "False",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
}


def apply_offline_defaults() -> None:
    for name, value in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster_home"))


def number_setting(variable: str, default, parse, valid, wanted: str, environ: Mapping[str, str] = os.environ):
    """The environment variable `variable` (of `environ`) parsed with `parse` (int or float); `default` when it
    is unset or empty. A value that does not parse, or for which `valid(value)` is false, raises ValueError saying
    that it must be `wanted`."""
    text = environ.get(variable, "").strip()
    if not text:
        return default
    try:
        value = parse(text)
    except ValueError:
        value = None
    if value is None or not valid(value):
        raise ValueError(f"{variable} must be {wanted}, got {text!r}")
    return value


def worker_processes(variable: str, default: int, environ: Mapping[str, str] = os.environ) -> int:
    """How many worker processes the environment variable `variable` (of `environ`) asks for (1 = none, in the
    run's process); `default` when it is unset or empty."""
    wanted = "a whole number ≥ 1 (1 = no worker processes)"
    return number_setting(variable, default, int, lambda n: n >= 1, wanted, environ)
