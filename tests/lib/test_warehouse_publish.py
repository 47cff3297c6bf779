"""Write-audit-publish: atomic replace, stale WAL removal, rollback, and a failed build changes nothing."""

import hashlib
import os

import duckdb
import pytest

from pipelines.lib.warehouse import PublishError, copy_changed_blocks, prepare_build, publish, rollback


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
