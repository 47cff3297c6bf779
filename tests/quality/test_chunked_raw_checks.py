"""Raw suites over a big batch run chunk by chunk (bounded memory); the merged verdict must be the whole one."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from pipelines.lib import quality

GOOD_PSEUDONYM = "p:" + "a" * 64


def _events(n: int) -> pd.DataFrame:
    rows = []
    for i in range(n):
        rows.append(
            {
                "event_id": f"E{i}",
                "case_id": None if i % 97 == 5 else f"C{i // 3}",  # missing case ids: a blocking failure
                "event_type": "submitted",
                "occurred_at": datetime(2021, 5, 3, 9, 0),
                "channel": "fax" if i % 41 == 7 else "online",
                "applicant_type": "person",
                "visits": -1 if i % 53 == 2 else 1,
                "promised_days": 3,
                "rating": 4,
                "applicant_id_pseudonym": "13800138000" if i == 250 else GOOD_PSEUDONYM,  # a clear phone: a leak
                "applicant_phone_pseudonym": GOOD_PSEUDONYM,
                "source_file": f"gov_services/events_{i // 100}.jsonl",
                "source_sheet": None,
                "source_row": i % 100 + 1,
            }
        )
    return pd.DataFrame(rows)


def test_chunked_verdicts_equal_the_whole_frames_verdict() -> None:
    (suite,) = [s for s in quality.raw_suites("gov_services") if s.frame == "rows"]
    assert quality._judges_rows_one_by_one(suite)
    frame = _events(400)
    whole = quality.validate(suite, frame)
    parts = [frame.iloc[start : start + 130].reset_index(drop=True) for start in range(0, len(frame), 130)]
    merged = quality.merge_chunk_results([quality.validate(suite, part) for part in parts])
    assert [r.as_dict() for r in merged] == [r.as_dict() for r in whole]
    failed = {r.expectation for r in whole if not r.passed}
    assert {"case_id_not_null", "channel_known", "visits_non_negative", "applicant_id_pseudonym_is_pseudonym"} <= failed
    assert all(r.element_count == 400 for r in merged)


def test_suites_needing_every_row_at_once_are_not_chunked() -> None:
    delivery = [s for s in quality.raw_suites("gov_services") if s.frame == "delivery"]
    assert delivery and not any(quality._judges_rows_one_by_one(s) for s in delivery)
    for model in ("fct_gov_service_cases", "indicator_values"):  # uniqueness and row counts see the whole mart
        assert not all(quality._judges_rows_one_by_one(s) for s in quality.mart_suites(model))
