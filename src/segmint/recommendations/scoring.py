"""Scoring as of a date: the segments, every signal and the candidates, the blend learned on the inner
split, and the ranked top N with a reason each (all engine queries but the blend's fit)."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine import row_count
from segmint.merchandise import NonMerchandiseValues
from segmint.recommendations import signals as sig
from segmint.recommendations.blend import Blend, choose_features, default_blend, feature_sets, features_for, fit_blend
from segmint.recommendations.scratch import materialize
from segmint.recommendations.settings import MIN_FIT_CUSTOMERS, SIGNALS, RecommendConfig, Window

log = logging.getLogger(__name__)


# --- segments ------------------------------------------------------------------------------------


def segments_as_of(
    tx: ir.Table, scheme: str, as_of: dt.date, config: Any = None, left_out: NonMerchandiseValues | None = None,
    frequency: str = "auto",
) -> ir.Table:
    """customer_id, segment, segment_order of every segmented customer, from lines before ``as_of``.

    rfm/levels/tiers/clusters segment the whole history; ``value`` is each customer's segment in
    the latest complete quarter of their story (value quartiles). ``left_out``: the non-merchandise
    codes and names already found (the features need not look for them again). ``frequency``: the
    purchase unit as ``segmint.analyze`` counts it ("auto": days when the data have no invoice column),
    so a customer is in the same segment here as in the segment tables.
    """
    from segmint import features as feat

    unit, _ = feat.resolve_frequency(tx, frequency)
    if scheme == "value":
        from segmint.story import period_segments

        window = feat.filter_window(tx, before=as_of)
        per = period_segments(window, period="quarter", scheme="value", frequency=unit)
        latest = per.filter(per.period_index == per.period_index.max())
        return latest.select("customer_id", "segment", "segment_order")
    from segmint.segment import get_scheme

    stats = feat.customer_line_stats(tx, snapshot_date=as_of, non_merchandise=left_out)
    features = feat.customer_features(tx, snapshot_date=as_of, frequency=unit, line_stats=stats)
    labelled = get_scheme(scheme).assign(features, config)
    return labelled.select("customer_id", "segment", labelled.segment_order.cast("int64"))


def customer_segments(con: Any, lines: ir.Table, segments: ir.Table) -> ir.Table:
    """Every customer with purchase lines, with their segment (NO_SEGMENT when unsegmented)."""
    customers = lines.select("customer_id").distinct()
    joined = customers.left_join(segments, "customer_id")
    return materialize(con, joined.select(
        customer_id=joined.customer_id, segment=joined.segment.fill_null(sig.NO_SEGMENT)))  # fmt: skip


# --- signals, the inner split and the ranking ----------------------------------------------------


@dataclass
class Signals:
    """Everything computed as of one date: targets, own items, shares, candidates with features."""

    as_of: dt.date
    targets: ir.Table
    items: ir.Table
    segment_share: ir.Table
    all_share: ir.Table
    candidates: ir.Table
    top_items: ir.Table | None = None  # co-purchase inputs (None without that signal)
    neighbours: ir.Table | None = None


def build_signals(
    con: Any, tx: ir.Table, lines: ir.Table, segments: ir.Table, as_of: dt.date, config: RecommendConfig,
    only: ir.Table | None = None,
) -> Signals:
    """All signals as of ``as_of`` (lines before it) and the candidates of ``only`` (default everyone)."""
    window = Window.parse(config.window)
    before = lines.filter(lines.day < as_of)
    items = materialize(con, sig.customer_items(before, as_of, window.start(as_of)))
    targets = customer_segments(con, before, segments)
    wanted = targets if only is None else targets.semi_join(only, "customer_id")
    seg_share, all_share = sig.segment_shares(before, targets, window.start(as_of), as_of)
    seg_share, all_share = materialize(con, seg_share), materialize(con, all_share)
    copurchase = top = neighbours = None
    if "copurchase" in config.signals:
        top = materialize(con, sig.top_customer_items(items, config.per_customer))
        neighbours = materialize(con, sig.item_neighbours(top, neighbours=config.neighbours))
        chosen = top.semi_join(wanted.select("customer_id"), "customer_id")
        copurchase = sig.copurchase_scores(chosen, neighbours, config.copurchase_limit)
    unwanted = sig.returned_products(tx, before=as_of)
    product_features = materialize(con, sig.product_signals(before, all_share, window.start(as_of), as_of))
    cands = sig.candidates(
        wanted, items, copurchase, seg_share, all_share, unwanted,
        own_limit=config.own_limit, popular_limit=config.popular_limit, new_only=config.new_only,
        product_features=product_features,
    )  # fmt: skip
    return Signals(as_of, targets, items, seg_share, all_share, materialize(con, cands), top, neighbours)


def learn_blend(
    con: Any, tx: ir.Table, lines: ir.Table, as_of: dt.date, config: RecommendConfig,
    segment_fn: Callable[[dt.date], ir.Table],
) -> Blend:
    """Fit the blend on the inner split: signals as of ``window`` before ``as_of``, labels after it."""
    names = features_for(config)
    inner = Window.parse(config.window).start(as_of)
    history = lines.filter(lines.day < inner).select("customer_id").distinct()
    later = lines.filter(lines.day >= inner, lines.day < as_of)
    eligible = later.select("customer_id").distinct().semi_join(history, "customer_id")
    sample = eligible.order_by(eligible.customer_id.hash(), "customer_id").limit(config.fit_customers)
    sample = materialize(con, sample)
    n_customers = row_count(sample)
    if n_customers < MIN_FIT_CUSTOMERS:
        log.info("only %d customers on the inner split: default blend", n_customers)
        return default_blend(config)
    signals = build_signals(con, tx, lines, segment_fn(inner), inner, config, only=sample)
    bought = later.select("customer_id", "product").distinct().mutate(label=ibis.literal(1, "int8"))
    labelled = signals.candidates.left_join(bought, ["customer_id", "product"])
    frame = labelled.select("customer_id", "product", "share_all", *names,
                            label=labelled.label.fill_null(0)).to_pandas()  # fmt: skip
    positives = int(frame["label"].sum())
    if positives < MIN_FIT_CUSTOMERS or positives == len(frame):
        return default_blend(config)
    chosen, cv = choose_features(frame, names, config.top)
    features, strength = feature_sets(names)[chosen]
    blend = fit_blend(frame, features, f"{chosen}, fitted on {n_customers:,} customers: signals "
                      f"before {inner}, purchases {inner} to {as_of - dt.timedelta(days=1)}", strength)  # fmt: skip
    blend.fit.update(chosen=chosen, l2_strength=strength, **{f"cv_precision@{config.top}": cv})
    blend.fit.update(fit_customers=n_customers, fit_candidates=len(frame), fit_positives=positives,
                     fit_recall_of_candidates=_candidate_recall(later, sample, frame))  # fmt: skip
    return blend


def _candidate_recall(later: ir.Table, sample: ir.Table, frame: pd.DataFrame) -> float:
    """Share of the sample's next-window products that were among the candidates at all."""
    wanted = later.semi_join(sample, "customer_id").select("customer_id", "product").distinct()
    total = int(wanted.count().execute())
    return round(float(frame["label"].sum()) / total, 4) if total else 0.0


def rank(signals: Signals, blend: Blend, names: ir.Table, config: RecommendConfig) -> ir.Table:
    """Top ``config.top`` per customer with score (0..1) and reason; product names attached."""
    window = Window.parse(config.window)
    cands = signals.candidates
    scored = cands.mutate(_linear=blend.linear(cands))
    order = ibis.row_number().over(
        group_by=scored.customer_id,
        order_by=[ibis.desc(scored._linear), ibis.desc(scored.share_all), scored.product],
    )
    top = scored.mutate(rank=order + 1).filter(lambda t: t.rank <= config.top)
    if signals.top_items is not None and signals.neighbours is not None:
        linked = top.filter(top.f_cf > 0).select("customer_id", "product")
        found = sig.copurchase_because(linked, signals.top_items, signals.neighbours)
        top = top.left_join(found, ["customer_id", "product"]).drop("customer_id_right", "product_right")
    else:
        top = top.mutate(because=ibis.null("string"))
    because = names.select(because="product", because_name="product_name")
    top = top.left_join(because, "because").drop("because_right")
    top = top.left_join(names, "product").drop("product_right")
    return top.select(
        customer_id=top.customer_id,
        product_id=top.product,
        product_name=top.product_name.fill_null(top.product),
        rank=top.rank.cast("int64"),
        score=(1.0 / (1.0 + (-top._linear).exp())).round(4),
        reason=_reason(top, blend, window),
        segment=top.segment,
    ).order_by("customer_id", "rank")


def _reason(t: ir.Table, blend: Blend, window: Window) -> ir.StringValue:
    """What lifted the product most above a typical candidate, in words."""
    def lift(name: str) -> ir.NumericValue:
        if name not in blend.weights:
            return ibis.literal(-math.inf)
        return (t[name] - blend.means.get(name, 0.0)) * blend.weights[name]

    times = ibis.cases((t.n == 1, "once"), (t.n == 2, "twice"), else_=t.n.cast("string") + " times")
    since = ibis.cases((t.days_since == 0, "today"), (t.days_since == 1, "yesterday"),
                       else_=t.days_since.cast("string") + " days ago")  # fmt: skip
    own = "bought " + times + ", last " + since
    cf = "often bought with " + t.because_name.fill_null(t.because)
    in_window = f" in the last {window.label}"
    seg_pct = _percent(t.seg_share)
    seg = "popular with " + t.segment + " customers" + in_window + " (bought by " + seg_pct + " of those who shopped)"
    pop = "popular with all customers" + in_window + " (bought by " + _percent(t.share_all) + " of shoppers)"
    cf_lift = ibis.cases((t.because.notnull() & (t.f_cf > 0), lift("f_cf")), else_=-math.inf)
    seg_lift = ibis.cases(
        ((t.segment != sig.NO_SEGMENT) & (t.seg_share > t.share_all), lift("f_seg")), else_=-math.inf
    )
    pop_lift = lift("f_pop")
    own_used = any(name in blend.weights for name in SIGNALS["own"])  # not so for popularity alone
    return ibis.cases(
        ((t.n > 0) & own_used, own),
        ((cf_lift >= seg_lift) & (cf_lift >= pop_lift) & (cf_lift > -math.inf), cf),
        ((seg_lift >= pop_lift) & (seg_lift > -math.inf), seg),
        else_=pop,
    )


def _percent(share: ir.NumericValue) -> ir.StringValue:
    pct = share * 100
    return ibis.cases((pct >= 10, pct.round(0).cast("int64").cast("string")),
                      else_=pct.round(1).cast("string")) + "%"  # fmt: skip

