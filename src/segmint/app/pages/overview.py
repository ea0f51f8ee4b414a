"""Overview: KPI cards, segment share, R x F grid and revenue by country."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Output, html

from segmint.app import figures, queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import graph, kpi_card, message
from segmint.app.state import AppState


def layout() -> html.Div:
    """Overview page components."""
    return html.Div(
        [
            message("overview-message"),
            dbc.Row(id="overview-kpis", className="g-3 mb-3"),
            dbc.Row([dbc.Col(graph("overview-share"), md=6), dbc.Col(graph("overview-rf"), md=6)]),
            dbc.Row([dbc.Col(graph("overview-country", 460), md=12)]),
        ]
    )


def kpi_cards(kpis: dict[str, float]) -> list[dbc.Col]:
    """Four KPI tiles from ``queries.kpis``."""
    return [
        kpi_card("Customers", f"{kpis['customers']:,}", "with a positive net purchase"),
        kpi_card("Revenue", f"{kpis['revenue']:,.0f}", "net of returns"),
        kpi_card("Avg order value", f"{kpis['aov']:,.2f}", f"{kpis['orders']:,.0f} orders"),
        kpi_card("Recent", f"{kpis['recent_share']:.1%}",
                 f"bought in the last {kpis['recent_days']} days"),
    ]


def overview_content(state: AppState, *inputs: Any) -> tuple:
    """(kpi cards, share figure, R x F figure, country figure, message) for the filter values."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)

    def load() -> tuple:
        return (queries.kpis(analysis.customers), queries.segment_counts(analysis.customers),
                queries.rf_grid(analysis.rfm), queries.country_revenue(analysis.customers))

    kpis, counts, grid, countries = state.query(dataset_id, load)
    note = None
    if filters.scheme != "rfm":
        note = html.Small("The R x F grid uses RFM scores of the same customers.", className="text-muted")
    return (kpi_cards(kpis), figures.segment_share(counts), figures.rf_heatmap(grid),
            figures.revenue_by_country(countries), note)


def _failed(alert: Any) -> tuple:
    empty = figures.empty_figure("No data")
    return [], empty, empty, empty, alert


def register(app: Dash, state: AppState) -> None:
    """Overview callbacks."""

    @app.callback(
        Output("overview-kpis", "children"),
        Output("overview-share", "figure"),
        Output("overview-rf", "figure"),
        Output("overview-country", "figure"),
        Output("overview-message", "children"),
        *FILTER_INPUTS,
    )
    @guarded(_failed)
    def update_overview(*inputs: Any) -> tuple:
        return overview_content(state, *inputs)
