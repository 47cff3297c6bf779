"""security_cameras: the 雪亮工程 daily camera status snapshot (FEEDS.md §4), CSV, into `raw.security_cameras`.

One row per camera per day. Every valid row is kept, also a camera-day delivered again: dbt lets the later
delivered row win. The contract says UTF-8; the shared reader also accepts a BOM or GB18030, because a file
saved by Excel on a Chinese Windows is the likeliest way the contract gets broken, and it is unambiguous.

Where the contract leaves room: `online` is exactly `0` or `1` after trimming spaces (`2`, `yes`, `true` or
empty quarantine the row: a camera-day with an unknown state would bias the online rate); dates are strict
`YYYY-MM-DD` and real calendar dates; an `installed_on` after `status_date` is kept as delivered.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.ingest.base import FileContext, ParsedBatch, Rule, personal_text_rule, split_by_rules
from pipelines.ingest.reasons import BAD_TIMESTAMP, MISSING_FIELD, NOT_ALLOWED_VALUE, UNKNOWN_REGION
from pipelines.ingest.tabular.reader import read_tabular
from pipelines.lib.feeds import feed
from pipelines.lib.numbers import strip_spaces
from pipelines.lib.pii_scan import flag_personal_text

HEADER = ["camera_id", "street_code", "installed_on", "status_date", "online"]
FREE_TEXT = ("camera_id",)  # the one text no closed rule constrains: scanned for phones and resident IDs

FEED = feed("security_cameras")
COLUMNS: dict[str, pl.DataType] = FEED.own_columns()  # declared in dbt's raw source

_DATE_SHAPE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"  # ASCII digits, two-digit month and day


class SecurityCamerasParser:
    feed = FEED.name
    table = FEED.table
    folder = FEED.folder
    extensions = FEED.extensions
    columns = COLUMNS
    independent_files = True
    row_groups_by = None

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]:
        for frame, rejected in read_tabular(ctx.path, HEADER, ctx.limits):
            valid, quarantined = self.split(frame, ctx.regions.street_codes)
            quarantined = pl.concat([quarantined, rejected])
            yield ParsedBatch(valid=_finish(valid), quarantined=quarantined.sort("source_row"))

    def split(self, frame: pl.DataFrame, street_codes: frozenset[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """All-text rows → rows passing every rule (with helper columns) and quarantine rows."""
        work = frame.with_columns(strip_spaces(pl.col(name)).alias(f"_{name}") for name in HEADER).with_columns(
            _date(pl.col("_installed_on")).alias("_installed_date"),
            _date(pl.col("_status_date")).alias("_status_day"),
        )
        work = flag_personal_text(work, FREE_TEXT)
        street = pl.col("_street_code")
        rules: list[Rule] = [
            personal_text_rule(),
            Rule(pl.col("_camera_id") == "", MISSING_FIELD, "empty camera_id", pl.lit("camera_id")),
            Rule(
                ~street.is_in(list(street_codes)),
                UNKNOWN_REGION,
                pl.format("street_code '{}' is not a 12-digit street code in regions.csv", street),
                street,
            ),
            Rule(
                pl.col("_status_day").is_null(),
                BAD_TIMESTAMP,
                pl.format("status_date '{}' is not a valid YYYY-MM-DD date", pl.col("_status_date")),
                pl.col("_status_date"),
            ),
            Rule(
                (pl.col("_installed_on") != "") & pl.col("_installed_date").is_null(),
                BAD_TIMESTAMP,
                pl.format("installed_on '{}' is neither empty nor a valid YYYY-MM-DD date", pl.col("_installed_on")),
                pl.col("_installed_on"),
            ),
            Rule(
                ~pl.col("_online").is_in(["0", "1"]),
                NOT_ALLOWED_VALUE,
                pl.format("online '{}' is not 0 or 1", pl.col("_online")),
                pl.col("_online"),
            ),
        ]
        return split_by_rules(work, rules, [*HEADER, "extra_columns"])


def _date(text: pl.Expr) -> pl.Expr:
    """A strict `YYYY-MM-DD` that is a real date, else null (chrono alone would take `2021-5-3`)."""
    return pl.when(text.str.contains(_DATE_SHAPE)).then(text.str.strptime(pl.Date, "%Y-%m-%d", strict=False))


def _finish(valid: pl.DataFrame) -> pl.DataFrame:
    """The raw table's columns plus source_row and source_sheet, with exact dtypes even when empty."""
    out = valid.select(
        pl.col("_camera_id").alias("camera_id"),
        pl.col("_street_code").alias("street_code"),
        pl.col("_installed_date").alias("installed_on"),
        pl.col("_status_day").alias("status_date"),
        (pl.col("_online") == "1").alias("is_online"),
        pl.col("extra_columns"),
        pl.col("source_row"),
        pl.col("source_sheet"),
    )
    return out.cast({**COLUMNS, "source_row": pl.Int64(), "source_sheet": pl.String()})


PARSER = SecurityCamerasParser()
