"""The column-wise reader of plain CSV files must read exactly what the csv-module loop reads.

Plain files (no quotes, LF line ends, only the contract's columns) skip the Python loop; the loop stays the
reference. Hypothesis writes such files, with ragged and blank records, and both readers must agree.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from pipelines.ingest.tabular import csv_file

HEADER = ["camera_id", "street_code", "installed_on", "status_date", "online"]
CELL = st.text(alphabet=st.sampled_from([*"ab01 9-\t\u3000雪亮", "\ufeff"]), max_size=5)


def _read(path: Path, plain: bool):
    original = csv_file._read_plain_csv
    taken = []

    def spy(*args):
        result = original(*args) if plain else None
        taken.append(result is not None)
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(csv_file, "_read_plain_csv", spy)
        result = csv_file.read_csv_records(path, HEADER)
    assert taken == [plain], "a plain file must take the column-wise reader"
    return result


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(HEADER),
    padded=st.booleans(),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=12),
    final_newline=st.booleans(),
)
def test_plain_reader_equals_csv_module(tmp_path_factory, order, padded, rows, final_newline) -> None:
    header = [f" {name} " if padded else name for name in order]
    text = "\n".join([",".join(header), *(",".join(row) for row in rows)]) + ("\n" if final_newline else "")
    path = tmp_path_factory.mktemp("csv") / "cameras.csv"
    path.write_bytes(text.encode("utf-8"))
    fast_frame, fast_ragged = _read(path, True)
    slow_frame, slow_ragged = _read(path, False)
    assert_frame_equal(fast_frame, slow_frame)
    assert fast_ragged == slow_ragged


def test_files_that_are_not_plain_take_the_csv_module(tmp_path: Path) -> None:
    quoted = tmp_path / "quoted.csv"
    quoted.write_text('camera_id,street_code,installed_on,status_date,online\n"C,1",x,,2021-01-01,1\n')
    frame, ragged = csv_file.read_csv_records(quoted, HEADER)
    assert frame["camera_id"].to_list() == ["C,1"] and ragged == []
    extra = tmp_path / "extra.csv"
    extra.write_text("camera_id,street_code,installed_on,status_date,online,note\nC1,x,,2021-01-01,1,hi\n")
    frame, _ = csv_file.read_csv_records(extra, HEADER)
    assert frame["extra_columns"].to_list() == ['["note"]']  # the name only, never the value
    assert frame.schema == pl.Schema(
        {
            **dict.fromkeys(HEADER, pl.String),
            "extra_columns": pl.String,
            "source_row": pl.Int64,
            "source_sheet": pl.String,
        }
    )
