"""Releases end to end (issue 25): real `innostat run`s on the tiny sample.

A run, a late revision and a second run (with --full-refresh, which must keep the release tables) give two
releases; as-of release 1 equals the first published `indicator_values` exactly, release 2's changes are exactly
those of an independent diff of the two published tables; a third run over the same landing zone publishes
nothing and changes no byte; `innostat rollback` restores release 1's file, releases table included; the next
publish takes release id 3, never the withdrawn 2.
"""

from __future__ import annotations

import hashlib
import os

import dagster as dg
import pytest

from pipelines.cli import main
from tests.helpers import copy_landing, rows

PUBLISHED = "indicator_code, region_code, period, period_type, dimension, member, value, unit, conf_status"
KEY = slice(0, 6)  # the key columns' positions in PUBLISHED, period_type included (a function of the key)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _table(warehouse, source: str) -> list[tuple]:
    return rows(warehouse, f"select {PUBLISHED} from {source} order by all")


def _diff(before: list[tuple], after: list[tuple]) -> dict[str, set]:
    """Added, revised and removed keys between two published tables, computed here in Python."""
    old = {(r[0], r[1], r[2], r[4], r[5]): r for r in before}
    new = {(r[0], r[1], r[2], r[4], r[5]): r for r in after}
    return {
        "added": set(new) - set(old),
        "removed": set(old) - set(new),
        "revised": {k for k in set(old) & set(new) if old[k] != new[k]},
    }


def _build_sensor_tick(landing, warehouse):
    """One evaluation of the Dagster build sensor that follows every ingest run (and the nightly one)."""
    from pipelines.definitions import defs
    from pipelines.defs.operations.automation import build_after_ingest
    from pipelines.defs.resources import WarehouseResource

    resource = WarehouseResource(landing=str(landing), warehouse=str(warehouse))
    with dg.DagsterInstance.ephemeral() as instance:
        context = dg.build_sensor_context(instance=instance, resources={"warehouse": resource}, definitions=defs())
        return build_after_ingest(context)


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "releases-test-key")


def test_releases_as_of_nothing_new_and_rollback(generated, tmp_path, key, capsys):
    source, _ = generated
    landing = copy_landing(source, tmp_path / "landing")
    warehouse = tmp_path / "wh" / "innostat.duckdb"
    run = ["run", "--landing", str(landing), "--warehouse", str(warehouse)]

    assert main(run) == 0
    assert "published release 1" in capsys.readouterr().out
    first = _table(warehouse, "marts.indicator_values")
    first_sha = _sha(warehouse)

    # A late revision of 2021's population, delivered after everything else
    revision = landing / "statistics" / "2021年常住人口_最终核实_修订.csv"
    revision.write_text(
        "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,常住人口,万人,2021,99.5,最终核实\n", encoding="utf-8"
    )
    os.utime(revision, (2_000_000_000, 2_000_000_000))
    assert main([*run, "--full-refresh"]) == 0
    assert "published release 2" in capsys.readouterr().out
    second = _table(warehouse, "marts.indicator_values")
    expected = _diff(first, second)
    assert expected["revised"] and ("POPULATION", "430406", "2021", "total", "total") in expected["revised"]

    releases = rows(warehouse, "select release_id, values_added, values_revised, values_removed from marts.releases")
    assert releases == [
        (1, len(first), 0, 0),
        (2, len(expected["added"]), len(expected["revised"]), len(expected["removed"])),
    ]
    assert _table(warehouse, "marts.indicator_values_as_of(1)") == first
    assert _table(warehouse, "marts.indicator_values_as_of(2)") == second
    (published_at_1,) = rows(warehouse, "select published_at from marts.releases where release_id = 1")[0]
    assert _table(warehouse, f"marts.indicator_values_at('{published_at_1}')") == first
    changes = rows(
        warehouse,
        "select indicator_code, region_code, period, dimension, member, change from marts.indicator_value_changes(2)",
    )
    assert {c[:5] for c in changes if c[5] == "revised"} == expected["revised"]
    assert {c[:5] for c in changes if c[5] == "added"} == expected["added"]
    assert {c[:5] for c in changes if c[5] == "removed"} == expected["removed"]
    # history grows by the changed rows only
    (history,) = rows(warehouse, "select count(*) from marts.indicator_value_history")[0]
    assert history == len(first) + len(expected["added"]) + len(expected["revised"])
    (note,) = rows(warehouse, "select note_zh from marts.releases where release_id = 2")[0]
    assert "常住人口" in note

    assert main(["release-notes", "--warehouse", str(warehouse)]) == 0
    markdown = capsys.readouterr().out
    assert markdown.startswith("# 发布说明：第 2 号发布") and "| POPULATION | 430406 | 2021 | 合计 | 修订 |" in markdown
    assert main(["releases", "--warehouse", str(warehouse)]) == 0
    listed = capsys.readouterr().out
    assert "第1号发布" in listed and "第2号发布" in listed

    # Nothing new: exit 0, says so, not a byte changed
    second_sha = _sha(warehouse)
    previous_sha = _sha(warehouse.with_name(warehouse.name + ".state") / "previous.duckdb")
    assert main(run) == 0
    assert "nothing new" in capsys.readouterr().out
    assert isinstance(_build_sensor_tick(landing, warehouse), dg.SkipReason)  # nor does the nightly schedule
    assert _sha(warehouse) == second_sha
    assert _sha(warehouse.with_name(warehouse.name + ".state") / "previous.duckdb") == previous_sha == first_sha

    # Rollback restores release 1's file, releases table included, and names both releases
    assert main(["rollback", "--warehouse", str(warehouse)]) == 0
    said = capsys.readouterr().out
    assert "publishes release 1" in said and "release 2" in said and "withdrawn" in said
    assert _sha(warehouse) == first_sha
    assert rows(warehouse, "select release_id from marts.releases") == [(1,)]

    # The next publish rebuilds what release 1 lacks, under a new id: 2 was withdrawn and is never reused
    assert main(run) == 0
    assert "published release 3" in capsys.readouterr().out
    assert rows(warehouse, "select release_id from marts.releases order by 1") == [(1,), (3,)]
    assert _table(warehouse, "marts.indicator_values_as_of(3)") == second == _table(warehouse, "marts.indicator_values")
    assert rows(
        warehouse, "select values_added, values_revised, values_removed from marts.releases where release_id = 3"
    ) == [(len(expected["added"]), len(expected["revised"]), len(expected["removed"]))]
    (note,) = rows(warehouse, "select note_zh from marts.releases where release_id = 3")[0]
    assert "第2号发布已撤回" in note
