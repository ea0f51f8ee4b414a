"""Value clusters: ordering by value, k selection, determinism, outliers, config round-trip."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint import arrays
from segmint.errors import ConfigError, DataError
from segmint.segment.clusters import ClusterConfig, ValueClusterer, value_labels
from segmint.segment.clusters import assign as assign_table

# Four well-separated groups in (recency, frequency, monetary); listed from most to least valuable
# on purpose so the test proves the estimator reorders them.
BLOBS = [  # (recency_days, frequency, monetary, size)
    (5, 40, 20000.0, 10),
    (20, 12, 3000.0, 20),
    (90, 4, 400.0, 30),
    (400, 1, 30.0, 40),
]


def assign(data: pd.DataFrame, config: ClusterConfig | None = None) -> pd.DataFrame:
    """``assign`` executed back into the input's row order (it returns an Ibis table)."""
    out = assign_table(data, config).execute().set_index("customer_id")
    return out.loc[data["customer_id"]].reset_index()


def _blobs(groups=BLOBS, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for g, (recency, frequency, monetary, size) in enumerate(groups):
        for i in range(size):
            jitter = rng.uniform(0.93, 1.07, 3)
            rows.append(
                {
                    "customer_id": f"g{g}-{i}",
                    "recency_days": int(round(recency * jitter[0])),
                    "frequency": max(1, int(round(frequency * jitter[1]))),
                    "monetary": round(monetary * jitter[2], 2),
                    "group": g,
                }
            )
    return pd.DataFrame(rows)


def test_clusters_are_ordered_by_mean_monetary_and_labelled() -> None:
    data = _blobs()
    out = assign(data, ClusterConfig(k=4, seed=3))
    # Group 3 spends least -> cluster 0 ... group 0 spends most -> cluster 3.
    expected_cluster = 3 - data["group"]
    assert out["cluster"].tolist() == expected_cluster.tolist()
    expected_label = data["group"].map(
        {0: "High Value", 1: "Average", 2: "Below Average", 3: "Low Value"}
    )
    assert out["segment"].tolist() == expected_label.tolist()
    assert out["segment_order"].tolist() == expected_cluster.tolist()
    # Every input column survives.
    assert list(out.columns[: len(data.columns)]) == list(data.columns)


def test_cluster_means_match_the_groups() -> None:
    data = _blobs()
    model = ValueClusterer(k=4, seed=0).fit(data)
    by_group = data.groupby("group")["monetary"].mean()
    assert model.cluster_means_["monetary"].tolist() == pytest.approx(by_group[::-1].tolist())
    assert model.k_ == 4 and model.cluster_centers_.shape == (4, 3)


def test_reason_names_monetary_rank_and_frequency() -> None:
    data = pd.DataFrame(
        {
            "customer_id": [str(i) for i in range(10)],
            "recency_days": [3, 4, 5, 200, 210, 220, 230, 240, 250, 260],
            "frequency": [9, 10, 11, 1, 1, 1, 1, 1, 2, 1],
            "monetary": [4120.0, 5000.0, 4500.0, 20, 25, 30, 22, 21, 26, 24],
        }
    )
    out = assign(data, ClusterConfig(k=2))
    # 4,120 is the 3rd largest of 10 -> top 30%.
    assert out.loc[0, "reason"] == (
        "monetary 4,120 (top 30%), frequency 9, last purchase 3 days ago -> High Value"
    )
    assert out.loc[3, "reason"] == (
        "monetary 20 (top 100%), frequency 1, last purchase 200 days ago -> Low Value"
    )


def test_k_is_chosen_by_silhouette_on_clear_blobs() -> None:
    data = _blobs()
    model = ValueClusterer(seed=0).fit(data)
    assert model.k_ == 4
    assert max(model.silhouette_scores_, key=model.silhouette_scores_.get) == 4
    assert set(model.silhouette_scores_) == set(range(3, 9))  # default k_range is 3..8
    three = _blobs(BLOBS[:3])
    assert ValueClusterer(seed=0).fit(three).k_ == 3
    two = _blobs(BLOBS[:2])
    assert ValueClusterer(seed=0, k_range=(2, 8)).fit(two).k_ == 2


def test_same_seed_same_result_and_sampled_silhouette() -> None:
    data = _blobs(seed=7)
    first = ValueClusterer(seed=11, silhouette_sample=60).fit(data)
    second = ValueClusterer(seed=11, silhouette_sample=60).fit(data)
    assert first.silhouette_scores_ == second.silhouette_scores_
    assert first.k_ == 4  # chosen on a 60-row sample, refitted on all 100
    assert (first.labels_ == second.labels_).all()
    np.testing.assert_array_equal(first.predict(data), first.labels_)


def test_no_sample_no_refit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fewer customers than ``silhouette_sample``: k is chosen on every row, and the chosen fit is kept
    (a refit on the same rows, k and seed would repeat it), with the clusters of a refit by hand."""
    import segmint.segment.clusters as clusters

    data = _blobs(seed=7)
    calls: list[int] = []
    real = clusters.kmeans
    monkeypatch.setattr(clusters, "kmeans", lambda X, k, **kw: calls.append(k) or real(X, k, **kw))
    model = ValueClusterer(seed=11).fit(data)
    assert calls == list(range(3, 9))  # one fit per k, none repeated
    X = model.transform(data)
    by_hand = ValueClusterer(k=model.k_, seed=11).fit(data)
    np.testing.assert_array_equal(model.labels_, by_hand.labels_)
    np.testing.assert_array_equal(X, by_hand.transform(data))


def test_recency_is_inverted_before_standardising() -> None:
    data = _blobs()
    X = ValueClusterer(k=4).fit(data).transform(data)
    recent = data["recency_days"] == data["recency_days"].min()
    assert X[recent.to_numpy(), 0].max() == X[:, 0].max()  # most recent = highest value score
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(X.std(axis=0), 1)


def test_dbscan_flags_outliers() -> None:
    data = _blobs()
    far = pd.DataFrame(
        [{"customer_id": "whale", "recency_days": 1, "frequency": 900, "monetary": 5e6, "group": -1}]
    )
    data = pd.concat([data, far], ignore_index=True)
    out = assign(data, ClusterConfig(method="dbscan", eps=0.5, min_samples=4))
    whale = out[out["customer_id"] == "whale"].iloc[0]
    assert whale["cluster"] == -1 and whale["segment"] == "Outlier"
    assert whale["segment_order"] == -1
    ranked = out[out["cluster"] >= 0]
    assert sorted(ranked["cluster"].unique()) == [0, 1, 2, 3]
    assert (ranked["cluster"] == 3 - ranked["group"]).all()
    model = ValueClusterer(method="dbscan", eps=0.5, min_samples=4).fit(data)
    assert model.predict(far)[0] == -1
    assert model.predict(data.iloc[[0]])[0] == 3


def test_hdbscan_finds_the_groups() -> None:
    data = _blobs()
    out = assign(data, ClusterConfig(method="hdbscan", min_cluster_size=8, min_samples=3))
    ranked = out[out["cluster"] >= 0]
    assert len(ranked) >= 0.9 * len(out)
    assert (ranked["cluster"] == 3 - ranked["group"]).all()


def test_accepts_an_ibis_table_and_returns_one_in_its_backend() -> None:
    data = _blobs().drop(columns="group")
    con = ibis.duckdb.connect()
    table = con.create_table("features", data)
    labelled = assign_table(table, ClusterConfig(k=4))
    assert isinstance(labelled, ibis.Table)
    assert labelled._find_backend() is con
    out = labelled.execute()
    assert len(out) == len(data)
    assert out.dtypes["segment_order"] == "int64" and out.dtypes["cluster"] == "int64"
    assert out.groupby("segment")["monetary"].mean().idxmax() == "High Value"


def test_labels_preset_by_count_and_custom_labels() -> None:
    assert value_labels(5) == ("Low Value", "Below Average", "Average", "High Value", "Top Value")
    assert value_labels(10)[-1] == "Value Tier 10"
    out = assign(_blobs(), ClusterConfig(k=4, labels=["D", "C", "B", "A"]))
    assert out.groupby("segment")["monetary"].mean().sort_values().index.tolist() == ["D", "C", "B", "A"]


def test_config_yaml_round_trip(tmp_path) -> None:
    config = ClusterConfig(k=5, method="hdbscan", seed=9, features=["frequency", "monetary"])
    path = tmp_path / "clusters.yaml"
    config.to_yaml(path)
    assert ClusterConfig.from_yaml(path) == config
    path.write_text("k_range: [1, 3]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="k_range"):
        ClusterConfig.from_yaml(path)


def test_bad_input_names_the_column() -> None:
    data = _blobs()
    with pytest.raises(DataError, match="'profit'"):
        assign(data, ClusterConfig(features=["frequency", "profit"], order_by="score"))
    data.loc[5, "monetary"] = np.nan
    with pytest.raises(DataError, match="'monetary' has 1 missing.*customer g0-5"):
        assign(data)
    with pytest.raises(DataError, match="distinct"):
        assign(data.dropna().head(3).assign(frequency=1, monetary=1.0, recency_days=1))


def test_reason_says_one_day_not_one_days() -> None:
    data = pd.DataFrame({
        "customer_id": [str(i) for i in range(6)],
        "recency_days": [0, 1, 2, 300, 310, 320],
        "frequency": [9, 10, 11, 1, 1, 2],
        "monetary": [4000.0, 5000.0, 4500.0, 20.0, 25.0, 30.0],
    })
    reasons = assign(data, ClusterConfig(k=2))["reason"].tolist()
    assert "last purchase today" in reasons[0] and "last purchase 1 day ago" in reasons[1]
    assert "last purchase 2 days ago" in reasons[2] and "1 days" not in " ".join(reasons)


def test_reasons_render_shared_integers_once_with_the_same_text() -> None:
    from segmint.segment import clusters

    calls: list[object] = []

    def render(value: object) -> str:
        calls.append(value)
        return f"<{value}>"

    assert arrays.rendered([3, 1, 3, 3, 1], render) == ["<3>", "<1>", "<3>", "<3>", "<1>"]
    assert sorted(calls) == [1, 3]  # each distinct day count once
    calls.clear()
    # a float once per value, but a zero every time: -0.0 beside 0.0 keeps its own text
    assert arrays.rendered([0.0, -0.0, 2.5, 2.5], render) == ["<0.0>", "<-0.0>", "<2.5>", "<2.5>"]
    assert len(calls) == 3
    # the reason text, written out by hand
    columns = {"recency_days": [0, 1, 1200, 1], "frequency": [1, 2, 1, 2], "monetary": [10.5, 250.0, 10.5, 99.0]}
    got = clusters._reasons(columns, ["recency_days", "frequency", "monetary"], ["A", "B", "C", "D"])
    assert got == [
        "monetary 10.50 (top 100%), frequency 1, last purchase today -> A",
        "monetary 250 (top 25%), frequency 2, last purchase 1 day ago -> B",
        "monetary 10.50 (top 100%), frequency 1, last purchase 1,200 days ago -> C",
        "monetary 99 (top 50%), frequency 2, last purchase 1 day ago -> D",
    ]
