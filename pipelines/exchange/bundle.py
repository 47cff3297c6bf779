"""Write a release bundle: the files, their data package, their MANIFEST; one release, or every release.

The bundle of a release is a function of the release alone: exporting it twice gives the same bytes (no clock is
read; every date written is the release's `published_at`). Files are written to a temporary name and renamed,
so a reader of the folder never sees half a file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from frictionless import Package

from pipelines.exchange import sdmx
from pipelines.exchange.release import Release, connect, published_at, read_release, release_ids, resolve
from pipelines.exchange.workbook import workbook_bytes

DATA_CSV = "indicator_values.csv"
STRUCTURE_XML = "structure.xml"
WORKBOOK = "indicator_values.xlsx"
INDICATORS_CSV = "indicators.csv"
AREAS_CSV = "areas.csv"
DATAPACKAGE = "datapackage.json"
MANIFEST = "MANIFEST"


@dataclass(frozen=True)
class Exported:
    release_id: int | str
    folder: Path
    observations: int
    withheld: int


def exports_dir(warehouse: Path) -> Path:
    """Where the publish writes every release's bundle: `<warehouse>.exports/release-<N>/`."""
    return warehouse.with_name(warehouse.name + ".exports")


def _csv(header: tuple[str, ...], rows: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _catalogue_csv(release: Release) -> bytes:
    return _csv(
        ("code", "name_zh", "name_en", "unit", "frequency", "definition", "source"),
        [(i.code, i.name_zh, i.name_en, i.unit, i.frequency, i.definition, i.source) for i in release.indicators],
    )


def _areas_csv(release: Release) -> bytes:
    return _csv(
        ("region_code", "name_zh", "name_en", "level", "parent_code"),
        [(r.code, r.name_zh, r.name_en, r.level, r.parent_code or "") for r in release.regions],
    )


def _field(name: str, kind: str, description: str, **constraints) -> dict:
    field = {"name": name, "type": kind, "description": description}
    if constraints:
        field["constraints"] = constraints
    return field


def datapackage(release: Release) -> bytes:
    """The Frictionless descriptor of the bundle's CSV files, with the catalogue's names and definitions."""
    indicators = "; ".join(f"{i.code}: {i.name_en} ({i.name_zh}), {i.unit}" for i in release.indicators)
    values = {
        "name": "indicator_values",
        "path": DATA_CSV,
        "title": "Published indicator values (SDMX-CSV 2.0) 发布的指标数值",
        "description": "One row per published value of the release. A withheld value has an empty OBS_VALUE "
        "and its CONF_STATUS (A, O, D). The SDMX structure is in structure.xml.",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {
            "fields": [
                _field("STRUCTURE", "string", "SDMX-CSV: the kind of structure referenced", enum=["dataflow"]),
                _field("STRUCTURE_ID", "string", "SDMX-CSV: the dataflow, agency:id(version)", required=True),
                _field("ACTION", "string", "SDMX-CSV action: I (information, the whole release)", enum=["I"]),
                _field("INDICATOR", "string", f"指标 Indicator code (indicators.csv): {indicators}", required=True),
                _field("REF_AREA", "string", "地区 Area code (areas.csv)", required=True),
                _field(
                    "BREAKDOWN",
                    "string",
                    "分组维度 Breakdown: total, industry, department, category",
                    required=True,
                    enum=list(sdmx.BREAKDOWNS),
                ),
                _field(
                    "BREAKDOWN_MEMBER",
                    "string",
                    "分组 Breakdown member: `total`, a category code, or the id of an industry or department "
                    "(its Chinese name is in structure.xml, code list CL_BREAKDOWN_MEMBER)",
                    required=True,
                ),
                _field(
                    "TIME_PERIOD",
                    "string",
                    "时间 Year (2021) or month (2021-03, Asia/Shanghai)",
                    required=True,
                    pattern=r"\d{4}(-\d{2})?",
                ),
                _field("OBS_VALUE", "number", "数值 The value in the base unit of UNIT_MEASURE; empty when withheld"),
                _field("UNIT_MEASURE", "string", "计量单位 Unit", required=True, enum=list(sdmx.UNITS)),
                _field(
                    "CONF_STATUS",
                    "string",
                    "保密状态 F free; A fewer than 3 contributors; O one contributor over 85 %; D secondary",
                    required=True,
                    enum=list(sdmx.CONF_STATUS),
                ),
            ],
            "missingValues": [""],
            "primaryKey": ["INDICATOR", "REF_AREA", "BREAKDOWN", "BREAKDOWN_MEMBER", "TIME_PERIOD"],
            "foreignKeys": [
                {"fields": ["INDICATOR"], "reference": {"resource": "indicators", "fields": ["code"]}},
                {"fields": ["REF_AREA"], "reference": {"resource": "areas", "fields": ["region_code"]}},
            ],
        },
    }
    catalogue = {
        "name": "indicators",
        "path": INDICATORS_CSV,
        "title": "Indicator catalogue 指标目录",
        "description": "Every indicator code with its names, unit, frequency, precise definition and source feed.",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {
            "fields": [
                _field("code", "string", "indicator code, as INDICATOR in indicator_values.csv", required=True),
                _field("name_zh", "string", "Chinese name", required=True),
                _field("name_en", "string", "English name", required=True),
                _field("unit", "string", "base unit of the values", required=True, enum=list(sdmx.UNITS)),
                _field("frequency", "string", "year, month, or both"),
                _field("definition", "string", "the precise formula and rules"),
                _field("source", "string", "the feed(s) the value comes from"),
            ],
            "primaryKey": ["code"],
        },
    }
    areas = {
        "name": "areas",
        "path": AREAS_CSV,
        "title": "Areas 地区",
        "description": "Every area code (administrative division codes: 6 digits counties and above, 12 digits "
        "streets and towns), with its level and parent.",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "schema": {
            "fields": [
                _field("region_code", "string", "administrative division code", required=True),
                _field("name_zh", "string", "Chinese name", required=True),
                _field("name_en", "string", "English name", required=True),
                _field("level", "string", "country, province, city, district, street or town"),
                _field("parent_code", "string", "the code of the area it belongs to"),
            ],
            "missingValues": [""],
            "primaryKey": ["region_code"],
        },
    }
    package = Package.from_descriptor(
        {
            "name": f"innostat-release-{release.release_id}",
            "title": f"Innovation statistics of Yanfeng District, release {release.release_id} "
            f"雁峰区创新统计数据（{release.release_id}）",
            "description": "The published indicator values of one release, with the indicator catalogue and the "
            "areas. See MANIFEST for the release date and the SHA-256 of every file.",
            "version": str(release.release_id),
            "created": sdmx.published_at_iso(release.published_at),
            "resources": [values, catalogue, areas],
        }
    )
    return (json.dumps(package.to_descriptor(), ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _manifest_header(release_id: int | str, published: datetime) -> str:
    return f"release_id: {release_id}\npublished_at: {sdmx.published_at_iso(published)}\n"


def manifest(release: Release, files: dict[str, bytes]) -> bytes:
    """The release, its date, and `sha256sum`-style lines for every other file of the bundle."""
    lines = [
        "# innostat release bundle. Check the files with: grep -E '^[0-9a-f]{64} ' MANIFEST | sha256sum -c",
        _manifest_header(release.release_id, release.published_at).rstrip("\n"),
        *(f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in sorted(files.items())),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def bundle_files(release: Release, progress: Callable[[str], None] = lambda _: None) -> dict[str, bytes]:
    """Every file of the release's bundle, by name."""
    files: dict[str, bytes] = {}
    progress(f"{DATA_CSV}: {len(release.observations)} observations as SDMX-CSV 2.0")
    files[DATA_CSV] = sdmx.data_csv(release)
    progress(f"{STRUCTURE_XML}: data structure, dataflow and code lists as SDMX-ML 3.0")
    files[STRUCTURE_XML] = sdmx.structure_xml(release)
    progress(f"{WORKBOOK}: bilingual workbook, one sheet per domain")
    files[WORKBOOK] = workbook_bytes(release)
    files[INDICATORS_CSV] = _catalogue_csv(release)
    files[AREAS_CSV] = _areas_csv(release)
    progress(f"{DATAPACKAGE}: Frictionless data package of the CSV files")
    files[DATAPACKAGE] = datapackage(release)
    files[MANIFEST] = manifest(release, files)
    return files


def _write(folder: Path, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        partial = folder / f".{name}.partial"
        partial.write_bytes(data)
        os.replace(partial, folder / name)


def export_release(
    warehouse: Path, out: Path, release: int | None = None, progress: Callable[[str], None] = lambda _: None
) -> Exported:
    """Write one release (default: the latest) of the published `warehouse` into the folder `out`."""
    with connect(warehouse) as con:
        data = read_release(con, resolve(con, release))
    progress(f"release {data.release_id}, published {data.published_at:%Y-%m-%d %H:%M:%S} (Asia/Shanghai)")
    _write(out, bundle_files(data, progress))
    withheld = sum(o.conf_status != "F" for o in data.observations)
    return Exported(data.release_id, out, len(data.observations), withheld)


def _current_bundle(folder: Path, header: str) -> bool:
    path = folder / MANIFEST
    return path.is_file() and header in path.read_text(encoding="utf-8")


def export_all(warehouse: Path, target: Path | None = None) -> list[Exported]:
    """Write the bundle of every release of `warehouse` that lacks one under `target` (default
    `exports_dir(warehouse)`), and remove the bundles of releases it does not hold (withdrawn); a folder is
    replaced whole, in one rename, when its release was published anew."""
    target = target or exports_dir(warehouse)
    written = []
    with connect(warehouse) as con:
        ids = release_ids(con)
        # Bundles of releases this warehouse does not hold go: one withdrawn by `innostat rollback` (its id is never
        # reused), or the unnumbered values of a warehouse from before releases.
        for stale in sorted(target.glob("release-*")) if target.is_dir() else []:
            if stale.name not in {f"release-{release_id}" for release_id in ids}:
                shutil.rmtree(stale)
        for release_id in ids:
            folder = target / f"release-{release_id}"
            if _current_bundle(folder, _manifest_header(release_id, published_at(con, release_id))):
                continue
            data = read_release(con, release_id)
            staging = target / f".{data.folder}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            _write(staging, bundle_files(data))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
            withheld = sum(o.conf_status != "F" for o in data.observations)
            written.append(Exported(data.release_id, folder, len(data.observations), withheld))
    return written
