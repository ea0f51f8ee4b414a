"""Page shell: navigation, global filters, session stores and the page container."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dash_bootstrap_components as dbc
from dash import dcc, html

from segmint.app.filters import PERIODS
from segmint.app.state import AppState
from segmint.segment import available_schemes



@dataclass(frozen=True)
class Page:
    """One dashboard page: URL path, navigation label, module in ``segmint.app.pages``.

    The module has ``layout() -> component`` and ``register(app, state)``. To add a page, add one
    line to ``PAGES`` (the navigation bar and the router both read it).
    """

    path: str
    label: str
    module: str
    filters: bool = True  # show the global filter bar on this page


PAGES: list[Page] = [
    Page("/", "Overview", "overview"),
    Page("/segments", "Segments", "segments"),
    Page("/distributions", "Distributions", "distributions"),
    Page("/story", "Customer story", "story"),
    Page("/customers", "Customers", "customers"),
    Page("/products", "Products", "products"),
    Page("/value", "Value", "value"),
    Page("/credit", "Credit", "credit"),
    Page("/upload", "Upload", "upload", filters=False),
]


def kpi_card(title: str, value: str, note: str = "", card_id: str | None = None) -> dbc.Col:
    """One KPI tile (title, big number, small note)."""
    return dbc.Col(
        dbc.Card(
            dbc.CardBody([
                html.Div(title, className="kpi-title"),
                html.Div(value, className="kpi-value", id=card_id or f"kpi-{title.lower()}"),
                html.Div(note, className="kpi-note"),
            ]),
            className="kpi-card",
        ),
        xs=6, md=3,
    )


GRAPH_CONFIG = {"displaylogo": False, "displayModeBar": "hover"}


def graph(graph_id: str, height: int = 420, *, grow: bool = False) -> dcc.Loading:
    """A graph with a fixed starting height and a spinner while its callback runs.

    ``grow``: at least ``height``, taller when its figure sets a larger height (rows per segment or cohort);
    a fixed height cut such a figure's bottom (the migration matrix's axis title with 11 segments).
    """
    style = {"minHeight": f"{height}px"} if grow else {"height": f"{height}px"}
    return dcc.Loading(dcc.Graph(id=graph_id, style=style, config=GRAPH_CONFIG), type="default", delay_show=300)


def header_width(header: str) -> int:
    """Pixels a grid column needs so that its longest header word is shown whole."""
    return 8 * max(len(word) for word in header.split()) + 36


def message(message_id: str) -> html.Div:
    """Placeholder where a page shows errors and notes."""
    return html.Div(id=message_id, className="page-message")


def filters_bar() -> dbc.Card:
    """Global filters: date range, country, org, scheme, period (options filled per dataset)."""
    schemes = available_schemes()
    # a phone shows one line (the choices in words) that opens the filters: open, they took 350 px of its
    # first screen before any result
    toggle = html.Button([html.Span("Filters", className="filters-toggle-label"),
                          html.Span(id="filters-summary", className="filters-summary")],
                         id="filters-toggle", n_clicks=0, className="filters-toggle d-md-none",
                         **{"aria-controls": "filters-body", "aria-expanded": "false"})
    return dbc.Card(
        dbc.CardBody([toggle, html.Div(
            dbc.Row(
                [
                    dbc.Col([dbc.Label("Dates"), dcc.DatePickerRange(
                        id="f-dates", clearable=True, display_format="YYYY-MM-DD",
                        start_date_placeholder_text="from", end_date_placeholder_text="to")], md=3),
                    dbc.Col([dbc.Label("Country"), dcc.Dropdown(
                        id="f-country", multi=True, placeholder="all countries")], xs=6, md=3),
                    dbc.Col([dbc.Label("Org"), dcc.Dropdown(
                        id="f-org", multi=True, placeholder="all orgs")], xs=6, md=2),
                    dbc.Col([dbc.Label("Scheme"), dcc.Dropdown(
                        id="f-scheme", options=[{"label": s, "value": s} for s in schemes],
                        value=schemes[0] if schemes else None, clearable=False)], xs=6, md=2),
                    dbc.Col([dbc.Label("Period"), dcc.Dropdown(
                        id="f-period", options=[{"label": p, "value": p} for p in PERIODS],
                        value="quarter", clearable=False)], xs=6, md=2),
                ],
                className="g-2",
            ), id="filters-body", className="filters-body")]
        ),
        className="filters mb-3", id="filters-bar",
    )


def shell(state: AppState, max_upload_mb: int, live_tick_ms: int | None = None) -> Callable[[], html.Div]:
    """The layout function, evaluated per page load.

    A page starts on its browser session's last upload (so a reload keeps it), else the server's data.
    ``live_tick_ms`` (a live workspace is served) makes each tab check that often for newer data.
    """

    def layout() -> html.Div:
        session = {"dataset_id": state.start_dataset_id()}  # the browser session is a cookie (sessions.py)
        return html.Div(
            [
                dcc.Location(id="url"),
                dcc.Store(id="session", data=session),
                dcc.Store(id="scheme-settings", data={}),
                dcc.Store(id="max-upload-mb", data=max_upload_mb),
                dcc.Interval(id="live-tick", interval=live_tick_ms or 60_000, disabled=live_tick_ms is None),
                dbc.Navbar(
                    dbc.Container(
                        [
                            dbc.NavbarBrand("segmint", href="/"),
                            # a phone shows the brand and a menu button: the nine links filled its first screen
                            dbc.NavbarToggler(id="nav-toggler"),
                            dbc.Collapse(
                                [
                                    dbc.Nav([dbc.NavLink(page.label, href=page.path, active="exact")
                                             for page in PAGES], pills=True),
                                    html.Span([html.Span(id="dataset-label"), html.Span(id="live-status")],
                                              className="dataset-label"),
                                ],
                                id="nav-collapse", is_open=False, navbar=True,
                            ),
                        ],
                        fluid=True,
                    ),
                    color="dark", dark=True, expand="md", className="mb-3",
                ),
                dbc.Container([filters_bar(), html.Div(id="page")], fluid=True),
            ]
        )

    return layout
