"""Overview: KPI cards, segment share (treemap and pie), R x F grid, RFM scores and revenue by country."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html, no_update

from segmint.app import figures, queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import graph, kpi_card, message
from segmint.app.state import AppState
from segmint.units import purchase_words


def layout() -> html.Div:
    """Overview page components."""
    return html.Div(
        [
            message("overview-message"),
            dbc.Row(id="overview-kpis", className="g-3 mb-3"),
            dbc.RadioItems(
                id="overview-share-by", inline=True, value="customers", className="mb-1 small",
                options=[{"label": "share of customers", "value": "customers"},
                         {"label": "share of revenue", "value": "revenue"}],
            ),
            dbc.Row([dbc.Col(graph("overview-share"), md=6), dbc.Col(graph("overview-pie"), md=6)]),
            dbc.Row([dbc.Col(graph("overview-rf"), md=6), dbc.Col(graph("overview-scores"), md=6)]),
            dbc.Row([dbc.Col(graph("overview-country", 460), md=12)], id="overview-country-row"),
        ]
    )


def kpi_cards(kpis: dict[str, float], priced: bool = True, frequency: str = "invoices") -> list[dbc.Col]:
    """Four KPI tiles from ``queries.kpis``; without prices (``--unpriced units``) the amounts are item counts,
    named so (a basket log showed "Revenue 38,765.00"); without invoices (``frequency`` days) a purchase is a
    visit (a customer's day), not an order."""
    many, one = purchase_words(frequency)
    money = [
        kpi_card("Revenue", f"{kpis['revenue']:,.2f}", "net of returns"),
        kpi_card(f"Avg {one} value", f"{kpis['aov']:,.2f}", f"{kpis['orders']:,.0f} {many}",
                 card_id="kpi-avg order value"),
    ] if priced else [
        kpi_card("Items", f"{kpis['revenue']:,.0f}", "net of returns (no prices)", card_id="kpi-revenue"),
        kpi_card(f"Avg items per {one}", f"{kpis['aov']:,.2f}", f"{kpis['orders']:,.0f} {many}",
                 card_id="kpi-avg order value"),
    ]
    return [
        kpi_card("Customers", f"{kpis['customers']:,}", "with a positive net purchase"),
        *money,
        kpi_card("Recent", f"{kpis['recent_share']:.1%}",
                 f"bought in the last {kpis['recent_days']} days"),
    ]


def share_options(state: AppState, *inputs: Any) -> list[dict]:
    """The share switch's choices: of customers, and of revenue (of items when the data have no prices)."""
    from segmint.units import measure_word

    dataset_id, _, _ = context(*inputs)
    return [{"label": "share of customers", "value": "customers"},
            {"label": measure_word("share of revenue", state.priced(dataset_id)), "value": "revenue"}]


def overview_content(state: AppState, share_by: str | None, *inputs: Any) -> tuple:
    """(kpi cards, treemap, pie, R x F grid, RFM score bars, country figure, country row style, message)."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    share_by = share_by if share_by in ("customers", "revenue") else "customers"

    def load() -> tuple:
        return (queries.kpis(analysis.customers), queries.segment_counts(analysis.customers),
                queries.rf_grid(analysis.rfm), queries.rfm_score_totals(analysis.rfm),
                queries.country_revenue(analysis.customers))

    kpis, counts, grid, totals, countries = state.query(dataset_id, load)
    note = None
    if filters.scheme != "rfm":
        note = html.Small("The R x F grid and the RFM scores use RFM scores of the same customers.",
                          className="text-muted")
    # no country column (or no value in it): no chart rather than one "(unknown)" bar
    has_country = bool(countries["country"].notna().any()) if not countries.empty else False
    country_style = {} if has_country else {"display": "none"}
    priced = state.priced(dataset_id)
    return (kpi_cards(kpis, priced, state.dataset(dataset_id).purchase_unit), figures.segment_share(counts, share_by, priced),
            figures.segment_pie(counts, share_by, priced),
            figures.rf_heatmap(grid, getattr(analysis.result.configs.get("rfm"), "bins", 5), priced),
            figures.rfm_score_bars(totals, priced),
            figures.revenue_by_country(countries) if has_country else figures.empty_figure("No country column"),
            country_style, note)


def _failed(alert: Any) -> tuple:
    empty = figures.empty_figure("No data")
    return [], empty, empty, empty, empty, empty, {"display": "none"}, alert


def register(app: Dash, state: AppState) -> None:
    """Overview callbacks."""

    @app.callback(
        Output("overview-kpis", "children"),
        Output("overview-share", "figure"),
        Output("overview-pie", "figure"),
        Output("overview-rf", "figure"),
        Output("overview-scores", "figure"),
        Output("overview-country", "figure"),
        Output("overview-country-row", "style"),
        Output("overview-message", "children"),
        Input("overview-share-by", "value"),
        *FILTER_INPUTS,
    )
    @guarded(_failed)
    def update_overview(share_by: str | None, *inputs: Any) -> tuple:
        return overview_content(state, share_by, *inputs)

    @app.callback(Output("overview-share-by", "options"), *FILTER_INPUTS)
    @guarded(lambda alert: no_update)
    def share_labels(*inputs: Any) -> list[dict]:
        return share_options(state, *inputs)
