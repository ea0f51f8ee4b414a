"""The product side of the customer view: segment favourites, the wide single view, product sales.

All tables come from purchase lines (:func:`segmint.recommendations.signals.purchase_lines`: returns and
lines without a product never count) and are bounded: a fixed number of products per segment, per
period, or as columns, so they stay small with millions of lines.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

__all__ = ["bought_more", "has_regions", "product_sales", "segment_favourites", "single_view", "too_few_buyers",
           "top_products_by_period", "unestablished"]

UNKNOWN_REGION = "(unknown)"  # product_sales' group of lines without a country/region
Z_95 = 1.959964  # two-sided 95%: the normal quantile of the Wilson interval behind ``lift_low``


def wilson_low(buyers: ir.IntegerValue, shoppers: ir.IntegerValue, z: float = Z_95) -> ir.FloatingValue:
    """Lower end of the Wilson score interval of the share ``buyers / shoppers`` (an Ibis expression)."""
    n = shoppers.cast("float64")
    p = buyers.cast("float64") / n
    z2 = z * z
    return (p + z2 / (2 * n) - z * (p * (1 - p) / n + z2 / (4 * n * n)).sqrt()) / (1 + z2 / n)


def segment_favourites(
    lines: ir.Table,
    segments: ir.Table,
    start: dt.date,
    as_of: dt.date,
    names: ir.Table,
    *,
    favourites: int = 20,
    min_buyers: int = 3,
) -> pd.DataFrame:
    """What each segment buys in [start, as_of): customers, units, revenue, share, lift and two ranks.

    Shares are over *shoppers* (customers who bought anything in the window): ``share_of_segment``
    = the segment's shoppers who bought the product / the segment's shoppers; ``share_of_all`` =
    the same over all shoppers; ``lift`` = their ratio ("what Champions buy now that others
    don't"). ``rank_by_lift`` ranks the products the segment's shoppers buy more often than all
    shoppers do (lift above 1) and that have at least ``min_buyers`` buyers in the segment, by
    ``lift_low``, the lift at the low end of its 95% interval (the segment's share's Wilson lower bound
    over everyone's share): a lift the segment's buyers can vouch for, so 3 buyers in 499 (lift 2.0,
    low end 0.68) no longer outrank 60 in 499 at lift 1.8 (low end 1.4). Other products have no rank
    by lift (ranked by its low end, whole milk at 20% of a segment and 22% of all came 9th).
    ``lift_established`` says whether the low end is above 1: only then do the segment's shoppers buy the
    product more than others beyond chance (groceries' Champions: mustard at lift 2.03, low end 0.93, is
    ranked but not established). ``rank_by_volume`` ranks by units. A product is listed when it is in the segment's top
    ``favourites`` by either. ``segment_customers`` counts every member.
    """
    recent = lines.filter(lines.day >= start, lines.day < as_of)
    labelled = recent.inner_join(segments.select("customer_id", "segment", "segment_order"), "customer_id")
    per = labelled.group_by("segment", "segment_order", "product").aggregate(
        customers=labelled.customer_id.nunique(), units=labelled.units.sum(), revenue=labelled.revenue.sum()
    )
    members = segments.group_by("segment").aggregate(segment_customers=segments.count())
    shoppers = labelled.group_by("segment").aggregate(segment_shoppers=labelled.customer_id.nunique())
    everyone = labelled.group_by("product").aggregate(customers_all=labelled.customer_id.nunique())
    total = max(int(labelled.customer_id.nunique().execute()), 1)
    per = per.inner_join(members, "segment").inner_join(shoppers, "segment").inner_join(everyone, "product")
    share = per.customers.cast("float64") / per.segment_shoppers.cast("float64")
    share_all = per.customers_all.cast("float64") / total
    low = wilson_low(per.customers, per.segment_shoppers) / share_all
    per = per.mutate(share_of_segment=share, share_of_all=share_all, lift=share / share_all, lift_low=low)
    # lift > 1 in whole numbers: buyers / shoppers > everyone's buyers / everyone (no rounding at lift 1)
    ranked_lift = (per.customers >= min_buyers) & (per.customers * total > per.customers_all * per.segment_shoppers)
    by_lift = ibis.row_number().over(
        group_by=[per.segment, ranked_lift],
        order_by=[ibis.desc(per.lift_low), ibis.desc(per.customers), per.product],
    )
    by_volume = ibis.row_number().over(
        group_by=per.segment, order_by=[ibis.desc(per.units), ibis.desc(per.customers), per.product]
    )
    per = per.mutate(
        rank_by_lift=ibis.cases((ranked_lift, by_lift + 1), else_=ibis.null("int64")),
        rank_by_volume=by_volume + 1,
    )
    kept = per.filter((per.rank_by_lift <= favourites) | (per.rank_by_volume <= favourites))
    kept = kept.left_join(names, "product").drop("product_right")
    frame = kept.select(
        "segment", "segment_order", product_id="product", product_name=kept.product_name,
        customers="customers", segment_customers="segment_customers", segment_shoppers="segment_shoppers",
        share_of_segment="share_of_segment",
        share_of_all="share_of_all", lift="lift", lift_low="lift_low", units="units", revenue="revenue",
        rank_by_lift="rank_by_lift", rank_by_volume="rank_by_volume",
    ).to_pandas()  # fmt: skip
    frame = frame.sort_values(["segment_order", "segment", "rank_by_lift", "rank_by_volume"],
                              ascending=[False, True, True, True], na_position="last")  # fmt: skip
    for column in ("share_of_segment", "share_of_all", "lift", "lift_low"):
        frame[column] = frame[column].round(4)
    frame.insert(frame.columns.get_loc("lift_low") + 1, "lift_established", frame["lift_low"] > 1)  # as written
    frame["rank_by_lift"] = frame["rank_by_lift"].astype("Int64")  # a rank (not 1.0), blank when not favoured
    frame["window_start"], frame["window_end"] = start, as_of - dt.timedelta(days=1)
    return frame.reset_index(drop=True)


def bought_more(favourites: pd.DataFrame, segment: str, top: int) -> pd.DataFrame:
    """The segment's ``top`` favourites by lift whose lift is established (its 95% low end above 1: bought
    more by its shoppers than by all shoppers beyond chance), best first: what "the segment buys more than
    others" may name."""
    rows = _ranked(favourites, segment)
    return rows[rows["lift_established"]].sort_values("rank_by_lift").head(top)


def unestablished(favourites: pd.DataFrame, segment: str) -> int:
    """How many of the segment's products ranked by lift have a lift not established (95% low end at or
    below 1), left out of what "the segment buys more than others" names."""
    return int((~_ranked(favourites, segment)["lift_established"].astype(bool)).sum())


def _ranked(favourites: pd.DataFrame, segment: str) -> pd.DataFrame:
    """The segment's products ranked by lift (those with enough buyers)."""
    return favourites[(favourites["segment"] == segment) & favourites["rank_by_lift"].notna()]


def too_few_buyers(favourites: pd.DataFrame, segment: str, min_buyers: int) -> bool:
    """Whether no product has ``min_buyers`` buyers in the segment (so none could be ranked by lift), as
    against some having them but none bought more than by all shoppers."""
    rows = favourites[favourites["segment"] == segment]
    return not bool((rows["customers"] >= min_buyers).any())


def top_products(lines: ir.Table, limit: int, *, priced: bool) -> list[tuple[str, str]]:
    """(product, product_name) of the ``limit`` best sellers (by revenue, by units when unpriced)."""
    measure = lines.revenue if priced else lines.units
    per = lines.group_by("product").aggregate(
        value=measure.sum(), product_name=lines.product_name.argmax(lines.units)
    )
    rows = per.order_by(ibis.desc("value"), "product").limit(limit).execute()
    return list(zip(rows["product"], rows["product_name"].fillna(rows["product"]), strict=True))


def _label(product: str, name: str) -> str:
    return name if name == product else f"{name} ({product})"


def top_categories(lines: ir.Table, limit: int, *, priced: bool) -> list[str]:
    """The ``limit`` best-selling categories (by revenue, by units when unpriced)."""
    measure = lines.revenue if priced else lines.units
    known = lines.filter(lines.category.notnull())
    per = known.group_by("category").aggregate(value=measure.sum())
    return per.order_by(ibis.desc("value"), "category").limit(limit).execute()["category"].tolist()


def single_view(
    lines: ir.Table,
    segments: dict[str, ir.Table],
    *,
    products: int = 20,
    values: str = "units",
    priced: bool = True,
    by: str = "product",
) -> tuple[pd.DataFrame, str]:
    """One row per customer: their segments, one column per top product (units or spend), the rest.

    With ``by="category"`` the columns are the top ``products`` categories instead (lines without
    a category are summed in 'other categories'). Returns the table and a note saying which
    products (categories) are columns: the table is capped at ``products`` columns; ``other ...``
    and ``all products`` keep the totals exact.
    """
    measure = lines.units if values == "units" or not priced else lines.revenue
    prefix = "units" if values == "units" or not priced else "spend"
    key = lines.product if by == "product" else lines.category
    if by == "product":
        chosen = top_products(lines, products, priced=priced)
    else:
        chosen = [(c, c) for c in top_categories(lines, products, priced=priced)]
    what = "products" if by == "product" else "categories"
    columns: dict[str, ir.Value] = {}
    for value, name in chosen:
        label = f"{prefix}: {_label(value, name)}"
        while label in columns:
            label += " "
        columns[label] = measure.sum(where=key == value).fill_null(0)
    shown = [p for p, _ in chosen]
    columns[f"{prefix}: other {what}"] = measure.sum(where=~key.isin(shown) | key.isnull()).fill_null(0)
    columns[f"{prefix}: all products"] = measure.sum()
    columns[f"{what} bought"] = key.nunique()
    wide = lines.group_by("customer_id").aggregate(**columns)
    for scheme, table in segments.items():
        wide = wide.left_join(table.select("customer_id", **{f"segment_{scheme}": "segment"}), "customer_id")
        wide = wide.drop("customer_id_right")
    frame = wide.order_by("customer_id").to_pandas()
    n_values = int(key.nunique().execute())
    note = (f"single view{' by category' if by != 'product' else ''}: {len(chosen)} of {n_values:,} {what} as "
            f"columns (top by {'revenue' if priced else 'units'}); the others are summed in "
            f"'{prefix}: other {what}'")  # fmt: skip
    ordered = ["customer_id", *[f"segment_{s}" for s in segments], *columns]
    return frame[ordered], note


def period_column(day: ir.DateValue, period: str) -> ir.StringValue:
    """'2024-03' (month), '2024-Q1' (quarter) or '2024' (year) of a date column."""
    year = day.year().cast("string")
    if period == "month":
        return year + "-" + day.month().cast("string").lpad(2, "0")
    if period == "quarter":
        return year + "-Q" + day.quarter().cast("string")
    return year


def product_sales(
    lines: ir.Table, by: ir.Table | str, *, period: str = "month", products: int = 20, priced: bool = True
) -> pd.DataFrame:
    """Units, revenue and customers per period, group and top product.

    ``by`` is ``"country"`` (the line's country/region) or a segments table (customer_id, segment:
    each buyer's current segment).
    """
    chosen = [p for p, _ in top_products(lines, products, priced=priced)]
    picked = lines.filter(lines.product.isin(chosen))
    if isinstance(by, str):
        picked = picked.mutate(group=picked[by].fill_null(UNKNOWN_REGION))
        group_name = by
    else:
        picked = picked.inner_join(by.select("customer_id", group="segment"), "customer_id")
        group_name = "segment"
    picked = picked.mutate(period=period_column(picked.day, period))
    per = picked.group_by("period", "group", "product").aggregate(
        product_name=picked.product_name.argmax(picked.units),
        units=picked.units.sum(), revenue=picked.revenue.sum(), customers=picked.customer_id.nunique(),
    )  # fmt: skip
    frame = per.order_by("period", "group", "product").to_pandas()
    return frame.rename(columns={"group": group_name, "product": "product_id"})


def has_regions(sales: pd.DataFrame) -> bool:
    """Whether product sales by country/region name any region (without a country column every line is
    in :data:`UNKNOWN_REGION`)."""
    return bool((sales["country"].notna() & (sales["country"].astype(str) != UNKNOWN_REGION)).any())


def top_products_by_period(lines: ir.Table, *, period: str = "month", top: int = 10, priced: bool = True) -> pd.DataFrame:
    """The ``top`` products of each period by revenue (by units when unpriced), ranked."""
    dated = lines.mutate(period=period_column(lines.day, period))
    per = dated.group_by("period", "product").aggregate(
        product_name=dated.product_name.argmax(dated.units),
        units=dated.units.sum(), revenue=dated.revenue.sum(), customers=dated.customer_id.nunique(),
    )  # fmt: skip
    measure = per.revenue if priced else per.units
    order = ibis.row_number().over(group_by=per.period, order_by=[ibis.desc(measure), per.product])
    ranked = per.mutate(rank=order + 1).filter(lambda t: t.rank <= top)
    frame = ranked.order_by("period", "rank").to_pandas()
    return frame.rename(columns={"product": "product_id"})[
        ["period", "rank", "product_id", "product_name", "units", "revenue", "customers"]
    ]
