"""The dbt project's house style that a file listing can hold (docs/dbt_style.md): one YAML naming rule, and the
catalogue beside the figures it defines."""

from __future__ import annotations

from pathlib import Path

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"


def test_every_yaml_file_is_named_for_its_folder():
    """`_<folder>__models.yml` or `_<folder>__sources.yml`: so at most one of each per folder, in every layer."""
    yaml_files = sorted([*MODELS.rglob("*.yml"), *MODELS.rglob("*.yaml")])
    assert yaml_files
    misnamed = [
        path.relative_to(MODELS).as_posix()
        for path in yaml_files
        if path.name not in {f"_{path.parent.name}__models.yml", f"_{path.parent.name}__sources.yml"}
    ]
    assert misnamed == []


def test_the_catalogue_sits_beside_the_figures_it_defines():
    """marts.indicators (the catalogue) and marts.indicator_values are built in one folder, marts/indicators/."""
    folder = MODELS / "marts" / "indicators"
    assert {"indicator_values.sql", "indicators.sql"} <= {path.name for path in folder.glob("*.sql")}
    assert [path.relative_to(MODELS).as_posix() for path in MODELS.rglob("indicators.sql")] == [
        "marts/indicators/indicators.sql"
    ]
