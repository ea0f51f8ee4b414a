"""Empty score levels are explained (ties), and short histories are flagged, with hand-computed values."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd

from segmint.segment import get_scheme
from segmint.segment.notes import empty_levels, history_note, tie_notes

# 10 customers: 6 bought once, then 2, 3, 4, 5 purchases. F = 1 + floor(5 k / 10), k = customers with
# fewer purchases: once -> k=0 -> 1; 2 -> k=6 -> 4; 3 -> k=7 -> 4; 4 -> k=8 -> 5; 5 -> k=9 -> 5.
# So F scores 2 and 3 hold nobody.
FREQUENCY = [1, 1, 1, 1, 1, 1, 2, 3, 4, 5]


def _features(first: dt.date, last: dt.date) -> ibis.Table:
    n = len(FREQUENCY)
    frame = pd.DataFrame({
        "customer_id": [f"c{i}" for i in range(n)],
        "recency_days": list(range(10, 10 + n)),
        "frequency": FREQUENCY,
        "monetary": [10.0 * (i + 1) for i in range(n)],
        "revenue": [10.0 * (i + 1) for i in range(n)],
        "avg_order_value": [10.0 * (i + 1) / f for i, f in enumerate(FREQUENCY)],
        "first_purchase": [first] * n,
        "last_purchase": [last] * n,
    })
    return ibis.memtable(frame)


def test_empty_levels_and_the_tie_behind_them() -> None:
    labelled = get_scheme("rfm").assign(_features(dt.date(2022, 1, 1), dt.date(2024, 6, 30)))
    assert sorted(labelled.f_score.execute().tolist()) == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert empty_levels(labelled, {"f_score": 5, "r_score": 5, "m_score": 5}) == {"f_score": [2, 3]}
    (note,) = tie_notes("RFM segments", labelled, {"f_score": (5, "frequency"), "m_score": (5, "monetary")})
    assert note.startswith("RFM segments: no customer has F score 2 and 3 (of 1-5): 60% of customers (6 of 10)")
    assert "same number of purchases (1)" in note
    # the note ends with the scores it explains ("so the levels above it stay empty" named none)
    assert note.endswith("equal values always share an F score (never split by row order), which leaves F score "
                         "2 and 3 empty")
    one = ibis.memtable(pd.DataFrame({"customer_id": ["c0"], "recency_days": [3], "frequency": [1],
                                      "monetary": [5.0]}))
    (note, *_) = tie_notes("RFM segments", get_scheme("rfm").assign(one), {"r_score": (5, "recency_days")})
    # one customer ranks below no one: R is the middle, no evidence of a long absence (they bought 3 days ago)
    assert note == ("RFM segments: one customer only, so R score ranks no one below anyone: it is the middle, 3 of 5, "
                    "no evidence of a long absence or of its opposite")


def test_a_score_that_ranks_no_one_is_the_middle_and_says_so() -> None:
    """One customer, who bought yesterday, scored R=F=M=1 (the least recent, least frequent, lowest spend:
    'Require Activation' in levels, 'About To Sleep' in RFM) and the notes said only that scores 2-5 stay
    empty; customers who all bought once scored F=1 ('few purchases'). A score no one rises above ranks no
    one: it is the middle, (bins + 1) // 2, and the notes say so; a score with a spread is unchanged."""
    one = ibis.memtable(pd.DataFrame({"customer_id": ["c0"], "recency_days": [1], "frequency": [2],
                                      "monetary": [30.5]}))
    labelled = get_scheme("levels").assign(one)
    row = labelled.select("r_score", "f_score", "m_score", "segment").execute().iloc[0].tolist()
    assert row == [3, 3, 3, "Loyal"]  # R+F+M = 9: the middle level, not Require Activation (3)
    notes = get_scheme("levels").notes(one, labelled)
    assert [n.split(", so ")[1].split(",")[0] for n in notes] == [
        "R score ranks no one below anyone: it is the middle", "F score ranks no one below anyone: it is the middle",
        "M score ranks no one below anyone: it is the middle"]
    seven = get_scheme("levels").assign(one, get_scheme("levels").config({"bins": 7}))
    assert seven.select("r_score").execute()["r_score"].tolist() == [4]  # (7 + 1) // 2
    three = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [56, 25, 1],
                                        "frequency": [1, 1, 1], "monetary": [10.0, 20.0, 30.0]}))
    rfm = get_scheme("rfm").assign(three)
    scores = rfm.select("customer_id", "r_score", "f_score", "m_score").order_by("customer_id").execute()
    # F: all alike -> 3; R and M spread over 1, 3, 5 (by hand: 1 + floor(4 k / 2))
    assert scores[["r_score", "f_score", "m_score"]].values.tolist() == [[1, 3, 1], [3, 3, 3], [5, 3, 5]]
    notes = get_scheme("rfm").notes(three, rfm)
    assert ("RFM segments: all 3 customers have the same number of purchases (1), so F score ranks no one below "
            "anyone: it is the middle, 3 of 5, no evidence of few purchases or of its opposite") in notes
    # R and M spread over 1, 3 and 5 (by hand: 1 + floor(4 k / 2)): only their empty levels are noted
    assert "RFM segments: only 3 customers for 5 levels, so R score 2 and 4 stay empty" in notes


def test_every_scheme_with_scores_says_so() -> None:
    features = _features(dt.date(2022, 1, 1), dt.date(2024, 6, 30))
    for name in ("rfm", "levels"):
        scheme = get_scheme(name)
        notes = scheme.notes(features, scheme.assign(features))
        assert len(notes) == 1 and "F score 2 and 3" in notes[0], name
    tiers = get_scheme("tiers")
    notes = tiers.notes(features, tiers.assign(features))
    # frequency buckets (10): once -> 1; 2 -> 1+floor(10*6/10)=7; 3 -> 8; 4 -> 9; 5 -> 10: 2..6 empty
    assert notes == [n for n in notes if "frequency bucket 2, 3, 4, 5 and 6 (of 1-10)" in n or "value bucket" in n]
    assert any("frequency bucket 2, 3, 4, 5 and 6 (of 1-10)" in n for n in notes)
    assert get_scheme("clusters").notes(features, get_scheme("clusters").assign(features)) == []


def test_short_history_is_flagged_for_tiers() -> None:
    long = _features(dt.date(2022, 1, 1), dt.date(2024, 6, 30))
    assert history_note("tiers", long) is None
    short = _features(dt.date(1997, 1, 1), dt.date(1998, 6, 30))  # CDNOW's 546 days
    note = history_note("tiers", short)
    assert note is not None and "546 days (1997-01-01 to 1998-06-30)" in note and "2 years" in note
    tiers = get_scheme("tiers")
    assert any("546 days" in n for n in tiers.notes(short, tiers.assign(short)))


def test_new_customers_of_a_short_history_are_said_to_be_first_seen() -> None:
    """A Day Book from 2022-01-01 read on 2022-05-10: 126 customers first seen in Q2 were called "New
    Customers" without a word that they may have bought in 2021."""
    def features(start: dt.date) -> ibis.Table:
        snapshot = dt.date(2024, 5, 11)
        firsts = [start, start, dt.date(2024, 4, 10)]  # the last one is first seen in 2024-Q2
        return ibis.memtable(pd.DataFrame({
            "customer_id": ["a", "b", "c"], "recency_days": [5, 40, 31], "frequency": [3, 2, 1],
            "monetary": [30.0, 20.0, 10.0], "first_purchase": firsts,
            "tenure_days": [(snapshot - f).days for f in firsts],
        }))

    rfm = get_scheme("rfm")
    short = features(dt.date(2024, 1, 1))
    notes = [n for n in rfm.notes(short, rfm.assign(short)) if "New Customers" in n]
    # window 2024-04-01 (the quarter holding 2024-05-10), data from 2024-01-01: 91 days before it, 1 new
    assert notes == ["RFM segments: New Customers are first seen in the data in the current quarter, but the data "
                     "start on 2024-01-01, only 91 days before it: some of the 1 may have bought before the data "
                     "begin"]
    long = features(dt.date(2022, 1, 1))
    assert not [n for n in rfm.notes(long, rfm.assign(long)) if "New Customers" in n]
    # data starting on 2024-04-05, inside the window (2024-04-01): 4 days into it, never 'only 0 days before it'
    inside = features(dt.date(2024, 4, 5))
    notes = [n for n in rfm.notes(inside, rfm.assign(inside)) if "New Customers" in n]
    assert len(notes) == 1 and "start on 2024-04-05, 4 days into it: some of the 3 may" in notes[0]
    # one day each side of the window's start (2024-04-01): "1 day", never "1 days"
    for start, when in ((dt.date(2024, 3, 31), "only 1 day before it"), (dt.date(2024, 4, 2), "1 day into it")):
        edge = features(start)
        notes = [n for n in rfm.notes(edge, rfm.assign(edge)) if "New Customers" in n]
        assert len(notes) == 1 and f"start on {start:%Y-%m-%d}, {when}:" in notes[0]
