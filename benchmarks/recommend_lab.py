"""Offline experiments on recommendation candidates: what was tried against the blend, reproducibly.

    python -m benchmarks.recommend_lab [--datasets retail,retail_4300,affinity,groceries,demo] [--splits 3]

For each dataset and rolling split (the last 2 months held out, then each a month earlier) this builds
the pipeline's own candidates with every signal twice -- on the inner split (signals as of 2 months
before the split, labels = the 2 months up to it: what the blend is fitted and chosen on) and on the
split itself (labels = the 2 held-out months: what is scored) -- caches them in benchmarks/data/lab/,
and prints precision@10 of the baselines, the shipped blend, and the alternatives tried in session 4
(benchmarks/RESULTS.md, *Recommendations*): Bhagat et al. 2018's Poisson-Gamma repeat rate and
time-since-last-purchase hazard (as blend features and as scorers), TIFU-KNN (Hu et al. 2020) as the
scorer with its decays tuned on the inner split, gradient-boosted trees, and fitting on pooled inner
windows. Every choice is made on the inner split; the held-out months only score.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import pickle
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.recommend import DATA, GROCERIES, affinity_file, demo_file, retail_file

CACHE = DATA / "lab"
TOP = 10


def dataset(name: str) -> Path:
    return {"retail": lambda: retail_file(), "retail_4300": lambda: retail_file(4300, 4000),
            "affinity": lambda: affinity_file(2000, 500, 10.0), "affinity_25k": lambda: affinity_file(25_000, 4_000, 13.0),
            "groceries": lambda: GROCERIES, "demo": demo_file}[name]()  # fmt: skip


def frames(name: str, shift: int) -> dict:
    """Candidates with features and labels of the inner split ('fit') and the held-out split ('eval')."""
    import ibis

    import segmint
    from segmint.clean import CleanOptions
    from segmint.recommendations.blend import features_for
    from segmint.recommendations.scoring import build_signals, segments_as_of
    from segmint.recommendations.scratch import materialize
    from segmint.recommendations.settings import RecommendConfig, Window
    from segmint.recommendations import signals as sig

    cached = CACHE / f"{name}_{shift}.pkl"
    if cached.exists():
        return pickle.loads(cached.read_bytes())
    tx = segmint.read_transactions(dataset(name), options=CleanOptions(unpriced="units"))
    con, table, config = tx.con, tx.table, RecommendConfig()
    window = Window.parse(config.window)
    lines = materialize(con, sig.purchase_lines(table))
    end = pd.Timestamp(lines.day.max().execute()).date() + dt.timedelta(days=1)
    for _ in range(shift):
        end = Window.parse("1M").start(end)
    as_of = window.start(end)
    out: dict = {"as_of": as_of, "inner": window.start(as_of), "end": end,
                 "names": sig.product_names(lines).to_pandas()}  # product -> product_name (session 5)
    for label, at, stop in (("fit", out["inner"], as_of), ("eval", as_of, end)):
        history = lines.filter(lines.day < at).select("customer_id").distinct()
        later = lines.filter(lines.day >= at, lines.day < stop)
        eligible = later.select("customer_id").distinct().semi_join(history, "customer_id")
        if label == "fit":
            eligible = eligible.order_by(eligible.customer_id.hash(), "customer_id").limit(config.fit_customers)
        sample = materialize(con, eligible)
        signals = build_signals(con, table, lines, materialize(con, segments_as_of(table, config.scheme, at)),
                                  at, config, only=sample)  # fmt: skip
        bought = later.select("customer_id", "product").distinct().mutate(label=ibis.literal(1, "int8"))
        labelled = signals.candidates.left_join(bought, ["customer_id", "product"])
        before = lines.filter(lines.day < at)
        out[label] = {
            "at": at, "customers": sample.to_pandas()["customer_id"].tolist(),
            "frame": labelled.select("customer_id", "product", "n", "share_all", *features_for(config),
                                     label=labelled.label.fill_null(0)).to_pandas(),  # fmt: skip
            "items": signals.items.semi_join(sample, "customer_id").select(
                "customer_id", "product", "n", "units", "last_day").to_pandas(),
            "relevant": bought.semi_join(sample, "customer_id").select("customer_id", "product").to_pandas(),
            "visits": before.select("customer_id", "product", "day").distinct().to_pandas(),  # everyone's
        }  # fmt: skip
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(pickle.dumps(out))
    return out


def precision(part: dict, score: np.ndarray) -> float:
    """precision@10 over every evaluated customer (a customer without a positive candidate scores 0)."""
    ranked = part["frame"].assign(_s=score).sort_values(["customer_id", "_s", "share_all", "product"],
                                                        ascending=[True, False, False, True])  # fmt: skip
    return ranked.groupby("customer_id", sort=False).head(TOP)["label"].sum() / (TOP * len(part["customers"]))


def own_most_bought(part: dict, order: list[str]) -> float:
    """The baseline with a given tie-break order (columns of the items table, descending)."""
    items = part["items"].sort_values(["customer_id", *order, "product"], ascending=[True, *[False] * len(order), True])
    best = items.groupby("customer_id").head(TOP).merge(part["relevant"].assign(hit=1), how="left")
    return best["hit"].fillna(0).sum() / (TOP * len(part["customers"]))


def blend(fit: pd.DataFrame, ev: pd.DataFrame, names: list[str]) -> np.ndarray:
    """The shipped method: the feature set / L2 strength chosen by cross-validation on the inner split."""
    from segmint.recommendations.blend import choose_features, feature_sets, fit_blend

    chosen, _ = choose_features(fit, names, TOP)
    features, strength = feature_sets(names)[chosen]
    weights = fit_blend(fit, features, "", strength).weights
    return ev[features].to_numpy() @ np.array([weights[f] for f in features])


def buy_it_again(part: dict, window_days: float, prior_days: float = 30.0, shape: int = 2) -> pd.DataFrame:
    """Bhagat et al. 2018 signals per (customer, product): f_pg, f_haz, f_rcp.

    f_pg: Poisson-Gamma posterior repeat rate (the item's pooled repeat rate over all its buyers as the
    prior mean, ``prior_days`` of pseudo-exposure) -> P(at least one purchase in the window);
    f_haz: P(purchase in the window | none since the last one) with Erlang(``shape``) gaps of mean = the
    customer's mean gap shrunk to the item's (3 pseudo-gaps), times the chance they repeat at all;
    f_rcp: log of the item's repeat-customer probability (shrunk to everyone's).
    """
    at = pd.Timestamp(part["at"])
    everyone = part["visits"].assign(day=lambda t: pd.to_datetime(t["day"]))
    per = everyone.groupby(["customer_id", "product"])["day"].agg(["min", "max", "count"]).reset_index()
    per["rep"], per["expo"] = per["count"] - 1, (at - per["min"]).dt.days.clip(lower=1)
    per["span"] = (per["max"] - per["min"]).dt.days
    item = per.groupby("product").agg(buyers=("rep", "size"), repeaters=("rep", lambda s: (s > 0).sum()),
                                      reps=("rep", "sum"), expo=("expo", "sum"), span=("span", "sum"))  # fmt: skip
    rcp0, rate0 = (per["rep"] > 0).mean(), per["rep"].sum() / per["expo"].sum()
    gap0 = per.loc[per.rep > 0, "span"].sum() / max(per.loc[per.rep > 0, "rep"].sum(), 1)
    item["rcp"] = (item["repeaters"] + 10 * rcp0) / (item["buyers"] + 10)
    item["rate"] = (item["reps"] + 365 * rate0) / (item["expo"] + 365)
    item["gap"] = (item["span"] + 3 * gap0) / (item["reps"] + 3)
    own = per[per.customer_id.isin(set(part["customers"]))].join(item[["rcp", "rate", "gap"]], on="product")
    since = (at - own["max"]).dt.days.astype(float).to_numpy()
    posterior = (prior_days * own["rate"] + own["rep"]) / (prior_days + own["expo"])
    theta = ((own["span"] + 3 * own["gap"]) / (own["rep"] + 3)).clip(lower=1).to_numpy() / shape
    cdf0, cdf1 = _erlang_cdf(since, theta, shape), _erlang_cdf(since + window_days, theta, shape)
    again = np.where(own["rep"] > 0, (own["rep"] + own["rcp"]) / (own["rep"] + 1), own["rcp"])
    return own.assign(f_pg=1 - np.exp(-posterior * window_days),
                      f_haz=(cdf1 - cdf0) / np.clip(1 - cdf0, 1e-6, None) * again,
                      f_rcp=np.log(own["rcp"]))[["customer_id", "product", "f_pg", "f_haz", "f_rcp"]]  # fmt: skip


def _erlang_cdf(x: np.ndarray, theta: np.ndarray, shape: int) -> np.ndarray:
    z = np.maximum(x, 0) / theta
    term = total = np.ones_like(z)
    for i in range(1, shape):
        term = term * z / i
        total = total + term
    return 1 - np.exp(-z) * total


def tifu(part: dict, group: int, within: float, across: float, alpha: float, k: int = 50) -> np.ndarray:
    """TIFU-KNN (Hu et al. 2020): time-decayed user vectors, alpha x own + (1 - alpha) x k nearest users."""
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    visits = part["visits"]
    days = visits[["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    back = days.groupby("customer_id").cumcount(ascending=False)  # baskets after this one
    days["w"] = (within ** (back % group)) * (across ** (back // group))
    days["w"] /= days.groupby(["customer_id", back // group])["w"].transform("size")
    days["w"] /= (days.groupby("customer_id")["day"].transform("size") - 1) // group + 1
    vectors = visits.merge(days, on=["customer_id", "day"]).groupby(["customer_id", "product"])["w"].sum().reset_index()
    users = {c: i for i, c in enumerate(vectors.customer_id.unique())}
    products = {p: i for i, p in enumerate(vectors["product"].unique())}
    x = sp.csr_matrix((vectors.w, (vectors.customer_id.map(users), vectors["product"].map(products))),
                      shape=(len(users), len(products)))  # fmt: skip
    targets = [c for c in part["customers"] if c in users]
    mine = x[[users[c] for c in targets]]
    sims = (normalize(mine) @ normalize(x).T).toarray()
    sims[np.arange(len(targets)), [users[c] for c in targets]] = 0
    nearest = np.zeros_like(sims)
    np.put_along_axis(nearest, np.argpartition(-sims, k, axis=1)[:, :k], 1.0 / k, axis=1)
    scores = alpha * mine.toarray() + (1 - alpha) * (sp.csr_matrix(nearest) @ x).toarray()
    frame = part["frame"]
    row = frame.customer_id.map({c: i for i, c in enumerate(targets)})
    col = frame["product"].map(products)
    ok = (row.notna() & col.notna()).to_numpy()
    out = np.zeros(len(frame))
    out[ok] = scores[row[ok].astype(int), col[ok].astype(int)]
    return out


def experiments(name: str, shift: int) -> dict[str, float]:
    """precision@10 of every method on one split."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    from segmint.recommendations.settings import RecommendConfig
    from segmint.recommendations.blend import features_for

    names = features_for(RecommendConfig())
    d = frames(name, shift)
    fit, ev = d["fit"], d["eval"]
    days = {"fit": float((d["as_of"] - d["inner"]).days), "eval": float((d["end"] - d["as_of"]).days)}
    extra = {k: p["frame"].merge(buy_it_again(p, days[k]), how="left").fillna({"f_pg": 0.0, "f_haz": 0.0, "f_rcp": 0.0})
             for k, p in (("fit", fit), ("eval", ev))}  # fmt: skip
    ev_extra = dict(ev, frame=extra["eval"])
    res = {"own most-bought (visits, units, recency)": own_most_bought(ev, ["n", "units", "last_day"]),
           "own most-bought (visits, recency, units)": own_most_bought(ev, ["n", "last_day", "units"]),
           "segmint blend": precision(ev, blend(fit["frame"], ev["frame"], names))}  # fmt: skip
    for label, added in (("+ Poisson-Gamma", ["f_pg"]), ("+ gap hazard, repeat prob.", ["f_haz", "f_rcp"])):
        res[f"blend {label}"] = precision(ev_extra, blend(extra["fit"], extra["eval"], names + added))
    pop = ev["frame"]["share_all"].to_numpy() * 1e-3  # ties and non-own candidates by popularity
    res["Poisson-Gamma alone"] = precision(ev_extra, extra["eval"]["f_pg"].to_numpy() + pop)
    grid = list(itertools.product((3, 7), (0.9, 1.0), (0.6, 0.9), (0.7, 0.9, 1.0)))
    best = max(grid, key=lambda g: precision(fit, tifu(fit, *g)))  # tuned on the inner split
    res["TIFU-KNN (group, within, across, alpha tuned on the inner split)"] = precision(ev, tifu(ev, *best))
    print(f"{name} split {shift}: TIFU-KNN chose group {best[0]}, decays {best[1]} / {best[2]}, alpha {best[3]}")
    trees = HistGradientBoostingClassifier(learning_rate=0.05, max_iter=200, max_leaf_nodes=15, min_samples_leaf=50,
                                           l2_regularization=1.0, random_state=0)  # fmt: skip
    trees.fit(fit["frame"][names], fit["frame"]["label"])
    res["gradient-boosted trees"] = precision(ev, trees.predict_proba(ev["frame"][names])[:, 1])
    try:  # the two earlier inner windows (data before the split only) added to the fit
        older = [frames(name, shift + k)["fit"]["frame"].assign(customer_id=lambda t, k=k: t.customer_id + f"#{k}")
                 for k in (1, 2)]  # fmt: skip
        res["blend on 3 pooled inner windows"] = precision(ev, blend(pd.concat([fit["frame"], *older]), ev["frame"], names))
    except Exception:  # noqa: BLE001 - too little history for older windows
        pass
    return res


def lab_arguments(doc: str | None) -> argparse.Namespace:
    """--datasets and --splits of a lab script (warnings of the many small fits silenced)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="retail,retail_4300,affinity,groceries,demo")
    parser.add_argument("--splits", type=int, default=3)
    warnings.filterwarnings("ignore")
    return parser.parse_args()


def main() -> None:
    args = lab_arguments(__doc__)
    for name in args.datasets.split(","):
        rows = {shift: experiments(name, shift) for shift in range(args.splits)}
        methods = list(rows[0])
        print(f"\n## {name}\n\n| method | " + " | ".join(f"split {s}" for s in rows) + " |")
        print("|---|" + "---:|" * len(rows))
        for method in methods:
            print(f"| {method} | " + " | ".join(f"{rows[s].get(method, float('nan')):.4f}" for s in rows) + " |")


if __name__ == "__main__":
    main()
