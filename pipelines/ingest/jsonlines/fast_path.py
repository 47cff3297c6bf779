"""The plain-line fast path. Almost every delivered line is "plain": an object whose keys are all known, each at
most once, and whose values are null or exactly the simple JSON type the field expects. A strict pattern (polars
regex, the exact JSON grammar of that subset) recognises them, an in-memory DuckDB types them column-wise
(json_transform), orjson reads their escaped strings; every other line goes through `decoding.decode_batch` and
the builders of `columns`, which stay the authority. Both give identical rows (tests/ingest/test_json_fast_path.py).
"""

from __future__ import annotations

import functools
import json
import re
import threading

import polars as pl

from pipelines.ingest.jsonlines.decoding import Lines, line_frame, line_pairs, loads_json

FAST_PATH = True  # tests switch it off to compare against the Python path

_WS = r"[ \t]*"  # JSON whitespace but CR (a lone CR stays in a line): such lines just take the Python path
# Strings: no raw control character; escapes as JSON allows, but no surrogate escape (orjson rejects a lone one).
_STR = r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u(?:[0-9a-cA-Ce-fE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2}))*"'
_INT = r"(?:0|-?[1-9][0-9]{0,17})"  # fits Int64; no -0 (Python reads 0)
_NUM = r"(?:(?:0|-?[1-9][0-9]{0,15})(?:\.[0-9]{1,17})?|-0\.[0-9]{1,17})"  # no exponent, no -0 integer
_TOKENS = {  # field kind → the JSON values a plain line may hold there
    "text": f"{_STR}|{_INT}|null",  # strings, or integers kept as their digits (ids included)
    "str": f"{_STR}|null",  # timestamps and personal fields: strings only
    "int": f"{_INT}|null",
    "num": f"{_NUM}|null",
}


@functools.cache
def _plain_query(kinds: tuple[tuple[str, str], ...]) -> tuple[str, str, str]:
    """(the gate: a regex true exactly for the plain grammar, the DuckDB query typing the gated lines, the DuckDB
    query counting the distinct known keys present)."""
    # No space before a colon (what serialisers write), so `":` counts the keys below.
    member = "|".join(f'"{re.escape(k)}":{_WS}(?:{_TOKENS[kind]})' for k, kind in kinds)
    member = f"(?:{member})"
    gate = f"^{_WS}\\{{{_WS}(?:{member}(?:{_WS},{_WS}{member})*)?{_WS}\\}}{_WS}$"
    types = {"text": "VARCHAR", "str": "VARCHAR", "int": "BIGINT", "num": "DOUBLE"}
    spec = json.dumps({k: types[kind] for k, kind in kinds})
    paths = ", ".join(f"'$.\"{k}\"'" for k, _ in kinds)
    typed = f"SELECT source_row, unnest(json_transform(line, '{spec}')) FROM __plain_lines"
    present = f"SELECT list_sum(json_exists(line, [{paths}])::INTEGER[]) AS present FROM __plain_lines"
    return gate, typed, present


_duck = threading.local()


def _duckdb(query: str, lines: pl.DataFrame) -> pl.DataFrame:
    """`query` over `lines` (as table __plain_lines) in an in-memory DuckDB of this thread (never the warehouse),
    single-threaded like the rest of ingestion."""
    con = getattr(_duck, "con", None)
    if con is None:
        import duckdb

        con = _duck.con = duckdb.connect(":memory:", config={"threads": 1})
    con.register("__plain_lines", lines.to_arrow())
    try:
        result = pl.from_arrow(con.sql(query).to_arrow_table())
    finally:
        con.unregister("__plain_lines")
    assert isinstance(result, pl.DataFrame)
    return result


def split_plain(batch: Lines, kinds: dict[str, str]) -> tuple[pl.DataFrame | None, list[tuple[int, str]]]:
    """(plain lines as a typed frame with `source_row` and one column per field, the other lines).

    Kinds: "text" (string, or integer kept as its digits → String), "str" (string → String), "int" (→ Int64),
    "num" (→ Float64); null and absent are null. A string holding an escape is read by orjson itself.
    A line is plain when the gate passes (valid JSON of that shape, known keys only) and no key repeats.
    """
    if not FAST_PATH or not len(batch):
        return None, line_pairs(batch)
    gate, typed_query, present_query = _plain_query(tuple(kinds.items()))
    frame = line_frame(batch)
    gated = frame.filter(pl.col("line").str.contains(gate))
    if not gated.height:
        return None, line_pairs(batch)
    # Every key is `"name":`, and a string can only add `\":`: the count is at least the number
    # of keys. When it equals the number of distinct keys present, no key repeats (DuckDB would keep the first
    # copy, orjson the last). Most lines have no explicit null: there, the non-null fields already are that number.
    keys = gated.select(pl.col("line").str.count_matches('":', literal=True)).to_series()
    try:
        typed = _duckdb(typed_query, gated)
        aligned = typed["source_row"] == gated["source_row"]  # DuckDB keeps the order; checked all the same
        non_null = typed.select(pl.sum_horizontal([pl.col(k).is_not_null() for k in kinds])).to_series()
        plain_mask = aligned & (keys == non_null)
        unsure = (aligned & ~plain_mask).arg_true()
        if unsure.len():
            present = _duckdb(present_query, gated[unsure])["present"]
            plain_mask = plain_mask.scatter(unsure, keys.gather(unsure) == present)
    except Exception:  # DuckDB refusing a line must never lose it: the Python path takes the whole batch
        return None, line_pairs(batch)
    plain = typed.filter(plain_mask)
    plain = plain.with_columns(*(pl.col(name).cast(_DTYPES[kind]) for name, kind in kinds.items()))
    rest = (
        frame.filter(~pl.col("source_row").is_in(plain["source_row"].implode())) if plain.height < frame.height else []
    )
    plain_lines = gated.filter(plain_mask)["line"]
    escaped = plain_lines.str.contains("\\", literal=True).arg_true()
    if escaped.len():
        plain = _read_escaped(plain, plain_lines.gather(escaped).to_list(), escaped, kinds)
    return plain, line_pairs(rest)


_DTYPES = {"text": pl.String(), "str": pl.String(), "int": pl.Int64(), "num": pl.Float64()}


def _read_escaped(plain: pl.DataFrame, lines: list[str], rows: pl.Series, kinds: dict[str, str]) -> pl.DataFrame:
    """Strings of the lines holding an escape, decoded by orjson (the Python path's own decoder)."""
    objects = [loads_json(line) for line in lines]
    columns = []
    for name, kind in kinds.items():
        if kind not in ("text", "str"):
            continue
        values = [None if (v := obj.get(name)) is None else v if isinstance(v, str) else str(v) for obj in objects]
        columns.append(plain[name].scatter(rows, pl.Series(values, dtype=pl.String)))
    return plain.with_columns(columns)
