"""Typed columns from delivered JSON values. Each builder returns (typed series, offending series): the second holds
the delivered value as short text wherever it could not be typed (null elsewhere), so a rule can quarantine the
row and name the value. The `*_series` twins take the fast path's already typed String columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from pipelines.ingest.jsonlines.decoding import show
from pipelines.lib.pseudonymise import Pseudonymiser
from pipelines.lib.timeparse import try_parse_iso


def _no_offence(name: str, length: int) -> pl.Series:
    return pl.repeat(None, length, dtype=pl.String, eager=True).alias(f"__bad_{name}")


def text_column(name: str, values: list[Any], *, strict_id: bool = False) -> tuple[pl.Series, pl.Series]:
    """Strings, stripped; empty means absent. Integers become their digits (an id sent as 12 is "12").

    Other JSON values (true, 1.5, arrays, objects) are kept as their JSON text too, unless `strict_id`, where
    they offend (an id must be a string or an integer).
    """
    try:
        series = pl.Series(name, values, dtype=pl.String, strict=True)
        bad = _no_offence(name, len(values))
    except TypeError:
        typed: list[str | None] = []
        offending: list[str | None] = []
        for v in values:
            if v is None or isinstance(v, str):
                typed.append(v)
                offending.append(None)
            elif isinstance(v, int | float) and not isinstance(v, bool) and (text := _number_text(v)) is not None:
                typed.append(text)
                offending.append(None)
            elif strict_id:
                typed.append(None)
                offending.append(show(v))
            else:
                typed.append(json.dumps(v, ensure_ascii=False))
                offending.append(None)
        series = pl.Series(name, typed, dtype=pl.String)
        bad = pl.Series(f"__bad_{name}", offending, dtype=pl.String)
    stripped = series.str.strip_chars()
    return stripped.set(stripped == "", None), bad


def _number_text(value: int | float) -> str | None:
    """An integer's digits (12.0 and 12 name the same id); None for fractions and for floats too large to be
    exact (orjson reads integers beyond 64 bits as floats), which cannot name an id."""
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return None


def int_column(name: str, values: list[Any]) -> tuple[pl.Series, pl.Series]:
    """JSON integers; 5.0 counts as 5. Strings ("5"), booleans, fractions and out-of-range numbers offend."""
    if bool not in set(map(type, values)):
        try:
            return pl.Series(name, values, dtype=pl.Int64, strict=True), _no_offence(name, len(values))
        except (TypeError, OverflowError):
            pass
    typed: list[int | None] = []
    offending: list[str | None] = []
    for v in values:
        number = None
        if v is None:
            typed.append(None)
            offending.append(None)
            continue
        if isinstance(v, int) and not isinstance(v, bool):
            number = v
        elif isinstance(v, float) and v.is_integer():
            number = int(v)
        if number is not None and -(2**63) <= number < 2**63:
            typed.append(number)
            offending.append(None)
        else:
            typed.append(None)
            offending.append(show(v))
    return pl.Series(name, typed, dtype=pl.Int64), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


def float_column(name: str, values: list[Any]) -> tuple[pl.Series, pl.Series]:
    """JSON numbers as Float64. Strings ("26.88") and booleans offend."""
    if bool not in set(map(type, values)):
        try:
            return pl.Series(name, values, dtype=pl.Float64, strict=True), _no_offence(name, len(values))
        except (TypeError, OverflowError):
            pass
    typed: list[float | None] = []
    offending: list[str | None] = []
    for v in values:
        if v is None:
            typed.append(None)
            offending.append(None)
        elif isinstance(v, int | float) and not isinstance(v, bool):
            typed.append(float(v))
            offending.append(None)
        else:
            typed.append(None)
            offending.append(show(v))
    return pl.Series(name, typed, dtype=pl.Float64), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


# The shape almost every event has, parsed column-wise by polars; everything else goes to `try_parse_iso`, which
# stays the authority (polars would also take year 0000 or a leap second, 23:59:60, that Python rejects: the
# gate excludes them).
_FAST_ISO = (
    r"^[12]\d{3}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?$"
)
_HAS_OFFSET = r"(?:Z|[+-]\d{2}:\d{2})$"
_UTC_TO_SHANGHAI = timedelta(hours=8)  # fixed +08:00, as timeparse.SHANGHAI (no DST since 1991)
_UNPARSEABLE = object()


def timestamp_column(name: str, values: list[Any] | pl.Series, cache: dict[str, Any]) -> tuple[pl.Series, pl.Series]:
    """ISO 8601 text → naive Asia/Shanghai `Datetime("us")`; empty or null is absent; anything else offends.

    The common shape is parsed by polars; the rest row by row through `try_parse_iso`, with `cache` (text →
    parse, kept for one file) because re-sent records repeat their timestamps.
    """
    if isinstance(values, pl.Series):  # the fast path's column: strings or null only
        texts = values.alias(name)
    else:
        try:
            texts = pl.Series(name, values, dtype=pl.String, strict=True)
        except TypeError:
            texts = pl.Series(name, [v if isinstance(v, str) else None for v in values], dtype=pl.String)
    frame = pl.DataFrame({"t": texts})
    fast = frame.select(
        pl.when(pl.col("t").str.contains(_FAST_ISO))
        .then(
            pl.when(pl.col("t").str.contains(_HAS_OFFSET))
            .then(pl.col("t").str.replace("Z", "+00:00", literal=True))
            .otherwise(pl.col("t") + "+08:00")
        )
        .str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%:z", strict=False, time_unit="us")
        .dt.replace_time_zone(None)
        .alias(name)
    ).to_series()
    fast = fast + _UTC_TO_SHANGHAI
    if isinstance(values, pl.Series):
        delivered = values.is_not_null()
    else:
        delivered = pl.Series([v is not None for v in values], dtype=pl.Boolean)
    leftover = (fast.is_null() & delivered).arg_true().to_list()
    offending: list[str | None] = [None] * len(values)
    if leftover:
        if len(cache) > 500_000:
            cache.clear()
        parsed_rows: list[datetime | None] = []
        left_values = values.gather(leftover).to_list() if isinstance(values, pl.Series) else None
        for j, i in enumerate(leftover):
            v = values[i] if left_values is None else left_values[j]
            if isinstance(v, str):
                if v in cache:
                    parsed = cache[v]
                else:
                    parsed = None if not v.strip() else (try_parse_iso(v) or _UNPARSEABLE)
                    cache[v] = parsed
            else:
                parsed = _UNPARSEABLE
            if parsed is _UNPARSEABLE:
                offending[i] = show(v)
                parsed = None
            parsed_rows.append(parsed)
        fast = fast.scatter(leftover, pl.Series(parsed_rows, dtype=pl.Datetime("us")))
    return fast.alias(name), pl.Series(f"__bad_{name}", offending, dtype=pl.String)


def pseudonym_column(name: str, values: Iterable[Any], pseudonymise: Pseudonymiser) -> pl.Series:
    """Personal values → keyed pseudonyms; the clear value never enters a frame."""
    return pl.Series(name, [None if v is None else pseudonymise(v) for v in values], dtype=pl.String)


def text_series(name: str, values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """`text_column` for the fast path's String column."""
    stripped = values.alias(name).str.strip_chars()
    return stripped.set(stripped == "", None), _no_offence(name, len(values))


def no_offence(name: str, length: int) -> pl.Series:
    return _no_offence(name, length)


def map_unique(name: str, values: pl.Series, function: Callable[[Any], Any], dtype: pl.DataType) -> pl.Series:
    """`function` applied to the non-null values (null stays null), to each distinct value once when they repeat."""
    rows = values.is_not_null().arg_true()
    delivered = values.gather(rows)
    distinct = delivered.unique()
    if not distinct.len():
        return pl.repeat(None, len(values), dtype=dtype, eager=True).alias(name)
    if 2 * distinct.len() > delivered.len():  # mostly distinct: mapping back would cost more than it saves
        mapped = pl.Series([function(v) for v in delivered.to_list()], dtype=dtype)
        return pl.repeat(None, len(values), dtype=dtype, eager=True).scatter(rows, mapped).alias(name)
    mapped = pl.Series([function(v) for v in distinct.to_list()], dtype=dtype)
    return values.replace_strict(distinct, mapped, return_dtype=dtype).alias(name)


def pseudonym_series(name: str, values: pl.Series, pseudonymise: Pseudonymiser) -> pl.Series:
    """`pseudonym_column` for the fast path's String column, each distinct value pseudonymised once."""
    return map_unique(name, values, pseudonymise, pl.String())
