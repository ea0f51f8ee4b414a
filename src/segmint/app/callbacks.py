"""Callbacks shared by every page: routing, filter options, and the helpers pages build on."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, html

from segmint.app.filters import Filters
from segmint.app.messages import describe
from segmint.app.state import AppState
from segmint.errors import SegmintError

log = logging.getLogger(__name__)

# Every page's data callbacks listen to these (session = which dataset; the rest = global filters).
FILTER_INPUTS = [
    Input("session", "data"),
    Input("f-dates", "start_date"),
    Input("f-dates", "end_date"),
    Input("f-country", "value"),
    Input("f-org", "value"),
    Input("f-scheme", "value"),
    Input("f-period", "value"),
    Input("scheme-settings", "data"),
]


def context(session: dict | None, start: Any, end: Any, countries: Any, orgs: Any, scheme: Any,
            period: Any, settings: dict | None) -> tuple[str | None, Filters, dict]:
    """(dataset id, Filters, scheme settings) from the values of ``FILTER_INPUTS``."""
    dataset_id = (session or {}).get("dataset_id")
    return dataset_id, Filters.from_inputs(start, end, countries, orgs, scheme, period), settings or {}


def alert(text: str, color: str = "warning") -> dbc.Alert:
    """A dismissable message box (line breaks in ``text`` are kept)."""
    return dbc.Alert(text, color=color, dismissable=True, className="mb-2", style={"whiteSpace": "pre-line"})


def user_error(exc: Exception) -> dbc.Alert:
    """Show a SegmintError to the user; anything else is logged and shown briefly."""
    if isinstance(exc, SegmintError):
        return alert(describe(exc))
    log.exception("dashboard callback failed")
    return alert(f"Something went wrong: {type(exc).__name__}: {exc}", color="danger")


def guarded(fallback: Callable[[dbc.Alert], tuple]) -> Callable:
    """Decorator: on an error return ``fallback(alert)`` instead of raising into the browser."""

    def wrap(function: Callable[..., tuple]) -> Callable[..., tuple]:
        def inner(*args: Any) -> tuple:
            try:
                return function(*args)
            except Exception as exc:  # noqa: BLE001 - every failure becomes a visible message
                return fallback(user_error(exc))

        inner.__name__ = function.__name__
        inner.__doc__ = function.__doc__
        return inner

    return wrap


def filter_options(state: AppState, session: dict | None) -> tuple:
    """Country and org options, date bounds and the dataset label for the loaded dataset."""
    dataset_id = (session or {}).get("dataset_id")
    if dataset_id is None:
        return [], [], None, None, "no data loaded"
    dataset = state.dataset(dataset_id)
    countries, orgs, first, last = dataset.choices
    return (countries, orgs, first, last, f"{dataset.label} ({first} to {last})")


def register(app: Dash, state: AppState, pages: dict[str, Any]) -> None:
    """Routing and filter-option callbacks."""

    from segmint.app.layout import PAGES

    without_filters = {page.path for page in PAGES if not page.filters}

    @app.callback(Output("page", "children"), Output("filters-bar", "style"), Input("url", "pathname"))
    def route(pathname: str | None) -> tuple:
        page = pages.get(pathname or "/")
        hidden = {"display": "none"} if (pathname or "/") in without_filters else {}
        if page is None:
            return alert(f"No page at {pathname}; use the navigation bar."), {}
        return page.layout(), hidden

    # the menu button opens and closes the navigation on a phone; opening a page closes it
    app.clientside_callback(
        """(clicks, path, open) => dash_clientside.callback_context.triggered.some(
               t => t.prop_id === "nav-toggler.n_clicks") ? !open : false""",
        Output("nav-collapse", "is_open"),
        Input("nav-toggler", "n_clicks"), Input("url", "pathname"), State("nav-collapse", "is_open"),
    )

    # on a phone the filter card is one line until its button opens it
    app.clientside_callback(
        """(clicks) => clicks % 2 ? ["filters-body open", "true"] : ["filters-body", "false"]""",
        Output("filters-body", "className"), Output("filters-toggle", "aria-expanded"),
        Input("filters-toggle", "n_clicks"),
    )
    app.clientside_callback(
        """(start, end, countries, orgs, scheme, period) => [
               start || end ? (start || "start") + " to " + (end || "end") : "all dates",
               countries && countries.length ? countries.join(", ") : null,
               orgs && orgs.length ? orgs.join(", ") : null, scheme, period
           ].filter(Boolean).join(" · ")""",
        Output("filters-summary", "children"),
        Input("f-dates", "start_date"), Input("f-dates", "end_date"), Input("f-country", "value"),
        Input("f-org", "value"), Input("f-scheme", "value"), Input("f-period", "value"),
    )

    @app.callback(
        Output("f-country", "options"),
        Output("f-org", "options"),
        Output("f-dates", "min_date_allowed"),
        Output("f-dates", "max_date_allowed"),
        Output("dataset-label", "children"),
        Input("session", "data"),
    )
    def update_filter_options(session: dict | None) -> tuple:
        try:
            return filter_options(state, session)
        except SegmintError as exc:
            return [], [], None, None, html.Span(str(exc))
