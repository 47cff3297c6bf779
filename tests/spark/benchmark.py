"""Time `dbt build` (every seed and model) on DuckDB and on Spark over one raw layer, one engine after the other.

    python -m tests.spark.benchmark --size district --work /tmp/innostat-bench
    python -m tests.spark.benchmark --raw /tmp/innostat-bench/raw --work /tmp/innostat-bench   # reuse a raw layer

Prints the machine, both wall times and whether marts.indicator_values agrees (benchmarks/RESULTS.md,
"Spark vs DuckDB"). Keep --work outside the repository: the district size is about 1 GB of landing files.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tests.spark.engines import MODELS_AND_SEEDS, ROOT, SIZES, Build, compare_table, generate, ingest, java_version


def _machine() -> str:
    memory_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, {memory_kib / 1024 / 1024:.1f} GiB, {platform.platform()}, "
        f"{java_version()}, load average before the builds {load[0]:.2f}"
    )


def _count(path: Path, pattern: str) -> int:
    return sum(1 for _ in path.rglob(pattern))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="district")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (outside the repository)")
    parser.add_argument("--raw", type=Path, help="an existing raw layer to build from (skips generate + ingest)")
    parser.add_argument("--repeat", type=int, default=1, help="builds per engine (the fastest is reported)")
    args = parser.parse_args(argv)

    work = args.work.resolve()
    raw_dir = args.raw.resolve() if args.raw else work / "raw"
    if not args.raw:
        started = time.monotonic()
        landing = generate(work / "landing", args.size)
        print(f"generated {args.size} in {time.monotonic() - started:.0f} s", flush=True)
        started = time.monotonic()
        ingest(landing, raw_dir)
        print(f"ingested in {time.monotonic() - started:.0f} s", flush=True)
    con = duckdb.connect()
    rows = {
        table.name: con.execute(f"select count(*) from read_parquet('{table}/*.parquet')").fetchall()[0][0]
        for table in sorted(raw_dir.iterdir())
        if table.is_dir()
    }
    con.close()
    print(f"raw layer: {_count(raw_dir, '*.parquet')} Parquet files, {rows} rows", flush=True)
    print(f"machine: {_machine()}", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    print(f"commit: {commit.stdout.strip()} (plus uncommitted changes if any), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")

    best: dict[str, Build] = {}
    for attempt in range(args.repeat):
        for target in ("duckdb", "spark"):
            build = Build(target, work / f"{target}-{attempt}").start(raw_dir, MODELS_AND_SEEDS).wait(timeout=3600)
            print(f"dbt build on {target}: {build.seconds:.1f} s (log {build.log})", flush=True)
            if target not in best or build.seconds < best[target].seconds:
                best[target] = build
    diff = compare_table(best["duckdb"].duckdb_path, best["spark"].spark_dir, "indicator_values")
    print(
        f"indicator_values: {diff.duckdb_rows} rows on DuckDB, {diff.spark_rows} on Spark, "
        f"{'identical' if diff.equal else 'DIFFERENT'} (largest relative difference {diff.max_relative_difference:.1e})"
    )
    print(f"RESULT duckdb {best['duckdb'].seconds:.1f} s, spark {best['spark'].seconds:.1f} s")
    return 0 if diff.equal else 1


if __name__ == "__main__":
    raise SystemExit(main())
