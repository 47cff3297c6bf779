"""Government-service events (政务服务平台), JSON Lines → raw.gov_services.

Every valid line is kept, repeated event_ids included: delivery is at-least-once, and dbt keeps the first
delivered copy. Applicant id and phone are personal whatever the applicant type, so only their pseudonyms are
stored, and quarantined lines are scrubbed the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

import polars as pl

from pipelines.ingest.base import FileContext, ParsedBatch, Rule, personal_text_rule
from pipelines.ingest.jsonlines.batches import apply_rules, cut, frame_of_batch, not_in, quarantine_rows
from pipelines.ingest.jsonlines.columns import (
    int_column,
    no_offence,
    pseudonym_column,
    pseudonym_series,
    text_column,
    text_series,
    timestamp_column,
)
from pipelines.ingest.jsonlines.decoding import DecodedBatch, Lines
from pipelines.ingest.jsonlines.reading import iter_line_frames
from pipelines.ingest.reasons import BAD_TIMESTAMP, MISSING_FIELD, NOT_ALLOWED_VALUE, OUT_OF_RANGE, WRONG_TYPE
from pipelines.lib.feeds import feed
from pipelines.lib.pii_scan import flag_personal_text

FIELDS = (
    "event_id",
    "case_id",
    "event_type",
    "occurred_at",
    "item_code",
    "item_name",
    "department",
    "channel",
    "applicant_type",
    "applicant_id",
    "applicant_phone",
    "visits",
    "promised_days",
    "rating",
)
PERSONAL_FIELDS = ("applicant_id", "applicant_phone")
REQUIRED = ("event_id", "case_id", "event_type", "occurred_at")
EVENT_TYPES = ("submitted", "accepted", "completed", "rejected", "rated")
CHANNELS = ("online", "app", "window", "self_service")
APPLICANT_TYPES = ("person", "enterprise")

FEED = feed("gov_services")
COLUMNS: dict[str, pl.DataType] = FEED.own_columns()  # declared in dbt's raw source

TEXT_FIELDS = ("event_type", "item_code", "item_name", "department", "channel", "applicant_type")
# Texts no closed rule constrains, stored as delivered: scanned for phones and resident IDs.
FREE_TEXT = ("event_id", "case_id", "item_code", "item_name", "department")
KINDS = {  # how the fast path reads each field (see jsonlines/fast_path.split_plain)
    **dict.fromkeys(("event_id", "case_id", *TEXT_FIELDS), "text"),
    "occurred_at": "str",
    **dict.fromkeys(("visits", "promised_days", "rating"), "int"),
    **dict.fromkeys(PERSONAL_FIELDS, "str"),
}

_INT_RULES = {  # field → (lowest allowed, highest allowed or None, wording)
    "visits": (0, None, "an integer ≥ 0"),
    "promised_days": (1, None, "an integer ≥ 1"),
    "rating": (1, 5, "an integer from 1 to 5"),
}


def _rules() -> list[Rule]:
    rules: list[Rule] = [personal_text_rule()]
    for name in ("event_id", "case_id"):
        bad = pl.col(f"__bad_{name}")
        rules.append(
            Rule(bad.is_not_null(), WRONG_TYPE, pl.format(f"{name} must be a string or an integer, got {{}}", bad), bad)
        )
    for name in REQUIRED:
        rules.append(
            Rule(
                pl.col(name).is_null() & pl.col(f"__bad_{name}").is_null(),
                MISSING_FIELD,
                f"missing {name}",
                pl.lit(name),
            )
        )
    bad_time = pl.col("__bad_occurred_at")
    rules.append(
        Rule(
            bad_time.is_not_null(),
            BAD_TIMESTAMP,
            pl.format("unparseable occurred_at {} (expected ISO 8601)", bad_time),
            bad_time,
        )
    )
    for name, allowed in (("event_type", EVENT_TYPES), ("channel", CHANNELS), ("applicant_type", APPLICANT_TYPES)):
        rules.append(
            Rule(not_in(name, allowed), NOT_ALLOWED_VALUE, pl.format(f"unknown {name} '{{}}'", cut(name)), cut(name))
        )
    for name, (low, high, wording) in _INT_RULES.items():
        value, bad = pl.col(name), pl.col(f"__bad_{name}")
        out_of_range = value < low if high is None else (value < low) | (value > high)
        shown = pl.coalesce(bad, value.cast(pl.String))
        rules.append(
            Rule(
                bad.is_not_null() | out_of_range,
                pl.when(bad.is_not_null()).then(pl.lit(WRONG_TYPE)).otherwise(pl.lit(OUT_OF_RANGE)),
                pl.format(f"{name} must be {wording}, got {{}}", shown),
                shown,
            )
        )
    return rules


class GovServicesParser:
    feed = FEED.name
    table = FEED.table
    folder = FEED.folder
    extensions = FEED.extensions
    columns = COLUMNS
    independent_files = True
    # The cases model reads each event type on its own (int_gov_service_cases_assembled): with the row groups
    # of a type apart, each of those reads skips the other types' rows (benchmarks/CHANGELOG.md, tenth round).
    row_groups_by = "event_type"

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]:
        """One batch per ≤ 100k lines. A corrupt, undecodable or empty file raises `FileRejected`, possibly after
        some batches: the runner then keeps none of the file's rows."""
        cache: dict[str, object] = {}  # timestamp text → parse, for this file
        for batch in iter_line_frames(ctx.path, limits=ctx.limits):
            yield self._parse_batch(batch, ctx, cache)

    def _parse_batch(self, batch: Lines, ctx: FileContext, cache: dict) -> ParsedBatch:
        frame, decoded = frame_of_batch(
            batch,
            KINDS,
            FIELDS,
            PERSONAL_FIELDS,
            ctx.pseudonymise,
            plain_frame=lambda plain: self._plain_frame(plain, ctx, cache),
            decoded_frame=lambda decoded: self._decoded_frame(decoded, ctx, cache),
        )
        valid, quarantined = apply_rules(flag_personal_text(frame, FREE_TEXT), _rules())
        valid = valid.select([*COLUMNS, "source_row", "source_sheet"])
        return ParsedBatch(
            valid=valid,
            quarantined=quarantine_rows(quarantined, decoded, PERSONAL_FIELDS, ctx.pseudonymise, known=FIELDS),
        )

    @staticmethod
    def _decoded_frame(decoded: DecodedBatch, ctx: FileContext, cache: dict) -> pl.DataFrame:
        """The Python path: lines decoded one by one (the authority for anything not plain)."""
        values = decoded.values
        series: list[pl.Series] = []
        for name in ("event_id", "case_id"):
            series.extend(text_column(name, values[name], strict_id=True))
        for name in TEXT_FIELDS:
            series.extend(text_column(name, values[name]))
        series.extend(timestamp_column("occurred_at", values["occurred_at"], cache))
        for name in _INT_RULES:
            series.extend(int_column(name, values[name]))
        for name in PERSONAL_FIELDS:
            series.append(pseudonym_column(f"{name}_pseudonym", values[name], ctx.pseudonymise))
        return pl.DataFrame(series).with_columns(
            pl.Series("extra_columns", decoded.extra_columns, dtype=pl.String),
            pl.Series("source_row", decoded.source_row, dtype=pl.Int64),
            pl.lit(None, dtype=pl.String).alias("source_sheet"),
        )

    @staticmethod
    def _plain_frame(plain: pl.DataFrame, ctx: FileContext, cache: dict) -> pl.DataFrame:
        """The same columns as `_decoded_frame`, from the fast path's typed plain lines."""
        series: list[pl.Series] = []
        for name in ("event_id", "case_id", *TEXT_FIELDS):
            series.extend(text_series(name, plain[name]))
        series.extend(timestamp_column("occurred_at", plain["occurred_at"], cache))
        for name in _INT_RULES:
            series.extend((plain[name], no_offence(name, plain.height)))
        for name in PERSONAL_FIELDS:
            series.append(pseudonym_series(f"{name}_pseudonym", plain[name], ctx.pseudonymise))
        return pl.DataFrame(series).with_columns(
            pl.lit(None, dtype=pl.String).alias("extra_columns"),
            plain["source_row"],
            pl.lit(None, dtype=pl.String).alias("source_sheet"),
        )


PARSER = GovServicesParser()
