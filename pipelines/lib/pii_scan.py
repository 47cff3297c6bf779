"""Finding people where the contract names none: resident IDs and phone numbers in free text.

The contract's personal fields are pseudonymised by name (pipelines/lib/pseudonymise.py). Source systems also put
people in free text (`item_name` = "申请人赵飞燕 电话138-1234-5678"), in extra columns and in malformed rows. This
module finds them, formatted ones included:
- resident IDs (GB 11643-1999): 18 characters (region digit 1–8, a real birth date; a wrong check character
  still counts, as the contract says for the named fields), or the old 15-digit form with a real birth date;
  the region, date and serial groups may be split by a space or a dash;
- mobiles: 11 digits 1[3-9]…, also `138-1234-5678`, `138 1234 5678`, `+86 139 1111 2222`, `0086…`;
- landlines with an area code: `0734-1234567`, `(0734)1234567`, `073412345678`.

A number must stand alone (no digit right before or after), so longer numbers (amounts, credit codes, 12-digit
region codes) never match inside. Columns are scanned by a polars regex first (`PREFILTER`, the same shapes
without look-around): only the few values it lets through are checked by the exact Python patterns, so a scan
costs one vectorised `str.contains` per column.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

import polars as pl

from pipelines.lib.pseudonymise import Pseudonymiser

# Rust-regex prefilter (no look-around there): the exact shapes below, with a non-digit or the text's edge on either
# side. It lets through a superset of what the exact patterns accept (they also refuse a decimal point or comma
# with a digit beside the number), and not the ids made of a date and a sequence (`ZW202105030001`) that every
# event carries, so a clean column costs one vectorised pass and no Python.
_L, _R = "(?:^|[^0-9])", "(?:$|[^0-9])"
_PRE_COUNTRY = "(?:(?:\\+|00) ?86[ \\-]?)?"
PREFILTER = "|".join(
    (
        f"{_L}{_PRE_COUNTRY}1[3-9][0-9](?:[ \\-]?[0-9]{{4}}){{2}}{_R}",
        f"{_L}{_PRE_COUNTRY}(?:\\(0[1-9][0-9]{{1,2}}\\)|0[1-9][0-9]{{1,2}})[ \\-]?[1-9][0-9]{{6,7}}{_R}",
        f"{_L}[1-8][0-9]{{5}}[ \\-]?(?:18|19|20)[0-9]{{2}}[01][0-9][0-3][0-9][ \\-]?[0-9]{{3}}[0-9Xx]"
        "(?:$|[^0-9A-Za-z])",
        f"{_L}[1-8][0-9]{{7}}[01][0-9][0-3][0-9][0-9]{{3}}{_R}",
    )
)

_SEP = r"[ \-]?"
# A number stands alone: no digit (nor a decimal point or thousands comma with a digit) right before or after,
# so amounts (`15000000000.50`) and longer codes never match in part.
_BEFORE = r"(?<![0-9])(?<![0-9][.,])"
_AFTER = r"(?![0-9]|[.,][0-9])"
_COUNTRY = r"(?:(?:\+|00)[ ]?86[ \-]?)?"
_MOBILE = re.compile(rf"{_BEFORE}{_COUNTRY}1[3-9][0-9](?:{_SEP}[0-9]{{4}}){{2}}{_AFTER}")
_AREA = r"(?:\(0[1-9][0-9]{1,2}\)|0[1-9][0-9]{1,2})"
_LANDLINE = re.compile(rf"{_BEFORE}{_COUNTRY}{_AREA}{_SEP}[1-9][0-9]{{6,7}}{_AFTER}")
_DATE8 = r"(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
_ID18 = re.compile(rf"{_BEFORE}[1-8][0-9]{{5}}{_SEP}{_DATE8}{_SEP}[0-9]{{3}}[0-9Xx](?![0-9A-Za-z]|[.,][0-9])")
_ID15 = re.compile(rf"{_BEFORE}[1-8][0-9]{{5}}[0-9]{{2}}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{{3}}{_AFTER}")
_PREFILTER = re.compile(PREFILTER)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text).upper()


def _id18_ok(digits: str) -> bool:
    """A real birth date is enough: the contract pseudonymises an ID with a wrong check character too (a typo
    does not make it anyone else's); the shape (first digit 1–8, a date, no digit around) keeps amounts out."""
    return _real_date(digits[6:14])


def check_character_ok(number: str) -> bool:
    """GB 11643-1999 MOD 11-2: the 18th character of a resident ID from the first 17 digits."""
    digits = _digits(number)
    if len(digits) != 18 or not digits[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == digits[17]


def _real_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return born <= date.today()


def find(text: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of every resident ID, mobile and landline in `text`, left to right, not overlapping.
    Kinds: `resident_id`, `mobile`, `landline`."""
    if not text or not _PREFILTER.search(text):
        return []
    found: list[tuple[str, int, int]] = []
    for m in _ID18.finditer(text):
        if _id18_ok(_digits(m.group(0))):
            found.append(("resident_id", m.start(), m.end()))
    for m in _ID15.finditer(text):
        if _real_date("19" + m.group(0)[6:12]):
            found.append(("resident_id", m.start(), m.end()))
    for kind, pattern in (("mobile", _MOBILE), ("landline", _LANDLINE)):
        found += [(kind, m.start(), m.end()) for m in pattern.finditer(text)]
    found.sort(key=lambda f: (f[1], -f[2]))
    kept: list[tuple[str, int, int]] = []
    for item in found:
        if not kept or item[1] >= kept[-1][2]:
            kept.append(item)
    return kept


def kinds(text: str) -> list[str]:
    """The distinct kinds of personal number in `text`, in order of appearance."""
    return list(dict.fromkeys(kind for kind, _, _ in find(text)))


def flag_series(values: pl.Series) -> pl.Series:
    """Per value, the kinds of personal number it holds (`mobile, resident_id`), or null."""
    texts = values.cast(pl.String)
    candidates = texts.str.contains(PREFILTER).fill_null(False).arg_true()
    flags = pl.repeat(None, len(texts), dtype=pl.String, eager=True)
    if candidates.len():
        found = [", ".join(kinds(v)) or None for v in texts.gather(candidates).to_list()]
        flags = flags.scatter(candidates, pl.Series(found, dtype=pl.String))
    return flags.alias(values.name)


def flag_personal_text(frame: pl.DataFrame, columns: Iterable[str], into: str = "__personal") -> pl.DataFrame:
    """`frame` with column `into`: which of `columns` hold a personal number, and of which kind
    (`item_name: mobile, resident_id`), or null; the values themselves are never named.

    All columns go through the prefilter in one select (polars runs them side by side); only rows it lets
    through are looked at again, in Python."""
    names = list(columns)
    if not names or frame.is_empty():
        return frame.with_columns(pl.lit(None, pl.String).alias(into))
    hits = frame.select(pl.col(n).cast(pl.String).str.contains(PREFILTER).fill_null(False) for n in names)
    rows = hits.select(pl.any_horizontal(pl.all())).to_series().arg_true()
    if not rows.len():
        return frame.with_columns(pl.lit(None, pl.String).alias(into))
    suspects = frame[rows]
    parts = []
    for name in names:
        flags = flag_series(suspects[name])
        parts.append(pl.when(flags.is_not_null()).then(pl.format(f"{name}: {{}}", flags)))
    found = suspects.select(pl.concat_str(parts, separator="; ", ignore_nulls=True)).to_series()
    found = found.set(found == "", None)
    flagged = pl.repeat(None, frame.height, dtype=pl.String, eager=True).scatter(rows, found)
    return frame.with_columns(flagged.alias(into))


def _normalised(kind: str, text: str) -> str:
    """The number alone, so every way of writing it gets one pseudonym (`+86 138-1234-5678` → `13812345678`)."""
    digits = _digits(text)
    if kind != "resident_id" and text.lstrip().startswith(("+86", "+ 86", "0086", "00 86")):
        digits = digits[4:] if digits.startswith("0086") else digits[2:]
    return digits


def scrub(text: str, pseudonymise: Pseudonymiser) -> str:
    """`text` with every personal number replaced by its pseudonym (of the number alone)."""
    found = find(text)
    if not found:
        return text
    out, last = [], 0
    for kind, start, end in found:
        out += [text[last:start], pseudonymise(_normalised(kind, text[start:end])) or ""]
        last = end
    return "".join([*out, text[last:]])


def scrub_value(value: Any, pseudonymise: Pseudonymiser) -> Any:
    """A quarantined value made safe: a text holding a personal number *and* Chinese (a name may stand beside
    the number: 申请人赵飞燕 电话…) becomes one pseudonym whole; other texts get the numbers replaced; containers
    are scrubbed at any depth."""
    if isinstance(value, dict):
        return {k: scrub_value(v, pseudonymise) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v, pseudonymise) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        text = str(value)
        return value if not find(text) else scrub(text, pseudonymise)
    if isinstance(value, str) and find(value):
        return pseudonymise(value) if _CJK.search(value) else scrub(value, pseudonymise)
    return value


def scrub_json_text(text: str | None, pseudonymise: Pseudonymiser) -> str | None:
    """A quarantine `raw` (JSON, or a line that is not JSON) with `scrub_value` applied to every value."""
    if text is None or not _PREFILTER.search(text):
        return text
    try:
        parsed = json.loads(text)
    except ValueError:
        return scrub(text, pseudonymise)
    if not isinstance(parsed, dict | list):
        return scrub(text, pseudonymise)
    return json.dumps(scrub_value(parsed, pseudonymise), ensure_ascii=False)


def scrub_column(values: pl.Series, pseudonymise: Pseudonymiser, *, json_values: bool = False) -> pl.Series:
    """`scrub` (or `scrub_json_text`) over a column, in Python only for the values the prefilter lets through."""
    candidates = values.str.contains(PREFILTER).fill_null(False).arg_true()
    if not candidates.len():
        return values
    one = scrub_json_text if json_values else scrub
    scrubbed = [one(v, pseudonymise) for v in values.gather(candidates).to_list()]
    return values.scatter(candidates, pl.Series(scrubbed, dtype=pl.String))
