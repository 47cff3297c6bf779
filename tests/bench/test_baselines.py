"""Both baselines do the pipeline's work, disclosure control included: on the tiny generated landing zone their
indicator values, NULLs of withheld cells and conf_status codes equal the published warehouse's, key by key."""

from __future__ import annotations

import duckdb
import pytest

from benchmarks.baselines import duckdb_sql, pandas_indicators
from benchmarks.compare import compare
from tests.quality.conftest import baseline  # noqa: F401 (the published warehouse of the generated landing zone)


@pytest.mark.parametrize("runner", [duckdb_sql, pandas_indicators], ids=["duckdb_sql", "pandas"])
def test_a_baseline_computes_the_published_values_and_codes(baseline, tmp_path, runner):  # noqa: F811
    out = tmp_path / "baseline.parquet"
    assert runner.main(["--landing", str(baseline.landing), "--out", str(out)]) == 0
    result = compare(baseline.warehouse, out)
    assert result.equal, result.summary()
    withheld = duckdb.sql(f"select distinct conf_status from '{out}' where conf_status <> 'F' and value is null")
    assert {code for (code,) in withheld.fetchall()} == {"A", "O", "D"}  # the planted filings exercise every rule
