"""The month partitions span the months with data (read from the raw layer, remembered per file, so a load reads
only new files); live feeds reach the current month. A build's window outside them still reaches dbt whole."""

from __future__ import annotations

import json

import duckdb

from pipelines.defs.operations.automation import RANGE_END, RANGE_START, build_tags
from pipelines.defs.partitions import (
    CACHE_NAME,
    FALLBACK_FIRST_MONTH,
    LIVE_MONTHS,
    WINDOW_END,
    WINDOW_START,
    monthly_partitions_for,
    months_with_data,
)
from pipelines.lib.months import clamp, current_month

monthly_partitions = monthly_partitions_for(("2019-01", "2022-12"))  # a warehouse of the sample years


def _raw_file(settings, table: str, column: str, name: str, *days: str) -> None:
    folder = settings.raw_dir / table
    folder.mkdir(parents=True, exist_ok=True)
    rows = " union all ".join(f"select timestamp '{day} 08:00:00' as {column}" for day in days)
    con = duckdb.connect()
    try:
        con.execute(f"copy ({rows}) to '{folder / name}' (format parquet)")
    finally:
        con.close()


def _month(offset: int) -> str:
    """The month `offset` months from the current one."""
    now = current_month()
    index = int(now[:4]) * 12 + int(now[5:]) - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_the_span_is_the_raw_layers_and_is_remembered_per_file(settings) -> None:
    assert months_with_data(settings) is None  # nothing ingested yet: the partitions use the fallback
    _raw_file(settings, "gov_services", "occurred_at", "a.parquet", "2021-03-04", "2021-08-31")
    _raw_file(settings, "security_incidents", "received_at", "b.parquet", "2020-11-30")
    assert months_with_data(settings) == ("2020-11", "2021-08")
    cache = json.loads((settings.state_dir / CACHE_NAME).read_text())
    assert cache["gov_services"] == {"first": "2021-03", "last": "2021-08", "files": ["a.parquet"]}

    # a file already seen is not read again: even broken, it changes nothing
    (settings.raw_dir / "gov_services" / "a.parquet").write_bytes(b"not parquet")
    assert months_with_data(settings) == ("2020-11", "2021-08")

    # new files widen the span; one that cannot be read is left for the next load
    _raw_file(settings, "security_cameras", "status_date", "c.parquet", "2019-07-01", "2022-01-05")
    (settings.raw_dir / "security_incidents" / "broken.parquet").write_bytes(b"half a file")
    assert months_with_data(settings) == ("2019-07", "2022-01")
    cache = json.loads((settings.state_dir / CACHE_NAME).read_text())
    assert "broken.parquet" not in cache["security_incidents"]["files"]


def test_data_that_ended_span_their_months_and_live_feeds_reach_this_month() -> None:
    archive = monthly_partitions_for(("2019-01", "2022-12"))
    keys = archive.get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2019-01", "2022-12", 48)  # the demo: "48 of 48"
    live = monthly_partitions_for(("2019-01", _month(-LIVE_MONTHS)))
    assert live.get_last_partition_key() == current_month()
    assert monthly_partitions_for(None).get_first_partition_key() == FALLBACK_FIRST_MONTH


def test_clamp_keeps_a_window_inside_the_partitions() -> None:
    assert clamp(("2019-03", "2019-05"), "2019-01", "2022-12") == ("2019-03", "2019-05")
    assert clamp(("2017-03", "2019-05"), "2019-01", "2022-12") == ("2019-01", "2019-05")
    assert clamp(("2010-01", "2012-12"), "2019-01", "2022-12") == ("2019-01", "2019-01")  # all before: the first
    assert clamp(("2022-03", "2023-02"), "2019-01", "2022-12") == ("2022-03", "2022-12")
    assert clamp(("2024-01", "2024-02"), "2019-01", "2022-12") == ("2022-12", "2022-12")  # all after: the last


def test_a_build_window_outside_the_partitions_reaches_dbt_whole() -> None:
    first, last = monthly_partitions.get_first_partition_key(), monthly_partitions.get_last_partition_key()
    earlier = f"{int(first[:4]) - 3:04d}{first[4:]}"
    tags = build_tags((earlier, first), monthly_partitions)
    assert (tags[RANGE_START], tags[RANGE_END]) == (first, first)  # Dagster's bookkeeping: partitions only
    assert (tags[WINDOW_START], tags[WINDOW_END]) == (earlier, first)  # what dbt rebuilds
    later = f"{int(last[:4]) + 1:04d}{last[4:]}"
    tags = build_tags((last, later), monthly_partitions)
    assert (tags[RANGE_START], tags[RANGE_END], tags[WINDOW_END]) == (last, last, later)


def test_a_run_with_no_month_touched_builds_the_current_month() -> None:
    tags = build_tags(None, monthly_partitions)
    assert tags[WINDOW_START] == tags[WINDOW_END] == current_month()
    assert tags[RANGE_END] == min(current_month(), monthly_partitions.get_last_partition_key())
