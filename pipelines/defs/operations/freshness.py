"""Freshness: each feed is checked against its expected cadence after every ingest. Late feeds warn; they
never block publication (the last delivered data is still right, only old). A demo run (INNOSTAT_DEMO=1) is
judged against the sample data's own clock (pipelines/lib/freshness.py), so its own data never shows as late."""

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.ingest.registry import parser_for
from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.freshness import assess
from pipelines.lib.quality import Outcome, RuleResult, now, record


def build_freshness_check(table: str) -> dg.AssetChecksDefinition:
    feed = parser_for(table).feed

    @dg.asset_check(
        asset=dg.AssetKey(["raw", table]),
        name="feed_is_fresh",
        blocking=False,
        description=f"The {feed} feed delivered within its expected cadence (pipelines/lib/freshness.py).",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        state = assess(warehouse.settings.raw_dir, feed, demo=warehouse.demo)
        # the freshness state joins the data-quality history (marts.data_quality), as a warning
        result = RuleResult(
            table=f"raw.{table}",
            expectation="feed_is_fresh",
            expectation_type="freshness",
            severity="warn",
            passed=not state.is_late,
            unexpected_count=0 if not state.is_late else 1,
            element_count=1,
            sample=[] if not state.is_late else [state.describe()],
        )
        record(
            warehouse.settings,
            Outcome(
                check_name=f"raw_{table}_freshness",
                table=f"raw.{table}",
                run_id=context.run.run_id,
                checked_at=now(),
                results=[result],
            ),
        )
        return dg.AssetCheckResult(
            passed=not state.is_late,
            severity=dg.AssetCheckSeverity.WARN,
            description=state.describe(),
            metadata={
                "last_delivered_at": str(state.last_delivered_at) if state.last_delivered_at else "never",
                "age_days": round(state.age_days, 2) if state.age_days is not None else -1,
                "expected_cadence": state.cadence.description,
                "max_age_days": state.cadence.max_age_days,
                "judged_as_of": str(state.demo_as_of) if state.demo_as_of else "now",
            },
        )

    return _check


freshness_checks = [build_freshness_check(table) for table in RAW_TABLES]
