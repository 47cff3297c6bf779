"""The quality-gate runner: Great Expectations suites (`expectations/`) on frames read from the raw layer or the
working build, results kept as a history, and the verdict the publish step obeys.

GX runs through its pandas datasource in one ephemeral context per process (its SQL datasource silently fails on
DuckDB). `great_expectations` costs about 8 s to import, so it is imported on the first validation only.

Every check appends its results to `<warehouse>.state/quality/<run_id>-<check>.parquet` (append-only, like the
raw layer). `write_history` (re)creates `marts.data_quality` in a DuckDB file from all of them: the history of
every run. A failed run's results are thus in the working build (`<warehouse>.state/build.duckdb`), which stays
in place until the next run starts, and a passed run's results are published with the marts.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import math
import os
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from pipelines.lib.environment import worker_processes
from pipelines.lib.settings import Settings
from pipelines.lib.timeparse import SHANGHAI
from pipelines.lib.warehouse import duckdb_memory_limit, prepare_build

if TYPE_CHECKING:
    import pandas as pd

    from expectations.core import Suite

SAMPLE_SIZE = 5
_TEXT_LIMIT = 200  # characters of one sampled value
REDACTED = "<redacted: personal field>"
HISTORY_TABLE = "marts.data_quality"
HISTORY_COLUMNS: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "checked_at": pl.Datetime("us"),  # Asia/Shanghai wall clock, like every timestamp in the warehouse
    "table_name": pl.String(),
    "expectation": pl.String(),
    "severity": pl.String(),  # block | warn
    "passed": pl.Boolean(),
    "unexpected_count": pl.Int64(),
    "sample": pl.String(),  # JSON list of up to 5 offending values with the columns that locate them
    "element_count": pl.Int64(),
    "expectation_type": pl.String(),  # the GX expectation, e.g. expect_column_values_to_be_between
    "check_name": pl.String(),  # the Dagster asset check, e.g. raw/statistics:great_expectations
    "error": pl.String(),  # why an expectation could not be evaluated (counts as failed)
}


@dataclass(frozen=True)
class RuleResult:
    table: str
    expectation: str
    expectation_type: str
    severity: str
    passed: bool
    unexpected_count: int | None
    element_count: int | None
    sample: list = field(default_factory=list)
    error: str | None = None

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "block"

    def describe(self) -> str:
        """One line an operator can act on: table, expectation, how many rows, and sample values."""
        head = f"{self.table}: {self.expectation} ({self.severity})"
        if self.error:
            return f"{head} could not be evaluated: {self.error}"
        if self.passed:
            return f"{head} passed"
        counted = f"{self.unexpected_count} of {self.element_count} rows" if self.element_count is not None else ""
        shown = "; ".join(sample_text(item) for item in self.sample[:3])
        return f"{head} failed for {counted}" + (f", e.g. {shown}" if shown else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "severity": self.severity,
            "passed": self.passed,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample": self.sample,
            **({"error": self.error} if self.error else {}),
        }


@dataclass(frozen=True)
class Outcome:
    """What one asset check found: every expectation of every suite of one table."""

    check_name: str
    table: str
    run_id: str
    checked_at: datetime
    results: list[RuleResult]
    rows_checked: int = 0

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.results if r.blocks]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures and not self.warnings

    def description(self) -> str:
        if failed := self.blocking_failures:
            text = f"{len(failed)} blocking expectation(s) failed: " + " | ".join(r.describe() for r in failed)
            if self.warnings:
                text += f" (and {len(self.warnings)} warning(s))"
            return text
        if self.warnings:
            return f"{len(self.warnings)} warning(s), nothing blocks: " + " | ".join(
                r.describe() for r in self.warnings
            )
        return f"{self.table}: all {len(self.results)} expectations passed ({self.rows_checked} rows checked)"

    def metadata(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows_checked": self.rows_checked,
            "expectations": len(self.results),
            "failed_blocking": len(self.blocking_failures),
            "failed_warnings": len(self.warnings),
            "results": [r.as_dict() for r in self.results],
        }


# --- Great Expectations -------------------------------------------------------------------------------------

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
    cases mart (benchmarks/RESULTS.md, seventh round)."""
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
    # even when nothing offends: a check of 10 M cases took 17.1 s with SUMMARY, 14.3 s this way (RESULTS.md).
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
    from expectations.core import is_personal

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


def sample_text(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k}={v}" for k, v in item.items())
    return str(item)


# --- frames -------------------------------------------------------------------------------------------------


def _needed_columns(suites: list[Suite], frame: str) -> set[str]:
    return set().union(*(s.base_columns() for s in suites if s.frame == frame))


def _run_ledger(raw_dir: Path, table: str, run_id: str) -> pl.DataFrame:
    from pipelines.lib.feeds import LEDGER_COLUMNS, ledger_dir

    ledger_files = sorted(ledger_dir(raw_dir).glob(f"{table}-*.parquet"))
    return (
        pl.scan_parquet(ledger_files).filter(pl.col("run_id") == run_id).collect()
        if ledger_files
        else pl.DataFrame(schema=LEDGER_COLUMNS)
    )


def _loaded_paths(raw_dir: Path, table: str, ledger: pl.DataFrame) -> list[Path]:
    return [
        raw_dir / table / f"{digest}.parquet"
        for digest in ledger.filter(pl.col("status") == "loaded")["file_hash"].to_list()
        if (raw_dir / table / f"{digest}.parquet").exists()
    ]


CHUNK_ROWS = 1_000_000
_ROW_WISE_TYPES = ("expect_column_values_to_", "expect_column_pair_values_")


def _judges_one_row_at_a_time(rule) -> bool:
    """True when the rule's verdict on a frame is the sum of its verdicts on the frame's parts: row-wise
    expectations without `mostly` (a share) and without uniqueness (which needs every row at once)."""
    return (
        rule.gx_type.startswith(_ROW_WISE_TYPES)
        and "unique" not in rule.gx_type
        and getattr(rule.expectation, "mostly", None) in (None, 1, 1.0)
    )


def split_row_wise(suites: list[Suite]) -> tuple[list[Suite], list[Suite]]:
    """(row-wise parts, the rest): the row-wise rules of a `rows` suite become a suite of their own, judged
    chunk by chunk; uniqueness, shares and derived frames stay whole (reading only the columns they need)."""
    row_parts: list[Suite] = []
    rest: list[Suite] = []
    for suite in suites:
        if suite.frame != "rows" or suite.derive is not None:
            rest.append(suite)
            continue
        row_rules = tuple(r for r in suite.rules if _judges_one_row_at_a_time(r))
        other_rules = tuple(r for r in suite.rules if not _judges_one_row_at_a_time(r))
        if row_rules:
            row_parts.append(replace(suite, rules=row_rules))
        if other_rules:
            rest.append(replace(suite, rules=other_rules))
    return row_parts, rest


def _judges_by_repeated_values(rule) -> bool:
    """True for a single-column uniqueness rule without `mostly`: only the rows whose value repeats decide it."""
    return rule.gx_type == "expect_column_values_to_be_unique" and getattr(rule.expectation, "mostly", None) in (
        None,
        1,
        1.0,
    )


def split_unique(suites: list[Suite]) -> tuple[list[Suite], list[Suite]]:
    """(uniqueness parts, the rest): each single-column uniqueness rule of a `rows` suite becomes a suite of its
    own, judged on the rows whose value repeats (which the database finds without handing over the column)."""
    unique_parts: list[Suite] = []
    rest: list[Suite] = []
    for suite in suites:
        if suite.frame != "rows" or suite.derive is not None:
            rest.append(suite)
            continue
        unique_parts.extend(replace(suite, rules=(r,)) for r in suite.rules if _judges_by_repeated_values(r))
        others = tuple(r for r in suite.rules if not _judges_by_repeated_values(r))
        if others:
            rest.append(replace(suite, rules=others))
    return unique_parts, rest


# --- chunks, judged in this process or by worker processes ---------------------------------------------------


@dataclass(frozen=True)
class FrameChunk:
    """Rows already in a pandas frame: a mart's rows judged in this process, or an empty batch."""

    frame: pd.DataFrame

    def load(self) -> pd.DataFrame:
        return self.frame


@dataclass(frozen=True)
class ParquetChunk:
    """Whole raw Parquet files, only the columns the suites read: a worker reads them itself."""

    paths: tuple[str, ...]
    columns: tuple[str, ...]

    def load(self) -> pd.DataFrame:
        parts = [pl.read_parquet(path, columns=list(self.columns)) for path in self.paths]
        return pl.concat(parts, how="vertical_relaxed").to_pandas()


@dataclass(frozen=True)
class ArrowChunk:
    """Rows of a mart as Arrow (pickled as buffers, so cheap to hand to a worker), made a pandas frame by Arrow
    itself, the same conversion wherever it is judged. Six times faster than DuckDB's own pandas conversion
    (`fetch_df_chunk`: 6.4 s against 1.0 s for 3 M cases), and the frame's text columns share Arrow's buffers."""

    batch: Any  # pyarrow.RecordBatch or Table

    def load(self) -> pd.DataFrame:
        return self.batch.to_pandas()


Chunk = FrameChunk | ParquetChunk | ArrowChunk
PARALLEL_MIN_CHUNKS = 3  # fewer: starting worker processes (GX imports in each, ~4 s) costs more than it saves


def check_workers() -> int:
    """Processes that judge chunks side by side: `INNOSTAT_CHECK_WORKERS`, else 1 (in the run's process).

    Off unless asked for: a check is single-threaded pandas, but at city size on 2 cores two workers saved only
    3 s of a first build's 53 s of checks and raised its peak memory from 2.95 to 4.41 GiB, past the 4 GiB
    budget, even with the chunk's rows shared between them (`chunk_rows`; with a whole chunk each: 7.4 GiB).
    The workers start with GX's import (~4 s) and contend with the run's process for the cores
    (benchmarks/RESULTS.md, sixth and eighth rounds). A machine with cores and memory to spare can set more."""
    return worker_processes("INNOSTAT_CHECK_WORKERS", default=1)


def chunk_rows() -> int:
    """Rows of a check chunk: `CHUNK_ROWS` shared among the `check_workers()` that judge chunks side by side."""
    return max(1, CHUNK_ROWS // check_workers())


def start_check_worker() -> None:
    """Run first in each check worker. A spawned worker of a parent started as `python -m <package>` (pytest;
    Dagster's code server, `python -m dagster api grpc`, and the runs it spawns) has a bare `__main__` with neither
    `__spec__` nor `__file__`; GX imports pyspark when it is installed (the Spark group), and pyspark takes such a
    `__main__` for its own doctests and calls `sys.exit(0)` when Spark Connect's extras are missing, which killed
    the worker."""
    import sys

    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = "<innostat check worker>"


def judge_chunk(suites: list[Suite], chunk: Chunk) -> tuple[list[list[RuleResult]], int]:
    """Every suite's results on one chunk, and its row count."""
    frame = chunk.load()
    return [validate(suite, frame) for suite in suites], len(frame)


def judge_chunks(suites: list[Suite], chunks: Iterator[Chunk]) -> Iterator[tuple[list[list[RuleResult]], int]]:
    """`judge_chunk` for each chunk, results in chunk order.

    A check is single-threaded pandas (a city's first build: 36 M raw events, 10 M cases), so with
    `check_workers()` > 1 and from `PARALLEL_MIN_CHUNKS` chunks on, worker processes judge them side by side,
    each holding one chunk at a time; the verdicts are the same (tests/quality/test_chunked_raw_checks.py)."""
    workers = check_workers()
    first = [] if workers == 1 else list(itertools.islice(chunks, PARALLEL_MIN_CHUNKS))  # held only to count
    if workers == 1 or len(first) < PARALLEL_MIN_CHUNKS:
        for chunk in itertools.chain(first, chunks):
            yield judge_chunk(suites, chunk)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn, not fork: the parent holds polars and DuckDB thread pools that a forked child would inherit broken
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=start_check_worker
    ) as pool:
        pending: collections.deque = collections.deque()
        for chunk in itertools.chain(first, chunks):
            pending.append(pool.submit(judge_chunk, suites, chunk))
            if len(pending) > workers:  # bounded: a chunk is queued only when a worker is about to be free
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def judge(
    suites: list[Suite],
    whole_frames: Callable[[list[Suite]], dict[str, pd.DataFrame]],
    row_chunks: Callable[[list[Suite]], Iterator[Chunk]],
    repeated_values: Callable[[str, list[str]], tuple[pd.DataFrame, int]] | None = None,
) -> tuple[list[RuleResult], int]:
    """Every rule of `suites`, in their order, and the rows checked. Row-wise rules see the rows a chunk at a
    time (`row_chunks` yields at least one chunk, maybe empty), so no check holds a big table in one frame
    (`judge_chunks`: in this process, or in worker processes side by side when INNOSTAT_CHECK_WORKERS asks).

    With `repeated_values(column, columns)` (the rows whose `column` value repeats, with `columns`, and the
    table's row count), uniqueness rules are judged on those rows only: same verdict, count and sample."""
    found: dict[tuple[str, str], RuleResult] = {}
    if repeated_values is not None:
        unique_parts, suites_left = split_unique(suites)
        for suite in unique_parts:
            (rule,) = suite.rules
            (column,) = rule.columns()
            wanted = [column, *(c for c in suite.index_columns if c != column)]
            frame, rows = repeated_values(column, wanted)
            (result,) = validate(suite, frame)
            found[(suite.name, rule.name)] = replace(result, element_count=rows)
    else:
        suites_left = suites
    row_parts, rest = split_row_wise(suites_left)
    frames = whole_frames(rest)
    for suite in rest:
        for result in validate_suite(suite, frames):
            found[(suite.name, result.expectation)] = result
    per_chunk: dict[str, list[list[RuleResult]]] = {suite.name: [] for suite in row_parts}
    rows_checked = len(frames["rows"]) if "rows" in frames else 0
    if row_parts:
        rows_checked = 0
        for chunk_results, rows in judge_chunks(row_parts, row_chunks(row_parts)):
            rows_checked += rows
            for suite, results in zip(row_parts, chunk_results, strict=True):
                per_chunk[suite.name].append(results)
        for suite in row_parts:
            for result in merge_chunk_results(per_chunk[suite.name]):
                found[(suite.name, result.expectation)] = result
    return [found[(suite.name, rule.name)] for suite in suites for rule in suite.rules], rows_checked


def raw_row_chunks(raw_dir: Path, table: str, run_id: str, suites: list[Suite]) -> Iterator[Chunk]:
    """This run's raw rows (only the columns the suites read), whole files at a time, about `chunk_rows()` each.

    A chunk names its files; whoever judges it reads them (a worker process reads its own)."""
    from pipelines.lib.feeds import raw_schema

    schema = raw_schema(table)
    wanted = tuple(c for c in schema if c in _needed_columns(suites, "rows"))
    pending: list[str] = []
    size = 0
    yielded = False
    rows_per_chunk = chunk_rows()
    for path in _loaded_paths(raw_dir, table, _run_ledger(raw_dir, table, run_id)):
        pending.append(str(path))
        size += pl.scan_parquet(path).select(pl.len()).collect().item()  # from the footer: no data is read
        if size >= rows_per_chunk:
            yield ParquetChunk(tuple(pending), wanted)
            pending, size, yielded = [], 0, True
    if pending or not yielded:
        empty = pl.DataFrame(schema={c: schema[c] for c in wanted}).to_pandas()
        yield ParquetChunk(tuple(pending), wanted) if pending else FrameChunk(empty)


def merge_chunk_results(chunks: list[list[RuleResult]]) -> list[RuleResult]:
    """One result per rule from its results on consecutive chunks: counts add up, samples come in row order."""
    merged = []
    for per_rule in zip(*chunks, strict=True):
        first = per_rule[0]
        errors = [r.error for r in per_rule if r.error]
        counts = [r.unexpected_count for r in per_rule]
        elements = [r.element_count for r in per_rule]
        merged.append(
            RuleResult(
                table=first.table,
                expectation=first.expectation,
                expectation_type=first.expectation_type,
                severity=first.severity,
                passed=all(r.passed for r in per_rule),
                unexpected_count=None if None in counts else sum(counts),
                element_count=None if None in elements else sum(elements),
                sample=[item for r in per_rule for item in r.sample][:SAMPLE_SIZE],
                error=errors[0] if errors else None,
            )
        )
    return merged


def raw_frames(
    raw_dir: Path, table: str, run_id: str, suites: list[Suite], *, with_rows: bool = True
) -> dict[str, pd.DataFrame]:
    """This run's batch of a raw table: its rows (`rows`, unless not `with_rows`) and one row per file it
    ingested (`delivery`)."""
    from pipelines.lib.feeds import raw_schema

    ledger = _run_ledger(raw_dir, table, run_id)
    delivery = ledger.select(
        "source_file",
        "status",
        "reason",
        "rows_loaded",
        "rows_quarantined",
        "rows_skipped",
        (pl.col("rows_loaded") + pl.col("rows_skipped")).alias("rows_delivered"),
    ).sort("source_file")

    if not with_rows:
        return {"delivery": delivery.to_pandas()}
    schema = raw_schema(table)
    wanted = [c for c in schema if c in _needed_columns(suites, "rows")]
    paths = _loaded_paths(raw_dir, table, ledger)
    rows = (
        pl.concat([pl.read_parquet(p, columns=wanted) for p in paths], how="vertical_relaxed")
        if paths
        else pl.DataFrame(schema={c: schema[c] for c in wanted})
    )
    return {"rows": rows.to_pandas(), "delivery": delivery.to_pandas()}


def _mart_columns(con: duckdb.DuckDBPyConnection, model: str, suites: list[Suite]) -> list[str]:
    existing = {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
            [model],
        ).fetchall()
    }
    if not existing:
        raise LookupError(f"marts.{model} does not exist in the working build; did the dbt step run?")
    return sorted(_needed_columns(suites, "rows") & existing) or sorted(existing)


def mart_frames(
    con: duckdb.DuckDBPyConnection, model: str, published: Path, suites: list[Suite], *, with_rows: bool = True
) -> dict:
    """The mart as built (`rows`, only the columns the suites read, unless not `with_rows`) and its row count
    against the last publish."""
    wanted = _mart_columns(con, model, suites)
    (built,) = con.execute(f"select count(*) from marts.{_quote(model)}").fetchall()[0]
    frames = {"row_count": row_count_frame(built, published_row_count(published, model))}
    if with_rows:
        frames["rows"] = con.execute(f"select {', '.join(_quote(c) for c in wanted)} from marts.{_quote(model)}").df()
    return frames


def mart_row_chunks(
    con: duckdb.DuckDBPyConnection, model: str, suites: list[Suite], *, except_in: str | None = None
) -> Iterator[Chunk]:
    """The mart's rows (only the columns the suites read) about `chunk_rows()` at a time; at least one chunk.

    With `except_in` (an attached database), only the rows whose values (over the columns read) hash to no row
    of that database's copy of the mart: the rows a row-wise rule has not judged yet. Matching 64-bit row hashes
    takes 2 s on a city's 10 M cases, an anti join over every column 13 s and EXCEPT ALL 32 s. A changed row
    is skipped only if its hash equals a judged row's, about one chance in 10^12 per row at that size, and even
    then uniqueness and the dbt tests still see it."""
    columns = _mart_columns(con, model, suites)
    wanted = ", ".join(_quote(c) for c in columns)
    query = f"select {wanted} from marts.{_quote(model)}"
    if except_in is not None:
        query = (
            f"select {wanted} from (select {wanted}, hash({wanted}) as __row_hash from marts.{_quote(model)}) "
            f"anti join (select hash({wanted}) as __row_hash from {except_in}.marts.{_quote(model)}) "
            "using (__row_hash)"
        )
    in_process = check_workers() == 1
    rows_per_chunk = chunk_rows()
    cursor = con.cursor()  # the chunks stream while the caller may query `con`
    try:
        reader = cursor.sql(query).to_arrow_reader(rows_per_chunk)
        batches: list = []
        rows = 0
        yielded = False
        for batch in reader:  # DuckDB hands over batches smaller than asked: gathered up to a chunk
            batches.append(batch)
            rows += batch.num_rows
            if rows >= rows_per_chunk:
                chunk = _mart_chunk(batches, reader.schema, in_process)
                batches, rows, yielded = [], 0, True  # the batches are let go before the chunk is judged
                yield chunk
        if batches or not yielded:  # no row at all: one empty chunk, with the columns
            yield _mart_chunk(batches, reader.schema, in_process)
    finally:
        cursor.close()


def _mart_chunk(batches: list, schema: Any, in_process: bool) -> Chunk:
    """Arrow batches as one chunk: a pandas frame to judge here (the Arrow table is let go, the frame keeps
    only the buffers it shares), or the Arrow table for a worker."""
    import pyarrow as pa

    chunk = ArrowChunk(pa.Table.from_batches(batches, schema=schema))
    return FrameChunk(chunk.load()) if in_process else chunk


def mart_repeated_values(con: duckdb.DuckDBPyConnection, model: str, column: str, columns: list[str]):
    """The rows of marts.<model> whose `column` value occurs more than once (nulls never repeat, as in GX), and
    the mart's row count: all a uniqueness rule needs, without reading the whole column into pandas."""
    table = f"marts.{_quote(model)}"
    key = _quote(column)
    frame = con.execute(
        f"select {', '.join(_quote(c) for c in columns)} from {table} "
        f"where {key} in (select {key} from {table} where {key} is not null group by {key} having count(*) > 1)"
    ).df()
    (rows,) = con.execute(f"select count(*) from {table}").fetchall()[0]
    return frame, rows


def row_count_frame(rows_built: int, rows_published: int | None) -> pd.DataFrame:
    """One row: the share of the last publish's rows the build lost (0 when it has more, or nothing was published)."""
    import pandas as pd

    share = max(0.0, 1 - rows_built / rows_published) if rows_published else 0.0
    return pd.DataFrame({"rows_published": [rows_published], "rows_built": [rows_built], "row_drop_share": [share]})


def published_row_count(published: Path, model: str) -> int | None:
    """Rows of marts.<model> in the published warehouse (opened read-only); None when there is none."""
    if not published.exists():
        return None
    con = duckdb.connect(str(published), read_only=True)
    try:
        (found,) = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [model]
        ).fetchall()[0]
        if not found:
            return None
        return con.execute(f"select count(*) from marts.{_quote(model)}").fetchall()[0][0]
    finally:
        con.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


# --- suites -------------------------------------------------------------------------------------------------


def raw_suites(table: str) -> list[Suite]:
    from expectations.config import load_thresholds
    from expectations.raw import build_suites

    return build_suites(table, load_thresholds())


def mart_suites(model: str) -> list[Suite]:
    from expectations.config import load_thresholds
    from expectations.marts import build_suites

    return build_suites(model, load_thresholds())


def now() -> datetime:
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def release_memory() -> None:
    """Hand the memory of a check's freed frames back to the OS. glibc keeps a freed heap for reuse, so without
    this the run's process stays at its largest chunk while dbt's DuckDB works beside it, and the two add up
    against the run's memory budget (benchmarks/RESULTS.md)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def check_raw(settings: Settings, table: str, run_id: str, check_name: str) -> Outcome:
    """Validate this run's batch of raw.<table>, and record the results.

    Suites whose every rule judges one row at a time run over the batch in chunks of about `chunk_rows()` rows,
    so a first load of years of history never sits in one pandas frame (the run's memory budget, benchmarks/).
    """
    results, rows_checked = judge(
        raw_suites(table),
        lambda whole: raw_frames(
            settings.raw_dir, table, run_id, whole, with_rows=any(s.frame == "rows" for s in whole)
        ),
        lambda row_wise: raw_row_chunks(settings.raw_dir, table, run_id, row_wise),
    )
    outcome = Outcome(
        check_name=check_name,
        table=f"raw.{table}",
        run_id=run_id,
        checked_at=now(),
        results=results,
        rows_checked=rows_checked,
    )
    record(settings, outcome)
    if outcome.blocking_failures or _working_build_is_this_runs(settings, run_id):
        record_in_working_build(settings, run_id)
    return outcome


SUITES_TABLE = "marts.data_quality_suites"  # per mart, the fingerprint of the suites its rows passed
_PUBLISHED = "published"  # the alias the published warehouse is attached under while a mart is checked


def suite_fingerprint(suites: list[Suite]) -> str:
    """A digest of every rule as configured (name, severity, GX type, arguments and thresholds): equal
    fingerprints mean a row that passed one suite passes the other."""
    import hashlib

    def canonical(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: canonical(v) for k, v in sorted(value.items())}
        if isinstance(value, list | tuple | set | frozenset):
            items = [canonical(v) for v in value]
            return sorted(items, key=repr) if isinstance(value, set | frozenset) or _all_scalars(items) else items
        return value

    described = [
        [
            suite.name,
            suite.frame,
            suite.part,
            [canonical(r.expectation.configuration.to_json_dict()) for r in suite.rules],
        ]
        for suite in suites
    ]
    return hashlib.sha256(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()


def _all_scalars(items: list) -> bool:
    return all(isinstance(v, str | int | float | bool) or v is None for v in items)


def _attach_published(con: duckdb.DuckDBPyConnection, published: Path, model: str, fingerprint: str) -> bool:
    """Attach the published warehouse read-only when its marts.<model> passed these very suites: its rows need
    no second judgement. False (nothing attached) on a first build, after a suite changed, or without a record."""
    if not published.exists():
        return False
    con.execute(f"attach '{published.as_posix().replace(chr(39), chr(39) * 2)}' as {_PUBLISHED} (read_only)")
    (judged,) = con.execute(
        f"select count(*) from information_schema.tables where table_catalog = '{_PUBLISHED}' "
        f"and table_schema = 'marts' and table_name in ('data_quality_suites', ?)",
        [model],
    ).fetchall()[0]
    matches = judged == 2 and bool(
        con.execute(
            f"select count(*) from {_PUBLISHED}.{SUITES_TABLE} where table_name = ? and fingerprint = ?",
            [model, fingerprint],
        ).fetchall()[0][0]
    )
    if not matches:
        con.execute(f"detach {_PUBLISHED}")
    return matches


def _record_fingerprint(con: duckdb.DuckDBPyConnection, model: str, fingerprint: str) -> None:
    con.execute(f"create table if not exists {SUITES_TABLE} (table_name varchar, fingerprint varchar)")
    con.execute(f"delete from {SUITES_TABLE} where table_name = ?", [model])
    con.execute(f"insert into {SUITES_TABLE} values (?, ?)", [model, fingerprint])


def check_mart(settings: Settings, model: str, run_id: str, check_name: str) -> Outcome:
    """Validate marts.<model> in the working build, record the results and rewrite its data-quality history.

    Row-wise rules judge only the rows that differ from the published mart when that mart passed the same
    suites (so a daily run judges its day, not the history); uniqueness is decided by the repeated values,
    found in DuckDB. Rules over the whole table (shares, row counts, derived frames) always see all of it.
    """
    suites = mart_suites(model)
    if not settings.build_path.exists():
        raise FileNotFoundError(f"no working build at {settings.build_path}: the dbt step has not run")
    fingerprint = suite_fingerprint(suites)
    con = duckdb.connect(str(settings.build_path), config={"memory_limit": duckdb_memory_limit()})
    try:
        only_changed = _attach_published(con, settings.warehouse, model, fingerprint)
        results, rows_checked = judge(
            suites,
            lambda whole: mart_frames(
                con, model, settings.warehouse, whole, with_rows=any(s.frame == "rows" for s in whole)
            ),
            lambda row_wise: mart_row_chunks(con, model, row_wise, except_in=_PUBLISHED if only_changed else None),
            lambda column, columns: mart_repeated_values(con, model, column, columns),
        )
        if only_changed:
            con.execute(f"detach {_PUBLISHED}")
        _record_fingerprint(con, model, fingerprint)
        outcome = Outcome(
            check_name=check_name,
            table=f"marts.{model}",
            run_id=run_id,
            checked_at=now(),
            results=results,
            rows_checked=rows_checked,
        )
        record(settings, outcome)
        write_history(con, quality_dir(settings))
    finally:
        con.close()
    return outcome


# --- history ------------------------------------------------------------------------------------------------


def quality_dir(settings: Settings) -> Path:
    return settings.state_dir / "quality"


def _safe(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)


def record(settings: Settings, outcome: Outcome) -> Path:
    """Append the outcome as `<run_id>-<check>.parquet` (written to a temporary name, then renamed)."""
    folder = quality_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {
            "run_id": outcome.run_id,
            "checked_at": outcome.checked_at,
            "table_name": r.table,
            "expectation": r.expectation,
            "severity": r.severity,
            "passed": r.passed,
            "unexpected_count": r.unexpected_count,
            "sample": json.dumps(r.sample, ensure_ascii=False, default=str),
            "element_count": r.element_count,
            "expectation_type": r.expectation_type,
            "check_name": outcome.check_name,
            "error": r.error,
        }
        for r in outcome.results
    ]
    path = folder / f"{_safe(outcome.run_id)}-{_safe(outcome.check_name)}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    pl.DataFrame(rows, schema=HISTORY_COLUMNS).write_parquet(tmp)
    os.replace(tmp, path)
    return path


def read_history(folder: Path, run_id: str | None = None) -> pl.DataFrame:
    pattern = f"{_safe(run_id)}-*.parquet" if run_id else "*.parquet"
    files = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not files:
        return pl.DataFrame(schema=HISTORY_COLUMNS)
    return pl.concat([pl.read_parquet(f) for f in files], how="diagonal_relaxed").select(list(HISTORY_COLUMNS))


def write_history(con: duckdb.DuckDBPyConnection, folder: Path) -> int:
    """(Re)create marts.data_quality in the open DuckDB file from every recorded check; returns its rows."""
    history = read_history(folder).sort("checked_at", "table_name", "expectation")
    con.execute("create schema if not exists marts")
    con.register("quality_history", history.to_arrow())
    try:
        con.execute(f"create or replace table {HISTORY_TABLE} as select * from quality_history")
    finally:
        con.unregister("quality_history")
    return history.height


def _working_build_marker(settings: Settings) -> Path:
    return quality_dir(settings) / "working_build.run_id"


def _working_build_is_this_runs(settings: Settings, run_id: str) -> bool:
    marker = _working_build_marker(settings)
    return settings.build_path.exists() and marker.exists() and marker.read_text(encoding="utf-8") == run_id


def record_in_working_build(settings: Settings, run_id: str) -> Path:
    """A raw check blocked, so this run stops before dbt. Make the working build a copy of the published warehouse
    whose marts.data_quality holds the history with this run's results, so the failure can be inspected there."""
    if not _working_build_is_this_runs(settings, run_id):
        prepare_build(settings)
        _working_build_marker(settings).write_text(run_id, encoding="utf-8")
    con = duckdb.connect(str(settings.build_path))
    try:
        write_history(con, quality_dir(settings))
    finally:
        con.close()
    return settings.build_path


def publish_blockers(settings: Settings, run_id: str) -> list[str]:
    """Why the working build must not be published: a blocking expectation failed in this run, or the build's own
    data-quality record says the run that last checked it failed (a failed build published by hand)."""
    failed = read_history(quality_dir(settings), run_id).filter((pl.col("severity") == "block") & ~pl.col("passed"))
    reasons = [f"{row['table_name']}: {row['expectation']} failed in this run" for row in failed.iter_rows(named=True)]
    build = settings.build_path
    if reasons or not build.exists():
        return reasons
    con = duckdb.connect(str(build), read_only=True)
    try:
        (has_history,) = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'marts' and table_name = 'data_quality'"
        ).fetchall()[0]
        if not has_history:
            return []
        rows = con.execute(
            f"""
            with last_run as (select run_id from {HISTORY_TABLE} order by checked_at desc limit 1)
            select table_name, expectation, run_id from {HISTORY_TABLE}
            where run_id = (select run_id from last_run) and severity = 'block' and not passed
            """
        ).fetchall()
    finally:
        con.close()
    return [f"{table}: {expectation} failed in run {run}, which built this file" for table, expectation, run in rows]
