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
    basis = "profit" if cost_known else "revenue"
    assert table[f"{basis}_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]]
    assert table["frequency_segment"].tolist() == [RANK_LABEL[r] for r in [0, 0, 1, 0, 1, 2, 2, 3, 0, 1, 3, 3]]
    assert table["reason"].str.startswith(basis + " ").all()
    assert any("the data have no cost" in n for n in result.notes) is (not cost_known)


AMOUNT_RANKS = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3]  # the profit ranks of the table above (revenue is 3x profit)


def _amount_columns(columns) -> list[str]:
    """The amount axis' columns: profit_cluster, revenue_segment, ... (not the features' profit, revenue)."""
    return [c for c in columns if c.partition("_")[0] in ("profit", "revenue", "items")
            and c.partition("_")[2] in ("cluster", "clusters", "score", "segment", "outlier")]


@pytest.mark.parametrize(("cost_known", "priced", "basis"),
                         [(True, True, "profit"), (False, True, "revenue"), (False, False, "items")])
def test_the_amount_axis_columns_are_named_for_what_was_ranked(cost_known: bool, priced: bool, basis: str,
                                                               tmp_path) -> None:
    """Without a cost the value story ranks revenue (items without prices), yet the scheme named its columns
    profit_cluster, profit_segment, ... and the exports renamed them (CDNOW: revenue clusters under profit's
    name in the library's tables, the story's rows and its customer cards). The scheme names them: the
    labelled table, the story's rows and every export carry ``<basis>_*`` and no other amount name."""
    from segmint.api import analyze
    from segmint.exports import export_all
    from segmint.story import build_story
    from segmint.units import item_config

    want = [f"{basis}_cluster", f"{basis}_clusters", f"{basis}_score", f"{basis}_segment"]
    config = item_config(ValueConfig(k=4), priced)  # what api.analyze and api.story pass without prices
    assert _amount_columns(label_frame(features(cost_known=cost_known), config).columns) == want
    result = analyze(_quarter_tx(cost_known), scheme="value", config={"value": ValueConfig(k=4)})
    if priced:
        labelled = result.segments["value"].execute().sort_values("customer_id")
        assert _amount_columns(labelled.columns) == want
        assert labelled[f"{basis}_cluster"].tolist() == AMOUNT_RANKS
        export_all(result, tmp_path)
        table = pd.read_csv(tmp_path / "segments_value.csv").sort_values("customer_id")
        assert _amount_columns(table.columns) == want
        assert table[f"{basis}_segment"].tolist() == [RANK_LABEL[r] for r in AMOUNT_RANKS]
        assert set(table["value_basis"]) == {basis} and table["segment"].tolist() == LABELS
    story = build_story(_quarter_tx(cost_known), scheme="value", config=config)
    rows = story.period_segments.execute().sort_values("customer_id")
    assert _amount_columns(rows.columns) == [f"{basis}_segment", f"{basis}_cluster"]
    assert rows[f"{basis}_cluster"].tolist() == AMOUNT_RANKS
    assert f"{basis}_segment" in story.customer("c08")["timeline"][0]
    density = build_story(_quarter_tx(cost_known), scheme="value",
                          config=config.model_copy(update={"method": "dbscan", "eps": 0.3, "min_samples": 1}))
    assert _amount_columns(density.period_segments.columns) == [f"{basis}_segment", f"{basis}_cluster"]


def test_the_title_names_what_was_ranked() -> None:
    """The value scheme titles itself by its labelled table: 'Value story (revenue x frequency)' without cost."""
    from segmint.segment import scheme_title

    for cost_known, config, basis in ((True, ValueConfig(), "profit"), (False, ValueConfig(), "revenue"),
                                      (False, ValueConfig(amount_word="items"), "items")):
        columns = list(label_frame(features(cost_known=cost_known), config).columns)
        assert scheme_title("value", columns) == f"Value story ({basis} x frequency)"
    assert scheme_title("value") == "Value story (profit x frequency)"  # no table: the registered title
    assert scheme_title("rfm", ["r_score"]) == "RFM segments"  # a scheme without title_for


def test_the_title_has_one_source() -> None:
    """The registered title and the one a table gets were two literals that could drift apart: the
    module's title is the registry's template, filled in with what was ranked."""
    import ast
    import inspect

    import segmint.segment.value as value_module
    from segmint.segment import VALUE_TITLE, scheme_title

    tree = ast.parse(inspect.getsource(value_module))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree) if isinstance(node, (ast.Module, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}  # fmt: skip
    literals = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and id(node) not in docstrings]
    assert not [text for text in literals if isinstance(text, str) and "Value story" in text]
    assert scheme_title("value") == VALUE_TITLE.format(amount="profit") == value_module.title_for([])


def _two_quarters_tx(cost_in_q2: str):
    """The twelve customers in 2023-Q1 without cost, and again in 2023-Q2 (dates + 91 days) with a cost for
    ``cost_in_q2``: "all" customers or "some" (c01 only)."""
    import ibis

    q1 = _quarter_tx(False).execute()
    q2 = _quarter_tx(True).execute()
    q2["invoice_date"] = q2["invoice_date"] + pd.Timedelta(days=91)
    q2["invoice_id"] = "q2-" + q2["invoice_id"]
    if cost_in_q2 == "some":
        q2.loc[q2["customer_id"] != "c01", "cost"] = None
    return ibis.duckdb.connect().create_table("tx", pd.concat([q1, q2], ignore_index=True))


@pytest.mark.parametrize(("cost_in_q2", "basis"), [("all", "profit"), ("some", "revenue")])
def test_a_story_names_its_columns_by_every_period(cost_in_q2: str, basis: str) -> None:
    """A story ranked on profit in some period keeps profit_* (2023-Q2 has every cost). With a cost for one
    customer only, no period is ranked on profit: revenue_*, where the renaming at the edges kept profit_*
    because some labelled row had a profit."""
    from segmint.story import build_story

    for method in ("kmeans", "dbscan"):
        config = ValueConfig(k=4, method=method, eps=0.3, min_samples=1)
        story = build_story(_two_quarters_tx(cost_in_q2), scheme="value", config=config)
        rows = story.period_segments.execute()
        assert _amount_columns(rows.columns) == [f"{basis}_segment", f"{basis}_cluster"], method
        q2 = rows[rows["period"] == "2023-Q2"].sort_values("customer_id")
        reason_word = "profit" if cost_in_q2 == "all" else "revenue"
        assert q2["reason"].str.startswith(reason_word + " ").all()
        if method == "kmeans":
            assert q2[f"{basis}_cluster"].tolist() == AMOUNT_RANKS


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
