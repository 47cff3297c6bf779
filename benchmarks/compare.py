"""Check that a baseline computed the same published indicators as the pipeline.

A baseline's figures only mean something if it did the same work, so every benchmark run compares each baseline's
result with the pipeline's `marts.indicator_values`, key by key.

    python -m benchmarks.compare --warehouse /tmp/innostat-bench/district/run/innostat.duckdb \
        --baseline /tmp/innostat-bench/district/duckdb_sql.parquet
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

KEY = ["indicator_code", "region_code", "period", "period_type", "dimension", "member"]
COLUMNS = [*KEY, "value", "unit", "conf_status"]  # conf_status: F free, A/O/D withheld (value NULL)
RELATIVE_TOLERANCE = 1e-9  # sums of doubles in another order differ in the last bits, nothing more


@dataclass
class Comparison:
    pipeline_rows: int
    baseline_rows: int
    missing: list[tuple]  # keys the pipeline published and the baseline did not
    extra: list[tuple]  # keys the baseline computed and the pipeline did not publish
    different: list[tuple]  # (key…, pipeline value, baseline value, pipeline unit, baseline unit, both codes)

    @property
    def equal(self) -> bool:
        return not (self.missing or self.extra or self.different)

    def summary(self, shown: int = 10) -> str:
        if self.equal:
            return f"equal: {self.pipeline_rows} indicator values, every key and value the same"
        lines = [
            f"NOT equal: pipeline {self.pipeline_rows} rows, baseline {self.baseline_rows} rows; "
            f"{len(self.missing)} missing from the baseline, {len(self.extra)} only in the baseline, "
            f"{len(self.different)} with another value, unit or conf_status"
        ]
        for title, rows in (("missing", self.missing), ("extra", self.extra), ("different", self.different)):
            lines += [f"  {title}: {row}" for row in rows[:shown]]
        return "\n".join(lines)


def compare(warehouse: Path, baseline: Path) -> Comparison:
    """Compare `marts.indicator_values` of a published warehouse with a baseline's Parquet file.

    A zero count may be published or omitted (FEEDS.md), so a count of 0 on one side matches no row on the other.
    The disclosure code (conf_status) must be the same on every key, and so must a withheld cell's NULL value.
    """
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as wh (read_only)")
    columns = ", ".join(COLUMNS)
    con.execute(f"create temp table p as select {columns} from wh.marts.indicator_values")
    con.execute(f"create temp table b as select {columns} from read_parquet('{baseline}')")
    keys = ", ".join(KEY)
    joined = " and ".join(f"p.{k} is not distinct from b.{k}" for k in KEY)
    zero_count = "coalesce({side}.unit = 'count' and {side}.value = 0, false)"
    missing = con.execute(
        f"select {keys} from p anti join b on {joined} where not {zero_count.format(side='p')} order by all"
    ).fetchall()
    extra = con.execute(
        f"select {keys} from b anti join p on {joined} where not {zero_count.format(side='b')} order by all"
    ).fetchall()
    different = con.execute(
        f"""
        select {", ".join(f"p.{k}" for k in KEY)}, p.value, b.value, p.unit, b.unit, p.conf_status, b.conf_status
        from p join b on {joined}
        where p.unit is distinct from b.unit
           or p.conf_status is distinct from b.conf_status
           or (p.value is null) <> (b.value is null)
           or abs(p.value - b.value) > {RELATIVE_TOLERANCE} * greatest(abs(p.value), abs(b.value), 1e-300)
        order by all
        """
    ).fetchall()
    pipeline_rows = con.execute("select count(*) from p").fetchone()[0]
    baseline_rows = con.execute("select count(*) from b").fetchone()[0]
    con.close()
    return Comparison(pipeline_rows, baseline_rows, missing, extra, different)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--warehouse", type=Path, required=True, help="published DuckDB file of the pipeline")
    parser.add_argument("--baseline", type=Path, required=True, help="a baseline's indicator values (Parquet)")
    args = parser.parse_args(argv)
    result = compare(args.warehouse, args.baseline)
    print(result.summary())
    return 0 if result.equal else 1


if __name__ == "__main__":
    sys.exit(main())
