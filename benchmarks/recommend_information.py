"""Session 8: how much the signals can say at all -- a diagnostic, not a method.

    python -m benchmarks.recommend_information [--datasets retail,affinity,groceries] [--splits 3]

Session 4 fitted a logistic blend on the held-out months themselves (in-sample) and found it no better
than the blend fitted on the inner split: a *linear* ceiling of the signals. Here the question is
asked of any function and of the session-8 signals: models are fitted on the held-out months' own
labels, cross-fitted by customer (two folds: fitted on half the evaluated customers, scored on the
other half, and the other way round), so the months after the split are no longer a fair test --
this measures what the features *contain* when the model is trained on the very period it
predicts (no drift between fit and use), which bounds what any learned ranking of them can reach.

Rows: the shipped blend (fitted on the inner split, as shipped); logistic on the shipped features,
cross-fitted; gradient-boosted trees on the shipped features, cross-fitted; the same trees with the
session-8 signals added (co-occurrence: ``benchmarks.recommend_cooccur``; MBG/NBD repertoire
probabilities: ``benchmarks.recommend_item_btyd``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.recommend_cooccur import cooccurrence
from benchmarks.recommend_item_btyd import model_signals
from benchmarks.recommend_lab import blend, frames, lab_arguments
from benchmarks.recommend_signals import per_customer, run

TOP = 10
FOLDS = 2


def cross_fitted(frame: pd.DataFrame, features: list[str], kind: str) -> np.ndarray:
    """Scores of every row from a model fitted on the other customer fold (labels of the same months)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    customers = np.sort(frame["customer_id"].unique())
    fold_of = pd.Series(np.random.default_rng(0).permutation(len(customers)) % FOLDS, index=customers)
    folds = frame["customer_id"].map(fold_of).to_numpy()
    x, y = frame[features].to_numpy(dtype=float), frame["label"].to_numpy()
    out = np.zeros(len(frame))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        if kind == "trees":
            model = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=300, max_leaf_nodes=15,
                                                   min_samples_leaf=50, l2_regularization=1.0, random_state=0)  # fmt: skip
            out[test] = model.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
        else:
            scaler = StandardScaler().fit(x[train])
            model = LogisticRegression(C=1.0, max_iter=1000).fit(scaler.transform(x[train]), y[train])
            out[test] = model.decision_function(scaler.transform(x[test]))
    return out


def experiments(name: str, shift: int) -> dict[str, tuple[float, float, float]]:
    from segmint.recommendations.blend import features_for
    from segmint.recommendations.settings import RecommendConfig

    names = features_for(RecommendConfig())
    d = frames(name, shift)
    fit, ev = d["fit"]["frame"], d["eval"]["frame"]
    base = per_customer(d["eval"], ev, blend(fit, ev, names))
    out = {"shipped blend": (base.mean() / TOP, 0.0, 0.0)}
    with_btyd, _ = model_signals(d["eval"], float((d["end"] - d["as_of"]).days))
    richer = with_btyd.assign(**cooccurrence(d["eval"]))
    added = [c for c in richer.columns if c.startswith(("f_mbg", "f_pnbd", "f_cfb", "f_cfu", "f_cfl"))]
    rows = {"logistic, shipped features, cross-fitted on the held-out months": (ev, names, "logistic"),
            "trees, shipped features, cross-fitted on the held-out months": (ev, names, "trees"),
            "trees, + session-8 signals, cross-fitted on the held-out months": (richer, names + added, "trees")}  # fmt: skip
    for label, (frame, features, kind) in rows.items():
        hits = per_customer(d["eval"], frame, cross_fitted(frame, features, kind))
        diff = (hits - base) / TOP
        out[label] = (hits.mean() / TOP, diff.mean(), diff.std(ddof=1) / len(diff) ** 0.5)
    return out


def main() -> None:
    args = lab_arguments(__doc__)
    run(args.datasets, args.splits, experiments)


if __name__ == "__main__":
    main()
