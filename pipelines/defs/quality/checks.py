"""Great Expectations suites as Dagster asset checks: one per raw table (on this run's batch) and one per mart
that officials see (on the working build). A failed `block` expectation fails its check with ERROR severity, and
since the checks are blocking, nothing downstream runs: not dbt after a raw check, not the publish after a mart
check. A failed `warn` expectation fails the check with WARN severity only, which never blocks.

`great_expectations` and the suites are imported when a check first runs, never when Dagster loads this file. In
`innostat run` the checks are judged in a process started with the run, which has imported them meanwhile
(pipelines/quality/process.py).
"""

from collections.abc import Callable

import dagster as dg

from pipelines.defs.resources import WarehouseResource
from pipelines.lib.feeds import RAW_TABLES
from pipelines.lib.settings import Settings
from pipelines.quality import checks as quality
from pipelines.quality.process import release_memory, run_check, start_check
from pipelines.quality.results import Outcome, sample_text
from pipelines.quality.suites.marts import mart_schema

CHECK_NAME = "great_expectations"
# The same list as pipelines.quality.suites.marts.MARTS (a test keeps them equal), repeated here because importing
# that package imports Great Expectations.
MARTS = ("indicator_values", "fct_gov_service_cases", "fct_security_incidents", "fct_rd_filings")


def check_result(context: dg.AssetCheckExecutionContext, outcome: Outcome) -> dg.AssetCheckResult:
    """The outcome as a check result whose description names the table, the expectations and sample values."""
    for result in outcome.blocking_failures:
        context.log.error(result.describe())
    for result in outcome.warnings:
        context.log.warning(result.describe())
    failed = [r for r in outcome.results if not r.passed]
    lines = [
        f"| {r.expectation} | {r.severity} | {r.unexpected_count} | "
        f"{sample_text(r.sample[0]) if r.sample else r.error or ''} |"
        for r in failed
    ]
    metadata = {
        **{k: v for k, v in outcome.metadata().items() if k != "results"},
        "results": dg.MetadataValue.json(outcome.metadata()["results"]),
        "run_id": outcome.run_id,
    }
    if failed:
        metadata["failed"] = dg.MetadataValue.md(
            "| expectation | severity | unexpected | sample |\n| --- | --- | --- | --- |\n" + "\n".join(lines)
        )
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if outcome.blocking_failures else dg.AssetCheckSeverity.WARN,
        description=outcome.description(),
        metadata=metadata,
    )


def _check_request(settings: Settings, key: dg.AssetKey, run_id: str) -> tuple[str, tuple]:
    """The GX check of `key` as the check process is asked for it: the request's key (the same whether the
    ingestion asset starts it ahead or the check step asks) and the arguments of quality.check_raw/check_mart."""
    name = f"{key.to_user_string()}:{CHECK_NAME}"
    return f"{run_id}/{name}", (settings, settings.quality, key.path[-1], run_id, name)


def start_raw_check(settings: Settings, table: str, run_id: str) -> None:
    """Called by raw.<table>'s asset once this run's files are in: its check starts in the run's check process
    while the run ingests the next feeds (Dagster runs every ingestion step before any check step); the check
    step then collects the outcome. Without a check process (webserver, daemon), nothing."""
    request, args = _check_request(settings, dg.AssetKey(["raw", table]), run_id)
    start_check(request, quality.check_raw, *args)


def _judge(
    context: dg.AssetCheckExecutionContext, check: Callable[..., Outcome], settings: Settings, key: dg.AssetKey
) -> dg.AssetCheckResult:
    """`check` (quality.check_raw or check_mart) on the table of `key`, judged in the run's check process when
    there is one; a raw check that its ingestion asset started ahead is collected, not judged again."""
    request, args = _check_request(settings, key, context.run.run_id)
    try:
        outcome = run_check(check, *args, key=request)
    finally:
        release_memory()  # when judged in this process (no check process): its frames' memory
    return check_result(context, outcome)


def build_raw_check(table: str) -> dg.AssetChecksDefinition:
    key = dg.AssetKey(["raw", table])

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=True,
        pool="warehouse",
        description=(
            f"Great Expectations (pipelines/quality/suites/raw/{table}.py) on the rows and files this run ingested "
            f"into raw.{table}; a failed blocking expectation stops the build and the publish."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _judge(context, quality.check_raw, warehouse.settings, key)

    return _check


def build_mart_check(model: str) -> dg.AssetChecksDefinition:
    key = dg.AssetKey([mart_schema(model), model])  # confidential/fct_rd_filings: microdata are not in marts

    @dg.asset_check(
        asset=key,
        name=CHECK_NAME,
        blocking=True,
        pool="warehouse",
        description=(
            f"Great Expectations (pipelines/quality/suites/marts/{model}.py) on {mart_schema(model)}.{model} in the "
            "working build, and its row count against the last publish; a failed blocking expectation stops the "
            "publish."
        ),
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        return _judge(context, quality.check_mart, warehouse.settings, key)

    return _check


@dg.asset_check(
    asset=dg.AssetKey(["marts", "indicator_values"]),
    name=quality.DISCLOSURE_CHECK,
    blocking=True,
    pool="warehouse",
    description=(
        "Disclosure control recomputed in Python from the enterprise microdata (pipelines/quality/disclosure.py): "
        "every R&D cell's conf_status and NULL value, 0 or ≥ 2 withheld cells per additive group, intensity "
        "withheld with its expenditure, and every primary cell's attacker interval (SciPy HiGHS) at least ±10 %; "
        "a failure stops the publish."
    ),
)
def disclosure_check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings
    name = f"marts/indicator_values:{quality.DISCLOSURE_CHECK}"
    try:
        outcome = run_check(quality.check_disclosure, settings, settings.quality, context.run.run_id, name)
    finally:
        release_memory()
    for result in outcome.results:
        if result.passed:  # what the audit found: counts and the tightest protection (failures are logged below)
            context.log.info(result.describe())
    return check_result(context, outcome)


raw_quality_checks = [build_raw_check(table) for table in RAW_TABLES]
mart_quality_checks = [build_mart_check(model) for model in MARTS]
