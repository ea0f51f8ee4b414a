"""Chart builders: small pandas tables in, plotly Figures out (no I/O, no state, no app).

Used by the dashboard (through ``segmint.app.figures``) and by the HTML report.

Each function takes the already-aggregated table it draws, so it can be tested without a browser
and without a database. Segments are coloured by ``segment_order`` (0 = least valuable = red).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.colors as pcolors
import plotly.graph_objects as go
import plotly.io as pio

from segmint.units import measure_word

__all__ = ["FEATURE_LABELS", "LOG_TICKS", "MARGIN", "MODEBAR_BUTTONS", "OUTLIER_COLOR", "SEGMENT_SCALE", "SHORT_LABELS", "TEMPLATE", "TIER_COLORS", "bar_width_ms", "bucket_bars", "empty_figure", "histogram", "label", "log_ticks", "revenue_by_country", "rf_heatmap", "rfm_score_bars", "segment_colors", "segment_pie", "segment_scatter", "segment_share", "whole_range"]

TEMPLATE = "plotly_white"
MARGIN = {"l": 10, "r": 10, "t": 50, "b": 10}
OUTLIER_COLOR = "rgb(150, 150, 150)"
# red (least valuable) -> green (most valuable) with a saturated amber middle: RdYlGn's pale yellow
# middle made mid-value segments ("Need Attention") nearly invisible on white.
SEGMENT_SCALE = [
    [0.0, "rgb(165, 0, 38)"], [0.25, "rgb(230, 97, 1)"], [0.5, "rgb(230, 171, 2)"],
    [0.75, "rgb(102, 166, 30)"], [1.0, "rgb(0, 104, 55)"],
]
# what people call the features, for titles, axes and grid headers
FEATURE_LABELS = {
    "recency_days": "Recency (days since last purchase)",
    "frequency": "Frequency (purchases)",
    "monetary": "Monetary (net spend)",
    "avg_order_value": "Average order value",
    "customer_id": "Customer",
    "first_purchase": "First purchase",
    "last_purchase": "Last purchase",
    "n_products": "Products bought (distinct, no postage or fees)",
    "r_score": "R score",
    "f_score": "F score",
    "m_score": "M score",
    "rfm_cell": "RFM cell",
    "value_tier": "Value tier",
    "frequency_tier": "Frequency tier",
}
SHORT_LABELS = {"recency_days": "Recency", "frequency": "Frequency", "monetary": "Monetary"}
# a log axis's tick labels as the values they mark (Plotly's own label 20 and 30 as "2" and "3")
LOG_TICKS = ",~r"
# every mode-bar button: an empty chart (a message, no data) gets no toolbar
MODEBAR_BUTTONS = [
    "zoom", "pan", "select", "lasso", "zoomIn", "zoomOut", "autoScale", "resetScale", "toImage",
    "zoom2d", "pan2d", "select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d", "resetScale2d",
    "hoverClosestCartesian", "hoverCompareCartesian", "toggleSpikelines",
]


def label(column: str) -> str:
    """A person's name for a column (``recency_days`` -> ``Recency (days since last purchase)``)."""
    return FEATURE_LABELS.get(column, column.replace("_", " ").capitalize())


def segment_colors(segments: pd.DataFrame) -> dict[str, str]:
    """Map each segment to a red (low value) .. green (high value) colour by its ``segment_order``."""
    ordered = (
        segments[["segment", "segment_order"]]
        .drop_duplicates("segment")
        .sort_values(["segment_order", "segment"])
    )
    ranked = ordered[ordered["segment_order"] >= 0]
    n = len(ranked)
    positions = [0.5] if n == 1 else [0.05 + 0.9 * i / (n - 1) for i in range(n)]
    colors = dict(zip(ranked["segment"], pcolors.sample_colorscale(SEGMENT_SCALE, positions), strict=True))
    for name in ordered.loc[ordered["segment_order"] < 0, "segment"]:
        colors[name] = OUTLIER_COLOR
    return colors


LONG_TITLE = 42  # characters: a half-width chart at 900 px cut "Recency x frequency scores (customers, average"


def title_lines(title: str) -> tuple[str, bool]:
    """A long title's parenthesis moved to a smaller second line (Plotly never wraps a title); whether it was."""
    head, paren, rest = title.partition(" (")
    if len(title) <= LONG_TITLE or not paren or not head or "<br>" in title:
        return title, False
    return f"{head}<br><sup>({rest}</sup>", True


def _layout(fig: go.Figure, title: str, **kwargs: object) -> go.Figure:
    title, two_lines = title_lines(title)
    margin = {**MARGIN, "t": 72} if two_lines else MARGIN
    fig.update_layout(title={"text": title, "x": 0.01}, margin=kwargs.pop("margin", margin), **kwargs)
    # Setting a template validates and deep-copies all of it (~40 ms a figure, most of the Overview's
    # server time); plotly's own default-template path assigns its already validated object without
    # checking it again, as done here. The figure's JSON is the same.
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = pio.templates[TEMPLATE]
    finally:
        layout._validate = fig._validate
    return fig


EMPTY_MESSAGE_WIDTH = 40  # characters a line of an empty figure's message (about 330 px at 15 px)


def empty_figure(message: str) -> go.Figure:
    """A blank figure that shows ``message`` (no data for the current filters, nothing loaded)."""
    import textwrap

    fig = go.Figure()
    # Plotly never wraps an annotation: a long message ran off both sides of a half-width chart at 900 px
    text = "<br>".join(textwrap.wrap(message, EMPTY_MESSAGE_WIDTH)) or message
    fig.add_annotation(text=text, showarrow=False, font={"size": 15, "color": "#666"},
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(modebar={"remove": MODEBAR_BUTTONS}, dragmode=False)
    return _layout(fig, "")


def segment_share(summary: pd.DataFrame, value: str = "customers", priced: bool = True) -> go.Figure:
    """Treemap of ``value`` (customers or revenue) per segment; hover shows both and the share.
    Without prices (``priced=False``) revenue counts items and is named so."""
    if summary.empty:
        return empty_figure("No customers for these filters")
    table = summary.sort_values("segment_order", ascending=False)
    colors = segment_colors(table)
    total = float(table[value].sum())
    share = table[value] / total if total else table[value] * 0.0
    fig = go.Figure(
        go.Treemap(
            labels=table["segment"],
            parents=[""] * len(table),
            values=table[value],
            marker={"colors": [colors[s] for s in table["segment"]]},
            customdata=list(zip(table["customers"], table["revenue"], share, strict=True)),
            texttemplate="<b>%{label}</b><br>%{customdata[2]:.1%}",
            hovertemplate="<b>%{label}</b><br>customers %{customdata[0]:,}<br>"
            + measure_word("revenue", priced) + " %{customdata[1]:,.0f}<br>share %{customdata[2]:.1%}<extra></extra>",
            sort=False,
        )
    )
    return _layout(fig, f"Segment share ({measure_word(value, priced)})")


def segment_pie(summary: pd.DataFrame, value: str = "customers", priced: bool = True) -> go.Figure:
    """Pie of ``value`` (customers or revenue: items without prices) per segment, most valuable first."""
    if summary.empty:
        return empty_figure("No customers for these filters")
    table = summary.sort_values("segment_order", ascending=False)
    colors = segment_colors(table)
    fig = go.Figure(
        go.Pie(
            labels=table["segment"], values=table[value].clip(lower=0), sort=False, direction="clockwise",
            marker={"colors": [colors[s] for s in table["segment"]], "line": {"color": "#fff", "width": 1}},
            customdata=list(zip(table["customers"], table["revenue"], strict=True)),
            texttemplate="%{percent:.1%}", textposition="inside", insidetextorientation="horizontal",
            hovertemplate="<b>%{label}</b><br>customers %{customdata[0]:,}<br>"
            + measure_word("revenue", priced) + " %{customdata[1]:,.0f}<br>share %{percent}<extra></extra>",
        )
    )
    legend = {"orientation": "v", "x": 1.02, "y": 0.5, "font": {"size": 11}}
    return _layout(fig, f"Share of {measure_word(value, priced)} by segment", legend=legend)


def rfm_score_bars(totals: pd.DataFrame, priced: bool = True) -> go.Figure:
    """Customers per total RFM score (R + F + M), every possible total shown, zero bars included."""
    if totals.empty:
        return empty_figure("No RFM scores for these filters")
    low, high = int(totals["total_score"].min()), int(totals["total_score"].max())
    full = pd.DataFrame({"total_score": range(min(low, 3), high + 1)}).merge(totals, how="left").fillna(0)
    fig = go.Figure(
        go.Bar(
            x=full["total_score"], y=full["customers"], marker_color="#2a6f97",
            customdata=full["avg_monetary"],
            hovertemplate=f"R+F+M = %{{x}}<br>customers %{{y:,}}<br>avg {measure_word('monetary', priced)} "
            "%{customdata:,.0f}<extra></extra>",
        )
    )
    fig.update_xaxes(title_text="RFM score (R + F + M)", dtick=1)
    fig.update_yaxes(title_text="customers")
    return _layout(fig, "Customers per RFM score", bargap=0.15)


TIER_COLORS = {"High": "rgb(0, 104, 55)", "Mid": "rgb(230, 171, 2)", "Low": "rgb(165, 0, 38)"}


def bucket_bars(table: pd.DataFrame, axis: str, priced: bool = True) -> go.Figure:
    """Bars per spend (``axis="value"``) or frequency n-tile bucket: share of customers and of sales,
    coloured by the tier each bucket falls in (``table`` from ``tiers.bucket_table`` plus ``tier``);
    without prices the sales and the spend per visit count items."""
    if table.empty:
        return empty_figure("No buckets for these filters")
    ordered = table.sort_values("bucket")
    sales = "sales" if priced else "items"
    names = [f"{b}" for b in ordered["bucket"]]
    share = ordered["customers"] / ordered["customers"].sum()
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=names, y=ordered["share_of_sales"], name=f"% of {sales}",
        marker_color=[TIER_COLORS.get(t, OUTLIER_COLOR) for t in ordered["tier"]],
        customdata=list(zip(ordered["tier"], ordered["customers"], ordered["sales"], strict=True)),
        hovertemplate=f"bucket %{{x}} (%{{customdata[0]}})<br>%{{y:.1%}} of {sales} (%{{customdata[2]:,.0f}})"
        "<br>%{customdata[1]:,} customers<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=names, y=share, name="% of customers", mode="markers+lines",
        marker={"color": "#333", "size": 7}, line={"color": "#333", "width": 1, "dash": "dot"},
        hovertemplate="bucket %{x}<br>%{y:.1%} of customers<extra></extra>",
    ))
    spend = ("spend (average transaction value)", "Spend") if priced else ("items per visit", "Items per visit")
    what = spend[0] if axis == "value" else "frequency (visits)"
    fig.update_xaxes(title_text=f"{what} bucket, 1 = lowest", type="category")
    fig.update_yaxes(title_text="share", tickformat=".0%")
    legend = {"orientation": "h", "y": -0.3}
    return _layout(fig, f"{spend[1] if axis == 'value' else 'Frequency'} buckets: {sales} and customers "
                   "(bar colour = tier)", legend=legend, height=360)


def rf_heatmap(grid: pd.DataFrame, bins: int | None = None, priced: bool = True) -> go.Figure:
    """Recency score x frequency score grid: colour = customers, text/hover = average monetary (items
    without prices).

    With ``bins`` every score 1..bins gets its row and column, so a score no customer holds (ties:
    most customers bought once) shows as an empty column instead of vanishing.
    """
    if grid.empty:
        return empty_figure("No RFM scores for these filters")
    r_scores = list(range(1, bins + 1)) if bins else sorted(grid["r_score"].unique())
    f_scores = list(range(1, bins + 1)) if bins else sorted(grid["f_score"].unique())
    counts = grid.pivot(index="r_score", columns="f_score", values="customers").reindex(
        index=r_scores, columns=f_scores
    )
    money = grid.pivot(index="r_score", columns="f_score", values="avg_monetary").reindex(
        index=r_scores, columns=f_scores
    )
    text = [[("" if pd.isna(c) else f"{int(c):,}<br>avg {m:,.0f}") for c, m in zip(cr, mr, strict=True)]
            for cr, mr in zip(counts.to_numpy(), money.to_numpy(), strict=True)]
    fig = go.Figure(
        go.Heatmap(
            z=counts.to_numpy(),
            x=[f"F{f}" for f in f_scores],
            y=[f"R{r}" for r in r_scores],
            customdata=money.to_numpy(),
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            colorbar={"title": {"text": "customers"}},
            hovertemplate=f"%{{y}} %{{x}}<br>customers %{{z:,}}<br>avg {measure_word('monetary', priced)} "
            "%{customdata:,.2f}<extra></extra>",
        )
    )
    return _layout(fig, f"Recency x frequency scores (customers, average {measure_word('monetary', priced)})",
                   xaxis_title="frequency score", yaxis_title="recency score")


def revenue_by_country(table: pd.DataFrame, top: int = 15) -> go.Figure:
    """Horizontal bars of net revenue per country, largest first (top ``top``, the rest summed)."""
    if table.empty:
        return empty_figure("No revenue for these filters")
    ordered = table.sort_values("revenue", ascending=False)
    if len(ordered) > top:
        rest = ordered.iloc[top:]
        other = pd.DataFrame({"country": [f"{len(rest)} other countries"],
                              "revenue": [rest["revenue"].sum()], "customers": [rest["customers"].sum()]})
        ordered = pd.concat([ordered.iloc[:top], other], ignore_index=True)
    ordered = ordered.iloc[::-1]
    fig = go.Figure(
        go.Bar(
            x=ordered["revenue"],
            y=ordered["country"].fillna("(unknown)"),
            orientation="h",
            customdata=ordered["customers"],
            hovertemplate="%{y}<br>revenue %{x:,.0f}<br>customers %{customdata:,}<extra></extra>",
            marker_color="#2a6f97",
        )
    )
    return _layout(fig, "Net revenue by country", xaxis_title="net revenue",
                   height=max(320, 28 * len(ordered) + 90))


def _named(feature: str, priced: bool, short: bool = False) -> str:
    """A feature's label (its short one), naming items where money would be when the data have no prices."""
    from segmint.units import measure_word

    return measure_word(SHORT_LABELS.get(feature, label(feature)) if short else label(feature), priced)


def log_ticks(low: float, high: float) -> list[float]:
    """Ticks of a short log axis from ``low`` to ``high`` (> 0): 1, 2, 5 per decade over at most 2.5 decades,
    else the powers of ten alone (Plotly's own ticks crowd a 220-pixel axis and label 20 as "2")."""
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    steps = (1, 2, 5) if math.log10(high / low) <= 2.5 else (1,)
    return [m * 10.0**e for e in range(first, last + 1) for m in steps if low / 1.5 <= m * 10.0**e <= high * 1.5]


def whole_range(first: int, last: int) -> str:
    """The whole numbers a histogram bar holds, as read: "3", or "1 to 19"."""
    return f"{int(first):,}" if first == last else f"{int(first):,} to {int(last):,}"


def histogram(
    bins: pd.DataFrame, feature: str, *, log_x: bool = False, log_y: bool = False, priced: bool = True
) -> go.Figure:
    """Bar histogram from pre-computed bins (``bin_start``, ``bin_end``, ``customers``).

    With ``log_x`` the bin edges are log10 values and the axis is labelled in original units;
    ``priced=False``: monetary counts items. Bins with ``first``/``last`` (whole numbers) are hovered as those.
    """
    if bins.empty:
        return empty_figure(f"No {SHORT_LABELS.get(feature, feature).lower()} values for these filters")
    mids = (bins["bin_start"] + bins["bin_end"]) / 2
    widths = bins["bin_end"] - bins["bin_start"]
    start = 10 ** bins["bin_start"] if log_x else bins["bin_start"]
    end = 10 ** bins["bin_end"] if log_x else bins["bin_end"]
    if {"first", "last"} <= set(bins.columns):  # whole numbers: the ones a bar holds, not its edges (0.5 to 1.5)
        customdata: list = [whole_range(first, last) for first, last in zip(bins["first"], bins["last"], strict=True)]
        hover = "%{customdata}<br>customers %{y:,}<extra></extra>"
    else:
        customdata = list(zip(start, end, strict=True))
        hover = "%{customdata[0]:,.4~g} to %{customdata[1]:,.4~g}<br>customers %{y:,}<extra></extra>"
    fig = go.Figure(
        go.Bar(x=mids, y=bins["customers"], width=widths, marker_color="#468faf", customdata=customdata,
               hovertemplate=hover)
    )
    axis: dict[str, object] = {"title": {"text": f"{_named(feature, priced)}, log scale" if log_x
                                         else _named(feature, priced)}}
    if log_x:
        low, high = math.floor(bins["bin_start"].min()), math.ceil(bins["bin_end"].max())
        ticks = list(range(low, high + 1))
        axis.update(tickvals=ticks, ticktext=[f"{10.0 ** t:,g}" for t in ticks])
    counts: dict[str, object] = {"title": {"text": "customers"}, "type": "log" if log_y else "linear"}
    if log_y:
        ticks = log_ticks(bins["customers"].min(), bins["customers"].max())
        counts.update(tickvals=ticks, ticktext=[f"{t:,g}" for t in ticks])
    fig.update_layout(xaxis=axis, yaxis=counts, bargap=0.02)
    return _layout(fig, _named(feature, priced, short=True))


def segment_scatter(
    points: pd.DataFrame, x: str, y: str, *, total: int | None = None, legend: bool = True, priced: bool = True
) -> go.Figure:
    """Scatter of ``x`` vs ``y`` per customer, one trace per segment; ``total`` > len = a sample.

    Several scatters of the same customers share one legend: pass ``legend=False`` to all but one.
    """
    if points.empty:
        return empty_figure("No customers for these filters")
    colors = segment_colors(points)
    fig = go.Figure()
    x_name, y_name = _named(x, priced, short=True), _named(y, priced, short=True)
    for segment, group in points.sort_values("segment_order", ascending=False).groupby(
        "segment", sort=False
    ):
        fig.add_trace(
            go.Scattergl(
                x=group[x], y=group[y], mode="markers", name=str(segment), legendgroup=str(segment),
                marker={"color": colors[segment], "size": 5, "opacity": 0.6}, showlegend=legend,
                text=group["customer_id"],
                hovertemplate=f"%{{text}}<br>{x_name} %{{x:,}}<br>{y_name} %{{y:,}}<extra>{segment}</extra>",
            )
        )
    title = f"{x_name} vs {y_name.lower()}"
    if total is not None and total > len(points):
        title += f" (random sample of {len(points):,} of {total:,} customers)"
    for update, name in ((fig.update_xaxes, x), (fig.update_yaxes, y)):
        log = {"type": "log", "tickformat": LOG_TICKS} if name == "monetary" else {"type": "linear"}
        update(title_text=_named(name, priced), **log)
    options: dict[str, object] = {"showlegend": legend}
    if legend:
        options["legend"] = {"itemsizing": "constant", "orientation": "h", "y": -0.22, "font": {"size": 10}}
    return _layout(fig, title, **options)


def bar_width_ms(dates: pd.Series, other: pd.Series | None = None) -> float:
    """Width of date-axis bars in milliseconds: 1/120 of the shown time span, at least 4 days.

    Plotly draws date bars 1 ms wide by default, which shows hairlines on a multi-year axis.
    """
    values = pd.to_datetime(pd.concat([dates, other]) if other is not None else dates).dropna()
    span = (values.max() - values.min()) if len(values) > 1 else pd.Timedelta(days=90)
    return max(pd.Timedelta(days=4), span / 120).total_seconds() * 1000
