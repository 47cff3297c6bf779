"""Statistical disclosure control on a real published warehouse (the quality tests' `baseline`, built by
`innostat run` from the generated landing zone): the planted cases are withheld with their codes, withheld cells
have no value, and no table or view of schema `marts` holds a credit code (docs/indicators.md)."""

from __future__ import annotations

import re

import duckdb

from pipelines.generate.common import is_valid_uscc
from pipelines.generate.rd_filings import DOMINATED_INDUSTRY, SPARSE_STREET
from tests.quality.conftest import rows

# GB 32100-2015: 18 characters of its alphabet (no I, O, S, V, Z), not inside a longer word nor the digits of a
# decimal fraction (0.029863253723383994 in a JSON sample is a ratio)
CREDIT_CODE = re.compile(r"(?<![0-9A-Z.])[0-9A-HJ-NPQRTUWXY]{18}(?![0-9A-Z])")
DISTRICT = "430406"


def _statuses(path, indicator: str) -> dict[tuple[str, str, str], str]:
    found = rows(
        path,
        "select period, region_code, member, conf_status from marts.indicator_values where indicator_code = ?",
        [indicator],
    )
    return {(period, region, member): status for period, region, member, status in found}


def test_the_planted_cases_are_withheld_with_their_codes(baseline):
    expenditure = _statuses(baseline.warehouse, "ENT_RD_EXPENDITURE")
    years = sorted({period for period, _, _ in expenditure})
    for year in years:
        assert expenditure[(year, SPARSE_STREET, "total")] == "A", year  # a town with two filers
        assert expenditure[(year, DISTRICT, DOMINATED_INDUSTRY)] == "O", year  # one firm holds ~90 %
    assert expenditure[(years[0], DISTRICT, "total")] == "O"  # the transformer maker's year
    assert expenditure[(years[-1], DISTRICT, "total")] == "F"
    assert "D" in expenditure.values()  # secondary suppression protected them
    intensity = _statuses(baseline.warehouse, "ENT_RD_INTENSITY")
    for key, status in intensity.items():
        if expenditure.get(key, "F") != "F":
            assert status != "F", key  # intensity follows expenditure
    # withheld: no value; free: a value; codes only on the three controlled indicators
    assert rows(
        baseline.warehouse,
        "select count(*) from marts.indicator_values where (conf_status = 'F') <> (value is not null) "
        "or (conf_status <> 'F' and indicator_code not in "
        "('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL', 'ENT_RD_INTENSITY'))",
    ) == [(0,)]


def test_no_additive_group_has_exactly_one_withheld_cell(baseline):
    groups = rows(
        baseline.warehouse,
        f"""
        with cells as (
            select indicator_code, period, conf_status, dimension = 'total' as in_streets,
                region_code = '{DISTRICT}' as in_industries
            from marts.indicator_values
            where indicator_code in ('ENT_RD_EXPENDITURE', 'ENT_RD_PERSONNEL')
        )
        select indicator_code, period, 'street' as grp, count(*) filter (where conf_status <> 'F') as withheld
        from cells where in_streets group by all
        union all
        select indicator_code, period, 'industry', count(*) filter (where conf_status <> 'F')
        from cells where in_industries group by all
        """,
    )
    assert groups and [g for g in groups if g[3] == 1] == []


def test_microdata_live_in_schema_confidential_only(baseline):
    tables = set(rows(baseline.warehouse, "select table_schema, table_name from information_schema.tables"))
    assert {("confidential", "fct_rd_filings"), ("confidential", "dim_enterprise")} <= tables
    assert ("confidential", "quarantine_rd_filings") in tables
    assert not {("marts", "fct_rd_filings"), ("marts", "dim_enterprise")} & tables
    # the rejected R&D rows are counted in marts, and complete only in confidential
    counted = rows(
        baseline.warehouse,
        "select count(*), count(raw), count(reason_detail) from marts.quarantine where feed = 'rd_filings'",
    )
    (complete,) = rows(baseline.warehouse, "select count(*), count(raw) from confidential.quarantine_rd_filings")
    assert counted == [(complete[0], 0, 0)] and complete[0] == complete[1] > 0


def _credit_codes(con: duckdb.DuckDBPyConnection, schema: str, known: set[str]) -> list[tuple[str, str, str]]:
    """(table, column, code) of every credit code in any text of `schema`: an 18-character word of the GB 32100
    alphabet with a valid check character, or a known enterprise's code anywhere, even inside a longer word."""
    anywhere = re.compile("|".join(sorted(known)))
    # every column that can hold text (a number column cannot hold a credit code, and its digits are no word)
    columns = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ? "
        "and data_type not in ('DOUBLE', 'FLOAT', 'BIGINT', 'INTEGER', 'SMALLINT', 'HUGEINT', 'BOOLEAN', "
        "'DATE', 'TIMESTAMP') and data_type not like 'DECIMAL%' order by table_name, ordinal_position",
        [schema],
    ).fetchall()
    found = []
    for table, column in columns:
        values = con.execute(
            f'select distinct cast("{column}" as varchar) from {schema}."{table}" where "{column}" is not null'
        ).fetchall()
        for (text,) in values:
            upper = text.upper()
            hits = [code for code in CREDIT_CODE.findall(upper) if is_valid_uscc(code) or code in known]
            hits += anywhere.findall(upper)
            if hits:
                found.append((table, column, hits[0]))
    return found


def test_no_table_or_view_of_marts_holds_a_credit_code(baseline):
    con = duckdb.connect(str(baseline.warehouse), read_only=True)
    try:
        known = {code for (code,) in con.execute("select credit_code from confidential.dim_enterprise").fetchall()}
        assert len(known) > 100 and all(is_valid_uscc(code) for code in known)  # the scan looks for these
        scanned = {table for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()}  # fmt: skip  # tables and views; warehouse_info has no text column
        assert {"indicator_values", "quarantine", "data_quality", "ingest_ledger", "warehouse_info"} <= scanned
        in_marts = _credit_codes(con, "marts", known)
        # the scan finds them where they are: the microdata and the quarantined rows' raw text and reasons
        in_confidential = {(table, column) for table, column, _ in _credit_codes(con, "confidential", known)}
    finally:
        con.close()
    assert in_marts == []
    assert {("fct_rd_filings", "credit_code"), ("quarantine_rd_filings", "raw")} <= in_confidential
