"""The ceiling of precision@10 on the generated logs: what a recommender that knew the generator could score.

    python -m benchmarks.recommend_oracle [--datasets retail,retail_4300,affinity,affinity_25k] [--splits 3]
    python -m benchmarks.recommend_oracle --hidden | --candidates | --describe [--datasets ...]

Results go to benchmarks/RECOMMEND_ORACLE.json (or the file named by $ORACLE_OUT, so that runs in
parallel do not overwrite each other); benchmarks/RESULTS.md (*Recommendations*, session 5) reads them.

The generators (``benchmarks.retail_data``, ``benchmarks.recommend_data``) are re-run with their seed
and hand over the hidden state the lines were drawn from. For each customer evaluated on a rolling
split (the same splits and customers as ``python -m benchmarks.recommend quality``: bought before
the as-of date and in the 2 months after it), the *oracle* ranks products by the true probability
that the customer buys them in the scored months, given everything the generator knew at the as-of
date and that the customer buys something then. Ranking by that probability maximises expected
precision@10 (the expected hits are the sum of the probabilities of the 10 listed products), so no
method working from the purchase history can do better in expectation: it is the Bayes-optimal
ceiling, and a generous one (it also knows hidden draws no history reveals exactly).

* affinity log: the probabilities are exact (each line is a staple, a group-taste draw or a popular
  draw, plus a complement; order days form a Poisson process over the customer's life);
* retail-like log: Monte Carlo -- the scored months are re-simulated from each customer's hidden
  state at the as-of date (repertoire with attachments, cycles and last days; taste; basket size;
  order rate) with the generator's own order code (``retail_data.draw_order``); interest spans
  still running are redrawn (they are exponential, so memoryless); one set of simulations ranks,
  an independent set values the ranking (no winner's curse). The oracle "knows the visit days"
  row also uses the customer's real order days in the scored months.

Each row shows the precision@10 realised on the log (the oracle's list scored on what customers
really bought, like every method) and its expectation; own most-bought is recomputed here with the
evaluation's tie-breaks (visits, then the latest, then units) and must match RECOMMEND.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.recommend import DATA, RAW

TOP = 10
OUT = Path(os.environ.get("ORACLE_OUT", DATA.parent / "RECOMMEND_ORACLE.json"))
DATASETS = {  # name -> (generator, arguments): the files benchmarks.recommend caches
    "retail": ("retail", (1500, 1500), {}),
    "retail_4300": ("retail", (4300, 4000), {}),
    "affinity": ("affinity", (2000, 500), {"orders_per_customer": 10.0}),
    "affinity_25k": ("affinity", (25_000, 4_000), {"orders_per_customer": 13.0}),
}


def generate(name: str, as_of_day: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The dataset's lines and the generator's hidden state (retail: the repertoires before ``as_of_day``)."""
    kind, args, kwargs = DATASETS[name]
    latent: dict = {"day": as_of_day}
    if kind == "retail":
        from benchmarks.retail_data import make_retail_log

        return make_retail_log(*args, **kwargs, latent=latent if as_of_day is not None else None), latent
    from benchmarks.recommend_data import make_affinity_sales

    return make_affinity_sales(*args, **kwargs, latent=latent), latent


def splits(frame: pd.DataFrame, count: int) -> list[tuple[dt.date, dt.date]]:
    """(as_of, end) of the rolling splits, as benchmarks.recommend.rolling cuts them (end exclusive)."""
    from segmint.recommendations.settings import Window

    end = frame["InvoiceDate"].max().date() + dt.timedelta(days=1)
    out = []
    for _ in range(count):
        out.append((Window.parse("2M").start(end), end))
        end = Window.parse("1M").start(end)
    return out


def purchases(frame: pd.DataFrame) -> pd.DataFrame:
    """customer_id, product, day, units of purchase lines (no guests, no returns)."""
    kept = frame[(frame["CustomerID"] != "") & (frame["Quantity"] > 0) & ~frame["InvoiceNo"].str.startswith("C")]
    return pd.DataFrame({"customer_id": kept["CustomerID"].to_numpy(), "product": kept["StockCode"].to_numpy(),
                         "day": kept["InvoiceDate"].dt.normalize().to_numpy(), "units": kept["Quantity"].to_numpy()})  # fmt: skip


def truth(lines: pd.DataFrame, as_of: dt.date, end: dt.date) -> tuple[list[str], dict[str, set[str]], pd.DataFrame]:
    """Customers evaluated, what each bought in [as_of, end), and their products before as_of (best first)."""
    at, stop = pd.Timestamp(as_of), pd.Timestamp(end)
    before, after = lines[lines["day"] < at], lines[(lines["day"] >= at) & (lines["day"] < stop)]
    customers = sorted(set(after["customer_id"]) & set(before["customer_id"]))
    relevant = after.groupby("customer_id")["product"].agg(set).to_dict()
    visits = before.groupby(["customer_id", "product", "day"], as_index=False)["units"].sum()
    items = visits.groupby(["customer_id", "product"]).agg(n=("day", "size"), last_day=("day", "max"),
                                                           units=("units", "sum")).reset_index()  # fmt: skip
    items = items[items["customer_id"].isin(set(customers))]
    items = items.sort_values(["customer_id", "n", "last_day", "units", "product"],
                              ascending=[True, False, False, False, True])  # fmt: skip
    return customers, relevant, items


def hits(lists: dict[str, list[str]], customers: list[str], relevant: dict[str, set[str]]) -> np.ndarray:
    return np.array([len(set(lists.get(c, [])[:TOP]) & relevant[c]) for c in customers], dtype=float)


def lift_interval(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float, float]:
    """Relative lift of mean hits and its approximate 95% interval, paired by customer."""
    d = ours - theirs
    half = 1.96 * d.std(ddof=1) / len(d) ** 0.5
    base = theirs.mean()
    return d.mean() / base, (d.mean() - half) / base, (d.mean() + half) / base


# --- the affinity log: exact probabilities -------------------------------------------------------


def affinity_oracle(latent: dict, customers: list[str], as_of: dt.date, end: dt.date, mine: dict[str, set[str]],
                    revealed: bool = False, value: dict[str, list[str]] | None = None,
                    among: dict[str, set[str]] | None = None,
                    ) -> tuple[dict[str, list[str]], dict[str, list[str]], dict[str, float]]:  # fmt: skip
    """Each customer's 10 products most likely bought in [as_of, end) (exact), of all and of their own.

    The third result is the expected precision@10 of the oracle's lists, of the own-only lists and
    of ``value`` (another method's lists) given that the customer buys something in [as_of, end):
    its agreement with the precision realised on the log checks these probabilities. ``among``
    restricts each customer's products to a set (the pipeline's candidates: what its ranking can reach).

    ``revealed``: staples the customer has not bought before ``as_of`` are unknown (each such slot
    holds a draw from their group's distribution, in expectation): what purchase history could reveal.
    """
    start = latent["start"]
    a, b = (pd.Timestamp(as_of) - start).days, (pd.Timestamp(end) - start).days
    group_p, global_p, partner = latent["group_p"], latent["global_p"], latent["partner"]
    n_products = group_p.shape[1]
    source = np.empty(n_products, dtype=np.int64)
    source[partner] = np.arange(n_products)  # the product whose complement is j
    lists: dict[str, list[str]] = {}
    own: dict[str, list[str]] = {}
    worth: dict[str, list[float]] = {"oracle": [], "own products only": [], "value": []}
    for text in customers:
        c = int(text) - 10_000
        lo, hi = max(a, int(latent["acquired"][c])), min(b, int(latent["end"][c]))
        if hi <= lo:  # only the forced first order could fall here (not for a customer with history)
            continue
        days = np.arange(lo, hi)
        life = max(int(latent["end"][c] - latent["acquired"][c]), 1)
        progress = (days - latent["acquired"][c]) / life
        n_s = int(latent["n_staples"][c])
        first = np.bincount(latent["staples"][c, :n_s], minlength=n_products) / n_s
        later = np.bincount(latent["later"][c, :n_s], minlength=n_products) / n_s
        if revealed:
            known = np.zeros(n_products, dtype=bool)
            known[[int(p[1:]) for p in mine[text]]] = True
            for slots, table in ((latent["staples"][c, :n_s], first), (latent["later"][c, :n_s], later)):
                hidden = ~known[slots]
                table[:] = np.bincount(slots[~hidden], minlength=n_products) / n_s
                table += hidden.sum() / n_s * group_p[latent["group"][c]]
        fixed = 0.3 * group_p[latent["group"][c]] + 0.2 * global_p
        line = fixed[None, :] + 0.5 * (np.outer(1 - progress, first) + np.outer(progress, later))  # day x product
        line = line + 0.25 * line[:, source]  # the complement line a quarter of lines add
        in_order = 1 - (1 - line) * np.exp(-3.0 * line)  # basket = 1 + Poisson(3) independent lines
        bought = 1 - np.exp(-latent["rate"][c] * in_order.sum(axis=0))  # Poisson process of order days
        order = np.argsort(-bought, kind="stable")  # ties: the lower product code first
        if among is not None:
            order = np.array([j for j in order if f"P{j:05d}" in among.get(text, set())], dtype=np.int64)
        lists[text] = [f"P{j:05d}" for j in order[:TOP]]
        own[text] = [p for p in (f"P{j:05d}" for j in order) if p in mine[text]][:TOP]
        any_order = 1 - np.exp(-latent["rate"][c] * len(days))
        for label, chosen in (("oracle", lists[text]), ("own products only", own[text]),
                              ("value", (value or {}).get(text, []))):  # fmt: skip
            worth[label].append(sum(bought[int(p[1:])] for p in chosen) / any_order / TOP)
    return lists, own, {k: float(np.mean(v)) if v else float("nan") for k, v in worth.items()}


# --- the retail-like log: Monte Carlo from the hidden state ---------------------------------------


def retail_oracle(latent: dict, customers: list[str], as_of: dt.date, end: dt.date, *, runs: int, seed: int,
                  real_days: bool) -> dict[str, Counter]:  # fmt: skip
    """customer -> product -> count of ``runs`` simulated [as_of, end) periods (with >= 1 order) buying it."""
    from scipy.stats import poisson

    from benchmarks.retail_data import START, draw_order

    rng = np.random.default_rng(seed)
    cat, cust, busy = latent["catalogue"], latent["customers"], latent["season"]["busy"]
    weight_at = cat["weight_at"]
    cache: dict[int, np.ndarray] = {}
    cat = dict(cat, weight_at=lambda day: cache[day] if day in cache else cache.setdefault(day, weight_at(day)))
    a, b = (pd.Timestamp(as_of) - START).days, (pd.Timestamp(end) - START).days
    out: dict[str, Counter] = {}
    for text in customers:
        c = int(text) - 12_346
        first, last = int(cust["acquired"][c]), int(cust["end"][c])
        hi = min(b, last)
        state = {p: v for p, v in latent["repertoire"].get(c, {}).items() if v[3] >= a}  # not faded by as_of
        actual = [int(d) for d in latent["days"][c] if a <= d < b]
        mean = cust["rate"][c] * (last - first) * busy[a:hi].sum() / busy[first:last].sum() if hi > a else 0.0
        counts: Counter = Counter()
        for _ in range(runs):
            if real_days:
                days = actual
            else:  # a Poisson number of orders (at least one: the customer is evaluated), busy days likelier
                p0 = np.exp(-mean)
                n = int(poisson.ppf(p0 + rng.random() * (1 - p0), mean)) if mean > 0 else 1
                n = max(n, 1)
                w = busy[a:max(hi, a + 1)]
                days = np.unique(a + rng.choice(len(w), n, p=w / w.sum()))
            repertoire = {p: [v[0], v[1], v[2], a + rng.exponential(220.0)] for p, v in state.items()}
            bought: set = set()
            for day in days:
                bought.update(int(p) for p in draw_order(rng, c, int(day), repertoire, cust, cat))
                if cust["country"][c] > 0 and rng.random() < 0.85:
                    bought.add(-1)  # POSTAGE
            counts.update(bought)
        out[text] = Counter({("POST" if p < 0 else str(10_000 + p)): k for p, k in counts.items()})
    return out


def top_lists(scores: dict[str, dict[str, float]]) -> dict[str, list[str]]:
    return {c: [p for p, _ in sorted(s.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]] for c, s in scores.items()}


def expected(lists: dict[str, list[str]], value: dict[str, Counter], runs: int, customers: list[str]) -> float:
    """Expected precision@10 of ``lists`` under independent simulations ``value``."""
    return float(np.mean([sum(value[c][p] for p in lists.get(c, [])) / runs / TOP for c in customers]))


def shipped() -> dict[str, list[dict]]:
    """precision@10 of the shipped blend and the baselines per split, from RECOMMEND.json."""
    if not RAW.exists():
        return {}
    record = json.loads(RAW.read_text()).get("quality", {})
    return {name: [{"until": s["until"], **{k: v["precision@10"] for k, v in s["evaluation"]["methods"].items()}}
                   for s in entry.get("splits", [])] for name, entry in record.items()}  # fmt: skip


def run(name: str, count: int, runs: int, visit_days: bool = False) -> list[dict]:
    from benchmarks.retail_data import START

    frame, latent = generate(name)
    rows = []
    for k, (as_of, end) in enumerate(splits(frame, count)):
        if DATASETS[name][0] == "retail":  # the repertoires as they stood at this split's as-of date
            frame, latent = generate(name, (pd.Timestamp(as_of) - START).days)
        customers, relevant, own = truth(purchases(frame), as_of, end)
        ranked = own.groupby("customer_id")["product"].agg(list).to_dict()  # most-bought first
        mine = {c: set(v) for c, v in ranked.items()}
        own_lists = {c: v[:TOP] for c, v in ranked.items()}
        own_hits = hits(own_lists, customers, relevant)
        row = {"split": k, "as_of": str(as_of), "end": str(end), "customers": len(customers),
               "own_most_bought": own_hits.mean() / TOP}  # fmt: skip
        if DATASETS[name][0] == "affinity":
            lists, own_only, worth = affinity_oracle(latent, customers, as_of, end, mine, value=own_lists)
            row["own_most_bought_expected"] = worth["value"]
            variants = {"oracle": (lists, worth["oracle"]), "oracle, own products only": (own_only, worth["own products only"]),
                        "oracle, staples not yet bought unknown": (
                            affinity_oracle(latent, customers, as_of, end, mine, revealed=True)[0], None)}  # fmt: skip
        else:
            variants = {}
            for label, real in (("oracle", False), ("oracle, knows the visit days", True))[:1 + visit_days]:
                rank = retail_oracle(latent, customers, as_of, end, runs=runs, seed=2 * k, real_days=real)
                value = retail_oracle(latent, customers, as_of, end, runs=runs, seed=2 * k + 1, real_days=real)
                lists = top_lists({c: dict(v) for c, v in rank.items()})
                variants[label] = (lists, expected(lists, value, runs, customers))
                if label == "oracle":
                    row["own_most_bought_expected"] = expected(own_lists, value, runs, customers)
                    lists = top_lists({c: {p: n for p, n in v.items() if p in mine[c]} for c, v in rank.items()})
                    variants["oracle, own products only"] = (lists, expected(lists, value, runs, customers))
        for label, (lists, expectation) in variants.items():
            ours = hits(lists, customers, relevant)
            own_share = np.mean([len(set(lists.get(c, [])) & mine[c]) / TOP for c in customers])
            lift, low, high = lift_interval(ours, own_hits)
            row[label] = {"precision@10": ours.mean() / TOP, "vs_own": lift, "vs_own_95": [low, high],
                          "own_share_of_list": own_share}  # fmt: skip
            if expectation is not None:
                row[label]["expected"] = expectation
        print(name, row, flush=True)
        rows.append(row)
    return rows


def candidates_check(name: str, count: int) -> list[dict]:
    """Affinity logs: the shipped blend and the oracle on the pipeline's own candidates (benchmarks.recommend_lab).

    With exact probabilities each list's expected precision@10 is known without sampling noise: the
    shipped blend's, the oracle's restricted to the candidates (candidate generation's ceiling)
    and the history-revealed oracle's restricted to them.
    """
    from benchmarks.recommend_lab import blend, frames
    from segmint.recommendations.settings import RecommendConfig
    from segmint.recommendations.blend import features_for

    frame, latent = generate(name)
    rows = []
    for k, (as_of, end) in enumerate(splits(frame, count)):
        customers, relevant, own = truth(purchases(frame), as_of, end)
        mine = {c: set(v) for c, v in own.groupby("customer_id")["product"].agg(list).items()}
        d = frames(name, k)
        ev = d["eval"]["frame"]
        score = blend(d["fit"]["frame"], ev, features_for(RecommendConfig()))
        ranked = ev.assign(_s=score).sort_values(["customer_id", "_s", "share_all", "product"],
                                                 ascending=[True, False, False, True])  # fmt: skip
        shipped_lists = ranked.groupby("customer_id", sort=False).head(TOP).groupby("customer_id")["product"].agg(list)
        among = ev.groupby("customer_id")["product"].agg(set).to_dict()
        _, _, worth = affinity_oracle(latent, customers, as_of, end, mine, value=shipped_lists.to_dict())
        on_candidates, _, worth_c = affinity_oracle(latent, customers, as_of, end, mine, among=among)
        revealed, _, _ = affinity_oracle(latent, customers, as_of, end, mine, revealed=True, among=among)
        _, _, worth_r = affinity_oracle(latent, customers, as_of, end, mine, value=revealed)
        row = {"split": k, "shipped blend, expected": worth["value"],
               "shipped blend, realised": hits(shipped_lists.to_dict(), customers, relevant).mean() / TOP,
               "oracle, all products, expected": worth["oracle"],
               "oracle on the candidates, expected": worth_c["oracle"],
               "history-revealed oracle on the candidates, expected": worth_r["value"],
               "non-own share of the shipped lists": float(np.mean([
                   np.mean([p not in mine[c] for p in v]) for c, v in shipped_lists.items()]))}  # fmt: skip
        print(name, row, flush=True)
        rows.append(row)
    return rows


def hidden_facts(name: str, count: int) -> list[dict]:
    """What the shipped blend would gain from each hidden fact of the generator, given as an extra feature.

    On the pipeline's own candidates (benchmarks.recommend_lab), the blend is chosen and fitted as
    shipped with a feature only the generator knows added; the held-out precision@10 says how much
    of the gap to the oracle that fact is. Affinity: the product is a current staple of the customer
    (weighted by the drift from first to later staples), the same for staples already bought (what
    a history could at best reveal), it is a staple's complement, the customer's group taste.
    Retail-like: the product is in the customer's repertoire (it stuck when first bought and the
    interest has not faded; also split into products bought once and 2+ times), its attachment, how
    due it is mid-window, and its season's demand in the window (log).
    """
    from benchmarks.recommend_lab import blend, frames
    from benchmarks.recommend_signals import per_customer
    from segmint.recommendations.settings import RecommendConfig
    from segmint.recommendations.blend import features_for

    names = features_for(RecommendConfig())
    retail = DATASETS[name][0] == "retail"
    facts = ({"repertoire": ["h_rep"], "repertoire, of products bought once": ["h_rep_once"],
              "repertoire, of products bought 2+ times": ["h_rep_more"],
              "repertoire + attachment + due": ["h_rep", "h_att", "h_due"],
              "season": ["h_season"], "all": ["h_rep", "h_att", "h_due", "h_season"]} if retail else
             {"staples": ["h_staple"], "staples already bought": ["h_bought_staple"],
              "complements of staples": ["h_partner"], "group taste": ["h_taste"],
              "all": ["h_staple", "h_partner", "h_taste"]})  # fmt: skip
    latent = None if retail else generate(name)[1]
    rows = []
    for k in range(count):
        d = frames(name, k)
        fit = _hidden(name, d["fit"]["frame"].copy(), d["inner"], d["as_of"], latent)
        ev = _hidden(name, d["eval"]["frame"].copy(), d["as_of"], d["end"], latent)
        base = per_customer(d["eval"], ev, blend(fit, ev, names))
        row = {"split": k, "shipped blend": base.mean() / TOP}
        for label, added in facts.items():
            better = per_customer(d["eval"], ev, blend(fit, ev, names + added))
            diff = (better - base) / TOP
            row[f"+ {label}"] = [better.mean() / TOP, diff.mean(), diff.std(ddof=1) / len(diff) ** 0.5]
        print(name, row, flush=True)
        rows.append(row)
    return rows


def _hidden(name: str, frame: pd.DataFrame, at: dt.date, stop: dt.date, latent: dict | None) -> pd.DataFrame:
    """The candidate frame with the generator's hidden facts as features (see hidden_facts)."""
    if DATASETS[name][0] == "retail":
        from benchmarks.retail_data import START, _season_factor

        day, end = (pd.Timestamp(at) - START).days, (pd.Timestamp(stop) - START).days
        _, state = generate(name, day)
        customer = frame["customer_id"].astype(int).to_numpy() - 12_346
        product = pd.to_numeric(frame["product"], errors="coerce").fillna(9_999).astype(int).to_numpy() - 10_000
        rep, att, due = (np.zeros(len(frame)) for _ in range(3))
        for i, (c, p) in enumerate(zip(customer, product, strict=True)):
            entry = state["repertoire"].get(c, {}).get(p)
            if entry is not None and entry[3] >= day:  # joined and not faded by the as-of date
                rep[i], att[i] = 1.0, np.log(entry[1])
                due[i] = 1 - np.exp(-((day + end) / 2 - entry[0]) / entry[2])
        season = np.ones(len(frame))
        ok = product >= 0
        season[ok] = np.mean([_season_factor(state["catalogue"]["season"][product[ok]], int(t))
                              for t in range(day, end, 7)], axis=0)  # fmt: skip
        once = (frame["n"] == 1).to_numpy()
        return frame.assign(h_rep=rep, h_att=att, h_due=due, h_season=np.log(season), h_rep_once=rep * once,
                            h_rep_more=rep * (frame["n"] >= 2).to_numpy())  # fmt: skip
    customer = frame["customer_id"].astype(int).to_numpy() - 10_000
    product = frame["product"].str[1:].astype(int).to_numpy()
    n_products = latent["group_p"].shape[1]
    source = np.empty(n_products, dtype=np.int64)
    source[latent["partner"]] = np.arange(n_products)
    day = (pd.Timestamp(at) - latent["start"]).days
    life = np.maximum(latent["end"][customer] - latent["acquired"][customer], 1)
    progress = np.clip((day - latent["acquired"][customer]) / life, 0, 1)
    slots = np.arange(latent["staples"].shape[1])[None, :] < latent["n_staples"][customer][:, None]

    def staple(p: np.ndarray) -> np.ndarray:
        first = ((latent["staples"][customer] == p[:, None]) & slots).sum(axis=1)
        later = ((latent["later"][customer] == p[:, None]) & slots).sum(axis=1)
        return ((1 - progress) * first + progress * later) / latent["n_staples"][customer]

    taste = 0.3 * latent["group_p"][latent["group"][customer], product] + 0.2 * latent["global_p"][product]
    return frame.assign(h_staple=staple(product), h_bought_staple=staple(product) * (frame["n"] > 0),
                        h_partner=staple(source[product]), h_taste=np.log(taste))  # fmt: skip


def describe(name: str) -> dict:
    """The facts of a generated log that decide how much a customer's own history predicts (vs the UCI file)."""
    frame = generate(name)[0]
    bought = frame[(frame["Quantity"] > 0) & ~frame["InvoiceNo"].str.startswith("C")]
    known = bought[bought["CustomerID"] != ""]
    per_customer = known.groupby("CustomerID").agg(invoices=("InvoiceNo", "nunique"), products=("StockCode", "nunique"))
    pairs = known.groupby(["CustomerID", "StockCode"])["InvoiceNo"].nunique()
    as_of, end = splits(frame, 1)[0]
    customers, relevant, own = truth(purchases(frame), as_of, end)
    mine = own.groupby("customer_id")["product"].agg(set)
    repeat = [len(relevant[c] & mine[c]) / len(relevant[c]) for c in customers]
    months = bought.groupby(bought["InvoiceDate"].dt.to_period("M")).size()
    return {
        "lines": len(frame), "lines without a customer": round(float((frame["CustomerID"] == "").mean()), 3),
        "customers": int(known["CustomerID"].nunique()), "products": int(frame["StockCode"].nunique()),
        "invoices": int(frame["InvoiceNo"].nunique()), "return lines": int(frame["InvoiceNo"].str.startswith("C").sum()),
        "lines per invoice (mean)": round(float(bought.groupby("InvoiceNo").size().mean()), 1),
        "customers with 2+ invoices": round(float((per_customer["invoices"] >= 2).mean()), 3),
        "distinct products per customer (median)": float(per_customer["products"].median()),
        "customer-product pairs bought on 2+ invoices": round(float((pairs >= 2).mean()), 3),
        "held-out products already bought before (mean over customers)": round(float(np.mean(repeat)), 3),
        "lines per month": {str(k): int(v) for k, v in months.items()},
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="affinity,retail,retail_4300,affinity_25k")
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--runs", type=int, default=100, help="Monte Carlo runs per customer and set (retail-like)")
    parser.add_argument("--visit-days", action="store_true", help="also the oracle that knows the real order days")
    parser.add_argument("--candidates", action="store_true",
                        help="affinity logs: the shipped blend and the oracle on the pipeline's candidates")
    parser.add_argument("--hidden", action="store_true", help="what each hidden fact would add to the blend")
    parser.add_argument("--describe", action="store_true", help="the generated logs' shape (vs the UCI file)")
    args = parser.parse_args()
    record = json.loads(OUT.read_text()) if OUT.exists() else {}
    if args.describe:
        for name in args.datasets.split(","):
            record.setdefault("describe", {})[name] = describe(name)
            print(name, record["describe"][name], flush=True)
        OUT.write_text(json.dumps(record, indent=1, default=float))
        return
    if args.hidden:
        for name in args.datasets.split(","):
            record.setdefault("hidden", {})[name] = hidden_facts(name, args.splits)
            OUT.write_text(json.dumps(record, indent=1, default=float))
        return
    if args.candidates:
        for name in [n for n in args.datasets.split(",") if DATASETS[n][0] == "affinity"]:
            record.setdefault("candidates", {})[name] = candidates_check(name, args.splits)
            OUT.write_text(json.dumps(record, indent=1, default=float))
        return
    for name in args.datasets.split(","):
        record[name] = {"runs": args.runs, "splits": run(name, args.splits, args.runs, args.visit_days)}
        OUT.write_text(json.dumps(record, indent=1, default=float))
    ship = shipped()
    print("| data | split | customers | own most-bought | shipped blend | oracle | oracle vs own (95%) | oracle, own products only |")
    for name, entry in record.items():
        for row in entry["splits"]:
            blend = next((s["segmint"] for s in ship.get(name, []) if s["until"] == str(
                dt.date.fromisoformat(row["as_of"]) - dt.timedelta(days=1))), float("nan"))  # fmt: skip
            o = row["oracle"]
            print(f"| {name} | {row['split']} | {row['customers']} | {row['own_most_bought']:.4f} | {blend:.4f} | "
                  f"{o['precision@10']:.4f} | {o['vs_own']:+.1%} ({o['vs_own_95'][0]:+.1%} to {o['vs_own_95'][1]:+.1%}) | "
                  f"{row['oracle, own products only']['precision@10']:.4f} |")


if __name__ == "__main__":
    main()
