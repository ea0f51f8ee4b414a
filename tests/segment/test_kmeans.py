"""numpy k-means and silhouettes: scikit-learn's results (a second implementation) and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from segmint.segment.kmeans import _lloyd_step, kmeans, silhouette_scores


def _datasets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    blobs = np.concatenate([rng.normal(centre, 1, (150, 3)) for centre in [(0, 0, 0), (5, 5, 0), (0, 6, 3)]])
    # value-feature-like: many customers share a point (one purchase, same amount)
    shared = np.repeat(rng.normal(0, 1, (40, 3)), rng.integers(1, 30, 40), axis=0)
    skewed = np.column_stack([rng.exponential(1, 600), rng.poisson(2, 600), np.log1p(rng.lognormal(3, 1, 600))])
    return {"blobs": blobs, "shared": shared, "skewed": skewed, "few": rng.normal(0, 1, (9, 2))}


@pytest.mark.parametrize("name", ["blobs", "shared", "skewed", "few"])
def test_kmeans_gives_scikit_learns_clusters(name: str) -> None:
    from sklearn.cluster import KMeans

    X = _datasets()[name]
    for seed in (0, 5):
        for k in range(2, 9):
            with threadpool_limits(1):
                want = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(X)
                labels, centers, inertia = kmeans(X, k, seed=seed)
            assert labels.tolist() == want.labels_.tolist(), (name, seed, k)
            np.testing.assert_allclose(centers, want.cluster_centers_, rtol=1e-12, atol=1e-12)
            assert inertia == pytest.approx(want.inertia_, rel=1e-12)


def test_kmeans_on_two_obvious_groups() -> None:
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [10.0, 10.0], [10.0, 11.0], [11.0, 10.0]])
    labels, centers, inertia = kmeans(X, 2, seed=3)
    assert labels[0] == labels[1] == labels[2] != labels[3] == labels[4] == labels[5]
    by_label = {int(labels[0]): (1 / 3, 1 / 3), int(labels[3]): (31 / 3, 31 / 3)}
    for label, centre in by_label.items():
        np.testing.assert_allclose(centers[label], centre)
    # each group: squared distances to its mean (1/3, 1/3) are 2/9, 5/9, 5/9
    assert inertia == pytest.approx(2 * (2 / 9 + 5 / 9 + 5 / 9))


def test_an_empty_cluster_takes_the_point_farthest_from_its_centre() -> None:
    X = np.array([[0.0], [1.0], [10.0]])
    labels, centers, shift = _lloyd_step(X, np.ascontiguousarray(X.T), np.array([[0.5], [100.0]]), np.empty((2, 3)))
    # every point is nearest 0.5, so cluster 1 is empty; 10 is farthest from 0.5 and moves there
    assert labels.tolist() == [0, 0, 0]
    assert centers.ravel().tolist() == [0.5, 10.0]
    assert shift.tolist() == [0.0, 90.0]


def test_silhouette_by_hand() -> None:
    X = np.array([[0.0], [1.0], [5.0], [6.0]])
    # 0: a=1, b=(5+6)/2; 1: a=1, b=(4+5)/2; symmetric for 5 and 6
    expected = (2 * (5.5 - 1) / 5.5 + 2 * (4.5 - 1) / 4.5) / 4
    # a point alone in its cluster scores 0: [0] | [1] | [5, 6] -> 0, 0, and 5: a=1, b=min(5, 4)
    alone = (0 + 0 + (4 - 1) / 4 + (5 - 1) / 5) / 4
    scores = silhouette_scores(X, {2: np.array([0, 0, 1, 1]), 3: np.array([0, 1, 2, 2])})
    assert scores == {2: pytest.approx(expected), 3: pytest.approx(alone)}


def test_silhouettes_match_scikit_learn_across_row_blocks() -> None:
    from sklearn.metrics import silhouette_score

    X = _datasets()["skewed"]
    X = np.concatenate([X, X[:500]])  # 1,100 rows: more than one block of rows, with duplicates
    labelings = {k: kmeans(X, k)[0] for k in (3, 4, 6)}
    scores = silhouette_scores(X, labelings)
    for k, labels in labelings.items():
        assert scores[k] == pytest.approx(silhouette_score(X, labels), abs=1e-12)
    with pytest.raises(ValueError, match="at least 2"):
        silhouette_scores(X, {1: np.zeros(len(X), dtype=int)})
