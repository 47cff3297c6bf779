"""The month partitions span the months with data: from the raw layer's first month (remembered per file, so a
load reads only new files) to the current month; a build's window outside them still reaches dbt whole."""

from __future__ import annotations

import json

import duckdb

from pipelines.defs.operations.automation import RANGE_END, RANGE_START, build_tags
from pipelines.defs.partitions import CACHE_NAME, WINDOW_END, WINDOW_START, first_month_with_data, monthly_partitions
from pipelines.lib.months import clamp, current_month


def _raw_file(settings, table: str, column: str, name: str, day: str) -> None:
    folder = settings.raw_dir / table
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute(f"copy (select timestamp '{day} 08:00:00' as {column}) to '{folder / name}' (format parquet)")
    finally:
        con.close()


def test_the_first_month_is_the_raw_layers_earliest_and_is_remembered_per_file(settings) -> None:
    assert first_month_with_data(settings) is None  # nothing ingested yet: the partitions use the fallback
    _raw_file(settings, "gov_services", "occurred_at", "a.parquet", "2021-03-04")
    _raw_file(settings, "security_incidents", "received_at", "b.parquet", "2020-11-30")
    assert first_month_with_data(settings) == "2020-11"
    cache = json.loads((settings.state_dir / CACHE_NAME).read_text())
    assert cache["gov_services"] == {"first": "2021-03", "files": ["a.parquet"]}

    # a file already seen is not read again: even broken, it changes nothing
    (settings.raw_dir / "gov_services" / "a.parquet").write_bytes(b"not parquet")
    assert first_month_with_data(settings) == "2020-11"

    # a new file with an older month moves the start back; one that cannot be read is left for the next load
    _raw_file(settings, "security_cameras", "status_date", "c.parquet", "2019-07-01")
    (settings.raw_dir / "security_incidents" / "broken.parquet").write_bytes(b"half a file")
    assert first_month_with_data(settings) == "2019-07"
    cache = json.loads((settings.state_dir / CACHE_NAME).read_text())
    assert "broken.parquet" not in cache["security_incidents"]["files"]


def test_clamp_keeps_a_window_inside_the_partitions() -> None:
    now = current_month()
    assert clamp(("2019-03", "2019-05"), "2019-01") == ("2019-03", "2019-05")
    assert clamp(("2017-03", "2019-05"), "2019-01") == ("2019-01", "2019-05")
    assert clamp(("2010-01", "2012-12"), "2019-01") == ("2019-01", "2019-01")  # all before: the first partition
    assert clamp(("2019-03", "9999-12"), "2019-01") == ("2019-03", now)


def test_a_build_window_before_the_partitions_reaches_dbt_whole() -> None:
    first = monthly_partitions.get_first_partition_key()
    earlier = f"{int(first[:4]) - 3:04d}{first[4:]}"
    tags = build_tags((earlier, first))
    assert (tags[RANGE_START], tags[RANGE_END]) == (first, first)  # Dagster's bookkeeping: partitions only
    assert (tags[WINDOW_START], tags[WINDOW_END]) == (earlier, first)  # what dbt rebuilds
    assert set(monthly_partitions.get_partition_keys_in_range(_range(tags))) == {first}


def test_a_run_with_no_month_touched_builds_the_current_month() -> None:
    tags = build_tags(None)
    assert tags[RANGE_START] == tags[RANGE_END] == tags[WINDOW_START] == current_month()
    assert monthly_partitions.get_last_partition_key() == current_month()


def _range(tags):
    import dagster as dg

    return dg.PartitionKeyRange(tags[RANGE_START], tags[RANGE_END])
