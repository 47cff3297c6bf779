"""rd_filings: enterprise R&D filings (企业研发投入填报, FEEDS.md §2), CSV or xlsx, into `raw.rd_filings`.

Every valid filing is kept (amendments and duplicate submissions too: dbt picks the current filing of an
enterprise-year). What this parser decides on its own is whether a 填报编号 is *new*:
- first delivery of a 填报编号 → loaded;
- the same 填报编号 again with the same content (`content_hash`) → an exact re-delivery: neither loaded nor
  quarantined, counted in `ctx.run_state["skipped_redeliveries"]` for the runner's report;
- the same 填报编号 again with different content → quarantined as a conflict; the first delivery stays current.
"Earlier" means an earlier file (the raw Parquet files of this table, read once per run), an earlier file of
this run, or an earlier row of this file. Only valid rows count as deliveries.

Where the contract leaves room:
- An empty money or count cell is "not a number" and quarantines the row: an enterprise files zero as `0`, and
  an empty cell would otherwise be summed as zero without anyone having said so.
- A count may be written `28` or `28.0` (a whole number); `28.5` is quarantined. Thousands separators are
  allowed in money and counts (`9,810.00`).
- 统一社会信用代码 must be exactly 18 characters of the GB 32100-2015 alphabet (upper-case digits and letters
  without I, O, S, V, Z) with a correct check digit. Lower-case letters are not in the alphabet: quarantined,
  not upper-cased.
- "The current year" for 年度 is the Asia/Shanghai calendar year at parse time.
- 企业名称 and 更正原填报编号 have no rule in the contract: kept trimmed, null when empty.

`content_hash` is sha256 over the JSON list of the 15 parsed values in header order: texts trimmed, empty as
null, 年度 and counts as integers, money as canonical decimals (612.5 == 612.50), 填报时间 as the naive
Asia/Shanghai instant `YYYY-MM-DDTHH:MM:SS` (so `2021/04/02 09:10` == `2021-04-02 09:10:00`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import polars as pl
from stdnum.cn import uscc

from pipelines.ingest.base import FileContext, ParsedBatch, Rule, personal_text_rule, split_by_rules
from pipelines.ingest.reasons import (
    BAD_NUMBER,
    BAD_TIMESTAMP,
    MISSING_FIELD,
    NEGATIVE_NUMBER,
    NOT_ALLOWED_VALUE,
    UNKNOWN_REGION,
    code,
)
from pipelines.ingest.tabular.reader import read_tabular
from pipelines.lib.feeds import feed
from pipelines.lib.numbers import SPACES, canonical_decimal, decimal_to_float, parse_decimal, strip_spaces
from pipelines.lib.pii_scan import flag_personal_text
from pipelines.lib.timeparse import SHANGHAI

HEADER = [
    "填报编号",
    "统一社会信用代码",
    "企业名称",
    "所属街道代码",
    "所属产业",
    "年度",
    "研发费用(万元)",
    "研发人员(人)",
    "主营业务收入(万元)",
    "新产品销售收入(万元)",
    "发明专利申请(件)",
    "发明专利授权(件)",
    "高新技术企业证书编号",
    "填报时间",
    "更正原填报编号",
]
MONEY = {
    "研发费用(万元)": "rd_expense_wan_yuan",
    "主营业务收入(万元)": "revenue_wan_yuan",
    "新产品销售收入(万元)": "new_product_revenue_wan_yuan",
}
COUNTS = {
    "研发人员(人)": "rd_personnel",
    "发明专利申请(件)": "invention_patent_applications",
    "发明专利授权(件)": "invention_patents_granted",
}
NUMBERS = {name: {**MONEY, **COUNTS}[name] for name in HEADER if name in MONEY or name in COUNTS}  # header order
TEXTS = {
    "填报编号": "filing_id",
    "统一社会信用代码": "credit_code",
    "企业名称": "enterprise_name",
    "所属街道代码": "street_code",
    "所属产业": "industry",
    "高新技术企业证书编号": "ht_certificate_no",
    "更正原填报编号": "amends_filing_id",
}
# Texts no closed rule constrains, stored as delivered: scanned for phones and resident IDs.
FREE_TEXT = ("填报编号", "企业名称", "更正原填报编号")
INDUSTRIES = ("输变电", "大数据", "金融商贸", "健康文旅", "其他")
MIN_YEAR = 2000

FEED = feed("rd_filings")
COLUMNS: dict[str, pl.DataType] = FEED.own_columns()  # declared in dbt's raw source

KNOWN_KEY = "rd_filings.known_content_hashes"  # run_state: 填报编号 → content_hash of its first delivery
SKIPPED_KEY = "skipped_redeliveries"  # run_state: exact re-deliveries dropped in this run

_CREDIT_CODE_ALPHABET = "[0-9A-HJ-NPQRTUWXY]"  # GB 32100-2015: digits and upper-case letters but I, O, S, V, Z
_CREDIT_CODE_SHAPE = f"^{_CREDIT_CODE_ALPHABET}{{18}}$"
_CREDIT_CODE_RE = re.compile(_CREDIT_CODE_SHAPE)
_CERTIFICATE = r"^GR[0-9]{12}$"
_TIMESTAMP_FORMS = (
    (re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}"), "%Y/%m/%d %H:%M"),
)
_INT64_MAX = 2**63 - 1


def current_year() -> int:
    return datetime.now(SHANGHAI).year


class RdFilingsParser:
    feed = FEED.name
    table = FEED.table
    folder = FEED.folder
    extensions = FEED.extensions
    columns = COLUMNS
    independent_files = False  # re-deliveries are recognised against earlier files (run_state)
    row_groups_by = None

    def parse(self, ctx: FileContext) -> Iterator[ParsedBatch]:
        # Read every sheet first: a file rejected halfway must not leave its filings in the known set.
        sheets = list(read_tabular(ctx.path, HEADER, ctx.limits))
        known = known_filings(ctx)
        for frame, rejected in sheets:
            valid, quarantined = self.split(frame, ctx.regions.street_codes)
            valid, conflicts, skipped = _against_known(valid, known)
            ctx.run_state[SKIPPED_KEY] = ctx.run_state.get(SKIPPED_KEY, 0) + skipped
            parts = [quarantined, conflicts, rejected]
            yield ParsedBatch(valid=_finish(valid), quarantined=pl.concat(parts).sort("source_row"))

    def split(self, frame: pl.DataFrame, street_codes: frozenset[str]) -> tuple[pl.DataFrame, pl.DataFrame]:
        """All-text rows → rows passing every row rule (still with helper columns) and quarantine rows."""
        work = flag_personal_text(_normalise(frame), FREE_TEXT)
        year_max = current_year()
        credit = pl.col("_credit_code")
        well_formed_credit = credit.str.contains(_CREDIT_CODE_SHAPE)
        street, industry = pl.col("_street_code"), pl.col("_industry")
        certificate, submitted = pl.col("_ht_certificate_no"), pl.col("_submitted_text")
        rules: list[Rule] = [
            personal_text_rule(),
            Rule(pl.col("_filing_id") == "", MISSING_FIELD, "empty 填报编号", pl.lit("填报编号")),
            Rule(
                ~well_formed_credit,
                code("bad_credit_code"),
                pl.format("统一社会信用代码 '{}' is not 18 characters of the GB 32100-2015 alphabet", credit),
                credit,
            ),
            Rule(
                well_formed_credit & ~pl.col("_credit_check_ok"),
                code("bad_credit_code"),
                pl.format("统一社会信用代码 '{}' has a wrong check digit", credit),
                credit,
            ),
            Rule(
                ~street.is_in(list(street_codes)),
                UNKNOWN_REGION,
                pl.format("所属街道代码 '{}' is not a 12-digit street code in regions.csv", street),
                street,
            ),
            Rule(
                ~industry.is_in(list(INDUSTRIES)),
                NOT_ALLOWED_VALUE,
                pl.format("unknown 所属产业 '{}'", industry),
                industry,
            ),
            Rule(
                pl.col("_year").is_null() | ~pl.col("_year").is_between(MIN_YEAR, year_max),
                code("bad_year"),
                pl.format(f"年度 '{{}}' is not a year from {MIN_YEAR} to {year_max}", pl.col("_year_text")),
                pl.col("_year_text"),
            ),
            *[
                Rule(pl.col(f"_why_{en}").is_not_null(), pl.col(f"_code_{en}"), pl.col(f"_why_{en}"), pl.col(zh))
                for zh, en in NUMBERS.items()
            ],
            Rule(
                (certificate != "") & ~certificate.str.contains(_CERTIFICATE),
                code("bad_certificate"),
                pl.format("高新技术企业证书编号 '{}' is neither empty nor GR followed by 12 digits", certificate),
                certificate,
            ),
            Rule(
                pl.col("_submitted_at").is_null(),
                BAD_TIMESTAMP,
                pl.format("填报时间 '{}' is not a valid YYYY-MM-DD HH:MM:SS or YYYY/MM/DD HH:MM", submitted),
                submitted,
            ),
        ]
        return split_by_rules(work, rules, [*HEADER, "extra_columns"])


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Trimmed texts plus parsed helper columns; numbers via Decimal, lookups by distinct value."""
    work = frame.with_columns(
        *[strip_spaces(pl.col(zh)).alias(f"_{en}") for zh, en in TEXTS.items()],
        strip_spaces(pl.col("年度")).alias("_year_text"),
        strip_spaces(pl.col("填报时间")).alias("_submitted_text"),
    )
    credit_ok = {c: _check_digit_ok(c) for c in work["_credit_code"].unique().to_list()}
    moments = {t: _parse_timestamp(t) for t in work["_submitted_text"].unique().to_list()}
    numbers: list[pl.Series] = []
    for zh, en in [*MONEY.items(), *COUNTS.items()]:
        values, reasons, codes = _numbers(work[zh].to_list(), zh, whole=zh in COUNTS)
        numbers.append(pl.Series(f"_{en}", values, dtype=pl.Int64 if zh in COUNTS else pl.Float64))
        numbers.append(pl.Series(f"_why_{en}", reasons, dtype=pl.String))
        numbers.append(pl.Series(f"_code_{en}", codes, dtype=pl.String))
    return work.with_columns(
        pl.col("_credit_code")
        .replace_strict(credit_ok, default=False, return_dtype=pl.Boolean)
        .alias("_credit_check_ok"),
        pl.col("_submitted_text")
        .replace_strict(moments, default=None, return_dtype=pl.Datetime("us"))
        .alias("_submitted_at"),
        pl.when(pl.col("_year_text").str.contains(r"^[0-9]{1,6}$"))
        .then(pl.col("_year_text").cast(pl.Int32, strict=False))
        .alias("_year"),
        *numbers,
    )


def _check_digit_ok(code: str) -> bool:
    """The GB 32100-2015 check digit (the 18th character), computed with python-stdnum."""
    if not _CREDIT_CODE_RE.match(code):
        return False
    return uscc.calc_check_digit(code[:17]) == code[17]


def _parse_timestamp(text: str) -> datetime | None:
    """`YYYY-MM-DD HH:MM:SS` or `YYYY/MM/DD HH:MM` that is a real date and time, else None."""
    for shape, form in _TIMESTAMP_FORMS:
        if shape.fullmatch(text):
            try:
                return datetime.strptime(text, form)
            except ValueError:
                return None
    return None


def _numbers(texts: list[str], label: str, *, whole: bool) -> tuple[list, list[str | None], list[str | None]]:
    """Parsed values and, per row, the reason it is not a valid non-negative amount and its code (None when it
    is)."""
    values: list = []
    reasons: list[str | None] = []
    codes: list[str | None] = []
    for raw in texts:
        text = raw.strip(SPACES)
        number = parse_decimal(text)
        value = reason = None
        why = BAD_NUMBER
        if number is None:
            reason = f"{label} '{text}' is not a number"
        elif number < 0:
            reason, why = f"negative {label} '{text}'", NEGATIVE_NUMBER
        elif whole and number != number.to_integral_value():
            reason = f"{label} '{text}' is not a whole number"
        elif whole:
            value = int(number)
            if value > _INT64_MAX:
                value, reason = None, f"{label} '{text}' is too large"
        else:
            value = decimal_to_float(number)
            if value is None:
                reason = f"{label} '{text}' is too large"
        values.append(value)
        reasons.append(reason)
        codes.append(why if reason is not None else None)
    return values, reasons, codes


def content_hash(row: dict) -> str:
    """sha256 of a valid row's 15 parsed values (see the module docstring)."""
    parsed: list = []
    for name in HEADER:
        if name in MONEY:
            number = parse_decimal(row[name])
            parsed.append(None if number is None else canonical_decimal(number))
        elif name in COUNTS:
            parsed.append(row[f"_{COUNTS[name]}"])
        elif name == "年度":
            parsed.append(row["_year"])
        elif name == "填报时间":
            parsed.append(row["_submitted_at"].isoformat(timespec="seconds"))
        else:
            parsed.append(row[f"_{TEXTS[name]}"] or None)
    payload = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def known_filings(ctx: FileContext) -> dict[str, str]:
    """填报编号 → content_hash of its first delivery: earlier runs' raw Parquet files, read once per run and
    kept in `ctx.run_state`, then updated as this run accepts rows."""
    known = ctx.run_state.get(KNOWN_KEY)
    if known is None:
        known = _read_history(ctx.raw_table_dir)
        ctx.run_state[KNOWN_KEY] = known
    return known


def _read_history(raw_table_dir: Path) -> dict[str, str]:
    files = sorted(raw_table_dir.glob("*.parquet")) if raw_table_dir.is_dir() else []
    frames = []
    for path in files:
        available = pl.read_parquet_schema(path)
        wanted = ["filing_id", "content_hash"] + [c for c in ("delivered_at", "source_row") if c in available]
        frames.append(pl.read_parquet(path, columns=wanted).with_columns(pl.lit(path.name).alias("_file")))
    known: dict[str, str] = {}
    if not frames:
        return known
    history = pl.concat(frames, how="diagonal_relaxed")
    order = [c for c in ("delivered_at", "_file", "source_row") if c in history.columns]
    for filing_id, digest in history.sort(order, nulls_last=True).select("filing_id", "content_hash").iter_rows():
        known.setdefault(filing_id, digest)
    return known


def _against_known(valid: pl.DataFrame, known: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Split valid rows into new filings, conflict quarantine rows, and a count of exact re-deliveries.

    `known` is updated in place with the new filings, so later rows and files see them.
    """
    hashes = [content_hash(row) for row in valid.iter_rows(named=True)]
    verdicts: list[str] = []
    for filing_id, digest in zip(valid["_filing_id"].to_list(), hashes, strict=True):
        first = known.get(filing_id)
        if first is None:
            known[filing_id] = digest
            verdicts.append("new")
        else:
            verdicts.append("redelivery" if first == digest else "conflict")
    tagged = valid.with_columns(
        pl.Series("content_hash", hashes, dtype=pl.String), pl.Series("_verdict", verdicts, dtype=pl.String)
    )
    conflict_reason = pl.format(
        "填报编号 '{}' already delivered with different content (conflict; the first delivery stays current)",
        pl.col("_filing_id"),
    )
    conflict = Rule(pl.col("_verdict") == "conflict", code("filing_conflict"), conflict_reason, pl.col("_filing_id"))
    kept, conflicts = split_by_rules(tagged, [conflict], [*HEADER, "extra_columns"])
    skipped = verdicts.count("redelivery")
    return kept.filter(pl.col("_verdict") == "new"), conflicts, skipped


def _finish(valid: pl.DataFrame) -> pl.DataFrame:
    """The raw table's columns plus source_row and source_sheet, with exact dtypes even when empty."""
    schema = {**COLUMNS, "source_row": pl.Int64(), "source_sheet": pl.String()}
    out = valid.select(
        pl.col("_filing_id").alias("filing_id"),
        pl.col("_credit_code").alias("credit_code"),
        _null_if_empty("_enterprise_name").alias("enterprise_name"),
        pl.col("_street_code").alias("street_code"),
        pl.col("_industry").alias("industry"),
        pl.col("_year").alias("filing_year"),
        pl.col("_rd_expense_wan_yuan").alias("rd_expense_wan_yuan"),
        pl.col("_rd_personnel").alias("rd_personnel"),
        pl.col("_revenue_wan_yuan").alias("revenue_wan_yuan"),
        pl.col("_new_product_revenue_wan_yuan").alias("new_product_revenue_wan_yuan"),
        pl.col("_invention_patent_applications").alias("invention_patent_applications"),
        pl.col("_invention_patents_granted").alias("invention_patents_granted"),
        _null_if_empty("_ht_certificate_no").alias("ht_certificate_no"),
        pl.col("_submitted_at").alias("submitted_at"),
        _null_if_empty("_amends_filing_id").alias("amends_filing_id"),
        pl.col("content_hash"),
        pl.col("extra_columns"),
        pl.col("source_row"),
        pl.col("source_sheet"),
    )
    return out.cast(schema)


def _null_if_empty(column: str) -> pl.Expr:
    return pl.when(pl.col(column) != "").then(pl.col(column))


PARSER = RdFilingsParser()
