"""Files of a feed parsed side by side in worker processes, when the feed's files are independent and there is
enough new data; in the run's own process otherwise. Outcomes come back in delivery order, so the runner writes
the ledger one file at a time, in that order, whatever the workers did."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipelines.ingest.base import FeedParser
from pipelines.ingest.file_ingest import FileJob, FileOutcome, ingest_file, now
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import Regions, load_regions
from pipelines.lib.timeparse import mtime_to_shanghai

PARALLEL_MIN_BYTES = 64 << 20  # below this much new data, starting worker processes costs more than it saves

_worker_state: tuple[Pseudonymiser, Regions] | None = None  # set once in each worker process


def _start_worker(pseudonymiser: Pseudonymiser) -> None:
    global _worker_state
    _worker_state = (pseudonymiser, load_regions())


def _ingest_file_in_worker(job: FileJob) -> FileOutcome:
    assert _worker_state is not None, "_start_worker did not run in this process"
    pseudonymiser, regions = _worker_state
    return ingest_file(job, pseudonymiser, regions, run_state={})


def outcomes(
    jobs: list[FileJob], parser: FeedParser, pseudonymiser: Pseudonymiser, workers: int, say: Callable[[str], None]
) -> Iterator[FileOutcome]:
    """Each job's outcome, in delivery order. Files of a feed whose parser keeps no state across files
    (`independent_files`) are parsed by `workers` processes side by side when there is enough new data."""
    new_bytes = sum(job.path.stat().st_size for job in jobs)
    workers = min(workers, len(jobs))
    if workers < 2 or not parser.independent_files or new_bytes < PARALLEL_MIN_BYTES:
        regions, run_state = load_regions(), {}
        for job in jobs:
            say(f"{job.table}: file {job.number}/{job.of} {job.source_file}")
            yield ingest_file(job, pseudonymiser, regions, run_state)
        return
    say(f"{jobs[0].table}: {len(jobs)} new files ({new_bytes / 1e6:.0f} MB), parsed by {workers} processes")
    # spawn, not fork: the parent holds polars and DuckDB thread pools that a forked child would inherit broken.
    # The pseudonymiser pickles as its key alone (see Pseudonymiser.__reduce__), never with clear values.
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_worker,
        initargs=(pseudonymiser,),
    )
    try:
        futures = [pool.submit(_ingest_file_in_worker, job) for job in jobs]
        for job, future in zip(jobs, futures, strict=True):
            try:
                yield future.result()
            except BrokenProcessPool as err:  # a worker died (killed, out of memory): the file is retried next run
                stat = job.path.stat()
                delivered_at = mtime_to_shanghai(stat.st_mtime)
                died = f"the ingestion worker process died ({err})"
                yield FileOutcome("error", died, stat.st_size, delivered_at, now())
    finally:  # an interrupted run cancels the queued files; files parsed without a ledger entry are orphans, redone
        pool.shutdown(wait=True, cancel_futures=True)
