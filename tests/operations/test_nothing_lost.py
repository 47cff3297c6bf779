"""Nothing is lost, whatever happens (issue 28): after a sequence of runs that fail in every way — a bad file,
a kill at a random point, a disk that fills during dbt — the next successful run publishes exactly what a fresh
full build of the same landing zone publishes. The Dagster build sensor plans from the same state.

Each `innostat run` is a real process (real ingestion, dbt, checks, publish) on the tiny generated sample; files
arrive in delivery order in batches whose cut points, and the moment of the kill, come from a seeded random.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipelines.lib.months import MONTHLY_TABLES, PLAN_TAG, ledger_hashes, load_plan, plan_build, published_ledger
from pipelines.lib.settings import PROJECT_ROOT, Settings
from tests.conftest import TEST_PII_KEY
from tests.helpers import rows

SEED = 20261206
MARTS = {
    "indicator_values": "select *, round(value, 9) as v from marts.indicator_values",
    "fct_gov_service_cases": "select * from marts.fct_gov_service_cases",
    "quarantine": "select * exclude (ingested_at) from marts.quarantine",
    "indicator_vintages": "select * from marts.indicator_vintages",
}
_DROP_FLOAT = {"indicator_values": "value"}  # compared rounded (`v`): sums may add up in another order


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INNOSTAT_")}
    env.update(
        INNOSTAT_PII_KEY=TEST_PII_KEY,
        DAGSTER_HOME=str(tmp / "dagster_home"),
        DAGSTER_DISABLE_TELEMETRY="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="False",
        GX_ANALYTICS_ENABLED="false",
    )
    (tmp / "dagster_home").mkdir(exist_ok=True)
    return env


def innostat(tmp: Path, *args: str, wait: bool = True):
    """`innostat ARGS` as its own process (as cron or an operator starts it)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", *args],
        cwd=PROJECT_ROOT,
        env=_env(tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    if not wait:
        return process
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


def run(tmp: Path, landing: Path, warehouse: Path, **kwargs):
    return innostat(tmp, "run", "--landing", str(landing), "--warehouse", str(warehouse), **kwargs)


def processes_on(warehouse: Path, name: str) -> list[int]:
    """Live processes whose command line mentions `name` and whose environment names this warehouse."""
    found = []
    needle = f"INNOSTAT_WAREHOUSE={warehouse}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            state = next(line for line in (entry / "status").read_text().splitlines() if line.startswith("State:"))
        except (OSError, StopIteration):
            continue
        if name.encode() in cmdline and needle in environ.split(b"\0") and "zombie" not in state:
            found.append(int(entry.name))
    return found


def published_marts(warehouse: Path) -> dict[str, list[tuple]]:
    marts = {}
    for table, sql in MARTS.items():
        if table in _DROP_FLOAT:
            sql = sql.replace("*,", f"* exclude ({_DROP_FLOAT[table]}),")
        marts[table] = sorted(rows(warehouse, sql), key=repr)
    return marts


def deliver(files: list[Path], source: Path, landing: Path) -> None:
    """Files land in the landing zone as source systems drop them (same content and modification time)."""
    for path in files:
        target = landing / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


@pytest.fixture(scope="module")
def fresh(generated, tmp_path_factory):
    """A fresh full build of the whole landing zone: what every sequence must end up publishing."""
    landing, _ = generated
    tmp = tmp_path_factory.mktemp("fresh")
    warehouse = tmp / "wh" / "innostat.duckdb"
    code, output = run(tmp, landing, warehouse)
    assert code == 0, output
    return published_marts(warehouse)


def _tmpfs(mount_point: Path, megabytes: int) -> str | None:
    """Mount a small tmpfs (None), or say why not (the disk-full step then does not run)."""
    mount_point.mkdir(parents=True)
    if os.geteuid() != 0 or not shutil.which("mount"):
        return "not root: no tmpfs can be mounted for the disk-full step"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    return None if done.returncode == 0 else f"mount -t tmpfs failed: {done.stderr.strip()}"


def test_nothing_is_lost_after_a_bad_file_a_kill_and_a_full_disk(generated, fresh, tmp_path):
    rng = random.Random(SEED)
    source, _ = generated
    files = sorted((p for p in source.rglob("*") if p.is_file()), key=lambda p: (p.stat().st_mtime, str(p)))
    cuts = sorted(rng.sample(range(len(files) // 2, len(files) - 1), 3))
    batches = [files[: cuts[0]], files[cuts[0] : cuts[1]], files[cuts[1] : cuts[2]], files[cuts[2] :]]
    landing = tmp_path / "landing"
    landing.mkdir()
    disk = tmp_path / "disk"
    no_tmpfs = _tmpfs(disk, 160)
    warehouse = disk / "innostat.duckdb"
    settings = Settings.resolve(landing, warehouse)
    try:
        # 1. a good run
        deliver(batches[0], source, landing)
        code, output = run(tmp_path, landing, warehouse)
        assert code == 0, output
        assert published_ledger(settings) == ledger_hashes(settings.raw_dir)

        # 2. new files arrive with an empty one: ingested, but the run fails its checks and does not publish
        deliver(batches[1], source, landing)
        empty = landing / "gov_services" / "empty_2021-12-31.jsonl"
        empty.write_text("")
        code, output = run(tmp_path, landing, warehouse)
        assert code == 1 and "empty" in output, output
        empty.unlink()  # the operator removes it; the landing zone is the generated one again at the end
        pending = plan_build(settings).pending
        assert pending  # ingested, not published: the next build must rebuild them
        _dagster_build_follows(settings, pending)

        # 3. the disk fills up during dbt; the run after it removes the failed build itself
        deliver(batches[2], source, landing)
        if no_tmpfs is None:
            filler = disk / "filler"
            _fill(disk, filler, leave_bytes=_room_for_staging_only(settings))
            code, output = run(tmp_path, landing, warehouse)
            assert code == 1, output
            build_phase = output[output.index("[2/2] build") :]  # it failed in dbt, not before
            assert "No space left on device" in build_phase and "dbt build failed" in build_phase, output
            filler.unlink()
            assert settings.build_path.exists()  # the failed build, which the next run removes itself

        # 4. the next run is killed at a random point; no dbt survives it
        deliver(batches[3], source, landing)
        process = run(tmp_path, landing, warehouse, wait=False)
        time.sleep(rng.uniform(4, 30))
        os.kill(process.pid, signal.SIGKILL)
        killed_output, _ = process.communicate()
        deadline = time.monotonic() + 10
        while processes_on(warehouse, "dbt") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_on(warehouse, "dbt") == [], "a dbt process outlived the run that started it"

        # 5. a good run: it publishes what a fresh full build of the same landing zone publishes
        code, output = run(tmp_path, landing, warehouse)
        assert code == 0, output
        if no_tmpfs is None:  # the failed build was removed by the run after it (killed or this one)
            assert "removed what a failed run left: build.duckdb" in killed_output + output
        assert not plan_build(settings).pending
        assert isinstance(_sensor_tick(settings), dg.SkipReason)  # Dagster sees nothing to build either
        got = published_marts(warehouse)
        for table, expected in fresh.items():
            assert got[table] == expected, f"marts.{table} differs from a fresh build"
    finally:
        for pid in processes_on(warehouse, "python") + processes_on(warehouse, "dbt"):
            os.kill(pid, signal.SIGKILL)  # only processes this test started: they name its warehouse
        if no_tmpfs is None:
            subprocess.run(["umount", "-l", str(disk)], check=False)
    if no_tmpfs is not None:
        warnings.warn(f"the disk-full step did not run: {no_tmpfs}", stacklevel=1)


def _room_for_staging_only(settings: Settings) -> int:
    """Free space to leave for a run: enough for ingestion and the copy of the published file the build starts
    from (none when the spare is there: it is rewritten in place), not for what dbt then writes."""
    staged = settings.state_dir / "build.staged.duckdb"
    copy = 0 if settings.spare_path.exists() else settings.warehouse.stat().st_size
    copy -= staged.stat().st_size if staged.exists() else 0
    # what the run removes first (a failed build) gives it room too
    freed = sum(p.stat().st_size for p in settings.state_dir.glob("build.duckdb*") if p.is_file())
    return max(max(copy, 0) + 1536 * 1024 - freed, 0)


def _fill(disk: Path, filler: Path, leave_bytes: int) -> None:
    free = shutil.disk_usage(disk).free
    with open(filler, "wb") as out:
        out.truncate(0)
        chunk = b"\0" * (1024 * 1024)
        remaining = max(free - leave_bytes, 0)
        while remaining > 0:
            written = out.write(chunk[: min(len(chunk), remaining)])
            remaining -= written


def _sensor_tick(settings: Settings, instance: dg.DagsterInstance | None = None):
    from pipelines.definitions import defs
    from pipelines.defs.operations.automation import build_after_ingest
    from pipelines.defs.resources import WarehouseResource

    resource = WarehouseResource(landing=str(settings.landing), warehouse=str(settings.warehouse))
    if instance is None:
        with dg.DagsterInstance.ephemeral() as ephemeral:
            return _sensor_tick(settings, ephemeral)
    context = dg.build_sensor_context(instance=instance, resources={"warehouse": resource}, definitions=defs())
    return build_after_ingest(context)


def _dagster_build_follows(settings: Settings, pending: frozenset[str]) -> None:
    """The Dagster path plans from the same state: after a failed run (no successful ingest to follow), the
    build sensor asks for every month of the files the published warehouse lacks, and records the plan the
    publish step will write; while an ingest run is under way it waits."""
    request = _sensor_tick(settings)
    assert isinstance(request, dg.RunRequest), request
    con = duckdb.connect()
    months = set()
    for table, column in MONTHLY_TABLES.items():
        for digest in pending:
            path = settings.raw_dir / table / f"{digest}.parquet"
            if path.exists():
                sql = f"select distinct strftime({column}, '%Y-%m') from '{path}'"
                months |= {month for (month,) in con.execute(sql).fetchall() if month}
    con.close()
    first, last = request.tags["dagster/asset_partition_range_start"], request.tags["dagster/asset_partition_range_end"]
    assert months and first <= min(months) and max(months) <= last
    assert load_plan(settings, request.tags[PLAN_TAG]) == ledger_hashes(settings.raw_dir)
    with dg.DagsterInstance.ephemeral() as instance:
        from dagster._core.storage.dagster_run import DagsterRun

        instance.add_run(DagsterRun(job_name="ingest", run_id="0" * 36, status=dg.DagsterRunStatus.STARTED))
        assert isinstance(_sensor_tick(settings, instance), dg.SkipReason)
