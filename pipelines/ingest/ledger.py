"""The ingest ledger: one Parquet file per landed file, named by its content hash, written last as the commit
marker of the file's data and quarantine files. What it holds decides what a run skips (exactly once).

`<table>-<hash>.parquet` is a loaded or rejected file (or, under a key made of its path and kind, a rejected
non-regular file); `<table>-<hash>.dup-<path key>.parquet` a byte-identical copy of a committed file under another
path (status `duplicate`, `duplicate_of` naming the file it repeats; it adds nothing).
"""

from __future__ import annotations

import hashlib
import json
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


def commit(raw_dir: Path, feed: str, key: str, source_file: str, run_id: str, **values) -> None:
    """Write the ledger entry of one landed file of `feed` (`key`: its content hash, or a non-regular file's
    rejection key): the commit marker of its data and quarantine files. Columns not given are null."""
    write_parquet(ledger_file(raw_dir, feed, key), [_row(feed, source_file, key, run_id, values)], LEDGER_COLUMNS)


def commit_duplicate(raw_dir: Path, feed: str, digest: str, source_file: str, run_id: str, **values) -> None:
    """Write the ledger entry of a byte-identical copy of the committed file with content hash `digest`."""
    path = duplicate_ledger_file(raw_dir, feed, digest, path_key(source_file))
    write_parquet(path, [_row(feed, source_file, digest, run_id, values)], LEDGER_COLUMNS)


def _row(feed: str, source_file: str, key: str, run_id: str, values: dict) -> pl.DataFrame:
    """One ledger row; `feed` is the feed's name, which its raw table carries too (pipelines/lib/feeds.py)."""
    row = {name: None for name in LEDGER_COLUMNS}
    row.update(feed=feed, source_file=source_file, file_hash=key, run_id=run_id, **values)
    return pl.DataFrame([row], schema=LEDGER_COLUMNS)
