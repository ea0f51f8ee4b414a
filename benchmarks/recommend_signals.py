"""Session 5: signals a real retail log has and the blend lacks, measured against the shipped blend.

    python -m benchmarks.recommend_signals [--datasets retail,retail_4300,affinity,groceries,demo] [--splits 3]

On the candidates of ``benchmarks.recommend_lab`` (the pipeline's own, cached; inner split = fit and
choice, held-out split = score only), each new signal is added to the shipped blend's features and
the blend is chosen and fitted exactly as shipped (``choose_features`` + ``fit_blend`` on the inner
split). Printed per split: held-out precision@10 of the shipped blend and of the blend with the
signal, and the paired per-customer difference with its standard error (a signal is kept only if
it beats the blend by more than one standard error on several splits and datasets).

The signals (all from lines before the split's date):

* ``f_name``: name family -- the recency-weighted (90-day decay) mean similarity of the product's
  name to the names of the customer's other products (TF-IDF over name words seen in at least two
  products, cosine): a customer who buys "RED RETROSPOT LUNCH BAG" and "... MUG" lifts other RED
  RETROSPOT items and other LUNCH BAGs; on groceries "tropical fruit" lifts "citrus fruit";
* ``f_season`` / ``f_season_own``: seasonality -- the product's share of shoppers in the same
  calendar window a year earlier over its share in the whole year before the split (log), and
  whether the customer bought it in that window (0 where the log does not reach back a year);
* ``f_trend_long``: trending up -- the product's share of shoppers in the last 4 weeks over its
  share in the 12 weeks before them (log);
* ``f_llr`` / ``f_plift``: repeat lift -- how far the customer's visits with the product exceed
  what its popularity predicts for a customer with their visits (Poisson log-likelihood ratio of
  the excess, and the smoothed log ratio): an unpopular product re-bought says more than a
  best-seller re-bought (the generators' staples and repertoires are such products);
* ``f_cat`` / ``f_within``: category taste -- the customer's smoothed share of visits in the
  product's category, and the product's share of its category; only where a category is known (the
  affinity log's names end in "CAT n": the generator's own categories, which its taste groups prefer).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

from benchmarks.recommend_lab import blend, frames, lab_arguments

TOP = 10
SMOOTH = 1e-3
NEW = {
    "name family": ["f_name"],
    "seasonality (a year earlier)": ["f_season", "f_season_own"],
    "trending (4 vs 12 weeks)": ["f_trend_long"],
    "repeat lift over popularity": ["f_llr", "f_plift"],
    "category taste": ["f_cat", "f_within"],
}


def shares(visits: pd.DataFrame, start: pd.Timestamp, stop: pd.Timestamp) -> pd.Series:
    """product -> share of the customers who shopped in [start, stop) who bought it (empty if nobody)."""
    part = visits[(visits["day"] >= start) & (visits["day"] < stop)]
    shoppers = part["customer_id"].nunique()
    if not shoppers:
        return pd.Series(dtype=float)
    return part.drop_duplicates(["customer_id", "product"]).groupby("product").size() / shoppers


def name_affinity(part: dict, names: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """f_name for each candidate row of ``part`` (see the module doc)."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

    names = names.dropna(subset=["product_name"]).drop_duplicates("product")
    vectorizer = TfidfVectorizer(token_pattern=r"[A-Za-z]{2,}|\d+", min_df=2, sublinear_tf=True)
    try:
        x = vectorizer.fit_transform(names["product_name"].astype(str))  # rows are l2-normalised
    except ValueError:  # no word shared by two products
        return pd.Series(0.0, index=part["frame"].index)
    index = pd.Series(np.arange(len(names)), index=names["product"].to_numpy())
    frame, customers = part["frame"], part["customers"]
    visits = part["visits"]
    mine = visits[visits["customer_id"].isin(set(customers))]
    age = (at - mine["day"]).dt.days.to_numpy(dtype=float)
    weights = mine.assign(w=np.exp(-age / 90.0)).groupby(["customer_id", "product"])["w"].sum().reset_index()
    weights = weights[weights["product"].isin(index.index)]
    weights["w"] /= weights.groupby("customer_id")["w"].transform("sum")
    rows = pd.Series(np.arange(len(customers)), index=customers)
    w = sp.csr_matrix((weights["w"], (rows[weights["customer_id"]].to_numpy(), index[weights["product"]].to_numpy())),
                      shape=(len(customers), len(names)))  # fmt: skip
    profile = (w @ x).tocsr()  # customers x words
    known = frame["product"].isin(index.index).to_numpy() & frame["customer_id"].isin(rows.index).to_numpy()
    r = rows[frame.loc[known, "customer_id"]].to_numpy()
    c = index[frame.loc[known, "product"]].to_numpy()
    dot = np.asarray(profile[r].multiply(x[c]).sum(axis=1)).ravel()
    self_weight = np.asarray(w[r, c]).ravel() * np.asarray(x[c].multiply(x[c]).sum(axis=1)).ravel()
    out = np.zeros(len(frame))
    out[known] = dot - self_weight  # similarity to the customer's OTHER products
    return pd.Series(out, index=frame.index)


def add_signals(part: dict, names: pd.DataFrame, at: dt.date, stop: dt.date) -> pd.DataFrame:
    """The candidate frame of ``part`` with the new signals (lines before ``at`` only)."""
    frame = part["frame"].copy()
    visits = part["visits"].assign(day=lambda t: pd.to_datetime(t["day"]))
    at_ts, stop_ts = pd.Timestamp(at), pd.Timestamp(stop)
    frame["f_name"] = name_affinity(dict(part, visits=visits), names, at_ts).to_numpy()
    year = pd.Timedelta(days=365)
    first = visits["day"].min()
    covered = first <= at_ts - year + (stop_ts - at_ts) / 2  # at least half the year-ago window is in the log
    if covered:
        ago = shares(visits, at_ts - year, stop_ts - year)
        annual = shares(visits, at_ts - year, at_ts)
        season = np.log((ago.reindex(frame["product"]).fillna(0).to_numpy() + SMOOTH)
                        / (annual.reindex(frame["product"]).fillna(0).to_numpy() + SMOOTH))  # fmt: skip
        then = visits[(visits["day"] >= at_ts - year) & (visits["day"] < stop_ts - year)]
        pairs = pd.MultiIndex.from_frame(then[["customer_id", "product"]].drop_duplicates())
        own = pd.MultiIndex.from_frame(frame[["customer_id", "product"]]).isin(pairs).astype(float)
    else:
        season, own = np.zeros(len(frame)), np.zeros(len(frame))
    frame["f_season"], frame["f_season_own"] = season, own
    recent = shares(visits, at_ts - pd.Timedelta(weeks=4), at_ts)
    before = shares(visits, at_ts - pd.Timedelta(weeks=16), at_ts - pd.Timedelta(weeks=4))
    frame["f_trend_long"] = np.log((recent.reindex(frame["product"]).fillna(0).to_numpy() + SMOOTH)
                                   / (before.reindex(frame["product"]).fillna(0).to_numpy() + SMOOTH))  # fmt: skip
    frame["f_llr"], frame["f_plift"] = repeat_lift(frame, visits)
    categories = names.set_index("product")["product_name"].astype(str).str.extract(r" CAT (\d+)$")[0]
    frame["f_cat"], frame["f_within"] = category_taste(frame, visits, categories, part["customers"])
    return frame


def repeat_lift(frame: pd.DataFrame, visits: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """f_llr, f_plift (see the module doc): visits with the product vs its share of everyone's visits."""
    per_customer = visits[["customer_id", "day"]].drop_duplicates().groupby("customer_id").size()
    rate = visits.drop_duplicates(["customer_id", "product", "day"]).groupby("product").size() / per_customer.sum()
    n = frame["n"].to_numpy(dtype=float)
    expected = np.maximum(per_customer.reindex(frame["customer_id"]).fillna(0).to_numpy()
                          * rate.reindex(frame["product"]).fillna(0).to_numpy(), 1e-6)  # fmt: skip
    llr = np.where(n > expected, n * np.log(np.maximum(n, 1e-9) / expected) - (n - expected), 0.0)
    return np.log1p(llr), np.where(n > 0, np.log((n + 0.5) / (expected + 0.5)), 0.0)


def category_taste(frame: pd.DataFrame, visits: pd.DataFrame, categories: pd.Series,
                   customers: list[str]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """f_cat, f_within (see the module doc); zeros when no product has a category."""
    if categories.notna().sum() == 0:
        return np.zeros(len(frame)), np.zeros(len(frame))
    v = visits.assign(cat=visits["product"].map(categories))
    mine = v[v["customer_id"].isin(set(customers))]
    counts = mine.groupby(["customer_id", "cat"]).size()
    totals = mine.groupby("customer_id").size()
    overall = v.groupby("cat").size() / len(v)
    per_product = v.groupby("product").agg(n=("cat", "size"), cat=("cat", "first"))
    within = per_product["n"] / v.groupby("cat").size().reindex(per_product["cat"]).to_numpy()
    cat = frame["product"].map(categories)
    n = counts.reindex(pd.MultiIndex.from_arrays([frame["customer_id"], cat])).fillna(0).to_numpy()
    total = totals.reindex(frame["customer_id"]).fillna(0).to_numpy()
    prior = 5.0  # pseudo-visits at everyone's category shares
    share = (n + prior * overall.reindex(cat).fillna(0).to_numpy()) / (total + prior)
    return np.log(share + SMOOTH), np.log(within.reindex(frame["product"]).fillna(0).to_numpy() + SMOOTH)


def per_customer(part: dict, frame: pd.DataFrame, score: np.ndarray) -> pd.Series:
    """Hits in each evaluated customer's top 10 (0 for a customer without a positive candidate)."""
    ranked = frame.assign(_s=score).sort_values(["customer_id", "_s", "share_all", "product"],
                                                ascending=[True, False, False, True])  # fmt: skip
    hits = ranked.groupby("customer_id", sort=False).head(TOP).groupby("customer_id")["label"].sum()
    return hits.reindex(part["customers"]).fillna(0.0)


def experiments(name: str, shift: int) -> dict[str, tuple[float, float, float]]:
    """name -> (precision@10, difference from the shipped blend, its standard error) on one split."""
    from segmint.recommendations.settings import RecommendConfig
    from segmint.recommendations.blend import features_for

    names = features_for(RecommendConfig())
    d = frames(name, shift)
    fit = add_signals(d["fit"], d["names"], d["inner"], d["as_of"])
    ev = add_signals(d["eval"], d["names"], d["as_of"], d["end"])
    base = per_customer(d["eval"], ev, blend(fit, ev, names))
    out = {"shipped blend": (base.mean() / TOP, 0.0, 0.0)}
    for label, added in [*NEW.items(), ("all of them", [f for v in NEW.values() for f in v])]:
        if all(fit[f].std() == 0 for f in added):
            out[f"+ {label}"] = (float("nan"), float("nan"), float("nan"))  # the inner split cannot learn it
            continue
        hits = per_customer(d["eval"], ev, blend(fit, ev, names + added))
        diff = (hits - base) / TOP
        out[f"+ {label}"] = (hits.mean() / TOP, diff.mean(), diff.std(ddof=1) / len(diff) ** 0.5)
    # the choice keeps popularity on basket logs (groceries, demo): would a signal make a personal blend win?
    from segmint.recommendations.blend import fit_blend

    def forced(features: list[str]) -> pd.Series:
        weights = fit_blend(fit, features, "", 1.0).weights
        return per_customer(d["eval"], ev, ev[features].to_numpy() @ np.array([weights[f] for f in features]))

    popular = per_customer(d["eval"], ev, ev["f_pop"].to_numpy())
    everything = forced(names)
    out["popularity alone"] = (popular.mean() / TOP, (popular - base).mean() / TOP, 0.0)
    out["all signals, C=1, not chosen"] = (everything.mean() / TOP, (everything - base).mean() / TOP, 0.0)
    for label, added in NEW.items():
        if all(fit[f].std() == 0 for f in added):
            continue
        hits = forced(names + added)
        diff = (hits - everything) / TOP
        out[f"all signals, C=1, + {label} (vs the row above)"] = (hits.mean() / TOP, diff.mean(),
                                                                 diff.std(ddof=1) / len(diff) ** 0.5)  # fmt: skip
    return out


def paired(hits: pd.Series, base: pd.Series) -> tuple[float, float, float]:
    """(precision@10 of ``hits``, mean paired difference from ``base``, its standard error)."""
    diff = (hits - base) / TOP
    return hits.mean() / TOP, diff.mean(), diff.std(ddof=1) / len(diff) ** 0.5


def shipped_features() -> list[str]:
    """The shipped blend's feature columns (default settings)."""
    from segmint.recommendations.blend import features_for
    from segmint.recommendations.settings import RecommendConfig

    return features_for(RecommendConfig())


def against_shipped(d: dict, fit: pd.DataFrame, ev: pd.DataFrame,
                    additions: dict[str, list[str]]) -> tuple[dict[str, tuple[float, float, float]], pd.Series]:
    """Rows 'shipped blend' and '+ label' (the blend chosen and fitted with the added features), and the
    shipped blend's hits per evaluated customer."""
    names = shipped_features()
    base = per_customer(d["eval"], ev, blend(fit, ev, names))
    out = {"shipped blend": (base.mean() / TOP, 0.0, 0.0)}
    for label, added in additions.items():
        out[f"+ {label}"] = paired(per_customer(d["eval"], ev, blend(fit, ev, names + added)), base)
    return out, base


def lab_main(doc: str | None, experiment: Callable[[str, int], dict[str, tuple[float, float, float]]]) -> None:
    """A lab script's command line: --datasets and --splits, then :func:`run`."""
    args = lab_arguments(doc)
    run(args.datasets, args.splits, experiment)


def run(datasets: str, splits: int, experiment: Callable[[str, int], dict[str, tuple[float, float, float]]]) -> None:
    """Print ``experiment(dataset, split)`` per split as it comes, then a table per dataset."""
    for name in datasets.split(","):
        rows = {}
        for shift in range(splits):
            rows[shift] = experiment(name, shift)
            print(name, shift, {k: tuple(round(x, 4) for x in v) for k, v in rows[shift].items()}, flush=True)
        print(f"\n## {name}\n\n| method | " + " | ".join(f"split {s}" for s in rows) + " |")
        print("|---|" + "---:|" * len(rows))
        for method in rows[0]:
            cells = []
            for s in rows:
                p, diff, se = rows[s][method]
                cells.append(f"{p:.4f}" if method == "shipped blend" or np.isnan(p)
                             else f"{p:.4f} ({diff * 100:+.2f} +- {se * 100:.2f})")  # fmt: skip
            print(f"| {method} | " + " | ".join(cells) + " |")


def main() -> None:
    args = lab_arguments(__doc__)
    run(args.datasets, args.splits, experiments)


if __name__ == "__main__":
    main()
