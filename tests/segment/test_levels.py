"""RFM levels: score-sum thresholds checked against a hand-written table, rescaling and config errors."""

from __future__ import annotations

import itertools

import ibis
import pandas as pd
import pytest

from segmint.errors import ConfigError
from segmint.segment.levels import LevelsConfig, assign

# minimum R+F+M for 5 bins, typed out by hand from the documented defaults
LEVEL_BY_SUM_5 = {
    3: "Require Activation", 4: "Require Activation", 5: "Needs Attention", 6: "Promising",
    7: "Potential", 8: "Potential", 9: "Loyal", 10: "Champions", 11: "Top Customers",
    12: "Top Customers", 13: "Top Customers", 14: "Top Customers", 15: "Top Customers",
}  # fmt: skip
ORDER = {"Top Customers": 6, "Champions": 5, "Loyal": 4, "Potential": 3, "Promising": 2,
         "Needs Attention": 1, "Require Activation": 0}  # fmt: skip


def grid_features(bins: int) -> tuple[ibis.Table, list[tuple[int, int, int]]]:
    """One customer per score cell: values step by cell so customer i scores exactly cells[i]."""
    cells = list(itertools.product(range(1, bins + 1), repeat=3))
    big = 10_000
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i:04d}" for i in range(len(cells))],
            "recency_days": [(bins + 1 - r) * big + i for i, (r, _, _) in enumerate(cells)],
            "frequency": [f * big + i for i, (_, f, _) in enumerate(cells)],
            "monetary": [float(m * big + i) for i, (_, _, m) in enumerate(cells)],
        }
    )
    return ibis.memtable(frame), cells


def test_default_thresholds_every_sum():
    table, cells = grid_features(5)
    got = assign(table).execute().sort_values("customer_id")
    assert got.rfm_score.tolist() == [sum(c) for c in cells]
    assert got.segment.tolist() == [LEVEL_BY_SUM_5[sum(c)] for c in cells]
    assert (got.segment_order == got.segment.map(ORDER)).all()
    row = got[got.rfm_cell == "453"].iloc[0]
    assert row.reason == "R+F+M = 4+5+3 = 12 >= 11 -> Top Customers"


def test_thresholds_rescale_to_three_bins():
    # 3 + (t - 3) * 2 / 4: 11 -> 7, 10 -> 6.5, 9 -> 6, 7 -> 5, 6 -> 4.5, 5 -> 4, 3 -> 3
    table, cells = grid_features(3)
    got = assign(table, LevelsConfig(bins=3)).execute().sort_values("customer_id")
    by_sum = {3: "Require Activation", 4: "Needs Attention", 5: "Potential", 6: "Loyal",
              7: "Top Customers", 8: "Top Customers", 9: "Top Customers"}  # fmt: skip
    assert got.segment.tolist() == [by_sum[sum(c)] for c in cells]


def test_custom_thresholds_from_yaml(tmp_path):
    path = tmp_path / "levels.yaml"
    path.write_text("thresholds:\n  Gold: 12\n  Silver: 8\n  Bronze: 3\n")
    config = LevelsConfig.from_yaml(path)
    table, cells = grid_features(5)
    got = assign(table, config).execute().sort_values("customer_id")
    want = ["Gold" if sum(c) >= 12 else "Silver" if sum(c) >= 8 else "Bronze" for c in cells]
    assert got.segment.tolist() == want
    assert set(got.segment_order) == {0, 1, 2}
    assert LevelsConfig.from_yaml(path).to_yaml() == config.to_yaml()


def test_bad_thresholds():
    with pytest.raises(ConfigError, match="decrease"):
        LevelsConfig.from_dict({"thresholds": {"A": 5, "B": 9}})
    with pytest.raises(ConfigError, match="thresholds"):
        LevelsConfig.from_dict({"thresholds": {"A": 5}})


def test_top_customers_claim_holds_on_real_cdnow() -> None:
    """The top level claims the best customers by R+F+M, not lapsing ones (the seed's name, "Can't Lose
    Them", claimed they were slipping away; on CDNOW 38% of them bought in the last 91 days), and none
    of them is lapsed. Checked against features computed from the raw text with pandas alone
    (tests/test_real_data.py)."""
    from test_real_data import CDNOW, raw_lines, reference_features, reference_lapse_days

    if not CDNOW.is_dir():
        pytest.skip("../shared/data/cdnow is not present")
    import segmint

    levels = segmint.analyze(CDNOW / "CDNOW_master.txt", scheme="levels").segments["levels"]
    levels = (levels.execute() if hasattr(levels, "execute") else levels).set_index("customer_id")
    lines = raw_lines("CDNOW_master.txt", True)
    joined = reference_features(lines).join(levels[["segment", "rfm_score", "reason"]], how="inner")
    assert len(joined) == len(levels) == 23_502
    # no level above Needs Attention goes to a customer gone past the lapse threshold, from the raw lines in
    # SQL (358 days): 663 of 1,269 Champions had not bought for over a year; 6,895 customers moved down
    lapse_days = reference_lapse_days(lines)
    assert joined[joined.segment.isin(PRESENCE)].recency_days.max() <= lapse_days
    moved = joined[joined.reason.str.contains(", but no purchase for ", regex=False)]
    assert len(moved) == 6_895 and set(moved.segment) == {"Needs Attention"}
    assert (moved.recency_days > lapse_days).all() and (moved.rfm_score >= 6).all()
    by = joined.groupby("segment").agg(
        customers=("monetary", "size"), revenue=("monetary", "mean"), orders=("frequency", "mean"),
        lowest=("rfm_score", "min"), recent=("recency_days", lambda days: (days <= 91).mean()),
    )
    top = by.loc["Top Customers"]
    assert top.lowest == 11 and top.customers == 7_385  # 8,524 before 1,139 lapsed ones were moved down
    others = by.drop(index="Top Customers")
    assert top.revenue > 3 * others.revenue.max() and top.orders > 2 * others.orders.max()
    assert top.recent > 0.4  # many bought lately: "slipping away" would be false
    assert "Can't Lose Them" not in by.index


PRESENCE = {"Top Customers", "Champions", "Loyal", "Potential", "Promising"}


def test_a_lapsed_customer_gets_at_most_needs_attention():
    """The hand case of tests/segment/test_rfm.py (threshold 171 days): the top customer 400 days away
    sums 5+5+5 = 15 but is lapsed, so Needs Attention; the one 20 days away stays Top Customers. old_00
    (450 days, R=5 F=1 M=1 = 7: Potential by its sum) is lapsed too."""
    from test_rfm import _dated, _lapsing_base

    got = assign(_dated(_lapsing_base())).execute().set_index("customer_id")
    assert got.loc["recent_top", "segment"] == "Top Customers"
    assert got.loc["gone_top", "reason"] == (
        "R+F+M = 5+5+5 = 15 >= 11, but no purchase for 400 days, longer than 95% of repeat customers' "
        "average gap (171 days) -> Needs Attention"
    )
    assert got.loc["old_00", ["rfm_score", "segment"]].tolist() == [7, "Needs Attention"]
    assert not got.drop(index="recent_top").segment.isin(PRESENCE).any()
    assert (got.segment_order == got.segment.map(ORDER)).all()
    # another cap, no cap, no lapse: the sums decide again
    promising = assign(_dated(_lapsing_base()), LevelsConfig(lapsed_level="Promising")).execute()
    assert promising.set_index("customer_id").loc[["gone_top", "old_00"], "segment"].tolist() == ["Promising"] * 2
    for settings in ({"lapsed_level": None}, {"lapsed_after": None}, {"lapsed_after": 400}):
        same = assign(_dated(_lapsing_base()), LevelsConfig(**settings)).execute().set_index("customer_id")
        assert same.loc["gone_top", "segment"] == "Top Customers", settings
    # a table of your own names has no cap unless you name one; a name not in the table is an error
    assert LevelsConfig(thresholds={"Gold": 12, "Bronze": 3}).lapsed_level is None
    with pytest.raises(ConfigError, match="lapsed_level='Silver' must be one of the levels"):
        LevelsConfig.from_dict({"thresholds": {"Gold": 12, "Bronze": 3}, "lapsed_level": "Silver"})


def test_levels_from_rfms_scores_equal_levels_ranked_again() -> None:
    from segmint.segment import get_scheme
    from segmint.segment.rfm import RFMConfig
    from segmint.segment.rfm import assign as rfm_assign

    table, cells = grid_features(5)
    rfm = rfm_assign(table, RFMConfig())
    levels = get_scheme("levels")
    reused = levels.assign_after(table, LevelsConfig(), {"rfm": (rfm, RFMConfig())}).to_pandas()
    ranked = assign(table, LevelsConfig()).to_pandas()
    assert list(reused.columns) == list(ranked.columns)
    pd.testing.assert_frame_equal(reused.sort_values("customer_id").reset_index(drop=True),
                                  ranked.sort_values("customer_id").reset_index(drop=True))
    # the hand-written table, from rfm's scores
    by_id = dict(zip(reused.customer_id, reused.segment, strict=True))
    assert [by_id[f"c{i:04d}"] for i in range(len(cells))] == [LEVEL_BY_SUM_5[sum(c)] for c in cells]
    # other bins than rfm's: levels ranks on its own (no rfm scores to read)
    from segmint.segment.levels import assign_after

    assert assign_after(table, LevelsConfig(bins=4), {"rfm": (rfm, RFMConfig())}) is None
    assert assign_after(table, LevelsConfig(), {}) is None
