"""Figures of the Value page: small pandas tables from a CLV result in, plotly Figures out (no I/O)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from segmint.charts import _layout, empty_figure, log_ticks, segment_colors

__all__ = ["clv_histogram", "p_alive_grid", "p_alive_matrix", "segment_value_bars", "tracking_plot"]


def p_alive_grid(model, *, max_frequency: int, T: float, cells: int = 30) -> pd.DataFrame:
    """P(alive) of a customer observed for ``T`` units, by repeat purchases (1..max) and recency."""
    frequencies = np.arange(1, max(max_frequency, 1) + 1)
    recencies = np.linspace(0.0, T, cells)
    x, t_x = np.meshgrid(frequencies, recencies, indexing="ij")
    values = model.p_alive(x.ravel(), t_x.ravel(), np.full(x.size, T))
    return pd.DataFrame({"frequency": x.ravel(), "recency": t_x.ravel(), "p_alive": values})


def p_alive_matrix(grid: pd.DataFrame, unit: str, T: float) -> go.Figure:
    """Heatmap of P(alive) by frequency (rows) and recency (columns): the classic BTYD diagnostic."""
    if grid.empty:
        return empty_figure("No model")
    table = grid.pivot(index="frequency", columns="recency", values="p_alive")
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=table.columns, y=table.index, colorscale="RdYlGn", zmin=0, zmax=1,
        colorbar={"title": {"text": "P(alive)"}},
        hovertemplate=f"%{{y}} repeat purchases, last one after %{{x:.1f}} {unit}s<br>P(alive) %{{z:.2f}}<extra></extra>",
    ))
    return _layout(fig, f"P(alive) by frequency and recency (customers observed {T:,.0f} {unit}s)",
                   xaxis_title=f"recency ({unit}s from first to last purchase)",
                   yaxis_title="repeat purchases (frequency)")


def clv_histogram(clv: pd.Series, horizon_label: str, bins: int = 40, *, measure: str = "CLV",
                  note: str = "") -> go.Figure:
    """Customers per CLV band on a log scale (CLV is heavy-tailed); customers with CLV 0 noted.

    ``measure`` names what is counted (``"expected purchases"`` when there is no CLV); ``note`` says why.
    """
    values = clv.dropna().to_numpy(dtype=float)
    positive = values[values > 0]
    if positive.size == 0:
        return empty_figure(f"No positive {measure}")
    edges = np.linspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, bins + 1)
    counts, _ = np.histogram(np.log10(positive), edges)
    low, high = 10 ** edges[:-1], 10 ** edges[1:]
    fig = go.Figure(go.Bar(
        x=np.sqrt(low * high), y=counts, width=high - low, marker_color="#2a6f97",
        customdata=np.column_stack([low, high]),
        hovertemplate=f"{measure} %{{customdata[0]:,.2f}} - %{{customdata[1]:,.2f}}<br>customers %{{y:,}}<extra></extra>",
    ))
    # Plotly's own 1-2-5 ticks over five decades ran together ("1,000,0002,000,000" on a Tally day book)
    ticks = log_ticks(float(positive.min()), float(positive.max()))
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=[f"{t:,.0f}" if t >= 1 else f"{t:g}" for t in ticks])
    zeros = f" ({values.size - positive.size:,} at 0)" if values.size > positive.size else ""
    subtitle = f"<br><sup>{note}</sup>" if note else ""
    return _layout(fig, f"{measure[0].upper() + measure[1:]} over {horizon_label}: customers{zeros}{subtitle}",
                   xaxis_title=f"{measure} (log scale)", yaxis_title="customers", bargap=0)


def tracking_plot(tracking: pd.DataFrame | None, unit: str, calibration_end) -> go.Figure:
    """Cumulative repeat purchases, actual vs model, with the calibration end marked (FHL 2005 fig. 3)."""
    if tracking is None or tracking.empty:
        return empty_figure("Choose a calibration end before the last day to check the forecast")
    x = pd.to_datetime(tracking["period_end"])
    fig = go.Figure([
        go.Scatter(x=x, y=tracking["cumulative_actual"], name="actual", mode="lines",
                   line={"color": "#1b3a57", "width": 2}),
        go.Scatter(x=x, y=tracking["cumulative_expected"], name="model", mode="lines",
                   line={"color": "#d1495b", "width": 2, "dash": "dash"}),
    ])
    fig.add_vline(x=pd.Timestamp(calibration_end).timestamp() * 1000, line={"color": "#888", "dash": "dot"})
    fig.add_annotation(x=pd.Timestamp(calibration_end), y=1, yref="paper", text="calibration end",
                       showarrow=False, xanchor="right", font={"size": 11, "color": "#666"})
    return _layout(fig, f"Tracking: cumulative repeat purchases per {unit}", yaxis_title="repeat purchases",
                   legend={"orientation": "h", "y": -0.15})


def segment_value_bars(by_segment: pd.DataFrame | None, degenerate: bool = False) -> go.Figure:
    """Share of customers vs share of predicted value per segment; a message instead when there is no value
    to share out (a degenerate fit, or no spend model): a legend over customers' bars alone read as a bug."""
    if by_segment is None or by_segment.empty:
        return empty_figure("No segments")
    if degenerate:
        return empty_figure("No predicted value by segment: the model's fit is degenerate (see the warning above)")
    if not np.isfinite(by_segment["share_of_clv"].to_numpy(dtype=float)).any():
        return empty_figure("No predicted value by segment: there is no spend model (see the notes above)")
    table = by_segment.sort_values("segment_order")
    colors = segment_colors(table)
    customers = table["customers"] / table["customers"].sum()
    fig = go.Figure([
        go.Bar(y=table["segment"], x=customers, name="share of customers", orientation="h",
               marker_color="#c5d3e0", hovertemplate="%{y}: %{x:.1%} of customers<extra></extra>"),
        go.Bar(y=table["segment"], x=table["share_of_clv"], name="share of predicted value", orientation="h",
               marker_color=[colors[s] for s in table["segment"]],
               hovertemplate="%{y}: %{x:.1%} of predicted value<extra></extra>"),
    ])
    fig.update_xaxes(tickformat=".0%")
    return _layout(fig, "Customers vs predicted value by segment", barmode="group",
                   legend={"orientation": "h", "y": -0.12})
