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
    7: "Potential", 8: "Potential", 9: "Loyal", 10: "Champions", 11: "Can't Lose Them",
    12: "Can't Lose Them", 13: "Can't Lose Them", 14: "Can't Lose Them", 15: "Can't Lose Them",
}  # fmt: skip
ORDER = {"Can't Lose Them": 6, "Champions": 5, "Loyal": 4, "Potential": 3, "Promising": 2,
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
    assert row.reason == "R+F+M = 4+5+3 = 12 >= 11 -> Can't Lose Them"


def test_thresholds_rescale_to_three_bins():
    # 3 + (t - 3) * 2 / 4: 11 -> 7, 10 -> 6.5, 9 -> 6, 7 -> 5, 6 -> 4.5, 5 -> 4, 3 -> 3
    table, cells = grid_features(3)
    got = assign(table, LevelsConfig(bins=3)).execute().sort_values("customer_id")
    by_sum = {3: "Require Activation", 4: "Needs Attention", 5: "Potential", 6: "Loyal",
              7: "Can't Lose Them", 8: "Can't Lose Them", 9: "Can't Lose Them"}  # fmt: skip
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
