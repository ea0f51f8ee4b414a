"""Value clusters: k-means (or DBSCAN/HDBSCAN) on standardised log features, ordered by value.

Features are log1p-transformed (signed, so net-negative spend stays ordered), recency is negated so
that every transformed feature grows with customer value, then standardised. Clusters are renumbered
so cluster 0 is the least valuable (lowest mean ``order_by`` feature, ``monetary`` by default) and
labelled by count (k=4: Low Value, Below Average, Average, High Value). Density methods mark points
that belong to no cluster as ``-1`` / ``"Outlier"``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import Field, model_validator
from threadpoolctl import threadpool_limits

from segmint import arrays
from segmint.errors import ConfigError, DataError
from segmint.segment._config import SegmentConfig
from segmint.segment.kmeans import kmeans, silhouette_scores

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

OUTLIER = "Outlier"
# Features where a smaller value means a more valuable customer.
LOWER_IS_BETTER = frozenset({"recency_days"})

VALUE_LABELS: dict[int, tuple[str, ...]] = {
    1: ("All Customers",),
    2: ("Low Value", "High Value"),
    3: ("Low Value", "Average", "High Value"),
    4: ("Low Value", "Below Average", "Average", "High Value"),
    5: ("Low Value", "Below Average", "Average", "High Value", "Top Value"),
    6: ("Very Low Value", "Low Value", "Below Average", "Average", "High Value", "Top Value"),
    7: ("Very Low Value", "Low Value", "Below Average", "Average", "Above Average", "High Value",
        "Top Value"),
    8: ("Very Low Value", "Low Value", "Below Average", "Average", "Above Average", "High Value",
        "Very High Value", "Top Value"),
}


def value_labels(k: int) -> tuple[str, ...]:
    """Labels for ``k`` clusters ordered from least to most valuable (preset up to 8, then numbered)."""
    if k in VALUE_LABELS:
        return VALUE_LABELS[k]
    return tuple(f"Value Tier {i + 1}" for i in range(k))


class ClusterConfig(SegmentConfig):
    """Clustering settings; loadable from and savable to YAML."""

    features: list[str] = Field(default_factory=lambda: ["recency_days", "frequency", "monetary"])
    k: int | None = Field(default=None, ge=1)  # None = choose by silhouette within k_range
    k_range: tuple[int, int] = (3, 8)  # two 'value' groups rarely help a campaign
    method: Literal["kmeans", "dbscan", "hdbscan"] = "kmeans"
    seed: int = 0
    silhouette_sample: int = Field(default=5000, ge=50)  # rows k is chosen on (seeded sample)
    order_by: str = "monetary"  # feature whose cluster mean ranks clusters; "score" = mean z-score
    labels: list[str] | None = None  # one label per cluster, least valuable first; None = preset
    eps: float = Field(default=0.5, gt=0)  # DBSCAN neighbourhood radius (standardised units)
    min_samples: int = Field(default=5, ge=1)  # DBSCAN/HDBSCAN density threshold
    min_cluster_size: int = Field(default=15, ge=2)  # HDBSCAN smallest cluster
    # the word a reason names ``monetary`` by: "items" for a log without prices (segmint.units.item_config)
    amount_word: Literal["monetary", "items"] = "monetary"

    @model_validator(mode="after")
    def _consistent(self) -> ClusterConfig:
        if not self.features:
            raise ValueError("features must list at least one column, e.g. [frequency, monetary]")
        low, high = self.k_range
        if not 2 <= low <= high:
            raise ValueError(f"k_range must satisfy 2 <= low <= high, got {self.k_range}")
        if self.order_by != "score" and self.order_by not in self.features:
            raise ValueError(f"order_by {self.order_by!r} must be 'score' or one of {self.features}")
        if self.labels is not None and self.k is not None and len(self.labels) != self.k:
            raise ValueError(f"labels has {len(self.labels)} entries but k is {self.k}")
        return self


def _frame(data: pd.DataFrame | pa.Table | ir.Table) -> pd.DataFrame | pa.Table:
    """A customer table in memory: Arrow for an Ibis table (no pandas on the ``analyze`` path)."""
    return data.to_pyarrow() if isinstance(data, ir.Table) else data


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


def _names(data: pd.DataFrame | pa.Table) -> list[str]:
    return list(data.column_names) if isinstance(data, pa.Table) else [str(c) for c in data.columns]


def _numbers(data: pd.DataFrame | pa.Table, name: str) -> np.ndarray:
    """A column as float64, NaN where missing or not a number (``pd.to_numeric(errors="coerce")``)."""
    if isinstance(data, pa.Table):
        column = data[name]
        kind = column.type
        if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
            return arrays.numbers(column)
        return np.array([_number(value) for value in column.to_pylist()], dtype=float)
    import pandas as pd

    return pd.to_numeric(data[name], errors="coerce").to_numpy(float)


class ValueClusterer:
    """Cluster customers on value features; ``predict`` returns value-ordered cluster numbers.

    Learned attributes: ``k_``, ``mean_``/``scale_`` (standardisation), ``cluster_centers_`` (ordered,
    standardised space; k-means only), ``cluster_means_`` (raw feature means per cluster),
    ``silhouette_scores_`` (k -> score when k was chosen), ``labels_`` (training assignments),
    ``label_names_``.
    """

    def __init__(
        self,
        features: tuple[str, ...] | list[str] = ("recency_days", "frequency", "monetary"),
        *,
        k: int | None = None,
        k_range: tuple[int, int] = (3, 8),
        method: Literal["kmeans", "dbscan", "hdbscan"] = "kmeans",
        seed: int = 0,
        silhouette_sample: int = 5000,
        order_by: str = "monetary",
        labels: list[str] | None = None,
        eps: float = 0.5,
        min_samples: int = 5,
        min_cluster_size: int = 15,
    ) -> None:
        self.features = features
        self.k = k
        self.k_range = k_range
        self.method = method
        self.seed = seed
        self.silhouette_sample = silhouette_sample
        self.order_by = order_by
        self.labels = labels
        self.eps = eps
        self.min_samples = min_samples
        self.min_cluster_size = min_cluster_size

    @classmethod
    def from_config(cls, config: ClusterConfig) -> ValueClusterer:
        """Build an estimator from a :class:`ClusterConfig`."""
        return cls(**config.model_dump(exclude={"amount_word"}))

    # -- input -------------------------------------------------------------------------------------
    def _values(self, data: pd.DataFrame | pa.Table) -> np.ndarray:
        names = _names(data)
        missing = [c for c in self.features if c not in names]
        if missing:
            raise DataError(
                f"cluster features {missing} are not columns of the customer table "
                f"(columns: {', '.join(names)}); change 'features' in the cluster settings"
            )
        values = np.column_stack([_numbers(data, name) for name in self.features]).reshape(-1, len(self.features))
        bad = ~np.isfinite(values)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            ident = (data["customer_id"][int(row)].as_py() if isinstance(data, pa.Table) else data["customer_id"].iloc[row]) \
                if "customer_id" in names else row
            raise DataError(
                f"column {self.features[col]!r} has {int(bad[:, col].sum())} missing or non-numeric "
                f"value(s) (first: customer {ident}); fill them or cluster on other features"
            )
        return values

    def _log_values(self, values: np.ndarray) -> np.ndarray:
        logged = np.sign(values) * np.log1p(np.abs(values))
        for j, name in enumerate(self.features):
            if name in LOWER_IS_BETTER:
                logged[:, j] = -logged[:, j]
        return logged

    def transform(self, data: pd.DataFrame | ir.Table) -> np.ndarray:
        """Standardised log features (higher = more valuable in every column)."""
        self._check_fitted()
        return (self._log_values(self._values(_frame(data))) - self.mean_) / self.scale_

    # -- fitting -----------------------------------------------------------------------------------
    def fit(self, data: pd.DataFrame | ir.Table, y: object = None) -> ValueClusterer:
        """Learn the standardisation, choose k (if not given) and fit the clusters."""
        values = self._values(_frame(data))
        logged = self._log_values(values)
        if len(logged) < 2:
            raise DataError(f"clustering needs at least 2 customers, got {len(logged)}")
        self.mean_ = logged.mean(axis=0)
        scale = logged.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        X = (logged - self.mean_) / self.scale_
        if self.method == "kmeans":
            # a few features on a few thousand rows: one thread is fastest, and BLAS/OpenMP threads
            # spinning against other work on the machine made k-means 5-30x slower
            with threadpool_limits(1):
                raw = self._fit_kmeans(X)
        elif self.method == "dbscan":
            from sklearn.cluster import DBSCAN

            raw = DBSCAN(eps=self.eps, min_samples=self.min_samples).fit_predict(X)
        elif self.method == "hdbscan":
            from sklearn.cluster import HDBSCAN

            raw = HDBSCAN(
                min_cluster_size=self.min_cluster_size, min_samples=self.min_samples, copy=True
            ).fit_predict(X)
        else:
            raise ConfigError(f"unknown cluster method {self.method!r}; use kmeans, dbscan or hdbscan")
        self._order_clusters(values, X, raw)
        if self.method != "kmeans":
            self._X_fit_ = X
        return self

    def _fit_kmeans(self, X: np.ndarray) -> np.ndarray:
        self.silhouette_scores_: dict[int, float] = {}
        if self.k is not None:
            if self.k > (n_distinct := arrays.distinct_rows(X)):
                raise DataError(
                    f"k={self.k} clusters requested but the customers have only {n_distinct} "
                    "distinct feature combinations; lower k"
                )
            return self._kmeans(X, self.k)
        low, high = self.k_range
        # k is chosen on a reproducible sample (fit and silhouette there), then refitted on all rows.
        rng = np.random.default_rng(self.seed)
        sample = X if len(X) <= self.silhouette_sample else X[
            rng.choice(len(X), self.silhouette_sample, replace=False)
        ]
        high = min(high, arrays.distinct_rows(sample), len(sample) - 1)
        if high < low:
            raise DataError(
                f"cannot choose k in {tuple(self.k_range)}: only {len(X)} customers with "
                f"{arrays.distinct_rows(X)} distinct feature combinations; set k explicitly or add data"
            )
        fits = {k: self._kmeans(sample, k) for k in range(low, high + 1)}
        self.silhouette_scores_ = silhouette_scores(sample, fits)  # one pass over the sample's distances
        for k, score in self.silhouette_scores_.items():
            log.debug("k=%d silhouette=%.4f", k, score)
        best = max(self.silhouette_scores_, key=self.silhouette_scores_.__getitem__)
        log.info("chose k=%d by silhouette (%.3f)", best, self.silhouette_scores_[best])
        # no sample (every row was fitted): the refit would repeat the chosen fit exactly (same rows, k, seed)
        return fits[best] if sample is X else self._kmeans(X, best)

    def _kmeans(self, X: np.ndarray, k: int) -> np.ndarray:
        """Cluster of each row: scikit-learn's KMeans(k, n_init=10, random_state=seed), in numpy."""
        return kmeans(X, k, n_init=10, seed=self.seed)[0]

    def _order_clusters(self, values: np.ndarray, X: np.ndarray, raw: np.ndarray) -> None:
        found = sorted(int(c) for c in arrays.distinct(raw) if c >= 0)
        if self.order_by == "score":
            keys = [X[raw == c].mean() for c in found]
        else:
            column = values[:, list(self.features).index(self.order_by)]
            keys = [column[raw == c].mean() for c in found]
        ranked = [c for _, c in sorted(zip(keys, found, strict=True))]
        mapping = {old: new for new, old in enumerate(ranked)}
        self._mapping_ = mapping
        self.k_ = len(found)
        self.labels_ = np.array([mapping.get(int(c), -1) for c in raw], dtype=int)
        self._cluster_means = np.array([values[self.labels_ == c].mean(axis=0) for c in range(self.k_)])
        self.cluster_centers_ = np.array([X[self.labels_ == c].mean(axis=0) for c in range(self.k_)])
        if self.labels is not None and len(self.labels) != self.k_:
            raise ConfigError(
                f"{len(self.labels)} labels given but {self.k_} clusters were found; "
                "give one label per cluster or leave labels empty"
            )
        self.label_names_ = tuple(self.labels) if self.labels is not None else value_labels(self.k_)

    @property
    def cluster_means_(self) -> pd.DataFrame:
        """Raw feature means per cluster (rows: clusters in value order), as a pandas frame."""
        import pandas as pd

        means = pd.DataFrame(self._cluster_means, columns=list(self.features))
        means.index.name = "cluster"
        return means

    # -- prediction --------------------------------------------------------------------------------
    def predict(self, data: pd.DataFrame | ir.Table) -> np.ndarray:
        """Value-ordered cluster of each row (-1 = outlier for density methods)."""
        X = self.transform(data)
        if self.method == "kmeans":
            distances = ((X[:, None, :] - self.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
            return distances.argmin(axis=1)
        # Density methods: take the cluster of the nearest training point (DBSCAN: only within eps).
        from sklearn.neighbors import NearestNeighbors

        nearest = NearestNeighbors(n_neighbors=1).fit(self._X_fit_)
        distance, index = nearest.kneighbors(X)
        assigned = self.labels_[index[:, 0]]
        if self.method == "dbscan":
            assigned = np.where(distance[:, 0] <= self.eps, assigned, -1)
        return assigned

    def fit_predict(self, data: pd.DataFrame | ir.Table, y: object = None) -> np.ndarray:
        """Fit, then return the training rows' clusters."""
        return self.fit(data).labels_

    def label_of(self, clusters: np.ndarray) -> np.ndarray:
        """Value label for each cluster number (``"Outlier"`` for -1)."""
        self._check_fitted()
        names = np.array([*self.label_names_, OUTLIER], dtype=object)
        return names[np.where(np.asarray(clusters) < 0, len(self.label_names_), clusters)]

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError("this ValueClusterer is not fitted yet; call fit() first")


def _thousands(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def _days_ago(days: float) -> str:
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{_thousands(days)} days ago"


def _reasons(columns: dict[str, list], features: list[str], segments: list[str], amount_word: str = "monetary") -> list[str]:
    """One line per customer: the value features behind the cluster, monetary with its top-% rank.

    ``columns`` holds each feature's values (Python numbers, as the table stores them); ``monetary`` is
    named ``amount_word`` ("items 13 (top 29%)" when the amounts count items).
    """
    ordered = [f for f in ("monetary", "frequency", "recency_days") if f in features]
    ordered += [f for f in features if f not in ordered]
    parts: list[list[str]] = []
    for name in ordered:
        values = columns[name]
        if name == "recency_days":
            parts.append(arrays.rendered(values, lambda v: f"last purchase {_days_ago(v)}"))
            continue
        word = amount_word if name == "monetary" else name
        text = arrays.rendered(values, lambda v, word=word: f"{word} {_thousands(v)}")
        if name == "monetary":
            # share of customers spending at least this much, rounded up: "top 8%" (ties share the
            # rank of the last of them, as pandas' rank(method="max", ascending=False))
            spend = np.asarray(values, dtype=float)
            at_least = len(spend) - np.searchsorted(np.sort(spend), spend, side="left")
            top = np.ceil(100 * at_least.astype(float) / len(spend)).clip(min=1).astype(int).tolist()
            text = [f"{t} (top {p}%)" for t, p in zip(text, top, strict=True)]
        parts.append(text)
    return [", ".join(row) + " -> " + segment for *row, segment in zip(*parts, segments, strict=True)]


def assign(features: pd.DataFrame | ir.Table, config: ClusterConfig | None = None) -> ir.Table:
    """Label each customer with its value cluster: feature columns + cluster, segment, order, reason.

    Like every scheme it returns an Ibis table, in the backend of ``features`` (a pandas frame gives
    an in-memory table); an Ibis table is read as Arrow, so the ``analyze`` path needs no pandas.
    """
    config = config or ClusterConfig()
    frame = _frame(features)
    if not isinstance(frame, pa.Table):
        frame = frame.reset_index(drop=True)
    model = ValueClusterer.from_config(config).fit(frame)
    clusters = model.labels_.astype("int64")
    segments = [str(name) for name in model.label_of(model.labels_)]
    values = {name: (frame[name].to_pylist() if isinstance(frame, pa.Table) else frame[name].tolist())
              for name in config.features}  # fmt: skip
    added = {
        "cluster": clusters,
        "segment": segments,
        "segment_order": clusters,  # 0 = least valuable; -1 = outlier (unranked)
        "reason": _reasons(values, config.features, segments, config.amount_word),
    }
    if isinstance(frame, pa.Table):
        for name, column in added.items():
            frame = frame.append_column(name, arrays.column(column))
        out = frame
    else:
        out = frame.copy()
        for name, column in added.items():
            out[name] = column
    log.info("clustered %d customers into %d clusters (%s)", len(clusters), model.k_, config.method)
    if isinstance(features, ir.Table):
        from segmint.engine import arrow_table

        order = ("customer_id",) if "customer_id" in out.column_names else ()  # as analyze stores it
        return arrow_table(features._find_backend(use_default=True), out, order)
    return ibis.memtable(out)
