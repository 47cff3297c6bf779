"""Decimal numbers as the statistics office and enterprises type them: `1234.5` or `1,234.5`.

Only ASCII digits count (`[0-9]`, never `\\d`, which also matches full-width and other scripts' digits), and
thousands separators must be in the right places, so `1,23` or `12,345,67` are rejected rather than guessed at.
Parsing goes through `Decimal`, so a unit conversion such as 236.40 亿元 → yuan is exact before the single,
final conversion to float.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

import polars as pl

# Surrounding spaces a spreadsheet or a hand-typed CSV may carry: ASCII, tab, full-width, no-break.
SPACES = " \t\r\n\u3000\xa0"

# Marks the statistics office uses for "not available": empty, hyphen, em dash (U+2014), ellipsis (U+2026).
MISSING_MARKS: frozenset[str] = frozenset({"", "-", "\u2014", "\u2026"})

_UNSIGNED = r"(?:[0-9]+(?:\.[0-9]+)?|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?)"
# A decimal with an optional leading minus, so a negative number can be named as such in a reason.
SIGNED_DECIMAL_PATTERN = rf"^-?{_UNSIGNED}$"
UNSIGNED_DECIMAL_PATTERN = rf"^{_UNSIGNED}$"
_UNSIGNED_RE = re.compile(_UNSIGNED)


def strip_spaces(expr: pl.Expr) -> pl.Expr:
    """Trim the surrounding spaces of a text column (ASCII and full-width)."""
    return expr.str.strip_chars(SPACES)


def is_missing_mark(expr: pl.Expr) -> pl.Expr:
    """True where the (already trimmed) text is a "not available" mark."""
    return expr.is_in(list(MISSING_MARKS))


def is_decimal_text(expr: pl.Expr) -> pl.Expr:
    """True where the (already trimmed) text is a decimal number, possibly negative, possibly grouped."""
    return expr.str.contains(SIGNED_DECIMAL_PATTERN)


def is_negative_text(expr: pl.Expr) -> pl.Expr:
    """True where the (already trimmed) text is a well-formed negative decimal other than zero."""
    return is_decimal_text(expr) & expr.str.starts_with("-") & expr.str.contains(r"[1-9]")


def parse_decimal(text: object) -> Decimal | None:
    """The value of a decimal text (surrounding spaces allowed), or None for anything else.

    Missing marks give None too: the caller decides whether "not available" is allowed.
    """
    if not isinstance(text, str):
        return None
    body = text.strip(SPACES)
    negative = body.startswith("-")
    digits = body[1:] if negative else body
    if not digits or not _UNSIGNED_RE.fullmatch(digits):
        return None
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the pattern already guarantees a decimal
        return None
    return -value if negative else value


def decimal_to_float(value: Decimal | None) -> float | None:
    """Float of a Decimal, or None when absent or beyond the range of a double (it would become inf)."""
    if value is None:
        return None
    result = float(value) + 0.0  # + 0.0 turns a delivered "-0" into 0.0
    return result if math.isfinite(result) else None


def canonical_decimal(value: Decimal) -> str:
    """One text per number, so 612.5, 612.50 and 612.500 hash alike: no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
