"""Figures of the Credit page: small tables from ``segmint.credit`` in, plotly Figures out (no I/O)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from segmint.charts import _layout, bar_width_ms, empty_figure
from segmint.credit.measures import BUCKETS
from segmint.credit.scorecard import SEGMENTS

BUCKET_LABELS = {"aging_0_30": "0-30 days", "aging_31_60": "31-60", "aging_61_90": "61-90", "aging_90_plus": "90+"}
BUCKET_COLORS = {"aging_0_30": "#4caf50", "aging_31_60": "#ffc107", "aging_61_90": "#ff7043", "aging_90_plus": "#c62828"}
SEGMENT_COLORS = {"Low": "#2e7d32", "Medium": "#f9a825", "High": "#ef6c00", "Very High": "#c62828"}
VALUE_ORDER = ("High Value", "Average", "Below Average", "Low Value", "No Sales")
LABEL_CHARS = 24  # party names longer than this are cut in bar labels (the hover has them whole)


def aging_by_segment(details: pd.DataFrame) -> go.Figure:
    """Stacked bars: what each Credit Segment owes, split by age (0-30 ... 90+ days)."""
    if details.empty:
        return empty_figure("No customers")
    totals = details.groupby("credit_segment")[list(BUCKETS)].sum().reindex(SEGMENTS).fillna(0)
    if not (totals.to_numpy() > 0).any():  # an empty axis from -1 to 1 read as a broken chart
        fig = empty_figure("Nobody owes anything")
        fig.layout.title.text = "Outstanding by risk and age"
        return fig
    fig = go.Figure([
        go.Bar(x=totals.index, y=totals[b], name=BUCKET_LABELS[b], marker_color=BUCKET_COLORS[b],
               hovertemplate="%{x}: %{y:,.2f}<extra>" + BUCKET_LABELS[b] + "</extra>")
        for b in BUCKETS
    ])  # fmt: skip
    return _layout(fig, "Outstanding by risk and age", barmode="stack", xaxis_title="Credit Segment (risk)",
                   yaxis_title="owed", legend_title="age")


def aging_top_customers(details: pd.DataFrame, top: int = 15) -> go.Figure:
    """Stacked horizontal bars of the customers who owe the most, by age."""
    owing = details[details["outstanding"] > 0].nlargest(top, "outstanding").iloc[::-1]
    if owing.empty:
        return empty_figure("Nobody owes anything")
    # names cut to LABEL_CHARS (a phone's 390 px left the bars a sliver beside 45-character party names);
    # the rank keeps two names cut alike two bars, and the hover gives the whole name
    names = owing["customer_id"].astype(str)
    ranks = range(len(owing), 0, -1)
    labels = [f"{rank}. {_cut(name)} ({segment})" for rank, name, segment in zip(ranks, names, owing["credit_segment"])]
    fig = go.Figure([
        go.Bar(y=labels, x=owing[b], name=BUCKET_LABELS[b], orientation="h", marker_color=BUCKET_COLORS[b],
               customdata=names, hovertemplate="%{customdata}: %{x:,.2f}<extra>" + BUCKET_LABELS[b] + "</extra>")
        for b in BUCKETS
    ])  # fmt: skip
    return _layout(fig, f"Top {len(owing)} balances by age", barmode="stack", xaxis_title="owed", showlegend=False)


def score_distribution(details: pd.DataFrame) -> go.Figure:
    """Histogram of Credit Scores (bins of 5), coloured by Credit Segment."""
    if details.empty:
        return empty_figure("No customers")
    fig = go.Figure([
        go.Histogram(x=details.loc[details["credit_segment"] == s, "credit_score"], name=s,
                     marker_color=SEGMENT_COLORS.get(s), xbins={"start": 0, "end": 100.01, "size": 5})
        for s in SEGMENTS if (details["credit_segment"] == s).any()
    ])  # fmt: skip
    return _layout(fig, "Credit Score distribution", barmode="stack", xaxis_title="Credit Score (higher = safer)",
                   yaxis_title="customers", xaxis_range=[0, 100])


def value_risk_matrix(matrix: pd.DataFrame) -> go.Figure:
    """Heatmap of customers by value level (rows) x Credit Segment (columns), with what they owe."""
    if matrix.empty:
        return empty_figure("Give sales data to see value x risk")
    counts = matrix.pivot_table(index="value_segment", columns="credit_segment", values="customer_id",
                                aggfunc="count", fill_value=0)  # fmt: skip
    # what they owe: positive balances only (a customer who paid ahead owes nothing, and does not offset others)
    owed = matrix.assign(_owed=matrix["outstanding"].clip(lower=0)).pivot_table(
        index="value_segment", columns="credit_segment", values="_owed", aggfunc="sum", fill_value=0)
    rows = [v for v in VALUE_ORDER if v in counts.index]
    counts, owed = counts.reindex(index=rows, columns=list(SEGMENTS), fill_value=0), owed.reindex(
        index=rows, columns=list(SEGMENTS), fill_value=0)
    from segmint.util import counted

    # the cell rounds to whole units for room ("1 customer, owed", not "1 customers owe"); the hover is to the cent
    text = [[f"{counted(int(counts.iat[i, j]), 'customer')}<br>owed {owed.iat[i, j]:,.0f}" for j in range(len(SEGMENTS))]
            for i in range(len(rows))]  # fmt: skip
    exact = [[f"{counted(int(counts.iat[i, j]), 'customer')}, owed {owed.iat[i, j]:,.2f}" for j in range(len(SEGMENTS))]
             for i in range(len(rows))]  # fmt: skip
    fig = go.Figure(go.Heatmap(
        z=counts.values, x=list(SEGMENTS), y=rows, text=text, customdata=exact, texttemplate="%{text}",
        colorscale="Oranges", hovertemplate="%{y} x %{x} risk<br>%{customdata}<extra></extra>", showscale=False,
    ))  # fmt: skip
    return _layout(fig, "Value x risk", xaxis_title="Credit Segment (risk)", yaxis_autorange="reversed")


def _cut(name: str) -> str:
    """A party name cut to LABEL_CHARS characters (an ellipsis says it was cut)."""
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1].rstrip() + "…"


def ledger_timeline(timeline: pd.DataFrame, allocations: pd.DataFrame, customer_id: str, terms: int | None) -> go.Figure:
    """One customer's bills and payments as bars, the running balance as a line; below, days to pay."""
    if timeline.empty:
        return empty_figure("Pick a customer")
    paid = allocations.dropna(subset=["days_to_pay"]) if len(allocations) else allocations
    if len(paid):
        fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.65, 0.35], vertical_spacing=0.08,
                            subplot_titles=("bills (up), payments and credit notes (down), balance", "days to pay"))
    else:  # an empty 'days to pay' panel drew no date axis, and hid the dates of the one above (shared axes)
        fig = make_subplots(rows=1, cols=1, subplot_titles=(
            "no bill paid yet: bills (up), credit notes (down), balance",))  # short: one line at 390 px
    kinds = {"bill": timeline["amount"] > 0, "payment": (timeline["amount"] < 0) & (timeline["base_type"] == "Receipt"),
             "credit note / adjustment": (timeline["amount"] < 0) & (timeline["base_type"] != "Receipt")}
    colors = {"bill": "#1565c0", "payment": "#2e7d32", "credit note / adjustment": "#8e24aa"}
    width = bar_width_ms(pd.to_datetime(timeline["entry_date"]))
    for name, mask in kinds.items():
        part = timeline[mask]
        if len(part):
            fig.add_trace(go.Bar(x=part["entry_date"], y=part["amount"], name=name, marker_color=colors[name],
                                 width=width,
                                 customdata=part[["voucher_type", "voucher_no"]].fillna("").values,
                                 hovertemplate="%{x}: %{y:,.2f}<br>%{customdata[0]} %{customdata[1]}<extra></extra>"),
                          row=1, col=1)  # fmt: skip
    fig.add_trace(go.Scatter(x=timeline["entry_date"], y=timeline["balance"], name="balance", mode="lines",
                             line={"shape": "hv", "color": "#424242"}), row=1, col=1)  # fmt: skip
    if len(paid):
        fig.add_trace(go.Scatter(
            x=paid["settled_by_date"], y=paid["days_to_pay"], mode="markers", name="days to pay",
            marker={"size": 6 + 14 * (paid["amount"] / paid["amount"].max()) ** 0.5, "color": "#ef6c00"},
            customdata=paid[["bill_no", "amount"]].values,
            hovertemplate="bill %{customdata[0]}: %{customdata[1]:,.2f} paid after %{y} days<extra></extra>",
        ), row=2, col=1)  # fmt: skip
        if terms is not None:
            fig.add_hline(y=terms, line_dash="dot", line_color="#c62828", row=2, col=1)
    return _layout(fig, f"Ledger of {customer_id}", barmode="relative", height=520,
                   legend={"orientation": "h", "y": -0.08})
