"""Products: segment favourites, product sales by country/region and by segment, a customer's picks,
and the single customer view (one column per top product or category)."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, dcc, html, no_update

from segmint.app import product_figures
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.figures import empty_figure
from segmint.app.layout import graph, header_width, message
from segmint.app.state import AppState
from segmint.merchandise import non_merchandise_note

WINDOWS = [("1M", "last month"), ("2M", "last 2 months"), ("3M", "last 3 months"), ("6M", "last 6 months"),
           ("1Y", "last year")]  # fmt: skip
RECOMMENDATION_COLUMNS = [
    {"field": "rank", "width": 80}, {"field": "product_name", "headerName": "product", "minWidth": 200},
    {"field": "product_id", "headerName": "code", "width": 100},
    {"field": "score", "width": 100, "valueFormatter": {"function": "d3.format('.3f')(params.value)"}},
    {"field": "reason", "headerName": "why", "flex": 2, "minWidth": 320, "wrapText": True, "autoHeight": True},
]  # fmt: skip
SINGLE_VIEW_ROWS = 500  # customers shown in the dashboard's single view (the export has every customer)
def _whole_headers(columns: list[dict]) -> list[dict]:
    """Headers wrap between words and each column is as wide as its longest header word: at 1400 px the
    favourites grid cut 'rank (uni...' and 'lift (95...' (the Segments grid's rule)."""
    return [{**column, "wrapHeaderText": True, "autoHeaderHeight": True,
             "minWidth": max(column.get("minWidth", 0), header_width(column.get("headerName", column["field"])))}
            for column in columns]  # fmt: skip


FAVOURITE_COLUMNS = _whole_headers([
    {"field": "product_name", "headerName": "product", "minWidth": 200, "pinned": "left"},
    {"field": "product_id", "headerName": "code", "width": 130, "tooltipField": "product_id"},
    {"field": "rank_by_lift", "headerName": "rank (lift)", "width": 90},
    {"field": "rank_by_volume", "headerName": "rank (units)", "width": 90},
    {"field": "lift", "valueFormatter": {"function": "d3.format('.2f')(params.value)"}, "width": 90},
    {"field": "lift_low", "headerName": "lift (95% low)", "width": 100,
     "valueFormatter": {"function": "d3.format('.2f')(params.value)"}},
    {"field": "lift_established", "headerName": "lift established", "width": 100,
     "headerTooltip": "yes when the lift's 95% low end is above 1: bought more than by others beyond chance",
     "valueFormatter": {"function": "params.value ? 'yes' : 'no'"}},
    {"field": "share_of_segment", "headerName": "% of segment shoppers",
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "share_of_all", "headerName": "% of all shoppers",
     "valueFormatter": {"function": "d3.format('.1%')(params.value)"}},
    {"field": "customers", "headerName": "buyers", "width": 100},
    {"field": "units", "valueFormatter": {"function": "d3.format(',.0f')(params.value)"}, "width": 100},
    {"field": "revenue", "valueFormatter": {"function": "d3.format(',.2f')(params.value)"}},
])  # fmt: skip


def layout() -> html.Div:
    """Products page components."""
    return html.Div([
        message("products-message"),
        dbc.Row([
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("favourites of the"), dbc.Select(
                id="products-window", options=[{"label": label, "value": v} for v, label in WINDOWS],
                value="2M")]), md=6, xl=3),  # two a row below 1200 px: at 900 px four cut their values
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("segment"), dbc.Select(id="products-segment")]), md=6, xl=3),
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("measure"), dbc.Select(
                id="products-measure", value="revenue",
                options=[{"label": "revenue", "value": "revenue"}, {"label": "units", "value": "units"}])]), md=6, xl=2),
            dbc.Col(html.Small(id="products-note", className="text-muted"), md=6, xl=4),
        ], className="mb-2 g-2"),
        dbc.Row([
            dbc.Col(graph("products-favourites", 440), md=6),
            dbc.Col(dag.AgGrid(id="products-favourites-grid", columnDefs=FAVOURITE_COLUMNS,
                               defaultColDef={"sortable": True, "resizable": True},
                               style={"height": "440px"}), md=6),
        ]),
        html.Hr(),
        dbc.Row([  # side by side from 1200 px: narrower, the segment trend's legend left its bars ~70 px
            # without a country column the region chart is left out and the trends take the row (region_layout)
            dbc.Col(graph("products-regions", 480), xl=6, width=12, id="products-regions-col"),
            dbc.Col([html.Small(id="products-regions-note", className="text-muted d-block mb-1"),
                     dbc.InputGroup([dbc.InputGroupText("product"), dbc.Select(id="products-product")],
                                    className="mb-1"),
                     graph("products-trend", 230), graph("products-segment-trend", 330)], xl=6, width=12,
                    id="products-trend-col"),
        ]),
        html.Hr(),
        dbc.Row([
            dbc.Col([html.H5("Recommendations for a customer"),
                     dbc.Input(id="products-customer", placeholder="customer id ...", debounce=True,
                               type="search", className="mb-2"),
                     dcc.Loading(html.Div(id="products-customer-card"), delay_show=300)], md=6),
            dbc.Col([html.H5("Top products per period"), html.Div(id="products-top")], md=6),
        ]),
        html.Hr(),
        dbc.Row([
            dbc.Col(html.H5("Single customer view"), md="auto"),
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("one column per"), dbc.Select(
                id="products-view-by", value="product",
                options=[{"label": "top product", "value": "product"}, {"label": "category", "value": "category"}])]),
                md=5, xl=3),  # md=3 cut 'top product' at 900 px
        ], className="mb-1 g-2 align-items-center"),
        html.Div(id="products-single-view"),
    ])


def recommendation_grid(card: dict, grid_id: str = "products-customer-grid") -> html.Div:
    """A customer's recommendations (rank, product, score, why) with their segment."""
    rows = pd.DataFrame(card["recommendations"])
    return html.Div([
        html.Div(f"Customer {card['customer_id']} ({card['segment']}), from purchases up to {card['until']}",
                 className="small text-muted mb-1"),
        dag.AgGrid(id=grid_id, columnDefs=RECOMMENDATION_COLUMNS, rowData=rows.to_dict("records"),
                   defaultColDef={"resizable": True}, dashGridOptions={"domLayout": "autoHeight"}),
    ])


def recommendation_list(card: dict, limit: int = 5) -> html.Div:
    """A short 'recommended next' list for cards (story card, Customers page)."""
    picks = card["recommendations"][:limit]
    names = product_figures.product_labels([r.get("product_id", r["product_name"]) for r in picks],
                                           [r["product_name"] for r in picks], width=60)  # fmt: skip
    items = [html.Li([html.Span(name, className="fw-bold"), f" ({r['score']:.2f}): {r['reason']}"])
             for name, r in zip(names, picks, strict=True)]  # fmt: skip
    return html.Div([html.Div("Recommended next", className="text-muted"), html.Ol(items, className="mb-0")],
                    className="recommended-next mt-2")


def measure_controls(state: AppState, *inputs: Any) -> tuple[list[dict], str, list[dict]]:
    """(measure options, measure, favourites columns): revenue and units, or units alone when the data have no
    prices (their "revenue" counts items: the same as units, under a name that claimed money)."""
    if state.priced(context(*inputs)[0]):
        return [{"label": "revenue", "value": "revenue"}, {"label": "units", "value": "units"}], "revenue", \
            FAVOURITE_COLUMNS
    return [{"label": "units", "value": "units"}], "units", \
        [c for c in FAVOURITE_COLUMNS if c["field"] != "revenue"]


def overview_content(state: AppState, window: str, segment: str | None, measure: str, *inputs: Any) -> tuple:
    """(segment options, segment, favourites figure, favourites rows, product options, regions figure, note,
    top-products table, message)."""
    dataset_id, filters, settings = context(*inputs)
    priced = state.priced(dataset_id)
    measure = measure if priced else "units"  # without prices revenue counts items
    result = state.recommendations(dataset_id, filters, settings, window=window or "2M", picks=False)
    favourites = result.segment_products
    segments = list(dict.fromkeys(favourites["segment"]))
    options = [{"label": s, "value": s} for s in segments]
    segment = segment if segment in segments else (segments[0] if segments else None)
    figure = (product_figures.favourites_bars(favourites, segment, result.config.min_buyers) if segment
              else empty_figure("No favourites"))  # fmt: skip
    rows = favourites[favourites["segment"] == segment].to_dict("records") if segment else []
    regions = result.product_sales_by_region
    products = regions.groupby(["product_id", "product_name"])[measure].sum().sort_values(ascending=False)
    labels = product_figures.product_labels([p for p, _ in products.index], [n for _, n in products.index], width=60)
    product_options = [{"label": label, "value": pid} for label, (pid, _) in zip(labels, products.index, strict=True)]
    top = result.top_products_by_period
    latest = top[top["period"].isin(sorted(top["period"].unique())[-3:])]
    table = dag.AgGrid(id="products-top-grid", rowData=latest.to_dict("records"),
                       columnDefs=_whole_headers([{"field": c, "headerName": c.replace("_", " ")} for c in (
                           "period", "rank", "product_name", "product_id", "units", "revenue", "customers")
                           if priced or c != "revenue"]),
                       defaultColDef={"resizable": True, "sortable": True}, style={"height": "330px"})  # fmt: skip
    left_out = non_merchandise_note(result.non_merchandise) if result.non_merchandise is not None else None
    note = "; ".join(dict.fromkeys([*([left_out] if left_out else []), *result.notes[-2:]]))
    heatmap = product_figures.region_heatmap(regions, measure, allocated=allocated_revenue(result.notes))
    return options, segment, figure, rows, product_options, heatmap, note, table, None


def region_layout(state: AppState, window: str, *inputs: Any) -> tuple[dict, int, str | None]:
    """(region column style, trend column width at xl, note): without a country/region in the data the region
    chart is left out, not an empty panel taking half the row, and a line says why."""
    dataset_id, filters, settings = context(*inputs)
    result = state.recommendations(dataset_id, filters, settings, window=window or "2M", picks=False)
    if product_figures.has_regions(result.product_sales_by_region):
        return {}, 6, None
    return {"display": "none"}, 12, "No country/region column in the data: product sales by region are left out."


def product_content(state: AppState, window: str, product: str | None, measure: str, *inputs: Any) -> tuple:
    """(trend by region, trend by segment) of one product."""
    from segmint.charts import segment_colors

    dataset_id, filters, settings = context(*inputs)
    measure = measure if state.priced(dataset_id) else "units"
    result = state.recommendations(dataset_id, filters, settings, window=window or "2M", picks=False)
    analysis = state.analysis(dataset_id, filters, settings)  # the segments recommend ranks for
    orders = state.query(dataset_id, lambda: analysis.customers.select("segment", "segment_order").distinct().execute())
    allocated = allocated_revenue(result.notes)
    return (product_figures.region_trend(result.product_sales_by_region, product, measure, allocated),
            product_figures.segment_trend(result.product_sales_by_segment, product, measure,
                                          segment_colors(orders), allocated))  # fmt: skip


def allocated_revenue(notes: list[str]) -> bool:
    """Whether the recommendations' notes say product revenue was spread from basket totals (ALLOCATION_NOTE)."""
    from segmint.io.items import ALLOCATION_PREFIX

    return any(note.startswith(ALLOCATION_PREFIX) for note in notes)


def customer_card(state: AppState, customer_id: str | None, *inputs: Any) -> Any:
    """A customer's recommendations, or a hint."""
    if not customer_id or not customer_id.strip():
        return html.Small("Type a customer id to see what to offer them next.", className="text-muted")
    dataset_id, filters, settings = context(*inputs)
    result = state.recommendations(dataset_id, filters, settings)
    return recommendation_grid(result.customer(customer_id.strip()))


def single_view_content(state: AppState, window: str, by: str, *inputs: Any) -> Any:
    """The single view (the customers who bought most, one column per top product or category) with its note."""
    dataset_id, filters, settings = context(*inputs)
    result = state.recommendations(dataset_id, filters, settings, window=window or "2M", picks=False)
    view = result.single_view_by_category if by == "category" else result.single_view
    if view is None:
        return html.Small("The data name no product category (map a category column, or give product_json items "
                          "a category) -- showing nothing by category.", className="text-muted")  # fmt: skip
    total = next(c for c in view.columns if c.endswith(": all products"))
    shown = view.sort_values([total, "customer_id"], ascending=[False, True]).head(SINGLE_VIEW_ROWS)
    note = next((n for n in result.notes if n.startswith("single view" + (" by category" if by == "category" else ":"))),
                "")  # fmt: skip
    columns = [{"field": c, "headerName": c, "pinned": "left" if c == "customer_id" else None,
                "minWidth": 120 if c.startswith("segment") or c == "customer_id" else 90}
               for c in shown.columns]  # fmt: skip
    return html.Div([
        # no command line in a dashboard message (it said "segmint recommend --out writes every customer")
        html.Small(f"{len(view):,} customers; showing the {len(shown):,} who bought most. {note}.", className="text-muted"),
        dag.AgGrid(id="products-single-view-grid", rowData=shown.to_dict("records"), columnDefs=columns,
                   defaultColDef={"resizable": True, "sortable": True}, style={"height": "420px"}),
    ])  # fmt: skip


def single_view_section(state: AppState, window: str, by: str, *inputs: Any) -> Any:
    """The single view, or a short note when the data name no products: the page's message above says so
    already (CDNOW, a condensed Tally day book showed the same orange box twice)."""
    from segmint.errors import DataError

    try:
        return single_view_content(state, window, by, *inputs)
    except DataError as exc:
        if exc.field != "product_id":
            raise
        return html.Small("No single customer view: the data name no products (see the message at the top).",
                          className="text-muted")


def register(app: Dash, state: AppState) -> None:
    """Products page callbacks."""

    @app.callback(Output("products-segment", "options"), Output("products-segment", "value"),
                  Output("products-favourites", "figure"), Output("products-favourites-grid", "rowData"),
                  Output("products-product", "options"), Output("products-regions", "figure"),
                  Output("products-note", "children"), Output("products-top", "children"),
                  Output("products-message", "children"),
                  Input("products-window", "value"), Input("products-segment", "value"),
                  Input("products-measure", "value"), *FILTER_INPUTS)
    @guarded(lambda alert: ([], None, empty_figure("No data"), [], [], empty_figure("No data"), "", None, alert))
    def overview(window: str, segment: str | None, measure: str, *inputs: Any) -> tuple:
        return overview_content(state, window, segment, measure or "revenue", *inputs)

    @app.callback(Output("products-measure", "options"), Output("products-measure", "value"),
                  Output("products-favourites-grid", "columnDefs"), *FILTER_INPUTS)
    @guarded(lambda alert: (no_update, no_update, no_update))
    def measures(*inputs: Any) -> tuple:
        return measure_controls(state, *inputs)

    @app.callback(Output("products-product", "value"), Input("products-product", "options"))
    def first_product(options: list[dict] | None) -> str | None:
        return options[0]["value"] if options else None

    @app.callback(Output("products-regions-col", "style"), Output("products-trend-col", "xl"),
                  Output("products-regions-note", "children"), Input("products-window", "value"), *FILTER_INPUTS)
    @guarded(lambda alert: (no_update, no_update, no_update))
    def regions(window: str, *inputs: Any) -> tuple:
        return region_layout(state, window, *inputs)

    @app.callback(Output("products-trend", "figure"), Output("products-segment-trend", "figure"),
                  Input("products-window", "value"), Input("products-product", "value"),
                  Input("products-measure", "value"), *FILTER_INPUTS)
    @guarded(lambda alert: (empty_figure("No data"), empty_figure("No data")))
    def trend(window: str, product: str | None, measure: str, *inputs: Any) -> tuple:
        return product_content(state, window, product, measure or "revenue", *inputs)

    @app.callback(Output("products-single-view", "children"), Input("products-window", "value"),
                  Input("products-view-by", "value"), *FILTER_INPUTS)
    @guarded(lambda alert: alert)
    def single_view(window: str, by: str, *inputs: Any) -> Any:
        return single_view_section(state, window, by or "product", *inputs)

    @app.callback(Output("products-customer-card", "children"), Input("products-customer", "value"), *FILTER_INPUTS)
    @guarded(lambda alert: alert)
    def customer(customer_id: str | None, *inputs: Any) -> Any:
        return customer_card(state, customer_id, *inputs)
