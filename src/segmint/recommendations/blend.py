"""The learned blend: logistic weights of the signals, fitted on an inner time split, and the choice of
feature set and L2 strength by cross-validated precision@N (see :func:`choose_features`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.recommendations import signals as sig
from segmint.recommendations.settings import SIGNALS, RecommendConfig

# The feature sets the inner split chooses between (by cross-validated precision@N; see choose_features)
COMPACT_FEATURES = ("f_own", "f_log_n", "f_share", "f_rec30", "f_rec180", "f_dec90", "f_cf", "f_seg", "f_pop")
REGULARISED = {"all signals, regularised": 0.1, "all signals, strongly regularised": 0.01}  # label -> C
CV_FOLDS = 3  # customer folds of the inner split
CV_CUSTOMERS = 1500  # customers of the inner split used to choose (the chosen blend is fitted on all)

# Fitted on generated data with segment affinities (benchmarks/recommend.py --fit-default); used
# only when a log is too short for its own inner split.
DEFAULT_BLEND: dict[str, float] = {
    "intercept": -4.6, "f_own": 1.2, "f_log_n": 0.55, "f_share": 1.4, "f_rec30": 0.6, "f_rec180": 0.6,
    "f_dec90": 0.3, "f_cf": 2.0, "f_seg": 0.35, "f_pop": 0.3,
}  # fmt: skip


@dataclass(frozen=True)
class Blend:
    """Logistic weights of the signals: linear = intercept + sum(weight x feature)."""

    weights: dict[str, float]
    intercept: float
    means: dict[str, float]  # typical candidate's feature values (reasons compare against them)
    source: str  # "fitted on ..." or "default"
    fit: dict[str, Any] = field(default_factory=dict)

    def linear(self, table: ir.Table) -> ir.NumericValue:
        """The blend as an engine expression over a candidates table."""
        total = ibis.literal(self.intercept)
        for name, weight in self.weights.items():
            total = total + table[name] * weight
        return total

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description (evaluation.json)."""
        return {"source": self.source, "intercept": round(self.intercept, 4),
                "weights": {k: round(v, 4) for k, v in self.weights.items()}, **self.fit}  # fmt: skip


def features_for(config: RecommendConfig) -> list[str]:
    """Feature columns the blend uses for these settings (own signals are moot with new_only)."""
    names = [f for s in config.signals for f in SIGNALS[s] if not (config.new_only and s == "own")]
    if not names:
        raise ConfigError("with new_only the 'own' signal alone recommends nothing; add another signal")
    return names


def default_blend(config: RecommendConfig) -> Blend:
    """The measured default weights restricted to the features in use."""
    names = features_for(config)
    means = dict.fromkeys(names, 0.0)
    means.update({"f_seg": math.log(sig.SMOOTH), "f_pop": math.log(sig.SMOOTH)})
    return Blend({n: DEFAULT_BLEND.get(n, 0.0) for n in names}, DEFAULT_BLEND["intercept"],
                 {n: means[n] for n in names}, "default (too little history for an inner time split)")  # fmt: skip


def fit_blend(frame: pd.DataFrame, names: list[str], source: str, strength: float = 1.0) -> Blend:
    """Logistic regression of 'bought in the next window' on the features (standardised, L2).

    ``strength`` is the inverse of the L2 penalty (scikit-learn's ``C``): smaller shrinks the
    weights more (chosen by cross-validation with the feature set, see :func:`feature_sets`).

    Newton's method (a few Cholesky solves of a features x features system) converges to the
    optimum in ~5 iterations where L-BFGS took ~60 and stopped short on correlated features.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x = frame[names].to_numpy(dtype="float64")
    y = frame["label"].to_numpy(dtype="int8")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    with threadpool_limits(1):  # a features x features system: BLAS threads only contend on a busy machine
        model = LogisticRegression(C=strength, solver="newton-cholesky", max_iter=100).fit((x - mean) / std, y)
    weights = model.coef_[0] / std
    intercept = float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())
    return Blend(dict(zip(names, map(float, weights), strict=True)), intercept,
                 dict(zip(names, map(float, mean), strict=True)), source)  # fmt: skip


def feature_sets(names: list[str]) -> dict[str, tuple[list[str], float]]:
    """The candidate blends, label -> (features, strength): every signal (with three L2 penalties),
    the compact set, and popularity alone (when in use). Richer, less penalised blends come first."""
    sets = {"all signals": (list(names), 1.0)}
    if len(names) > 1:
        sets.update({label: (list(names), strength) for label, strength in REGULARISED.items()})
    compact = [n for n in names if n in COMPACT_FEATURES]
    if compact and len(compact) < len(names):
        sets["compact signals"] = (compact, 1.0)
    if "f_pop" in names and len(names) > 1:
        sets["popularity"] = (["f_pop"], 1.0)
    return sets


def customer_hits_at(frame: pd.DataFrame, linear: Any, top: int) -> pd.Series:
    """Hits in each customer's ``top`` by ``linear``, per customer with a positive (a labelled frame)."""
    ranked = frame.assign(_linear=linear).sort_values(
        ["customer_id", "_linear", "share_all", "product"], ascending=[True, False, False, True]
    )
    hits = ranked.groupby("customer_id", sort=False).head(top).groupby("customer_id")["label"].sum()
    return hits[frame.loc[frame["label"] > 0, "customer_id"].unique()]


def hits_at(frame: pd.DataFrame, linear: Any, top: int) -> tuple[int, int]:
    """(hits in each customer's ``top`` by ``linear``, customers with a positive) of a labelled frame."""
    hits = customer_hits_at(frame, linear, top)
    return int(hits.sum()), len(hits)


def choose_features(frame: pd.DataFrame, names: list[str], top: int) -> tuple[str, dict[str, float]]:
    """The feature set (and L2 penalty) whose blend ranks best for customers it was not fitted on.

    Customers of the inner split (up to CV_CUSTOMERS) are dealt into CV_FOLDS folds; each set's
    blend is fitted on the other folds and scored by precision@``top`` on the held-out fold.
    Returns the chosen set's name and every set's cross-validated precision (ties keep the
    earlier, richer set). Popularity alone is kept unless the best blend beats it by more than one
    standard error of the paired per-customer difference (the one-standard-error rule): where
    personal signals add nothing measurable (a basket log like groceries), a blend that won the
    cross-validation by noise lost to popularity on the months after.
    """
    import numpy as np

    sets = feature_sets(names)
    customers = np.sort(frame["customer_id"].unique())
    customers = np.random.default_rng(0).permutation(customers)[:CV_CUSTOMERS]
    fold_of = pd.Series(np.arange(len(customers)) % CV_FOLDS, index=customers)
    part = frame[frame["customer_id"].isin(customers)]
    folds = part["customer_id"].map(fold_of).to_numpy()
    scores: dict[str, float] = {}
    per_customer: dict[str, pd.Series] = {}
    for label, (features, strength) in sets.items():
        found = []
        for k in range(CV_FOLDS):
            train, test = part[folds != k], part[folds == k]
            if train["label"].nunique() < 2 or test.empty:
                continue
            blend = fit_blend(train, features, "", strength)
            linear = test[features].to_numpy(dtype="float64") @ np.array([blend.weights[f] for f in features])
            found.append(customer_hits_at(test, linear, top))
        per_customer[label] = pd.concat(found) if found else pd.Series(dtype="float64")
        evaluated = len(per_customer[label])
        scores[label] = round(per_customer[label].sum() / (top * evaluated), 4) if evaluated else 0.0
    best = max(scores, key=lambda name: scores[name])
    if best != "popularity" and "popularity" in per_customer and len(per_customer[best]) > 1:
        difference = (per_customer[best] - per_customer["popularity"].reindex(per_customer[best].index)) / top
        if difference.mean() <= difference.std(ddof=1) / len(difference) ** 0.5:
            best = "popularity"
    return best, scores

