"""Real dbt on a tiny hand-made raw layer: the statistics and R&D-filing models give the contract's numbers.

The raw Parquet files are written with the ingestion's own raw schemas, so a change of a raw column shows up
here. Only the statistics / rd_filings models, their seeds and dim_region are built (path selection), so the
test does not depend on the other feeds' models.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from pipelines.ingest.layout import ensure_layout
from pipelines.lib.feeds import RAW_TABLES, raw_schema

ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT = ROOT / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")
SELECT = [
    "path:models/staging/statistics",
    "path:models/staging/rd_filings",
    "path:models/intermediate/statistics",
    "path:models/intermediate/rd_filings",
    "path:models/marts/statistics",
    "path:models/marts/indicators/indicators.sql",
    "path:models/confidential/rd_filings",
    "path:models/marts/core/dim_region.sql",
    "path:seeds",
]
DISTRICT = "430406"
STREET_1, STREET_2 = "430406001000", "430406002000"


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _write(raw_dir: Path, table: str, name: str, rows: list[dict]) -> None:
    schema = raw_schema(table)
    full = [{column: row.get(column) for column in schema} for row in rows]
    pl.DataFrame(full, schema=schema).write_parquet(raw_dir / table / f"{name}.parquet")


def _stat(region, code, period, value, *, file, row, at, delivered=None, status="快报") -> dict:
    unit = {"POPULATION": "persons", "INVENTION_PATENTS": "count", "HT_ENTERPRISES": "count"}.get(code, "yuan")
    return {
        "region_code": region,
        "indicator_code": code,
        "indicator_name": code,
        "period": period,
        "period_type": "month" if "-" in period else "year",
        "period_delivered": delivered or period,
        "value": value,
        "value_delivered": "—" if value is None else str(value),
        "unit": unit,
        "unit_delivered": "元",
        "status": status,
        "source_file": file,
        "source_row": row,
        "file_hash": file,
        "delivered_at": _ts(at),
        "ingested_at": _ts("2024-01-01 00:00:00"),
    }


def _filing(
    fid, code, year, street, industry, expense, personnel, revenue, cert, submitted, *, file, row, at, amends=None
):
    return {
        "filing_id": fid,
        "credit_code": code,
        "enterprise_name": f"企业{code[-4:]}",
        "street_code": street,
        "industry": industry,
        "filing_year": year,
        "rd_expense_wan_yuan": expense,
        "rd_personnel": personnel,
        "revenue_wan_yuan": revenue,
        "new_product_revenue_wan_yuan": 0.0,
        "invention_patent_applications": 0,
        "invention_patents_granted": 0,
        "ht_certificate_no": cert,
        "submitted_at": _ts(submitted),
        "amends_filing_id": amends,
        "content_hash": fid,
        "source_file": file,
        "source_row": row,
        "file_hash": file,
        "delivered_at": _ts(at),
        "ingested_at": _ts("2024-01-01 00:00:00"),
    }


def _raw_layer(raw_dir: Path) -> None:
    for table in RAW_TABLES:
        ensure_layout(raw_dir, table)
    flash, prelim, final = "statistics/flash.csv", "statistics/prelim.csv", "statistics/final.csv"
    _write(
        raw_dir,
        "statistics",
        "stats",
        [
            # GDP 2020: revised upwards, then a "not available" delivery that must not erase the number
            _stat(DISTRICT, "GDP", "2020", 24_000_000_000.0, file=flash, row=2, at="2021-01-20 09:00:00"),
            _stat(
                DISTRICT,
                "GDP",
                "2020",
                24_187_000_000.0,
                file=prelim,
                row=2,
                at="2021-03-01 09:00:00",
                status="初步核实",
            ),
            _stat(DISTRICT, "GDP", "2020", None, file=final, row=2, at="2021-06-01 09:00:00", status="最终核实"),
            _stat(DISTRICT, "RD_EXPENDITURE", "2020", 693_000_000.0, file=flash, row=3, at="2021-01-20 09:00:00"),
            # the same value delivered again is a vintage too
            _stat(DISTRICT, "RD_EXPENDITURE", "2020", 693_000_000.0, file=prelim, row=3, at="2021-03-01 09:00:00"),
            _stat(DISTRICT, "HT_VALUE_ADDED", "2020", 8_369_000_000.0, file=flash, row=4, at="2021-01-20 09:00:00"),
            _stat(DISTRICT, "INVENTION_PATENTS", "2020", 371.0, file=flash, row=5, at="2021-01-20 09:00:00"),
            _stat(DISTRICT, "POPULATION", "2020", 300_500.0, file=flash, row=6, at="2021-01-20 09:00:00"),
            _stat(DISTRICT, "FISCAL_ST_EXPENDITURE", "2020", 41_881_100.0, file=flash, row=7, at="2021-01-20 09:00:00"),
            _stat(DISTRICT, "FISCAL_EXPENDITURE", "2020", 0.0, file=flash, row=8, at="2021-01-20 09:00:00"),
            _stat(DISTRICT, "TECH_CONTRACT_TURNOVER", "2020", None, file=flash, row=9, at="2021-01-20 09:00:00"),
            # March 2020 in three forms: one key, the latest delivered is current (cumulative, as delivered)
            _stat(
                DISTRICT,
                "OUTPUT_POWER_EQUIPMENT",
                "2020-03",
                4_120_000_000.0,
                file="statistics/m03.csv",
                row=2,
                at="2020-04-15 10:00:00",
                delivered="2020年1-3月",
            ),
            _stat(
                DISTRICT,
                "OUTPUT_POWER_EQUIPMENT",
                "2020-03",
                4_130_000_000.0,
                file="statistics/m03_fix_a.csv",
                row=2,
                at="2020-05-15 10:00:00",
                delivered="2020-03",
            ),
            _stat(
                DISTRICT,
                "OUTPUT_POWER_EQUIPMENT",
                "2020-03",
                4_150_000_000.0,
                file="statistics/m03_fix_b.csv",
                row=2,
                at="2020-05-15 10:00:00",
                delivered="2020年3月",
            ),
            # the city: GDP 0 gives no ratio row
            _stat("430400", "GDP", "2020", 0.0, file=flash, row=10, at="2021-01-20 09:00:00"),
            _stat("430400", "RD_EXPENDITURE", "2020", 8_031_000_000.0, file=flash, row=11, at="2021-01-20 09:00:00"),
        ],
    )
    b1, b3 = "rd_filings/2020_batch1.csv", "rd_filings/2020_batch3.csv"
    a, b, c = "91430406884641726C", "914304065766280954", "9143040617978705X9"
    _write(
        raw_dir,
        "rd_filings",
        "filings",
        [
            _filing(
                "F-001",
                a,
                2020,
                STREET_1,
                "输变电",
                612.5,
                28,
                9810.0,
                "GR202043000123",
                "2021-03-15 10:22:00",
                file=b1,
                row=2,
                at="2021-04-08 17:00:00",
            ),
            # amendment, submitted later: current; it also moves the enterprise to another street
            _filing(
                "F-101",
                a,
                2020,
                STREET_2,
                "输变电",
                640.0,
                29,
                9810.0,
                "GR202043000123",
                "2021-06-02 09:10:00",
                file=b3,
                row=2,
                at="2021-07-03 09:00:00",
                amends="F-001",
            ),
            # paper return keyed in late: delivered last, dated earliest: loses
            _filing(
                "F-102",
                a,
                2020,
                STREET_1,
                "输变电",
                551.25,
                25,
                9810.0,
                "GR202043000123",
                "2021-03-01 08:00:00",
                file=b3,
                row=3,
                at="2021-07-03 09:00:00",
            ),
            _filing(
                "F-002",
                b,
                2020,
                STREET_1,
                "大数据",
                100.25,
                5,
                2000.0,
                None,
                "2021-03-20 11:00:00",
                file=b1,
                row=3,
                at="2021-04-08 17:00:00",
            ),
            # no revenue yet: in the sums, not in the intensity
            _filing(
                "F-003",
                c,
                2020,
                STREET_1,
                "大数据",
                50.0,
                3,
                0.0,
                None,
                "2021-03-21 11:00:00",
                file=b1,
                row=4,
                at="2021-04-08 17:00:00",
            ),
        ],
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    work = tmp_path_factory.mktemp("dbt_stat_rd")
    raw_dir = work / "raw"
    _raw_layer(raw_dir)
    build = work / "build.duckdb"
    env = {
        **os.environ,
        "INNOSTAT_RAW_DIR": str(raw_dir),
        "INNOSTAT_BUILD_PATH": str(build),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    }
    command = [
        str(DBT), "build", "--profiles-dir", ".", "--target-path", str(work / "target"),
        "--log-path", str(work / "logs"), "--indirect-selection", "cautious", "--select", *SELECT,
    ]  # fmt: skip
    result = subprocess.run(command, cwd=DBT_PROJECT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-6000:]
    con = duckdb.connect(str(build), read_only=True)
    yield con
    con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_current_value_is_latest_non_null_delivery(warehouse):
    current = dict(
        _rows(
            warehouse,
            "select indicator_code || '/' || period, value from intermediate.int_statistics_values_current "
            f"where region_code = '{DISTRICT}'",
        )
    )
    assert current["GDP/2020"] == 24_187_000_000.0  # the revision, not the later "not available"
    assert current["OUTPUT_POWER_EQUIPMENT/2020-03"] == 4_150_000_000.0  # latest of three forms, same key
    assert "TECH_CONTRACT_TURNOVER/2020" not in current  # only ever delivered as not available


def test_every_delivery_is_a_vintage(warehouse):
    gdp = _rows(
        warehouse,
        "select delivery_rank, value, status, is_current from marts.indicator_vintages "
        f"where indicator_code = 'GDP' and region_code = '{DISTRICT}' and period = '2020' order by delivery_rank",
    )
    assert gdp == [
        (1, 24_000_000_000.0, "快报", False),
        (2, 24_187_000_000.0, "初步核实", True),
        (3, None, "最终核实", False),
    ]
    repeats = _rows(
        warehouse,
        "select count(*) from marts.indicator_vintages "
        f"where indicator_code = 'RD_EXPENDITURE' and region_code = '{DISTRICT}'",
    )
    assert repeats == [(2,)]
    assert _rows(warehouse, "select count(*) from marts.indicator_vintages") == [(16,)]
    march = _rows(
        warehouse,
        "select count(*), count(distinct period) from marts.indicator_vintages "
        "where indicator_code = 'OUTPUT_POWER_EQUIPMENT'",
    )
    assert march == [(3, 1)]


def test_revisions_pair_the_first_and_latest_delivered_value(warehouse):
    """indicator_revisions and indicator_revision_stats against the vintages, recomputed here (ONS measures)."""
    deliveries: dict[tuple, list] = {}
    for code, region, period, value, status in _rows(
        warehouse,
        "select indicator_code, region_code, period, value, status from marts.indicator_vintages "
        "where period_type = 'year' and value is not null order by delivery_rank",
    ):
        deliveries.setdefault((code, region, period), []).append((value, status))
    expected = {k: (d[0], d[-1]) for k, d in deliveries.items() if len(d) > 1}
    got = {
        (code, region, period): ((first, first_status), (latest, latest_status))
        for code, region, period, first, first_status, latest, latest_status in _rows(
            warehouse,
            "select indicator_code, region_code, period, first_value, first_status, latest_value, latest_status "
            "from marts.indicator_revisions",
        )
    }
    assert got == expected
    assert got[("GDP", DISTRICT, "2020")] == ((24_000_000_000.0, "快报"), (24_187_000_000.0, "初步核实"))
    for code, compared, revised, mar in _rows(
        warehouse,
        "select indicator_code, keys_compared, keys_revised, mean_absolute_revision_ratio "
        "from marts.indicator_revision_stats",
    ):
        pairs = [pair for key, pair in expected.items() if key[0] == code]
        assert compared == len(pairs)
        assert revised == sum(first[0] != latest[0] for first, latest in pairs)
        ratios = [abs(latest[0] - first[0]) / abs(first[0]) for first, latest in pairs if first[0]]
        assert math.isclose(mar, sum(ratios) / len(ratios))


def test_derived_ratios(warehouse):
    ratios = {
        (code, region): (value, unit)
        for code, region, value, unit in _rows(
            warehouse,
            "select indicator_code, region_code, value, unit from intermediate.int_indicator_values__derived_ratios",
        )
    }
    assert ratios[("RD_INTENSITY", DISTRICT)] == (693_000_000.0 / 24_187_000_000.0, "ratio")
    assert ratios[("HT_VA_SHARE", DISTRICT)] == (8_369_000_000.0 / 24_187_000_000.0, "ratio")
    assert math.isclose(ratios[("PATENTS_PER_10K", DISTRICT)][0], 371 / 30.05, rel_tol=1e-12)
    assert ratios[("PATENTS_PER_10K", DISTRICT)][1] == "per_10k"
    assert ("FISCAL_ST_SHARE", DISTRICT) not in ratios  # denominator 0
    assert ("RD_INTENSITY", "430400") not in ratios  # GDP 0
    assert len(ratios) == 3


def test_current_filing_and_flags(warehouse):
    filings = dict(_rows(warehouse, "select filing_id, is_current from confidential.fct_rd_filings"))
    assert filings == {"F-001": False, "F-101": True, "F-102": False, "F-002": True, "F-003": True}
    current = _rows(warehouse, "select filing_id from intermediate.int_rd_filings_current order by filing_id")
    assert current == [("F-002",), ("F-003",), ("F-101",)]


def test_enterprise_rd_indicators(warehouse):
    values = {
        (code, region, dimension, member): value
        for code, region, dimension, member, value in _rows(
            warehouse,
            "select indicator_code, region_code, dimension, member, value "
            "from intermediate.int_indicator_values__enterprise_rd where period = '2020'",
        )
    }
    total = (DISTRICT, "total", "total")
    assert values[("ENT_RD_EXPENDITURE", *total)] == (640.0 + 100.25 + 50.0) * 10_000
    assert values[("ENT_RD_PERSONNEL", *total)] == 29 + 5 + 3
    assert values[("ENT_HT_CERTIFIED", *total)] == 1
    assert math.isclose(values[("ENT_RD_INTENSITY", *total)], (640.0 + 100.25) / (9810.0 + 2000.0), rel_tol=1e-12)
    # by street: the amendment's street counts, the superseded filing's does not
    assert values[("ENT_RD_EXPENDITURE", STREET_2, "total", "total")] == 6_400_000.0
    assert values[("ENT_RD_EXPENDITURE", STREET_1, "total", "total")] == 1_502_500.0
    # by industry
    assert values[("ENT_RD_EXPENDITURE", DISTRICT, "industry", "大数据")] == 1_502_500.0
    assert values[("ENT_RD_INTENSITY", DISTRICT, "industry", "大数据")] == 100.25 / 2000.0
    assert values[("ENT_HT_CERTIFIED", DISTRICT, "industry", "输变电")] == 1
    assert not any(region != DISTRICT and dimension == "industry" for _, region, dimension, _ in values)


def test_dim_enterprise_and_catalogue(warehouse):
    a = _rows(
        warehouse,
        "select street_code, industry, first_filing_year, last_filing_year, filings, is_ht_certified_latest "
        "from confidential.dim_enterprise where credit_code = '91430406884641726C'",
    )
    assert a == [(STREET_2, "输变电", 2020, 2020, 3, True)]
    codes = {code for (code,) in _rows(warehouse, "select code from marts.indicators")}
    assert len(codes) == 35
    assert {"RD_INTENSITY", "ENT_HT_CERTIFIED", "GS_ONE_VISIT_RATE", "SEC_CAMERA_ONLINE_RATE"} <= codes
    progress = _rows(
        warehouse,
        "select period, actual_value from marts.plan_target_progress "
        "where target_code = 'RD_INTENSITY_3PCT' order by period",
    )
    assert progress == [("2020", 693_000_000.0 / 24_187_000_000.0), ("2021", None), ("2022", None)]
    # backbone: certified, 研发费用 >= 300万元 and >= 3% of revenue: only enterprise A (640 / 9810 = 6.5%)
    backbone = _rows(
        warehouse,
        "select actual_value from marts.plan_target_progress "
        "where target_code = 'INNOVATIVE_BACKBONE_ENTERPRISES_20' and period = '2020'",
    )
    assert backbone == [(1.0,)]


def test_contracted_tables_publish_the_contracts_columns_in_order(warehouse):
    """fct_rd_filings and indicator_vintages name no columns in SQL (columns_of drops what they leave out): their
    published columns and order are those of the contract in the YAML beside them, and nothing else."""
    for schema, folder, table in [
        ("confidential", "rd_filings", "fct_rd_filings"),
        ("marts", "statistics", "indicator_vintages"),
    ]:
        models = yaml.safe_load((DBT_PROJECT / "models" / schema / folder / f"_{folder}__models.yml").read_text())
        (model,) = [model for model in models["models"] if model["name"] == table]
        published = [
            name
            for (name,) in _rows(
                warehouse,
                "select column_name from information_schema.columns "
                f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position",
            )
        ]
        assert published == [column["name"] for column in model["columns"]], table
    columns = {
        name
        for (name,) in _rows(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = 'intermediate' and table_name = 'int_rd_filings_ranked'",
        )
    }
    published = {
        name
        for (name,) in _rows(
            warehouse,
            "select column_name from information_schema.columns "
            "where table_schema = 'confidential' and table_name = 'fct_rd_filings'",
        )
    }
    assert columns - published == {"file_hash"}
