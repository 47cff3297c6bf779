"""What a build rebuilds is what the published warehouse lacks (lib/months.py), whatever the runs before did."""

from __future__ import annotations

import duckdb

from pipelines.lib.months import (
    load_plan,
    plan_build,
    published_ledger,
    record_plan,
    record_published_ledger,
)


def _ingested(settings, table: str, digest: str, column: str, day: str) -> None:
    """A committed file: its rows in raw/<table>/, its ledger entry last (the commit marker)."""
    for folder in (settings.raw_dir / table, settings.raw_dir / "ingest_ledger"):
        folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(
        f"copy (select timestamp '{day} 10:00:00' as {column}) to '{settings.raw_dir / table / digest}.parquet'"
    )
    con.execute(f"copy (select '{digest}' as file_hash) to '{settings.raw_dir}/ingest_ledger/{table}-{digest}.parquet'")
    con.close()


def _publish_with(settings, hashes: set[str]) -> None:
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse.unlink(missing_ok=True)
    record_published_ledger(settings.warehouse, hashes)


def test_the_window_covers_every_entry_the_published_warehouse_lacks(settings):
    _ingested(settings, "gov_services", "a1", "occurred_at", "2020-03-05")
    _ingested(settings, "security_incidents", "b2", "received_at", "2021-07-01")
    assert plan_build(settings).window == ("2020-03", "2021-07")  # nothing published: everything

    _publish_with(settings, {"a1", "b2"})
    plan = plan_build(settings)
    assert plan.window is None and not plan.pending  # nothing lacking

    # a run ingests a file and fails before it publishes; the next run's window still holds its month
    _ingested(settings, "gov_services", "c3", "occurred_at", "2022-11-15")
    _ingested(settings, "security_cameras", "d4", "status_date", "2022-02-01")
    plan = plan_build(settings)
    assert plan.pending == {"c3", "d4"} and plan.window == ("2022-02", "2022-11")
    assert plan.ledger == {"a1", "b2", "c3", "d4"}

    # a rollback to a publish that lacked b2 rebuilds its month too
    _publish_with(settings, {"a1", "c3", "d4"})
    assert plan_build(settings).window == ("2021-07", "2021-07")

    # an entry the published build holds but the ledger lost (removed by hand): every month
    _publish_with(settings, {"a1", "b2", "c3", "d4", "gone"})
    assert plan_build(settings).window == ("2020-03", "2022-11")
    assert plan_build(settings, full=True).window == ("2020-03", "2022-11")


def test_the_plan_reaches_the_publish_step_and_the_published_file(settings):
    _ingested(settings, "gov_services", "a1", "occurred_at", "2020-03-05")
    _publish_with(settings, set())  # published, holding nothing (e.g. an empty first delivery)
    assert published_ledger(settings) == set()
    plan = plan_build(settings)
    record_plan(settings, plan, "run-1")
    assert plan.window == ("2020-03", "2020-03")
    assert load_plan(settings, "run-1") == {"a1"}
    assert load_plan(settings, "run-2") is None  # a backfill has no plan: the copied record stays
    record_plan(settings, plan_build(settings), "run-3")
    _publish_with(settings, load_plan(settings, "run-3"))
    assert published_ledger(settings) == {"a1"} and plan_build(settings).window is None
