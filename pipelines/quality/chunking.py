"""Judging a check's rules a part at a time, so that no check holds a big table in one frame: row-wise rules
chunk by chunk (in this process, or in worker processes side by side), uniqueness on the rows whose value repeats,
and the rest on whole frames of only the columns they read. Same verdicts, counts and samples as one validation
of the whole table (tests/quality/test_chunked_raw_checks.py).
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import polars as pl

from pipelines.quality.gx_runner import validate, validate_suite
from pipelines.quality.results import SAMPLE_SIZE, RuleResult

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.quality.suites.core import Suite

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


def chunk_rows(workers: int) -> int:
    """Rows of a check chunk: `CHUNK_ROWS` shared among the `workers` that judge chunks side by side."""
    return max(1, CHUNK_ROWS // workers)


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


def judge_chunks(
    suites: list[Suite], chunks: Iterator[Chunk], workers: int = 1
) -> Iterator[tuple[list[list[RuleResult]], int]]:
    """`judge_chunk` for each chunk, results in chunk order.

    A check is single-threaded pandas (a city's first build: 36 M raw events, 10 M cases), so with `workers` > 1
    (INNOSTAT_CHECK_WORKERS) and from `PARALLEL_MIN_CHUNKS` chunks on, worker processes judge them side by side,
    each holding one chunk at a time; the verdicts are the same (tests/quality/test_chunked_raw_checks.py).

    Off unless asked for: at city size on 2 cores two workers saved only 3 s of a first build's 53 s of checks and
    raised its peak memory from 2.95 to 4.41 GiB, past the 4 GiB budget, even with the chunk's rows shared between
    them (`chunk_rows`; with a whole chunk each: 7.4 GiB). The workers start with GX's import (~4 s) and contend
    with the run's process for the cores (benchmarks/CHANGELOG.md, sixth and eighth rounds). A machine with cores and
    memory to spare can set more."""
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
    workers: int = 1,
) -> tuple[list[RuleResult], int]:
    """Every rule of `suites`, in their order, and the rows checked. Row-wise rules see the rows a chunk at a
    time (`row_chunks` yields at least one chunk, maybe empty), so no check holds a big table in one frame
    (`judge_chunks`: in this process, or in `workers` processes side by side when INNOSTAT_CHECK_WORKERS asks).

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
        for chunk_results, rows in judge_chunks(row_parts, row_chunks(row_parts), workers):
            rows_checked += rows
            for suite, results in zip(row_parts, chunk_results, strict=True):
                per_chunk[suite.name].append(results)
        for suite in row_parts:
            for result in merge_chunk_results(per_chunk[suite.name]):
                found[(suite.name, result.expectation)] = result
    return [found[(suite.name, rule.name)] for suite in suites for rule in suite.rules], rows_checked


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
