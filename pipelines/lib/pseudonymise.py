"""Keyed pseudonyms for personal data: HMAC-SHA256 with a secret key from the environment.

The same clear value always gives the same pseudonym under one key, so a repeat reporter or applicant can be
counted without an identity. Personal values are replaced before anything is written, logged or quarantined.

A warehouse holds the pseudonyms of one key. Its state folder records a fingerprint of that key at the first
ingestion (`pii_key.fingerprint`: PBKDF2-HMAC-SHA256 of the key with a random salt, which does not reveal it), and
`warehouse_key` refuses another key while raw data exists: mixing keys would split every person in two.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from functools import cache
from pathlib import Path

import polars as pl

from pipelines.lib.feeds import ledger_dir

KEY_ENV = "INNOSTAT_PII_KEY"
_SHA256_BLOCK = 64  # bytes
PSEUDONYM_PREFIX = "p:"  # marks a value as a pseudonym wherever it shows up (quarantine JSON, dashboards)
FINGERPRINT_FILE = "pii_key.fingerprint"  # in the warehouse's state folder
DEMO_KEY_FILE = "demo_pii.key"  # in the warehouse's state folder, only ever written by a demo run
RUNBOOK_KEY = 'docs/operations.md, "The pseudonymisation key"'
RUNBOOK_ROTATION = 'docs/operations.md, "Rotate the pseudonymisation key"'
# Slows a guess at a weak key from the fingerprint (~30 ms, once per process and key); a proper key is 32 random bytes.
_FINGERPRINT_ITERATIONS = 100_000


class PiiKeyMissing(RuntimeError):
    """Raised when personal fields would be ingested without the warehouse's key: none is configured, or
    (PiiKeyMismatch) another one than the warehouse's pseudonyms were made with."""


class PiiKeyMismatch(PiiKeyMissing):
    """Raised when the configured key is not the one whose fingerprint the warehouse's state records."""


def load_key(*, demo: bool, demo_key_path: Path) -> bytes:
    """The key from `INNOSTAT_PII_KEY`; under `--demo` only, a random local key kept outside git."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return configured.encode("utf-8")
    if not demo:
        raise PiiKeyMissing(
            f"{KEY_ENV} is not set, so no personal field can be pseudonymised and nothing is ingested. Set it to "
            f"a long secret in the environment of the pipeline (the `innostat` command, or Dagster's webserver "
            f"and daemon), e.g. export {KEY_ENV}=$(python -c 'import secrets; print(secrets.token_hex(32))'); "
            f"see {RUNBOOK_KEY}. Only a demo on sample data (`make demo`, `innostat demo`, `--demo`) may use a "
            "random local demo key instead."
        )
    if not demo_key_path.exists():
        demo_key_path.parent.mkdir(parents=True, exist_ok=True)
        demo_key_path.write_text(secrets.token_hex(32), encoding="utf-8")
        demo_key_path.chmod(0o600)
        print(f"[innostat] --demo: no {KEY_ENV} set; created a random demo key at {demo_key_path}")
    return demo_key_path.read_text(encoding="utf-8").strip().encode("utf-8")


def key_fingerprint(key: bytes, salt: bytes) -> str:
    """`pbkdf2-sha256$<iterations>$<salt hex>$<digest hex>`: tells keys apart without revealing them."""
    return _fingerprint(key, salt, _FINGERPRINT_ITERATIONS)


@cache
def _fingerprint(key: bytes, salt: bytes, iterations: int) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", key, salt, iterations)
    return f"pbkdf2-sha256${iterations}${salt.hex()}${digest.hex()}"


def fingerprint_matches(key: bytes, recorded: str) -> bool:
    """Whether `recorded` (a `key_fingerprint`) was made from `key`."""
    try:
        scheme, iterations, salt, _digest = recorded.strip().split("$")
        if scheme != "pbkdf2-sha256":
            return False
        expected = _fingerprint(key, bytes.fromhex(salt), int(iterations))
    except ValueError:
        return False
    return hmac.compare_digest(expected, recorded.strip())


def _holds_ingested_data(state_dir: Path) -> bool:
    ledger = ledger_dir(state_dir / "raw")
    return ledger.is_dir() and any(ledger.glob("*.parquet"))


def holds_demo_data(state_dir: Path) -> bool:
    """Whether the warehouse's data were pseudonymised with its local demo key: sample data from a demo run."""
    demo_key, recorded = state_dir / DEMO_KEY_FILE, state_dir / FINGERPRINT_FILE
    if not (demo_key.exists() and recorded.exists()):
        return False
    key = demo_key.read_text(encoding="utf-8").strip().encode("utf-8")
    return fingerprint_matches(key, recorded.read_text(encoding="utf-8"))


def warehouse_key(state_dir: Path, *, demo: bool, record: bool = True) -> bytes:
    """The key to ingest into the warehouse whose state folder is `state_dir` (`load_key`), checked against the
    fingerprint recorded there; the first ingestion records it (`record`). Raises PiiKeyMissing without a key
    and PiiKeyMismatch when the warehouse holds pseudonyms made with another key."""
    key = load_key(demo=demo, demo_key_path=state_dir / DEMO_KEY_FILE)
    path = state_dir / FINGERPRINT_FILE
    recorded = path.read_text(encoding="utf-8") if path.exists() else None
    if recorded is not None and fingerprint_matches(key, recorded):
        return key
    if recorded is not None and _holds_ingested_data(state_dir):
        configured = f"{KEY_ENV} is set" if os.environ.get(KEY_ENV, "").strip() else f"{KEY_ENV} is not set"
        sample = (
            f" This warehouse holds sample data under its demo key ({state_dir / DEMO_KEY_FILE}): run it as a demo "
            "(`innostat run --demo` without the variable), and give real data a warehouse of their own."
            if holds_demo_data(state_dir)
            else ""
        )
        raise PiiKeyMismatch(
            f"the pseudonymisation key differs from the one this warehouse's data were pseudonymised with "
            f"(fingerprint in {path}; {configured}{', demo key' if demo else ''}). Ingesting with it would give "
            f"every person a second pseudonym, so nothing is ingested. Use the warehouse's key, or rotate the key "
            f"as {RUNBOOK_ROTATION} says (rebuild the raw layer under the new key).{sample}"
        )
    if record:  # the first ingestion (or a warehouse from before fingerprints, or one whose raw layer is empty)
        state_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(key_fingerprint(key, secrets.token_bytes(16)) + "\n", encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, path)
    return key


class Pseudonymiser:
    """Turns clear personal values into `p:<hex>` pseudonyms. Empty and missing values stay missing."""

    def __init__(self, key: bytes):
        if not key:
            raise PiiKeyMissing("the pseudonymisation key is empty")
        self._key = key
        # HMAC-SHA256 as RFC 2104 defines it, with the keyed inner and outer hash states made once: copying them
        # per value costs a fifth of `hmac.new`, which re-keys every time (0.7 µs against 3.3 µs a value; a
        # city's first load pseudonymises some 20 M values). tests/lib/test_pseudonymise.py holds it to `hmac`.
        block = hashlib.sha256(key).digest() if len(key) > _SHA256_BLOCK else key
        block = block.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._cache: dict[str, str] = {}

    def __reduce__(self):
        # Pickled (for ingestion worker processes) as its key alone: the cache holds clear values.
        return (Pseudonymiser, (self._key,))

    def __call__(self, value: object) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not text:
            return None
        cached = self._cache.get(text)
        if cached is None:
            inner = self._inner.copy()
            inner.update(text.encode("utf-8"))
            outer = self._outer.copy()
            outer.update(inner.digest())
            cached = PSEUDONYM_PREFIX + outer.hexdigest()
            if len(self._cache) < 1_000_000:  # repeat applicants are common; keep memory bounded
                self._cache[text] = cached
        return cached

    def series(self, values: pl.Series) -> pl.Series:
        """Pseudonymise a column (strings or anything that prints)."""
        return pl.Series(values.name, [self(v) for v in values.to_list()], dtype=pl.String)

    def scrub_record(self, record: dict, personal_fields: tuple[str, ...]) -> dict:
        """A copy of a parsed record with every personal field replaced by its pseudonym."""
        clean = dict(record)
        for field in personal_fields:
            if field in clean and clean[field] is not None:
                clean[field] = self(clean[field])
        return clean

    def scrub_text(self, text: str, personal_fields: tuple[str, ...]) -> str:
        """Scrub free text: values of personal keys, then anything shaped like an ID number, a credit code or a
        phone, are replaced by pseudonyms."""
        for field in personal_fields:
            pattern = re.compile(r'("' + re.escape(field) + r'"\s*:\s*)"((?:[^"\\]|\\.)*)"?')
            text = pattern.sub(lambda m: m.group(1) + json.dumps(self(m.group(2)) or ""), text)
        return _ID_LIKE.sub(lambda m: self(m.group(0)) or "", text)

    def scrub_unparseable(self, line: str, personal_fields: tuple[str, ...]) -> str:
        """Scrub a line that could not be parsed at all: like `scrub_text`, and every run of Chinese characters
        too, since a name can hide anywhere in it (`reporter=张三`). What stays is the line's structure."""
        return _CJK_RUN.sub(lambda m: self(m.group(0)) or "", self.scrub_text(line, personal_fields))


# 18-character resident IDs and credit codes, 15-digit old IDs, 11-digit mobiles and landlines with area code,
# not already inside a pseudonym (the lookbehind skips hex after "p:").
_ID_LIKE = re.compile(
    r"(?<![0-9A-Za-z:])(?:[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}|\d{17}[\dXx]|\d{15}|1[3-9]\d{9}"
    r"|0\d{2,3}-?\d{7,8})(?![0-9A-Za-z])"
)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff·]+")
