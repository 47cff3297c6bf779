"""Discovery of a feed's landed files: which are ready (settled, regular), in delivery order, and their content
hashes.

Discovery (`landed`) skips temporary names and files still being written (`IngestSettings.settle_seconds`). A
symbolic link or any other non-regular file is never opened: it is returned as such, for the runner to reject
unread under a key made of its path and kind (`Landed.rejection_key`).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat as stat_module
import time
from dataclasses import dataclass
from pathlib import Path


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


# Names that are still being written by their source system (or an editor's lock and backup files).
_TEMPORARY_SUFFIXES = (".tmp", ".temp", ".part", ".partial", ".filepart", ".crdownload", ".download", ".swp")


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


def file_kind(mode: int) -> str:
    """What a file of mode `mode` is: "file" (regular), "symbolic link", "FIFO", "socket", "directory" or "device"."""
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
    landing: Path, folder: str, extensions: tuple[str, ...], *, settle: float
) -> tuple[list[Landed], list[Landed]]:
    """(files ready to ingest, files still changing), each in delivery order: modification time, ties broken by
    name.

    Nothing below the feed folder is followed: a symbolic link (to a file or a directory) or another non-regular
    file with the feed's extension is returned as such, for the runner to reject unread. Temporary names and
    dot-folders are skipped. A regular file is ready once neither its content nor its metadata changed for
    `settle` seconds: its ctime, which every write, rename and touch moves, is that
    old (and its mtime, unless it lies in the future)."""
    root = landing / folder
    if not root.is_dir():
        return [], []
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
            kind = "directory link" if name in links else file_kind(info.st_mode)
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
            atomic_write_text(self.path, json.dumps(self.entries))


def hash_cache(raw_dir: Path, table: str) -> HashCache:
    """The table's cache of content hashes, beside the raw layer: ingestion and the new-file sensors share it."""
    return HashCache(hash_cache_dir(raw_dir) / f"{table}.json")


def hash_cache_dir(raw_dir: Path) -> Path:
    """Caches beside the raw layer (never part of it): content hashes and the ledger index."""
    return raw_dir.parent / "hash_cache"


def atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
