"""Session 8's lab signals (benchmarks/recommend_cooccur.py, benchmarks/recommend_item_btyd.py), by hand."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root holds benchmarks/

from benchmarks.recommend_cooccur import cooccurrence  # noqa: E402
from benchmarks.recommend_item_btyd import pair_summary  # noqa: E402


def _visits() -> pd.DataFrame:
    """A buys p and q on Jan 1 and q on Jan 2; B buys p and r on Jan 1."""
    rows = [("A", "p", "2024-01-01"), ("A", "q", "2024-01-01"), ("A", "q", "2024-01-02"),
            ("B", "p", "2024-01-01"), ("B", "r", "2024-01-01")]  # fmt: skip
    return pd.DataFrame(rows, columns=["customer_id", "product", "day"]).assign(day=lambda t: pd.to_datetime(t.day))


def test_cooccurrence_signals_by_hand():
    frame = pd.DataFrame({"customer_id": ["A", "A", "A"], "product": ["p", "q", "r"]})
    part = {"visits": _visits(), "at": pd.Timestamp("2024-01-10"), "customers": ["A"], "frame": frame}
    got = cooccurrence(part)
    # baskets A1 {p, q} and B1 {p, r} weigh w = 1 / log2(3), A2 {q} weighs 1
    w = 1 / math.log2(3)
    basket = {("p", "q"): w * w / (w * math.sqrt(2) * math.sqrt(w * w + 1)), ("p", "r"): w * w / (w * math.sqrt(2) * w),
              ("q", "r"): 0.0}  # fmt: skip
    # A's profile: p seen 9 days ago, q 9 and 8 days ago (90-day decay), normalised
    mine = {"p": math.exp(-9 / 90), "q": math.exp(-9 / 90) + math.exp(-8 / 90)}
    mine = {k: v / sum(mine.values()) for k, v in mine.items()}
    want_b = [mine["q"] * basket[("p", "q")], mine["p"] * basket[("p", "q")],
              mine["p"] * basket[("p", "r")] + mine["q"] * basket[("q", "r")]]  # fmt: skip
    assert np.allclose(got["f_cfb"], np.log(np.array(want_b) + 1e-3))
    # customers: A holds p (last 9 days ago) and q (8 days ago), 2 products; B holds p and r, 9 days ago
    iuf = 1 / math.log2(4)
    a_p, a_q, b_p, b_r = (math.exp(-d / 180) * iuf for d in (9, 8, 9, 9))
    norm = {"p": math.hypot(a_p, b_p), "q": a_q, "r": b_r}
    user = {("p", "q"): a_p * a_q / (norm["p"] * norm["q"]), ("p", "r"): b_p * b_r / (norm["p"] * norm["r"])}
    want_u = [mine["q"] * user[("p", "q")], mine["p"] * user[("p", "q")], mine["p"] * user[("p", "r")]]
    assert np.allclose(got["f_cfu"], np.log(np.array(want_u) + 1e-3))
    # seeded by A's last visit (q alone): q is similar to p only
    assert np.allclose(got["f_cfl"], np.log(np.array([user[("p", "q")], 0.0, 0.0]) + 1e-3))


def test_pair_summary_counts_visits_in_days():
    got = pair_summary(_visits(), pd.Timestamp("2024-01-10")).set_index(["customer_id", "product"])
    assert got.loc[("A", "q")].tolist() == [1.0, 1.0, 9.0]  # x = 2 visits - 1, t_x = 1 day, T = 9 days
    assert got.loc[("B", "r")].tolist() == [0.0, 0.0, 9.0]
