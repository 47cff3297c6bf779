"""The bilingual workbook of a release, for people: a cover sheet, then one sheet per domain.

A domain sheet has one row per area, breakdown and period, and one column per indicator, its unit in the header.
A withheld cell shows its confidentiality code on grey; a cell revised since the release before is yellow. The
header row and the key columns are frozen. The file is byte-for-byte the same for the same release: its document
dates are the release's `published_at`, and so are the dates of its zip entries.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections import defaultdict
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter

from pipelines.exchange.release import Indicator, Observation, Release
from pipelines.exchange.sdmx import BREAKDOWNS, CONF_STATUS, UNITS

DOMAINS: dict[str, tuple[str, str]] = {  # lib/feeds.py domain → sheet name (Chinese, English)
    "statistics": ("统计局指标", "Statistics"),
    "rd_filings": ("企业研发", "Enterprise R&D"),
    "gov_services": ("政务服务", "Government services"),
    "security": ("社会治安", "Public security"),
}
WITHHELD_FILL = PatternFill("solid", fgColor="D9D9D9")
REVISED_FILL = PatternFill("solid", fgColor="FFF2CC")
BOLD = Font(bold=True)
NUMBER_FORMATS = {"yuan": "#,##0.00", "persons": "#,##0", "count": "#,##0", "ratio": "0.0000"}
KEY_HEADERS = ("地区代码\nArea code", "地区\nArea", "分组维度\nBreakdown", "分组\nMember", "时间\nPeriod")


class _FixedDateZip(zipfile.ZipFile):
    """A zip whose entries all carry one date, so that the same content gives the same bytes."""

    def __init__(self, file, date_time: tuple[int, int, int, int, int, int]) -> None:
        super().__init__(file, "w", zipfile.ZIP_DEFLATED)
        self.fixed_date_time = date_time

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if isinstance(zinfo_or_arcname, str):
            zinfo_or_arcname = zipfile.ZipInfo(zinfo_or_arcname, date_time=self.fixed_date_time)
            zinfo_or_arcname.compress_type = zipfile.ZIP_DEFLATED
            zinfo_or_arcname.create_system = 3  # unix, whatever the platform
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        """openpyxl writes each worksheet to a temporary file first: its content, under the fixed date."""
        with open(filename, "rb") as file:
            self.writestr(arcname or os.path.basename(filename), file.read())


def _unit_header(unit: str) -> str:
    en, zh = UNITS.get(unit, (unit, unit))
    return f"{zh} {en}"


def _domain_sheet(
    workbook: Workbook,
    title: str,
    indicators: list[Indicator],
    observations: list[Observation],
    region_names: dict[str, str],
) -> None:
    sheet = workbook.create_sheet(title)
    columns = {indicator.code: 6 + n for n, indicator in enumerate(indicators)}
    headers = [*KEY_HEADERS] + [f"{i.name_zh}\n{i.name_en}\n({_unit_header(i.unit)}) [{i.code}]" for i in indicators]
    for column, header in enumerate(headers, start=1):
        cell = sheet.cell(row=1, column=column, value=header)
        cell.font = BOLD
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(column)].width = 14 if column <= 5 else 22
    sheet.row_dimensions[1].height = 75
    rows: dict[tuple, int] = {}
    for o in sorted(observations, key=lambda o: (o.region_code, o.dimension, o.member, o.period)):
        key = (o.region_code, o.dimension, o.member, o.period)
        if key not in rows:
            rows[key] = len(rows) + 2
            region_name, dimension_name = region_names.get(o.region_code, ""), BREAKDOWNS.get(o.dimension)
            for column, value in enumerate(
                (
                    o.region_code,
                    region_name,
                    f"{dimension_name[1]} {dimension_name[0]}" if dimension_name else o.dimension,
                    o.member,
                    o.period,
                ),
                start=1,
            ):
                sheet.cell(row=rows[key], column=column, value=value)
        cell = sheet.cell(row=rows[key], column=columns[o.indicator_code])
        if o.conf_status != "F":
            cell.value = o.conf_status
            cell.fill = WITHHELD_FILL
            cell.alignment = Alignment(horizontal="center")
        else:
            cell.value = o.value
            cell.number_format = NUMBER_FORMATS.get(o.unit, "0.00")
            if o.revised:
                cell.fill = REVISED_FILL
    sheet.freeze_panes = "F2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(len(rows) + 1, 1)}"


def _cover(workbook: Workbook, release: Release, sheets: list[str]) -> None:
    sheet = workbook.active
    sheet.title = "说明 About"
    day = release.published_at.strftime("%Y-%m-%d")
    numbered = isinstance(release.release_id, int)
    issue_zh = f"第{release.release_id}期" if numbered else "当前数值"
    issue_en = f"release {release.release_id}" if numbered else "current values"
    sources = sorted({feed.strip() for i in release.indicators for feed in i.source.split(",")})
    lines: list[tuple[str, str]] = [
        ("雁峰区创新统计数据发布", "Innovation statistics of Yanfeng District: release"),
        ("发布期次 Release", str(release.release_id)),
        ("发布时间 Published at (Asia/Shanghai)", release.published_at.strftime("%Y-%m-%d %H:%M:%S")),
        ("观测值 Observations", str(len(release.observations))),
        ("发布说明 Release note", release.note_zh or "—"),
        ("", ""),
        ("数据来源 Sources", ""),
        *[(release.labels.get(("feed", feed), feed), feed) for feed in sources],
        ("", ""),
        (
            "引用方式 How to cite",
            f"衡阳市雁峰区统计局，《雁峰区创新统计数据》{issue_zh}，{day}。"
            f" Yanfeng District Statistics Office, Innovation statistics of Yanfeng District, {issue_en}, {day}.",
        ),
        ("", ""),
        ("工作表 Sheets", "、".join(sheets)),
        ("单位 Units", "数值为基本单位，见每列标题 Values are in base units, named in each column header"),
        ("", ""),
        ("图例 Legend", ""),
    ]
    for row, (label, text) in enumerate(lines, start=1):
        sheet.cell(row=row, column=1, value=label).font = BOLD
        sheet.cell(row=row, column=2, value=text).alignment = Alignment(wrap_text=True)
    row = len(lines) + 1
    for code, (en, zh) in CONF_STATUS.items():
        if code == "F":
            continue
        cell = sheet.cell(row=row, column=1, value=code)
        cell.fill = WITHHELD_FILL
        sheet.cell(row=row, column=2, value=f"{zh}（不公布数值） {en}: value withheld")
        row += 1
    sheet.cell(row=row, column=1, value="123").fill = REVISED_FILL
    sheet.cell(row=row, column=2, value="已修订：与上一期发布不同 Revised since the previous release")
    sheet.cell(row=row + 1, column=1, value="")
    sheet.cell(row=row + 1, column=2, value="空白：该指标无此组合的数据 Empty: no value for this combination")
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 100
    sheet.freeze_panes = "A2"


def workbook_bytes(release: Release) -> bytes:
    """The release as an xlsx file, the same bytes for the same release."""
    region_names = {r.code: f"{r.name_zh} {r.name_en}" for r in release.regions}
    by_domain: dict[str, list[Observation]] = defaultdict(list)
    indicators = {i.code: i for i in release.indicators}
    for o in release.observations:
        by_domain[indicators[o.indicator_code].domain].append(o)
    workbook = Workbook()
    sheets = []
    for domain in [d for d in DOMAINS if d in by_domain] + sorted(set(by_domain) - set(DOMAINS)):
        zh, en = DOMAINS.get(domain, (domain, domain))
        used = sorted({o.indicator_code for o in by_domain[domain]})
        sheets.append(f"{zh} {en}")
        _domain_sheet(workbook, sheets[-1], [indicators[c] for c in used], by_domain[domain], region_names)
    _cover(workbook, release, sheets)
    stamp: datetime = release.published_at
    workbook.properties.created = workbook.properties.modified = stamp
    workbook.properties.creator = "innostat"
    workbook.properties.title = f"innostat release {release.release_id}"
    buffer = io.BytesIO()
    archive = _FixedDateZip(buffer, (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second))
    ExcelWriter(workbook, archive).save()
    return buffer.getvalue()
