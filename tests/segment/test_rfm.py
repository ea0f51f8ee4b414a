"""RFM scores against a pandas reference, hand-checked boundaries/ties, and the segment rule grid."""

from __future__ import annotations

import itertools

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.errors import ConfigError
from segmint.segment.rfm import RFMConfig, assign, rfm_scores, scaled_score, segment_for

SEGMENTS = [
    "Champions", "Loyal Customers", "Potential Loyalist", "New Customers", "Promising",
    "Need Attention", "Can't Lose Them", "At Risk", "About To Sleep", "Hibernating", "Lost",
]  # fmt: skip


def features(recency, frequency, monetary) -> ibis.Table:
    n = len(recency)
    return ibis.memtable(
        pd.DataFrame(
            {
                "customer_id": [f"c{i:04d}" for i in range(n)],
                "recency_days": np.asarray(recency, dtype="int64"),
                "frequency": np.asarray(frequency, dtype="int64"),
                "monetary": np.asarray(monetary, dtype="float64"),
            }
        )
    )


def scores(table: ibis.Table, bins: int = 5) -> pd.DataFrame:
    return rfm_scores(table, bins).execute().sort_values("customer_id").reset_index(drop=True)


def test_quintile_boundaries_distinct_values():
    got = scores(features(range(10, 0, -1), range(1, 11), np.arange(10) * 1.5))
    assert got.f_score.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert got.m_score.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert got.r_score.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # recency 10 (oldest) .. 1 (newest)
    assert got.rfm_cell.tolist()[-1] == "555" and got.rfm_score.tolist()[0] == 3


def test_ties_share_a_score():
    # six customers bought once: k = 0 for all of them -> F=1; frequency 2 has k=6 -> 1+floor(30/10)=4
    got = scores(features([5] * 10, [1, 1, 1, 1, 1, 1, 2, 3, 4, 5], [7.0] * 10))
    assert got.f_score.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    # everyone tied: nobody is worse, nobody better: the middle, 3 of 5 (rfm.unranked_middle), not 1
    assert set(got.r_score) == {3} and set(got.m_score) == {3}
    got = scores(features([30, 30, 2, 2, 2, 9], [1] * 6, [1.0] * 6), bins=3)
    # recency 30: nobody older -> 1; 9: two older -> 1+floor(6/6)=2; 2: three older -> 1+floor(9/6)=2
    assert got.r_score.tolist() == [1, 1, 2, 2, 2, 2]


def _pandas_scores(df: pd.DataFrame, bins: int) -> pd.DataFrame:
    n = len(df)

    def score(values: pd.Series) -> pd.Series:
        worse = values.rank(method="min").astype("int64") - 1
        return 1 + (bins * worse) // n

    return pd.DataFrame(
        {
            "customer_id": df.customer_id,
            "r_score": score(-df.recency_days),
            "f_score": score(df.frequency),
            "m_score": score(df.monetary),
        }
    )


@pytest.mark.parametrize("bins", [3, 5, 10])
def test_scores_match_pandas_reference(bins):
    rng = np.random.default_rng(bins)
    n = 5_000
    table = features(rng.integers(1, 400, n), rng.geometric(0.4, n), np.round(rng.gamma(1.5, 80, n), 1))
    got = scores(table, bins)
    want = _pandas_scores(table.execute(), bins).sort_values("customer_id").reset_index(drop=True)
    for column in ("r_score", "f_score", "m_score"):
        np.testing.assert_array_equal(got[column].to_numpy("int64"), want[column].to_numpy("int64"))


def test_scaled_scores():
    assert [scaled_score(s, 3) for s in range(1, 4)] == [1, 3, 5]
    assert [scaled_score(s, 4) for s in range(1, 5)] == [1, 2, 4, 5]
    assert [scaled_score(s, 7) for s in range(1, 8)] == [1, 2, 2, 3, 4, 4, 5]
    assert [scaled_score(s, 10) for s in range(1, 11)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def _expected_segment(r: int, f: int, m: int, new: bool = False, bought: bool = False, lapsed: bool = False) -> str:
    """The documented R x FM grid for established customers, typed out by hand; new -> New Customers.

    A customer who bought in the window is never Lost, Hibernating or Can't Lose Them (absence
    labels): they take the R 3 label of their FM band. A lapsed customer (who did not) is never in the
    R 3-5 rows' labels, which claim presence: they take the R 2 label of their FM band.
    """
    if new:
        return "New Customers"
    fm = (f + m) / 2
    band = 0 if fm <= 2 else 1 if fm <= 3 else 2 if fm <= 4 else 3
    if lapsed and not bought and r >= 3:
        return ["Hibernating", "At Risk", "At Risk", "Can't Lose Them"][band]
    if bought and r <= 2 and (band == 0 or band == 3 or (r == 1 and band == 1)):
        return ["About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"][band]
    grid = {
        5: ["Potential Loyalist", "Potential Loyalist", "Champions", "Champions"],
        4: ["Promising", "Potential Loyalist", "Loyal Customers", "Champions"],
        3: ["About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
        2: ["Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
        1: ["Lost", "Hibernating", "At Risk", "Can't Lose Them"],
    }
    return grid[r][band]


def test_all_125_cells_get_exactly_one_segment():
    cells = list(itertools.product(range(1, 6), repeat=3))
    # values chosen so that customer i lands exactly in cells[i]
    recency = [(6 - r) * 1000 + i for i, (r, _, _) in enumerate(cells)]
    frequency = [f * 1000 + i for i, (_, f, _) in enumerate(cells)]
    monetary = [m * 1000.0 + i for i, (_, _, m) in enumerate(cells)]
    got = assign(features(recency, frequency, monetary)).execute().sort_values("customer_id")
    assert len(got) == 125 and got.customer_id.is_unique
    assert got.rfm_cell.tolist() == [f"{r}{f}{m}" for r, f, m in cells]
    assert got.segment.tolist() == [_expected_segment(*cell) for cell in cells]
    # without first-purchase dates nobody can be shown to be new
    assert set(got.segment) == set(SEGMENTS) - {"New Customers"} and not got.is_new.any()
    order = dict(zip(SEGMENTS, range(10, -1, -1), strict=True))
    assert (got.segment_order == got.segment.map(order)).all()
    champion = got[got.rfm_cell == "545"].iloc[0]
    assert champion.reason == ("R=5 F=4 M=5 -> Champions: bought more recently than most customers, with frequency "
                               "and spend together above average")


def test_whole_bounds_compare_whole_scores_as_integers_and_fractional_bounds_keep_their_value():
    """The rule CASE compares a whole-number score with whole bounds as integers (``BETWEEN 5.0 AND 5.0``
    made DuckDB cast every score to a decimal in every branch); a fractional bound keeps its value:
    r in [2.5, 4.5] holds the cells with R = 3 and 4 only, by hand."""
    import re

    cells = list(itertools.product(range(1, 6), repeat=3))
    recency = [(6 - r) * 1000 + i for i, (r, _, _) in enumerate(cells)]
    frequency = [f * 1000 + i for i, (_, f, _) in enumerate(cells)]
    monetary = [m * 1000.0 + i for i, (_, _, m) in enumerate(cells)]
    config = RFMConfig.from_dict({
        "segments": [{"name": "Middle"}, {"name": "Rest"}],
        "rules": [{"segment": "Middle", "r": [2.5, 4.5]}, {"segment": "Rest"}],
    })  # fmt: skip
    got = assign(features(recency, frequency, monetary), config).execute().sort_values("customer_id")
    assert got.segment.tolist() == ["Middle" if r in (3, 4) else "Rest" for r, _, _ in cells]
    sql = ibis.to_sql(assign(features(recency, frequency, monetary)), dialect="duckdb")
    assert re.search(r'"_r5" BETWEEN 5 AND 5\b', sql)
    assert not re.search(r'"_r5" BETWEEN \d+\.\d', sql)


@pytest.mark.parametrize("bins", range(3, 11))
def test_every_cell_covered_for_any_bins(bins):
    config = RFMConfig(bins=bins)
    # (new, bought in the window, lapsed); a customer who bought in the window is never lapsed
    kinds = [(False, False, False), (False, True, False), (True, True, False), (False, False, True), (False, True, True)]
    for (r, f, m), kind in itertools.product(itertools.product(range(1, bins + 1), repeat=3), kinds):
        got = segment_for(r, f, m, config, new=kind[0], bought=kind[1], lapsed=kind[2])
        scaled = (scaled_score(r, bins), scaled_score(f, bins), scaled_score(m, bins))
        assert got == _expected_segment(*scaled, *kind)


PRESENCE = {"Champions", "Loyal Customers", "Potential Loyalist", "Promising", "About To Sleep", "Need Attention"}


def test_no_lapsed_customer_gets_a_label_that_claims_presence():
    """Every cell of every bins: a lapsed established customer gets an absence label (the mirror of
    ``bought``: no customer who bought in the window gets Lost, Hibernating or Can't Lose Them)."""
    for bins in range(3, 11):
        config = RFMConfig(bins=bins)
        for r, f, m in itertools.product(range(1, bins + 1), repeat=3):
            assert segment_for(r, f, m, config, lapsed=True) not in PRESENCE | {"New Customers"}
            assert segment_for(r, f, m, config, bought=True) not in {"Lost", "Hibernating", "Can't Lose Them"}


def _dated(rows: list[tuple[str, int, int, float, str, int]]) -> ibis.Table:
    """Features with first_purchase and tenure_days: (id, recency, frequency, monetary, first, tenure)."""
    return ibis.memtable(pd.DataFrame(
        [{"customer_id": c, "recency_days": r, "frequency": f, "monetary": m,
          "first_purchase": pd.Timestamp(first).date(), "tenure_days": t} for c, r, f, m, first, t in rows]
    ))


def test_new_customers_only_when_the_first_purchase_is_in_the_window():
    # Snapshot 2023-07-01 for everyone (first_purchase + tenure_days), so the window is 2023-Q2.
    table = _dated([
        ("new_small", 1, 1, 5.0, "2023-06-30", 1),  # R5, FM low, first purchase in Q2: new
        ("new_big", 1, 9, 900.0, "2023-04-01", 91),  # first day of Q2, scores of a champion: still new
        ("old_small", 1, 1, 6.0, "2023-03-31", 92),  # R5, FM low, but joined in Q1: right neighbour
        # twelve older customers, all less recent: recency 1 has k=12 worse of 15 -> R=1+floor(60/15)=5
        *[(f"old_{i}", 300 - 20 * i, 2 + i, 50.0 + 10 * i, "2021-01-01", 911) for i in range(12)],
    ])
    got = assign(table).execute().set_index("customer_id")
    assert got.loc["new_small", "segment"] == "New Customers"
    assert got.loc["new_big", "segment"] == "New Customers"
    assert got.loc["old_small", "rfm_cell"] == "511"  # the classic grid's New Customers cell
    assert got.loc["old_small", "segment"] == "Potential Loyalist"
    assert got.is_new.to_dict() == {c: c.startswith("new") for c in got.index}
    assert got.loc["new_small", "reason"] == (
        "R=5 F=1 M=1, first purchase 2023-06-30 in the current quarter -> New Customers: "
        "first purchase in the current period"
    )
    assert got.loc["old_small", "reason"].startswith("R=5 F=1 M=1, first purchase 2023-03-31 (not new) -> ")
    assert "first purchase" not in got.loc["old_1", "reason"]  # no tenure rule decided it
    # A month window: only June's first purchase is new; 30 days: tenure 1 and 91 -> only new_small
    by_month = assign(table, RFMConfig(new_within="month")).execute().set_index("customer_id")
    assert by_month.loc["new_big", "segment"] != "New Customers" and by_month.loc["new_small", "is_new"]
    by_days = assign(table, RFMConfig(new_within=30)).execute().set_index("customer_id")
    assert by_days.is_new.sum() == 1 and by_days.loc["new_small", "is_new"]
    assert "in the last 30 days" in by_days.loc["new_small", "reason"]


def test_absence_labels_only_for_customers_who_did_not_buy_in_the_window():
    # Snapshot 2022-07-01 (first_purchase + tenure_days): the window is 2022-Q2. A young customer base:
    # twelve customers bought in the last days, so a purchase on 1 April (recency 91) scores R=1.
    table = _dated([
        ("bought_small", 91, 1, 5.0, "2022-01-10", 172),  # last purchase 2022-04-01: in Q2
        ("gone_small", 92, 1, 5.0, "2022-01-10", 172),  # last purchase 2022-03-31: before Q2
        ("bought_big", 91, 9, 900.0, "2022-01-05", 177),
        ("gone_big", 95, 9, 900.0, "2022-01-05", 177),
        *[(f"recent_{i}", 1 + i % 3, 3 + i % 4, 40.0 + 9 * i, "2022-02-01", 150) for i in range(12)],
    ])
    got = assign(table).execute().set_index("customer_id")
    assert got.loc[["bought_small", "gone_small"], "rfm_cell"].tolist() == ["111", "111"]
    assert got.loc["gone_small", "segment"] == "Lost"
    assert got.loc["bought_small", "segment"] == "About To Sleep"  # not "Lost" in the quarter they bought
    assert got.loc["bought_small", "reason"] == (
        "R=1 F=1 M=1, last purchase 2022-04-01 in the current quarter -> About To Sleep: "
        "below-average recency, frequency and spend"
    )
    assert got.loc[["bought_big", "gone_big"], "r_score"].tolist() == [1, 1]
    assert got.loc["gone_big", "segment"] == "Can't Lose Them"
    assert got.loc["bought_big", "segment"] == "Loyal Customers"
    assert "last purchase" not in got.loc["gone_big", "reason"]
    # a 30-day window: 91 days ago is outside it, so the absence labels apply again
    by_days = assign(table, RFMConfig(new_within=30)).execute().set_index("customer_id")
    assert by_days.loc["bought_small", "segment"] == "Lost"


def _lapsing_base(repeat_gaps: int = 18) -> list[tuple[str, int, int, float, str, int]]:
    """A cohort that has mostly stopped buying, scored on 2024-01-01 (first_purchase + tenure_days): two
    customers with top F/M (20 purchases, 5,000.00) 20 and 400 days away, and ``repeat_gaps`` older ones
    (2 purchases, last 450.. days ago) whose average gaps are 10, 20, .. days."""
    snapshot = pd.Timestamp("2024-01-01")

    def row(name: str, recency: int, frequency: int, monetary: float, gap: int):
        tenure = recency + gap * (frequency - 1)
        return name, recency, frequency, monetary, str((snapshot - pd.Timedelta(days=tenure)).date()), tenure

    return [row("recent_top", 20, 20, 5000.0, 50), row("gone_top", 400, 20, 5000.0, 50),
            *[row(f"old_{i:02d}", 450 + 10 * i, 2, 10.0 + i, 10 * (i + 1)) for i in range(repeat_gaps)]]


def test_a_customer_gone_past_the_usual_gap_is_not_a_champion():
    """By hand: 20 repeat customers' average gaps 10, 20, .., 180 and 50, 50 (the two top customers: 19
    gaps over 950 days). Sorted, the 95th percentile (linear) lies at position 0.95 * 19 = 18.05:
    170 + 0.05 * (180 - 170) = 170.5, up to 171 days. Both top customers score R=5 F=5 M=5 (18 of 20
    bought longer ago); the one 400 days away is lapsed: Can't Lose Them, not Champions."""
    got = assign(_dated(_lapsing_base())).execute().set_index("customer_id")
    assert got.loc[["recent_top", "gone_top"], "rfm_cell"].tolist() == ["555", "555"]
    assert got.loc["recent_top", "segment"] == "Champions"
    assert got.loc["gone_top", "segment"] == "Can't Lose Them"
    assert got.loc["gone_top", "reason"] == (
        "R=5 F=5 M=5, no purchase for 400 days, longer than 95% of repeat customers' average gap (171 days) "
        "-> Can't Lose Them: used to buy often and spend big, but has not come back for a long time"
    )
    # old_00 (450 days) scores R=5 (17 older), F=1, M=1 (the lowest spend): lapsed, Hibernating, not Potential Loyalist
    assert got.loc["old_00", ["rfm_cell", "segment"]].tolist() == ["511", "Hibernating"]
    assert not got.segment.isin(PRESENCE - {"Champions"}).any() and (got.segment == "Champions").sum() == 1
    # a threshold set in days; and none: the rank grid alone (the old label)
    fixed = assign(_dated(_lapsing_base()), RFMConfig(lapsed_after=399)).execute().set_index("customer_id")
    assert fixed.loc["gone_top", "segment"] == "Can't Lose Them"
    assert ", no purchase for 400 days (lapsed after 399 days) -> " in fixed.loc["gone_top", "reason"]
    for kept in (400, None):
        same = assign(_dated(_lapsing_base()), RFMConfig(lapsed_after=kept)).execute().set_index("customer_id")
        assert same.loc["gone_top", "segment"] == "Champions"
    # 19 repeat customers estimate no 95th percentile: nobody lapses unless a number of days is set
    few = assign(_dated(_lapsing_base(17))).execute().set_index("customer_id")
    assert few.loc["gone_top", "segment"] == "Champions"


def test_the_notes_say_how_many_customers_the_lapse_moved():
    """By hand, on the cohort above: R quintiles of 20 customers hold 4 each, nearest first: R 3-5 are
    recent_top, gone_top and old_00..old_09; all but recent_top (20 days) are past 171 days, so 11 of 20
    (55%) take an absence label although their R rank alone would have given a presence one. Without a
    lapse, no such note."""
    from segmint.segment.rfm import notes

    table = _dated(_lapsing_base())
    lapse = [n for n in notes(table, assign(table)) if "have not bought" in n]
    assert lapse == [
        "RFM segments: 11 customers (55%) have not bought for more than 171 days (longer than 95% of repeat "
        "customers' average gap between purchases), so they are labelled by their absence (Can't Lose Them, "
        "At Risk, Hibernating) whatever their recency rank; the reason of each says so"
    ]
    fixed = RFMConfig(lapsed_after=445)  # of R 3-5, old_00..old_09 (450..540 days) are past it, not gone_top
    assert [n for n in notes(table, assign(table, fixed), fixed) if "have not bought" in n] == [
        "RFM segments: 10 customers (50%) have not bought for more than 445 days (the lapsed_after setting), so "
        "they are labelled by their absence (Can't Lose Them, At Risk, Hibernating) whatever their recency "
        "rank; the reason of each says so"
    ]
    off = RFMConfig(lapsed_after=None)
    assert not [n for n in notes(table, assign(table, off), off) if "have not bought" in n]


def test_a_customer_who_bought_in_the_window_is_never_lapsed():
    """recent_top bought 20 days before 2024-01-01, in the current quarter: over a 10-day threshold, yet
    not lapsed (as ``bought`` keeps such a customer from Lost); with a 10-day window it is."""
    got = assign(_dated(_lapsing_base()), RFMConfig(lapsed_after=10)).execute().set_index("customer_id")
    assert got.loc["recent_top", "segment"] == "Champions"
    by_days = assign(_dated(_lapsing_base()), RFMConfig(lapsed_after=10, new_within=10)).execute()
    assert by_days.set_index("customer_id").loc["recent_top", "segment"] == "Can't Lose Them"
    with pytest.raises(ConfigError, match="lapsed_after"):
        RFMConfig.from_dict({"lapsed_after": 0})


def test_lapse_thresholds_per_group_among_known_rows():
    """Scored in groups (a story's periods, by the story's scorer), each group has its own threshold
    among its known rows. Period 1: the hand case above, 171 days. Period 2: the old customers' gaps
    tripled (30, 60, .., 540 and 50, 50): 510 + 0.05 * 30 = 511.5, up to 512 days, so the top customer
    400 days away is a Champion there. Ten rows not known in period 1 with 1,000-day gaps would raise
    its threshold past 400 if they counted."""
    from segmint.segment.rfm import label_scores
    from segmint.story_scores import scores_by_order

    first = _dated(_lapsing_base()).execute().assign(period_index=1, known=True)
    second = first.assign(period_index=2)
    old = second.customer_id.str.startswith("old_")
    second.loc[old, "tenure_days"] = second.recency_days + 3 * (second.tenure_days - second.recency_days)
    ghosts = first.head(10).assign(customer_id=[f"ghost_{i}" for i in range(10)], recency_days=1, frequency=2,
                                   tenure_days=1001, known=False)
    rows = ibis.memtable(pd.concat([first, second, ghosts], ignore_index=True))
    scored = scores_by_order(rows, 5)
    got = label_scores(scored, RFMConfig(), by="period_index", known="known").execute()
    top = got[got.customer_id == "gone_top"].set_index("period_index")
    assert top.rfm_cell.tolist() == ["555", "555"]
    assert top.segment.to_dict() == {1: "Can't Lose Them", 2: "Champions"}
    assert "(171 days)" in top.loc[1, "reason"]


def test_ibis_assign_matches_python_rules_with_other_bins():
    rng = np.random.default_rng(3)
    config = RFMConfig(bins=4)
    got = assign(features(rng.integers(1, 50, 400), rng.integers(1, 9, 400), rng.gamma(2, 9, 400)), config)
    got = got.execute()
    want = [segment_for(r, f, m, config) for r, f, m in zip(got.r_score, got.f_score, got.m_score, strict=True)]
    assert got.segment.tolist() == want


@pytest.mark.parametrize("bins", [3, 5, 7])
def test_a_table_ending_in_a_catch_all_rule_covers_every_cell(bins):
    """A rule with no range and no new/bought condition matches every cell, so the completeness check
    accepts the table without trying all cells; checked here cell by cell: each gets a segment, and
    a rule conditioned on newness alone is no catch-all (the check still runs and names the cell)."""
    config = RFMConfig.from_dict({
        "bins": bins, "segments": [{"name": "Best"}, {"name": "Rest"}],
        "rules": [{"segment": "Best", "r": [5, 5], "fm": [4, 5]}, {"segment": "Rest"}],
    })  # fmt: skip
    kinds = [(False, False), (False, True), (True, True)]
    for (r, f, m), (new, bought) in itertools.product(itertools.product(range(1, bins + 1), repeat=3), kinds):
        assert segment_for(r, f, m, config, new=new, bought=bought) in ("Best", "Rest")
    with pytest.raises(ConfigError, match="no rule matches cell R=1 F=1 M=1 for an established customer"):
        RFMConfig.from_dict({"bins": bins, "segments": [{"name": "New"}], "rules": [{"segment": "New", "new": True}]})


def test_config_yaml_round_trip_and_errors(tmp_path):
    path = tmp_path / "rfm.yaml"
    RFMConfig(bins=4).to_yaml(path)
    assert RFMConfig.from_yaml(path) == RFMConfig(bins=4)
    (tmp_path / "bad.yaml").write_text(
        "segments: [{name: Best}, {name: Rest}]\nrules:\n  - {segment: Best, r: [4, 5]}\n"
    )
    with pytest.raises(ConfigError, match="no rule matches cell R=1 F=1 M=1 for an established customer"):
        RFMConfig.from_yaml(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="not listed under segments"):
        RFMConfig.from_dict({"segments": [{"name": "A"}], "rules": [{"segment": "B"}]})
    with pytest.raises(ConfigError, match="bins"):
        RFMConfig.from_dict({"bins": 11})
    custom = RFMConfig.from_dict(
        {"segments": [{"name": "Best"}, {"name": "Rest"}], "rules": [{"segment": "Best", "r": [4, 5]}, {"segment": "Rest"}]}
    )
    got = assign(features(range(10, 0, -1), [1] * 10, [1.0] * 10), custom).execute()
    assert got.sort_values("customer_id").segment.tolist() == ["Rest"] * 6 + ["Best"] * 4


def test_recent_claims_hold_on_real_cdnow() -> None:
    """Potential Loyalist and Promising say 'bought more recently than most customers': R is a quantile
    score, so on CDNOW (most customers lapsed early) an R=4 customer may be 424 days away -- the old
    'recent customer' was false for them; 'more recently than most' must hold for every one of them,
    against recency computed from the raw text with pandas alone (tests/test_real_data.py). And no label
    that claims presence goes to a customer gone longer than the lapse threshold (358 days), computed
    from the raw lines in SQL: R=4 Champions were up to 430 days away (209 of them past 358)."""
    from test_real_data import CDNOW, raw_lines, reference_features, reference_lapse_days

    if not CDNOW.is_dir():
        pytest.skip("../shared/data/cdnow is not present")
    import segmint

    rfm = segmint.analyze(CDNOW / "CDNOW_master.txt", scheme="rfm").segments["rfm"]
    rfm = (rfm.execute() if hasattr(rfm, "execute") else rfm).set_index("customer_id")
    lines = raw_lines("CDNOW_master.txt", True)
    reference = reference_features(lines)
    joined = reference.join(rfm[["segment", "reason"]], how="inner")
    assert len(joined) == len(rfm)
    days = joined.recency_days.to_numpy()
    for name in ("Potential Loyalist", "Promising", "Champions"):
        members = joined[joined.segment == name]
        assert len(members) >= 3  # CDNOW: 3 Promising (7 before the lapse rule), 1,087 Potential Loyalists
        assert members.reason.str.contains("bought more recently than most customers").all()
        # share of all customers whose last purchase is strictly older than this member's
        older = [(days > d).mean() for d in members.recency_days]
        assert min(older) > 0.5, (name, min(older))
    lapse_days = reference_lapse_days(lines)
    assert lapse_days == 358
    present = joined[joined.segment.isin(PRESENCE)]
    assert len(present) == 8_252 and present.recency_days.max() <= lapse_days  # 5,661 + 1,501 + 1,087 + 3
    lapsed = joined[joined.recency_days > lapse_days]
    assert set(lapsed.segment) == {"Can't Lose Them", "At Risk", "Hibernating", "Lost"}
    moved = lapsed[lapsed.reason.str.contains(", no purchase for ")]
    assert len(moved) == 5_675 and moved.reason.str.contains(f"average gap ({lapse_days} days) -> ", regex=False).all()


@pytest.mark.parametrize(("recency", "want"), [
    ([1], [3]),  # 1 customer: no one to rank against: the middle score (was 1, the least recent)
    ([1, 40], [5, 1]),  # 2 customers: the one who bought yesterday scored R=3 ("About To Sleep"), now 5
    ([1, 20, 40], [5, 3, 1]),  # k = 2, 1, 0 strictly older: 1 + floor(4k / 2)
    ([1, 10, 20, 40], [5, 3, 2, 1]),  # 1 + floor(4k / 3): k=3 -> 5, 2 -> 3, 1 -> 2, 0 -> 1
    ([1, 10, 20, 30, 40], [5, 4, 3, 2, 1]),  # 5 customers: the quintile rule 1 + floor(5k / 5), as before
    ([1, 1, 40], [3, 3, 1]),  # a tie shares the score of its lowest rank: k = 1 of 3 -> 1 + floor(4 / 2)
])
def test_few_customers_spread_over_every_score(recency, want):
    n = len(recency)
    got = scores(features(recency, range(n, 0, -1), [10.0 * (n - i) for i in range(n)]))
    assert got.r_score.tolist() == want
    if len(set(recency)) == n:  # frequency and monetary fall as recency rises here: the same ranks
        assert got.f_score.tolist() == want and got.m_score.tolist() == want


def test_two_customers_the_recent_one_is_not_about_to_sleep():
    # yesterday, 1 visit, 10.00 against 40 days ago, 2 visits, 20.00: R=5, F=M=1 -> FM 1 -> Potential Loyalist
    # (r 5, fm 1-2, not new); the other R=1, F=M=5 -> Can't Lose Them. Was R=3 -> About To Sleep, R=1 F=M=3 -> At Risk
    got = assign(features([1, 40], [1, 2], [10.0, 20.0])).execute().sort_values("customer_id")
    assert got.segment.tolist() == ["Potential Loyalist", "Can't Lose Them"]
    assert got.reason.tolist()[0].startswith("R=5 F=1 M=1 -> Potential Loyalist: bought more recently than most")


def test_worse_counts_per_value_keep_every_row_once_and_equal_the_rank_window(monkeypatch):
    """Scores from each column's distinct values joined back (``_with_worse_count``): a NULL value, a
    NULL customer id and a customer listed twice keep one row each, with pandas' min-rank counts."""
    from segmint.segment.rfm import _with_worse_count

    frame = pd.DataFrame({
        "customer_id": ["a", "b", "b", None, "c", "d"],
        "recency_days": [3.0, 7.0, 7.0, 1.0, None, 3.0],
        "frequency": [1, 2, 2, 5, 1, 3],
        "monetary": [10.0, 5.0, 5.0, None, 2.5, 10.0],
    })  # fmt: skip
    table = ibis.memtable(frame)
    counted = _with_worse_count(table, "recency_days", True, "worse").execute()
    assert len(counted) == len(frame)
    # by hand, worst (largest recency) first: 7 has none before it, 3 two (7, 7), 1 four (7, 7, 3, 3);
    # NULL sorts after every value: five before it
    by_value = dict(zip(counted.recency_days.fillna(-1), counted.worse, strict=True))
    assert by_value == {7.0: 0, 3.0: 2, 1.0: 4, -1: 5}
    monkeypatch.setattr("segmint.segment.rfm.VALUE_RANKS_FROM", 0)  # any table: ranks from distinct values
    got = rfm_scores(table, 5).execute()
    # the story's path (a group column) ranks with windows: one group gives the same scores
    windowed = rfm_scores(table.mutate(period=ibis.literal(1)), 5, by="period").execute()
    key = ["customer_id", "recency_days", "frequency", "monetary"]
    got = got.sort_values(key, na_position="first").reset_index(drop=True)
    windowed = windowed.drop(columns="period").sort_values(key, na_position="first").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, windowed)
    assert got.m_score.tolist() == windowed.m_score.tolist() and len(got) == 6


def test_a_score_no_one_rises_above_is_the_middle_on_the_distinct_value_path_too(monkeypatch):
    """Every customer bought once: F ranks no one, so F is 3 of 5 for all, whichever way the ranks are
    counted (distinct values for a large stored table, rank windows otherwise)."""
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "recency_days": [1.0, 9.0, 30.0, 90.0],
                          "frequency": [1, 1, 1, 1], "monetary": [5.0, 10.0, 20.0, 40.0]})  # fmt: skip
    table = ibis.memtable(frame)
    for ranks_from in (0, 10**9):  # 0: every table takes the distinct-value path
        monkeypatch.setattr("segmint.segment.rfm.VALUE_RANKS_FROM", ranks_from)
        monkeypatch.setattr("segmint.engine.known_row_count", lambda table: 4)
        got = rfm_scores(table, 5).execute().sort_values("customer_id")
        assert got.f_score.tolist() == [3, 3, 3, 3]
        # by hand: 4 customers over 5 scores, 1 + floor(4 * k / 3): most recent 5, then 3, 2, 1; spend 1, 2, 3, 5
        assert got.r_score.tolist() == [5, 3, 2, 1] and got.m_score.tolist() == [1, 2, 3, 5]
