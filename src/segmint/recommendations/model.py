"""Product recommendations per customer and per segment, with the evidence that they work: the whole job.

How a customer's top N is chosen (see :mod:`segmint.recommendations.signals` for each signal):

1. Candidates: the customer's own products, products often bought by customers who bought theirs
   (item-to-item co-purchase, computed in the engine), and the recent favourites of their segment
   and of everyone (the last ``window``, 2 months by default, before the as-of date).
2. Each candidate gets a score = the estimated chance that the customer buys it in the next
   ``window``: a logistic blend of the signals. The blend is **learned by measurement** on the
   customer's own data: it is fitted on an inner time split (signals as of ``window`` before the
   as-of date, labels = what each customer bought in that last ``window``), then applied to the
   signals as of the as-of date. With too little history for that split a default blend is used
   (fitted the same way on generated data; see benchmarks/RESULTS.md) and the result says so.
3. The reason names what lifted the product most: the customer's own repeat purchases ("bought 4
   times, last 20 days ago"), a product they bought ("often bought with X"), their segment ("popular
   with At Risk customers in the last 2 months") or everyone.

``evaluate=True`` scores the recommendations against what customers bought after the as-of date,
next to two baselines on the same split (global popularity of the last window, each customer's own
most-bought products); see :mod:`segmint.recommendations.evaluation`. Step 1 and the ranking are in
:mod:`.scoring`, step 2's blend in :mod:`.blend`, the settings in :mod:`.settings`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from segmint.engine import row_count
from segmint.errors import ConfigError, DataError, Fix
from segmint.merchandise import MerchandiseRules
from segmint.recommendations import signals as sig
from segmint.recommendations.blend import Blend
from segmint.recommendations.scoring import build_signals, customer_segments, learn_blend, rank, segments_as_of
from segmint.recommendations.scratch import materialize, scratch_tables
from segmint.recommendations.settings import RecommendConfig, Window

log = logging.getLogger(__name__)


# --- the whole job -------------------------------------------------------------------------------


@dataclass
class RecommendResult:
    """Recommendations, segment favourites, single view, product views and (optionally) evaluation."""

    recommendations: ir.Table | None  # customer_id, product_id, product_name, rank, score, reason, segment
    segment_products: pd.DataFrame
    single_view: pd.DataFrame
    product_sales_by_segment: pd.DataFrame
    product_sales_by_region: pd.DataFrame
    top_products_by_period: pd.DataFrame
    segments: ir.Table  # customer_id, segment (the scheme's, as of ``until``)
    config: RecommendConfig
    until: dt.date  # last day of the lines used
    blend: Blend | None  # None (and no recommendations) when only the product views were asked for
    evaluation: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    single_view_by_category: pd.DataFrame | None = None  # when the data name each product's category
    # product_id, product_name, lines, amount of the items left out as non-merchandise (postage, fees, ...)
    non_merchandise: pd.DataFrame | None = None
    priced: bool = True  # False: the data have no prices and revenue counts items

    def tables(self) -> dict[str, ir.Table | pd.DataFrame]:
        """Name -> table, what ``--out`` writes (evaluation.json is written beside them).

        Without prices a line's value is its quantity: ``revenue`` repeats ``units`` and is left out, and
        other money columns count items (:func:`segmint.units.item_columns`). Sales by country/region are
        left out when the data name no region (every line's would be "(unknown)")."""
        from segmint.recommendations.products import has_regions
        from segmint.units import item_columns

        recs = {} if self.recommendations is None else {"recommendations": self.recommendations.select(
            "customer_id", "product_id", "product_name", "rank", "score", "reason")}
        regions = self.product_sales_by_region
        tables = recs | {
            "segment_products": self.segment_products,
            "single_view": self.single_view,
            "product_sales_by_segment": self.product_sales_by_segment,
            **({"product_sales_by_region": regions} if has_regions(regions) else {}),
            "top_products_by_period": self.top_products_by_period,
        } | ({} if self.single_view_by_category is None else {"single_view_by_category": self.single_view_by_category}) \
          | ({} if self.non_merchandise is None or self.non_merchandise.empty else {"non_merchandise": self.non_merchandise})
        return {name: item_columns(table if self.priced else _units_once(table), self.priced)
                for name, table in tables.items()}

    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's segment and ranked recommendations (JSON-friendly)."""
        recs = self.recommendations
        if recs is None:
            raise ConfigError("these results hold the product views only: ask for recommendations to rank "
                              "products per customer", field="recommendations")
        rows = recs.filter(recs.customer_id == str(customer_id)).order_by("rank").to_pandas()
        if rows.empty:
            raise DataError(
                f"customer {customer_id!r} has no product purchase before {self.until + dt.timedelta(days=1)}; "
                "check the id (ids are text, leading zeros count)", field="customer_id", value=customer_id,
            )
        items = rows[["rank", "product_id", "product_name", "score", "reason"]]
        return {
            "customer_id": str(customer_id),
            "segment": str(rows["segment"].iloc[0]),
            "scheme": self.config.scheme,
            "until": str(self.until),
            "recommendations": [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in items.to_dict("records")
            ],
        }

    def summary(self) -> dict[str, Any]:
        """Settings, counts, the blend and the evaluation (what evaluation.json holds)."""
        return {
            "until": str(self.until),
            "window": Window.parse(self.config.window).label,
            "scheme": self.config.scheme,
            "top": self.config.top,
            "new_only": self.config.new_only,
            "signals": list(self.config.signals),
            "counts": self.counts,
            "non_merchandise": self.non_merchandise_summary(),
            "blend": self.blend.to_dict(),
            "notes": self.notes,
            "evaluation": self.evaluation,
        }

    def non_merchandise_summary(self, limit: int = 50) -> list[dict[str, Any]]:
        """The non-merchandise items left out of product analyses (most lines first, up to ``limit``)."""
        if self.non_merchandise is None:
            return []
        rows = self.non_merchandise.head(limit).astype(object).where(self.non_merchandise.head(limit).notna(), None)
        return rows.to_dict("records")

    def write_summary(self, path: Any) -> Any:
        """Write :meth:`summary` as JSON atomically; returns the path."""
        import json

        from segmint.util import write_text_atomic

        return write_text_atomic(path, json.dumps(self.summary(), indent=2, default=str) + "\n")


def recommend_products(tx: ir.Table, con: Any, config: RecommendConfig, **options: Any) -> RecommendResult:
    """The whole recommendation job on cleaned canonical transactions (see the module doc).

    ``options``: ``until``, ``evaluate``, ``priced``, ``segment_config``, ``progress`` (see
    :func:`segmint.recommend`). Scratch tables are dropped; the result keeps only its own.
    """
    with scratch_tables(con) as keep:
        result = _recommend_products(tx, con, config, **options)
        keep.update({result.segments.op().name}
                    | ({result.recommendations.op().name} if result.recommendations is not None else set()))
    return result


def _recommend_products(
    tx: ir.Table,
    con: Any,
    config: RecommendConfig,
    *,
    until: dt.date | str | None = None,
    evaluate: bool = False,
    priced: bool = True,
    segment_config: Any = None,
    progress: Callable[[str], None] | None = None,
    picks: bool = True,
    frequency: str = "auto",
) -> RecommendResult:
    from segmint.recommendations import products
    from segmint.features import _as_date
    from segmint.recommendations.evaluation import evaluate as run_evaluation

    step = progress or (lambda message: log.info(message))
    window = Window.parse(config.window)
    step("finding purchase lines")
    left_out = MerchandiseRules.default(config.treat_as_products, config.treat_as_services).find(tx)
    lines = materialize(con, sig.purchase_lines(tx, left_out=left_out))
    services = left_out.items
    stats = tx.aggregate(
        lines=tx.count(), no_product=sig.product_key(tx).isnull().sum(), returns=tx.is_return.fill_null(False).sum(),
        last=tx.invoice_date.max(),
    ).execute().iloc[0]  # fmt: skip
    n_lines = row_count(lines)
    if n_lines == 0:
        raise DataError(
            "recommendations need products: no line has a product id or name (map a product column)"
            + (f", or every product is non-merchandise ({left_out.note}; name the real products in "
               "treat_as_products)" if left_out.note else "")
            + "; segments work without one",
            field="product_id", fix=Fix(option="mapping", example={"product_id": "StockCode"}),
        )
    last_day = pd.Timestamp(stats["last"]).date()
    until_day = _as_date(until, "until")
    notes: list[str] = []
    if until_day is None:
        until_day = window.start(last_day + dt.timedelta(days=1)) - dt.timedelta(days=1) if evaluate else last_day
        if evaluate:
            notes.append(f"no 'until' date given: trained on lines up to {until_day} and evaluated on the "
                         f"last {window.label} of the data")  # fmt: skip
    as_of = until_day + dt.timedelta(days=1)
    if evaluate and as_of > last_day:
        raise ConfigError(
            f"until {until_day} leaves no purchase after it to evaluate on (the data end {last_day}); "
            "choose an earlier date",
            field="until", value=str(until_day), fix=Fix(option="until", example=str(window.start(last_day))),
        )
    no_product = int(stats["no_product"] or 0)
    if no_product:
        notes.append(f"{no_product:,} lines without a product (e.g. a blank product_json) are kept for sales "
                     "but left out of product analyses")  # fmt: skip
    if left_out.note:
        notes.append(left_out.note)
    counts = {"lines": int(stats["lines"]), "purchase_lines": n_lines, "lines_without_product": no_product,
              "return_lines": int(stats["returns"] or 0), "non_merchandise_lines": int(services["lines"].sum()),
              "non_merchandise_items": len(services)}  # fmt: skip

    def segment_fn(day: dt.date) -> ir.Table:
        return materialize(con, segments_as_of(tx, config.scheme, day, segment_config, left_out, frequency))

    before = lines.filter(lines.day < as_of)
    names = materialize(con, sig.product_names(before))
    blend = recs = None
    if picks:
        step("learning the blend on an inner time split")
        with scratch_tables(con):  # the inner split's tables are not needed once the blend is fitted
            blend = learn_blend(con, tx, lines, as_of, config, segment_fn)
        step("scoring candidates")
        segments = segment_fn(as_of)
        signals = build_signals(con, tx, lines, segments, as_of, config)
        targets = signals.targets
        recs = materialize(con, rank(signals, blend, names, config))
        counts.update(recommendations=row_count(recs))
    else:  # the product views need each customer's segment only: no blend, no candidates (the slow part)
        segments = segment_fn(as_of)
        targets = customer_segments(con, before, segments)
    counts.update(customers=row_count(targets), products=row_count(names))
    evaluation = None
    if evaluate and recs is not None:
        step("evaluating against later purchases")
        evaluation = run_evaluation(
            recs.select("customer_id", product="product_id", rank="rank"), lines, signals.items,
            signals.all_share, as_of=as_of, top=config.top, new_only=config.new_only,
        )  # fmt: skip
    step("building product views")
    labelled = segments.select("customer_id", "segment", "segment_order")
    everyone = targets.left_join(labelled, "customer_id").drop("customer_id_right", "segment_right")
    everyone = everyone.mutate(segment_order=everyone.segment_order.fill_null(-1))
    favourites = products.segment_favourites(
        before, everyone, window.start(as_of), as_of, names, favourites=config.favourites,
        min_buyers=config.min_buyers,
    )  # fmt: skip
    view, note = products.single_view(
        before, {config.scheme: targets}, products=config.single_view_products,
        values=config.single_view_values, priced=priced,
    )  # fmt: skip
    notes.append(note)
    by_category = None
    if "category" in tx.columns:  # a mapped category column (or product_json items with a category)
        with_category = before.filter(before.category.notnull())
        if int(with_category.count().execute()):
            by_category, note = products.single_view(
                before, {config.scheme: targets}, products=config.single_view_products,
                values=config.single_view_values, priced=priced, by="category",
            )  # fmt: skip
            notes.append(note)
    period = _view_period(before)
    if not priced:
        notes.append("no prices in the data: amounts count items, the same as the units columns (no revenue "
                     "columns are written)")
    regions = products.product_sales(before, "country", period=period, priced=priced)
    if not products.has_regions(regions):
        notes.append("no country/region in the data: product sales by region are not written")
    return RecommendResult(
        recommendations=recs,
        segment_products=favourites,
        single_view=view,
        product_sales_by_segment=products.product_sales(before, targets, period=period, priced=priced),
        product_sales_by_region=regions,
        top_products_by_period=products.top_products_by_period(before, period=period, priced=priced),
        segments=targets,
        config=config,
        until=until_day,
        blend=blend,
        evaluation=evaluation,
        notes=notes,
        counts=counts,
        single_view_by_category=by_category,
        non_merchandise=services,
        priced=priced,
    )


def _units_once(table: ir.Table | pd.DataFrame) -> ir.Table | pd.DataFrame:
    """A product table of data without prices, where a line's value is its quantity: ``revenue`` left out
    beside ``units`` (the same sum), and the non-merchandise lines' ``amount`` named ``items``."""
    if not isinstance(table, pd.DataFrame):
        return table
    if {"revenue", "units"} <= set(table.columns):
        return table.drop(columns="revenue")
    return table.rename(columns={"amount": "items"}) if "items" not in table.columns else table


def _view_period(lines: ir.Table) -> str:
    """Months for up to three years of data, quarters beyond."""
    span = lines.aggregate(first=lines.day.min(), last=lines.day.max()).execute().iloc[0]
    days = (pd.Timestamp(span["last"]) - pd.Timestamp(span["first"])).days
    return "month" if days <= 3 * 366 else "quarter"
