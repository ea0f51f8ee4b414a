"""The value story (profit x frequency clusters) on a fixture whose k-means clusters are known.

Twelve customers in one quarter; profit falls in four well-separated groups and frequency takes four
values, so k=4 finds exactly those groups on each axis:

    customer  profit  frequency   profit rank  frequency rank  overall = mean(rank / 3)  label
    c01         10        1            0            0              0                   Low Value
    c02         12        1            0            0              0                   Low Value
    c03         14        5            0            1              1/6                 Low Value
    c04        100        1            1            0              1/6                 Low Value
    c05        104        5            1            1              1/3                 Below Average
    c06        108       10            1            2              1/2                 Average
    c07       1000       10            2            2              2/3                 Average
    c08       1010       20            2            3              5/6                 High Value
    c09       5000        1            3            0              1/2                 Average
    c10       5010        5            3            1              2/3                 Average
    c11       5020       20            3            3              1                   High Value
    c12       5030       20            3            3              1                   High Value
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segmint.errors import ConfigError
from segmint.segment.value import ValueConfig, assign, axis_ranks, label_frame, order_cluster

PROFIT = [10, 12, 14, 100, 104, 108, 1000, 1010, 5000, 5010, 5020, 5030]
FREQUENCY = [1, 1, 5, 1, 5, 10, 10, 20, 1, 5, 20, 20]
L, BA, AV, H = "Low Value", "Below Average", "Average", "High Value"
LABELS = [L, L, L, L, BA, AV, AV, H, AV, AV, H, H]
RANK_LABEL = {0: L, 1: BA, 2: AV, 3: H}


def features(profit=PROFIT, frequency=FREQUENCY, cost_known: bool = True) -> pd.DataFrame:
    n = len(profit)
    return pd.DataFrame({
        "customer_id": [f"c{i + 1:02d}" for i in range(n)],
        "recency_days": [5] * n,
        "frequency": frequency,
        "monetary": [3.0 * p for p in profit],  # revenue; profit is a third of it
        "profit": [float(p) for p in profit] if cost_known else [None] * n,
    })


def test_clusters_known_by_construction() -> None:
    got = label_frame(features(), ValueConfig(k=4))
    assert got["profit_cluster"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]
    assert got["frequency_cluster"].tolist() == [0, 0, 1, 0, 1, 2, 2, 3, 0, 1, 3, 3]
    assert got["overall_score"].tolist() == pytest.approx([0, 0, 1 / 6, 1 / 6, 1 / 3, 0.5, 2 / 3, 5 / 6,
                                                            0.5, 2 / 3, 1, 1], abs=1e-4)
    assert got["segment"].tolist() == LABELS
    assert got["profit_segment"].tolist() == [RANK_LABEL[r] for r in got["profit_cluster"]]
    assert got["frequency_segment"].tolist() == [RANK_LABEL[r] for r in got["frequency_cluster"]]
    assert got["segment_order"].tolist() == [[L, BA, AV, H].index(s) for s in LABELS]
    assert got.loc[7, "reason"] == (
        "profit 1,010 (cluster 3 of 4), frequency 20 (cluster 4 of 4): score 0.83 -> High Value"
    )
    assert set(got["value_basis"]) == {"profit"}


def test_default_nine_clusters_and_fewer_distinct_values() -> None:
    got = label_frame(features(), ValueConfig())
    assert ValueConfig().k == 9
    # frequency has 4 distinct values: 4 clusters, not 9; profit has 12 values: 9 clusters
    assert set(got["frequency_clusters"]) == {4} and set(got["profit_clusters"]) == {9}
    assert got["profit_cluster"].is_monotonic_increasing  # renumbered by mean: bigger profit, higher
    assert got["profit_cluster"].iloc[0] == 0 and got["profit_cluster"].iloc[-1] == 8


def test_revenue_when_cost_is_unknown_and_the_seed_table_shape() -> None:
    got = label_frame(features(cost_known=False), ValueConfig(k=4))
    assert set(got["value_basis"]) == {"revenue"}  # revenue has the same order, so the same clusters
    assert got["segment"].tolist() == LABELS
    assert got.loc[0, "reason"].startswith("revenue 30.00 (cluster 1 of 4)")
    table = assign(features(), ValueConfig(k=4)).execute()  # an Ibis table, like every scheme
    assert {"profit_segment", "frequency_segment", "segment", "reason"} <= set(table.columns)


def test_order_cluster_renumbers_by_mean() -> None:
    values = np.array([5.0, 1.0, 9.0, 1.5, 8.0])
    assert order_cluster(values, np.array([7, 3, 2, 3, 2])).tolist() == [1, 0, 2, 0, 2]


def test_quantile_cutoffs_option() -> None:
    ranks, clusters, _ = axis_ranks(np.array(PROFIT, float), ValueConfig(k=4, method="quantiles"))
    # 1 + floor(4 * below / 12) - 1 with below = 0..11 customers with a smaller profit
    assert ranks.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3] and clusters == 4
    tied, _, _ = axis_ranks(np.array([1, 1, 1, 2], float), ValueConfig(k=4, method="quantiles"))
    assert tied.tolist() == [0, 0, 0, 1]  # equal values share a bucket


def test_density_option_joins_outliers_to_the_nearest_cluster() -> None:
    values = np.array([1, 1.1, 1.2, 10, 10.1, 10.2, 100])
    ranks, clusters, outlier = axis_ranks(values, ValueConfig(method="dbscan", eps=0.1, min_samples=2))
    assert ranks.tolist() == [0, 0, 0, 1, 1, 1, 1] and clusters == 2
    assert outlier.tolist() == [False] * 6 + [True]
    got = label_frame(features(), ValueConfig(method="hdbscan", min_cluster_size=2, min_samples=1))
    assert {"profit_outlier", "frequency_outlier"} <= set(got.columns)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="cutoffs must rise"):
        ValueConfig.from_dict({"cutoffs": [0.5, 0.4, 0.9]})
    with pytest.raises(ConfigError, match="k"):
        ValueConfig.from_dict({"k": 1})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kmeans_1d_matches_scikit_learn(seed: int) -> None:
    from sklearn.cluster import KMeans

    from segmint.segment.value import kmeans_1d

    rng = np.random.default_rng(seed)
    values = np.round(rng.lognormal(4, 1.2, 3000), 2)
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    labels, inertia = kmeans_1d(distinct, counts.astype(float), 9, seed=seed)
    ours = labels[inverse]
    want = KMeans(n_clusters=9, n_init=10, random_state=seed).fit(values.reshape(-1, 1))
    # a second method (scikit-learn on every row) finds the same objective value, within 1%
    assert inertia == pytest.approx(want.inertia_, rel=0.01)
    recomputed = sum(((values[ours == c] - values[ours == c].mean()) ** 2).sum() for c in range(9))
    assert inertia == pytest.approx(recomputed, rel=1e-9)
    assert len(np.unique(ours)) == 9
    # clusters are runs of consecutive values, numbered upwards
    order = np.argsort(values, kind="stable")
    assert (np.diff(ours[order]) >= 0).all()


def _quarter_tx(cost_known: bool):
    """The twelve customers in 2023-Q1: ``frequency`` invoices each, amount 3x and cost 2x the profit."""
    import ibis

    from segmint.schema import CANONICAL_DTYPES

    rows = []
    for i, (profit, visits) in enumerate(zip(PROFIT, FREQUENCY, strict=True)):
        for visit in range(visits):
            rows.append({
                "invoice_id": f"{i}-{visit}", "customer_id": f"c{i + 1:02d}",
                "invoice_date": pd.Timestamp("2023-01-02") + pd.Timedelta(days=3 * visit + i % 3),
                "product_id": "p", "product_name": None, "quantity": 1.0,
                "unit_price": 3.0 * profit / visits, "amount": 3.0 * profit / visits,
                "cost": 2.0 * profit / visits if cost_known else None, "country": None, "org_id": None,
                "is_return": False,
            })
    types = {"string": "string", "int64": "int64", "timestamp": "datetime64[us]", "float64": "float64",
             "boolean": "boolean"}
    frame = pd.DataFrame(rows).astype({c: types[t] for c, t in CANONICAL_DTYPES.items()})
    return ibis.duckdb.connect().create_table("tx", frame)


@pytest.mark.parametrize("cost_known", [True, False])
def test_value_story_through_build_story(cost_known: bool) -> None:
    from segmint.story import build_story

    result = build_story(_quarter_tx(cost_known), scheme="value", config=ValueConfig(k=4))
    assert result.kind == "within_period" and result.periods["period"].tolist() == ["2023-Q1"]
    table = result.period_segments.execute().sort_values("customer_id")
    assert table["frequency"].tolist() == FREQUENCY
    assert table["segment"].tolist() == LABELS
    assert table["profit_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]]
    assert table["frequency_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 1, 0, 1, 2, 2, 3, 0, 1, 3, 3]]
    basis = "profit" if cost_known else "revenue"
    assert table["reason"].str.startswith(basis + " ").all()
    assert any("the data have no cost" in n for n in result.notes) is (not cost_known)


@pytest.mark.parametrize("cost_known", [True, False])
def test_the_amount_axis_columns_are_named_for_what_was_ranked(cost_known: bool, tmp_path) -> None:
    """Without a cost the value story ranks revenue, yet segments_value.csv and the story's period_segments
    named its clusters profit_cluster, profit_segment, ... (CDNOW: revenue clusters under profit's name).
    They are revenue_* then; with every cost known they stay profit_*. Ranks from the table above."""
    from segmint.api import analyze
    from segmint.exports import export_all
    from segmint.units import named_for_basis
    from segmint.story import build_story

    basis = "profit" if cost_known else "revenue"
    result = analyze(_quarter_tx(cost_known), scheme="value", config={"value": ValueConfig(k=4)})
    export_all(result, tmp_path)
    table = pd.read_csv(tmp_path / "segments_value.csv").sort_values("customer_id")
    other = "revenue" if cost_known else "profit"
    assert not [c for c in table.columns if c.startswith(other + "_")], list(table.columns)
    assert table[f"{basis}_cluster"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]
    assert table[f"{basis}_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]]
    assert set(table["value_basis"]) == {basis} and table["segment"].tolist() == LABELS
    story = build_story(_quarter_tx(cost_known), scheme="value", config=ValueConfig(k=4))
    rows = named_for_basis(story.period_segments, priced=True).execute().sort_values("customer_id")
    assert rows[f"{basis}_cluster"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]
    # without prices the amount ranked is items: items_segment
    unpriced = named_for_basis(label_frame(features(cost_known=False), ValueConfig(k=4)).drop(columns="value_basis"),
                               priced=False)
    assert unpriced["items_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]]


def test_an_axis_with_one_cluster_ranks_no_one_low() -> None:
    """One customer (or customers all alike) make one cluster per axis, scaled to 0: the lone customer was
    'Low Value' on no evidence. One cluster ranks no one: the middle score 0.5, 'Average'."""
    alone = label_frame(features(profit=[10], frequency=[2]), ValueConfig(k=4))
    assert alone[["profit_score", "frequency_score", "overall_score"]].iloc[0].tolist() == [0.5, 0.5, 0.5]
    assert alone[["profit_segment", "frequency_segment", "segment"]].iloc[0].tolist() == [AV, AV, AV]
    # two customers with the same frequency and different profit: frequency ranks no one, profit does
    pair = label_frame(features(profit=[10, 1000], frequency=[3, 3]), ValueConfig(k=4))
    assert pair["frequency_score"].tolist() == [0.5, 0.5] and pair["profit_score"].tolist() == [0.0, 1.0]
    assert pair["overall_score"].tolist() == [0.25, 0.75] and pair["segment"].tolist() == [BA, H]
