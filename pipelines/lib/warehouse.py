"""Write-audit-publish of the DuckDB warehouse.

A run builds into `<warehouse>.state/build.duckdb`. Only after every blocking check passed is that file closed,
checkpointed and renamed onto the published path in one `os.replace`: a reader sees the old file or the new one,
never a half-built one. The file it replaces is kept as `previous.duckdb` for `innostat rollback`.

Each run starts its working file as a copy of the published one. At city size that file is 5 GB, and writing it
took a third of a daily run on a disk that writes 150 MB/s. The file `previous.duckdb` replaces is therefore kept
as `spare.duckdb`, and the next run's copy starts from it and rewrites only the blocks that differ (a day's run
changes about 5 % of them). The spare is only a head start: deleting it costs the next run a full copy.

Readers are never harmed. The spare was published once, and a reader that opened the warehouse then may still
hold it open (a statistician's session across two publishes). Such a file is never written: every DuckDB
connection holds a lock on its file, so the spare is reused only while no process has it open (probed with an
exclusive lock that is kept while it is rewritten); otherwise its name is dropped (the reader keeps its file)
and the copy is written to a new file. The publish renames keep a rollback target at every step, and what a
failed or killed run left half-built is removed by the next run (`clean_failed_build`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.lib.settings import Settings


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for work on the build (dbt's profile reads the same variable): the whole run stays
    inside its budget (benchmarks/), and bigger sorts and joins spill to disk instead."""
    return os.environ.get("INNOSTAT_DUCKDB_MEMORY_LIMIT", "2GB")


class PublishError(RuntimeError):
    pass


@dataclass(frozen=True)
class PublishResult:
    published: Path
    previous: Path | None
    bytes: int


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)


COPY_BLOCK_BYTES = 256 * 1024  # DuckDB's block size: a changed block is rewritten whole, an unchanged one not at all


def copy_changed_blocks(source: Path, target: Path, block_bytes: int = COPY_BLOCK_BYTES) -> int:
    """Make `target` byte-for-byte equal to `source`, writing only the blocks that differ; returns bytes written.

    Reading is cheap here and writing is not: both files are read (mostly from the page cache), and the few
    changed blocks are written in place, like `rsync --inplace` on one machine.
    """
    size = source.stat().st_size
    written = 0
    src = os.open(source, os.O_RDONLY)
    try:
        dst = os.open(target, os.O_RDWR)
        try:
            for offset in range(0, size, block_bytes):
                wanted = os.pread(src, block_bytes, offset)
                if os.pread(dst, len(wanted), offset) != wanted:
                    os.pwrite(dst, wanted, offset)
                    written += len(wanted)
            os.ftruncate(dst, size)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    shutil.copystat(source, target)
    return written


@contextlib.contextmanager
def _unused(path: Path):
    """Yield True, holding an exclusive lock on `path`, when no process has it open through DuckDB (every DuckDB
    connection, read-only ones too, holds a lock on its file); yield False when one does."""
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def copy_published(settings: Settings, destination: Path) -> Path:
    """Make `destination` a copy of the published file, starting from the spare (or a leftover `destination`)
    when there is one; a file that shares its inode with another name, or that a reader still has open, is never
    written in place."""
    _remove(_wal(destination))
    spare = settings.spare_path
    if spare.exists():
        _remove(destination)
        os.replace(spare, destination)
    if destination.exists() and destination.stat().st_nlink == 1:
        with _unused(destination) as unused:
            if unused:
                copy_changed_blocks(settings.warehouse, destination)
                return destination
    _remove(destination)  # a reader that holds it keeps its file; the name gets a new one
    shutil.copy2(settings.warehouse, destination)
    return destination


def _spill(settings: Settings) -> Path:
    return settings.state_dir / "build.duckdb.tmp"  # DuckDB's temp_directory beside the build file


def _remove_spill(settings: Settings) -> bool:
    if not _spill(settings).is_dir():
        return False
    shutil.rmtree(_spill(settings), ignore_errors=True)
    return True


def prepare_build(settings: Settings) -> Path:
    """Start the working file from the published one (so a partial build keeps the other tables); a failed
    build's file is overwritten and its spill files removed."""
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    _remove_spill(settings)
    build = settings.build_path
    if settings.warehouse.exists():
        copy_published(settings, build)
    else:
        _remove(build)
        _remove(_wal(build))
    return build


def _build_marker(settings: Settings) -> Path:
    return settings.state_dir / "build.run_id"


def ensure_build_prepared(settings: Settings, run_id: str) -> Path:
    """Prepare the working file once per run, whichever build step of the run comes first."""
    marker = _build_marker(settings)
    if settings.build_path.exists() and marker.exists() and marker.read_text(encoding="utf-8") == run_id:
        return settings.build_path
    build = prepare_build(settings)
    marker.write_text(run_id, encoding="utf-8")
    return build


def stage_build_copy(settings: Settings) -> Path | None:
    """Copy the published file to `<state>/build.staged.duckdb` ahead of a build (None when nothing is
    published). The copy never touches the working build, which a failing check may be writing meanwhile; it
    becomes the working build only through `adopt_staged_build`."""
    if not settings.warehouse.exists():
        return None
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return copy_published(settings, settings.state_dir / "build.staged.duckdb")


def adopt_staged_build(settings: Settings, staged: Path, run_id: str) -> Path:
    """Make a staged copy the working build of the build run `run_id` (its dbt steps then skip the copy)."""
    build = settings.build_path
    _remove(build)
    _remove(_wal(build))
    os.replace(staged, build)
    _build_marker(settings).write_text(run_id, encoding="utf-8")
    return build


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file so the renamed file is complete on its own."""
    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if _wal(path).exists():
        raise PublishError(f"{_wal(path)} survived a checkpoint; another process still has the build open")


BUILD_LEFTOVERS = ("build.duckdb", "build.duckdb.wal", "build.run_id", ".previous.duckdb.tmp", ".rollback.duckdb.tmp")


def clean_failed_build(settings: Settings) -> list[str]:
    """Remove what an earlier run that did not publish left behind (its working build, DuckDB's spill folder,
    temporary publish links); returns their names. Called by a run holding the warehouse's run lock, before it
    starts: a disk that filled during dbt is then freed by the next run, not by hand. The staged copy and the
    spare stay: they are the next copy's head start, and never a published file that someone reads. (A Dagster
    build needs no call: its first dbt step's `prepare_build` writes the copy over the failed build.)"""
    removed = []
    for name in BUILD_LEFTOVERS:
        path = settings.state_dir / name
        if path.exists():
            _remove(path)
            if name != _build_marker(settings).name:  # it alone outlives a published build: nothing failed
                removed.append(name)
    if _remove_spill(settings):
        removed.append(_spill(settings).name)
    return removed


def _keep_previous(settings: Settings) -> Path | None:
    """Make the published file the rollback target and the old target the spare, so that a kill between any two
    renames leaves `previous.duckdb` in place (only the spare may be missing, which costs a full copy)."""
    if not settings.warehouse.exists():
        return None
    tmp = settings.state_dir / ".previous.duckdb.tmp"
    _remove(tmp)
    _remove(settings.spare_path)  # a reader that holds the old spare keeps its file
    if settings.previous_path.exists():
        with contextlib.suppress(OSError):  # no hard links here: no spare, the next run copies the whole file
            os.link(settings.previous_path, settings.spare_path)  # the next run's copy starts from it
    try:
        os.link(settings.warehouse, tmp)  # same inode: costs nothing, survives the replace below
    except OSError:
        shutil.copy2(settings.warehouse, tmp)
    os.replace(tmp, settings.previous_path)
    return settings.previous_path


def publish(settings: Settings) -> PublishResult:
    """Atomically replace the published file with the checked build."""
    build = settings.build_path
    if not build.exists():
        raise PublishError(f"nothing to publish: {build} does not exist; run `innostat run` first")
    _checkpoint(build)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    previous = _keep_previous(settings)
    # A stale WAL beside the served path would be replayed onto the new file ("WAL does not match").
    _remove(_wal(settings.warehouse))
    size = build.stat().st_size
    os.replace(build, settings.warehouse)
    return PublishResult(published=settings.warehouse, previous=previous, bytes=size)


def rollback(settings: Settings) -> Path:
    """Swap the published file with the one it replaced; running it twice restores the newer one.

    A publish killed between its renames can leave `previous.duckdb` as the published file itself; the one
    before it is then the spare, and that is what a rollback puts back."""
    previous = settings.previous_path
    if (
        previous.exists()
        and settings.warehouse.exists()
        and os.path.samefile(previous, settings.warehouse)
        and settings.spare_path.exists()
    ):
        os.replace(settings.spare_path, previous)
    if not previous.exists():
        raise PublishError(f"no previous publish to roll back to ({previous} does not exist)")
    tmp = settings.state_dir / ".rollback.duckdb.tmp"
    _remove(tmp)
    if settings.warehouse.exists():
        os.link(settings.warehouse, tmp)
    _remove(_wal(settings.warehouse))
    os.replace(previous, settings.warehouse)
    if tmp.exists():
        os.replace(tmp, previous)
    return settings.warehouse
