"""The signals recommendations are built from, as Ibis expressions that run in the engine.

Definitions (``as_of`` is the first day NOT used: everything is computed from lines before it):

* A *purchase line* is a line with a product (``product_id``, else ``product_name``), a positive
  quantity, not a return or cancellation and not a non-merchandise line (postage, fees, discounts:
  :mod:`segmint.merchandise`). Returns never count as purchases; a product whose
  returned units reach the units a customer bought is treated as not wanted by that customer.
* A *visit* is a customer and a calendar day with at least one purchase line (so files without
  invoice numbers, where every line is its own invoice, still have baskets).
* Own repurchase (per customer and product): visits with the product ``n``, ``share`` = n / the
  customer's visits, days since the last one, exponential recency weights, and a recency-weighted
  count ``dec90`` (each visit weighs 2^(-age / 90 days) ... written as exp(-age/90)).
* Item-to-item similarity: cosine of the customer x product purchase matrix (customers who bought
  both / sqrt(buyers of each)), over each customer's ``per_customer`` most recency-weighted
  products, keeping ``neighbours`` products per product with at least ``min_common`` common buyers.
  A customer's co-purchase score for a product is the recency-weighted mean similarity to what they
  bought, with the product that contributed most (the reason's "often bought with X").
* Segment favourites: share of a segment's shoppers (customers who bought anything in the recent
  window) who bought the product there, next to the same share over all shoppers (the ratio is the
  lift).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.features import product_of
from segmint.merchandise import MerchandiseRules, NonMerchandise

SMOOTH = 1e-3  # floor of the share features before taking logs (a product nobody bought)
NO_SEGMENT = "(no segment)"
OWN_FEATURES = ("f_own", "f_log_n", "f_share", "f_rec30", "f_rec180", "f_dec30", "f_dec90", "f_dec365", "f_win",
                "f_last", "f_once", "f_cycle", "f_due", "f_own_rep", "f_since", "f_visits", "f_prob")  # fmt: skip
PRIOR_SHOPPERS = 20  # pseudo-shoppers at the overall rate added to a segment (shrinks small segments' shares)


def product_key(tx: ir.Table) -> ir.StringValue:
    """The product a line is about: its id, else its name (blank -> NULL); as ``n_products`` counts them."""
    return product_of(tx)


def purchase_lines(tx: ir.Table, before: dt.date | None = None, left_out: NonMerchandise | None = None) -> ir.Table:
    """customer_id, product, product_name, day, units, revenue, country, category of purchase lines.

    Non-merchandise lines (postage, fees, discounts, ...: ``left_out``, default what the packaged rule
    table finds in ``tx``) are no purchase of a product. Lines before ``before`` only, when given;
    ``category`` is NULL when the data have none.
    """
    product = product_key(tx)
    left_out = left_out or MerchandiseRules.default().find(tx)
    kept = tx.filter(~tx.is_return.fill_null(False), tx.quantity.fill_null(1.0) > 0, product.notnull(),
                     ~left_out.flag(tx))  # fmt: skip
    if before is not None:
        kept = kept.filter(kept.invoice_date < _midnight(before))
    return kept.select(
        customer_id=kept.customer_id,
        product=product_key(kept),
        product_name=ibis.coalesce(kept.product_name, kept.product_id),
        day=kept.invoice_date.date(),
        units=kept.quantity.fill_null(1.0),
        revenue=kept.amount,
        country=kept.country,
        category=kept.category if "category" in kept.columns else ibis.null("string"),
    )


def returned_products(tx: ir.Table, before: dt.date | None = None) -> ir.Table:
    """(customer_id, product) whose returned units reach the units bought (before ``before``)."""
    product = product_key(tx)
    lines = tx.filter(product.notnull())
    if before is not None:
        lines = lines.filter(lines.invoice_date < _midnight(before))
    units = lines.quantity.fill_null(1.0).abs()
    returned = lines.is_return.fill_null(False)
    per = lines.group_by(customer_id=lines.customer_id, product=product_key(lines)).aggregate(
        bought=units.sum(where=~returned), back=units.sum(where=returned)
    )
    return per.filter(per.back.fill_null(0) >= per.bought.fill_null(0)).select("customer_id", "product")


def product_names(lines: ir.Table) -> ir.Table:
    """product -> product_name (the name on most of its lines)."""
    counts = lines.group_by("product", "product_name").aggregate(n=lines.count())
    return counts.group_by("product").aggregate(product_name=counts.product_name.argmax(counts.n))


def customer_items(lines: ir.Table, as_of: dt.date, window_start: dt.date | None = None) -> ir.Table:
    """Own-repurchase features per (customer_id, product) from purchase lines before ``as_of``.

    ``own_rank`` (0 = first) orders each customer's products by recency-weighted visits.

    ``window_start`` starts the recent window (default 60 days before ``as_of``): visits in it,
    and the length of the window the repurchase cycle is compared with.
    """
    window_start = window_start or as_of - dt.timedelta(days=60)
    window_days = float(max((as_of - window_start).days, 1))
    visits = lines.group_by("customer_id", "product", "day").aggregate(units=lines.units.sum())
    age = ibis.literal(as_of, type="date").delta(visits.day, unit="day").cast("float64")
    per = visits.group_by("customer_id", "product").aggregate(
        n=visits.count(),
        units=visits.units.sum(),
        first_day=visits.day.min(),
        last_day=visits.day.max(),
        dec30=(-age / 30.0).exp().sum(),
        dec90=(-age / 90.0).exp().sum(),
        dec365=(-age / 365.0).exp().sum(),
        n_win=(visits.day >= window_start).sum(),
    )
    days = lines.select("customer_id", "day").distinct()
    days = days.mutate(visit_no=ibis.row_number().over(group_by=days.customer_id, order_by=days.day) + 1)
    recent_days = float(min(365, max(window_days, 180)))
    totals = days.group_by("customer_id").aggregate(
        visits=days.count(), last_visit=days.day.max(), first_visit=days.day.min(),
        visits_recent=(ibis.literal(as_of, type="date").delta(days.day, unit="day") < recent_days).sum(),
    )
    pairs = per.group_by("customer_id").aggregate(pairs=per.n.sum(), products=per.count())
    firsts = days.select("customer_id", first_day="day", first_no="visit_no")
    joined = per.inner_join(totals, "customer_id").inner_join(pairs, "customer_id")
    joined = joined.inner_join(firsts, ["customer_id", "first_day"])
    since = ibis.literal(as_of, type="date").delta(joined.last_day, unit="day").cast("float64")
    span = joined.last_day.delta(joined.first_day, unit="day").cast("float64")
    tenure = ibis.literal(as_of, type="date").delta(joined.first_visit, unit="day").cast("float64")
    repeated = joined.n > 1
    gap = ibis.greatest(span / (joined.n - 1).cast("float64"), 1.0)  # mean days between re-purchases
    repeat_share = (joined.pairs - joined.products).cast("float64") / (joined.pairs + 5).cast("float64")
    exposure = (joined.visits - joined.first_no + 1).cast("float64")  # visits since the first purchase of it
    per_visit = joined.n.cast("float64") / (exposure + 1.0)
    expected_visits = joined.visits_recent.cast("float64") / tenure.clip(30.0, recent_days) * window_days
    items = joined.select(
        "customer_id", "product", "n", "units", "last_day", "visits",
        days_since=since.cast("int64"),
        f_own=ibis.literal(1.0),
        f_log_n=(joined.n.cast("float64") + 1).ln(),
        f_share=joined.n.cast("float64") / joined.visits.cast("float64"),
        f_rec30=(-since / 30.0).exp(),
        f_rec180=(-since / 180.0).exp(),
        f_dec30=(joined.dec30 + 1).ln(),
        f_dec90=(joined.dec90 + 1).ln(),
        f_dec365=(joined.dec365 + 1).ln(),
        f_win=(joined.n_win.cast("float64") + 1).ln(),
        f_last=(joined.last_day == joined.last_visit).cast("float64"),
        f_once=(~repeated).cast("float64"),
        f_cycle=ibis.cases((repeated, (window_days / gap).ln().clip(-3.0, 3.0)), else_=0.0),
        f_due=ibis.cases((repeated, (since / gap).clip(0.0, 4.0)), else_=0.0),
        f_own_rep=repeat_share,
        f_since=per_visit,
        f_visits=(expected_visits + 1).ln(),
        f_prob=1.0 - (-(expected_visits * per_visit)).exp(),
    )
    # the customer's products by recency-weighted visits: computed once, used to pick the own
    # candidates and the products co-purchase starts from
    own_rank = ibis.row_number().over(
        group_by=items.customer_id, order_by=[ibis.desc(items.f_dec90), ibis.desc(items.n), items.product]
    )
    return items.mutate(own_rank=own_rank)


def top_customer_items(items: ir.Table, limit: int) -> ir.Table:
    """Each customer's ``limit`` most recency-weighted products, with weight = share of their total."""
    top = items.filter(items.own_rank < limit)
    total = top.f_dec90.sum().over(group_by=top.customer_id)
    return top.select("customer_id", "product", weight=top.f_dec90 / total)


def item_neighbours(top_items: ir.Table, *, neighbours: int = 30, min_common: int = 2) -> ir.Table:
    """product, neighbour, similarity (cosine over customers), common buyers; top ``neighbours`` each."""
    pairs_left = top_items.select(customer_id="customer_id", product="product")
    pairs_right = top_items.select(customer_id="customer_id", neighbour="product")
    pairs = pairs_left.inner_join(pairs_right, "customer_id").filter(lambda t: t.product != t.neighbour)
    common = pairs.group_by("product", "neighbour").aggregate(common=pairs.count())
    common = common.filter(common.common >= min_common)
    buyers = top_items.group_by("product").aggregate(buyers=top_items.count())
    left = buyers.select(product="product", buyers_a="buyers")
    right = buyers.select(neighbour="product", buyers_b="buyers")
    sims = common.inner_join(left, "product").inner_join(right, "neighbour")
    similarity = sims.common.cast("float64") / (sims.buyers_a * sims.buyers_b).cast("float64").sqrt()
    sims = sims.select("product", "neighbour", "common", similarity=similarity)
    rank = ibis.row_number().over(
        group_by=sims.product, order_by=[ibis.desc(sims.similarity), ibis.desc(sims.common), sims.neighbour]
    )
    return sims.mutate(_rank=rank).filter(lambda t: t._rank < neighbours).drop("_rank")


def copurchase_scores(top_items: ir.Table, neighbours: ir.Table, limit: int) -> ir.Table:
    """customer_id, product, f_cf (weighted mean similarity to the customer's products); top ``limit``.

    The product behind a score (the reason's "often bought with X") is found afterwards, for the
    recommended products only (:func:`copurchase_because`): an arg-max over every (customer,
    product) pair here cost more than the whole rest of the scoring.
    """
    joined = top_items.inner_join(neighbours, "product")
    scored = joined.group_by(customer_id=joined.customer_id, target=joined.neighbour).aggregate(
        f_cf=(joined.weight * joined.similarity).sum()
    )
    rank = ibis.row_number().over(
        group_by=scored.customer_id, order_by=[ibis.desc(scored.f_cf), scored.target]
    )
    top = scored.mutate(_rank=rank).filter(lambda t: t._rank < limit)
    return top.select("customer_id", product="target", f_cf="f_cf")


def copurchase_because(recs: ir.Table, top_items: ir.Table, neighbours: ir.Table) -> ir.Table:
    """customer_id, product, because: the customer's product that adds most to ``recs``' co-purchase score."""
    links = neighbours.select(item="product", product="neighbour", similarity="similarity")
    joined = recs.select("customer_id", "product").inner_join(links, "product")  # what points at each pick
    mine = top_items.select("customer_id", item="product", weight="weight")
    joined = joined.inner_join(mine, ["customer_id", "item"])  # ... and which of those the customer bought
    contribution = joined.weight * joined.similarity
    order = ibis.row_number().over(
        group_by=[joined.customer_id, joined.product], order_by=[ibis.desc(contribution), joined.item]
    )
    best = joined.mutate(_rank=order).filter(lambda t: t._rank == 0)
    return best.select("customer_id", "product", because="item")


def segment_shares(lines: ir.Table, segments: ir.Table, start: dt.date, as_of: dt.date) -> tuple[ir.Table, ir.Table]:
    """(segment x product shares, product shares of all customers) of buyers in [start, as_of).

    Shares are over the customers who bought anything in the window (a segment that did not shop
    has no favourites): the first table has segment, product, buyers, segment_buyers, share; the
    second product, buyers_all, share_all.
    """
    recent = lines.filter(lines.day >= start, lines.day < as_of)
    buyers = recent.select("customer_id", "product").distinct()
    labelled = buyers.inner_join(segments.select("customer_id", "segment"), "customer_id")
    shoppers = labelled.select("customer_id", "segment").distinct()
    sizes = shoppers.group_by("segment").aggregate(segment_buyers=shoppers.count())
    total = max(int(shoppers.count().execute()), 1)
    per_segment = labelled.group_by("segment", "product").aggregate(buyers=labelled.count())
    per_segment = per_segment.inner_join(sizes, "segment")
    per_segment = per_segment.mutate(
        share=per_segment.buyers.cast("float64") / per_segment.segment_buyers.cast("float64")
    )
    overall = labelled.group_by("product").aggregate(buyers_all=labelled.count())
    overall = overall.mutate(share_all=overall.buyers_all.cast("float64") / total)
    return per_segment, overall


def product_signals(lines: ir.Table, all_share: ir.Table, start: dt.date, as_of: dt.date) -> ir.Table:
    """Per product bought before ``as_of``: f_trend, f_newp and irep (see the module doc).

    * ``f_trend``: log of the product's share of shoppers in the last quarter of the window (at
      least 14 days) over its share in the whole window (rising: seasonal or new products);
    * ``f_newp``: 1 when the product's first sale is in the window (a new product);
    * ``irep``: of the customers who bought the product before the window and shopped in it, the
      share who bought it again there, shrunk towards the overall rate (how re-bought it is).
    """
    recent_start = max(start, as_of - dt.timedelta(days=max(14, (as_of - start).days // 4)))
    late = lines.filter(lines.day >= recent_start, lines.day < as_of)
    late_shoppers = max(int(late.customer_id.nunique().execute()), 1)
    late_share = late.group_by("product").aggregate(late=late.customer_id.nunique())
    before = lines.filter(lines.day < start).select("customer_id", "product").distinct()
    window = lines.filter(lines.day >= start, lines.day < as_of)
    active = window.select("customer_id").distinct()
    had = before.semi_join(active, "customer_id")
    again = had.semi_join(window.select("customer_id", "product").distinct(), ["customer_id", "product"])
    had_n = had.group_by("product").aggregate(had=had.count())
    again_n = again.group_by("product").aggregate(again=again.count())
    rates = had_n.aggregate(had=had_n.had.sum()).execute().iloc[0]["had"] or 0
    overall_rate = (int(again_n.aggregate(a=again_n.again.sum()).execute().iloc[0]["a"] or 0) / rates) if rates else 0.0
    first = lines.filter(lines.day < as_of).group_by("product").aggregate(first_day=lambda t: t.day.min())
    joined = first.left_join(all_share.select("product", "share_all"), "product").drop("product_right")
    joined = joined.left_join(late_share, "product").drop("product_right")
    joined = joined.left_join(had_n, "product").drop("product_right")
    joined = joined.left_join(again_n, "product").drop("product_right")
    share_all = joined.share_all.fill_null(0.0)
    share_late = joined.late.fill_null(0).cast("float64") / late_shoppers
    prior = 5.0
    return joined.select(
        "product",
        f_trend=((share_late + SMOOTH) / (share_all + SMOOTH)).ln(),
        f_newp=(joined.first_day >= start).cast("float64"),
        irep=(joined.again.fill_null(0).cast("float64") + prior * overall_rate)
        / (joined.had.fill_null(0).cast("float64") + prior),
    )


def top_by_share(shares: ir.Table, group: str | None, limit: int) -> ir.Table:
    """The ``limit`` products with the highest share (per ``group`` when given)."""
    share = "share" if group else "share_all"
    order = [ibis.desc(shares[share]), shares.product]
    rank = ibis.row_number().over(group_by=shares[group], order_by=order) if group else ibis.row_number().over(
        order_by=order
    )
    return shares.mutate(_rank=rank).filter(lambda t: t._rank < limit).drop("_rank")


def candidates(
    targets: ir.Table,
    items: ir.Table,
    copurchase: ir.Table | None,
    segment_share: ir.Table,
    all_share: ir.Table,
    unwanted: ir.Table,
    *,
    own_limit: int,
    popular_limit: int,
    new_only: bool,
    product_features: ir.Table | None = None,
) -> ir.Table:
    """Candidate (customer, product) pairs for ``targets`` (customer_id, segment) with every feature.

    Candidates are the customer's own products (their ``own_limit`` most recency-weighted), their
    co-purchase neighbours, their segment's and everyone's ``popular_limit`` favourites; features
    are 0 where a signal does not apply. Products returned in full are never candidates.
    """
    own = items.filter(items.own_rank < own_limit).semi_join(targets.select("customer_id"), "customer_id")
    sources = [own.select("customer_id", "product")]
    if copurchase is not None:
        cf = copurchase.inner_join(targets.select("customer_id"), "customer_id")
        sources.append(cf.select("customer_id", "product"))
    seg_top = top_by_share(segment_share, "segment", popular_limit)
    sources.append(targets.inner_join(seg_top.select("segment", "product"), "segment").select("customer_id", "product"))
    pop_top = top_by_share(all_share, None, popular_limit).select("product")
    sources.append(targets.select("customer_id").cross_join(pop_top))
    pairs = ibis.union(*sources, distinct=True)
    pairs = pairs.anti_join(unwanted, ["customer_id", "product"])
    if new_only:
        pairs = pairs.anti_join(items.select("customer_id", "product"), ["customer_id", "product"])
    own_cols = list(OWN_FEATURES)
    joined = pairs.inner_join(targets, "customer_id")
    joined = joined.left_join(items.select("customer_id", "product", "n", "days_since", *own_cols),
                              ["customer_id", "product"]).drop("customer_id_right", "product_right")
    if copurchase is not None:
        joined = joined.left_join(copurchase, ["customer_id", "product"]).drop("customer_id_right", "product_right")
    else:
        joined = joined.mutate(f_cf=ibis.literal(0.0))
    seg = segment_share.select("segment", "product", seg_share="share", seg_buyers="buyers")
    sizes = segment_share.select("segment", "segment_buyers").distinct()
    joined = joined.left_join(seg, ["segment", "product"]).drop("segment_right", "product_right")
    joined = joined.left_join(sizes, "segment").drop("segment_right")
    joined = joined.left_join(all_share.select("product", "share_all"), "product").drop("product_right")
    if product_features is not None:
        joined = joined.left_join(product_features, "product").drop("product_right")
    else:
        joined = joined.mutate(f_trend=ibis.literal(0.0), f_newp=ibis.literal(0.0), irep=ibis.literal(0.0))
    fills = {c: joined[c].fill_null(0.0) for c in [*own_cols, "f_cf", "f_trend", "f_newp"]}
    share_all = joined.share_all.fill_null(0.0)
    # the segment's share shrunk towards everyone's: PRIOR_SHOPPERS pseudo-shoppers at the overall rate
    smoothed = (joined.seg_buyers.fill_null(0) + PRIOR_SHOPPERS * share_all) / (
        joined.segment_buyers.fill_null(0) + PRIOR_SHOPPERS
    )
    return joined.mutate(
        **fills,
        n=joined.n.fill_null(0),
        seg_share=joined.seg_share.fill_null(0.0),
        share_all=share_all,
        f_seg=(smoothed + SMOOTH).ln(),
        f_pop=(share_all + SMOOTH).ln(),
        f_own_irep=joined.f_own.fill_null(0.0) * joined.irep.fill_null(0.0),
        f_own_trend=joined.f_own.fill_null(0.0) * joined.f_trend.fill_null(0.0),
    ).drop("seg_buyers", "segment_buyers", "irep")


def _midnight(day: dt.date) -> ir.TimestampScalar:
    return ibis.literal(dt.datetime(day.year, day.month, day.day), type="timestamp")
