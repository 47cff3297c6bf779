"""Every publish is a numbered release (PUBLISHING.md §2), recorded inside the file it publishes.

Just before the atomic replace, the publish step calls `record_release` on the checked build. The build started
as a copy of the published file, so it holds the history of every earlier release; the new
`marts.indicator_values` is compared with the rows of `marts.indicator_value_history` that are current
(`valid_to is null`), key by key (indicator_code, region_code, period, dimension, member):

- a key that is new is *added*; a key that is gone is *removed*; a key whose value, unit, conf_status or
  period_type differs (`is distinct from`, so a value that becomes withheld counts) is *revised*. A value that
  differs by less than one part in 10^9 is floating-point noise (the same average summed in another order by an
  incremental and a full build), not a revision: the build takes the published value back before the diff;
- the current row of a revised or removed key is closed (`valid_to` = the new release), and the new row of an
  added or revised key is inserted (`valid_from` = the new release): history grows by the changed rows only;
- one `marts.releases` row is appended, with the counts and a short Chinese note naming the largest revisions.

The rows valid at release R (`valid_from <= R and (valid_to is null or valid_to > R)`) are then exactly what
release R published. Three table macros stored in the file answer it for anyone who opens it read-only:
`marts.indicator_values_as_of(as_of_release)`, `marts.indicator_values_at(as_of_time)` (the latest release
published at or before an Asia/Shanghai wall-clock time) and `marts.indicator_value_changes(of_release)`.

**Numbering.** Release ids are never reused. A rollback withdraws the published release (its file becomes the
rollback target); the next publish takes the next id after the highest ever issued, which the warehouse's state
folder remembers (`<warehouse>.state/release_ids`), and its note names the withdrawn ids it skips. The counts of
a release are against the release it replaces in the published file (after a rollback: the restored one).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.lib.timeparse import SHANGHAI

RELEASES_TABLE = "marts.releases"
HISTORY_TABLE = "marts.indicator_value_history"
KEY_COLUMNS = ("indicator_code", "region_code", "period", "dimension", "member")
VALUE_COLUMNS = ("period_type", "value", "unit", "conf_status")
COUNTER_FILE = "release_ids"  # in the warehouse's state folder: the highest release id ever issued
TOP_REVISIONS = 3  # revisions a release note names
NOISE = 1e-9  # a relative difference this small is floating-point noise of the summation order, not a revision

# The DDL is also in dbt_project/macros/create_release_tables.sql (on-run-start: the reporting views read these
# tables from the first build on); both create only when missing, neither ever drops.
RELEASES_DDL = f"""create table if not exists {RELEASES_TABLE} (
    release_id integer primary key,
    published_at timestamp not null,
    values_added bigint not null,
    values_revised bigint not null,
    values_removed bigint not null,
    note_zh varchar not null
)"""
HISTORY_DDL = f"""create table if not exists {HISTORY_TABLE} (
    indicator_code varchar not null,
    region_code varchar not null,
    period varchar not null,
    period_type varchar,
    dimension varchar not null,
    member varchar,
    value double,
    unit varchar,
    conf_status varchar,
    valid_from integer not null,
    valid_to integer
)"""
_PUBLISHED = "indicator_code, region_code, period, period_type, dimension, member, value, unit, conf_status"
MACROS = (
    f"""create or replace macro marts.indicator_values_as_of(as_of_release) as table
    select {_PUBLISHED} from {HISTORY_TABLE}
    where valid_from <= as_of_release and (valid_to is null or valid_to > as_of_release)""",
    f"""create or replace macro marts.indicator_values_at(as_of_time) as table
    select * from marts.indicator_values_as_of(
        (select max(release_id) from {RELEASES_TABLE} where published_at <= cast(as_of_time as timestamp)))""",
    f"""create or replace macro marts.indicator_value_changes(of_release) as table
    with before as (select * from {HISTORY_TABLE} where valid_to = of_release),
    after as (select * from {HISTORY_TABLE} where valid_from = of_release)
    select
        coalesce(a.indicator_code, b.indicator_code) as indicator_code,
        coalesce(a.region_code, b.region_code) as region_code,
        coalesce(a.period, b.period) as period,
        coalesce(a.dimension, b.dimension) as dimension,
        coalesce(a.member, b.member) as member,
        case when b.indicator_code is null then 'added' when a.indicator_code is null then 'removed'
             else 'revised' end as change,
        b.value as value_before, a.value as value_after,
        b.unit as unit_before, a.unit as unit_after,
        b.conf_status as conf_status_before, a.conf_status as conf_status_after
    from after as a
    full outer join before as b
        on a.indicator_code = b.indicator_code and a.region_code = b.region_code and a.period = b.period
        and a.dimension = b.dimension and a.member is not distinct from b.member""",
)


@dataclass(frozen=True)
class Release:
    release_id: int
    published_at: datetime
    values_added: int
    values_revised: int
    values_removed: int
    note_zh: str


def ensure_release_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The two tables and the as-of macros, created when missing (never dropped, never emptied)."""
    con.execute("create schema if not exists marts")
    con.execute(RELEASES_DDL)
    con.execute(HISTORY_DDL)
    for macro in MACROS:
        con.execute(macro)


def _key_match(left: str, right: str) -> str:
    return " and ".join(f"{left}.{c} is not distinct from {right}.{c}" for c in KEY_COLUMNS)


def _counter(state_dir: Path) -> int:
    path = state_dir / COUNTER_FILE
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["highest_issued"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def _write_counter(state_dir: Path, release_id: int) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / COUNTER_FILE
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"highest_issued": release_id}), encoding="utf-8")
    os.replace(tmp, path)


# The note is read by officials: base units in Chinese, ratios as percentages.
_UNIT_ZH = {"yuan": "元", "persons": "人", "count": "个", "days": "天", "minutes": "分钟", "per_10k": "每万人"}


def _number(value: float | None, unit: str | None) -> str:
    if value is None:
        return "空值"
    if unit == "ratio":
        return f"{value:.2%}"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.6g}"
    return f"{text} {_UNIT_ZH.get(unit, unit)}" if unit else text


def _describe(row: tuple) -> str:
    name, region, period, dimension, member, before, after, unit, conf_before, conf_after = row
    where = f"{name}（{region}，{period}" + ("" if dimension == "total" else f"，{member}") + "）"
    if conf_before != conf_after:
        if conf_before != "F" and conf_after != "F":
            return f"{where}仍保密，原因代码由 {conf_before} 改为 {conf_after}"
        if conf_after != "F":
            return f"{where}改为保密（{conf_after}）"
        return f"{where}解除保密，发布为 {_number(after, unit)}"
    change = ""
    if before not in (None, 0) and after is not None:
        change = f"（{(after - before) / abs(before):+.1%}）"
    return f"{where}由 {_number(before, unit)} 修订为 {_number(after, unit)}{change}"


def _note(con: duckdb.DuckDBPyConnection, release_id: int, counts: tuple[int, int, int], before: int) -> str:
    """The release note: counts, the largest revisions (relative change, then absolute), withdrawn ids skipped."""
    added, revised, removed = counts
    if before == 0:
        text = f"第{release_id}号发布：首次发布，共 {added} 个数值。"
    elif not any(counts):
        text = f"第{release_id}号发布：指标数值无变化（新到文件或程序更新，其他表已更新）。"
    else:
        text = f"第{release_id}号发布：新增 {added} 个、修订 {revised} 个、删除 {removed} 个数值。"
        # names in Chinese from the catalogue and the regions, when the build has them (codes otherwise)
        indicators = "marts.indicators" if _exists(con, "indicators") else "(select null as code, null as name_zh)"
        regions = "marts.dim_region" if _exists(con, "dim_region") else "(select null as region_code, null as name_zh)"
        largest = con.execute(
            f"""select coalesce(i.name_zh, c.indicator_code), coalesce(r.name_zh, c.region_code), c.period,
                       c.dimension, c.member, c.value_before, c.value_after, c.unit_after,
                       c.conf_status_before, c.conf_status_after
                from marts.indicator_value_changes({release_id}) as c
                left join {indicators} as i on i.code = c.indicator_code
                left join {regions} as r on r.region_code = c.region_code
                where c.change = 'revised'
                order by c.conf_status_before is distinct from c.conf_status_after desc,
                         abs(c.value_after - c.value_before) / nullif(abs(c.value_before), 0) desc nulls last,
                         abs(c.value_after - c.value_before) desc nulls last,
                         c.indicator_code, c.region_code, c.period, c.dimension, c.member
                limit {TOP_REVISIONS}"""
        ).fetchall()
        if largest:
            text += "修订最大的：" + "；".join(_describe(row) for row in largest) + "。"
    if withdrawn := range(before + 1, release_id):
        ids = "、".join(f"第{i}号" for i in withdrawn)
        text += f"{ids}发布已撤回" + (f"，以上变动相对第{before}号发布。" if before else "。")
    return text


def record_release(build_path: Path, state_dir: Path, published_at: datetime | None = None) -> Release:
    """Diff the build's `marts.indicator_values` against the current history, write the history and one
    `marts.releases` row into the build, and return the release (called just before the atomic replace)."""
    moment = (published_at or datetime.now(SHANGHAI)).astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0)
    con = duckdb.connect(str(build_path))
    try:
        ensure_release_tables(con)
        (latest,) = con.execute(f"select coalesce(max(release_id), 0) from {RELEASES_TABLE}").fetchone()
        release_id = max(latest, _counter(state_dir)) + 1
        changed = " or ".join(f"n.{c} is distinct from o.{c}" for c in VALUE_COLUMNS)
        con.execute("begin")
        # Floating-point noise is no revision: an average summed in another order (an incremental build against a
        # full one) can differ in the last bits. Such a value keeps the value already published, so the
        # published table and the history stay equal, exactly.
        con.execute(
            f"""update marts.indicator_values as n set value = o.value
            from (select * from {HISTORY_TABLE} where valid_to is null) as o
            where {_key_match("n", "o")} and n.value <> o.value
              and abs(n.value - o.value) <= {NOISE} * greatest(abs(n.value), abs(o.value))"""
        )
        con.execute(
            f"""create temp table release_diff as
            select {", ".join(f"coalesce(n.{c}, o.{c}) as {c}" for c in KEY_COLUMNS)},
                   case when o.present is null then 'added' when n.present is null then 'removed'
                        else 'revised' end as change
            from (select *, true as present from marts.indicator_values) as n
            full outer join (select *, true as present from {HISTORY_TABLE} where valid_to is null) as o
                on {_key_match("n", "o")}
            where o.present is null or n.present is null or {changed}"""
        )
        added, revised, removed = con.execute(
            "select count(*) filter (where change = 'added'), count(*) filter (where change = 'revised'), "
            "count(*) filter (where change = 'removed') from release_diff"
        ).fetchone()
        con.execute(
            f"""update {HISTORY_TABLE} as h set valid_to = ?
            from release_diff as d
            where h.valid_to is null and d.change <> 'added' and {_key_match("h", "d")}""",
            [release_id],
        )
        con.execute(
            f"""insert into {HISTORY_TABLE}
            select {", ".join(f"v.{c}" for c in _PUBLISHED.split(", "))}, ? as valid_from, null as valid_to
            from marts.indicator_values as v
            join release_diff as d on d.change <> 'removed' and {_key_match("v", "d")}""",
            [release_id],
        )
        note = _note(con, release_id, (added, revised, removed), latest)
        con.execute(
            f"insert into {RELEASES_TABLE} values (?, ?, ?, ?, ?, ?)",
            [release_id, moment, added, revised, removed, note],
        )
        con.execute("drop table release_diff")
        con.execute("commit")
    finally:
        con.close()
    _write_counter(state_dir, release_id)
    return Release(release_id, moment, added, revised, removed, note)


# --- reading the releases of a published file ----------------------------------------------------------------


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether marts.<table> exists in the file `con` opened."""
    (found,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [table]
    ).fetchone()
    return bool(found)


def _has_releases(con: duckdb.DuckDBPyConnection) -> bool:
    return _exists(con, "releases")


def releases_of(path: Path) -> list[Release]:
    """Every release recorded in a DuckDB file (opened read-only), oldest first; [] for a file without any."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        if not _has_releases(con):
            return []
        rows = con.execute(f"select * from {RELEASES_TABLE} order by release_id").fetchall()
    finally:
        con.close()
    return [Release(*row) for row in rows]


def current_release(path: Path) -> Release | None:
    """The release a DuckDB file publishes (its newest), None when it records none or does not exist."""
    if not path.exists():
        return None
    found = releases_of(path)
    return found[-1] if found else None


def changes_of(path: Path, release_id: int) -> list[tuple]:
    """(indicator, region, period, dimension, member, change, before, after, unit) of one release, largest first."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(
            """select c.indicator_code, c.region_code, c.period, c.dimension, c.member, c.change,
                      c.value_before, c.value_after, coalesce(c.unit_after, c.unit_before),
                      c.conf_status_before, c.conf_status_after
               from marts.indicator_value_changes(?) as c
               order by abs(c.value_after - c.value_before) / nullif(abs(c.value_before), 0) desc nulls last,
                        c.change, c.indicator_code, c.region_code, c.period, c.dimension, c.member""",
            [release_id],
        ).fetchall()
    finally:
        con.close()


CHANGE_ZH = {"added": "新增", "revised": "修订", "removed": "删除"}


def release_markdown(path: Path, release_id: int | None = None, max_changes: int = 20) -> str:
    """One release note in Markdown: heading, counts, the note, and its changes (the largest first)."""
    found = {r.release_id: r for r in releases_of(path)}
    if not found:
        raise LookupError(f"{path} records no release yet; `innostat run` publishes the first")
    if release_id is None:
        release_id = max(found)
    if release_id not in found:
        raise LookupError(
            f"release {release_id} is not in {path}; it holds {', '.join(map(str, sorted(found)))}"
            " (a withdrawn release is only in the rollback target)"
        )
    release = found[release_id]
    lines = [
        f"# 发布说明：第 {release.release_id} 号发布",
        "",
        f"发布时间：{release.published_at:%Y-%m-%d %H:%M:%S}（北京时间）",
        "",
        "| 新增 | 修订 | 删除 |",
        "| ---: | ---: | ---: |",
        f"| {release.values_added} | {release.values_revised} | {release.values_removed} |",
        "",
        release.note_zh,
    ]
    changes = [c for c in changes_of(path, release_id) if c[5] != "added" or release.values_added <= max_changes]
    if changes and release.values_revised + release.values_removed + release.values_added > 0:
        lines += ["", "| 指标 | 地区 | 期别 | 分组 | 变动 | 原值 | 新值 | 单位 | 保密状态 |", "| --- " * 9 + "|"]
        for code, region, period, dimension, member, change, before, after, unit, conf_b, conf_a in changes[
            :max_changes
        ]:
            group = "合计" if dimension == "total" else f"{dimension}={member}"
            conf = f"{conf_b}→{conf_a}" if conf_b and conf_a and conf_b != conf_a else (conf_a or conf_b or "")
            lines.append(
                f"| {code} | {region} | {period} | {group} | {CHANGE_ZH[change]} | "
                f"{_number(before, None) if before is not None else ''} | "
                f"{_number(after, None) if after is not None else ''} | {unit or ''} | {conf} |"
            )
        if len(changes) > max_changes:
            lines.append(
                f"\n另有 {len(changes) - max_changes} 项变动：`select * from "
                f"marts.indicator_value_changes({release_id})`"
            )
    return "\n".join(lines) + "\n"
