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
from benchmarks.recommend_lab import blend, frames
from benchmarks.recommend_signals import lab_main, paired, per_customer, shipped_features

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
    names = shipped_features()
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
        out[label] = paired(per_customer(d["eval"], frame, cross_fitted(frame, features, kind)), base)
    return out


def popularity_bump(name: str = "groceries", splits: int = 3) -> None:
    """Popularity + beta x one own feature, beta and the feature chosen on the inner split (printed per split)."""
    grid = [(f, b) for f in ("f_own", "f_log_n", "f_dec90", "f_dec365", "f_rec180") for b in (0.05, 0.1, 0.2, 0.4)]
    for shift in range(splits):
        d = frames(name, shift)
        scores = {}
        for part in ("fit", "eval"):
            frame = d[part]["frame"]
            pop = frame["f_pop"].to_numpy()
            scores[part] = {(f, b): per_customer(d[part], frame, pop + b * frame[f].to_numpy()).mean() / TOP
                            for f, b in grid}  # fmt: skip
            scores[part]["popularity"] = per_customer(d[part], frame, pop).mean() / TOP
        chosen = max(scores["fit"], key=lambda k: scores["fit"][k])
        best = max(scores["eval"], key=lambda k: scores["eval"][k])
        print(f"{name} split {shift}: popularity {scores['eval']['popularity']:.4f}; chosen on the inner split "
              f"{chosen} {scores['eval'][chosen]:.4f}; best on the held-out months {best} {scores['eval'][best]:.4f}")


if __name__ == "__main__":
    lab_main(__doc__, experiments)
