"""Parsing one landed file: its parser's batches streamed into the file's data Parquet file, its rejected rows
(scrubbed) into its quarantine file. The ledger entry, which commits both, is the runner's to write."""

from __future__ import annotations

import logging
import stat as stat_module
import traceback
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.ingest.base import FileContext, FileRejected
from pipelines.ingest.landing import file_kind
from pipelines.ingest.raw_writer import StreamingParquet, write_parquet
from pipelines.ingest.reasons import NOT_REGULAR_FILE
from pipelines.ingest.registry import parser_for
from pipelines.lib import pii_scan
from pipelines.lib.feeds import QUARANTINE_TABLE_COLUMNS, data_file, quarantine_file, raw_schema, table_dir
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import Regions
from pipelines.lib.settings import IngestLimits
from pipelines.lib.timeparse import SHANGHAI, mtime_to_shanghai

log = logging.getLogger("innostat.ingest")


def now() -> datetime:
    """The wall clock in Asia/Shanghai, naive, to the second: `ingested_at`."""
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


@dataclass(frozen=True)
class FileJob:
    """One new source file to parse; everything a worker process needs, and nothing personal."""

    table: str
    number: int  # position in delivery order, for progress: file `number` of `of`
    of: int
    path: Path
    source_file: str
    digest: str
    raw_dir: Path
    limits: IngestLimits  # the caps on what the file may cost


@dataclass
class FileOutcome:
    status: str  # loaded | rejected | error (a bug, not bad data: no ledger entry, retried next run)
    reason: str | None
    size: int
    delivered_at: datetime
    ingested_at: datetime
    loaded: int = 0
    quarantined: int = 0
    skipped: int = 0
    reason_code: str | None = None
    reason_detail: str | None = None


def ingest_file(job: FileJob, pseudonymiser: Pseudonymiser, regions: Regions, run_state: dict) -> FileOutcome:
    """Parse one file into its data and quarantine Parquet files (not the ledger entry, which commits them)."""
    parser = parser_for(job.table)
    try:
        stat = job.path.lstat()
    except OSError as err:  # removed since it was hashed: no ledger entry, looked at again next run
        at = now()
        return FileOutcome("error", f"the file disappeared before it was parsed ({err})", 0, at, at)
    outcome = FileOutcome(
        status="loaded",
        reason=None,
        size=stat.st_size,
        delivered_at=mtime_to_shanghai(stat.st_mtime),
        ingested_at=now(),
    )
    ctx = FileContext(
        feed=parser.feed,
        path=job.path,
        source_file=job.source_file,
        regions=regions,
        pseudonymise=pseudonymiser,
        raw_table_dir=table_dir(job.raw_dir, job.table),
        limits=job.limits,
        run_state=run_state,
    )
    lineage = [
        pl.lit(job.source_file, pl.String).alias("source_file"),
        pl.lit(job.digest, pl.String).alias("file_hash"),
        pl.lit(outcome.delivered_at, pl.Datetime("us")).alias("delivered_at"),
        pl.lit(outcome.ingested_at, pl.Datetime("us")).alias("ingested_at"),
    ]
    skipped_before = run_state.get("skipped_redeliveries", 0)
    quarantine_frames: list[pl.DataFrame] = []
    try:
        if not stat_module.S_ISREG(stat.st_mode):  # swapped for a link since it was hashed: never read
            raise FileRejected(not_regular_reason(file_kind(stat.st_mode)), NOT_REGULAR_FILE, file_kind(stat.st_mode))
        # Batches stream into one Parquet file, so a big file never sits in memory whole.
        raw_path = data_file(job.raw_dir, job.table, job.digest)
        with StreamingParquet(raw_path, raw_schema(job.table), parser.row_groups_by) as sink:
            for batch in parser.parse(ctx):
                if batch.valid.height:
                    sink.write(batch.valid.with_columns(lineage))
                    outcome.loaded += batch.valid.height
                if batch.quarantined.height:
                    quarantine_frames.append(
                        scrub_quarantine(batch.quarantined, pseudonymiser).with_columns(
                            pl.lit(parser.feed, pl.String).alias("feed"), *lineage
                        )
                    )
    except FileRejected as err:
        run_state["skipped_redeliveries"] = skipped_before
        outcome.status, outcome.loaded = "rejected", 0
        outcome.reason = pii_scan.scrub(pseudonymiser.scrub_text(err.reason, ()), pseudonymiser)
        outcome.reason_code = err.code
        if err.detail is not None:
            outcome.reason_detail = pii_scan.scrub(pseudonymiser.scrub_text(err.detail, ()), pseudonymiser)
        return outcome
    except Exception as err:  # a bug, not bad data: reported by the caller, and the file is retried next run
        log.error("unexpected error ingesting %s:\n%s", job.source_file, traceback.format_exc())
        outcome.status, outcome.reason = "error", f"{type(err).__name__}: {err}"
        return outcome
    outcome.quarantined = sum(f.height for f in quarantine_frames)
    outcome.skipped = run_state.get("skipped_redeliveries", 0) - skipped_before
    if outcome.quarantined:
        quarantine_path = quarantine_file(job.raw_dir, job.table, job.digest)
        write_parquet(quarantine_path, quarantine_frames, QUARANTINE_TABLE_COLUMNS)
    return outcome


def scrub_quarantine(frame: pl.DataFrame, pseudonymiser: Pseudonymiser) -> pl.DataFrame:
    """Every quarantine row's reason, detail and raw with phones and resident IDs replaced by pseudonyms, whatever
    the feed: a value holding one beside Chinese text (a name may stand there) becomes one pseudonym whole
    (`pii_scan.scrub_value`). Vectorised prefilter: only the few candidate values are scrubbed in Python."""
    return frame.with_columns(
        pii_scan.scrub_column(frame["reason"], pseudonymiser),
        pii_scan.scrub_column(frame["reason_detail"], pseudonymiser),
        pii_scan.scrub_column(frame["raw"], pseudonymiser, json_values=True),
    )


def not_regular_reason(kind: str) -> str:
    return (
        f"a {kind}, not a regular file: never followed or read (the landing zone is a boundary); deliver the file "
        "itself"
    )
