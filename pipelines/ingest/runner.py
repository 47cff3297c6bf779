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
from pathlib import Path

from pipelines.ingest import ledger
from pipelines.ingest.file_ingest import FileJob, not_regular_reason, now
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


def _delivered_at(entry: Landed):
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
    report = IngestReport(table=table)
    ensure_layout(raw_dir, table)
    committed = ledger.ingested_hashes(raw_dir, table)
    remove_orphans(raw_dir, table, committed)
    apply_allow_list(raw_dir, table, pseudonymiser)
    entries, changing = _settled(table, landing, settings.settle_seconds, say)
    report.files_unsettled = len(changing)
    report.files_seen = len(entries)
    hashes = hash_cache(raw_dir, table)
    index = ledger.LedgerIndex(raw_dir, table, committed)
    duplicates_known = ledger.recorded_duplicates(raw_dir, table)
    jobs: list[FileJob] = []
    first_in_run: dict[str, str] = {}  # content hash → source_file of its first file in this run
    copies: list[tuple[Landed, str]] = []  # (entry, content hash) of copies to record once their original is
    try:
        for number, entry in enumerate(entries, start=1):
            if not entry.regular:
                key = entry.rejection_key()
                if key in committed:
                    report.files_already_ingested += 1
                    continue
                reason = not_regular_reason(entry.kind)
                report.files_rejected += 1
                report.rejected.append((entry.source_file, reason))
                say(f"{table}: rejected {entry.source_file}: {reason}")
                ledger.commit(
                    raw_dir,
                    table,
                    key,
                    entry.source_file,
                    run_id,
                    bytes=entry.size,
                    delivered_at=_delivered_at(entry),
                    ingested_at=now(),
                    status="rejected",
                    reason=reason,
                    reason_code=NOT_REGULAR_FILE,
                    reason_detail=entry.kind,
                    rows_loaded=0,
                    rows_quarantined=0,
                    rows_skipped=0,
                )
                committed.add(key)
                report.files_new += 1
                continue
            try:
                digest = hashes.hash(entry.path)
            except OSError as err:  # replaced or removed since the listing: looked at again next run
                say(f"{table}: {entry.source_file} changed while being looked at ({err}): left for the next run")
                continue
            if digest in committed:
                original = index.entries.get(digest, [None])[0]
                if original == entry.source_file or (digest, ledger.path_key(entry.source_file)) in duplicates_known:
                    report.files_already_ingested += 1
                else:
                    copies.append((entry, digest))
                continue
            if digest in first_in_run:  # a copy of a file earlier in this run: parsed once, recorded after it
                copies.append((entry, digest))
                continue
            first_in_run[digest] = entry.source_file
            jobs.append(
                FileJob(table, number, len(entries), entry.path, entry.source_file, digest, raw_dir, settings.limits)
            )
    finally:
        hashes.save()
    try:
        for job, outcome in zip(jobs, outcomes(jobs, parser, pseudonymiser, settings.workers, say), strict=True):
            if outcome.status == "error":
                report.errors.append((job.source_file, outcome.reason or ""))
                continue
            if outcome.status == "rejected":
                report.files_rejected += 1
                report.rejected.append((job.source_file, outcome.reason or ""))
                say(f"{table}: rejected {job.source_file}: {outcome.reason}")
            else:
                say(
                    f"{table}: file {job.number}/{len(entries)} {job.source_file}: {outcome.loaded} rows loaded, "
                    f"{outcome.quarantined} quarantined"
                )
            ledger.commit(  # written last: the commit marker of the file's data and quarantine files
                raw_dir,
                table,
                job.digest,
                job.source_file,
                run_id,
                bytes=outcome.size,
                delivered_at=outcome.delivered_at,
                ingested_at=outcome.ingested_at,
                status=outcome.status,
                reason=outcome.reason,
                reason_code=outcome.reason_code,
                reason_detail=outcome.reason_detail,
                rows_loaded=outcome.loaded,
                rows_quarantined=outcome.quarantined,
                rows_skipped=outcome.skipped,
            )
            committed.add(job.digest)
            index.add(job.digest, job.source_file, outcome.loaded + outcome.skipped, outcome.status)
            report.files_new += 1
            report.rows_loaded += outcome.loaded
            report.rows_quarantined += outcome.quarantined
            report.rows_skipped += outcome.skipped
        for entry, digest in copies:
            if digest not in committed:  # its original failed unexpectedly: both are retried next run
                continue
            original, delivered, _status = index.entries[digest]
            ledger.commit_duplicate(
                raw_dir,
                table,
                digest,
                entry.source_file,
                run_id,
                bytes=entry.size,
                delivered_at=_delivered_at(entry),
                ingested_at=now(),
                status="duplicate",
                reason=f"a byte-identical copy of {original}, already ingested: adds nothing",
                reason_code=DUPLICATE_FILE,
                reason_detail=original,
                duplicate_of=original,
                rows_loaded=0,
                rows_quarantined=0,
                rows_skipped=delivered,  # every row of it is an exact re-delivery of the original's
            )
            say(f"{table}: {entry.source_file} duplicates {original}: recorded, nothing added")
            report.files_duplicate += 1
            report.files_already_ingested += 1
    finally:
        index.save()
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
