"""Distributions: recency / frequency / monetary histograms and pairwise scatter plots by segment."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, dcc, html

from segmint.app import figures, queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import graph, message
from segmint.app.state import AppState

FEATURES = ("recency_days", "frequency", "monetary")
PAIRS = (("recency_days", "frequency"), ("recency_days", "monetary"), ("frequency", "monetary"))


def layout() -> html.Div:
    """Distributions page components."""
    return html.Div(
        [
            message("dist-message"),
            dbc.Row(
                [
                    dbc.Col(dcc.Checklist(
                        id="dist-log", inline=True, inputClassName="me-1", labelClassName="me-3",
                        options=[{"label": "log x (bins on log10 scale)", "value": "log_x"},
                                 {"label": "log y (counts)", "value": "log_y"}],
                        value=[]), md=8),
                    dbc.Col(html.Small(id="dist-sample-note", className="text-muted"), md=4),
                ],
                className="mb-2",
            ),
            dbc.Row([dbc.Col(graph(f"dist-hist-{name}", 340), md=4) for name in FEATURES]),
            html.Div(id="dist-legend", className="segment-legend"),
            dbc.Row([dbc.Col(graph(f"dist-scatter-{i}", 460), md=4) for i in range(len(PAIRS))]),
        ]
    )


def distributions_content(state: AppState, log_options: list[str] | None, *inputs: Any) -> tuple:
    """Three histograms, three scatter plots, the sampling note and a message."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    log_x, log_y = "log_x" in (log_options or []), "log_y" in (log_options or [])

    def load() -> tuple:
        bins = [queries.histogram_bins(analysis.customers, f, log=log_x) for f in FEATURES]
        return bins, queries.scatter_points(analysis.customers)

    bins, (points, total) = state.query(dataset_id, load)
    priced = state.priced(dataset_id)  # without prices monetary counts items
    histograms = [figures.histogram(b, f, log_x=log_x, log_y=log_y, priced=priced)
                  for b, f in zip(bins, FEATURES, strict=True)]
    # the three scatters share segments and colours: one legend above them, the plots stay aligned
    scatters = [figures.segment_scatter(points, x, y, total=total, legend=False, priced=priced) for x, y in PAIRS]
    note = (f"Scatter plots show a random sample of {len(points):,} of {total:,} customers."
            if total > len(points) else f"Scatter plots show all {total:,} customers.")
    return (*histograms, *scatters, segment_legend(points), note, None)


def segment_legend(points: Any) -> list:
    """Coloured chips naming each segment, most valuable first (the scatters' shared legend)."""
    if points.empty:
        return []
    colors = figures.segment_colors(points)
    order = points.drop_duplicates("segment").sort_values("segment_order", ascending=False)["segment"]
    return [html.Span([html.Span(className="legend-dot", style={"background": colors[name]}), str(name)],
                      className="legend-chip") for name in order]


def register(app: Dash, state: AppState) -> None:
    """Distributions callback."""
    outputs = [Output(f"dist-hist-{name}", "figure") for name in FEATURES]
    outputs += [Output(f"dist-scatter-{i}", "figure") for i in range(len(PAIRS))]

    def failed(alert: Any) -> tuple:
        return (*[figures.empty_figure("No data")] * len(outputs), [], "", alert)

    @app.callback(*outputs, Output("dist-legend", "children"), Output("dist-sample-note", "children"),
                  Output("dist-message", "children"),
                  Input("dist-log", "value"), *FILTER_INPUTS)
    @guarded(failed)
    def update_distributions(log_options: list[str] | None, *inputs: Any) -> tuple:
        return distributions_content(state, log_options, *inputs)
