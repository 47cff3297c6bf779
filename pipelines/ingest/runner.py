"""Exactly-once ingestion of one feed: discover → hash → skip what the ledger knows → parse → write Parquet.

Each source file becomes, under `raw/`, at most three Parquet files named by its content hash:
`<table>/<hash>.parquet` (valid rows), `quarantine/<table>-<hash>.parquet` (rejected rows) and, written last
as the commit marker, `ingest_ledger/<table>-<hash>.parquet` (paths: pipelines/lib/feeds.py). Every file is
written to a temporary name and renamed into place, so a crash leaves either nothing or orphans that the next run
removes and redoes.

Every landed file gets one ledger row (`ledger.py`): loaded, rejected whole, or a byte-identical copy of a
committed file under another path (`duplicate`, adding nothing). A symbolic link or any other non-regular file is
never opened: it is rejected under a key made of its path and kind. The other modules, one job each:
`landing` (discovery, hashes), `file_ingest` (one file parsed), `workers` (files parsed side by side),
`raw_writer` (Parquet files), `layout` (folders, orphans, upgrades of older raw layers).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from pipelines.ingest import ledger
from pipelines.ingest.file_ingest import FileJob, FileOutcome, not_regular_reason, now
from pipelines.ingest.landing import Landed, hash_cache, landed
from pipelines.ingest.layout import apply_allow_list, ensure_layout, remove_orphans
from pipelines.ingest.reasons import DUPLICATE_FILE, NOT_REGULAR_FILE
from pipelines.ingest.registry import parser_for
from pipelines.ingest.workers import outcomes
from pipelines.lib.feeds import feed
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.settings import IngestSettings
from pipelines.lib.timeparse import mtime_to_shanghai

log = logging.getLogger("innostat.ingest")


@dataclass
class IngestReport:
    table: str
    files_seen: int = 0
    files_new: int = 0
    files_already_ingested: int = 0
    files_rejected: int = 0
    files_duplicate: int = 0  # byte-identical copies under another path, recorded in the ledger this run
    files_unsettled: int = 0  # still being written (or just renamed): left for the next run
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (source_file, reason)
    errors: list[tuple[str, str]] = field(default_factory=list)  # unexpected errors: not in the ledger, retried

    def summary(self) -> str:
        return (
            f"{self.table}: {self.files_new} new of {self.files_seen} files "
            f"({self.files_already_ingested} already ingested, {self.files_rejected} rejected, "
            f"{self.files_duplicate} duplicates, {self.files_unsettled} still being written), "
            f"{self.rows_loaded} rows loaded, {self.rows_quarantined} quarantined, {self.rows_skipped} re-delivered"
        )


def _delivered_at(entry: Landed) -> datetime:
    return mtime_to_shanghai(entry.mtime_ns / 1e9)


def _settled(table: str, landing: Path, settle: float, say: Callable[[str], None]) -> tuple[list[Landed], list[Landed]]:
    """(files ready, files still being written) after waiting once, up to `settle` seconds, for those changing."""
    of = feed(table)
    entries, changing = landed(landing, of.folder, of.extensions, settle=settle)
    if changing:
        wait = max(0.0, max(e.changed for e in changing) + settle - time.time())
        say(f"{table}: {len(changing)} file(s) still being written; waiting {wait:.1f} s for them to settle")
        time.sleep(wait)
        entries, changing = landed(landing, of.folder, of.extensions, settle=settle)
    for entry in changing:
        say(f"{table}: {entry.source_file} is still being written: left for the next run")
    return entries, changing


@dataclass
class _FeedRun:
    """One run of one feed: what the ledger has committed, and the ledger entries this run adds to it."""

    table: str
    raw_dir: Path
    run_id: str
    say: Callable[[str], None]
    report: IngestReport
    committed: set[str]  # content hashes (and rejection keys) in the ledger
    index: ledger.LedgerIndex

    def commit(self, entry: ledger.Entry) -> None:
        """Write `entry`; a file's own entry (not a duplicate's) makes its content hash known and counts as new."""
        ledger.commit(self.raw_dir, self.table, entry, self.run_id)
        if entry.status != "duplicate":
            self.committed.add(entry.key)
            self.report.files_new += 1

    def reject_unread(self, landed_file: Landed) -> None:
        """A symbolic link or other non-regular file: rejected once, under its path-and-kind key, never opened."""
        key = landed_file.rejection_key()
        if key in self.committed:
            self.report.files_already_ingested += 1
            return
        reason = not_regular_reason(landed_file.kind)
        self.report.files_rejected += 1
        self.report.rejected.append((landed_file.source_file, reason))
        self.say(f"{self.table}: rejected {landed_file.source_file}: {reason}")
        self.commit(
            ledger.Entry(
                landed_file.source_file,
                key,
                landed_file.size,
                _delivered_at(landed_file),
                now(),
                "rejected",
                reason,
                NOT_REGULAR_FILE,
                landed_file.kind,
            )
        )

    def record(self, job: FileJob, outcome: FileOutcome, files: int) -> None:
        """A parsed file's ledger entry, written last: the commit marker of its data and quarantine files."""
        if outcome.status == "error":  # a bug, not bad data: no ledger entry, the file is retried next run
            self.report.errors.append((job.source_file, outcome.reason or ""))
            return
        if outcome.status == "rejected":
            self.report.files_rejected += 1
            self.report.rejected.append((job.source_file, outcome.reason or ""))
            self.say(f"{self.table}: rejected {job.source_file}: {outcome.reason}")
        else:
            self.say(
                f"{self.table}: file {job.number}/{files} {job.source_file}: {outcome.loaded} rows loaded, "
                f"{outcome.quarantined} quarantined"
            )
        self.commit(
            ledger.Entry(
                job.source_file,
                job.digest,
                outcome.size,
                outcome.delivered_at,
                outcome.ingested_at,
                outcome.status,
                outcome.reason,
                outcome.reason_code,
                outcome.reason_detail,
                rows_loaded=outcome.loaded,
                rows_quarantined=outcome.quarantined,
                rows_skipped=outcome.skipped,
            )
        )
        self.index.add(job.digest, job.source_file, outcome.loaded + outcome.skipped, outcome.status)
        self.report.rows_loaded += outcome.loaded
        self.report.rows_quarantined += outcome.quarantined
        self.report.rows_skipped += outcome.skipped

    def record_copy(self, copy: Landed, digest: str) -> None:
        """A byte-identical copy of a committed file under another path: recorded once, adds nothing."""
        if digest not in self.committed:  # its original failed unexpectedly: both are retried next run
            return
        original, delivered, _status = self.index.entries[digest]
        self.commit(
            ledger.Entry(
                copy.source_file,
                digest,
                copy.size,
                _delivered_at(copy),
                now(),
                "duplicate",
                f"a byte-identical copy of {original}, already ingested: adds nothing",
                DUPLICATE_FILE,
                original,
                duplicate_of=original,
                rows_skipped=delivered,  # every row of it is an exact re-delivery of the original's
            )
        )
        self.say(f"{self.table}: {copy.source_file} duplicates {original}: recorded, nothing added")
        self.report.files_duplicate += 1
        self.report.files_already_ingested += 1


def ingest_table(
    table: str,
    landing: Path,
    raw_dir: Path,
    pseudonymiser: Pseudonymiser,
    *,
    run_id: str = "manual",
    progress: Callable[[str], None] | None = None,
    settings: IngestSettings | None = None,
    workers: int | None = None,
    settle: float | None = None,
) -> IngestReport:
    """Ingest every new file of one feed's landing folder (`table`: the feed's name), in delivery order.
    Idempotent.

    `settings` (read from the environment when not given) bounds the run: `workers` caps the processes that
    parse files side by side (the ledger is still written by this process, one file at a time in delivery
    order); files still being written are waited for once, up to `settle_seconds`, and those still changing
    then are left for the next run; `limits` caps what one file may cost. `workers` and `settle` override the
    settings' values.
    """
    settings = settings or IngestSettings.from_env()
    settings = replace(
        settings,
        workers=settings.workers if workers is None else workers,
        settle_seconds=settings.settle_seconds if settle is None else settle,
    )
    parser = parser_for(table)
    say = progress or (lambda message: log.info(message))
    ensure_layout(raw_dir, table)
    committed = ledger.ingested_hashes(raw_dir, table)
    remove_orphans(raw_dir, table, committed)
    apply_allow_list(raw_dir, table, pseudonymiser)
    entries, changing = _settled(table, landing, settings.settle_seconds, say)
    report = IngestReport(table=table, files_seen=len(entries), files_unsettled=len(changing))
    run = _FeedRun(table, raw_dir, run_id, say, report, committed, ledger.LedgerIndex(raw_dir, table, committed))
    hashes = hash_cache(raw_dir, table)
    duplicates_known = ledger.recorded_duplicates(raw_dir, table)
    jobs: list[FileJob] = []
    first_in_run: set[str] = set()  # content hashes of the files parsed in this run
    copies: list[tuple[Landed, str]] = []  # (copy, content hash) to record once their original is
    try:
        for number, entry in enumerate(entries, start=1):
            if not entry.regular:
                run.reject_unread(entry)
                continue
            try:
                digest = hashes.hash(entry.path)
            except OSError as err:  # replaced or removed since the listing: looked at again next run
                say(f"{table}: {entry.source_file} changed while being looked at ({err}): left for the next run")
                continue
            if digest in committed:
                original = run.index.entries.get(digest, [None])[0]
                if original == entry.source_file or (digest, ledger.path_key(entry.source_file)) in duplicates_known:
                    report.files_already_ingested += 1
                else:
                    copies.append((entry, digest))
            elif digest in first_in_run:  # a copy of a file earlier in this run: parsed once, recorded after it
                copies.append((entry, digest))
            else:
                first_in_run.add(digest)
                source = (entry.path, entry.source_file, digest)
                jobs.append(FileJob(table, number, len(entries), *source, raw_dir, settings.limits))
    finally:
        hashes.save()
    try:
        parsed = outcomes(jobs, parser, pseudonymiser, settings.workers, say)
        for job, outcome in zip(jobs, parsed, strict=True):
            run.record(job, outcome, len(entries))
        for copy, digest in copies:
            run.record_copy(copy, digest)
    finally:
        run.index.save()
    say(report.summary())
    return report


def pending_files(table: str, landing: Path, raw_dir: Path, settings: IngestSettings | None = None) -> list[str]:
    """Keys of what a run of `table` would record now, in delivery order: content hashes of new files, of copies
    of committed files not yet recorded as duplicates, and rejection keys of new non-regular files. Files still
    being written are not pending yet. For the new-file sensors: this reads the ledger, never writes it."""
    settings = settings or IngestSettings.from_env()
    of = feed(table)
    committed = ledger.ingested_hashes(raw_dir, table)
    entries, _ = landed(landing, of.folder, of.extensions, settle=settings.settle_seconds)
    cache = hash_cache(raw_dir, table)
    index = ledger.LedgerIndex(raw_dir, table, committed)
    duplicates_known = ledger.recorded_duplicates(raw_dir, table)
    pending: list[str] = []
    for entry in entries:
        if not entry.regular:
            key = entry.rejection_key()
            if key not in committed and key not in pending:
                pending.append(key)
            continue
        try:
            digest = cache.hash(entry.path)
        except OSError:
            continue
        if digest not in committed:
            if digest not in pending:
                pending.append(digest)
            continue
        original = index.entries.get(digest, [None])[0]
        if original != entry.source_file and (digest, ledger.path_key(entry.source_file)) not in duplicates_known:
            pending.append(f"{digest}.dup-{ledger.path_key(entry.source_file)}")
    cache.save()
    index.save()
    return pending
