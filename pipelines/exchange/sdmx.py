"""The SDMX side of the bundle, written with pysdmx: the structure (SDMX-ML 3.0) and the data (SDMX-CSV 2.0).

The structure holds one data structure definition, its dataflow, a concept scheme and five code lists (indicators,
areas, breakdowns and their members, units, confidentiality status). pysdmx writes every name in English only;
the Chinese name of each artefact, code and concept is added beside it (`xml:lang="zh"`), which the SDMX-ML schema
allows (a name is repeated once per language).

Codes are the warehouse's own wherever they are valid SDMX ids (indicator codes, region codes, `total`, `theft`
…). A breakdown member that is not (a Chinese industry or department name) gets a stable id: a readable one for
the five industries of the feed contract, otherwise `M_` and the first 10 hex digits of the SHA-256 of its name.
The member's Chinese name in CL_BREAKDOWN_MEMBER is always the `member` of `marts.indicator_values`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from lxml import etree
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.io.writer import write_sdmx
from pysdmx.model import (
    Agency,
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    Dataflow,
    DataStructureDefinition,
    DataType,
    ItemReference,
    Role,
    Schema,
)
from pysdmx.model.message import Header

from pipelines.exchange.release import Release

AGENCY = "CN_YANFENG"  # 衡阳市雁峰区统计局 (the district's statistics office)
VERSION = "1.0"
DSD_ID, DATAFLOW_ID, CONCEPTS_ID = "DSD_INNOSTAT", "DF_INNOSTAT", "CS_INNOSTAT"
SHANGHAI = ZoneInfo("Asia/Shanghai")

# Dimensions in DSD order (SDMX puts the time dimension last), then the measure and the attributes; with the
# warehouse column each comes from.
DIMENSIONS = ("INDICATOR", "REF_AREA", "BREAKDOWN", "BREAKDOWN_MEMBER", "TIME_PERIOD")
CSV_COLUMNS = ("STRUCTURE", "STRUCTURE_ID", "ACTION", *DIMENSIONS, "OBS_VALUE", "UNIT_MEASURE", "CONF_STATUS")

CONCEPTS: dict[str, tuple[str, str]] = {  # id → (English, Chinese)
    "INDICATOR": ("Indicator", "指标"),
    "REF_AREA": ("Reference area", "地区"),
    "BREAKDOWN": ("Breakdown", "分组维度"),
    "BREAKDOWN_MEMBER": ("Breakdown member", "分组"),
    "TIME_PERIOD": ("Time period", "时间"),
    "OBS_VALUE": ("Observation value", "数值"),
    "UNIT_MEASURE": ("Unit of measure", "计量单位"),
    "CONF_STATUS": ("Confidentiality status", "保密状态"),
}

UNITS: dict[str, tuple[str, str]] = {  # the warehouse's base units (marts.indicators.unit)
    "yuan": ("Yuan (CNY)", "元"),
    "persons": ("Persons", "人"),
    "count": ("Count", "个"),
    "ratio": ("Ratio (0–1)", "比率（0–1）"),
    "days": ("Days", "天"),
    "minutes": ("Minutes", "分钟"),
    "per_10k": ("Per 10,000 residents", "每万人"),
}

BREAKDOWNS: dict[str, tuple[str, str]] = {
    "total": ("Total", "合计"),
    "industry": ("Industry", "行业"),
    "department": ("Department", "部门"),
    "category": ("Incident category", "警情类别"),
}

# SDMX's CL_CONF_STATUS codes, the reasons PUBLISHING.md §1 gives them
CONF_STATUS: dict[str, tuple[str, str]] = {
    "F": ("Free", "公开"),
    "A": ("Primary confidentiality: fewer than 3 contributors", "保密：少于3家企业"),
    "O": ("Primary confidentiality: one contributor over 85 %", "保密：单一企业占比过高"),
    "D": ("Secondary confidentiality: withheld so that other cells cannot be deduced", "保密：为防止推算"),
}

# The industries of the R&D feed contract (FEEDS.md), with readable ids
INDUSTRIES: dict[str, tuple[str, str]] = {
    "输变电": ("POWER_EQUIPMENT", "Power transmission and transformation equipment"),
    "大数据": ("BIG_DATA", "Big data"),
    "金融商贸": ("FINANCE_COMMERCE", "Finance and commerce"),
    "健康文旅": ("HEALTH_TOURISM", "Health, culture and tourism"),
    "其他": ("OTHER_INDUSTRY", "Other industries"),
}
_SDMX_ID = re.compile(r"[A-Za-z0-9_@$\-]+")


def member_code(dimension: str, member: str) -> str:
    """The SDMX id of a breakdown member: stable across releases and exports."""
    if dimension == "industry" and member in INDUSTRIES:
        return INDUSTRIES[member][0]
    if _SDMX_ID.fullmatch(member):
        return member
    return "M_" + hashlib.sha256(member.encode("utf-8")).hexdigest()[:10].upper()


def _member_names(release: Release, dimension: str, member: str) -> tuple[str, str]:
    if dimension == "industry" and member in INDUSTRIES:
        return INDUSTRIES[member][1], member
    if dimension == "total":
        return BREAKDOWNS["total"]
    if dimension == "category":
        return member.replace("_", " ").capitalize(), release.labels.get(("incident_category", member), member)
    return member, member  # a department: its Chinese name is its only name


def _codelist(list_id: str, name: tuple[str, str], codes: list[tuple[str, str, str, str | None]]) -> tuple:
    """A pysdmx Codelist and the Chinese names of it and its codes."""
    codelist = Codelist(
        id=list_id,
        agency=AGENCY,
        version=VERSION,
        name=name[0],
        items=[Code(id=code, name=en, description=description) for code, en, _, description in codes],
    )
    chinese = {(list_id, None): name[1]} | {(list_id, code): zh for code, _, zh, _ in codes}
    return codelist, chinese


def structures(release: Release) -> tuple[list, dict[tuple[str, str | None], str]]:
    """The pysdmx artefacts of the release (code lists, concepts, DSD, dataflow) and their Chinese names, keyed by
    (artefact id, item id or None)."""
    members = sorted({(o.dimension, o.member) for o in release.observations})
    member_codes: dict[str, tuple[str, str, str, str | None]] = {}
    for dimension, member in members:
        code = member_code(dimension, member)
        en, zh = _member_names(release, dimension, member)
        member_codes.setdefault(code, (code, en, zh, f"{BREAKDOWNS.get(dimension, (dimension,))[0]}: {zh}"))
    lists = [
        _codelist(
            "CL_INDICATOR",
            ("Indicators of Yanfeng District", "雁峰区统计指标"),
            [(i.code, i.name_en, i.name_zh, i.definition) for i in release.indicators],
        ),
        _codelist(
            "CL_AREA",
            ("Areas", "地区"),
            [
                (r.code, r.name_en, r.name_zh, f"{r.level}, part of {r.parent_code}" if r.parent_code else r.level)
                for r in release.regions
            ],
        ),
        _codelist("CL_BREAKDOWN", ("Breakdowns", "分组维度"), [(k, *v, None) for k, v in BREAKDOWNS.items()]),
        _codelist("CL_BREAKDOWN_MEMBER", ("Breakdown members", "分组"), sorted(member_codes.values())),
        _codelist("CL_UNIT_MEASURE", ("Units of measure", "计量单位"), [(k, *v, None) for k, v in UNITS.items()]),
        _codelist(
            "CL_CONF_STATUS",
            ("Confidentiality status", "保密状态"),
            [(k, *v, None) for k, v in CONF_STATUS.items()],
        ),
    ]
    codelists = {codelist.id.removeprefix("CL_"): codelist for codelist, _ in lists}
    chinese: dict[tuple[str, str | None], str] = {}
    for _, names in lists:
        chinese |= names
    concepts = ConceptScheme(
        id=CONCEPTS_ID,
        agency=AGENCY,
        version=VERSION,
        name="Concepts of the innostat release bundle",
        items=[Concept(id=cid, name=en) for cid, (en, _) in CONCEPTS.items()],
    )
    chinese[(CONCEPTS_ID, None)] = "发布数据包的概念"
    chinese |= {(CONCEPTS_ID, cid): zh for cid, (_, zh) in CONCEPTS.items()}

    def concept(cid: str) -> ItemReference:
        return ItemReference(sdmx_type="Concept", agency=AGENCY, id=CONCEPTS_ID, version=VERSION, item_id=cid)

    enumerated = {
        "INDICATOR": codelists["INDICATOR"],
        "REF_AREA": codelists["AREA"],
        "BREAKDOWN": codelists["BREAKDOWN"],
        "BREAKDOWN_MEMBER": codelists["BREAKDOWN_MEMBER"],
        "UNIT_MEASURE": codelists["UNIT_MEASURE"],
        "CONF_STATUS": codelists["CONF_STATUS"],
    }
    components = [
        Component(
            id=cid,
            required=True,
            role=Role.DIMENSION,
            concept=concept(cid),
            local_dtype=DataType.PERIOD if cid == "TIME_PERIOD" else DataType.STRING,
            local_codes=enumerated.get(cid),
        )
        for cid in DIMENSIONS
    ]
    # A withheld cell has no value: the measure is optional (SDMX 3.0's default usage for a measure).
    components.append(
        Component(
            id="OBS_VALUE", required=False, role=Role.MEASURE, concept=concept("OBS_VALUE"), local_dtype=DataType.DOUBLE
        )
    )
    components += [
        Component(
            id=cid,
            required=True,
            role=Role.ATTRIBUTE,
            concept=concept(cid),
            local_dtype=DataType.STRING,
            local_codes=enumerated[cid],
            attachment_level="O",
        )
        for cid in ("UNIT_MEASURE", "CONF_STATUS")
    ]
    dsd = DataStructureDefinition(
        id=DSD_ID,
        agency=AGENCY,
        version=VERSION,
        name="Innovation statistics of Yanfeng District",
        components=Components(components),
    )
    dataflow = Dataflow(
        id=DATAFLOW_ID,
        agency=AGENCY,
        version=VERSION,
        name="Innovation statistics of Yanfeng District: published indicator values",
        structure=dsd.short_urn,
    )
    chinese[(DSD_ID, None)] = "雁峰区创新统计数据结构"
    chinese[(DATAFLOW_ID, None)] = "雁峰区创新统计：发布的指标数值"
    return [*(codelist for codelist, _ in lists), concepts, dsd, dataflow], chinese


def _header(release: Release) -> Header:
    """A fixed header: the same release gives the same message id and the same prepared time (its publish)."""
    return Header(
        id=f"INNOSTAT_RELEASE_{release.release_id}".upper(),
        prepared=release.published_at.replace(tzinfo=SHANGHAI),
        sender=Agency(id=AGENCY, name="Yanfeng District statistics office"),
    )


def _add_chinese(xml: str, chinese: dict[tuple[str, str | None], str]) -> bytes:
    """Each `Name xml:lang="en"` of an artefact or item with a Chinese name gets a `Name xml:lang="zh"` after it."""
    root = etree.fromstring(xml.encode("utf-8"))
    lang = "{http://www.w3.org/XML/1998/namespace}lang"
    for name in root.iter("{*}Name"):
        owner = name.getparent()
        if name.get(lang) != "en" or owner.get("id") is None:
            continue
        if owner.get("agencyID") is not None:  # a maintainable artefact
            key = (owner.get("id"), None)
        else:  # an item of a scheme
            key = (owner.getparent().get("id"), owner.get("id"))
        if key in chinese:
            zh = etree.Element(name.tag, {lang: "zh"})
            zh.text = chinese[key]
            zh.tail = name.tail
            name.addnext(zh)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") + b"\n"


def structure_xml(release: Release) -> bytes:
    """The SDMX-ML 3.0 structure message of the release."""
    artefacts, chinese = structures(release)
    xml = write_sdmx(artefacts, Format.STRUCTURE_SDMX_ML_3_0, header=_header(release))
    return _add_chinese(xml, chinese)


def dataflow_schema(release: Release) -> Schema:
    artefacts, _ = structures(release)
    dsd = next(a for a in artefacts if isinstance(a, DataStructureDefinition))
    return Schema(context="dataflow", agency=AGENCY, id=DATAFLOW_ID, version=VERSION, components=dsd.components)


def data_frame(release: Release) -> pd.DataFrame:
    """One row per observation of the release, in SDMX component ids; a withheld value is missing."""
    rows = [
        {
            "INDICATOR": o.indicator_code,
            "REF_AREA": o.region_code,
            "BREAKDOWN": o.dimension,
            "BREAKDOWN_MEMBER": member_code(o.dimension, o.member),
            "TIME_PERIOD": o.period,
            "OBS_VALUE": o.value if o.conf_status == "F" else None,
            "UNIT_MEASURE": o.unit,
            "CONF_STATUS": o.conf_status,
        }
        for o in release.observations
    ]
    frame = pd.DataFrame(rows, columns=[*DIMENSIONS, "OBS_VALUE", "UNIT_MEASURE", "CONF_STATUS"])
    frame["OBS_VALUE"] = frame["OBS_VALUE"].astype(object)  # floats as Python floats: repr, never rounded
    return frame


def data_csv(release: Release) -> bytes:
    """The observations as SDMX-CSV 2.0 against the dataflow (ACTION `I`: information, the whole release)."""
    dataset = PandasDataset(structure=dataflow_schema(release), data=data_frame(release))
    text = write_sdmx([dataset], Format.DATA_SDMX_CSV_2_0_0)
    return text.encode("utf-8")


def published_at_iso(when: datetime) -> str:
    return when.replace(tzinfo=SHANGHAI).isoformat()
