"""K-means and silhouette scores in numpy, computed the way scikit-learn computes them.

The value clusters run k-means on a few features, for every k of a range, then the silhouette of each
fit; importing scikit-learn for that (with scipy.stats, which it imports) cost about 0.9 CPU s of a
2-4 s ``segmint analyze``. :func:`kmeans` follows ``sklearn.cluster.KMeans(algorithm="lloyd")`` step
by step (Arthur & Vassilvitskii's k-means++ with greedy local trials and the same random stream,
Lloyd's iterations on mean-centred data with the same tolerance, empty-cluster relocation and
stopping rules, the best of ``n_init`` starts by inertia), so a seed gives the same clusters
(tests/segment/test_kmeans.py compares them). :func:`silhouette_scores` gives Rousseeuw's (1987)
mean silhouette of several labelings of the same points from one pass over their distances.
"""

from __future__ import annotations

import numpy as np

from segmint.arrays import distinct

__all__ = ["kmeans", "silhouette_scores"]

_CHUNK_ROWS = 512  # rows of the distance matrix silhouette_scores multiplies at once, in ...
_BLOCK_ROWS = 64  # ... blocks of this many rows (the products' bits are those of the 512-row chunks)


def _squared_norms(X: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", X, X)


def _squared_distances(A: np.ndarray, X: np.ndarray, x_squared_norms: np.ndarray) -> np.ndarray:
    """||a - x||^2 for every row pair, as ``-2 a.x + ||a||^2 + ||x||^2`` clipped at 0 (scikit-learn's form)."""
    distances = (A * -2.0) @ X.T  # = -2 (a.x) to the bit (scaling by 2 is exact), without a pass over the product
    distances += _squared_norms(A)[:, None]
    distances += x_squared_norms[None, :]
    np.maximum(distances, 0, out=distances)
    return distances


def _kmeans_plusplus(X: np.ndarray, k: int, x_squared_norms: np.ndarray, random: np.random.RandomState) -> np.ndarray:
    """Greedy k-means++ starts: each next centre is the best of ``2 + log k`` draws by squared distance."""
    n = len(X)
    centers = np.empty((k, X.shape[1]), dtype=X.dtype)
    trials = 2 + int(np.log(k))
    weight = np.ones(n)
    centers[0] = X[random.choice(n, p=weight / weight.sum())]
    closest = _squared_distances(centers[0, np.newaxis], X, x_squared_norms)
    potential = closest @ weight
    for c in range(1, k):
        draws = random.uniform(size=trials) * potential
        candidates = np.searchsorted(np.cumsum(weight * closest), draws)
        np.clip(candidates, None, closest.size - 1, out=candidates)
        to_candidates = _squared_distances(X[candidates], X, x_squared_norms)
        np.minimum(closest, to_candidates, out=to_candidates)
        potentials = to_candidates @ weight.reshape(-1, 1)
        best = np.argmin(potentials)
        potential = potentials[best]
        closest = to_candidates[best]
        centers[c] = X[candidates[best]]
    return centers


def _nearest(X_T: np.ndarray, centers: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """The nearest centre of each column of ``X_T`` (the first on a tie), from ``||c||^2 - 2 x.c``.

    ``X_T`` is the data transposed and contiguous (with a transposed view OpenBLAS took 15 ms a
    product instead of 0.05); the (k, rows) distances go to ``scratch``, reused by every step
    (fresh arrays of this size cost page faults), and are compared in k passes over the rows, each
    noting where the centre is closer than every earlier one. A row's nearest centre is the last
    one noted: the largest ``c`` of the centres noted, one multiply and one reduction over small
    integers (a masked store per centre cost more than both). The labels are the smallest unsigned
    integers that hold ``k - 1``.
    """
    k, n = len(centers), X_T.shape[1]
    distances = scratch[:k]
    np.matmul(centers * -2.0, X_T, out=distances)  # = -2 (c.x) to the bit: scaling by 2 is exact
    distances += _squared_norms(centers)[:, None]
    kind = np.min_scalar_type(k - 1)
    if k == 1:
        return np.zeros(n, dtype=kind)
    closer = np.empty((k - 1, n), dtype=bool)
    best = distances[0]
    for cluster in range(1, k):
        np.less(distances[cluster], best, out=closer[cluster - 1])
        np.minimum(best, distances[cluster], out=best)
    noted = np.multiply(closer, np.arange(1, k, dtype=kind)[:, None], dtype=kind)
    return noted.max(axis=0)


def _sequential_sum(values: np.ndarray) -> float:
    """Left-to-right sum (the order a single-threaded loop adds in)."""
    return float(np.cumsum(values)[-1]) if len(values) else 0.0


def _squared_distance_to(X: np.ndarray, centers: np.ndarray, labels: np.ndarray) -> np.ndarray:
    difference = X - centers[labels]
    total = difference[:, 0] * difference[:, 0]
    for j in range(1, X.shape[1]):
        total = total + difference[:, j] * difference[:, j]
    return total


def _with_ones(X_T: np.ndarray) -> np.ndarray:
    """``X_T`` with a row of ones under it (:func:`_lloyd_step` counts each cluster's rows with them)."""
    X_T_one = np.ones((len(X_T) + 1, X_T.shape[1]))
    X_T_one[:-1] = X_T
    return X_T_one


def _lloyd_step(
    X: np.ndarray, X_T: np.ndarray, centers: np.ndarray, scratch: np.ndarray, X_T_one: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels, new centres, shift of each centre): one assignment and one mean update.

    ``X_T_one`` is ``X_T`` with a row of ones under it: one weighted ``bincount`` of its cells, cell
    (j, i) in bin ``j k + label_i``, gives every cluster's sums and size, each bin added in row order
    as a ``bincount`` per feature adds it (the same bits)."""
    k, n_features = centers.shape
    X_T_one = _with_ones(X_T) if X_T_one is None else X_T_one
    labels = _nearest(X_T, centers, scratch)
    bins = np.add(labels, np.arange(0, k * (n_features + 1), k)[:, None], dtype=np.intp)
    totals = np.bincount(bins.ravel(), weights=X_T_one.ravel(), minlength=k * (n_features + 1))
    weight = totals[k * n_features :]
    sums = totals[: k * n_features].reshape(n_features, k).T.copy()
    empty = np.flatnonzero(weight == 0)
    if len(empty):
        # a centre left without points takes the points farthest from their centres
        distances = ((X - centers[labels]) ** 2).sum(axis=1)
        far = np.argpartition(distances, -len(empty))[: -len(empty) - 1 : -1]
        if np.max(distances) != 0:
            for cluster, point in zip(empty, far, strict=True):
                sums[labels[point]] -= X[point]
                sums[cluster] = X[point]
                weight[cluster] = 1.0
                weight[labels[point]] -= 1.0
    moved = sums
    if weight.all():
        moved *= (1.0 / weight)[:, None]
    else:
        biggest = np.argmax(weight)
        for cluster in range(k):  # in order: an empty cluster copies the biggest one, averaged or not yet
            if weight[cluster] > 0:
                moved[cluster] *= 1.0 / weight[cluster]
            else:
                moved[cluster] = moved[biggest]
    shift = np.sqrt(_squared_distance_to(moved, centers, np.arange(k)))
    return labels, moved, shift


def _kmeans_single(
    X: np.ndarray, X_T: np.ndarray, X_T_one: np.ndarray, centers: np.ndarray, tolerance: float, max_iter: int
) -> tuple[np.ndarray, np.ndarray, float]:
    scratch = np.empty((len(centers), len(X)))
    labels_old = None
    converged = False
    for _ in range(max_iter):
        labels, centers, shift = _lloyd_step(X, X_T, centers, scratch, X_T_one)
        if labels_old is not None and np.array_equal(labels, labels_old):
            converged = True
            break
        if (shift**2).sum() <= tolerance:
            break
        labels_old = labels
    if not converged:
        labels = _nearest(X_T, centers, scratch)
    labels = labels.astype(np.intp)
    return labels, centers, _sequential_sum(_squared_distance_to(X, centers, labels))


def _same_clustering(labels: np.ndarray, other: np.ndarray) -> bool:
    """True when each cluster of ``labels`` maps to a single cluster of ``other``."""
    pairs = labels.astype(np.int64) * (int(other.max()) + 1) + other
    return len(distinct(pairs)) == len(distinct(labels))


def kmeans(
    X: np.ndarray, k: int, *, n_init: int = 10, seed: int = 0, max_iter: int = 300, tol: float = 1e-4
) -> tuple[np.ndarray, np.ndarray, float]:
    """(labels, centres, inertia) of Lloyd's k-means with k-means++ starts, best of ``n_init``.

    The same clusters as ``sklearn.cluster.KMeans(k, n_init=n_init, random_state=seed)`` on
    single-threaded scikit-learn (Arthur & Vassilvitskii 2007; Lloyd 1982).
    """
    X = np.array(X, dtype=float, order="C")  # a copy: centred below
    tolerance = float(np.mean(np.var(X, axis=0)) * tol) if tol else 0.0
    random = np.random.RandomState(seed)
    mean = X.mean(axis=0)
    X -= mean
    x_squared_norms = _squared_norms(X)
    X_T = np.ascontiguousarray(X.T)
    X_T_one = _with_ones(X_T)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(n_init):
        start = _kmeans_plusplus(X, k, x_squared_norms, random)
        labels, centers, inertia = _kmeans_single(X, X_T, X_T_one, start, tolerance, max_iter)
        if best is None or (inertia < best[2] and not _same_clustering(labels, best[0])):
            best = (labels, centers, inertia)
    labels, centers, inertia = best  # type: ignore[misc]
    return labels.astype(np.int32), centers + mean, inertia


def _row_blocks(n: int) -> list[tuple[int, int]]:
    """(start, stop) of the row blocks of :func:`silhouette_scores`: each ``_CHUNK_ROWS`` chunk in blocks of
    ``_BLOCK_ROWS``. A chunk's 2.5M distances (5,000 points) went through memory six times; a block's
    stay in the cache. OpenBLAS gives a product's row the same bits in any block of two rows or more
    whose parity puts it in the same place (an odd block's last row takes another kernel), checked
    over 900 shapes: the blocks are even but for a chunk's last, which ends where the chunk does, and
    a one-row remainder stays with the block before it (a one-row product is a matrix-vector call)."""
    blocks = []
    for chunk in range(0, n, _CHUNK_ROWS):
        end = min(chunk + _CHUNK_ROWS, n)
        cuts = [*range(chunk, end, _BLOCK_ROWS), end]
        if len(cuts) > 2 and cuts[-1] - cuts[-2] == 1:
            del cuts[-2]
        blocks += zip(cuts[:-1], cuts[1:])
    return blocks


def silhouette_scores(X: np.ndarray, labelings: dict[int, np.ndarray]) -> dict[int, float]:
    """Mean silhouette of each labeling of the rows of ``X`` (Euclidean), from one pass over the distances.

    A point's silhouette is ``(b - a) / max(a, b)``: ``a`` its mean distance to the rest of its own
    cluster, ``b`` the smallest mean distance to another cluster; 0 for a point alone in its cluster
    (Rousseeuw 1987). Each labeling needs at least two clusters. The distance matrix is read in row
    blocks and summed per cluster of every labeling at once (a matrix product with their indicators).
    """
    X = np.asarray(X, dtype=float)
    n = len(X)
    keys = list(labelings)
    codes, sizes, offsets = [], [], [0]
    for key in keys:
        found, code = np.unique(np.asarray(labelings[key]), return_inverse=True)
        if len(found) < 2:
            raise ValueError(f"labeling {key!r} has {len(found)} cluster(s); a silhouette needs at least 2")
        codes.append(code)
        sizes.append(np.bincount(code).astype(float))
        offsets.append(offsets[-1] + len(found))
    indicator = np.zeros((n, offsets[-1]))
    for code, offset in zip(codes, offsets, strict=False):
        indicator[np.arange(n), offset + code] = 1.0
    x_squared_norms = _squared_norms(X)
    totals = np.empty((n, offsets[-1]))
    scratch = np.empty((_BLOCK_ROWS + 1, n))  # one block's distances, reused: they stay in the cache
    for start, stop in _row_blocks(n):
        distances = scratch[: stop - start]
        np.matmul(X[start:stop] * -2.0, X.T, out=distances)  # _squared_distances, in place
        distances += _squared_norms(X[start:stop])[:, None]
        distances += x_squared_norms[None, :]
        np.maximum(distances, 0, out=distances)
        np.sqrt(distances, out=distances)
        distances[np.arange(stop - start), np.arange(start, stop)] = 0.0
        np.matmul(distances, indicator, out=totals[start:stop])
    scores: dict[int, float] = {}
    rows = np.arange(n)
    for key, code, size, offset in zip(keys, codes, sizes, offsets, strict=False):
        per_cluster = totals[:, offset : offset + len(size)]
        own = per_cluster[rows, code]
        others = per_cluster / size
        others[rows, code] = np.inf
        nearest_other = others.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            within = own / (size[code] - 1)
            silhouette = (nearest_other - within) / np.maximum(within, nearest_other)
        scores[key] = float(np.mean(np.nan_to_num(silhouette)))
    return scores
