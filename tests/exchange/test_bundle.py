"""The release bundle (issue 26) of a real run: read back by independent readers, compared with the release.

One `innostat run` over the tiny sample publishes a warehouse and its `release-…` export folder; the tests export
from it (and from copies where a withheld cell or a release history is planted) and read every file back with
pysdmx, frictionless and openpyxl, offline.
"""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import openpyxl
import pandas as pd
import pytest
from lxml import etree
from pysdmx.io import get_datasets, read_sdmx
from pysdmx.model import Codelist, Dataflow, DataStructureDefinition

from pipelines.cli import main
from pipelines.exchange.bundle import MANIFEST, export_all, exports_dir
from pipelines.lib.settings import Settings
from tests.helpers import copy_landing, rows

XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@pytest.fixture(scope="module")
def published(generated, tmp_path_factory) -> Settings:
    landing, _ = generated
    root = tmp_path_factory.mktemp("exchange")
    settings = Settings.resolve(copy_landing(landing, root / "landing"), root / "wh" / "innostat.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INNOSTAT_PII_KEY", "exchange-test-key")
        assert main(["run", "--landing", str(settings.landing), "--warehouse", str(settings.warehouse)]) == 0
    return settings


def _copy(settings: Settings, tmp_path: Path) -> Path:
    copy = tmp_path / "wh" / "innostat.duckdb"
    copy.parent.mkdir(parents=True)
    shutil.copy2(settings.warehouse, copy)
    return copy


def _export(warehouse: Path, out: Path, *release: str) -> Path:
    assert main(["export", "--out", str(out), "--warehouse", str(warehouse), *release]) == 0
    return out


def _zh_names(structure: Path, codelist: str) -> dict[str, str]:
    root = etree.parse(str(structure)).getroot()
    (scheme,) = [e for e in root.iter("{*}Codelist") if e.get("id") == codelist]
    return {
        code.get("id"): name.text
        for code in scheme.iter("{*}Code")
        for name in code.iter("{*}Name")
        if name.get(XML_LANG) == "zh"
    }


def _bundle_observations(folder: Path) -> dict[tuple, tuple]:
    """The CSV as pysdmx reads it with the structure, keyed like marts.indicator_values (members by their Chinese
    name in CL_BREAKDOWN_MEMBER): key → (value or None, unit, conf_status)."""
    (dataset,) = get_datasets(folder / "indicator_values.csv", folder / "structure.xml")
    members = _zh_names(folder / "structure.xml", "CL_BREAKDOWN_MEMBER")
    frame = dataset.data
    seen = {}
    for row in frame.itertuples(index=False):
        member = "total" if row.BREAKDOWN == "total" else members[row.BREAKDOWN_MEMBER]
        if row.BREAKDOWN == "category":
            member = row.BREAKDOWN_MEMBER
        value = None if pd.isna(row.OBS_VALUE) else float(row.OBS_VALUE)
        key = (row.INDICATOR, row.REF_AREA, str(row.TIME_PERIOD), row.BREAKDOWN, member)
        assert key not in seen
        seen[key] = (value, row.UNIT_MEASURE, row.CONF_STATUS)
    assert len(seen) == len(frame)
    return seen


def _published_observations(warehouse: Path, sql: str | None = None) -> dict[tuple, tuple]:
    sql = sql or "select * from marts.indicator_values"
    return {
        (r[0], r[1], r[2], r[4], r[5]): (r[6] if r[8] == "F" else None, r[7], r[8])
        for r in rows(
            warehouse,
            f"select indicator_code, region_code, period, period_type, dimension, member, "
            f"value, unit, conf_status from ({sql})",
        )
    }


def test_the_bundle_reads_back_as_the_release_it_exports(published, tmp_path):
    folder = _export(published.warehouse, tmp_path / "bundle")
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [
            "indicator_values.csv",
            "structure.xml",
            "indicator_values.xlsx",
            "indicators.csv",
            "areas.csv",
            "datapackage.json",
            "MANIFEST",
        ]
    )
    # the structure, schema-validated by pysdmx, with Chinese names beside the English ones
    structures = read_sdmx(folder / "structure.xml", validate=True).structures
    codelists = {s.id: s for s in structures if isinstance(s, Codelist)}
    assert set(codelists) == {
        "CL_INDICATOR",
        "CL_AREA",
        "CL_BREAKDOWN",
        "CL_BREAKDOWN_MEMBER",
        "CL_UNIT_MEASURE",
        "CL_CONF_STATUS",
    }
    assert any(isinstance(s, Dataflow) for s in structures)
    (dsd,) = [s for s in structures if isinstance(s, DataStructureDefinition)]
    assert [c.id for c in dsd.components.dimensions] == [
        "INDICATOR",
        "REF_AREA",
        "BREAKDOWN",
        "BREAKDOWN_MEMBER",
        "TIME_PERIOD",
    ]
    catalogue = dict(rows(published.warehouse, "select code, name_zh from marts.indicators"))
    assert _zh_names(folder / "structure.xml", "CL_INDICATOR") == catalogue
    assert {c.id for c in codelists["CL_INDICATOR"]} == set(catalogue)

    # the data: every observation of the release, same values, units and codes
    header = (folder / "indicator_values.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("STRUCTURE,STRUCTURE_ID,ACTION,")
    assert header.endswith("OBS_VALUE,UNIT_MEASURE,CONF_STATUS")
    assert _bundle_observations(folder) == _published_observations(published.warehouse)

    # the data package passes frictionless validate (its command line, as a receiver runs it)
    frictionless = Path(sys.executable).with_name("frictionless")
    check = subprocess.run([frictionless, "validate", "datapackage.json"], cwd=folder, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # the workbook: a cover sheet, one sheet per domain, units in frozen headers, one number per free value
    workbook = openpyxl.load_workbook(folder / "indicator_values.xlsx")
    assert workbook.sheetnames[0] == "说明 About"
    domains = workbook.sheetnames[1:]
    assert len(domains) == 4
    numbers = 0
    for name in domains:
        sheet = workbook[name]
        assert sheet.freeze_panes == "F2"
        headers = [c.value for c in sheet[1]][5:]
        assert all("[" in h and "(" in h for h in headers)  # name, unit and code
        numbers += sum(isinstance(c.value, float | int) for row in sheet.iter_rows(min_row=2, min_col=6) for c in row)
    free = rows(published.warehouse, "select count(*) from marts.indicator_values where conf_status = 'F'")[0][0]
    assert numbers == free
    cover = " ".join(str(c.value) for row in workbook["说明 About"].iter_rows() for c in row if c.value)
    assert "引用方式 How to cite" in cover and "图例 Legend" in cover

    # the MANIFEST holds the SHA-256 of every other file
    lines = (folder / MANIFEST).read_text(encoding="utf-8").splitlines()
    check = subprocess.run(
        ["sha256sum", "-c", "-"], cwd=folder, input="\n".join(lines[3:]) + "\n", capture_output=True, text=True
    )
    assert check.returncode == 0 and check.stdout.count(": OK") == 6


def test_the_publish_wrote_the_bundle_and_another_export_gives_the_same_bytes(published, tmp_path):
    (written,) = sorted(exports_dir(published.warehouse).iterdir())  # by the export asset, during the run
    again = _export(published.warehouse, tmp_path / "again")
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in again.iterdir())
    for path in written.iterdir():
        assert path.read_bytes() == (again / path.name).read_bytes(), path.name
    assert export_all(published.warehouse) == []  # every bundle is current: nothing rewritten


def _text_of_every_file(folder: Path) -> str:
    texts = []
    for path in folder.iterdir():
        data = path.read_bytes()
        if zipfile.is_zipfile(io.BytesIO(data)):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                texts += [archive.read(name).decode("utf-8") for name in archive.namelist()]
        else:
            texts.append(data.decode("utf-8"))
    return "\n".join(texts)


def test_a_withheld_value_appears_nowhere_in_the_bundle(published, tmp_path):
    """A cell planted as withheld *with its value still in the table*: the bundle carries its code, never its value."""
    warehouse = _copy(published, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        key = con.execute(
            "select indicator_code, region_code, period, dimension, member, value from marts.indicator_values "
            "where indicator_code = 'ENT_RD_EXPENDITURE' and conf_status = 'F' order by value desc limit 1"
        ).fetchone()
        for table in ("indicator_values", "indicator_value_history"):  # the history: as the release published it
            con.execute(
                f"update marts.{table} set conf_status = 'A' where indicator_code = ? and region_code = ? "
                "and period = ? and dimension = ? and member = ?",
                key[:5],
            )
    value = key[5]
    folder = _export(warehouse, tmp_path / "bundle")
    observations = _bundle_observations(folder)
    assert observations[(key[0], key[1], key[2], key[3], key[4])] == (None, "yuan", "A")
    text = _text_of_every_file(folder)
    spellings = {repr(value), str(value), f"{value:.2f}", f"{value:,.2f}", f"{value:.0f}", f"{value / 1e4:.2f}"}
    assert all(spelling not in text for spelling in spellings), spellings
    sheet = openpyxl.load_workbook(folder / "indicator_values.xlsx")["企业研发 Enterprise R&D"]
    coded = rows(warehouse, "select count(*) from marts.indicator_values where conf_status = 'A'")[0][0]
    assert [c.value for row in sheet.iter_rows(min_row=2, min_col=6) for c in row].count("A") == coded


def test_no_value_that_disclosure_control_withheld_is_in_the_published_bundle(published):
    """The cells withheld by the real rule (the generator plants them), their unsuppressed values recomputed from
    the intermediate model: none is in any file the publish wrote."""
    withheld = rows(
        published.warehouse,
        "select i.value, v.unit from marts.indicator_values as v "
        "join intermediate.int_indicator_values__enterprise_rd as i "
        "using (indicator_code, region_code, period, dimension, member) "
        "where v.conf_status <> 'F' and v.unit in ('yuan', 'ratio') and i.value >= 0.001",
    )
    assert withheld, "the sample holds no withheld money or ratio cell"
    (folder,) = sorted(exports_dir(published.warehouse).iterdir())
    text = _text_of_every_file(folder)

    def found(value: float) -> bool:
        spelling = str(int(value)) if value == int(value) else repr(value)
        return re.search(rf"(?<![\d.]){re.escape(spelling)}(?![\d])", text) is not None

    free = rows(
        published.warehouse, "select value from marts.indicator_values where conf_status = 'F' and unit = 'yuan'"
    )
    assert all(found(value) for (value,) in free)  # the search finds what is published
    # a withheld value that some free cell also has (a town of 36100 residents) is published as that cell
    published_values = {value for (value,) in rows(published.warehouse, "select value from marts.indicator_values")}
    assert not [value for value, _ in withheld if value not in published_values and found(value)]


def test_any_release_is_rebuilt_from_the_history(published, tmp_path):
    """Two releases in the agreed history tables (PUBLISHING.md §2): release 2 revised one value of release 1."""
    warehouse = _copy(published, tmp_path)
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create or replace table marts.releases as select * from (values "
            "(1, timestamp '2026-03-01 09:00:00', 10, 0, 0, '首次发布'), "
            "(2, timestamp '2026-04-01 09:00:00', 0, 1, 0, '修订1项')) "
            "as t(release_id, published_at, values_added, values_revised, values_removed, note_zh)"
        )
        con.execute(
            "create or replace table marts.indicator_value_history as "
            "select indicator_code, region_code, period, period_type, dimension, member, value, unit, conf_status, "
            "1 as valid_from, case when indicator_code = 'GDP' and region_code = '430406' and period = '2021' "
            "then 2 end as valid_to from marts.indicator_values"
        )
        con.execute(
            "insert into marts.indicator_value_history select indicator_code, region_code, period, period_type, "
            "dimension, member, value * 1.1, unit, conf_status, 2, null from marts.indicator_value_history "
            "where valid_to = 2"
        )
    first = _export(warehouse, tmp_path / "r1", "--release", "1")
    second = _export(warehouse, tmp_path / "r2")  # the latest
    history = "select * exclude (valid_from, valid_to) from marts.indicator_value_history where valid_from <= {r} "
    history += "and (valid_to is null or valid_to > {r})"
    for folder, release in ((first, 1), (second, 2)):
        assert _bundle_observations(folder) == _published_observations(warehouse, history.format(r=release))
        assert f"release_id: {release}\n" in (folder / MANIFEST).read_text(encoding="utf-8")
    # release 2's workbook marks the revised cell, release 1's marks none
    revised = []
    for folder in (first, second):
        sheet = openpyxl.load_workbook(folder / "indicator_values.xlsx")["统计局指标 Statistics"]
        revised.append(sum(c.fill.fgColor.rgb == "00FFF2CC" for row in sheet.iter_rows(min_row=2) for c in row))
    assert revised == [0, 1]
    assert main(["export", "--out", str(tmp_path / "r3"), "--warehouse", str(warehouse), "--release", "3"]) == 2
    assert not (tmp_path / "r3").exists()
    (exports_dir(warehouse) / "release-current").mkdir(parents=True)  # written before the history existed
    (exports_dir(warehouse) / "release-3").mkdir()  # a release withdrawn by a rollback
    assert [done.release_id for done in export_all(warehouse)] == [1, 2]
    assert sorted(p.name for p in exports_dir(warehouse).iterdir()) == ["release-1", "release-2"]


def test_a_failed_export_is_an_alert_and_not_a_failure(tmp_path, caplog):
    # imported here: the Dagster definitions read dbt's manifest, which the fixture's `innostat run` refreshes first
    from pipelines.defs.publish.exports import release_exports
    from pipelines.defs.resources import WarehouseResource

    missing = WarehouseResource(landing=str(tmp_path), warehouse=str(tmp_path / "none.duckdb"))
    with caplog.at_level(logging.WARNING, logger="innostat.alerts"):
        result = dg.materialize([release_exports], resources={"warehouse": missing}, raise_on_error=False)
    assert result.success
    (materialised,) = result.asset_materializations_for_node("warehouse__exports")
    assert "nothing is published" in materialised.metadata["failed"].value
    assert "数据包导出失败" in caplog.text
