"""The ingest ledger: one Parquet file per landed file, named by its content hash, written last as the commit
marker of the file's data and quarantine files. What it holds decides what a run skips (exactly once).

`<table>-<hash>.parquet` is a loaded or rejected file (or, under a key made of its path and kind, a rejected
non-regular file); `<table>-<hash>.dup-<path key>.parquet` a byte-identical copy of a committed file under another
path (status `duplicate`, `duplicate_of` naming the file it repeats; it adds nothing).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from pipelines.ingest.landing import atomic_write_text, hash_cache_dir
from pipelines.ingest.raw_writer import write_parquet
from pipelines.lib.feeds import LEDGER_COLUMNS, duplicate_ledger_file, ledger_dir, ledger_file


def _ledger_key(stem: str, prefix: str) -> str | None:
    key = stem[len(prefix) :]
    return key if len(key) == 64 and all(c in "0123456789abcdef" for c in key) else None


def ingested_hashes(raw_dir: Path, table: str) -> set[str]:
    """Content hashes the ledger has committed for this table (not counting the rows of duplicates)."""
    ledger = ledger_dir(raw_dir)
    prefix = f"{table}-"
    if not ledger.is_dir():
        return set()
    return {key for p in ledger.glob(f"{prefix}*.parquet") if (key := _ledger_key(p.stem, prefix)) is not None}


def path_key(source_file: str) -> str:
    """A landed path's short key in the name of its duplicate ledger file."""
    return hashlib.sha256(source_file.encode("utf-8")).hexdigest()[:16]


def recorded_duplicates(raw_dir: Path, table: str) -> set[tuple[str, str]]:
    """(content hash, path key) of every duplicate already in the ledger."""
    found = set()
    for p in ledger_dir(raw_dir).glob(f"{table}-*.dup-*.parquet"):
        digest, _, key = p.stem[len(table) + 1 :].partition(".dup-")
        found.add((digest, key))
    return found


class LedgerIndex:
    """Content hash → (source_file, rows delivered, status) of the committed ledger rows, cached beside the hash
    cache and completed from the ledger files it lacks: a run tells an original from its copies without reading
    every ledger file."""

    def __init__(self, raw_dir: Path, table: str, committed: set[str]):
        self.path = hash_cache_dir(raw_dir) / f"{table}.ledger.json"
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, list] = {k: v for k, v in entries.items() if k in committed}
        missing = [d for d in committed if d not in self.entries]
        self.dirty = bool(missing) or len(self.entries) != len(entries)
        if missing:
            files = [ledger_file(raw_dir, table, d) for d in missing]
            rows = pl.read_parquet(files, columns=["file_hash", "source_file", "status", "rows_loaded", "rows_skipped"])
            for digest, source, status, loaded, skipped in rows.iter_rows():
                self.entries[digest] = [source, (loaded or 0) + (skipped or 0), status]

    def add(self, digest: str, source_file: str, delivered: int, status: str) -> None:
        self.entries[digest] = [source_file, delivered, status]
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            atomic_write_text(self.path, json.dumps(self.entries, ensure_ascii=False))


@dataclass(frozen=True)
class Entry:
    """One ledger row, but for its feed and run: what became of one landed file."""

    source_file: str  # relative to the landing zone
    key: str  # the content hash (a non-regular file: its rejection key): the row's `file_hash`
    bytes: int
    delivered_at: datetime
    ingested_at: datetime
    status: str  # loaded | rejected | duplicate
    reason: str | None = None  # why a whole file was rejected, or which file a duplicate repeats
    reason_code: str | None = None  # a file-scope code of quarantine_reasons.csv; null when loaded
    reason_detail: str | None = None  # the offending measure or value, scrubbed
    duplicate_of: str | None = None  # a duplicate: the source_file of the committed file with the same bytes
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_skipped: int = 0  # rows that were exact re-deliveries of rows already loaded

    def frame(self, feed: str, run_id: str) -> pl.DataFrame:
        """The row; `feed` is the feed's name, which its raw table carries too (pipelines/lib/feeds.py)."""
        row = {name: None for name in LEDGER_COLUMNS}
        values = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "key"}
        row.update(values, feed=feed, file_hash=self.key, run_id=run_id)
        return pl.DataFrame([row], schema=LEDGER_COLUMNS)


def commit(raw_dir: Path, feed: str, entry: Entry, run_id: str) -> None:
    """Write the ledger entry of one landed file of `feed`: the commit marker of its data and quarantine files.
    A duplicate gets a file of its own beside its original's (`<table>-<hash>.dup-<path key>.parquet`)."""
    if entry.status == "duplicate":
        path = duplicate_ledger_file(raw_dir, feed, entry.key, path_key(entry.source_file))
    else:
        path = ledger_file(raw_dir, feed, entry.key)
    write_parquet(path, [entry.frame(feed, run_id)], LEDGER_COLUMNS)
