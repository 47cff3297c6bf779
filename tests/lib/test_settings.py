"""One typed `Settings`, built once at the edge: a flag wins over its environment variable, which wins over the
project default; dbt gets its variables from it."""

from __future__ import annotations

from pathlib import Path

from pipelines.lib.settings import DEFAULT_LANDING, DEFAULT_WAREHOUSE, Settings


def test_a_flag_wins_over_its_variable_which_wins_over_the_default(tmp_path):
    environ = {
        "INNOSTAT_LANDING": str(tmp_path / "env-landing"),
        "INNOSTAT_WAREHOUSE": str(tmp_path / "env.duckdb"),
        "INNOSTAT_DEMO": "1",
        "INNOSTAT_DBT_FULL_REFRESH": "1",
        "INNOSTAT_DBT_TARGET": "spark",
    }
    from_env = Settings.from_env(environ)
    assert (from_env.landing, from_env.warehouse) == (tmp_path / "env-landing", tmp_path / "env.duckdb")
    assert from_env.demo and from_env.full_refresh and from_env.dbt_target == "spark"

    flagged = Settings.from_env(
        environ, landing=tmp_path / "l", warehouse=tmp_path / "w.duckdb", demo=False, full_refresh=False
    )
    assert (flagged.landing, flagged.warehouse) == (tmp_path / "l", tmp_path / "w.duckdb")
    assert not flagged.demo and not flagged.full_refresh

    default = Settings.from_env({})
    assert default.landing == DEFAULT_LANDING.resolve() and default.warehouse == DEFAULT_WAREHOUSE.resolve()
    assert not default.demo and not default.full_refresh and default.dbt_target == "duckdb"
    assert default.landing.is_absolute() and default.warehouse.is_absolute()


def test_dbt_gets_the_paths_the_demo_mark_and_the_month_window(tmp_path):
    settings = Settings(landing=tmp_path / "landing", warehouse=tmp_path / "w.duckdb", demo=True)
    env = settings.dbt_env(("2021-01", "2021-06"))
    assert Path(env["INNOSTAT_BUILD_PATH"]) == tmp_path / "w.duckdb.state" / "build.duckdb"
    assert Path(env["INNOSTAT_RAW_DIR"]) == tmp_path / "w.duckdb.state" / "raw"
    assert env["INNOSTAT_DEMO"] == "1" and env["INNOSTAT_DBT_TARGET"] == "duckdb"
    assert (env["INNOSTAT_MIN_MONTH"], env["INNOSTAT_MAX_MONTH"]) == ("2021-01", "2021-06")
    assert "INNOSTAT_MIN_MONTH" not in settings.dbt_env()  # no window: every month
