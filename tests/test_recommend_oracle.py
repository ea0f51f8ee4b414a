"""The recommendation ceiling (benchmarks/recommend_oracle.py): exact probabilities and the generators' hidden state."""

from __future__ import annotations

import datetime as dt
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root holds benchmarks/

from benchmarks import recommend_oracle as oracle  # noqa: E402
from benchmarks.retail_data import START, make_retail_log  # noqa: E402


def test_affinity_oracle_probability_by_hand():
    """One customer, two products that complement each other, product 0 their only staple."""
    latent = {
        "start": pd.Timestamp("2024-01-01"), "group_p": np.array([[0.5, 0.5]]), "global_p": np.array([0.5, 0.5]),
        "partner": np.array([1, 0]), "acquired": np.array([0]), "end": np.array([100]), "rate": np.array([0.1]),
        "n_staples": np.array([1]), "staples": np.array([[0]]), "later": np.array([[0]]), "group": np.array([0]),
    }  # fmt: skip
    as_of, end = dt.date(2024, 1, 11), dt.date(2024, 1, 21)  # days 10..19 of the customer's 100-day life
    lists, own, worth = oracle.affinity_oracle(latent, ["10000"], as_of, end, {"10000": {"P00001"}},
                                               value={"10000": ["P00001"]})  # fmt: skip
    # a line is the staple half the time, else a taste (0.3) or popular (0.2) draw: 0.75 / 0.25; a
    # quarter of lines add the partner: 0.75 + 0.25 * 0.25 and 0.25 + 0.25 * 0.75
    line = {0: 0.8125, 1: 0.4375}
    per_order = {p: 1 - (1 - q) * math.exp(-3 * q) for p, q in line.items()}  # basket = 1 + Poisson(3) lines
    bought = {p: 1 - math.exp(-0.1 * 10 * v) for p, v in per_order.items()}  # Poisson(0.1 a day) orders
    any_order = 1 - math.exp(-0.1 * 10)
    assert lists == {"10000": ["P00000", "P00001"]}
    assert own == {"10000": ["P00001"]}  # the only product bought before
    assert math.isclose(worth["oracle"], (bought[0] + bought[1]) / any_order / 10, rel_tol=1e-12)
    assert math.isclose(worth["value"], bought[1] / any_order / 10, rel_tol=1e-12)


def test_retail_hidden_state_leaves_the_lines_alone_and_holds_only_what_was_bought():
    plain = make_retail_log(40, 300, seed=1)
    latent = {"day": 200}
    frame = make_retail_log(40, 300, seed=1, latent=latent)
    pd.testing.assert_frame_equal(plain, frame)
    bought = frame[(frame["CustomerID"] != "") & (frame["Quantity"] > 0) & (frame["StockCode"] != "POST")
                   & (frame["InvoiceDate"] < START + pd.Timedelta(days=200))]  # fmt: skip
    before = bought.groupby("CustomerID")["StockCode"].agg(set)
    assert latent["repertoire"], "some customers still buy after day 200"
    for customer, repertoire in latent["repertoire"].items():
        codes = {str(10_000 + p) for p in repertoire}
        assert codes <= before.get(str(12_346 + customer), set())  # a product joins a repertoire when bought
        assert all(entry[0] < 200 for entry in repertoire.values())  # last bought before the day


def test_the_uci_service_lines_leave_the_other_lines_alone_and_are_all_recognised():
    from segmint.merchandise import MerchandiseRules

    plain = make_retail_log(300, 300, seed=1)
    frame = make_retail_log(300, 300, seed=1, non_merchandise=True)
    merged = frame.merge(plain, how="left", indicator=True)
    assert (merged["_merge"] == "both").sum() == len(plain)  # every line of the plain log, unchanged
    added = merged[merged["_merge"] == "left_only"]
    assert {"M", "DOT", "CRUK"} <= set(added["StockCode"]) and len(added) < 0.01 * len(plain)
    rules = MerchandiseRules.default()
    for code, name in {*zip(frame["StockCode"], frame["Description"], strict=True)}:
        assert rules.is_service(code, name) == (code in set(added["StockCode"]) | {"POST"}), (code, name)
