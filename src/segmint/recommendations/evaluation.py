"""Evaluation of recommendations on a time split, next to the baselines a user would try first.

Protocol: the model sees only lines before ``as_of`` (the day after ``until``). The customers
evaluated bought something before ``as_of`` and bought something after it (up to ``end``, the last
date of the data unless a horizon is given). A product is *relevant* for a customer when they
bought it after ``as_of`` (with ``new_only``: and never before). For each method and each customer,
with ``hits`` = recommended products that are relevant:

* precision@N = hits / N, recall@N = hits / relevant products, hit rate = share with hits > 0,
  each averaged over the customers evaluated (a method that lists fewer than N products is still
  divided by N).

Baselines on the same split: ``popular`` = the N products bought by most customers in the last
window before ``as_of`` (without the customer's own with ``new_only``); ``own_most_bought`` = the
customer's own N most-bought products (visits with the product, ties broken by the most recent,
then by units: stronger than ties by units on every repeat-purchase log we measured, so a lift over
it is not an artefact of a weak tie-break); and
``own_then_popular`` = those, topped up with popular products to N (a stronger baseline).

Each lift comes with an approximate 95% interval: the same customers are scored by both methods,
so the interval is that of the mean per-customer difference in precision (normal approximation,
paired over customers) divided by the baseline's precision. An interval that spans 0 says the two
methods cannot be told apart on this split.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

METHOD_LABELS = {
    "segmint": "segmint recommendations",
    "popular": "global popularity of the last window",
    "own_most_bought": "each customer's own most-bought products",
    "own_then_popular": "own most-bought, topped up with popular products",
}


def own_most_bought(items: ir.Table, customers: ir.Table, top: int) -> ir.Table:
    """customer_id, product, rank: each customer's own most-bought products (visits, then recency, then units)."""
    own = items.semi_join(customers, "customer_id")
    order = ibis.row_number().over(
        group_by=own.customer_id,
        order_by=[ibis.desc(own.n), ibis.desc(own.last_day), ibis.desc(own.units), own.product],
    )
    ranked = own.mutate(rank=order + 1).filter(lambda t: t.rank <= top)
    return ranked.select("customer_id", "product", "rank")


def popular(all_share: ir.Table, customers: ir.Table, top: int, exclude: ir.Table | None = None) -> ir.Table:
    """customer_id, product, rank: the most-bought products of the window (minus ``exclude`` pairs)."""
    extra = 0 if exclude is None else 200
    best = all_share.order_by(ibis.desc("share_all"), "product").limit(top + extra)
    best = best.mutate(pop_rank=ibis.row_number().over(order_by=[ibis.desc(best.share_all), best.product]))
    pairs = customers.select("customer_id").cross_join(best.select("product", "pop_rank"))
    if exclude is not None:
        pairs = pairs.anti_join(exclude, ["customer_id", "product"])
    order = ibis.row_number().over(group_by=pairs.customer_id, order_by=pairs.pop_rank)
    ranked = pairs.mutate(rank=order + 1).filter(lambda t: t.rank <= top)
    return ranked.select("customer_id", "product", "rank")


def own_then_popular(items: ir.Table, all_share: ir.Table, customers: ir.Table, top: int) -> ir.Table:
    """Own most-bought first, then popular products the customer has not bought, up to ``top``."""
    own = own_most_bought(items, customers, top)
    fill = popular(all_share, customers, top, exclude=own.select("customer_id", "product"))
    counts = own.group_by("customer_id").aggregate(n_own=own.count())
    fill = fill.left_join(counts, "customer_id").drop("customer_id_right")
    fill = fill.mutate(rank=fill.rank + fill.n_own.fill_null(0)).filter(lambda t: t.rank <= top)
    return ibis.union(own, fill.select("customer_id", "product", "rank"))


def customer_hits(recs: ir.Table, relevant: ir.Table, customers: ir.Table) -> ir.Table:
    """customer_id, hits: how many of each customer's recommendations are relevant (0 when none)."""
    hits = recs.semi_join(relevant, ["customer_id", "product"]).group_by("customer_id").aggregate(
        hits=lambda t: t.count()
    )
    joined = customers.select("customer_id").left_join(hits, "customer_id")
    return joined.select(customer_id=joined.customer_id, hits=joined.hits.fill_null(0))


def lift_interval(ours: ir.Table, theirs: ir.Table, relevant: ir.Table, customers: ir.Table,
                  top: int) -> list[float] | None:  # fmt: skip
    """Approximate 95% interval of the relative precision lift of ``ours`` over ``theirs`` (paired by customer).

    None when the baseline has no hit or fewer than two customers are evaluated.
    """
    a = customer_hits(ours, relevant, customers)
    b = customer_hits(theirs, relevant, customers).select(customer_id="customer_id", theirs="hits")
    paired = a.inner_join(b, "customer_id")
    difference = (paired.hits - paired.theirs).cast("float64") / top
    row = paired.aggregate(
        n=paired.count(), mean=difference.mean(), sd=difference.std(how="sample"),
        base=(paired.theirs.cast("float64") / top).mean(),
    ).execute().iloc[0]
    n, base = int(row["n"]), float(row["base"] or 0.0)
    if n < 2 or base <= 0:
        return None
    half = 1.96 * float(row["sd"] or 0.0) / n**0.5
    mean = float(row["mean"])
    return [round((mean - half) / base, 4), round((mean + half) / base, 4)]


def metrics(recs: ir.Table, relevant: ir.Table, customers: ir.Table, top: int) -> dict[str, float]:
    """precision@N, recall@N and hit rate of ``recs`` (customer_id, product) over ``customers``."""
    wanted = relevant.group_by("customer_id").aggregate(relevant=lambda t: t.count())
    per = customer_hits(recs, relevant, customers).inner_join(wanted, "customer_id")
    hit = per.hits.cast("float64")
    row = per.aggregate(
        customers=per.count(),
        precision=(hit / top).mean(),
        recall=(hit / per.relevant.cast("float64")).mean(),
        hit_rate=(hit > 0).cast("float64").mean(),
    ).execute().iloc[0]
    return {
        "customers": int(row["customers"]),
        f"precision@{top}": round(float(row["precision"] or 0.0), 4),
        f"recall@{top}": round(float(row["recall"] or 0.0), 4),
        "hit_rate": round(float(row["hit_rate"] or 0.0), 4),
    }


def evaluate(
    recs: ir.Table,
    lines: ir.Table,
    items: ir.Table,
    all_share: ir.Table,
    *,
    as_of: dt.date,
    top: int,
    new_only: bool,
    end: dt.date | None = None,
) -> dict[str, Any]:
    """Scores of ``recs`` and the baselines on purchases from ``as_of`` on (see the module doc)."""
    after = lines.filter(lines.day >= as_of)
    if end is not None:
        after = after.filter(after.day <= end)
    relevant = after.select("customer_id", "product").distinct()
    history = items.select("customer_id").distinct()
    if new_only:
        relevant = relevant.anti_join(items.select("customer_id", "product"), ["customer_id", "product"])
    customers = relevant.select("customer_id").distinct().semi_join(history, "customer_id")
    from segmint.recommendations.scratch import materialize  # the job's scratch tables (dropped at its end)

    con = lines._find_backend()
    relevant, customers = materialize(con, relevant), materialize(con, customers)  # read by every method
    span = after.aggregate(first=after.day.min(), last=after.day.max(), buyers=after.customer_id.nunique()).execute()
    methods: dict[str, ir.Table] = {"segmint": recs.select("customer_id", "product", "rank")}
    own_pairs = items.select("customer_id", "product") if new_only else None
    methods["popular"] = popular(all_share, customers, top, exclude=own_pairs)
    if not new_only:
        methods["own_most_bought"] = own_most_bought(items, customers, top)
        methods["own_then_popular"] = own_then_popular(items, all_share, customers, top)
    scores = {name: metrics(table, relevant, customers, top) for name, table in methods.items()}
    key = f"precision@{top}"
    ours = scores["segmint"][key]
    lifts = {
        f"vs_{name}": (round(ours / score[key] - 1, 4) if score[key] else None)
        for name, score in scores.items() if name != "segmint"
    }
    intervals = {
        f"vs_{name}": lift_interval(methods["segmint"], table, relevant, customers, top)
        for name, table in methods.items() if name != "segmint"
    }
    first, last = span.loc[0, "first"], span.loc[0, "last"]
    return {
        "protocol": (f"trained on lines before {as_of}; scored on products bought from {as_of} on by "
                     "customers who bought before and after; a product counts when the customer bought it"
                     + (" and had never bought it before" if new_only else "")),  # fmt: skip
        "test_period": {"first": str(first)[:10] if first is not None else None,
                        "last": str(last)[:10] if last is not None else None},  # fmt: skip
        "buyers_after": int(span.loc[0, "buyers"] or 0),
        "customers_evaluated": scores["segmint"]["customers"],
        "top": top,
        "methods": {name: {"label": METHOD_LABELS[name], **s} for name, s in scores.items()},
        "precision_lift": lifts,
        "precision_lift_95": intervals,  # approximate 95% interval of each lift (paired by customer)
    }
