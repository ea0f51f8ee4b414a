"""Customer story: which kind of segment is shown, a customer's card and timeline, transitions, cohorts.

The card, the search list and the Customers page show one current segment per customer: the story's
last period (as-of schemes: the same segment the analysis gives at the snapshot).
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from segmint import story_charts as sf
from segmint.app import figures, queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import graph, message
from segmint.app.pages.credit import credit_badge
from segmint.app.state import AppState
from segmint.features import filter_window

KIND_OPTIONS = [{"label": " as-of (lifecycle)", "value": "as_of"},
                {"label": " within-period (activity/value)", "value": "within_period"}]


def layout() -> html.Div:
    """Customer story page components."""
    return html.Div(
        [
            message("story-message"),
            dcc.Store(id="story-customer"),
            dbc.Row(
                [
                    dbc.Col(html.Div(id="story-kind-text", className="story-kind"), md=8),
                    dbc.Col(dbc.RadioItems(id="story-kind", options=KIND_OPTIONS, value=None, inline=True),
                            md=4, className="text-end"),
                ],
                className="mb-2 align-items-center",
            ),
            html.Div(id="story-partial", className="small text-muted mb-2"),
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
                    dbc.Col(dbc.Checklist(id="story-show-inactive",
                                          options=[{"label": " show Inactive -> Inactive", "value": "show"}],
                                          value=[], switch=True), md=3),
                ],
                className="mb-2",
            ),
            # side by side only from 1200 px: narrower, the matrix's cells and the periods' labels overlapped;
            # on a phone the matrix keeps cells wide enough to read and scrolls sideways in its own box
            dbc.Row([dbc.Col(graph("story-sankey", 560), xl=7, width=12),
                     dbc.Col([html.Div("Swipe the matrix sideways for every column; tap a cell for its segments.",
                                       className="d-md-none small text-muted"),
                              html.Div(graph("story-matrix", 560, grow=True), className="wide-figure")],
                             xl=5, width=12)]),
            dbc.Row([dbc.Col(graph("story-cohorts", 480, grow=True), xl=7, width=12),
                     dbc.Col(graph("story-periods", 380), xl=5, width=12)]),
        ]
    )


def _story(state: AppState, kind: str | None, *inputs: Any) -> tuple[Any, Any]:
    dataset_id, filters, settings = context(*inputs)
    kind = kind if _kind_allowed(filters.scheme, kind) else None
    return state.story(dataset_id, filters, settings, kind=kind), dataset_id


def _kind_allowed(scheme: str, kind: str | None) -> bool:
    from segmint.story import default_kind

    return kind == "as_of" or (kind == "within_period" and default_kind(scheme) != "as_of")


def kind_content(state: AppState, kind: str | None, *inputs: Any) -> tuple:
    """(kind sentence, radio options, radio value, partial-period note): what the page shows."""
    from segmint.story import default_kind

    story, _ = _story(state, kind, *inputs)
    lifecycle = default_kind(story.scheme) == "as_of"
    options = [dict(o, disabled=lifecycle and o["value"] == "within_period") for o in KIND_OPTIONS]
    sentence = [html.B(f"Showing {story.scheme} segments, {story.kind_name}: "),
                story.describe_kind().split(": ", 1)[1] + "."]
    if lifecycle:
        sentence.append(html.Span(" (Its names claim tenure and lifecycle, so it is shown as-of only.)",
                                  className="text-muted"))
    notes = [*story.notes, *[f"{c.describe()}; left out" for c in story.dropped]]
    return sentence, options, story.kind, html.Ul([html.Li(n) for n in notes]) if notes else None


def days_ago(days: int) -> str:
    """``today`` / ``1 day ago`` / ``12 days ago``."""
    days = int(days)
    return "today" if days == 0 else "1 day ago" if days == 1 else f"{days:,} days ago"


def result_list(rows: pd.DataFrame, latest: str | None = None) -> dbc.ListGroup:
    """Clickable customer ids with their current segment; recent buyers (90 days) carry a green badge.

    ``latest`` (a within-period story's last period) adds the customer's segment in that period.
    """
    items = []
    for row in rows.itertuples():
        recent = row.recency_days <= queries.RECENT_DAYS
        badge = dbc.Badge("recent", color="success", className="ms-2") if recent else None
        segment = f"current: {row.segment}"
        if latest is not None:
            segment = f"overall: {row.segment}; in {latest}: {row.current_segment}"
        items.append(dbc.ListGroupItem(
            [html.Span(row.customer_id, className="fw-bold"), badge,
             html.Div(f"{segment}, last purchase {days_ago(row.recency_days)}", className="small")],
            id={"type": "story-pick", "id": row.customer_id}, action=True,
            className="recent-customer" if recent else "",
        ))
    return dbc.ListGroup(items)


def search_content(state: AppState, text: str | None, kind: str | None, *inputs: Any) -> tuple:
    """(title, result list, message): matches for ``text`` or, when empty, the most recent customers."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    story, _ = _story(state, kind, *inputs)
    rows = state.query(dataset_id, queries.search_customers, analysis.customers, text or "")
    listed = state.query(dataset_id, story.stories, rows["customer_id"].tolist())  # their stories alone
    current = listed.set_index("customer_id")["current_segment"]
    rows["current_segment"] = rows["customer_id"].map(current).fillna("-")
    if text and text.strip():
        title = f"{len(rows)} match(es) for {text.strip()!r}" + (
            f" (first {queries.SEARCH_LIMIT})" if len(rows) == queries.SEARCH_LIMIT else "")
    else:
        title = "Most recent customers (green = bought in the last 90 days)"
    # as-of: the story's current segment is the analysis's segment; within-period: say which is which
    latest = None if story.kind == "as_of" else str(story.periods["period"].iloc[-1])
    return title, result_list(rows, latest), None


def story_card(row: dict[str, Any], period: str, latest: str | None = None, value: str | None = None,
               priced: bool = True) -> dbc.Card:
    """Current and previous segment, when it changed and why; first/last purchase, path, narrative.

    ``latest`` (a within-period story's last period) labels the segment as that period's; ``value``
    is an optional predicted-value line; without prices (``priced=False``) the spend counts items.
    """
    def fact(label: str, value: Any) -> html.Div:
        return html.Div([html.Span(f"{label}: ", className="text-muted"), html.Span(str(value))])

    changed = row.get("segment_changed_on")
    previous = row.get("previous_segment")
    current = "Current segment" if latest is None else f"Segment in {latest} (within-period)"
    return dbc.Card(dbc.CardBody([
        html.H5([f"Customer {row['customer_id']} ",
                 dbc.Badge("recent", color="success") if row["is_recent"] else None]),
        dbc.Row([
            dbc.Col([fact(current, row["current_segment"]),
                     fact("Previous segment", previous or "none (never changed)"),
                     fact("Segment changed on", changed or "-")], md=4),
            dbc.Col([fact("First purchase", row["first_purchase"]),
                     fact("Last purchase", row["last_purchase"]),
                     fact("Active periods", f"{row['active_periods']} of {row['periods']} {period}s")], md=4),
            dbc.Col([fact("Total spend", f"{row['total_spend']:,.2f}") if priced
                     else fact("Total items", f"{row['total_spend']:,.0f}"),
                     fact("First purchase in", f"{row['first_period']} as {row['first_segment']}")], md=4),
        ]),
        html.Div([html.Span("Why: ", className="text-muted"), row["current_reason"]], className="mt-2 small"),
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


def customer_content(state: AppState, customer_id: str | None, kind: str | None, *inputs: Any) -> tuple:
    """(card, timeline figure, message) for one customer."""
    if not customer_id:
        return None, figures.empty_figure("Pick a customer on the left"), None
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    story, _ = _story(state, kind, *inputs)

    def load() -> tuple:
        record = story.customer(customer_id)
        segments = story.period_segments
        every_segment = segments.select("segment", "segment_order").distinct().execute()
        window = filter_window(analysis.tx, start=filters.start, end=filters.end,
                               org=list(filters.orgs) or None)
        return record, every_segment, queries.customer_purchases(window, customer_id)

    record, every_segment, purchases = state.query(dataset_id, load)
    periods = pd.DataFrame(record["timeline"])
    for column in ("period_start", "period_end"):
        periods[column] = pd.to_datetime(periods[column])
    palette = figures.segment_colors(every_segment)
    timeline = sf.customer_timeline(periods, purchases, customer_id, palette, sf.period_labels(story.periods))
    latest = None if story.kind == "as_of" else str(story.periods["period"].iloc[-1])
    card = story_card(record, story.period, latest, priced=state.priced(dataset_id))
    credit = credit_badge(state, dataset_id, customer_id)  # the Credit Segment when a ledger is loaded
    if credit is not None:
        card.children.children.insert(1, credit)
    return card, timeline, None


def flows_content(state: AppState, from_period: str | None, to_period: str | None, show: list | None,
                  kind: str | None, *inputs: Any) -> tuple:
    """(period options, from, to, sankey, matrix, cohort heatmap, period activity, message)."""
    from segmint.story_tables import transitions

    story, dataset_id = _story(state, kind, *inputs)
    labels = story.periods["period"].tolist()
    shown = sf.period_labels(story.periods)
    options = [{"label": shown.get(p, p), "value": p} for p in labels]
    cohorts = sf.cohort_heatmap(story.cohorts, shown)
    activity = sf.period_activity(story.retention, state.priced(dataset_id))
    if len(labels) < 2:
        empty = figures.empty_figure("Need at least two periods for transitions")
        return options, None, None, empty, empty, cohorts, activity, None
    if from_period not in labels or to_period not in labels or labels.index(to_period) <= labels.index(from_period):
        from_period, to_period = labels[-2], labels[-1]

    def load() -> tuple:  # the story's integer rows: no join of text ids and reasons per callback
        rows = story.rows
        flows = transitions(rows, from_period, to_period)
        return flows, {rows.names[code]: order for code, order in rows.orders.items()}

    flows, order = state.query(dataset_id, load)
    sankey = sf.transitions_sankey(flows, order, from_period, to_period, show_inactive=bool(show), labels=shown)
    matrix = sf.migration_matrix(flows, order, from_period, to_period, shown)
    return options, from_period, to_period, sankey, matrix, cohorts, activity, None


def register(app: Dash, state: AppState) -> None:
    """Customer story callbacks."""
    @app.callback(Output("story-kind-text", "children"), Output("story-kind", "options"),
                  Output("story-kind", "value"), Output("story-partial", "children"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-kind", "value"), *FILTER_INPUTS, prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ("", KIND_OPTIONS, None, None, alert))
    def kind(chosen: str | None, *inputs: Any) -> tuple:
        return (*kind_content(state, chosen, *inputs), None)

    @app.callback(Output("story-results-title", "children"), Output("story-results", "children"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-search", "value"), Input("story-kind", "value"), *FILTER_INPUTS,
                  prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ("", None, alert))
    def search(text: str | None, chosen: str | None, *inputs: Any) -> tuple:
        return search_content(state, text, chosen, *inputs)

    @app.callback(Output("story-customer", "data"),
                  Input({"type": "story-pick", "id": ALL}, "n_clicks"), prevent_initial_call=True)
    def pick(clicks: list[int | None]) -> str | None:
        if not any(clicks) or not isinstance(ctx.triggered_id, dict):
            return no_update  # the list was re-rendered, nothing clicked
        return ctx.triggered_id["id"]

    @app.callback(Output("story-card", "children"), Output("story-timeline", "figure"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-customer", "data"), Input("story-kind", "value"), *FILTER_INPUTS,
                  prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: (None, figures.empty_figure("No story"), alert))
    def show_customer(customer_id: str | None, chosen: str | None, *inputs: Any) -> tuple:
        return customer_content(state, customer_id, chosen, *inputs)

    # after the card: both need the dataset's connection, and the card should not wait for the model
    @app.callback(Output("story-recommendations", "children"), Input("story-card", "children"),
                  State("story-customer", "data"), *[State(i.component_id, i.component_property) for i in FILTER_INPUTS])
    @guarded(lambda alert: None)
    def show_recommendations(_card: Any, customer_id: str | None, *inputs: Any) -> Any:
        return customer_recommendations(state, customer_id, *inputs)

    @app.callback(Output("story-from", "options"), Output("story-to", "options"),
                  Output("story-from", "value"), Output("story-to", "value"),
                  Output("story-sankey", "figure"), Output("story-matrix", "figure"),
                  Output("story-cohorts", "figure"), Output("story-periods", "figure"),
                  Output("story-message", "children", allow_duplicate=True),
                  Input("story-from", "value"), Input("story-to", "value"),
                  Input("story-show-inactive", "value"), Input("story-kind", "value"), *FILTER_INPUTS,
                  prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ([], [], None, None, figures.empty_figure("No data"), figures.empty_figure("No data"),
                            figures.empty_figure("No data"), figures.empty_figure("No data"), alert))
    def update_flows(from_period: str | None, to_period: str | None, show: list | None, chosen: str | None,
                     *inputs: Any) -> tuple:
        options, start, stop, sankey, matrix, cohorts, activity, msg = flows_content(
            state, from_period, to_period, show, chosen, *inputs)
        return options, options, start, stop, sankey, matrix, cohorts, activity, msg
