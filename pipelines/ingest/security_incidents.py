"""Security incidents (110 接处警), JSON Lines → raw.security_incidents.

An incident is re-sent as it progresses, so every valid record is kept and dbt takes the later delivered one per
incident_id. Reporter name, phone and ID number are stored only as keyed pseudonyms, coordinates only to 3
decimals; the ID's GB 11643-1999 check is kept as a flag, because a mistyped ID is still a real incident.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import polars as pl
from stdnum.cn import ric

from pipelines.ingest.base import FileContext, ParsedBatch, Rule, personal_text_rule
from pipelines.ingest.jsonlines.batches import apply_rules, cut, frame_of_batch, not_in, quarantine_rows
from pipelines.ingest.jsonlines.columns import (
    float_column,
    map_unique,
    no_offence,
    pseudonym_column,
    pseudonym_series,
    text_column,
    text_series,
    timestamp_column,
)
from pipelines.ingest.jsonlines.decoding import DecodedBatch, Lines
from pipelines.ingest.jsonlines.reading import iter_line_frames
from pipelines.ingest.reasons import BAD_TIMESTAMP, MISSING_FIELD, NOT_ALLOWED_VALUE, UNKNOWN_REGION, WRONG_TYPE
from pipelines.lib.feeds import feed
from pipelines.lib.pii_scan import flag_personal_text

FIELDS = (
    "incident_id",
    "received_at",
    "dispatched_at",
    "arrived_at",
    "closed_at",
    "category",
    "street_code",
    "lat",
    "lon",
    "source",
    "reporter_name",
    "reporter_phone",
    "reporter_id_number",
)
PERSONAL_FIELDS = ("reporter_name", "reporter_phone", "reporter_id_number")
TIMESTAMPS = ("received_at", "dispatched_at", "arrived_at", "closed_at")
CATEGORIES = ("theft", "fraud", "traffic", "dispute", "fire", "violence", "other")
SOURCES = ("call_110", "app", "camera", "patrol")
COORDINATE_DECIMALS = 3
FREE_TEXT = ("incident_id",)  # the one text no closed rule constrains: scanned for phones and resident IDs
KINDS = {  # how the fast path reads each field (see jsonlines/fast_path.split_plain)
    "incident_id": "text",
    **dict.fromkeys(TIMESTAMPS, "str"),
    **dict.fromkeys(("category", "street_code", "source"), "text"),
    **dict.fromkeys(("lat", "lon"), "num"),
    **dict.fromkeys(PERSONAL_FIELDS, "str"),
}

FEED = feed("security_incidents")
COLUMNS: dict[str, pl.DataType] = FEED.own_columns()  # declared in dbt's raw source


def is_valid_resident_id(value: Any) -> bool | None:
    """GB 11643-1999: 17 digits with a real birth date, then the MOD 11-2 check character. None when absent.

    Not `ric.is_valid`: it also requires that the address code existed in the birth year, and python-stdnum
    dates 430406 (Yanfeng District itself) from 2001, so every resident born before 2001 would be flagged.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    number = ric.compact(text)
    if len(number) != 18 or not (number[:17].isascii() and number[:17].isdigit()):
        return False
    if number[-1] != ric.calc_check_digit(number):
        return False
    try:
        ric.get_birth_date(number)
    except ValueError:  # stdnum's InvalidComponent: no such date
        return False
    return True


def coarsen(value: Any) -> Any:
    """A coordinate to 3 decimals, also when it came as text, so no precise location is kept anywhere (a
    quarantined row's raw and reason included). Anything that is not a number is left for the rules to name."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round(value, COORDINATE_DECIMALS)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return str(round(number, COORDINATE_DECIMALS)) if math.isfinite(number) else value
    return value


def _coarsen_record(record: dict) -> dict:
    return {k: coarsen(v) if k in ("lat", "lon") else v for k, v in record.items()}


def _rules(street_codes: frozenset[str]) -> list[Rule]:
    bad_id = pl.col("__bad_incident_id")
    rules: list[Rule] = [
        personal_text_rule(),
        Rule(
            bad_id.is_not_null(),
            WRONG_TYPE,
            pl.format("incident_id must be a string or an integer, got {}", bad_id),
            bad_id,
        ),
        Rule(
            pl.col("incident_id").is_null() & bad_id.is_null(),
            MISSING_FIELD,
            "missing incident_id",
            pl.lit("incident_id"),
        ),
        Rule(
            pl.col("received_at").is_null() & pl.col("__bad_received_at").is_null(),
            MISSING_FIELD,
            "missing received_at",
            pl.lit("received_at"),
        ),
    ]
    for name in TIMESTAMPS:
        bad = pl.col(f"__bad_{name}")
        rules.append(
            Rule(bad.is_not_null(), BAD_TIMESTAMP, pl.format(f"unparseable {name} {{}} (expected ISO 8601)", bad), bad)
        )
    for name, allowed in (("category", CATEGORIES), ("source", SOURCES)):
        rules.append(Rule(pl.col(name).is_null(), MISSING_FIELD, f"missing {name}", pl.lit(name)))
        rules.append(
            Rule(not_in(name, allowed), NOT_ALLOWED_VALUE, pl.format(f"unknown {name} '{{}}'", cut(name)), cut(name))
        )
    rules.append(Rule(pl.col("street_code").is_null(), MISSING_FIELD, "missing street_code", pl.lit("street_code")))
    rules.append(
        Rule(
            not_in("street_code", sorted(street_codes)),
            UNKNOWN_REGION,
            pl.format("unknown street_code '{}' (not a 12-digit street or town in regions.csv)", cut("street_code")),
            cut("street_code"),
        )
    )
    for name in ("lat", "lon"):
        bad = pl.col(f"__bad_{name}")
        rules.append(Rule(bad.is_not_null(), WRONG_TYPE, pl.format(f"{name} must be a number, got {{}}", bad), bad))
    return rules


class SecurityIncidentsParser:
    feed = FEED.name
    table = FEED.table
    folder = FEED.folder
    extensions = FEED.extensions
    columns = COLUMNS
    independent_files = True
    row_groups_by = None

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]:
        """One batch per ≤ 100k lines. A corrupt, undecodable or empty file raises `FileRejected`, possibly after
        some batches: the runner then keeps none of the file's rows."""
        cache: dict[str, object] = {}  # timestamp text → parse, for this file
        rules = _rules(ctx.regions.street_codes)
        for batch in iter_line_frames(ctx.path, limits=ctx.limits):
            yield self._parse_batch(batch, ctx, cache, rules)

    def _parse_batch(self, batch: Lines, ctx: FileContext, cache: dict, rules: list) -> ParsedBatch:
        frame, decoded = frame_of_batch(
            batch,
            KINDS,
            FIELDS,
            PERSONAL_FIELDS,
            ctx.pseudonymise,
            plain_frame=lambda plain: self._plain_frame(plain, ctx, cache),
            decoded_frame=lambda decoded: self._decoded_frame(decoded, ctx, cache),
        )
        valid, quarantined = apply_rules(flag_personal_text(frame, FREE_TEXT), rules)
        return ParsedBatch(
            valid=valid.select([*COLUMNS, "source_row", "source_sheet"]),
            quarantined=quarantine_rows(
                quarantined, decoded, PERSONAL_FIELDS, ctx.pseudonymise, prepare=_coarsen_record, known=FIELDS
            ),
        )

    @staticmethod
    def _decoded_frame(decoded: DecodedBatch, ctx: FileContext, cache: dict) -> pl.DataFrame:
        """The Python path: lines decoded one by one (the authority for anything not plain)."""
        values = decoded.values
        series: list[pl.Series] = [*text_column("incident_id", values["incident_id"], strict_id=True)]
        for name in TIMESTAMPS:
            series.extend(timestamp_column(name, values[name], cache))
        for name in ("category", "street_code", "source"):
            series.extend(text_column(name, values[name]))
        for name in ("lat", "lon"):
            typed, bad = float_column(name, [v if v.__class__ is not str else coarsen(v) for v in values[name]])
            series.extend((typed.round(COORDINATE_DECIMALS, mode="half_away_from_zero"), bad))
        for name in PERSONAL_FIELDS:
            series.append(pseudonym_column(f"{name}_pseudonym", values[name], ctx.pseudonymise))
        series.append(
            pl.Series(
                "is_reporter_id_valid",
                [is_valid_resident_id(v) for v in values["reporter_id_number"]],
                dtype=pl.Boolean,
            )
        )
        return pl.DataFrame(series).with_columns(
            pl.Series("extra_columns", decoded.extra_columns, dtype=pl.String),
            pl.Series("source_row", decoded.source_row, dtype=pl.Int64),
            pl.lit(None, dtype=pl.String).alias("source_sheet"),
        )

    @staticmethod
    def _plain_frame(plain: pl.DataFrame, ctx: FileContext, cache: dict) -> pl.DataFrame:
        """The same columns as `_decoded_frame`, from the fast path's typed plain lines."""
        series: list[pl.Series] = [*text_series("incident_id", plain["incident_id"])]
        for name in TIMESTAMPS:
            series.extend(timestamp_column(name, plain[name], cache))
        for name in ("category", "street_code", "source"):
            series.extend(text_series(name, plain[name]))
        for name in ("lat", "lon"):
            typed = plain[name].round(COORDINATE_DECIMALS, mode="half_away_from_zero")
            series.extend((typed, no_offence(name, plain.height)))
        for name in PERSONAL_FIELDS:
            series.append(pseudonym_series(f"{name}_pseudonym", plain[name], ctx.pseudonymise))
        series.append(
            map_unique("is_reporter_id_valid", plain["reporter_id_number"], is_valid_resident_id, pl.Boolean())
        )
        return pl.DataFrame(series).with_columns(
            pl.lit(None, dtype=pl.String).alias("extra_columns"),
            plain["source_row"],
            pl.lit(None, dtype=pl.String).alias("source_sheet"),
        )


PARSER = SecurityIncidentsParser()
