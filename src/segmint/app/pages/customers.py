"""Customers: every labelled customer in a server-side paged grid, with CSV/Excel download."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, ctx, dcc, html

from segmint.app import queries
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.layout import message
from segmint.app.pages.segments import FORMATS
from segmint.app.state import AppState

BASE_COLUMNS = [
    ("customer_id", None), ("segment", None), ("previous_segment", None), ("segment_changed_on", None),
    ("recency_days", "int"), ("frequency", "int"),
    ("monetary", "money2"), ("avg_order_value", "money2"), ("first_purchase", None),
    ("last_purchase", None), ("country", None),
]
SCORE_COLUMNS = ["r_score", "f_score", "m_score", "rfm_cell", "value_tier", "frequency_tier", "cluster"]
PAGE_SIZE = 100
MAX_ROWS_PER_REQUEST = 1000  # a block request asking for more gets this many (no bulk dumps)


def visible_columns(available: list[str]) -> list[str]:
    """Grid columns: base features, the scheme's score columns that exist, then the reason."""
    names = [c for c, _ in BASE_COLUMNS if c in available]
    names += [c for c in SCORE_COLUMNS if c in available]
    return [*names, "reason"] if "reason" in available else names


def header_name(column: str, priced: bool = True) -> str:
    """Short grid header for a column (``recency_days`` -> ``Recency (days)``); money named by what it
    counts (``Items`` without prices)."""
    from segmint.app.figures import label
    from segmint.units import measure_word

    return measure_word({"recency_days": "Recency (days)", "frequency": "Frequency", "monetary": "Monetary",
                         "customer_id": "Customer", "segment": "Segment", "reason": "Why", "country": "Country",
                         "cluster": "Cluster"}.get(column, label(column)), priced)


def column_defs(columns: list[str], priced: bool = True) -> list[dict]:
    """ag-grid definitions: number columns right-aligned with number filters, text with text filters;
    without prices the money columns count items (headers 'Items', no cents), as on the Segments page."""
    from segmint.app.pages.segments import ITEMS_FORMAT

    kinds = dict(BASE_COLUMNS)
    defs = []
    for name in columns:
        spec: dict[str, Any] = {"field": name, "headerName": header_name(name, priced), "filter": "agTextColumnFilter",
                                "filterParams": {"filterOptions": ["contains", "equals", "startsWith"]}}
        kind = kinds.get(name) or ("int" if name.endswith("_score") or name == "cluster" else None)
        if kind:
            shown = ITEMS_FORMAT if name == "monetary" and not priced else FORMATS[kind]  # a count; means keep decimals
            spec.update(type="numericColumn", filter="agNumberColumnFilter", filterParams={},
                        valueFormatter={"function": shown})
        if name == "reason":
            spec.update(minWidth=380, flex=2)
        defs.append(spec)
    return defs


def layout() -> html.Div:
    """Customers page components."""
    return html.Div(
        [
            message("customers-message"),
            html.Div([
                html.Span(id="customers-count", className="me-3"),
                dbc.Button("Download CSV", id="customers-csv", size="sm", color="primary", className="me-2"),
                dbc.Button("Download Excel", id="customers-xlsx", size="sm", color="primary", outline=True),
                html.Small(" downloads apply the grid's column filters", className="text-muted ms-2"),
            ], className="mb-2"),
            dcc.Download(id="customers-download"),
            dcc.Loading(html.Div(id="customers-grid-holder"), delay_show=300),
            html.Div(html.Small("Click a customer to see what to offer them next.", className="text-muted"),
                     id="customers-recommendations", className="mt-2"),
        ]
    )


def customers_grid(columns: list[str], priced: bool = True) -> dag.AgGrid:
    """A fresh infinite-row-model grid (re-created when filters change, so its row cache is new)."""
    return dag.AgGrid(
        id="customers-grid",
        rowModelType="infinite",
        columnDefs=column_defs(columns, priced),
        defaultColDef={"sortable": True, "resizable": True, "filter": True, "minWidth": 110},
        dashGridOptions={"pagination": True, "paginationPageSize": PAGE_SIZE, "rowSelection": "single",
                         "cacheBlockSize": PAGE_SIZE, "maxBlocksInCache": 20},
        style={"height": "640px"},
    )


def customers_table(state: AppState, dataset_id: str | None, filters: Any, settings: dict) -> Any:
    """Labelled customers; for as-of schemes with the story's previous segment and change date."""
    from segmint.story import default_kind

    if default_kind(filters.scheme) == "as_of":
        return state.customers_with_story(dataset_id, filters, settings)
    return state.analysis(dataset_id, filters, settings).customers


def grid_setup(state: AppState, *inputs: Any) -> tuple:
    """(grid, count text, message) for the filter values."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    columns = visible_columns(list(customers_table(state, dataset_id, filters, settings).columns))
    grid = customers_grid(columns, state.priced(dataset_id))
    return grid, f"{analysis.n_customers:,} customers ({filters.scheme})", None


def rows_response(state: AppState, request: dict | None, *inputs: Any) -> dict:
    """``getRowsResponse`` for ag-grid's infinite row model: one block of rows and the filtered count."""
    dataset_id, filters, settings = context(*inputs)
    table = customers_table(state, dataset_id, filters, settings)
    request = request or {}
    columns = visible_columns(list(table.columns))
    start = max(int(request.get("startRow", 0)), 0)
    end = min(max(int(request.get("endRow", start + PAGE_SIZE)), start), start + MAX_ROWS_PER_REQUEST)
    page, total = state.query(
        dataset_id, queries.customers_page, table, columns, start=start, end=end,
        sort_model=request.get("sortModel"), filter_model=request.get("filterModel"),
    )
    for name in ("first_purchase", "last_purchase", "segment_changed_on"):
        if name in page:
            page[name] = page[name].astype(str).where(page[name].notna(), None)
    return {"rowData": page.astype(object).where(page.notna(), None).to_dict("records"), "rowCount": total}


def export_file(state: AppState, kind: str, filter_model: dict | None, *inputs: Any) -> Path:
    """Write the (grid-filtered) customers to a CSV or Excel file with the library's safe export."""
    from segmint.exports import export_table
    from segmint.units import item_columns

    dataset_id, filters, settings = context(*inputs)
    customers = customers_table(state, dataset_id, filters, settings)
    table = queries.apply_grid_filters(customers, filter_model or {})
    columns = visible_columns(list(customers.columns))
    # named as segmint analyze --out names them: avg_order_value counts items_per_order without prices
    table = item_columns(table.select(*columns).order_by("customer_id"), state.priced(dataset_id))
    target = Path(tempfile.mkdtemp(prefix="segmint-export-")) / f"customers_{filters.scheme}.{kind}"
    state.query(dataset_id, export_table, table, target)
    return target


def recommendations_panel(state: AppState, selected: list[dict] | None, *inputs: Any) -> Any:
    """The selected customer's recommendations (products page grid)."""
    from segmint.app.pages.products import recommendation_grid

    if not selected:
        return html.Small("Click a customer to see what to offer them next.", className="text-muted")
    dataset_id, filters, settings = context(*inputs)
    card = state.recommendations(dataset_id, filters, settings).customer(str(selected[0]["customer_id"]))
    return recommendation_grid(card, grid_id="customers-recommendation-grid")


def register(app: Dash, state: AppState) -> None:
    """Customers callbacks: columns, paged rows, downloads, the selected customer's recommendations."""

    @app.callback(Output("customers-recommendations", "children"), Input("customers-grid", "selectedRows"),
                  *[State(i.component_id, i.component_property) for i in FILTER_INPUTS], prevent_initial_call=True)
    @guarded(lambda alert: alert)
    def recommendations(selected: list[dict] | None, *inputs: Any) -> Any:
        return recommendations_panel(state, selected, *inputs)

    @app.callback(Output("customers-grid-holder", "children"), Output("customers-count", "children"),
                  Output("customers-message", "children"), *FILTER_INPUTS)
    @guarded(lambda alert: (None, "", alert))
    def setup(*inputs: Any) -> tuple:
        return grid_setup(state, *inputs)

    @app.callback(Output("customers-grid", "getRowsResponse"), Input("customers-grid", "getRowsRequest"),
                  *[State(i.component_id, i.component_property) for i in FILTER_INPUTS],
                  prevent_initial_call=True)
    def rows(request: dict | None, *inputs: Any) -> dict:
        try:
            return rows_response(state, request, *inputs)
        except Exception:  # noqa: BLE001 - the grid shows no rows; the setup callback shows the error
            return {"rowData": [], "rowCount": 0}

    @app.callback(Output("customers-download", "data"), Output("customers-message", "children",
                                                               allow_duplicate=True),
                  Input("customers-csv", "n_clicks"), Input("customers-xlsx", "n_clicks"),
                  State("customers-grid", "filterModel"),
                  *[State(i.component_id, i.component_property) for i in FILTER_INPUTS],
                  prevent_initial_call=True)
    @guarded(lambda alert: (None, alert))
    def download(_csv: int | None, _xlsx: int | None, filter_model: dict | None, *inputs: Any) -> tuple:
        kind = "xlsx" if ctx.triggered_id == "customers-xlsx" else "csv"
        return dcc.send_file(str(export_file(state, kind, filter_model, *inputs))), None
