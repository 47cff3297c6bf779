import hashlib
import hmac
import json
import re

import pytest

from pipelines.lib.pseudonymise import (
    FINGERPRINT_FILE,
    RUNBOOK_KEY,
    RUNBOOK_ROTATION,
    PiiKeyMismatch,
    PiiKeyMissing,
    Pseudonymiser,
    fingerprint_matches,
    holds_demo_data,
    load_key,
    warehouse_key,
)


def test_same_value_same_pseudonym_and_key_matters():
    first, second = Pseudonymiser(b"key-1"), Pseudonymiser(b"key-2")
    assert first("13900000000") == first(" 13900000000 ")
    assert first("13900000000") != second("13900000000")
    assert first("13900000000").startswith("p:") and len(first("13900000000")) == 66
    assert first(None) is None and first("") is None


def test_no_key_refuses_unless_demo(tmp_path, monkeypatch):
    monkeypatch.delenv("INNOSTAT_PII_KEY", raising=False)
    with pytest.raises(PiiKeyMissing, match="INNOSTAT_PII_KEY"):
        load_key(demo=False, demo_key_path=tmp_path / "k")
    key = load_key(demo=True, demo_key_path=tmp_path / "k")
    assert (tmp_path / "k").stat().st_mode & 0o777 == 0o600
    assert load_key(demo=True, demo_key_path=tmp_path / "k") == key  # stable across runs


def test_env_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "from-env")
    assert load_key(demo=True, demo_key_path=tmp_path / "k") == b"from-env"
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize(
    "line",
    [
        '{"reporter_name":"张三","reporter_phone":"13900000000","reporter_id_number":"11010519491231002X"',
        '{"applicant_id": "91110000600037341L", "applicant_phone": "0734-8123456", oops',
        "garbage 13900000000 11010519491231002X 110105491231002",
        "2020-01-18 12:47:03 WARN export retry reporter=张三 tel=13900000000",
    ],
)
def test_scrub_text_leaves_nothing_personal(line):
    fields = ("reporter_name", "reporter_phone", "reporter_id_number", "applicant_id", "applicant_phone")
    scrubbed = Pseudonymiser(b"k").scrub_unparseable(line, fields)
    for clear in ("张三", "13900000000", "11010519491231002X", "91110000600037341L", "8123456", "110105491231002"):
        assert clear not in scrubbed


def test_scrub_record_keeps_other_fields():
    record = {"event_id": "e-1", "applicant_id": "91110000600037341L", "visits": 0}
    clean = Pseudonymiser(b"k").scrub_record(record, ("applicant_id",))
    assert clean["event_id"] == "e-1" and clean["visits"] == 0
    assert "91110000600037341L" not in json.dumps(clean)


@pytest.mark.parametrize("key_length", [1, 26, 63, 64, 65, 200])
def test_pseudonyms_are_hmac_sha256_of_the_stripped_value(key_length):
    """The precomputed inner and outer states give exactly `hmac` (RFC 2104), for keys shorter and longer than
    SHA-256's 64-byte block (a longer key is hashed first)."""
    key = bytes((7 * i + 3) % 256 for i in range(key_length))
    pseudonymise = Pseudonymiser(key)
    for value in ("430406199001011234", " 13800138000 ", "张三", "a" * 300, 12345):
        text = str(value).strip()
        expected = "p:" + hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
        assert pseudonymise(value) == expected
        assert pseudonymise(value) == expected  # from the cache


STATISTICS = "地区代码,指标名称,计量单位,统计期,数值,数据状态\n430406,地区生产总值,亿元,2019,236.40,初步核实\n"


def _ingest_something(settings) -> None:
    from pipelines.ingest.runner import ingest_table

    (settings.landing / "statistics").mkdir(parents=True, exist_ok=True)
    (settings.landing / "statistics" / "a.csv").write_text(STATISTICS, encoding="utf-8")
    ingest_table("statistics", settings.landing, settings.raw_dir, Pseudonymiser(b"whatever"))


def test_the_first_ingestion_records_a_fingerprint_that_does_not_reveal_the_key(settings, monkeypatch):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "key-one-" + "x" * 40)
    key = warehouse_key(settings.state_dir, demo=False)
    path = settings.state_dir / FINGERPRINT_FILE
    recorded = path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600
    assert "key-one" not in recorded and key.hex() not in recorded
    assert fingerprint_matches(key, recorded) and not fingerprint_matches(b"key-two", recorded)
    assert warehouse_key(settings.state_dir, demo=False) == key
    assert path.read_text(encoding="utf-8") == recorded  # checked, not written again


def test_another_key_is_refused_once_the_warehouse_holds_data(settings, monkeypatch):
    monkeypatch.setenv("INNOSTAT_PII_KEY", "key-one")
    warehouse_key(settings.state_dir, demo=False)
    monkeypatch.setenv("INNOSTAT_PII_KEY", "key-two")
    # nothing ingested yet: no pseudonym of the first key exists, so the second key simply takes its place
    assert warehouse_key(settings.state_dir, demo=False) == b"key-two"
    _ingest_something(settings)
    monkeypatch.setenv("INNOSTAT_PII_KEY", "key-three")
    with pytest.raises(PiiKeyMismatch, match=re.escape(RUNBOOK_ROTATION)):
        warehouse_key(settings.state_dir, demo=False)
    # a demo key is another key too: a demo warehouse does not silently take a real key, nor the reverse
    monkeypatch.delenv("INNOSTAT_PII_KEY")
    with pytest.raises(PiiKeyMismatch, match="demo key"):
        warehouse_key(settings.state_dir, demo=True)
    with pytest.raises(PiiKeyMissing, match=r"INNOSTAT_PII_KEY is not set.*" + re.escape(RUNBOOK_KEY)):
        warehouse_key(settings.state_dir, demo=False)
    monkeypatch.setenv("INNOSTAT_PII_KEY", "key-two")
    assert warehouse_key(settings.state_dir, demo=False) == b"key-two"


def test_a_warehouse_ingested_under_its_demo_key_stays_a_demo(settings, monkeypatch):
    monkeypatch.delenv("INNOSTAT_PII_KEY", raising=False)
    assert settings.with_demo_data().dbt_env()["INNOSTAT_DEMO"] == "0"
    warehouse_key(settings.state_dir, demo=True)  # a demo's first ingestion
    assert holds_demo_data(settings.state_dir)
    assert settings.with_demo_data().dbt_env()["INNOSTAT_DEMO"] == "1"  # a backfill of the demo: still sample data
    _ingest_something(settings)
    monkeypatch.setenv("INNOSTAT_PII_KEY", "a-real-key")  # real data into the demo's warehouse: refused, and why
    with pytest.raises(PiiKeyMismatch, match=r"holds sample data under its demo key .*`innostat run --demo`"):
        warehouse_key(settings.state_dir, demo=False)

    other = settings.state_dir.with_name("other.state")
    warehouse_key(other, demo=True)  # --demo with a real key: the data are not under the demo key
    assert not holds_demo_data(other)
