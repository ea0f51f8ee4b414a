"""AnalysisResult: what a reader of the segments is told (notes) on the 12-row fixture."""

from __future__ import annotations

import pandas as pd
from test_features import ROW_COLUMNS, ROWS, canonical  # the 12-row fixture (same tests/ folder)

from segmint.api import analyze


def test_lines_on_or_after_an_earlier_snapshot_are_named_not_dropped_silently():
    tx = canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))
    # by hand: 1008 (2 lines, 05-05), 1009 (05-20), C1010 (05-21) and 1006 (06-30) are on or after 2023-05-05
    result = analyze(tx, scheme="rfm", snapshot_date="2023-05-05")
    notes = [n for n in result.notes() if n.startswith("snapshot")]
    assert notes == [
        "snapshot 2023-05-05: 5 line(s) dated on or after it (2023-05-05 to 2023-06-30) are left out of the "
        "features and segments, which describe customers as of the day before; a snapshot after 2023-06-30 "
        "includes them"
    ]
    assert not [n for n in analyze(tx, scheme="rfm").notes() if n.startswith("snapshot")]  # default: day after


def test_a_file_analysed_to_its_end_gets_no_snapshot_note(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("invoice,customer,date,amount\n1,A,2023-01-05,10\n2,B,2023-02-06,20\n")
    assert not [n for n in analyze(str(path), scheme="rfm").notes() if n.startswith("snapshot")]
    later = analyze(str(path), scheme="rfm", snapshot_date="2023-02-01").notes()
    assert [n for n in later if n.startswith("snapshot")][0].startswith("snapshot 2023-02-01: 1 line(s)")


def test_a_snapshot_long_after_the_last_purchase_is_named():
    tx = canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))
    # last purchase B's 2023-06-30; 2023-10-01 leaves 92 days without one before it (07-01 .. 09-30)
    late = [n for n in analyze(tx, scheme="rfm", snapshot_date="2023-10-01").notes() if "no customer bought" in n]
    assert late and late[0].startswith("snapshot 2023-10-01: no customer bought in the 92 days before it (last "
                                       "purchase 2023-06-30)")
    # 2023-09-29: 90 days, a quarter at most: no note
    assert not [n for n in analyze(tx, scheme="rfm", snapshot_date="2023-09-29").notes() if "no customer bought" in n]
