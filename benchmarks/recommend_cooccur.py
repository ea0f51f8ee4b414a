"""Session 8: item-item co-purchase with other normalisations, measured against the shipped blend.

    python -m benchmarks.recommend_cooccur [--datasets retail,retail_4300,affinity,groceries] [--splits 3]

The shipped ``f_cf`` is a cosine over customers (each customer's 20 most recency-weighted products,
unweighted), 20 neighbours per product, 30 co-purchase candidates per customer. Tried here, each
computed from every customer's visits before the split date over all products (no truncation), and
scored for a customer as the weighted mean similarity of the candidate to their products (weights
exp(-age / 90 days) of each visit, summed per product, normalised to 1; a product's similarity to
itself is 0):

* ``f_cfb``: basket co-occurrence -- cosine over visits (a customer's calendar day), each visit
  weighted 1 / log2(1 + its distinct products) (a BM25-like damping of big baskets);
* ``f_cfu``: customer co-occurrence with inverse user frequency and time decay -- the customer x
  product matrix holds exp(-days since the customer last bought it / 180) / log2(2 + the
  customer's distinct products), cosine between product columns;
* ``f_cfl``: ``f_cfu``'s similarity seeded by the customer's last visit only (their current interest).

Each is a log(score + 1e-3) feature added to the shipped blend, chosen and fitted as shipped on the
inner split (``choose_features`` + ``fit_blend``); printed per split: held-out precision@10 of the
shipped blend and of the blend with the signal, the paired per-customer difference and its standard
error, in the manner of ``benchmarks.recommend_signals``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from benchmarks.recommend_lab import blend, frames
from benchmarks.recommend_signals import against_shipped, lab_main, paired, per_customer, shipped_features

SMOOTH = 1e-3
NEW = {"basket cosine, damped": ["f_cfb"], "customer cosine, IUF + decay": ["f_cfu"],
       "customer cosine from the last visit": ["f_cfl"]}  # fmt: skip


def _cosine(x: sp.csr_matrix) -> sp.csr_matrix:
    """Cosine similarity between the columns of ``x`` (diagonal zeroed)."""
    gram = (x.T @ x).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    inv = sp.diags(1.0 / norms)
    sims = (inv @ gram @ inv).tolil()
    sims.setdiag(0.0)
    return sims.tocsr()


def _lookup(frame: pd.DataFrame, scores: np.ndarray, rows: pd.Series, cols: pd.Series) -> np.ndarray:
    r = frame["customer_id"].map(rows)
    c = frame["product"].map(cols)
    ok = (r.notna() & c.notna()).to_numpy()
    out = np.zeros(len(frame))
    out[ok] = scores[r[ok].astype(int).to_numpy(), c[ok].astype(int).to_numpy()]
    return np.log(out + SMOOTH)


def cooccurrence(part: dict) -> dict[str, np.ndarray]:
    """f_cfb, f_cfu, f_cfl for each candidate row of ``part`` (see the module doc)."""
    visits = part["visits"].drop_duplicates(["customer_id", "product", "day"])
    at = pd.Timestamp(part["at"])
    products = pd.Series(np.arange(visits["product"].nunique()), index=np.sort(visits["product"].unique()))
    col = visits["product"].map(products).to_numpy()
    # baskets
    basket_id = visits.groupby(["customer_id", "day"]).ngroup().to_numpy()
    size = np.bincount(basket_id)
    xb = sp.csr_matrix((1.0 / np.log2(1.0 + size[basket_id]), (basket_id, col)), shape=(size.size, len(products)))
    sim_b = _cosine(xb)
    # customers: IUF and decay of the last purchase
    people = pd.Series(np.arange(visits["customer_id"].nunique()), index=np.sort(visits["customer_id"].unique()))
    last = visits.groupby(["customer_id", "product"])["day"].max().reset_index()
    distinct = last.groupby("customer_id").size()
    age = (at - last["day"]).dt.days.to_numpy(dtype=float)
    value = np.exp(-age / 180.0) / np.log2(2.0 + last["customer_id"].map(distinct).to_numpy())
    xu = sp.csr_matrix((value, (last["customer_id"].map(people), last["product"].map(products))),
                       shape=(len(people), len(products)))  # fmt: skip
    sim_u = _cosine(xu)
    # profiles of the evaluated customers
    targets = pd.Series(np.arange(len(part["customers"])), index=part["customers"])
    mine = visits[visits["customer_id"].isin(targets.index)]
    w = mine.assign(w=np.exp(-(at - mine["day"]).dt.days.to_numpy(dtype=float) / 90.0))
    w = w.groupby(["customer_id", "product"])["w"].sum().reset_index()
    w["w"] /= w.groupby("customer_id")["w"].transform("sum")
    profile = sp.csr_matrix((w["w"], (w["customer_id"].map(targets), w["product"].map(products))),
                            shape=(len(targets), len(products)))  # fmt: skip
    lastday = mine.groupby("customer_id")["day"].transform("max")
    recent = mine[mine["day"] == lastday].drop_duplicates(["customer_id", "product"])
    recent_n = recent.groupby("customer_id")["product"].transform("size").to_numpy(dtype=float)
    seed = sp.csr_matrix((1.0 / recent_n, (recent["customer_id"].map(targets), recent["product"].map(products))),
                         shape=(len(targets), len(products)))  # fmt: skip
    frame = part["frame"]
    return {"f_cfb": _lookup(frame, (profile @ sim_b).toarray(), targets, products),
            "f_cfu": _lookup(frame, (profile @ sim_u).toarray(), targets, products),
            "f_cfl": _lookup(frame, (seed @ sim_u).toarray(), targets, products)}  # fmt: skip


def add_signals(part: dict) -> pd.DataFrame:
    return part["frame"].assign(**cooccurrence(part))


def experiments(name: str, shift: int) -> dict[str, tuple[float, float, float]]:
    """name -> (precision@10, difference from the shipped blend, its standard error) on one split."""
    d = frames(name, shift)
    fit, ev = add_signals(d["fit"]), add_signals(d["eval"])
    out, base = against_shipped(d, fit, ev, {**NEW, "all three": [f for v in NEW.values() for f in v]})
    for added in NEW.values():  # in place of the shipped co-purchase
        kept = [f for f in shipped_features() if f != "f_cf"] + added
        out[f"{added[0]} instead of f_cf"] = paired(per_customer(d["eval"], ev, blend(fit, ev, kept)), base)
    return out


if __name__ == "__main__":
    lab_main(__doc__, experiments)
