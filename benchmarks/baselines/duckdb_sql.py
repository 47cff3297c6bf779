"""The DuckDB-SQL baseline: one hand-written SQL script computes the published indicators from the landing files.

No orchestration, no checks, no quarantine table, no raw layer: `duckdb_sql.sql` reads the feeds straight from the
landing zone, applies the feed contract's rules (a row the pipeline would quarantine does not count), and
computes what the pipeline publishes as `marts.indicator_values`. It is the practical floor the pipeline's
speed is judged against, and its result must equal the pipeline's (`python -m benchmarks.compare`).

    python -m benchmarks.baselines.duckdb_sql --landing /tmp/bench/small/landing --out /tmp/bench/small/sql.parquet
    python -m benchmarks.compare --warehouse /tmp/bench/small/wh/innostat.duckdb --baseline /tmp/bench/small/sql.parquet
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

SQL = Path(__file__).with_name("duckdb_sql.sql")
SEEDS = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds"
REGIONS = SEEDS / "regions.csv"
# the disclosure parameters (seed disclosure_rules: one row), these defaults where the seed does not exist
DISCLOSURE_RULES = SEEDS / "disclosure_rules.csv"
DISCLOSURE_DEFAULTS = {
    "min_contributors": "3",
    "dominance_n": "1",
    "dominance_k_percent": "85",
    "protection_percent": "10",
}
TABULAR_FEEDS = ("statistics", "rd_filings")


def convert_tabular(landing: Path, out: Path) -> None:
    """Write the xlsx sheets and the GB18030 CSVs of the two tiny tabular feeds as UTF-8 CSV files under `out`.

    Why this exists: the DuckDB build here bundles neither the excel nor the encodings extension, and there is
    no network to install them. Everything else (headers, rows, rules, delivery order, duplicates) is done by
    the SQL. A converted file keeps its original's mtime (delivery order) and relative path; a sheet becomes
    `<file>.xlsx.sheet<NNN>.<sheet name>.csv`, NNN its position in the workbook. UTF-8 CSVs are read in place.
    """
    import fastexcel  # only here: the big feeds never go through Python

    for feed in TABULAR_FEEDS:
        root = landing / feed
        for path in sorted(root.rglob("*")) if root.is_dir() else []:
            name = path.name.lower()
            if not path.is_file() or path.name.startswith("."):
                continue
            target = out / path.relative_to(landing)
            if name.endswith(".xlsx"):
                try:
                    reader = fastexcel.read_excel(path)
                    sheets = [
                        (sheet, reader.load_sheet(sheet, header_row=None, dtypes="string").to_polars())
                        for sheet in reader.sheet_names
                    ]
                except Exception:  # an unreadable workbook delivers nothing (the pipeline rejects it)
                    continue
                written = []
                for index, (sheet, frame) in enumerate(sheets):
                    written.append(target.with_name(f"{target.name}.sheet{index:03d}.{sheet}.csv"))
                    written[-1].parent.mkdir(parents=True, exist_ok=True)
                    with written[-1].open("w", encoding="utf-8", newline="") as handle:
                        csv.writer(handle, lineterminator="\n").writerows(
                            ["" if v is None else v for v in row] for row in frame.iter_rows()
                        )
            elif name.endswith(".csv"):
                data = path.read_bytes()
                try:
                    data.decode("utf-8")
                    continue  # UTF-8 (with or without BOM): the SQL reads the landed file itself
                except UnicodeDecodeError:
                    pass
                try:
                    text = data.decode("gb18030")
                except UnicodeDecodeError:
                    continue  # neither UTF-8 nor GB18030: rejected by the pipeline, nothing to read
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8", newline="")
                written = [target]
            else:
                continue
            stat = path.stat()
            for file in written:
                os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def disclosure_rules(path: Path = DISCLOSURE_RULES) -> dict[str, str]:
    """The parameters as SQL number literals, from the seed's one row when it exists."""
    rules = dict(DISCLOSURE_DEFAULTS)
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            row = next(csv.DictReader(handle))
        rules.update({name: row[name].strip() for name in rules if row.get(name, "").strip()})
    for value in rules.values():
        float(value)  # a number, nothing else reaches the script
    return rules


def sql_literal(path: Path) -> str:
    return path.resolve().as_posix().replace("'", "''")


def run(landing: Path, out: Path, threads: int | None = None) -> int:
    """Run the script on `landing`, write the indicator values to `out` (Parquet); returns the row count."""
    with tempfile.TemporaryDirectory(prefix="innostat-duckdb-sql-") as tmp:
        converted = Path(tmp) / "converted"
        converted.mkdir()
        convert_tabular(landing, converted)
        script = (
            SQL.read_text(encoding="utf-8")
            .replace("@LANDING@", sql_literal(landing))
            .replace("@CONVERTED@", sql_literal(converted))
            .replace("@REGIONS@", sql_literal(REGIONS))
        )
        for name, value in disclosure_rules().items():
            script = script.replace(f"@{name.upper()}@", value)
        con = duckdb.connect(config={"threads": threads} if threads else {})
        try:
            con.execute("set enable_progress_bar = false")
            con.execute(f"set temp_directory = '{sql_literal(Path(tmp))}'")
            con.execute(script)
            out.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"copy (select * from indicator_values order by all) to '{sql_literal(out)}' (format parquet)")
            return con.execute("select count(*) from indicator_values").fetchone()[0]
        finally:
            con.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.baselines.duckdb_sql",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--landing", type=Path, required=True, help="the landing zone (feed folders)")
    parser.add_argument("--out", type=Path, required=True, help="Parquet file to write the indicator values to")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    args = parser.parse_args(argv)
    if not args.landing.is_dir():
        parser.error(f"--landing {args.landing} is not a folder")
    started = time.perf_counter()
    rows = run(args.landing, args.out, args.threads)
    print(f"duckdb_sql: {rows} indicator values in {time.perf_counter() - started:.2f} s -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
