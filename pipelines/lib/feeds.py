"""The feeds and the raw layer, defined once: which feeds exist, where they land, the raw tables they fill, their
columns, and where the raw files, the quarantine and the ingest ledger live.

**One name per feed.** A feed is one kind of file a source system delivers into one landing folder of the
contract (`shared/contracts/FEEDS.md`), and it fills exactly one raw table, which carries the feed's name:

| feed = raw table       | landing folder        | domain         |
| ---------------------- | --------------------- | -------------- |
| `statistics`           | `statistics/`         | `statistics`   |
| `rd_filings`           | `rd_filings/`         | `rd_filings`   |
| `gov_services`         | `gov_services/`       | `gov_services` |
| `security_incidents`   | `security/incidents/` | `security`     |
| `security_cameras`     | `security/cameras/`   | `security`     |

- The **feed name** is used wherever a feed or its raw table is meant: `raw.<feed>`, the asset key
  `["raw", <feed>]`, the `feed` column of `marts.ingest_ledger` and `marts.quarantine`, `innostat ingest --table`,
  the new-file sensors, the freshness cadences, the quality suites of the raw layer.
- The **landing folder** is a path of the contract, never a name: it is only ever read from `Feed.folder`.
- The **domain** is the subject area a source system's feeds belong to (the two security feeds share the domain
  `security`): dbt's model folders (`models/staging/<domain>/`) and Dagster's groups are named by domain, never
  by feed.

The raw columns and types are declared in one place, dbt's raw source (`_staging__sources.yml`), because dbt and
Spark need them there; the parsers, the raw writer, the quality suites and the Dagster definitions read them from
here (`raw_schema`). Every feed's table ends with the lineage columns (`LINEAGE`), checked when the declaration is
read. The parser of each feed is named here as a module of `pipelines.ingest` (a string: `lib` imports nothing
above it; `pipelines.ingest.registry` imports it).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import polars as pl
import yaml

from pipelines.lib.settings import DBT_PROJECT_DIR

SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "_staging__sources.yml"


@dataclass(frozen=True)
class Feed:
    name: str  # the feed and its raw table: raw.<name>, asset key ["raw", name], the ledger's `feed` value
    folder: str  # landing sub-folder, as the contract fixes it
    extensions: tuple[str, ...]  # file name endings delivered there, lower case
    domain: str  # subject area: dbt model folder, Dagster group
    parser: str  # module of pipelines.ingest holding its PARSER
    month_column: str | None = None  # the timestamp or date that puts a row in an Asia/Shanghai month, if monthly

    @property
    def table(self) -> str:
        """The raw table the feed fills: it carries the feed's name."""
        return self.name

    def schema(self) -> dict[str, pl.DataType]:
        """The raw table's columns, the lineage columns last (`raw_schema`)."""
        return raw_schema(self.name)

    def own_columns(self) -> dict[str, pl.DataType]:
        """What the feed's parser produces per valid row, besides `source_row` and `source_sheet`: the raw table's
        columns without the lineage columns."""
        return {name: kind for name, kind in raw_schema(self.name).items() if name not in LINEAGE}


# In delivery-independent display order.
FEEDS: dict[str, Feed] = {
    feed.name: feed
    for feed in (
        Feed("statistics", "statistics", (".csv", ".xlsx"), "statistics", "statistics"),
        Feed("rd_filings", "rd_filings", (".csv", ".xlsx"), "rd_filings", "rd_filings"),
        Feed("gov_services", "gov_services", (".jsonl", ".jsonl.gz"), "gov_services", "gov_services", "occurred_at"),
        Feed(
            "security_incidents",
            "security/incidents",
            (".jsonl", ".jsonl.gz"),
            "security",
            "security_incidents",
            "received_at",
        ),
        Feed("security_cameras", "security/cameras", (".csv",), "security", "security_cameras", "status_date"),
    )
}

# The raw tables the feeds fill, one Parquet folder each: the feeds' names.
RAW_TABLES: tuple[str, ...] = tuple(FEEDS)
QUARANTINE = "quarantine"  # every rejected row of every feed
INGEST_LEDGER = "ingest_ledger"  # one row per landed file: the exactly-once record
SIDE_TABLES: tuple[str, ...] = (QUARANTINE, INGEST_LEDGER)

# Lineage columns every feed's raw table ends with, in this order. Parsers fill source_row and source_sheet;
# the raw writer the rest.
LINEAGE: tuple[str, ...] = ("source_file", "source_sheet", "source_row", "file_hash", "delivered_at", "ingested_at")
# What a parser returns for each rejected row; the raw writer adds feed and the lineage of the file.
QUARANTINE_ROW: tuple[str, ...] = ("source_row", "source_sheet", "reason", "reason_code", "reason_detail", "raw")

EMPTY_MARKER = "_empty.parquet"  # zero-row file with the table's schema in every raw folder, so a glob never fails

# dbt's portable type names → the Parquet type the ingestion writes (timestamps: naive Asia/Shanghai wall clock)
_POLARS_TYPES: dict[str, pl.DataType] = {
    "string": pl.String(),
    "double": pl.Float64(),
    "bigint": pl.Int64(),
    "integer": pl.Int32(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
}


@cache
def _declared() -> dict[str, dict[str, pl.DataType]]:
    sources = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))["sources"]
    (raw,) = [source for source in sources if source["name"] == "raw"]
    declared = {
        table["name"]: {column["name"]: _POLARS_TYPES[column["data_type"]] for column in table["columns"]}
        for table in raw["tables"]
    }
    if set(declared) != {*RAW_TABLES, *SIDE_TABLES}:
        raise ValueError(
            f"{SOURCES_YAML.name} declares the raw tables {sorted(declared)}; the feed registry "
            f"(pipelines/lib/feeds.py) has {sorted({*RAW_TABLES, *SIDE_TABLES})}"
        )
    for table in RAW_TABLES:
        if tuple(declared[table])[-len(LINEAGE) :] != LINEAGE:
            raise ValueError(f"{SOURCES_YAML.name}: raw table {table!r} must end with the lineage columns {LINEAGE}")
    return declared


def raw_schema(table: str) -> dict[str, pl.DataType]:
    """The columns of raw table `table` (a feed's table, `quarantine` or `ingest_ledger`), in file order."""
    declared = _declared()
    if table not in declared:
        raise KeyError(f"unknown raw table {table!r}; declared in {SOURCES_YAML.name}: {', '.join(declared)}")
    return dict(declared[table])


def feed(name: str) -> Feed:
    """The feed `name` (= its raw table); KeyError naming the known feeds otherwise."""
    if name not in FEEDS:
        raise KeyError(f"unknown feed {name!r}; known: {', '.join(FEEDS)}")
    return FEEDS[name]


def monthly_tables() -> dict[str, str]:
    """Raw table → the column that puts its rows in a month, for the monthly feeds."""
    return {f.name: f.month_column for f in FEEDS.values() if f.month_column is not None}


# Columns of the side tables and of what a parser hands over, all from the one declaration.
LEDGER_COLUMNS: dict[str, pl.DataType] = raw_schema(INGEST_LEDGER)
QUARANTINE_TABLE_COLUMNS: dict[str, pl.DataType] = raw_schema(QUARANTINE)
QUARANTINE_COLUMNS: dict[str, pl.DataType] = {name: QUARANTINE_TABLE_COLUMNS[name] for name in QUARANTINE_ROW}
LINEAGE_COLUMNS: dict[str, pl.DataType] = {name: raw_schema(RAW_TABLES[0])[name] for name in LINEAGE}


def table_dir(raw_dir: Path, table: str) -> Path:
    """The folder of raw table `table` (feed table or side table): one Parquet file per ingested source file."""
    return raw_dir / table


def ledger_dir(raw_dir: Path) -> Path:
    return raw_dir / INGEST_LEDGER


def quarantine_dir(raw_dir: Path) -> Path:
    return raw_dir / QUARANTINE


def ledger_file(raw_dir: Path, table: str, key: str) -> Path:
    """The ledger entry of one landed file of `table`, named by its content hash (or rejection key): written last,
    it commits the file's data and quarantine files."""
    return ledger_dir(raw_dir) / f"{table}-{key}.parquet"


def duplicate_ledger_file(raw_dir: Path, table: str, digest: str, path_key: str) -> Path:
    """The ledger entry of a byte-identical copy of a committed file, landed under another path."""
    return ledger_dir(raw_dir) / f"{table}-{digest}.dup-{path_key}.parquet"


def quarantine_file(raw_dir: Path, table: str, digest: str) -> Path:
    """The rejected rows of one landed file of `table`."""
    return quarantine_dir(raw_dir) / f"{table}-{digest}.parquet"


def data_file(raw_dir: Path, table: str, digest: str) -> Path:
    """The valid rows of one landed file of `table`."""
    return table_dir(raw_dir, table) / f"{digest}.parquet"
