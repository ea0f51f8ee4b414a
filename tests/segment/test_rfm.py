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
    assert set(got.r_score) == {1} and set(got.m_score) == {1}  # everyone tied: nobody is worse
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


def _expected_segment(r: int, f: int, m: int) -> str:
    """The documented R x FM grid, typed out by hand."""
    fm = (f + m) / 2
    band = 0 if fm <= 2 else 1 if fm <= 3 else 2 if fm <= 4 else 3
    grid = {
        5: ["New Customers", "Potential Loyalist", "Champions", "Champions"],
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
    assert set(got.segment) == set(SEGMENTS)
    order = dict(zip(SEGMENTS, range(10, -1, -1), strict=True))
    assert (got.segment_order == got.segment.map(order)).all()
    champion = got[got.rfm_cell == "545"].iloc[0]
    assert champion.reason == "R=5 F=4 M=5 -> Champions: bought recently, often, and spends most"


@pytest.mark.parametrize("bins", range(3, 11))
def test_every_cell_covered_for_any_bins(bins):
    config = RFMConfig(bins=bins)
    for r, f, m in itertools.product(range(1, bins + 1), repeat=3):
        got = segment_for(r, f, m, config)
        assert got == _expected_segment(scaled_score(r, bins), scaled_score(f, bins), scaled_score(m, bins))


def test_ibis_assign_matches_python_rules_with_other_bins():
    rng = np.random.default_rng(3)
    config = RFMConfig(bins=4)
    got = assign(features(rng.integers(1, 50, 400), rng.integers(1, 9, 400), rng.gamma(2, 9, 400)), config)
    got = got.execute()
    want = [segment_for(r, f, m, config) for r, f, m in zip(got.r_score, got.f_score, got.m_score, strict=True)]
    assert got.segment.tolist() == want


def test_config_yaml_round_trip_and_errors(tmp_path):
    path = tmp_path / "rfm.yaml"
    RFMConfig(bins=4).to_yaml(path)
    assert RFMConfig.from_yaml(path) == RFMConfig(bins=4)
    (tmp_path / "bad.yaml").write_text(
        "segments: [{name: Best}, {name: Rest}]\nrules:\n  - {segment: Best, r: [4, 5]}\n"
    )
    with pytest.raises(ConfigError, match="no rule matches cell R=1 F=1 M=1"):
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
