"""The raw layer's layout: each table's folder with its zero-row schema file, outputs of interrupted runs
removed, and the one-time upgrades of raw layers written by older versions (reason codes, the allow-list)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from pipelines.ingest.file_ingest import scrub_quarantine
from pipelines.ingest.raw_writer import write_parquet
from pipelines.lib.feeds import (
    EMPTY_MARKER,
    LEDGER_COLUMNS,
    QUARANTINE_TABLE_COLUMNS,
    ledger_dir,
    quarantine_dir,
    raw_schema,
    table_dir,
)
from pipelines.lib.pseudonymise import Pseudonymiser

log = logging.getLogger("innostat.ingest")


def ensure_layout(raw_dir: Path, table: str) -> None:
    """Create the table's folders and zero-row schema files, so DuckDB globs never come up empty."""
    _upgrade_layout(raw_dir)
    for folder, columns in (
        (table_dir(raw_dir, table), raw_schema(table)),
        (quarantine_dir(raw_dir), QUARANTINE_TABLE_COLUMNS),
        (ledger_dir(raw_dir), LEDGER_COLUMNS),
    ):
        marker = folder / EMPTY_MARKER
        if not marker.exists():
            write_parquet(marker, [], columns)


_LAYOUT_MARKER = ".layout-reason-codes"
# A reason written before reason codes existed → its code (first match wins; `unclassified` when none does).
_LEGACY_ROW_CODES = (
    (r"^(empty |missing )", "missing_field"),
    (r"personal data in free text", "personal_data_in_text"),
    (r"地区代码|street code|street_code", "unknown_region"),
    (r"unknown 指标名称", "unknown_indicator"),
    (r"unknown 计量单位", "unknown_unit"),
    (r"^计量单位", "unit_mismatch"),
    (r"统计期", "bad_period"),
    (r"^negative ", "negative_number"),
    (r"not a number|too large|not a whole number", "bad_number"),
    (r"统一社会信用代码", "bad_credit_code"),
    (r"^年度", "bad_year"),
    (r"证书编号", "bad_certificate"),
    (r"填报时间|unparseable |valid YYYY-MM-DD", "bad_timestamp"),
    (r"already delivered with different content", "filing_conflict"),
    (r"invalid JSON|not a JSON object", "bad_json"),
    (r"^the row has \d+ fields", "ragged_row"),
    (r"must be a string or an integer|must be a number", "wrong_type"),
    (r"must be an integer", "out_of_range"),
    (r"^unknown |is not 0 or 1", "not_allowed_value"),
)
_LEGACY_FILE_CODES = (
    (r"empty", "empty_file"),
    (r"header", "wrong_header"),
    (r"UTF-8|GB18030", "bad_encoding"),
)


def _legacy_code(reason: pl.Expr, patterns: tuple[tuple[str, str], ...], fallback: str) -> pl.Expr:
    chain = None
    for pattern, value in patterns:
        matches = reason.str.contains(pattern)
        chain = pl.when(matches).then(pl.lit(value)) if chain is None else chain.when(matches).then(pl.lit(value))
    return chain.otherwise(pl.lit(fallback))  # type: ignore[union-attr]


def _upgrade_layout(raw_dir: Path) -> None:
    """Give the quarantine and ledger files written before reason codes their new columns, once per raw layer:
    codes from the old reason's wording, so `marts.quarantine` and `marts.ingest_ledger` read every file alike."""
    marker = raw_dir / _LAYOUT_MARKER
    if marker.exists() or not raw_dir.is_dir():
        if not raw_dir.is_dir():
            raw_dir.mkdir(parents=True, exist_ok=True)
            marker.touch()
        return
    first_reason = pl.col("reason").str.split("; ").list.first()
    upgrades = (
        (
            quarantine_dir(raw_dir),
            QUARANTINE_TABLE_COLUMNS,
            _legacy_code(first_reason, _LEGACY_ROW_CODES, "unclassified"),
        ),
        (
            ledger_dir(raw_dir),
            LEDGER_COLUMNS,
            pl.when(pl.col("status") == "rejected").then(
                _legacy_code(pl.col("reason"), _LEGACY_FILE_CODES, "corrupt_file")
            ),
        ),
    )
    for folder, columns, code_expr in upgrades:
        for path in sorted(folder.glob("*.parquet")):
            if set(columns) <= set(pq.read_schema(path).names):
                continue
            frame = pl.read_parquet(path)
            missing = [name for name in columns if name not in frame.columns]
            frame = frame.with_columns(pl.lit(None, columns[name]).alias(name) for name in missing)
            if "reason_code" in missing:
                frame = frame.with_columns(code_expr.alias("reason_code"))
            log.warning("upgrading %s to the reason-code layout", path)
            write_parquet(path, [frame], columns)
    marker.touch()


def _names_only(extra: str | None) -> str | None:
    """An `extra_columns` value written before the allow-list (a JSON object of names and values) → its names."""
    if extra is None:
        return None
    try:
        parsed = json.loads(extra)
    except ValueError:
        return None
    return json.dumps(list(parsed), ensure_ascii=False) if isinstance(parsed, dict) else extra


def apply_allow_list(raw_dir: Path, table: str, pseudonymiser: Pseudonymiser) -> None:
    """Once per table: rows stored before the allow-list keep the names of their extra columns only, and quarantine
    rows stored before the free-text scan are scrubbed like new ones. A raw file is read only when its Parquet
    statistics say some `extra_columns` value is set."""
    marker = raw_dir / f".allow-list-{table}"
    if marker.exists():
        return
    columns = raw_schema(table)
    for path in sorted(table_dir(raw_dir, table).glob("*.parquet")):
        metadata = pq.read_metadata(path)
        names = metadata.schema.names
        if "extra_columns" not in names or metadata.num_rows == 0:
            continue
        index = names.index("extra_columns")
        groups = [metadata.row_group(i).column(index).statistics for i in range(metadata.num_row_groups)]
        if all(g is not None and g.null_count == metadata.row_group(i).num_rows for i, g in enumerate(groups)):
            continue
        frame = pl.read_parquet(path)
        names_only = frame["extra_columns"].map_elements(_names_only, return_dtype=pl.String, skip_nulls=True)
        if names_only.equals(frame["extra_columns"]):
            continue
        log.warning("keeping only the names of extra columns in %s (the allow-list)", path)
        write_parquet(path, [frame.with_columns(names_only.alias("extra_columns"))], columns)
    for path in sorted((quarantine_dir(raw_dir)).glob(f"{table}-*.parquet")):
        frame = pl.read_parquet(path)
        scrubbed = scrub_quarantine(frame, pseudonymiser)
        if not scrubbed.equals(frame):
            log.warning("scrubbing %s with the free-text scan", path)
            write_parquet(path, [scrubbed], QUARANTINE_TABLE_COLUMNS)
    marker.touch()


def remove_orphans(raw_dir: Path, table: str, committed: set[str]) -> None:
    """Outputs of a file whose ledger entry never got written (a crashed run) are removed and redone."""
    for path in table_dir(raw_dir, table).glob("*.parquet"):
        if path.name != EMPTY_MARKER and path.stem not in committed:
            log.warning("removing orphan %s from an interrupted run", path)
            path.unlink()
    for path in (quarantine_dir(raw_dir)).glob(f"{table}-*.parquet"):
        if path.stem[len(table) + 1 :] not in committed:
            path.unlink()
