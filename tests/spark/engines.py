"""Build the dbt project on DuckDB and on Spark from one raw layer, and read back what each engine published.

Shared by the equivalence test (tests/spark/test_spark_equivalence.py) and the benchmark
(`python -m tests.spark.benchmark`). Every build runs `dbt` in its own process with its own target and log
folders, so the two engines can build side by side and never touch dbt_project/target (Dagster's manifest).
Spark's tables are read from the Parquet files Spark wrote into its warehouse folder: the real Spark output.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")

# Landing-zone sizes (arguments of pipelines.generate.generate_landing, i.e. `innostat generate`).
SIZES = {
    # the tiny sample of the end-to-end tests: two years, every messy case, a few thousand rows per feed
    "tiny": {"seed": 7, "scale": 0.002, "years": (2020, 2021)},
    # one district's real volume over the 2019-2022 plan period
    "district": {"seed": 20200101, "scale": 1.0, "years": (2019, 2022)},
}
# every model and seed, no data or unit tests
MODELS_AND_SEEDS = ["--exclude", "resource_type:test", "resource_type:unit_test"]
TEST_PII_KEY = b"spark-equivalence-test-key"


def java_version() -> str | None:
    """The first line of `java -version`, or None when no Java runtime is on PATH."""
    java = shutil.which("java")
    if java is None:
        return None
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[0] if lines else None


def java_major(version_line: str | None) -> int:
    match = re.search(r'version "(\d+)', version_line or "")
    return int(match.group(1)) if match else 0


def generate(landing: Path, size: str) -> Path:
    from pipelines.generate import generate_landing

    generate_landing(landing, **SIZES[size])
    return landing


def ingest(landing: Path, raw_dir: Path) -> None:
    """The real ingestion, once, into the raw Parquet layer both engines read."""
    from pipelines.ingest.runner import ingest_table
    from pipelines.lib.feeds import RAW_TABLES
    from pipelines.lib.pseudonymise import Pseudonymiser

    pseudonymiser = Pseudonymiser(TEST_PII_KEY)
    for table in RAW_TABLES:
        report = ingest_table(table, landing, raw_dir, pseudonymiser, progress=lambda _message: None)
        assert not report.errors, f"{table}: {report.errors}"


@dataclass
class Build:
    """One `dbt build` in its own process; `work` holds its target, logs, output log and warehouse."""

    target: str
    work: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    started: float = 0.0
    seconds: float = 0.0

    @property
    def duckdb_path(self) -> Path:
        return self.work / "build.duckdb"

    @property
    def spark_dir(self) -> Path:
        return self.work / "spark"

    @property
    def log(self) -> Path:
        return self.work / "dbt.log"

    def env(self, raw_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("INNOSTAT_")}
        env.update(
            INNOSTAT_DBT_TARGET=self.target,
            INNOSTAT_RAW_DIR=str(raw_dir),
            INNOSTAT_BUILD_PATH=str(self.duckdb_path),
            INNOSTAT_SPARK_DIR=str(self.spark_dir),
            SPARK_LOCAL_IP="127.0.0.1",
            DBT_SEND_ANONYMOUS_USAGE_STATS="False",
            DBT_VERSION_CHECK="False",
            DO_NOT_TRACK="1",
        )
        for name in ("INNOSTAT_SPARK_THREADS", "INNOSTAT_SPARK_DRIVER_MEMORY", "INNOSTAT_SPARK_JAVA_OPTS"):
            if name in os.environ:
                env[name] = os.environ[name]
        env.update(self.extra_env)
        return env

    def start(self, raw_dir: Path, args: list[str]) -> Build:
        self.work.mkdir(parents=True, exist_ok=True)
        command = [
            str(DBT),
            "build",
            "--project-dir",
            str(DBT_PROJECT),
            "--profiles-dir",
            str(DBT_PROJECT),
            "--target-path",
            str(self.work / "target"),
            "--log-path",
            str(self.work / "logs"),
            *args,
        ]
        self.started = time.monotonic()
        with open(self.log, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                command, cwd=DBT_PROJECT, env=self.env(raw_dir), stdout=log, stderr=subprocess.STDOUT
            )
        return self

    def wait(self, timeout: float) -> Build:
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"dbt build on {self.target} took over {timeout:.0f} s; log: {self.log}") from None
        self.seconds = time.monotonic() - self.started
        if code != 0:
            tail = "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-40:])
            raise AssertionError(f"dbt build on {self.target} failed (exit {code}); last lines of {self.log}:\n{tail}")
        return self


# On a few thousand rows the JVM's optimising compiler costs more than it saves: C1 only cuts a tiny Spark build
# by about a quarter. Not for real volumes (the benchmark runs Spark with its default JVM). C1 alone gets a 48 MB
# code cache by default, which a whole build fills ("Out of space in CodeCache for adapters"): give it room.
QUICK_JVM = {"INNOSTAT_SPARK_JAVA_OPTS": "-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m"}


def build_both(raw_dir: Path, work: Path, args: list[str], timeout: float = 900) -> tuple[Build, Build]:
    """DuckDB and Spark side by side (Spark spends most of its time waiting on its own JVM)."""
    duck = Build("duckdb", work / "duckdb").start(raw_dir, args)
    spark = Build("spark", work / "spark", extra_env=dict(QUICK_JVM)).start(raw_dir, args)
    return duck.wait(timeout), spark.wait(timeout)


def spark_table_files(spark_dir: Path, schema: str, table: str) -> str:
    """Glob of the Parquet files Spark wrote for schema.table (a managed table under its warehouse folder)."""
    folder = spark_dir / "warehouse" / f"{schema}.db" / table
    if not any(folder.glob("*.parquet")):
        raise AssertionError(f"Spark wrote no Parquet file for {schema}.{table} under {folder}")
    return f"{folder}/*.parquet"


NOT_DBT_MODELS = {"data_quality", "releases", "indicator_value_history"}  # written by the publish step


def mart_tables(duckdb_path: Path) -> list[str]:
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        rows = con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE' order by table_name"
        ).fetchall()
    finally:
        con.close()
    # marts.data_quality is the quality gate's table, written after dbt; a bare dbt build on DuckDB holds only the
    # empty placeholder that reporting.rpt_data_quality_checks creates (the reporting views are DuckDB-only)
    return [name for (name,) in rows if name not in NOT_DBT_MODELS]


@dataclass
class TableDiff:
    table: str
    duckdb_rows: int
    spark_rows: int
    column_mismatch: str = ""
    only_duckdb: int = 0
    only_spark: int = 0
    value_mismatches: list[str] | None = None
    max_relative_difference: float = 0.0

    @property
    def equal(self) -> bool:
        return not (self.column_mismatch or self.only_duckdb or self.only_spark or self.value_mismatches)


def compare_table(
    duckdb_path: Path, spark_dir: Path, table: str, rel_tol: float = 1e-9, schema: str = "marts"
) -> TableDiff:
    """Row-by-row comparison of <schema>.<table> (marts by default) on both engines: every non-float column must
    match exactly (as a multiset of rows), every float column within rel_tol of its partner row."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{duckdb_path}' as duck (read_only)")
        con.execute(
            f"create view spark_table as select * from read_parquet('{spark_table_files(spark_dir, schema, table)}')"
        )
        duck_columns = con.execute(
            "select column_name, data_type from duckdb_columns() "
            f"where database_name = 'duck' and schema_name = '{schema}' and table_name = '{table}' "
            "order by column_index"
        ).fetchall()
        spark_columns = [(name, kind) for name, kind, *_ in con.execute("describe spark_table").fetchall()]
        diff = TableDiff(
            table,
            con.execute(f"select count(*) from duck.{schema}.{table}").fetchall()[0][0],
            con.execute("select count(*) from spark_table").fetchall()[0][0],
        )
        if [name for name, _ in duck_columns] != [name for name, _ in spark_columns]:
            diff.column_mismatch = f"columns differ: duckdb {duck_columns} spark {spark_columns}"
            return diff
        floats = [name for name, kind in duck_columns if kind in ("DOUBLE", "FLOAT")]
        exact = [name for name, _ in duck_columns if name not in floats]
        keys = ", ".join(f'"{name}"' for name in exact) or "1"
        diff.only_duckdb = con.execute(
            f"select count(*) from (select {keys} from duck.{schema}.{table} except all select {keys} from spark_table)"
        ).fetchall()[0][0]
        diff.only_spark = con.execute(
            f"select count(*) from (select {keys} from spark_table except all select {keys} from duck.{schema}.{table})"
        ).fetchall()[0][0]
        if diff.only_duckdb or diff.only_spark or not floats:
            return diff
        order = ", ".join(f'"{name}" nulls first' for name in exact + floats)
        select = ", ".join(f'"{name}"' for name in floats)
        duck_rows = con.execute(f"select {select} from duck.{schema}.{table} order by {order}").fetchall()
        spark_rows = con.execute(f"select {select} from spark_table order by {order}").fetchall()
    finally:
        con.close()
    mismatches = []
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        for name, a, b in zip(floats, duck_row, spark_row, strict=True):
            if a is None or b is None:
                same = a is None and b is None
            elif math.isnan(a) or math.isnan(b):
                same = math.isnan(a) and math.isnan(b)
            else:
                same = math.isclose(a, b, rel_tol=rel_tol, abs_tol=0.0)
                if a != b and max(abs(a), abs(b)) > 0:
                    relative = abs(a - b) / max(abs(a), abs(b))
                    diff.max_relative_difference = max(diff.max_relative_difference, relative)
            if not same:
                mismatches.append(f"{name}: duckdb {a!r} spark {b!r}")
    diff.value_mismatches = mismatches[:20]
    return diff
