"""Customer story: search a customer, their timeline and narrative; transitions; cohort retention."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from segmint.app import figures, queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import graph, message
from segmint.app.state import AppState
from segmint.features import filter_window


def layout() -> html.Div:
    """Customer story page components."""
    return html.Div(
        [
            message("story-message"),
            dcc.Store(id="story-customer"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Input(id="story-search", placeholder="search customer id ...",
                                      debounce=True, type="search", className="mb-2"),
                            html.Div(id="story-results-title", className="small text-muted mb-1"),
                            dcc.Loading(html.Div(id="story-results"), delay_show=300),
                        ],
                        md=3,
                    ),
                    dbc.Col([html.Div(id="story-card"), html.Div(id="story-value", className="small mb-2"),
                             dcc.Loading(html.Div(id="story-recommendations"), delay_show=300),
                             graph("story-timeline", 380)], md=9),
                ]
            ),
            html.Hr(),
            dbc.Row(
                [
                    dbc.Col(dbc.InputGroup([dbc.InputGroupText("from"),
                                            dbc.Select(id="story-from")]), md=3),
                    dbc.Col(dbc.InputGroup([dbc.InputGroupText("to"), dbc.Select(id="story-to")]), md=3),
                    dbc.Col(html.Small(id="story-excluded", className="text-muted"), md=6),
                ],
                className="mb-2",
            ),
            dbc.Row([dbc.Col(graph("story-sankey", 520), md=7), dbc.Col(graph("story-cohorts", 520), md=5)]),
        ]
    )


def days_ago(days: int) -> str:
    """``today`` / ``1 day ago`` / ``12 days ago``."""
    days = int(days)
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{days:,} days ago"


def result_list(rows: pd.DataFrame) -> dbc.ListGroup:
    """Clickable customer ids; customers who bought in the last 90 days carry a green badge."""
    items = []
    for row in rows.itertuples():
        recent = row.recency_days <= queries.RECENT_DAYS
        badge = dbc.Badge("recent", color="success", className="ms-2") if recent else None
        items.append(dbc.ListGroupItem(
            [html.Span(row.customer_id, className="fw-bold"), badge,
             html.Div(f"overall {row.segment}, last purchase {days_ago(row.recency_days)}", className="small")],
            id={"type": "story-pick", "id": row.customer_id}, action=True,
            className="recent-customer" if recent else "",
        ))
    return dbc.ListGroup(items)


def search_content(state: AppState, text: str | None, *inputs: Any) -> tuple:
    """(title, result list, message): matches for ``text`` or, when empty, the most recent customers."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    rows = state.query(dataset_id, queries.search_customers, analysis.customers, text or "")
    if text and text.strip():
        title = f"{len(rows)} match(es) for {text.strip()!r}" + (
            f" (first {queries.SEARCH_LIMIT})" if len(rows) == queries.SEARCH_LIMIT else "")
    else:
        title = "Most recent customers (green = bought in the last 90 days)"
    return title, result_list(rows), None


def story_card(row: pd.Series, value: str | None = None) -> dbc.Card:
    """First/last purchase, current segment, path and narrative of one customer (+ a value line)."""
    def fact(label: str, value: Any) -> html.Div:
        return html.Div([html.Span(f"{label}: ", className="text-muted"), html.Span(str(value))])

    return dbc.Card(dbc.CardBody([
        html.H5([f"Customer {row['customer_id']} ",
                 dbc.Badge("recent", color="success") if row["is_recent"] else None]),
        dbc.Row([
            dbc.Col([fact("First purchase", pd.Timestamp(row["first_purchase"]).date()),
                     fact("Last purchase", pd.Timestamp(row["last_purchase"]).date())], md=4),
            dbc.Col([fact("Segment in the latest period", row["current_segment"]),
                     fact("Active periods", f"{row['active_periods']} of {row['periods']}")], md=4),
            dbc.Col([fact("Total spend", f"{row['total_spend']:,.2f}"),
                     fact("Joined", f"{row['first_period']} as {row['first_segment']}")], md=4),
        ]),
        html.P(row["narrative"], className="mt-2 mb-0 story-narrative"),
        html.P(value, className="mt-1 mb-0 small story-value") if value else None,
    ]), className="mb-2")


def customer_recommendations(state: AppState, customer_id: str | None, *inputs: Any) -> html.Div | None:
    """The customer's top recommendations (none when the data have no products)."""
    from segmint.app.pages.products import recommendation_list
    from segmint.errors import SegmintError

    if not customer_id:
        return None
    dataset_id, filters, settings = context(*inputs)
    try:
        card = state.recommendations(dataset_id, filters, settings).customer(customer_id)
    except SegmintError:
        return None
    return recommendation_list(card)


def customer_content(state: AppState, customer_id: str | None, *inputs: Any) -> tuple:
    """(card, timeline figure, message) for one customer."""
    if not customer_id:
        return None, figures.empty_figure("Pick a customer on the left"), None
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    story = state.story(dataset_id, filters, settings)
    row = story.customer(customer_id)

    def load() -> tuple:
        segments = story.period_segments
        periods = segments.filter(segments.customer_id == customer_id).order_by("period_index").execute()
        every_segment = segments.select("segment", "segment_order").distinct().execute()
        window = filter_window(analysis.tx, start=filters.start, end=filters.end,
                               org=list(filters.orgs) or None)
        return periods, every_segment, queries.customer_purchases(window, customer_id)

    periods, every_segment, purchases = state.query(dataset_id, load)
    palette = figures.segment_colors(every_segment)
    return story_card(row), figures.customer_timeline(periods, purchases, customer_id, palette), None


def flows_content(state: AppState, from_period: str | None, to_period: str | None, *inputs: Any) -> tuple:
    """(period options, from, to, sankey, cohort heatmap, excluded-period note, message)."""
    from segmint.story_tables import transitions

    dataset_id, filters, settings = context(*inputs)
    story = state.story(dataset_id, filters, settings)
    labels = story.periods["period"].tolist()
    options = [{"label": p, "value": p} for p in labels]
    if len(labels) < 2:
        empty = figures.empty_figure("Need at least two periods for transitions")
        return options, None, None, empty, figures.cohort_heatmap(story.cohorts), "", None
    if from_period not in labels or to_period not in labels or labels.index(to_period) <= labels.index(from_period):
        from_period, to_period = labels[-2], labels[-1]

    def load() -> tuple:
        flows = transitions(story.period_segments, from_period, to_period)
        segments = story.period_segments
        order = segments.select("segment", "segment_order").distinct().execute()
        return flows, dict(zip(order["segment"], order["segment_order"], strict=True))

    flows, order = state.query(dataset_id, load)
    note = story.excluded.describe() if story.excluded else ""
    return (options, from_period, to_period, figures.transitions_sankey(flows, order, from_period, to_period),
            figures.cohort_heatmap(story.cohorts), note, None)


def register(app: Dash, state: AppState) -> None:
    """Customer story callbacks."""

    @app.callback(Output("story-results-title", "children"), Output("story-results", "children"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-search", "value"), *FILTER_INPUTS, prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ("", None, alert))
    def search(text: str | None, *inputs: Any) -> tuple:
        return search_content(state, text, *inputs)

    @app.callback(Output("story-customer", "data"),
                  Input({"type": "story-pick", "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def pick(clicks: list[int | None]) -> str | None:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update  # the list was re-rendered, nothing clicked
        return ctx.triggered_id["id"]

    @app.callback(Output("story-card", "children"), Output("story-timeline", "figure"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-customer", "data"), *FILTER_INPUTS, prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: (None, figures.empty_figure("No story"), alert))
    def show_customer(customer_id: str | None, *inputs: Any) -> tuple:
        return customer_content(state, customer_id, *inputs)

    # after the card: both need the dataset's connection, and the card should not wait for the model
    @app.callback(Output("story-recommendations", "children"), Input("story-card", "children"),
                  State("story-customer", "data"), *[State(i.component_id, i.component_property) for i in FILTER_INPUTS])
    @guarded(lambda alert: None)
    def show_recommendations(_card: Any, customer_id: str | None, *inputs: Any) -> Any:
        return customer_recommendations(state, customer_id, *inputs)

    @app.callback(Output("story-from", "options"), Output("story-to", "options"),
                  Output("story-from", "value"), Output("story-to", "value"),
                  Output("story-sankey", "figure"), Output("story-cohorts", "figure"),
                  Output("story-excluded", "children"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-from", "value"), Input("story-to", "value"), *FILTER_INPUTS,
                  prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ([], [], None, None, figures.empty_figure("No data"),
                            figures.empty_figure("No data"), "", alert))
    def update_flows(from_period: str | None, to_period: str | None, *inputs: Any) -> tuple:
        options, start, stop, sankey, cohorts, note, msg = flows_content(state, from_period, to_period, *inputs)
        return options, options, start, stop, sankey, cohorts, note, msg
