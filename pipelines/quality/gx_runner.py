"""One suite against one pandas frame through Great Expectations: one `RuleResult` per rule, with up to
`SAMPLE_SIZE` offending values whose personal fields are redacted.

GX runs through its pandas datasource in one ephemeral context per process (its SQL datasource silently fails on
DuckDB). `great_expectations` costs about 8 s to import, so it is imported on the first validation only.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pipelines.quality.results import REDACTED, SAMPLE_SIZE, RuleResult

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.quality.suites.core import Suite

_TEXT_LIMIT = 200  # characters of one sampled value

_batch_definition = None


def _gx_batch_definition():
    """One ephemeral GX context per process, with a pandas datasource whose batches are whole DataFrames."""
    global _batch_definition
    if _batch_definition is None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        with warnings.catch_warnings():
            # GX imports pyspark when it is installed (the Spark target's group); its pandas-version warning is noise
            warnings.filterwarnings("ignore", category=FutureWarning)
            import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig
        from great_expectations.execution_engine import pandas_execution_engine

        # GX fingerprints every pandas batch under 1 GB (an md5 over pandas' hash of every cell) for a batch
        # marker nothing here reads: two thirds of a raw check's time on government-service events. Off.
        if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
            pandas_execution_engine.HASH_THRESHOLD = 0
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)  # no tqdm bars in the run's log
        asset = context.data_sources.add_pandas("innostat").add_dataframe_asset("frame")
        _batch_definition = asset.add_batch_definition_whole_dataframe("whole_frame")
    return _batch_definition


NARROW_FROM_ROWS = 100_000  # from this many rows, rules are validated on frames of only the columns they read


def numpy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with pandas' nullable integer columns (what DuckDB hands over for a nullable BIGINT) as numpy
    numbers: int64 without nulls, float64 (null as NaN, exact below 2^53) with them, as polars hands raw rows over.
    GX judges a range on a nullable integer column with a Python function per value: 40 % of a check of the
    cases mart (benchmarks/CHANGELOG.md, seventh round)."""
    import pandas as pd  # a frame exists, so pandas is loaded already

    masked = [
        name
        for name, dtype in frame.dtypes.items()
        if pd.api.types.is_extension_array_dtype(dtype) and pd.api.types.is_integer_dtype(dtype)
    ]
    if not masked:
        return frame
    return frame.astype({name: "float64" if frame[name].hasnans else "int64" for name in masked})


def validate(suite: Suite, frame: pd.DataFrame) -> list[RuleResult]:
    """Validate one suite against one frame; one result per rule, in the suite's order.

    On a big frame, rules that read the same columns are validated together on a frame of only those columns
    (with the index columns only when one of them fails, for its sample): GX copies the whole frame, every
    column, for each expectation it filters (nulls, row conditions), and that copy was most of a check's time.
    Same verdicts, counts and samples.
    """
    frame = numpy_numbers(frame)
    groups: dict[tuple[str, ...], list] = {}
    for rule in suite.rules:
        groups.setdefault(tuple(sorted(rule.columns())), []).append(rule)
    if len(frame) < NARROW_FROM_ROWS or len(groups) < 2 or () in groups:  # () : a table-level rule, reads all
        return _validate_frame(suite, frame)
    index = [c for c in suite.index_columns if c in frame.columns]
    found: dict[str, RuleResult] = {}
    for columns, rules in groups.items():
        part = replace(suite, rules=tuple(rules))
        # First without the index columns, which only name the rows of a failure's sample: GX copies every column
        # of the frame when it filters out nulls, and the index's text columns cost more than the rule's own.
        # A group with a failure is validated again with them, for its sample.
        results = _validate_frame(replace(part, index_columns=()), frame[[c for c in columns if c in frame.columns]])
        if index and not all(result.passed for result in results):
            results = _validate_frame(
                part, frame[list(dict.fromkeys(c for c in (*columns, *index) if c in frame.columns))]
            )
        for result in results:
            found[result.expectation] = result
    return [found[rule.name] for rule in suite.rules]


def _validate_frame(suite: Suite, frame: pd.DataFrame) -> list[RuleResult]:
    batch = _gx_batch_definition().get_batch(batch_parameters={"dataframe": frame})
    index = [c for c in suite.index_columns if c in frame.columns]
    # Without index columns a sample is the offending values, which GX's BASIC format gives too. SUMMARY would
    # also compute each rule's offending row numbers and a query naming them, filtering the frame twice more
    # even when nothing offends: a check of 10 M cases took 17.1 s with SUMMARY, 14.3 s this way
    # (benchmarks/CHANGELOG.md, twelfth round).
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY" if index else "BASIC",
        "partial_unexpected_count": SAMPLE_SIZE,
    }
    if index:
        result_format["unexpected_index_column_names"] = index
    validation = batch.validate(suite.expectation_suite(), result_format=result_format)
    by_rule = {r.expectation_config.meta["rule"]: r for r in validation.results}
    out = []
    for rule in suite.rules:
        gx_result = by_rule[rule.name]
        error = _error_message(gx_result.exception_info)
        details = gx_result.result or {}
        passed = bool(gx_result.success) and error is None
        out.append(
            RuleResult(
                table=suite.table,
                expectation=rule.name,
                expectation_type=rule.gx_type,
                severity=rule.severity,
                passed=passed,
                unexpected_count=_int(details.get("unexpected_count")),
                element_count=_int(details.get("element_count", len(frame))),
                sample=[] if passed else _sample(details, rule.columns()),
                error=error,
            )
        )
    return out


def validate_suite(suite: Suite, frames: dict[str, pd.DataFrame]) -> list[RuleResult]:
    """One suite against its frame (derived from the base frame when the suite says how)."""
    base = frames[suite.frame]
    return validate(suite, suite.derive(base) if suite.derive else base)


def run_suites(suites: list[Suite], frames: dict[str, pd.DataFrame]) -> list[RuleResult]:
    """Every suite against its frame, in the suites' order."""
    return [result for suite in suites for result in validate_suite(suite, frames)]


def _error_message(info: Any) -> str | None:
    """GX reports an expectation it could not evaluate (a missing column …) as exception info, not a failure."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "unknown error").strip()
            return message.splitlines()[0][:_TEXT_LIMIT]
    return None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _plain(value: Any) -> Any:
    """A JSON-safe copy of one sampled value: numbers, text, ISO timestamps; NaN and NA as null."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()  # numpy scalar → Python
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if type(value).__name__ in ("NAType", "NaTType"):
        return None
    text = str(value)
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + "…"


def _sample(details: dict, columns: set[str]) -> list:
    """Up to 5 offending values with the columns that locate them; personal columns are redacted."""
    from pipelines.quality.suites.core import is_personal

    indexed = details.get("partial_unexpected_index_list") or []
    if indexed and all(isinstance(row, dict) for row in indexed):  # plain row numbers without index columns
        return [
            {k: (REDACTED if is_personal(k) else _plain(v)) for k, v in row.items()} for row in indexed[:SAMPLE_SIZE]
        ]
    values = details.get("partial_unexpected_list") or []
    if values:
        hidden = any(is_personal(c) for c in columns)
        return [{"value": REDACTED if hidden else _plain(v)} for v in values[:SAMPLE_SIZE]]
    if "observed_value" in details:
        return [{"observed_value": _plain(details["observed_value"])}]
    return []
