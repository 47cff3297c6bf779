"""Write-audit-publish: atomic replace, stale WAL removal, rollback, and a failed build changes nothing."""

import hashlib
import json
import os

import duckdb
import pytest

from pipelines.lib.warehouse import (
    PublishError,
    clean_failed_build,
    copy_changed_blocks,
    prepare_build,
    publish,
    rollback,
)


def _write_build(settings, value: int) -> None:
    prepare_build(settings)
    con = duckdb.connect(str(settings.build_path))
    con.execute("create or replace table t as select ? as v", [value])
    con.close()


def _value(path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select v from t").fetchone()[0]
    finally:
        con.close()


def test_publish_then_rollback_and_back(settings):
    _write_build(settings, 1)
    first = publish(settings)
    assert first.previous is None and _value(settings.warehouse) == 1
    assert not settings.build_path.exists()

    _write_build(settings, 2)
    second = publish(settings)
    assert second.previous == settings.previous_path
    assert _value(settings.warehouse) == 2 and _value(settings.previous_path) == 1

    rollback(settings)
    assert _value(settings.warehouse) == 1
    rollback(settings)  # a second rollback undoes the first
    assert _value(settings.warehouse) == 2


def test_stale_wal_beside_published_file_is_removed(settings):
    _write_build(settings, 1)
    publish(settings)
    stale = settings.warehouse.with_name(settings.warehouse.name + ".wal")
    stale.write_bytes(b"not a wal for this file")
    _write_build(settings, 2)
    publish(settings)
    assert not stale.exists()
    assert _value(settings.warehouse) == 2


def test_a_build_that_is_never_published_leaves_the_file_byte_for_byte(settings):
    _write_build(settings, 1)
    publish(settings)
    before = hashlib.sha256(settings.warehouse.read_bytes()).hexdigest()
    _write_build(settings, 99)  # a run that builds, then fails its checks and never publishes
    assert hashlib.sha256(settings.warehouse.read_bytes()).hexdigest() == before
    assert _value(settings.warehouse) == 1


def test_nothing_to_publish_or_roll_back_is_a_clear_error(settings):
    with pytest.raises(PublishError, match="nothing to publish"):
        publish(settings)
    with pytest.raises(PublishError, match="no previous publish"):
        rollback(settings)


def test_readers_keep_working_while_a_new_file_is_published(settings):
    _write_build(settings, 1)
    publish(settings)
    reader = duckdb.connect(str(settings.warehouse), read_only=True)
    _write_build(settings, 2)
    publish(settings)
    assert reader.execute("select v from t").fetchone()[0] == 1  # the open reader finishes on the old file
    reader.close()
    assert _value(settings.warehouse) == 2


def test_a_staged_copy_becomes_the_build_only_when_adopted(settings):
    from pipelines.lib.warehouse import adopt_staged_build, ensure_build_prepared, stage_build_copy

    assert stage_build_copy(settings) is None  # nothing published yet: nothing to stage
    _write_build(settings, 1)
    publish(settings)
    _write_build(settings, 7)  # a failed run's working build, kept for inspection
    staged = stage_build_copy(settings)
    assert staged is not None and _value(staged) == 1
    assert _value(settings.build_path) == 7  # staging never touches the working build

    adopt_staged_build(settings, staged, "run-2")
    assert not staged.exists() and _value(settings.build_path) == 1
    con = duckdb.connect(str(settings.build_path))
    con.execute("create or replace table t as select 2 as v")  # the run's first dbt step writes …
    con.close()
    ensure_build_prepared(settings, "run-2")  # … and the next step of the same run keeps it
    assert _value(settings.build_path) == 2
    ensure_build_prepared(settings, "run-3")  # another run starts again from the published file
    assert _value(settings.build_path) == 1


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("target_size", [0, 3000, 10_000])
def test_copy_changed_blocks_makes_an_equal_file_and_writes_only_what_differs(tmp_path, target_size):
    source, target = tmp_path / "source", tmp_path / "target"
    data = bytes(range(256)) * 20  # 5 120 bytes: five blocks of 1 024
    source.write_bytes(data)
    stale = bytearray((data * 2)[:target_size])
    if target_size >= 3000:
        stale[1500] ^= 0xFF  # one byte changed in the second block
    target.write_bytes(bytes(stale))

    written = copy_changed_blocks(source, target, block_bytes=1024)

    assert target.read_bytes() == data
    expected = {0: 5120, 3000: 1024 + 3 * 1024, 10_000: 1024}[target_size]  # a short target gets its missing tail
    assert written == expected


def test_the_next_build_starts_from_the_spare_and_equals_the_published_file(settings):
    for value in (1, 2, 3):
        _write_build(settings, value)
        publish(settings)
    spare = settings.state_dir / "spare.duckdb"
    assert spare.exists() and _value(spare) == 1  # the file `previous.duckdb` held before the last publish
    published, previous = _sha(settings.warehouse), _sha(settings.previous_path)

    build = prepare_build(settings)

    assert not spare.exists()  # it became the working file
    assert _sha(build) == published and _value(build) == 3
    assert _sha(settings.warehouse) == published and _sha(settings.previous_path) == previous


def test_a_spare_that_shares_its_inode_with_another_file_is_never_written_in_place(settings):
    for value in (1, 2):
        _write_build(settings, value)
        publish(settings)
    spare = settings.state_dir / "spare.duckdb"
    spare.unlink(missing_ok=True)
    os.link(settings.previous_path, spare)  # e.g. restored by hand with `ln`
    previous = _sha(settings.previous_path)

    build = prepare_build(settings)

    assert _sha(build) == _sha(settings.warehouse)
    assert _sha(settings.previous_path) == previous and _value(settings.previous_path) == 1


_READER = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
query = "select count(*), sum(x), sum(hash(x)) from t"
first = con.execute(query).fetchone()
print("open", flush=True)
sys.stdin.readline()  # held open until the test has published twice and started the next build
print(json.dumps([first, con.execute(query).fetchone()]), flush=True)
"""


def _write_doubles(settings, seed: int) -> None:
    """A build whose table is stored with ALP compression (doubles), the segment type a rewrite corrupted."""
    prepare_build(settings)
    con = duckdb.connect(str(settings.build_path))
    con.execute("create or replace table t as select (i * ? + 0.125)::double as x from range(300000) r(i)", [seed])
    con.close()


def test_a_reader_holding_an_old_publish_open_is_never_written_under(settings):
    """Issue 28: a read-only reader that kept its connection across two publishes read "Corrupted ALP segment",
    and the third run failed on its lock, because the spare it held was rewritten in place."""
    import subprocess
    import sys

    _write_doubles(settings, 1)
    publish(settings)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(settings.warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "open"
        for seed in (2, 3):  # two publishes: the reader's file becomes previous, then the spare
            _write_doubles(settings, seed)
            publish(settings)
        _write_doubles(settings, 4)  # the third run starts from the spare the reader still holds, and publishes
        publish(settings)
        reader.stdin.write("\n")
        reader.stdin.flush()
        before, after = json.loads(reader.stdout.readline())
    finally:
        reader.kill()
    assert after == before  # the reader still reads the file it opened, whole
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    (total,) = con.execute("select sum(x) from t").fetchone()
    con.close()
    assert total == pytest.approx(sum(i * 4 + 0.125 for i in range(300000)))


def _killed_after(real, calls: dict, renames: int):
    """`real` (os.replace or os.link), as if the process were killed once `renames` of them were done."""

    def call(*args):
        calls["n"] += 1
        if calls["n"] > renames:
            raise KeyboardInterrupt("killed")
        return real(*args)

    return call


def test_a_kill_between_the_publish_renames_leaves_a_rollback_target(settings, monkeypatch):
    """Every rename of a publish is interrupted in turn: `previous.duckdb` (or, when the kill came after it
    became the published file, the spare) is always there for `rollback`, and it holds the publish before."""
    for value in (1, 2):
        _write_build(settings, value)
        publish(settings)
    real_replace, real_link = os.replace, os.link
    for interrupted in range(4):
        _write_build(settings, 3)
        calls = {"n": 0}
        monkeypatch.setattr(os, "replace", _killed_after(real_replace, calls, interrupted))
        monkeypatch.setattr(os, "link", _killed_after(real_link, calls, interrupted))
        with pytest.raises(KeyboardInterrupt):
            publish(settings)
        monkeypatch.setattr(os, "replace", real_replace)
        monkeypatch.setattr(os, "link", real_link)
        assert _value(settings.warehouse) == 2  # nothing was published
        rollback(settings)
        assert _value(settings.warehouse) == 1, f"kill after {interrupted} renames"
        rollback(settings)  # and back
        assert _value(settings.warehouse) == 2


def test_clean_failed_build_frees_what_a_failed_run_left(settings):
    _write_build(settings, 1)
    publish(settings)
    _write_build(settings, 2)  # a run that failed (its checks, or the disk filled during dbt)
    spill = settings.state_dir / "build.duckdb.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"x" * 1000)
    removed = clean_failed_build(settings)
    assert "build.duckdb" in removed and "build.duckdb.tmp" in removed
    assert not settings.build_path.exists() and not spill.exists()
    assert _value(settings.warehouse) == 1 and clean_failed_build(settings) == []


def test_a_new_build_overwrites_a_failed_one_and_its_spill_files(settings):
    """The Dagster path: its first dbt step's copy replaces what a failed build (a full disk) left."""
    _write_build(settings, 1)
    publish(settings)
    _write_build(settings, 2)  # failed, never published
    spill = settings.state_dir / "build.duckdb.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"x" * 1000)
    build = prepare_build(settings)
    assert not spill.exists() and _value(build) == 1
