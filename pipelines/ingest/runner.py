"""Exactly-once ingestion of one feed: discover → hash → skip what the ledger knows → parse → write Parquet.

Each source file becomes, under `raw/`, at most three Parquet files named by its content hash:
`<table>/<hash>.parquet` (valid rows), `quarantine/<table>-<hash>.parquet` (rejected rows) and, written last
as the commit marker, `ingest_ledger/<table>-<hash>.parquet`. Every file is written to a temporary name and
renamed into place, so a crash leaves either nothing or orphans that the next run removes and redoes.

Every landed file gets one ledger row. A byte-identical copy of a committed file under another path is recorded
once, as `ingest_ledger/<table>-<hash>.dup-<path key>.parquet` with status `duplicate` and `duplicate_of` naming
the file it repeats; it adds nothing. A symbolic link or any other non-regular file is never opened: it is
rejected under a key made of its path and kind (`not_regular_file`). Discovery (`landed`) also skips temporary
names and files still being written (`INNOSTAT_SETTLE_SECONDS`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import stat as stat_module
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.ingest.base import LINEAGE_COLUMNS, QUARANTINE_COLUMNS, FeedParser, FileContext, FileRejected
from pipelines.ingest.reasons import DUPLICATE_FILE, NOT_REGULAR_FILE
from pipelines.ingest.registry import parser_for
from pipelines.lib import pii_scan
from pipelines.lib.environment import number_setting, worker_processes
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.regions import Regions, load_regions
from pipelines.lib.timeparse import SHANGHAI, mtime_to_shanghai

log = logging.getLogger("innostat.ingest")

LEDGER_COLUMNS: dict[str, pl.DataType] = {
    "feed": pl.String(),
    "source_file": pl.String(),
    "file_hash": pl.String(),
    "bytes": pl.Int64(),
    "delivered_at": pl.Datetime("us"),
    "ingested_at": pl.Datetime("us"),
    "status": pl.String(),  # loaded | rejected | duplicate
    "reason": pl.String(),  # why a whole file was rejected, or which file a duplicate repeats
    "reason_code": pl.String(),  # a file-scope code of quarantine_reasons.csv; null when loaded
    "reason_detail": pl.String(),  # the offending measure or value, scrubbed
    "duplicate_of": pl.String(),  # a duplicate: the source_file of the committed file with the same bytes
    "rows_loaded": pl.Int64(),
    "rows_quarantined": pl.Int64(),
    "rows_skipped": pl.Int64(),  # rows that were exact re-deliveries of rows already loaded
    "run_id": pl.String(),
}
QUARANTINE_TABLE_COLUMNS: dict[str, pl.DataType] = {
    "feed": pl.String(),
    "source_file": pl.String(),
    **QUARANTINE_COLUMNS,
    "file_hash": pl.String(),
    "delivered_at": pl.Datetime("us"),
    "ingested_at": pl.Datetime("us"),
}
EMPTY_MARKER = "_empty.parquet"  # zero-row file with the table's schema, so a glob over a new table works


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


def raw_schema(table: str) -> dict[str, pl.DataType]:
    parser = parser_for(table)
    own = {k: v for k, v in parser.columns.items() if k not in LINEAGE_COLUMNS}
    return {**own, **LINEAGE_COLUMNS}


def _arrow_schema(columns: dict[str, pl.DataType]) -> pa.Schema:
    return pl.DataFrame(schema=columns).to_arrow().schema


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes. The file is opened without following a symbolic link, and must be a regular
    file (OSError otherwise): what was found regular in discovery cannot be swapped for a link to elsewhere."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat_module.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(f"{path} is not a regular file")
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


SETTLE_ENV = "INNOSTAT_SETTLE_SECONDS"
DEFAULT_SETTLE_SECONDS = 5.0
# Names that are still being written by their source system (or an editor's lock and backup files).
_TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".filepart", ".crdownload", ".download", ".swp")


def settle_seconds() -> float:
    """How long a file must stay unchanged before it is ingested: `INNOSTAT_SETTLE_SECONDS`, default 5."""
    return number_setting(SETTLE_ENV, DEFAULT_SETTLE_SECONDS, float, lambda s: s >= 0, "a number of seconds ≥ 0")


def is_temporary(name: str) -> bool:
    """Dotfiles, `~`-prefixed (Office lock files) and `~`-suffixed names, and any name with a temporary suffix
    (`x.csv.part`, `x.tmp.csv`): a file still being written, never a delivery."""
    lower = name.lower()
    if lower.startswith((".", "~")) or lower.endswith("~"):
        return True
    return any(suffix in _TEMPORARY_SUFFIXES for suffix in (f".{part}" for part in lower.split(".")[1:]))


@dataclass(frozen=True)
class Landed:
    """One file found in a feed folder: a regular file to hash and parse, or anything else to reject unread."""

    path: Path
    source_file: str  # relative to the landing zone
    size: int
    mtime_ns: int
    kind: str  # "file", or what else it is: "symbolic link", "FIFO", "socket", "device", "directory link"
    changed: float = 0.0  # when its content or metadata last changed (epoch seconds; see `landed`)

    @property
    def regular(self) -> bool:
        return self.kind == "file"

    def rejection_key(self) -> str:
        """The ledger key of a non-regular file: made of its path and kind, never of its target's content."""
        return hashlib.sha256(f"not-a-regular-file\0{self.source_file}\0{self.kind}".encode()).hexdigest()


def _kind(mode: int) -> str:
    for test, kind in (
        (stat_module.S_ISREG, "file"),
        (stat_module.S_ISLNK, "symbolic link"),
        (stat_module.S_ISFIFO, "FIFO"),
        (stat_module.S_ISSOCK, "socket"),
        (stat_module.S_ISDIR, "directory"),
    ):
        if test(mode):
            return kind
    return "device"


def landed(
    landing: Path, folder: str, extensions: tuple[str, ...], *, settle: float | None = None
) -> tuple[list[Landed], list[Landed]]:
    """(files ready to ingest, files still changing), each in delivery order: modification time, ties broken by
    name.

    Nothing below the feed folder is followed: a symbolic link (to a file or a directory) or another non-regular
    file with the feed's extension is returned as such, for the runner to reject unread. Temporary names and
    dot-folders are skipped. A regular file is ready once neither its content nor its metadata changed for
    `settle` seconds (default `settle_seconds()`): its ctime, which every write, rename and touch moves, is that
    old (and its mtime, unless it lies in the future)."""
    root = landing / folder
    if not root.is_dir():
        return [], []
    settle = settle_seconds() if settle is None else settle
    now = time.time()
    ready: list[Landed] = []
    changing: list[Landed] = []
    wanted = tuple(e.lower() for e in extensions)
    for directory, subdirs, names in os.walk(root, followlinks=False):
        base = Path(directory)
        links = [d for d in subdirs if (base / d).is_symlink()]
        subdirs[:] = sorted(d for d in subdirs if d not in links and not is_temporary(d))
        for name in sorted([*names, *links]):
            if is_temporary(name):
                continue
            path = base / name
            try:
                info = path.lstat()
            except OSError:  # gone since the listing
                continue
            kind = "directory link" if name in links else _kind(info.st_mode)
            if kind != "directory link" and not name.lower().endswith(wanted):
                continue
            mtime = info.st_mtime if info.st_mtime <= now else info.st_ctime
            changed = max(info.st_ctime, mtime)
            entry = Landed(path, path.relative_to(landing).as_posix(), info.st_size, info.st_mtime_ns, kind, changed)
            if entry.regular and now - changed < settle:
                changing.append(entry)
                continue
            ready.append(entry)

    def order(e: Landed) -> tuple[int, str]:
        return (e.mtime_ns, e.path.relative_to(root).as_posix())

    return sorted(ready, key=order), sorted(changing, key=order)


def discover(landing: Path, folder: str, extensions: tuple[str, ...]) -> list[Path]:
    """The feed's regular files ready to ingest, in delivery order: modification time, ties broken by name."""
    ready, _ = landed(landing, folder, extensions)
    return [entry.path for entry in ready if entry.regular]


class HashCache:
    """Hashes by (path, size, mtime), so a daily run does not re-read years of unchanged files."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.entries: dict[str, list] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}
        self.dirty = False

    def hash(self, file: Path) -> str:
        stat = file.stat()
        key = str(file)
        cached = self.entries.get(key)
        if cached and cached[0] == stat.st_size and cached[1] == stat.st_mtime_ns:
            return cached[2]
        value = content_hash(file)
        self.entries[key] = [stat.st_size, stat.st_mtime_ns, value]
        self.dirty = True
        return value

    def save(self) -> None:
        if self.dirty:
            _atomic_write_text(self.path, json.dumps(self.entries))


def hash_cache(raw_dir: Path, table: str) -> HashCache:
    """The table's cache of content hashes, beside the raw layer: ingestion and the new-file sensors share it."""
    return HashCache(raw_dir.parent / "hash_cache" / f"{table}.json")


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_parquet(path: Path, frames: list[pl.DataFrame], columns: dict[str, pl.DataType]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    schema = _arrow_schema(columns)
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        if not frames:
            writer.write_table(schema.empty_table())
        for frame in frames:
            writer.write_table(frame.select(list(columns)).cast(columns).to_arrow().cast(schema))
    os.replace(tmp, path)


# A column whose first batch has more distinct values than this share of its rows (ids, pseudonyms, timestamps,
# line numbers) is written without a dictionary: Parquet would build one, overflow it and fall back to plain
# pages anyway. Skipping that made a month of city events 22 % faster to write and 19 % smaller (issue 7).
_DICTIONARY_MAX_DISTINCT_SHARE = 0.1


def dictionary_columns(frame: pl.DataFrame) -> list[str]:
    """The columns of `frame` worth a Parquet dictionary: few distinct values for their rows."""
    limit = max(1, int(frame.height * _DICTIONARY_MAX_DISTINCT_SHARE))
    counts = frame.select(pl.all().n_unique()).row(0)
    return [name for name, distinct in zip(frame.columns, counts, strict=True) if distinct <= limit]


class _StreamingParquet:
    """Writes batches to a temporary file and renames it into place only when the whole file parsed.

    The writer opens on the first batch, which decides the columns that get a dictionary. With `row_groups_by`,
    each batch is written as one row group per value of that column, rows in their delivered order within it."""

    def __init__(self, path: Path, columns: dict[str, pl.DataType], row_groups_by: str | None = None):
        self.path, self.columns, self.row_groups_by = path, columns, row_groups_by
        self.schema = _arrow_schema(columns)
        self.tmp = path.with_name(f".{path.name}.tmp")
        self.writer: pq.ParquetWriter | None = None

    def __enter__(self) -> _StreamingParquet:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return self

    def write(self, frame: pl.DataFrame) -> None:
        frame = frame.select(list(self.columns)).cast(self.columns)
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.tmp, self.schema, compression="zstd", use_dictionary=dictionary_columns(frame)
            )
        parts = frame.partition_by(self.row_groups_by, maintain_order=True) if self.row_groups_by else [frame]
        for part in parts:
            self.writer.write_table(part.to_arrow().cast(self.schema))  # one call, one row group

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.writer is None:  # no valid row at all: a file with the table's schema and no row group
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        self.writer.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _ledger_key(stem: str, prefix: str) -> str | None:
    key = stem[len(prefix) :]
    return key if len(key) == 64 and all(c in "0123456789abcdef" for c in key) else None


def ingested_hashes(raw_dir: Path, table: str) -> set[str]:
    """Content hashes the ledger has committed for this table (not counting the rows of duplicates)."""
    ledger = raw_dir / "ingest_ledger"
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
    for p in (raw_dir / "ingest_ledger").glob(f"{table}-*.dup-*.parquet"):
        digest, _, key = p.stem[len(table) + 1 :].partition(".dup-")
        found.add((digest, key))
    return found


class LedgerIndex:
    """Content hash → (source_file, rows delivered, status) of the committed ledger rows, cached beside the hash
    cache and completed from the ledger files it lacks: a run tells an original from its copies without reading
    every ledger file."""

    def __init__(self, raw_dir: Path, table: str, committed: set[str]):
        self.path = raw_dir.parent / "hash_cache" / f"{table}.ledger.json"
        try:
            entries = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            entries = {}
        self.entries: dict[str, list] = {k: v for k, v in entries.items() if k in committed}
        missing = [d for d in committed if d not in self.entries]
        self.dirty = bool(missing) or len(self.entries) != len(entries)
        if missing:
            files = [raw_dir / "ingest_ledger" / f"{table}-{d}.parquet" for d in missing]
            rows = pl.read_parquet(files, columns=["file_hash", "source_file", "status", "rows_loaded", "rows_skipped"])
            for digest, source, status, loaded, skipped in rows.iter_rows():
                self.entries[digest] = [source, (loaded or 0) + (skipped or 0), status]

    def add(self, digest: str, source_file: str, delivered: int, status: str) -> None:
        self.entries[digest] = [source_file, delivered, status]
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            _atomic_write_text(self.path, json.dumps(self.entries, ensure_ascii=False))


def ensure_layout(raw_dir: Path, table: str) -> None:
    """Create the table's folders and zero-row schema files, so DuckDB globs never come up empty."""
    _upgrade_layout(raw_dir)
    for folder, columns in (
        (raw_dir / table, raw_schema(table)),
        (raw_dir / "quarantine", QUARANTINE_TABLE_COLUMNS),
        (raw_dir / "ingest_ledger", LEDGER_COLUMNS),
    ):
        marker = folder / EMPTY_MARKER
        if not marker.exists():
            _write_parquet(marker, [], columns)


_LAYOUT_MARKER = ".layout-reason-codes"
# A reason written before reason codes existed → its code (first match wins; `unclassified` when none does).
_LEGACY_ROW_CODES = (
    (r"^(empty |missing )", "missing_field"),
    (r"personal data in free text", "personal_data_in_text"),
    (r"地区代码|street code|street_code", "unknown_region"),
    (r"unknown 指标名称", "unknown_indicator"),
    (r"unknown 计量单位", "unknown_unit"),
    (r"^计量单位", "unit_mismatch"),
    (r"统计期", "bad_period"),
    (r"^negative ", "negative_number"),
    (r"not a number|too large|not a whole number", "bad_number"),
    (r"统一社会信用代码", "bad_credit_code"),
    (r"^年度", "bad_year"),
    (r"证书编号", "bad_certificate"),
    (r"填报时间|unparseable |valid YYYY-MM-DD", "bad_timestamp"),
    (r"already delivered with different content", "filing_conflict"),
    (r"invalid JSON|not a JSON object", "bad_json"),
    (r"^the row has \d+ fields", "ragged_row"),
    (r"must be a string or an integer|must be a number", "wrong_type"),
    (r"must be an integer", "out_of_range"),
    (r"^unknown |is not 0 or 1", "not_allowed_value"),
)
_LEGACY_FILE_CODES = (
    (r"empty", "empty_file"),
    (r"header", "wrong_header"),
    (r"UTF-8|GB18030", "bad_encoding"),
)


def _legacy_code(reason: pl.Expr, patterns: tuple[tuple[str, str], ...], fallback: str) -> pl.Expr:
    chain = None
    for pattern, value in patterns:
        matches = reason.str.contains(pattern)
        chain = pl.when(matches).then(pl.lit(value)) if chain is None else chain.when(matches).then(pl.lit(value))
    return chain.otherwise(pl.lit(fallback))  # type: ignore[union-attr]


def _upgrade_layout(raw_dir: Path) -> None:
    """Give the quarantine and ledger files written before reason codes their new columns, once per raw layer:
    codes from the old reason's wording, so `marts.quarantine` and `marts.ingest_ledger` read every file alike."""
    marker = raw_dir / _LAYOUT_MARKER
    if marker.exists() or not raw_dir.is_dir():
        if not raw_dir.is_dir():
            raw_dir.mkdir(parents=True, exist_ok=True)
            marker.touch()
        return
    first_reason = pl.col("reason").str.split("; ").list.first()
    upgrades = (
        (
            raw_dir / "quarantine",
            QUARANTINE_TABLE_COLUMNS,
            _legacy_code(first_reason, _LEGACY_ROW_CODES, "unclassified"),
        ),
        (
            raw_dir / "ingest_ledger",
            LEDGER_COLUMNS,
            pl.when(pl.col("status") == "rejected").then(
                _legacy_code(pl.col("reason"), _LEGACY_FILE_CODES, "corrupt_file")
            ),
        ),
    )
    for folder, columns, code_expr in upgrades:
        for path in sorted(folder.glob("*.parquet")):
            if set(columns) <= set(pq.read_schema(path).names):
                continue
            frame = pl.read_parquet(path)
            missing = [name for name in columns if name not in frame.columns]
            frame = frame.with_columns(pl.lit(None, columns[name]).alias(name) for name in missing)
            if "reason_code" in missing:
                frame = frame.with_columns(code_expr.alias("reason_code"))
            log.warning("upgrading %s to the reason-code layout", path)
            _write_parquet(path, [frame], columns)
    marker.touch()


def _names_only(extra: str | None) -> str | None:
    """An `extra_columns` value written before the allow-list (a JSON object of names and values) → its names."""
    if extra is None:
        return None
    try:
        parsed = json.loads(extra)
    except ValueError:
        return None
    return json.dumps(list(parsed), ensure_ascii=False) if isinstance(parsed, dict) else extra


def _apply_allow_list(raw_dir: Path, table: str, pseudonymiser: Pseudonymiser) -> None:
    """Once per table: rows stored before the allow-list keep the names of their extra columns only, and quarantine
    rows stored before the free-text scan are scrubbed like new ones. A raw file is read only when its Parquet
    statistics say some `extra_columns` value is set."""
    marker = raw_dir / f".allow-list-{table}"
    if marker.exists():
        return
    columns = raw_schema(table)
    for path in sorted((raw_dir / table).glob("*.parquet")):
        metadata = pq.read_metadata(path)
        names = metadata.schema.names
        if "extra_columns" not in names or metadata.num_rows == 0:
            continue
        index = names.index("extra_columns")
        groups = [metadata.row_group(i).column(index).statistics for i in range(metadata.num_row_groups)]
        if all(g is not None and g.null_count == metadata.row_group(i).num_rows for i, g in enumerate(groups)):
            continue
        frame = pl.read_parquet(path)
        names_only = frame["extra_columns"].map_elements(_names_only, return_dtype=pl.String, skip_nulls=True)
        if names_only.equals(frame["extra_columns"]):
            continue
        log.warning("keeping only the names of extra columns in %s (the allow-list)", path)
        _write_parquet(path, [frame.with_columns(names_only.alias("extra_columns"))], columns)
    for path in sorted((raw_dir / "quarantine").glob(f"{table}-*.parquet")):
        frame = pl.read_parquet(path)
        scrubbed = scrub_quarantine(frame, pseudonymiser)
        if not scrubbed.equals(frame):
            log.warning("scrubbing %s with the free-text scan", path)
            _write_parquet(path, [scrubbed], QUARANTINE_TABLE_COLUMNS)
    marker.touch()


def _remove_orphans(raw_dir: Path, table: str, committed: set[str]) -> None:
    """Outputs of a file whose ledger entry never got written (a crashed run) are removed and redone."""
    for path in (raw_dir / table).glob("*.parquet"):
        if path.name != EMPTY_MARKER and path.stem not in committed:
            log.warning("removing orphan %s from an interrupted run", path)
            path.unlink()
    for path in (raw_dir / "quarantine").glob(f"{table}-*.parquet"):
        if path.stem[len(table) + 1 :] not in committed:
            path.unlink()


PARALLEL_MIN_BYTES = 64 << 20  # below this much new data, starting worker processes costs more than it saves


def ingest_workers() -> int:
    """Processes that parse files side by side: `INNOSTAT_INGEST_WORKERS`, else one per core (1 = in-process)."""
    return worker_processes("INNOSTAT_INGEST_WORKERS", default=max(1, os.cpu_count() or 1))


@dataclass(frozen=True)
class _FileJob:
    """One new source file to parse; everything a worker process needs, and nothing personal."""

    table: str
    number: int  # position in delivery order, for progress: file `number` of `of`
    of: int
    path: Path
    source_file: str
    digest: str
    raw_dir: Path


@dataclass
class _FileOutcome:
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


def _ingest_file(job: _FileJob, pseudonymiser: Pseudonymiser, regions: Regions, run_state: dict) -> _FileOutcome:
    """Parse one file into its data and quarantine Parquet files (not the ledger entry, which commits them)."""
    parser = parser_for(job.table)
    try:
        stat = job.path.lstat()
    except OSError as err:  # removed since it was hashed: no ledger entry, looked at again next run
        now = _now()
        return _FileOutcome("error", f"the file disappeared before it was parsed ({err})", 0, now, now)
    outcome = _FileOutcome(
        status="loaded",
        reason=None,
        size=stat.st_size,
        delivered_at=mtime_to_shanghai(stat.st_mtime),
        ingested_at=datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0),
    )
    ctx = FileContext(
        feed=parser.feed,
        path=job.path,
        source_file=job.source_file,
        regions=regions,
        pseudonymise=pseudonymiser,
        raw_table_dir=job.raw_dir / job.table,
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
            raise FileRejected(_not_regular_reason(_kind(stat.st_mode)), NOT_REGULAR_FILE, _kind(stat.st_mode))
        # Batches stream into one Parquet file, so a big file never sits in memory whole.
        raw_path = job.raw_dir / job.table / f"{job.digest}.parquet"
        with _StreamingParquet(raw_path, raw_schema(job.table), parser.row_groups_by) as sink:
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
        quarantine_path = job.raw_dir / "quarantine" / f"{job.table}-{job.digest}.parquet"
        _write_parquet(quarantine_path, quarantine_frames, QUARANTINE_TABLE_COLUMNS)
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


def _not_regular_reason(kind: str) -> str:
    return (
        f"a {kind}, not a regular file: never followed or read (the landing zone is a boundary); deliver the file "
        "itself"
    )


_worker_state: tuple[Pseudonymiser, Regions] | None = None  # set once in each worker process


def _start_worker(pseudonymiser: Pseudonymiser) -> None:
    global _worker_state
    _worker_state = (pseudonymiser, load_regions())


def _ingest_file_in_worker(job: _FileJob) -> _FileOutcome:
    assert _worker_state is not None, "_start_worker did not run in this process"
    pseudonymiser, regions = _worker_state
    return _ingest_file(job, pseudonymiser, regions, run_state={})


def _outcomes(
    jobs: list[_FileJob], parser: FeedParser, pseudonymiser: Pseudonymiser, workers: int, say: Callable[[str], None]
) -> Iterator[_FileOutcome]:
    """Each job's outcome, in delivery order. Files of a feed whose parser keeps no state across files
    (`independent_files`) are parsed by `workers` processes side by side when there is enough new data."""
    new_bytes = sum(job.path.stat().st_size for job in jobs)
    workers = min(workers, len(jobs))
    if workers < 2 or not parser.independent_files or new_bytes < PARALLEL_MIN_BYTES:
        regions, run_state = load_regions(), {}
        for job in jobs:
            say(f"{job.table}: file {job.number}/{job.of} {job.source_file}")
            yield _ingest_file(job, pseudonymiser, regions, run_state)
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
                now = datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)
                died = f"the ingestion worker process died ({err})"
                yield _FileOutcome("error", died, stat.st_size, delivered_at, now)
    finally:  # an interrupted run cancels the queued files; files parsed without a ledger entry are orphans, redone
        pool.shutdown(wait=True, cancel_futures=True)


def _ledger_row(feed: str, source_file: str, key: str, run_id: str, **values) -> pl.DataFrame:
    row = {name: None for name in LEDGER_COLUMNS}
    row.update(feed=feed, source_file=source_file, file_hash=key, run_id=run_id, **values)
    return pl.DataFrame([row], schema=LEDGER_COLUMNS)


def _now() -> datetime:
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)


def _delivered_at(entry: Landed) -> datetime:
    return mtime_to_shanghai(entry.mtime_ns / 1e9)


def ingest_table(
    table: str,
    landing: Path,
    raw_dir: Path,
    pseudonymiser: Pseudonymiser,
    *,
    run_id: str = "manual",
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    settle: float | None = None,
) -> IngestReport:
    """Ingest every new file of one raw table's landing folder, in delivery order. Idempotent.

    `workers` (default `ingest_workers()`) caps the processes that parse files side by side; the ledger is
    still written by this process, one file at a time in delivery order. Files still being written are waited
    for once, up to `settle` seconds (default `settle_seconds()`); those still changing then are left for the
    next run.
    """
    parser = parser_for(table)
    say = progress or (lambda message: log.info(message))
    report = IngestReport(table=table)
    ensure_layout(raw_dir, table)
    committed = ingested_hashes(raw_dir, table)
    _remove_orphans(raw_dir, table, committed)
    _apply_allow_list(raw_dir, table, pseudonymiser)
    settle = settle_seconds() if settle is None else settle
    entries, changing = landed(landing, parser.folder, parser.extensions, settle=settle)
    if changing:
        wait = max(0.0, max(e.changed for e in changing) + settle - time.time())
        say(f"{table}: {len(changing)} file(s) still being written; waiting {wait:.1f} s for them to settle")
        time.sleep(wait)
        entries, changing = landed(landing, parser.folder, parser.extensions, settle=settle)
    for entry in changing:
        say(f"{table}: {entry.source_file} is still being written: left for the next run")
    report.files_unsettled = len(changing)
    report.files_seen = len(entries)
    hashes = hash_cache(raw_dir, table)
    index = LedgerIndex(raw_dir, table, committed)
    duplicates_known = recorded_duplicates(raw_dir, table)
    jobs: list[_FileJob] = []
    first_in_run: dict[str, str] = {}  # content hash → source_file of its first file in this run
    copies: list[tuple[Landed, str]] = []  # (entry, content hash) of copies to record once their original is
    try:
        for number, entry in enumerate(entries, start=1):
            if not entry.regular:
                key = entry.rejection_key()
                if key in committed:
                    report.files_already_ingested += 1
                    continue
                reason = _not_regular_reason(entry.kind)
                report.files_rejected += 1
                report.rejected.append((entry.source_file, reason))
                say(f"{table}: rejected {entry.source_file}: {reason}")
                row = _ledger_row(
                    parser.feed,
                    entry.source_file,
                    key,
                    run_id,
                    bytes=entry.size,
                    delivered_at=_delivered_at(entry),
                    ingested_at=_now(),
                    status="rejected",
                    reason=reason,
                    reason_code=NOT_REGULAR_FILE,
                    reason_detail=entry.kind,
                    rows_loaded=0,
                    rows_quarantined=0,
                    rows_skipped=0,
                )
                _write_parquet(raw_dir / "ingest_ledger" / f"{table}-{key}.parquet", [row], LEDGER_COLUMNS)
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
                if original == entry.source_file or (digest, path_key(entry.source_file)) in duplicates_known:
                    report.files_already_ingested += 1
                else:
                    copies.append((entry, digest))
                continue
            if digest in first_in_run:  # a copy of a file earlier in this run: parsed once, recorded after it
                copies.append((entry, digest))
                continue
            first_in_run[digest] = entry.source_file
            jobs.append(_FileJob(table, number, len(entries), entry.path, entry.source_file, digest, raw_dir))
    finally:
        hashes.save()
    outcomes = _outcomes(jobs, parser, pseudonymiser, workers or ingest_workers(), say)
    try:
        for job, outcome in zip(jobs, outcomes, strict=True):
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
            ledger_row = _ledger_row(
                parser.feed,
                job.source_file,
                job.digest,
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
            # Written last: the commit marker of the file's data and quarantine files.
            _write_parquet(raw_dir / "ingest_ledger" / f"{table}-{job.digest}.parquet", [ledger_row], LEDGER_COLUMNS)
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
            reason = f"a byte-identical copy of {original}, already ingested: adds nothing"
            row = _ledger_row(
                parser.feed,
                entry.source_file,
                digest,
                run_id,
                bytes=entry.size,
                delivered_at=_delivered_at(entry),
                ingested_at=_now(),
                status="duplicate",
                reason=reason,
                reason_code=DUPLICATE_FILE,
                reason_detail=original,
                duplicate_of=original,
                rows_loaded=0,
                rows_quarantined=0,
                rows_skipped=delivered,  # every row of it is an exact re-delivery of the original's
            )
            name = f"{table}-{digest}.dup-{path_key(entry.source_file)}.parquet"
            _write_parquet(raw_dir / "ingest_ledger" / name, [row], LEDGER_COLUMNS)
            say(f"{table}: {entry.source_file} duplicates {original}: recorded, nothing added")
            report.files_duplicate += 1
            report.files_already_ingested += 1
    finally:
        index.save()
    say(report.summary())
    return report


def pending_files(table: str, landing: Path, raw_dir: Path) -> list[str]:
    """Keys of what a run of `table` would record now, in delivery order: content hashes of new files, of copies
    of committed files not yet recorded as duplicates, and rejection keys of new non-regular files. Files still
    being written are not pending yet. For the new-file sensors: this reads the ledger, never writes it."""
    parser = parser_for(table)
    committed = ingested_hashes(raw_dir, table)
    entries, _ = landed(landing, parser.folder, parser.extensions)
    cache = hash_cache(raw_dir, table)
    index = LedgerIndex(raw_dir, table, committed)
    duplicates_known = recorded_duplicates(raw_dir, table)
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
        if original != entry.source_file and (digest, path_key(entry.source_file)) not in duplicates_known:
            pending.append(f"{digest}.dup-{path_key(entry.source_file)}")
    cache.save()
    index.save()
    return pending
