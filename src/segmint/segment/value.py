"""The value story: profit x frequency clusters per customer -> High Value / Average / Below Average / Low Value.

The recipe of the seed notebook, made exact and repeatable:

1. Per customer: ``profit`` (amount - cost) and ``frequency``. When the data have no cost, profit is
   unknown and revenue (``monetary``) is used instead, with a note saying so (``basis_note``).
2. Each axis is clustered on its own: k-means with ``k`` clusters (default 9, as in the seed;
   fewer when the axis has fewer distinct values), or DBSCAN/HDBSCAN (outlier-robust: a point no
   cluster takes joins the cluster of its nearest clustered neighbour and is flagged), or quantile
   cut-offs (``1 + floor(k * below / n)``, ``below`` = customers with a strictly smaller value).
3. Clusters are renumbered by their mean value (``order_cluster``): 0 = lowest profit / fewest
   purchases. The rank is scaled to 0..1 (``rank / (clusters - 1)``; 0 when only one cluster).
4. ``overall_score`` = the mean of the two scaled ranks. Labels from ``cutoffs`` (default 0.75 /
   0.5 / 0.25): >= 0.75 High Value, >= 0.5 Average, >= 0.25 Below Average, else Low Value. The same
   cut-offs on each scaled rank give the ``profit_segment`` and ``frequency_segment`` columns.

The amount axis' columns and the scheme's title are named for what it ranked (:func:`amount_name`):
``profit_cluster``, ``profit_segment``, ... with a cost for every customer, else ``revenue_*`` (``items_*``
when the amounts count items), and "Value story (revenue x frequency)" (:func:`title_for`).

Clustering runs on the raw values, as the seed does (so a few big customers take the top clusters),
on the distinct values weighted by how many customers share each one (the same k-means objective as
on every row), with Lloyd's algorithm in one dimension (:func:`kmeans_1d`): k-means++ starts, the best
of ``n_init``, each step a binary search over sorted values, so a million customers take milliseconds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator

from segmint import arrays
from segmint.errors import DataError
from segmint.segment._config import SegmentConfig

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

LABELS = ("Low Value", "Below Average", "Average", "High Value")  # least valuable first
# what the amount axis ranked, the prefix of its columns: profit with every cost known, else revenue (items unpriced)
AMOUNT_NAMES = ("profit", "revenue", "items")

__all__ = ["AMOUNT_NAMES", "LABELS", "ValueConfig", "amount_name", "assign", "axis_ranks", "basis_column",
           "distinct_ranks", "kmeans_1d", "label_frame", "order_cluster", "title_for"]


class ValueConfig(SegmentConfig):
    """Clusters per axis, the method, and the score cut-offs between the four labels."""

    k: int = Field(default=9, ge=2, le=50)
    method: Literal["kmeans", "dbscan", "hdbscan", "quantiles"] = "kmeans"
    seed: int = 0
    n_init: int = Field(default=10, ge=1)
    cutoffs: tuple[float, float, float] = (0.25, 0.5, 0.75)  # Below Average, Average, High Value
    eps: float = Field(default=0.5, gt=0)  # DBSCAN radius, in standard deviations of the axis
    min_samples: int = Field(default=5, ge=1)
    min_cluster_size: int = Field(default=15, ge=2)
    # the word a reason names the net amount by when there is no cost: "items" for a log without prices
    amount_word: Literal["revenue", "items"] = "revenue"

    @model_validator(mode="after")
    def _ordered(self) -> ValueConfig:
        low, mid, high = self.cutoffs
        if not 0 < low < mid < high <= 1:
            raise ValueError(f"cutoffs must rise within (0, 1], got {list(self.cutoffs)}")
        return self


def basis_column(features: pd.DataFrame | pa.Table) -> tuple[str, str]:
    """(column, note): ``profit`` when every customer's cost is known, else ``monetary`` and why."""
    rows = features.num_rows if isinstance(features, pa.Table) else len(features)
    names = features.column_names if isinstance(features, pa.Table) else features.columns
    if "profit" in names:
        profit = features["profit"]
        if isinstance(features, pa.Table):  # missing: NULL or NaN, as pandas counts it
            missing = int(np.isnan(arrays.numbers(profit)).sum())
        else:
            missing = int(profit.isna().sum())
    else:
        missing = rows
    if "profit" in names and rows and not missing:
        return "profit", ""
    return "monetary", (
        f"no cost for {missing:,} of {rows:,} customers: the value story uses revenue "
        "(net spend) where profit (amount - cost) would be"
    )


def amount_name(on_profit: bool, config: ValueConfig) -> str:
    """What the amount axis ranked, as its columns and title name it: ``profit``, else ``config.amount_word``
    (revenue, or items for a log without prices)."""
    return "profit" if on_profit else config.amount_word


def title_for(columns: list[str]) -> str:
    """The scheme's title for a labelled table with ``columns``: the registered one
    (:data:`segmint.segment.VALUE_TITLE`) naming what it ranked, "Value story (revenue x frequency)"."""
    from segmint.segment import VALUE_TITLE

    name = next((n for n in AMOUNT_NAMES if f"{n}_segment" in columns), AMOUNT_NAMES[0])
    return VALUE_TITLE.format(amount=name)


def order_cluster(values: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """Renumber cluster ids by the mean of ``values`` in each (0 = lowest mean), as the seed does."""
    found = arrays.distinct(clusters)
    means = np.array([values[clusters == c].mean() for c in found])
    rank = np.empty(len(found), dtype=int)
    rank[np.argsort(means, kind="stable")] = np.arange(len(found))
    return rank[np.searchsorted(found, clusters)]


def kmeans_1d(
    values: np.ndarray, weights: np.ndarray, k: int, *, n_init: int = 10, seed: int = 0, max_iter: int = 300
) -> tuple[np.ndarray, float]:
    """(cluster per value, inertia): weighted k-means (Lloyd's algorithm, k-means++ starts) in 1-D.

    ``values`` must be sorted and distinct (``np.unique``), ``weights`` their counts. In one
    dimension a cluster is a run of consecutive values, so each Lloyd step is a ``searchsorted`` of
    the midpoints between centres plus prefix sums: O(k log n) instead of O(k n). Clusters come out
    numbered by their centre, lowest first; the best of ``n_init`` starts (least inertia) wins.
    """
    rng = np.random.default_rng(seed)
    w = np.asarray(weights, dtype=float)
    x = np.asarray(values, dtype=float)
    sum_w = np.concatenate([[0.0], np.cumsum(w)])
    sum_wx = np.concatenate([[0.0], np.cumsum(w * x)])
    sum_wxx = np.concatenate([[0.0], np.cumsum(w * x * x)])

    def cuts(centres: np.ndarray) -> np.ndarray:
        return np.concatenate([[0], np.searchsorted(x, (centres[:-1] + centres[1:]) / 2, side="right"), [len(x)]])

    tolerance = 1e-12 * (1 + np.abs(x).max())  # how far a centre may move and count as settled
    first_odds = w / w.sum()

    best: tuple[float, np.ndarray] | None = None
    for _ in range(n_init):
        # k-means++: the first centre by weight, each next one by weight x squared distance
        centres = [x[rng.choice(len(x), p=first_odds)]]
        distance = (x - centres[0]) ** 2
        for _ in range(1, k):
            mass = w * distance
            pick = rng.choice(len(x), p=mass / mass.sum()) if mass.sum() > 0 else rng.integers(len(x))
            centres.append(x[pick])
            distance = np.minimum(distance, (x - x[pick]) ** 2)
        centres = arrays.distinct(centres)
        for _ in range(max_iter):
            edges = cuts(centres)
            weight = sum_w[edges[1:]] - sum_w[edges[:-1]]
            total = sum_wx[edges[1:]] - sum_wx[edges[:-1]]
            moved = np.where(weight > 0, total / np.where(weight > 0, weight, 1), centres)
            moved = arrays.distinct(moved)  # a centre left without values merges away
            # ``np.allclose(moved, centres, rtol=0, atol=tolerance)``, without its checks and broadcasting
            if len(moved) == len(centres) and ((np.abs(moved - centres) <= tolerance) | (moved == centres)).all():
                centres = moved
                break
            centres = moved
        edges = cuts(centres)
        weight = sum_w[edges[1:]] - sum_w[edges[:-1]]
        total = sum_wx[edges[1:]] - sum_wx[edges[:-1]]
        squares = sum_wxx[edges[1:]] - sum_wxx[edges[:-1]]
        inertia = float(np.sum(squares - np.where(weight > 0, total**2 / np.where(weight > 0, weight, 1), 0)))
        if best is None or inertia < best[0] - 1e-9 * abs(best[0]):
            best = (inertia, edges)
    inertia, edges = best  # type: ignore[misc]
    labels = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
    _, labels = np.unique(labels, return_inverse=True)  # drop empty clusters from the numbering
    return labels, inertia


def _density(values: np.ndarray, config: ValueConfig) -> tuple[np.ndarray, np.ndarray]:
    """(cluster per row, outlier flag): DBSCAN/HDBSCAN on standardised values, noise -> nearest cluster."""
    from sklearn.cluster import DBSCAN, HDBSCAN

    scale = values.std() or 1.0
    X = ((values - values.mean()) / scale).reshape(-1, 1)
    if config.method == "dbscan":
        raw = DBSCAN(eps=config.eps, min_samples=config.min_samples).fit_predict(X)
    else:
        raw = HDBSCAN(min_cluster_size=config.min_cluster_size, min_samples=config.min_samples,
                      copy=True).fit_predict(X)
    noise = raw < 0
    if noise.all():
        return np.zeros(len(values), dtype=int), noise
    if noise.any():  # 1-D: the nearest clustered value decides
        kept = np.flatnonzero(~noise)
        order = kept[np.argsort(values[kept], kind="stable")]
        sorted_values = values[order]
        pos = np.clip(np.searchsorted(sorted_values, values[noise]), 1, len(order) - 1)
        left, right = sorted_values[pos - 1], sorted_values[pos]
        nearest = np.where(values[noise] - left <= right - values[noise], order[pos - 1], order[pos])
        if len(order) == 1:
            nearest = np.full(int(noise.sum()), order[0])
        raw = raw.copy()
        raw[noise] = raw[nearest]
    return raw, noise


def axis_ranks(values: np.ndarray, config: ValueConfig) -> tuple[np.ndarray, int, np.ndarray]:
    """(value-ordered cluster per row, number of clusters, outlier flag) for one axis."""
    values = np.asarray(values, dtype=float)
    outlier = np.zeros(len(values), dtype=bool)
    if len(values) == 0:
        return np.zeros(0, dtype=int), 0, outlier
    if config.method in ("dbscan", "hdbscan"):
        raw, outlier = _density(values, config)
        ranks = order_cluster(values, raw)
        return ranks, int(ranks.max()) + 1, outlier
    distinct, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ranks, found = distinct_ranks(distinct, counts, config)
    return ranks[inverse], found, outlier


def distinct_ranks(distinct: np.ndarray, counts: np.ndarray, config: ValueConfig) -> tuple[np.ndarray, int]:
    """(value-ordered cluster per distinct value, clusters) from sorted distinct values and their counts.

    What :func:`axis_ranks` does for k-means and quantiles, which need only the distinct values and
    how many customers share each: the story counts them in the engine and labels every
    customer-period from this small result (density methods need every row).
    """
    if config.method == "quantiles":
        below = np.cumsum(counts) - counts  # customers with a strictly smaller value
        bucket = (config.k * below) // int(np.sum(counts))
        return order_cluster(distinct, bucket), len(arrays.distinct(bucket))
    k = min(config.k, len(distinct))
    if k == 1:
        return np.zeros(len(distinct), dtype=int), 1
    raw, _ = kmeans_1d(distinct, np.asarray(counts).astype(float), k, n_init=config.n_init, seed=config.seed)
    ranks = order_cluster(distinct, raw)  # weighted means order like unweighted ones in 1-D
    return ranks, len(arrays.distinct(ranks))


def _scaled(ranks: np.ndarray, clusters: int) -> np.ndarray:
    """Cluster ranks scaled to 0..1; one cluster (one customer, or all alike) ranks no one: the middle, 0.5.

    Scored 0, a lone customer was "Low Value" on no evidence."""
    return ranks / (clusters - 1) if clusters > 1 else np.full(len(ranks), 0.5)


def _label(score: np.ndarray, cutoffs: tuple[float, float, float]) -> np.ndarray:
    order = np.searchsorted(np.asarray(cutoffs) - 1e-12, score, side="right")
    return order


def _amount(value: float, items: bool = False) -> str:
    """Money to the cent under 100; items as counted ("13", "2.5"), not as money ("13.00")."""
    if items:
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def assign(features: pd.DataFrame | ir.Table, config: ValueConfig | None = None) -> ir.Table:
    """Features plus per-axis clusters and scores, the two axis segments, ``segment``, order and reason.

    Like every scheme it returns an Ibis table, in the backend of ``features`` (a pandas frame
    gives an in-memory table); an Ibis table is read as Arrow, so the ``analyze`` path needs no pandas.
    """
    if not isinstance(features, ir.Table):
        return ibis.memtable(label_frame(features, config))
    from segmint.engine import arrow_table

    table = features.to_pyarrow()
    if table.num_rows == 0:
        raise DataError("no customers to place in the value story")
    labelled = table
    for name, column in _label_columns(table, table["frequency"].to_pylist(), config or ValueConfig()).items():
        labelled = labelled.append_column(name, arrays.column(column))
    order = ("customer_id",) if "customer_id" in labelled.column_names else ()  # as analyze stores it
    return arrow_table(features._find_backend(use_default=True), labelled, order)


def label_frame(features: pd.DataFrame, config: ValueConfig | None = None, *, named: str | None = None) -> pd.DataFrame:
    """:func:`assign` on a pandas frame, returning pandas (the story calls it once per period).

    ``named``: the amount axis' name in the columns (a story names every period alike); by default what
    ``features`` ranked (:func:`amount_name`)."""
    frame = features.copy().reset_index(drop=True)
    if frame.empty:
        raise DataError("no customers to place in the value story")
    for name, column in _label_columns(frame, frame["frequency"].tolist(), config or ValueConfig(), named).items():
        frame[name] = column
    return frame


def _label_columns(
    features: pd.DataFrame | pa.Table, frequency: list, config: ValueConfig, named: str | None = None
) -> dict[str, object]:
    """The value story's columns for ``features`` (pandas or Arrow), in order; ``frequency`` as listed."""
    basis, note = basis_column(features)
    if note:
        log.info(note)
    shown = amount_name(basis == "profit", config)  # what was ranked: profit, revenue or items
    prefix = named or shown
    out: dict[str, object] = {}
    scores = {}
    values = {}
    for axis, name, column in (("amount", prefix, basis), ("frequency", "frequency", "frequency")):
        values[axis] = _floats(features, column)
        ranks, clusters, outlier = axis_ranks(values[axis], config)
        out[f"{name}_cluster"] = ranks
        out[f"{name}_clusters"] = np.full(len(ranks), clusters, dtype="int64")
        scores[axis] = _scaled(ranks, clusters)
        out[f"{name}_score"] = np.round(scores[axis], 4)
        if config.method in ("dbscan", "hdbscan"):
            out[f"{name}_outlier"] = outlier
    overall = np.round((scores["amount"] + scores["frequency"]) / 2, 4)
    out["overall_score"] = overall
    names = np.array(LABELS, dtype=object)
    out[f"{prefix}_segment"] = names[_label(scores["amount"], config.cutoffs)]
    out["frequency_segment"] = names[_label(scores["frequency"], config.cutoffs)]
    order = _label((scores["amount"] + scores["frequency"]) / 2, config.cutoffs)
    out["segment"] = names[order]
    out["segment_order"] = order.astype("int64")
    out["value_basis"] = [shown] * len(order)
    items = shown == "items"
    amounts = arrays.rendered(values["amount"].tolist(), lambda amount: _amount(amount, items))  # type: ignore[arg-type]
    rows = zip(amounts, out[f"{prefix}_cluster"].tolist(), out[f"{prefix}_clusters"].tolist(), frequency,
               out["frequency_cluster"].tolist(), out["frequency_clusters"].tolist(), overall.tolist(),
               out["segment"].tolist(), strict=True)  # fmt: skip
    out["reason"] = [
        f"{shown} {amount} (cluster {pc + 1} of {pcs}), frequency {visits} (cluster {fc + 1} of {fcs}): "
        f"score {score:.2f} -> {segment}"
        for amount, pc, pcs, visits, fc, fcs, score, segment in rows
    ]
    log.info("value story: %d customers, %s basis, method %s", len(order), shown, config.method)
    return out


def _floats(features: pd.DataFrame | pa.Table, column: str) -> np.ndarray:
    if isinstance(features, pa.Table):
        return arrays.numbers(features[column])
    import pandas as pd

    return pd.to_numeric(features[column]).to_numpy(float)
