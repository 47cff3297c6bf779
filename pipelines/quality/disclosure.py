"""Disclosure control recomputed independently of dbt, and the attacker's intervals (issue 24's proof).

dbt sets `marts.indicator_values.conf_status` (F free, A fewer than 3 contributors, O one contributor over 85 %,
D secondary) from the enterprise microdata. This module does it again from scratch, in polars, from the current
filings (`MICRODATA`) and the parameters (seed `disclosure_rules`), with the exact rules of docs/indicators.md,
and then audits what was *published*:

- `recompute`: the expected code of every controlled cell (primary, secondary to the fixed point, intensity);
- `group_counts`: every additive group (streets + district total, industries + district total, per indicator and
  year) holds 0 or at least 2 withheld cells;
- `intensity_pairs`: every ENT_RD_INTENSITY whose ENT_RD_EXPENDITURE is withheld is withheld;
- `intervals`: for each withheld cell, the lowest and highest value an attacker can derive from the published cells
  and the additivity (total = Σ streets = Σ industries), by linear programming (SciPy's HiGHS). A primary cell
  (A, O) must stay uncertain by at least ±protection (10 %) of its true value.

Money is summed in exact integers (0.01 yuan, as dbt sums decimals), so ties and thresholds are decided exactly.
Nothing here returns a credit code; true values stay inside the audit (the frames the checks judge carry codes,
keys and booleans only).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import duckdb
import numpy as np
import polars as pl

from pipelines.lib.regions import DISTRICT_CODE

# The enterprise microdata the rules count and sum (schema confidential: officials cannot read it).
MICRODATA = "confidential.fct_rd_filings"
# The disclosure parameters (dbt seed); DEFAULT_RULES below when the build has none.
RULES_TABLE = "reference.disclosure_rules"

EXPENDITURE, PERSONNEL, INTENSITY = "ENT_RD_EXPENDITURE", "ENT_RD_PERSONNEL", "ENT_RD_INTENSITY"
CONTROLLED = (EXPENDITURE, PERSONNEL, INTENSITY)
ADDITIVE = (EXPENDITURE, PERSONNEL)
FREE, FEW, DOMINANT, SECONDARY = "F", "A", "O", "D"
PRIMARY = (FEW, DOMINANT)
ABSENT = "absent"  # the expected or published code of a cell that exists on one side only
KEY = ("indicator_code", "region_code", "period", "dimension", "member")
STREETS, INDUSTRIES = "streets", "industries"  # the two additive groups, visited in this order
MONEY_UNITS = 100  # exact sums in 0.01 yuan: 万元 with 6 decimals × 10 000


@dataclass(frozen=True)
class DisclosureRules:
    """The parameters (PUBLISHING.md §1): A below `min_contributors`; O when the `dominance_n` largest
    contributions exceed `dominance_k` of the cell; primary cells kept uncertain by ±`protection`."""

    min_contributors: int = 3
    dominance_n: int = 1
    dominance_k: Fraction = Fraction(85, 100)
    protection: Fraction = Fraction(10, 100)


DEFAULT_RULES = DisclosureRules()

# seed column (or parameter name) → field; a share named `…_percent` is in percent (85), else a ratio (0.85)
_RULE_NAMES = {
    "min_contributors": "min_contributors",
    "dominance_n": "dominance_n",
    "dominance_k": "dominance_k",
    "dominance_k_percent": "dominance_k",
    "dominance_share": "dominance_k",
    "protection": "protection",
    "protection_percent": "protection",
    "required_protection": "protection",
    "protection_share": "protection",
}


def _share(name: str, text: str) -> Fraction:
    value = Fraction(str(text).strip())
    return value / 100 if name.endswith("_percent") else value


def load_rules(con: duckdb.DuckDBPyConnection) -> DisclosureRules:
    """The seed's parameters, whether it is one row of columns or (parameter, value) rows; defaults for any it
    does not name, and all defaults when the build has no seed."""
    schema, table = RULES_TABLE.split(".")
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, table]
    ).fetchall()[0][0]
    if not found:
        return DEFAULT_RULES
    frame = con.sql(f"select * from {RULES_TABLE}").pl()
    pairs: dict[str, str] = {}
    if {"parameter", "value"} <= set(frame.columns):
        pairs = {str(p): str(v) for p, v in frame.select("parameter", "value").iter_rows()}
    elif frame.height:
        pairs = {c: str(v) for c, v in frame.row(0, named=True).items()}
    values: dict[str, object] = {}
    for name, text in pairs.items():
        target = _RULE_NAMES.get(name.strip().lower())
        if target in ("min_contributors", "dominance_n"):
            values[target] = int(Fraction(text))
        elif target is not None:
            values[target] = _share(name.strip().lower(), text)
    return DisclosureRules(**{**DEFAULT_RULES.__dict__, **values})


# --- the recomputation ---------------------------------------------------------------------------------------


def read_filings(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The current filings, as exact integer contributions (no credit code: one current filing per enterprise)."""
    return con.sql(
        f"""
        select cast(filing_year as varchar) as period, street_code, industry,
               cast(round(rd_expense_wan_yuan * 1000000) as bigint) as expense,
               cast(rd_personnel as bigint) as personnel,
               revenue_wan_yuan > 0 as has_revenue
        from {MICRODATA} where is_current
        """
    ).pl()


def _breakdowns(filings: pl.DataFrame) -> pl.DataFrame:
    """Each filing in its three cells: the district total, its street, its industry."""
    common = ["period", "expense", "personnel", "has_revenue"]
    return pl.concat(
        [
            filings.select(
                *common, region_code=pl.lit(DISTRICT_CODE), dimension=pl.lit("total"), member=pl.lit("total")
            ),
            filings.select(*common, region_code="street_code", dimension=pl.lit("total"), member=pl.lit("total")),
            filings.select(*common, region_code=pl.lit(DISTRICT_CODE), dimension=pl.lit("industry"), member="industry"),
        ]
    )


def primary_cells(filings: pl.DataFrame, rules: DisclosureRules = DEFAULT_RULES) -> pl.DataFrame:
    """Every controlled cell with its contributors, its exact sum (`units`: 0.01 yuan or persons) and its primary
    code: A below min_contributors, else O when the n largest exceed k of a non-zero sum, else F."""
    cells = _breakdowns(filings)
    contributions = pl.concat(
        [
            cells.select(*_keys(), indicator_code=pl.lit(EXPENDITURE), c="expense"),
            cells.select(*_keys(), indicator_code=pl.lit(PERSONNEL), c="personnel"),
            cells.filter("has_revenue").select(*_keys(), indicator_code=pl.lit(INTENSITY), c="expense"),
        ]
    )
    k = rules.dominance_k
    summed = contributions.group_by("indicator_code", *_keys()).agg(
        contributors=pl.len(), units=pl.col("c").sum(), top=pl.col("c").top_k(rules.dominance_n).sum()
    )
    code = (
        pl.when(pl.col("contributors") < rules.min_contributors)
        .then(pl.lit(FEW))
        .when((pl.col("units") > 0) & (pl.col("top") * k.denominator > pl.col("units") * k.numerator))
        .then(pl.lit(DOMINANT))
        .otherwise(pl.lit(FREE))
    )
    return summed.with_columns(conf_status=code).drop("top").sort(KEY)


def _keys() -> list[str]:
    return ["region_code", "period", "dimension", "member"]


def group_of(region_code: str, dimension: str) -> tuple[str, ...]:
    """The additive groups a cell belongs to: the district total to both."""
    if dimension == "industry":
        return (INDUSTRIES,)
    return (STREETS, INDUSTRIES) if region_code == DISTRICT_CODE else (STREETS,)


def secondary(cells: list[dict], protection: Fraction = DEFAULT_RULES.protection) -> None:
    """Withhold further cells (D) of one additive indicator and year, in place, to the fixed point: visit the
    street group then the industry group until a round changes nothing. A group needs one more cell when it has
    exactly one withheld cell, or a primary cell the others cannot hide by ±protection; then the smallest free
    cell reaching protection × the target's value is withheld, or the largest free cell when none reaches it."""
    groups = {
        name: [c for c in cells if name in group_of(c["region_code"], c["dimension"])] for name in (STREETS, INDUSTRIES)
    }
    changed = True
    while changed:
        changed = False
        for name in (STREETS, INDUSTRIES):
            members = groups[name]
            withheld = [c for c in members if c["conf_status"] != FREE]
            free = [c for c in members if c["conf_status"] == FREE]
            if not withheld or not free:
                continue
            target = None
            if len(withheld) == 1:
                target = withheld[0]["units"]
            else:
                total = sum(c["units"] for c in withheld)
                exposed = [
                    c["units"]
                    for c in withheld
                    if c["conf_status"] in PRIMARY and c["units"] * protection > total - c["units"]
                ]
                target = max(exposed) if exposed else None
            if target is None:
                continue
            tie = lambda c: (c["region_code"], c["member"])  # noqa: E731
            reaching = [c for c in free if c["units"] >= target * protection]
            if reaching:
                chosen = min(reaching, key=lambda c: (c["units"], *tie(c)))
            else:
                chosen = min(free, key=lambda c: (-c["units"], *tie(c)))
            chosen["conf_status"] = SECONDARY
            changed = True


def recompute(filings: pl.DataFrame, rules: DisclosureRules = DEFAULT_RULES) -> pl.DataFrame:
    """The expected code of every controlled cell (KEY, contributors, units, conf_status)."""
    cells = primary_cells(filings, rules)
    done = []
    for _, part in cells.filter(pl.col("indicator_code").is_in(ADDITIVE)).group_by(
        "indicator_code", "period", maintain_order=True
    ):
        rows = part.to_dicts()
        secondary(rows, rules.protection)
        done.extend(rows)
    additive = pl.DataFrame(done, schema=cells.schema) if done else cells.clear()
    withheld_spend = additive.filter((pl.col("indicator_code") == EXPENDITURE) & (pl.col("conf_status") != FREE))
    intensity = cells.filter(pl.col("indicator_code") == INTENSITY).join(
        withheld_spend.select(*_keys(), spend_withheld=pl.lit(True)), on=_keys(), how="left"
    )
    intensity = intensity.with_columns(
        conf_status=pl.when((pl.col("conf_status") == FREE) & pl.col("spend_withheld").fill_null(False))
        .then(pl.lit(SECONDARY))
        .otherwise("conf_status")
    ).drop("spend_withheld")
    return pl.concat([additive, intensity]).sort(KEY)


# --- the published side and the audit ------------------------------------------------------------------------


def read_published(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The controlled rows of marts.indicator_values, and any other row that is not free with a value."""
    codes = ", ".join(f"'{c}'" for c in CONTROLLED)
    return con.sql(
        f"""
        select indicator_code, region_code, period, dimension, member, value, conf_status
        from marts.indicator_values
        where indicator_code in ({codes}) or conf_status is distinct from '{FREE}' or value is null
        """
    ).pl()


def compare_cells(published: pl.DataFrame, expected: pl.DataFrame) -> pl.DataFrame:
    """One row per cell on either side: its published and expected code, withheld, value null. A cell outside
    control is expected F; a cell on one side only has `absent` on the other."""
    joined = published.join(
        expected.select(*KEY, expected_status="conf_status"), on=list(KEY), how="full", coalesce=True
    )
    controlled = pl.col("indicator_code").is_in(CONTROLLED)
    return joined.select(
        *KEY,
        conf_status=pl.col("conf_status").fill_null(ABSENT),
        expected_status=pl.when(controlled).then(pl.col("expected_status").fill_null(ABSENT)).otherwise(pl.lit(FREE)),
        is_withheld=pl.col("conf_status").is_in([*PRIMARY, SECONDARY]).fill_null(False),
        value_is_null=pl.col("value").is_null() & pl.col("conf_status").is_not_null(),
    ).sort(KEY)


def _group_rows(published: pl.DataFrame) -> pl.DataFrame:
    additive = published.filter(pl.col("indicator_code").is_in(ADDITIVE))
    streets = additive.filter(pl.col("dimension") == "total").with_columns(additive_group=pl.lit(STREETS))
    industries = additive.filter(
        (pl.col("region_code") == DISTRICT_CODE) & pl.col("dimension").is_in(["total", "industry"])
    ).with_columns(additive_group=pl.lit(INDUSTRIES))
    return pl.concat([streets, industries])


def group_counts(published: pl.DataFrame) -> pl.DataFrame:
    """Per indicator, year and additive group: its cells and how many are withheld (conf_status not F)."""
    return (
        _group_rows(published)
        .group_by("indicator_code", "period", "additive_group")
        .agg(cells=pl.len(), withheld_cells=(pl.col("conf_status") != FREE).sum().cast(pl.Int64))
        .sort("indicator_code", "period", "additive_group")
    )


def intensity_pairs(published: pl.DataFrame) -> pl.DataFrame:
    """Every published intensity whose expenditure cell of the same key is withheld, and whether it is too."""
    spend = published.filter((pl.col("indicator_code") == EXPENDITURE) & (pl.col("conf_status") != FREE))
    return (
        published.filter(pl.col("indicator_code") == INTENSITY)
        .join(spend.select(_keys()), on=_keys(), how="semi")
        .select(*KEY, "conf_status", intensity_withheld=pl.col("conf_status") != FREE)
        .sort(KEY)
    )


@dataclass
class Intervals:
    """The attacker's interval of every withheld cell (the frame keeps codes and booleans only)."""

    frame: pl.DataFrame
    tightest_primary: float | None = None  # smallest protection of a primary cell (share of its true value)
    tightest_secondary: float | None = None
    groups: int = 0
    infeasible: list[str] = field(default_factory=list)  # indicator/year whose published cells contradict the sums


def _true_value(indicator: str, units: int | None) -> float | None:
    if units is None:
        return None
    return units / MONEY_UNITS if indicator == EXPENDITURE else float(units)


def intervals(published: pl.DataFrame, expected: pl.DataFrame, rules: DisclosureRules = DEFAULT_RULES) -> Intervals:
    """Solve, per additive indicator and year, min and max of every cell published without a value, subject to
    total = Σ streets, total = Σ industries, published cells fixed and withheld cells ≥ 0 (HiGHS). Where the true
    values are not exactly additive (a filing without a street), the unpublished remainder is one more variable
    ≥ 0 of that sum. A primary cell is protected when lower ≤ (1 − p) × true and upper ≥ (1 + p) × true."""
    from scipy.optimize import linprog

    truth = {
        tuple(row[k] for k in KEY): _true_value(row["indicator_code"], row["units"])
        for row in expected.select(*KEY, "units").iter_rows(named=True)
    }
    p = float(rules.protection)
    out: list[dict] = []
    result = Intervals(frame=pl.DataFrame())
    rows = _group_rows(published)
    for (indicator, period), part in published.filter(pl.col("indicator_code").is_in(ADDITIVE)).group_by(
        "indicator_code", "period", maintain_order=True
    ):
        cells = part.to_dicts()
        unknown = [c for c in cells if c["value"] is None]
        if not unknown:
            continue
        result.groups += 1
        index = {tuple(c[k] for k in KEY): i for i, c in enumerate(unknown)}
        members = rows.filter((pl.col("indicator_code") == indicator) & (pl.col("period") == period))
        scale = max([abs(c["value"]) for c in cells if c["value"] is not None] + [1.0])
        equations: list[tuple[np.ndarray, float]] = []
        slacks = 0
        for name in (STREETS, INDUSTRIES):
            group = members.filter(pl.col("additive_group") == name).to_dicts()
            if not group:
                continue
            coefficients = np.zeros(len(unknown) + 2)
            rhs = 0.0
            true_gap = 0.0
            for c in group:
                sign = 1.0 if c["region_code"] == DISTRICT_CODE and c["dimension"] == "total" else -1.0
                key = tuple(c[k] for k in KEY)
                if c["value"] is None:
                    coefficients[index[key]] += sign
                else:
                    rhs -= sign * c["value"] / scale
                true_gap += sign * (truth.get(key) or 0.0) / scale
            if true_gap > 1e-9:  # the sum does not cover the total: an unpublished remainder ≥ 0
                coefficients[len(unknown) + slacks] = -1.0
                slacks += 1
            if coefficients.any():
                equations.append((coefficients, rhs))
        width = len(unknown) + slacks
        a_eq = np.array([c[:width] for c, _ in equations]) if equations else None
        b_eq = np.array([r for _, r in equations]) if equations else None
        for c in unknown:
            key = tuple(c[k] for k in KEY)
            objective = np.zeros(width)
            objective[index[key]] = 1.0
            low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
            true = truth.get(key)
            feasible = low.status == 0 and high.status in (0, 3)
            if not feasible and f"{indicator} {period}" not in result.infeasible:
                result.infeasible.append(f"{indicator} {period}")
            lower = low.fun * scale if low.status == 0 else None
            upper = float("inf") if high.status == 3 else (-high.fun * scale if high.status == 0 else None)
            protected = (
                feasible
                and true is not None
                and lower <= (1 - p) * true + 1e-7 * scale
                and upper >= (1 + p) * true - 1e-7 * scale
            )
            primary = c["conf_status"] in PRIMARY
            if feasible and true:
                share = min(true - lower, upper - true) / true
                attribute = "tightest_primary" if primary else "tightest_secondary"
                current = getattr(result, attribute)
                setattr(result, attribute, share if current is None else min(current, share))
            out.append(
                {
                    **{k: c[k] for k in KEY},
                    "conf_status": c["conf_status"],
                    "is_primary": primary,
                    "is_protected": protected,
                }
            )
    schema = {
        **dict.fromkeys(KEY, pl.String()),
        "conf_status": pl.String(),
        "is_primary": pl.Boolean(),
        "is_protected": pl.Boolean(),
    }
    result.frame = pl.DataFrame(out, schema=schema)
    return result


def _percent(share: Fraction) -> str:
    return f"{float(share * 100):g}"


# --- everything the check judges -----------------------------------------------------------------------------


@dataclass
class Audit:
    """The frames the disclosure suites judge, and one message per expectation for marts.data_quality (counts
    and protections only: no credit code, no withheld value)."""

    frames: dict[str, pl.DataFrame]
    messages: dict[str, str]


def audit(con: duckdb.DuckDBPyConnection) -> Audit:
    """Recompute and audit the working build open on `con`."""
    rules = load_rules(con)
    filings = read_filings(con)
    expected = recompute(filings, rules)
    published = read_published(con)
    cells = compare_cells(published, expected)
    groups = group_counts(published)
    pairs = intensity_pairs(published)
    solved = intervals(published, expected, rules)

    codes = expected["conf_status"].value_counts().sort("conf_status")
    tally = ", ".join(f"{code} {count}" for code, count in codes.iter_rows())
    wrong = cells.filter(pl.col("conf_status") != pl.col("expected_status")).height
    withheld = cells.filter("is_withheld")
    leaky = cells.filter(pl.col("is_withheld") != pl.col("value_is_null")).height
    singles = groups.filter(pl.col("withheld_cells") == 1).height
    unshielded = pairs.filter(~pl.col("intensity_withheld")).height
    primary = solved.frame.filter("is_primary")
    exposed = primary.filter(~pl.col("is_protected")).height
    required = f"±{_percent(rules.protection)} %"

    def shown(share: float | None) -> str:
        return "none" if share is None else ("unbounded" if share == float("inf") else f"±{share * 100:.1f} %")

    protection = (
        f"{solved.frame.height} withheld cells in {solved.groups} indicator-years solved with HiGHS: "
        f"{primary.height} primary, {exposed} not protected by {required}; tightest primary protection "
        f"{shown(solved.tightest_primary)}, tightest secondary {shown(solved.tightest_secondary)}"
    )
    if solved.infeasible:
        protection += f"; published cells contradict the sums in {', '.join(solved.infeasible)}"
    messages = {
        "conf_status_matches_recomputation": (
            f"{expected.height} controlled cells recomputed from {filings.height} current filings "
            f"(min {rules.min_contributors} contributors, dominance n = {rules.dominance_n}, "
            f"k = {_percent(rules.dominance_k)} %, protection {required}): {tally or 'none'}; {wrong} cells differ"
        ),
        "withheld_value_is_null": f"{withheld.height} withheld cells; {leaky} cells where value NULL ≠ withheld",
        "additive_group_not_singly_withheld": (
            f"{groups.height} additive groups, {groups['withheld_cells'].sum()} withheld cells counted in them; "
            f"{singles} groups with exactly one"
        ),
        "intensity_withheld_with_expenditure": (
            f"{pairs.height} intensity cells whose expenditure is withheld; {unshielded} published"
        ),
        "primary_cells_protected": protection,
    }
    frames = {
        "cells": cells,
        "groups": groups,
        "intensity": pairs,
        "protection": solved.frame,
    }
    return Audit(frames=frames, messages=messages)
