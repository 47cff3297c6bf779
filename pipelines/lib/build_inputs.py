"""Whether a run may keep the statistics and R&D part of the build (`dbt_base`) from the published warehouse.

A daily run brings government-service and security files; statistics tables and R&D filings come a few times a
year. `dbt_base` (seeds, statistics, R&D: ~200 models and tests) rebuilt the same tables from the same inputs on
every run. A run now skips it when nothing it reads has changed since the published build, and says so.

What it reads is summed up in one fingerprint, recorded in the working build when `dbt_base` succeeds (so it is
published with the tables it describes, or not at all):

- the raw files of the statistics and R&D feeds (name, size, modification time of every Parquet file);
- the code: every file of the dbt project, the GX suites and the pipeline package (a deploy rebuilds it once);
- the versions of dbt, dbt-duckdb, DuckDB and GX.

A first build, `--full-refresh`, another dbt target than DuckDB, or a published file without a fingerprint
always build it. The comparison is always with the *published* file: a file ingested by a run that failed,
was killed or ran out of disk (its build may have recorded the new fingerprint, but was never published)
still makes the next run rebuild `dbt_base` (issue 28; tests/lib/test_build_inputs.py).

The same reading decides whether a run has anything to publish at all (`nothing_new`, issue 25): the publish
step records `release_fingerprint` (code, versions and parameters, no data) under build group `release`, and a run
whose published warehouse lacks no ledger entry (lib/months.py) and was published from the same fingerprint
builds nothing, publishes nothing and says so: the published file, and the rollback target, stay byte for byte.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path

import duckdb

from pipelines.lib.settings import DBT_PROJECT_DIR, PROJECT_ROOT, Settings

BASE_FEEDS = ("statistics", "rd_filings")  # the raw tables the models of `dbt_base` read (besides seeds)
INPUTS_TABLE = "ops.build_inputs"  # one row per build group: the fingerprint of what it was built from
BASE_GROUP = "dbt_base"
RELEASE_GROUP = "release"  # recorded by the publish step: the code and parameters of the published build
_CODE_FOLDERS = (DBT_PROJECT_DIR, PROJECT_ROOT / "pipelines")  # the quality suites are in pipelines/quality/
_SKIPPED_FOLDERS = {"target", "logs", "dbt_packages", "__pycache__", ".pytest_cache"}
_VERSIONED = ("dbt-core", "dbt-duckdb", "duckdb", "great-expectations")


def _code_files(folder: Path) -> list[Path]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_FOLDERS and not d.startswith("."))
        found.extend(Path(root) / name for name in sorted(files) if not name.endswith((".pyc", ".msgpack")))
    return found


def _add_code(digest, add) -> None:
    """The code (dbt project with its seeds, GX suites, pipeline package) and the versions that run it."""
    for folder in _CODE_FOLDERS:
        for path in _code_files(folder):
            add("code", path.relative_to(PROJECT_ROOT).as_posix())
            digest.update(path.read_bytes())
    for package in _VERSIONED:
        try:
            add("version", package, metadata.version(package))
        except metadata.PackageNotFoundError:
            add("version", package, None)


def release_fingerprint(settings: Settings) -> str:
    """A digest of the code and parameters a build is made with, not of its data (the ledger says what data it
    holds): the dbt project (its seeds are the parameters: catalogue, disclosure rules, plan targets), the GX
    suites and the pipeline package, the versions of dbt, DuckDB and GX, and the dbt target."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update("\x1f".join(str(p) for p in parts).encode() + b"\x1e")

    add("target", settings.dbt_target)
    _add_code(digest, add)
    return digest.hexdigest()


def base_fingerprint(settings: Settings) -> str:
    """A digest of everything `dbt_base` builds from; equal digests mean its tables would come out the same."""
    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        digest.update("\x1f".join(str(p) for p in parts).encode() + b"\x1e")

    for feed in BASE_FEEDS:
        folder = settings.raw_dir / feed
        files = sorted(folder.glob("*.parquet")) if folder.is_dir() else []
        add("raw", feed, len(files))
        for path in files:
            stat = path.stat()
            add(path.name, stat.st_size, stat.st_mtime_ns)
    _add_code(digest, add)
    return digest.hexdigest()


def record_fingerprint(build_path: Path, group: str, fingerprint: str, run_id: str) -> None:
    """Note in the working build what `group` was built from (published with it, or discarded with it)."""
    con = duckdb.connect(str(build_path))
    try:
        con.execute("create schema if not exists ops")
        con.execute(
            f"create table if not exists {INPUTS_TABLE} "
            "(build_group varchar primary key, fingerprint varchar, run_id varchar, built_at timestamptz)"
        )
        con.execute(f"delete from {INPUTS_TABLE} where build_group = ?", [group])
        con.execute(f"insert into {INPUTS_TABLE} values (?, ?, ?, now())", [group, fingerprint, run_id])
    finally:
        con.close()


def published_fingerprint(settings: Settings, group: str) -> str | None:
    """The fingerprint `group` was built from in the published warehouse (None: nothing published or recorded)."""
    if not settings.warehouse.exists():
        return None
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        (recorded,) = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = ?",
            [INPUTS_TABLE.split(".")[1]],
        ).fetchone()
        if not recorded:
            return None
        row = con.execute(f"select fingerprint from {INPUTS_TABLE} where build_group = ?", [group]).fetchone()
        return row[0] if row else None
    finally:
        con.close()


def base_is_current(settings: Settings) -> bool:
    """True when the published warehouse's statistics and R&D tables were built from exactly today's inputs."""
    if settings.full_refresh:
        return False
    if settings.dbt_target != "duckdb":
        return False  # other engines do not build on a copy of the published file
    published = published_fingerprint(settings, BASE_GROUP)
    return published is not None and published == base_fingerprint(settings)


def nothing_new(settings: Settings, pending: frozenset[str] | set[str]) -> bool:
    """True when a build would publish what is published already: something is published, the run is no
    `--full-refresh`, the published build lacks no ledger entry (`pending`, from lib/months.plan_build) and was
    made by the same code and parameters (`release_fingerprint`)."""
    if settings.full_refresh or pending or not settings.warehouse.exists():
        return False
    published = published_fingerprint(settings, RELEASE_GROUP)
    return published is not None and published == release_fingerprint(settings)
