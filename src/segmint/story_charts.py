"""Story charts: customer timeline, transitions (Sankey and migration matrix), cohorts, periods.

Pure functions from a story's small tables to plotly figures, used by the dashboard's Customer story
page and the HTML report (so they live in the library, beside :mod:`segmint.charts`). Partial periods
are drawn hatched and labelled ``partial (76% of days)``; segments keep the scheme's colours.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmint.charts import _layout, bar_width_ms, empty_figure, segment_colors
from segmint.units import measure_word
from segmint.story_narrative import period_labels  # noqa: F401 - the pages and the report take it from here
from segmint.util import whole_percent

INACTIVE = "Inactive"
PARTIAL_PATTERN = {"shape": "/", "fgcolor": "rgba(60,60,60,0.45)", "solidity": 0.3}
LABEL_SPACE = 0.045  # share of the Sankey's height one node label needs, so labels never overlap


def _label(period: str, labels: dict[str, str] | None) -> str:
    """The period's display label ("2011-Q4 (partial, 76% of days)") or the period itself."""
    return (labels or {}).get(period, period)



def customer_timeline(
    periods: pd.DataFrame, purchases: pd.DataFrame, customer_id: str, palette: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> go.Figure:
    """Two rows sharing a time axis: purchases (net amount per invoice) and the segment per period.

    ``palette`` (from :func:`segment_colors` over the scheme's segments) keeps colours the same as on
    the other pages; ``labels`` (:func:`period_labels`) shades and labels partial periods.
    """
    if periods.empty and purchases.empty:
        return empty_figure(f"No history for customer {customer_id}")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.08)
    fig.add_trace(
        go.Bar(x=purchases["invoice_date"], y=purchases["amount"], name="purchases",
               width=bar_width_ms(purchases["invoice_date"], periods.get("period_start")),
               marker_color="#2a6f97", customdata=purchases["invoice_id"],
               hovertemplate="%{x|%Y-%m-%d} invoice %{customdata}<br>net %{y:,.2f}<extra></extra>"),
        row=1, col=1,
    )
    if not periods.empty:
        colors = palette if palette is not None else segment_colors(periods)
        fig.add_trace(
            go.Scatter(
                x=periods["period_start"], y=periods["segment"], mode="markers+lines",
                name="segment", line={"color": "#bbb", "width": 1, "shape": "hv"},
                marker={"size": 14, "color": [colors.get(s, "#999") for s in periods["segment"]],
                        "line": {"color": "#333", "width": 1}},
                customdata=[_label(p, labels) for p in periods["period"]],
                hovertemplate="%{customdata}: %{y}<extra></extra>",
            ),
            row=2, col=1,
        )
        order = periods.drop_duplicates("segment").sort_values("segment_order")["segment"].tolist()
        fig.update_yaxes(categoryorder="array", categoryarray=order, row=2, col=1)
        if "period_end" in periods:
            for row in periods.itertuples():
                label = _label(row.period, labels)
                if label == row.period:
                    continue
                note = label[len(row.period):].strip(" ()")
                span = {"x0": row.period_start, "x1": pd.Timestamp(row.period_end) + pd.Timedelta(days=1),
                        "fillcolor": "rgba(120,120,120,0.12)", "line_width": 0}
                fig.add_vrect(**span, row=1, col=1, annotation_text=note, annotation_position="top left",
                              annotation_font_size=10)
                fig.add_vrect(**span, row=2, col=1)
    fig.update_yaxes(title_text="net amount", row=1, col=1)
    return _layout(fig, f"Customer {customer_id}: purchases and segment per period", showlegend=False)


def _ordered(names: set[str], order: dict[str, int]) -> list[str]:
    """Most valuable first, Inactive (and other unranked labels) last; ties alphabetical."""
    return sorted(names, key=lambda s: (-order.get(s, -1), s))


def _positions(values: list[float], space: float = LABEL_SPACE) -> list[float]:
    """Node centres (0..1, top down) in the given order, each node at least ``space`` tall for its label."""
    total = sum(values) or 1.0
    heights = [max(v / total * (1 - space * len(values) * 0.5), space) for v in values]
    scale = min(1.0, 0.96 / sum(heights))
    centres, top = [], 0.02
    for height in heights:
        centres.append(top + height * scale / 2)
        top += height * scale
    return centres


def transitions_sankey(
    flows: pd.DataFrame, order: dict[str, int], from_period: str, to_period: str, *,
    show_inactive: bool = False, labels: dict[str, str] | None = None,
) -> go.Figure:
    """Sankey of customers moving between segments from ``from_period`` to ``to_period``.

    Both sides list the segments in one order (most valuable on top, Inactive last); nodes are
    placed far enough apart that labels never overlap. Inactive -> Inactive (customers who bought in
    neither period) is hidden unless ``show_inactive``; the title says how many were hidden.
    """
    if flows.empty:
        return empty_figure(f"No customers in both {from_period} and {to_period}")
    both_inactive = (flows["from_segment"] == INACTIVE) & (flows["to_segment"] == INACTIVE)
    hidden = int(flows.loc[both_inactive, "customers"].sum())
    shown = flows if show_inactive else flows[~both_inactive]
    if shown.empty:
        return empty_figure(f"Only Inactive -> Inactive between {from_period} and {to_period}")
    sources = _ordered(set(shown["from_segment"]), order)
    targets = _ordered(set(shown["to_segment"]), order)
    out_totals = shown.groupby("from_segment")["customers"].sum()
    in_totals = shown.groupby("to_segment")["customers"].sum()
    names = sorted(set(sources) | set(targets))
    colors = segment_colors(pd.DataFrame({"segment": names, "segment_order": [order.get(s, -1) for s in names]}))
    node_labels = [f"{s} {out_totals[s]:,}" for s in sources] + [f"{s} {in_totals[s]:,}" for s in targets]
    index_from = {s: i for i, s in enumerate(sources)}
    index_to = {s: len(sources) + i for i, s in enumerate(targets)}
    y = _positions([float(out_totals[s]) for s in sources]) + _positions([float(in_totals[s]) for s in targets])
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={"label": node_labels, "color": [colors[s] for s in sources + targets], "pad": 12,
                  "thickness": 18, "line": {"color": "#555", "width": 0.5},
                  "x": [0.001] * len(sources) + [0.999] * len(targets), "y": y,
                  "hovertemplate": "%{label}<extra></extra>"},
            link={"source": [index_from[s] for s in shown["from_segment"]],
                  "target": [index_to[s] for s in shown["to_segment"]],
                  "value": shown["customers"].tolist(),
                  "color": "rgba(120,120,120,0.25)",
                  "hovertemplate": "%{source.label} -> %{target.label}: %{value:,} customers<extra></extra>"},
            textfont={"size": 11},
        )
    )
    title = f"Segment transitions {_label(from_period, labels)} -> {_label(to_period, labels)}"
    if hidden and not show_inactive:
        title += f"<br><sup>{hidden:,} customers inactive in both periods are hidden</sup>"
    return _layout(fig, title, height=560)


def migration_matrix(flows: pd.DataFrame, order: dict[str, int], from_period: str, to_period: str,
                     labels: dict[str, str] | None = None) -> go.Figure:
    """From x to heatmap: colour = share of the row's customers, text = customers and share."""
    if flows.empty:
        return empty_figure(f"No customers in both {from_period} and {to_period}")
    rows = _ordered(set(flows["from_segment"]), order)
    columns = _ordered(set(flows["to_segment"]), order)
    counts = flows.pivot_table(index="from_segment", columns="to_segment", values="customers",
                               aggfunc="sum").reindex(index=rows, columns=columns).fillna(0)
    shares = counts.div(counts.sum(axis=1), axis=0)
    text = [[f"{int(c):,}<br>{whole_percent(s)}" if c else "" for c, s in zip(cr, sr, strict=True)]
            for cr, sr in zip(counts.to_numpy(), shares.to_numpy(), strict=True)]
    fig = go.Figure(go.Heatmap(
        z=shares.to_numpy(), x=columns, y=rows, text=text, texttemplate="%{text}", colorscale="Blues",
        zmin=0, zmax=1, colorbar={"title": {"text": "share of row"}},
        customdata=counts.to_numpy(),
        hovertemplate="%{y} -> %{x}<br>%{customdata:,} customers (%{z:.1%} of %{y})<extra></extra>",
    ))
    fig.update_yaxes(autorange="reversed", title_text=f"from {_label(from_period, labels)}", dtick=1)
    # every segment named (dtick 1): in a narrow figure Plotly left every other column unlabelled
    fig.update_xaxes(title_text=f"to {_label(to_period, labels)}", tickangle=-40, dtick=1)
    return _layout(fig, "Migration matrix (customers, share of each row)",
                   height=max(360, 34 * len(rows) + 200))


def cohort_heatmap(cohorts: pd.DataFrame, labels: dict[str, str] | None = None) -> go.Figure:
    """Retention by acquisition cohort (rows) and periods since first purchase (columns), in %."""
    if cohorts.empty:
        return empty_figure("No cohorts for these filters")
    table = cohorts.pivot(index="cohort", columns="periods_since", values="retained_pct").sort_index()
    sizes = cohorts.groupby("cohort")["cohort_size"].first().reindex(table.index)
    z = table.to_numpy()
    text = [["" if pd.isna(v) else f"{v:.0f}%" for v in row] for row in z]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(c) for c in table.columns],
            y=[f"{_label(c, labels)} (n={n:,})" for c, n in sizes.items()],
            text=text, texttemplate="%{text}", colorscale="Greens", zmin=0, zmax=100,
            colorbar={"title": {"text": "% active"}},
            hovertemplate="%{y}<br>+%{x} periods: %{z:.1f}% active<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", title_text="first-purchase cohort")
    fig.update_xaxes(title_text="periods since first purchase", type="category")
    return _layout(fig, "Cohort retention", height=max(360, 26 * len(table) + 120))


def period_activity(retention: pd.DataFrame, priced: bool = True) -> go.Figure:
    """Active customers per period (bars) and revenue per covered day (line: items without prices); partial
    periods hatched."""
    money = measure_word("revenue", priced)
    if retention.empty:
        return empty_figure("No periods for these filters")
    notes = retention["note"].fillna("") if "note" in retention else pd.Series([""] * len(retention))
    partial = (notes != "").to_numpy()
    ticks = [f"{p}*" if n else p for p, n in zip(retention["period"], notes, strict=True)]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(
        x=ticks, y=retention["active"], name="active customers", marker_color="#468faf",
        marker_pattern={"shape": ["/" if p else "" for p in partial], "fgcolor": PARTIAL_PATTERN["fgcolor"],
                        "solidity": PARTIAL_PATTERN["solidity"]},
        customdata=notes, hovertemplate="%{x} %{customdata}<br>%{y:,} active customers<extra></extra>",
    ))
    if "revenue_per_day" in retention:
        fig.add_trace(go.Scatter(
            x=ticks, y=retention["revenue_per_day"], name=f"{money} per day", mode="lines+markers",
            line={"color": "#c0392b"}, hovertemplate="%{x}<br>%{y:,.2f} per day<extra></extra>",
        ), secondary_y=True)
    fig.update_yaxes(title_text="active customers", secondary_y=False)
    fig.update_yaxes(title_text=f"{money} per covered day", secondary_y=True)
    title = f"Active customers and {money} per day"
    if partial.any():
        title += f"<br><sup>* hatched: partial period; compare its {money} per day, not its totals</sup>"
    legend = {"orientation": "h", "y": -0.25}
    return _layout(fig, title, legend=legend, height=380)
