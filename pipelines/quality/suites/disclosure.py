"""marts.indicator_values, disclosure control: the suites over the frames that pipelines/quality/disclosure.py
recomputes from the microdata (the cells with their expected code, the additive groups, the intensity pairs, the
attacker's intervals). Every rule blocks: a publish that would reveal one enterprise does not happen."""

from __future__ import annotations

import great_expectations.expectations as gxe

from pipelines.lib.settings import QualityThresholds
from pipelines.quality.suites.core import BLOCK, Column, Rule, Suite, in_set

TABLE = "marts.indicator_values"
KEY = ("indicator_code", "region_code", "period", "dimension", "member")
# the frames of pipelines.quality.disclosure.Audit
FRAMES = ("cells", "groups", "intensity", "protection")


def build_suites(thresholds: QualityThresholds | None = None) -> list[Suite]:
    return [
        Suite(
            table=TABLE,
            frame="cells",
            part="disclosure",
            index_columns=(*KEY, "conf_status", "expected_status"),
            rules=(
                Rule(
                    "conf_status_matches_recomputation",
                    gxe.ExpectColumnPairValuesToBeEqual(column_A="conf_status", column_B="expected_status"),
                    BLOCK,
                    "every R&D cell carries the code the rules give when recomputed from the current filings in "
                    "Python (A fewer than 3 firms, O one firm over 85 %, D secondary, F free), and nothing else is "
                    "withheld: a wrong F publishes a firm's figure, a wrong A/O/D hides a figure for nothing",
                    "published code = recomputed code on every cell (disclosure_rules)",
                ),
                Rule(
                    "withheld_value_is_null",
                    gxe.ExpectColumnPairValuesToBeEqual(column_A="is_withheld", column_B="value_is_null"),
                    BLOCK,
                    "a withheld cell keeps its row with a NULL value; a value left in it is published all the same",
                    "value NULL exactly where conf_status is A, O or D",
                ),
            ),
        ),
        Suite(
            table=TABLE,
            frame="groups",
            part="disclosure_groups",
            index_columns=("indicator_code", "period", "additive_group"),
            rules=(
                Rule(
                    "additive_group_not_singly_withheld",
                    gxe.ExpectColumnValuesToNotBeInSet(column="withheld_cells", value_set=[1]),
                    BLOCK,
                    "one withheld cell in streets + total or industries + total is the total minus the others",
                    "0 or ≥ 2 withheld cells per group, indicator and year",
                ),
            ),
        ),
        Suite(
            table=TABLE,
            frame="intensity",
            part="disclosure_intensity",
            index_columns=(*KEY, "conf_status"),
            rules=(
                in_set(
                    "intensity_withheld_with_expenditure",
                    "intensity_withheld",
                    [True],
                    "R&D intensity is R&D spend over revenue: published beside a withheld spend it helps recover it",
                    threshold="ENT_RD_INTENSITY withheld wherever ENT_RD_EXPENDITURE of its key is",
                ),
            ),
        ),
        Suite(
            table=TABLE,
            frame="protection",
            part="disclosure_intervals",
            index_columns=(*KEY, "conf_status"),
            rules=(
                in_set(
                    "primary_cells_protected",
                    "is_protected",
                    [True],
                    "the sums (total = Σ streets = Σ industries) and the published cells bound every withheld "
                    "cell; solved by linear programming (SciPy HiGHS), a primary cell's interval must reach "
                    "±10 % of its true value, or an attacker knows the firm's figure closely",
                    where=Column("is_primary") == True,  # noqa: E712 (a GX condition, not a comparison)
                    threshold="lower ≤ 90 % and upper ≥ 110 % of the true value (protection in disclosure_rules)",
                ),
            ),
        ),
    ]
