"""What a check found: one `RuleResult` per expectation, one `Outcome` per asset check (every expectation of
every suite of one table)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pipelines.lib.timeparse import SHANGHAI

SAMPLE_SIZE = 5  # offending values kept per expectation: enough to find the rows, never a data dump
REDACTED = "<redacted: personal field>"


@dataclass(frozen=True)
class RuleResult:
    table: str
    expectation: str
    expectation_type: str
    severity: str
    passed: bool
    unexpected_count: int | None
    element_count: int | None
    sample: list = field(default_factory=list)
    error: str | None = None
    message: str | None = None  # what the check found in words (the disclosure audit: counts, tightest protection)

    @property
    def blocks(self) -> bool:
        return not self.passed and self.severity == "block"

    def describe(self) -> str:
        """One line an operator can act on: table, expectation, how many rows, and sample values."""
        head = f"{self.table}: {self.expectation} ({self.severity})"
        if self.error:
            return f"{head} could not be evaluated: {self.error}"
        said = f" ({self.message})" if self.message else ""
        if self.passed:
            return f"{head} passed{said}"
        counted = f"{self.unexpected_count} of {self.element_count} rows" if self.element_count is not None else ""
        shown = "; ".join(sample_text(item) for item in self.sample[:3])
        return f"{head} failed for {counted}{said}" + (f", e.g. {shown}" if shown else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "expectation": self.expectation,
            "severity": self.severity,
            "passed": self.passed,
            "unexpected_count": self.unexpected_count,
            "element_count": self.element_count,
            "sample": self.sample,
            **({"error": self.error} if self.error else {}),
            **({"message": self.message} if self.message else {}),
        }


@dataclass(frozen=True)
class Outcome:
    """What one asset check found: every expectation of every suite of one table."""

    check_name: str
    table: str
    run_id: str
    checked_at: datetime
    results: list[RuleResult]
    rows_checked: int = 0

    @property
    def blocking_failures(self) -> list[RuleResult]:
        return [r for r in self.results if r.blocks]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warn"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures and not self.warnings

    def description(self) -> str:
        if failed := self.blocking_failures:
            text = f"{len(failed)} blocking expectation(s) failed: " + " | ".join(r.describe() for r in failed)
            if self.warnings:
                text += f" (and {len(self.warnings)} warning(s))"
            return text
        if self.warnings:
            return f"{len(self.warnings)} warning(s), nothing blocks: " + " | ".join(
                r.describe() for r in self.warnings
            )
        return f"{self.table}: all {len(self.results)} expectations passed ({self.rows_checked} rows checked)"

    def metadata(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows_checked": self.rows_checked,
            "expectations": len(self.results),
            "failed_blocking": len(self.blocking_failures),
            "failed_warnings": len(self.warnings),
            "results": [r.as_dict() for r in self.results],
        }


def sample_text(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k}={v}" for k, v in item.items())
    return str(item)


def now() -> datetime:
    return datetime.now(SHANGHAI).replace(tzinfo=None, microsecond=0)
