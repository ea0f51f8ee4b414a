"""The story's R/F/M scores by comparison with each period's order statistics equal the rank formula.

``segmint.segment.rfm``'s rule: score = 1 + floor(bins * k / n), k = rows of the period strictly worse
(pandas: ``rank(method="min") - 1``, on ``-recency_days`` for R), among the rows known in the period.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.story_features import score_cuts, scores_by_order


def _rows(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 400
    return pd.DataFrame({
        "customer_id": np.arange(n),
        "period_index": rng.integers(0, 3, n),
        "known": rng.random(n) < 0.8,
        "recency_days": rng.integers(0, 30, n),  # many ties
        "frequency": rng.integers(1, 6, n),  # more ties
        # ties on a few values, and one period where a single value is shared by half the rows
        "monetary": np.where(rng.random(n) < 0.3, 50.0, np.round(rng.exponential(100, n), 2)),
    })


def _by_rank(frame: pd.DataFrame, bins: int) -> pd.DataFrame:
    known = frame[frame["known"]].copy()
    groups = known.groupby("period_index")
    n = groups["customer_id"].transform("count")
    for score, values in (("r_score", -known["recency_days"]), ("f_score", known["frequency"]),
                          ("m_score", known["monetary"])):
        worse = values.groupby(known["period_index"]).rank(method="min") - 1
        known[score] = (1 + np.floor(bins * worse / n)).astype("int64")
    return known.set_index("customer_id")[["r_score", "f_score", "m_score"]].sort_index()


@pytest.mark.parametrize(("seed", "bins"), [(0, 5), (1, 4), (2, 10)])
def test_scores_by_order_equal_the_rank_formula(seed: int, bins: int) -> None:
    frame = _rows(seed)
    table = ibis.duckdb.connect().create_table("rows", frame)
    scored = scores_by_order(table, bins).execute()
    got = scored[scored["known"]].set_index("customer_id")[["r_score", "f_score", "m_score"]].sort_index()
    pd.testing.assert_frame_equal(got, _by_rank(frame, bins), check_dtype=False)
    cells = scored["r_score"].astype(str) + scored["f_score"].astype(str) + scored["m_score"].astype(str)
    assert (scored["rfm_cell"] == cells).all()


def test_score_cuts_by_hand() -> None:
    """Ten known values 1..10 (and an unknown row): with 5 bins the cuts are the 2nd, 4th, 6th, 8th worst."""
    frame = pd.DataFrame({
        "customer_id": range(11), "period_index": [0] * 11, "known": [True] * 10 + [False],
        "recency_days": [*range(1, 11), 0], "frequency": [*range(1, 11), 99],
        "monetary": [float(v) for v in range(1, 11)] + [1000.0],
    })
    table = ibis.duckdb.connect().create_table("rows", frame)
    cuts = score_cuts(table.filter(table.known), 5).iloc[0]
    assert [cuts[f"m{s}"] for s in range(1, 5)] == [2.0, 4.0, 6.0, 8.0]
    assert [cuts[f"f{s}"] for s in range(1, 5)] == [2, 4, 6, 8]
    assert [cuts[f"r{s}"] for s in range(1, 5)] == [9, 7, 5, 3]  # worst = most days since a purchase


def test_retention_revenue_is_the_exact_sum() -> None:
    """Retention's revenue is the exact sum of the period totals (not a float sum that depends on its order)."""
    from decimal import Decimal

    from segmint.story_tables import retention

    amounts = [123_456_789.01] + [0.07] * 3000 + [1_234.56] * 7
    day = pd.Timestamp("2024-03-31").date()
    frame = pd.DataFrame({
        "customer_id": [f"C{i}" for i in range(len(amounts))], "period_index": 0, "period": "2024-Q1",
        "period_start": pd.Timestamp("2024-01-01").date(), "as_of": day, "segment": "Average", "segment_order": 2,
        "active": True, "frequency": 1, "monetary": amounts, "first_purchase": day, "last_purchase": day,
    })
    exact = float(sum(Decimal(repr(v)) for v in amounts))
    assert retention(frame)["revenue"].iloc[0] == exact == 123_465_640.93  # 123,456,789.01 + 210.00 + 8,641.92


def test_a_period_that_ranks_no_one_scores_the_middle_in_both_scorers() -> None:
    """A period with one known customer, or with all alike on an axis, ranks no one: the story's comparison
    scorer gives the middle score (3 of 5) as rfm_scores does per group, not 1 ('least recent')."""
    from segmint.segment.rfm import rfm_scores

    frame = pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5], "period_index": [0, 0, 1, 1, 1], "known": [True, False, True, True, True],
        "recency_days": [4, 9, 30, 20, 10], "frequency": [2, 1, 1, 1, 1], "monetary": [5.0, 1.0, 10.0, 20.0, 30.0],
    })
    con = ibis.duckdb.connect()
    scored = scores_by_order(con.create_table("rows", frame), 5).execute().set_index("customer_id")
    known = frame[frame["known"]]
    ranked = rfm_scores(con.create_table("known", known), 5, by="period_index").execute().set_index("customer_id")
    columns = ["r_score", "f_score", "m_score"]
    # period 0: customer 1 alone -> 3, 3, 3; period 1: F all alike -> 3, R and M spread 1, 3, 5 (by hand)
    expected = pd.DataFrame({"r_score": [3, 1, 3, 5], "f_score": [3, 3, 3, 3], "m_score": [3, 1, 3, 5]},
                            index=pd.Index([1, 3, 4, 5], name="customer_id"))
    pd.testing.assert_frame_equal(scored.loc[expected.index, columns], expected, check_dtype=False)
    pd.testing.assert_frame_equal(ranked.loc[expected.index, columns], expected, check_dtype=False)
