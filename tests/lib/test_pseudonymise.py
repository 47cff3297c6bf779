import hashlib
import hmac
import json

import pytest

from pipelines.lib.pseudonymise import PiiKeyMissing, Pseudonymiser, load_key


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
