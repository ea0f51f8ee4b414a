"""Figures of the Products page, built from the recommendation result's small tables (no browser needed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pandas as pd
import plotly.graph_objects as go

from segmint.charts import MARGIN, TEMPLATE, empty_figure
from segmint.recommendations.products import has_regions


def product_labels(ids: Iterable[object], names: Iterable[object], width: int = 40) -> list[str]:
    """One label per product: its name (cut to ``width``), with its code where two products shown together
    share a name (real catalogues reuse a description across codes: "WHITE LUNCH BAG" twice). A chart's
    categorical axis merges equal labels, drawing two products' bars on one row."""
    pairs = [(str(i), str(n)[:width] if n is not None and not pd.isna(n) else str(i)) for i, n in zip(ids, names, strict=True)]
    shared = {n for n, count in Counter(n for _, n in pairs).items() if count > 1}
    return [f"{n} ({i})" if n in shared and n != i else n for i, n in pairs]


MODEBAR_BAND = 30  # px at the top kept for Plotly's mode bar (shown on hover at the top right)
TITLE_LINE = 22  # px per title line (the second, smaller line included)
SECOND_LINE = 18  # px the smaller second line hangs below the first


def _layout(fig: go.Figure, title: str, subtitle: str | None = None) -> go.Figure:
    """The page's look; the title (and smaller lines under it: ``subtitle``'s lines) starts below the mode
    bar's band, so the two never overlap however long the title is or however narrow the column."""
    below = [] if subtitle is None else subtitle.split("\n")
    text = "<br>".join([title, *(f"<sup>{line}</sup>" for line in below)])
    lines = 1 + len(below)
    fig.update_layout(
        template=TEMPLATE, margin={**MARGIN, "t": MODEBAR_BAND + TITLE_LINE * lines + 8},
        # anchored above the plot area (paper) and filling the margin upwards: Plotly anchors a title's
        # first line, so the smaller second line's height is padded in
        title={"text": text, "x": 0.01, "xanchor": "left", "y": 1, "yref": "paper", "yanchor": "bottom",
               "pad": {"b": 8 + SECOND_LINE * (lines - 1)}},
    )  # fmt: skip
    return fig


def favourites_bars(favourites: pd.DataFrame, segment: str, min_buyers: int, top: int = 10) -> go.Figure:
    """The segment's top products by lift (those it buys more than all shoppers do): share of the
    segment's shoppers next to all shoppers. ``min_buyers``: buyers a product needs to be ranked."""
    from segmint.recommendations.products import bought_more, too_few_buyers, unestablished

    rows = bought_more(favourites, segment, top).iloc[::-1]
    doubtful = unestablished(favourites, segment)
    if rows.empty and too_few_buyers(favourites, segment, min_buyers):
        return empty_figure(f"No product has {min_buyers} {segment} buyers in the window: too few to rank by lift")
    if rows.empty and doubtful:
        return empty_figure(f"No product is established as bought more by {segment} shoppers than by all shoppers "
                            f"in the window: {_products(doubtful)} with a lift above 1 whose 95% low end is 1 or less")
    if rows.empty:
        return empty_figure(f"No product is bought more by {segment} shoppers than by all shoppers in the window")
    names = product_labels(rows.get("product_id", rows["product_name"]), rows["product_name"])
    custom = rows[["lift", "customers", "units"]].to_numpy()
    fig = go.Figure([
        go.Bar(y=names, x=rows["share_of_segment"], orientation="h", name=f"{segment} shoppers",
               customdata=custom, marker_color="#2c7fb8",
               hovertemplate="%{y}<br>%{x:.1%} of " + segment + " shoppers<br>lift %{customdata[0]:.2f}, "
                             "%{customdata[1]:,} buyers, %{customdata[2]:,.0f} units<extra></extra>"),
        go.Bar(y=names, x=rows["share_of_all"], orientation="h", name="all shoppers", marker_color="#bdbdbd",
               hovertemplate="%{y}<br>%{x:.1%} of all shoppers<extra></extra>"),
    ])  # fmt: skip
    start, end = rows["window_start"].iloc[0], rows["window_end"].iloc[0]
    widest = float(rows[["share_of_segment", "share_of_all"]].max().max())
    ticks = ".0%" if widest >= 0.1 else ".1%"  # 0.5% steps under 10% would print as "1%, 1%, 2%, 2%"
    fig.update_layout(barmode="group", xaxis_tickformat=ticks, legend={"orientation": "h", "y": -0.12})
    left_out = (f"; {_products(doubtful)} with a lift not established (95% low end 1 or less) left out"
                if doubtful else "")
    return _layout(fig, f"What {segment} buy more than others, by lift",
                   f"share of shoppers who bought each product,\n{start} to {end}{left_out}")  # one line was cut at 900 px


def _products(count: int) -> str:
    return f"{count:,} product{'' if count == 1 else 's'}"


def is_allocation(value: str, allocated: bool) -> bool:
    """Whether ``value`` is revenue spread over a basket's items from its total (product_json baskets without
    item prices, ``segmint.io.items.ALLOCATION_NOTE``): an allocation, not what each product sold for."""
    return allocated and value == "revenue"


def measure_label(value: str, allocated: bool = False) -> str:
    """How a chart's title names ``value`` (an allocation says so: see ``is_allocation``)."""
    return "revenue allocated from basket totals" if is_allocation(value, allocated) else value


def region_heatmap(sales: pd.DataFrame, value: str = "revenue", top: int = 15, allocated: bool = False) -> go.Figure:
    """Top products x country/region: total ``value`` over the whole period (``allocated``: see ``measure_label``)."""
    if sales.empty:
        return empty_figure("No product sales")
    if not has_regions(sales):  # one column headed "(unknown)" looked like a region of that name
        fig = empty_figure("No country/region column in the data: sales by region need one")
        fig.layout.title.text = "Top products by country/region"
        return fig
    totals = sales.groupby(["product_id", "product_name", "country"], dropna=False)[value].sum().reset_index()
    order = totals.groupby("product_id")[value].sum().sort_values(ascending=False).head(top).index
    regions = totals.groupby("country")[value].sum().sort_values(ascending=False).index
    grid = totals.pivot_table(index="product_id", columns="country", values=value, aggfunc="sum").reindex(
        index=order, columns=regions
    ).fillna(0)
    names = totals.drop_duplicates("product_id").set_index("product_id")["product_name"].reindex(order)
    labels = product_labels(order, names)
    fig = go.Figure(go.Heatmap(
        z=grid.to_numpy(), x=[str(c) for c in grid.columns], y=labels, colorscale="Blues",
        hovertemplate="%{y}<br>%{x}: %{z:,.0f}<extra></extra>",
        colorbar={"title": "revenue<br>(allocated)" if is_allocation(value, allocated) else value},
    ))  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, "Top products by country/region", f"{measure_label(value, allocated)} over the whole period")


def region_trend(sales: pd.DataFrame, product: str | None, value: str = "revenue", allocated: bool = False) -> go.Figure:
    """One product's ``value`` per period, one line per country/region (``allocated``: see ``measure_label``)."""
    rows = sales[sales["product_id"] == product] if product else sales.iloc[0:0]
    if rows.empty:
        return empty_figure("Pick a product")
    fig = go.Figure()
    for region, part in rows.groupby("country", dropna=False):
        part = part.sort_values("period")
        fig.add_trace(go.Scatter(x=part["period"], y=part[value], mode="lines+markers", name=str(region)))
    name, label = rows["product_name"].iloc[0], measure_label(value, allocated)
    if not has_regions(rows):
        fig.update_layout(showlegend=False)
        return _layout(fig, str(name), f"{label} per period (no country/region column)")
    return _layout(fig, str(name), f"{label} per period by country/region")


def segment_trend(sales: pd.DataFrame, product: str | None, value: str = "revenue",
                  colors: dict[str, str] | None = None, allocated: bool = False) -> go.Figure:
    """One product's ``value`` per period, stacked by the buyers' current segment.

    ``colors`` (:func:`segmint.charts.segment_colors`, lowest segment first) orders and colours the
    segments as the other pages do (Plotly's own colours made Champions purple and Lost cyan here).
    """
    rows = sales[sales["product_id"] == product] if product else sales.iloc[0:0]
    if rows.empty:
        return empty_figure("Pick a product")
    colors = colors or {}
    rank = {segment: i for i, segment in enumerate(colors)}
    fig = go.Figure()
    for segment, part in sorted(rows.groupby("segment"), key=lambda item: (rank.get(item[0], len(rank)), item[0])):
        part = part.sort_values("period")
        fig.add_trace(go.Bar(x=part["period"], y=part[value], name=str(segment), marker_color=colors.get(segment)))
    # eleven RFM segments: a legend beside the plot scrolled, showing six; below it, in rows, all fit
    fig.update_layout(barmode="stack", legend={"orientation": "h", "y": -0.2, "font": {"size": 10},
                                               "traceorder": "reversed"})
    return _layout(fig, str(rows["product_name"].iloc[0]), f"{measure_label(value, allocated)} per period by the buyers' current segment")
