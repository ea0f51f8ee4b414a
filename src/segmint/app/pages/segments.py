"""Segments: KPI table per segment, engagement strategies, editable thresholds, tiers bucket table."""

from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc, html, no_update

from segmint.app import figures
from segmint.app.callbacks import FILTER_INPUTS, alert, context, guarded
from segmint.app.layout import GRAPH_CONFIG, header_width, message
from segmint.app.state import AppState
from segmint.money import round_numbers
from segmint.segment import scheme_config

KPI_COLUMNS = [
    ("segment", "Segment", None),
    ("customers", "Customers", "int"),
    ("share_of_customers", "% customers", "pct"),
    ("revenue", "Revenue", "money"),
    ("share_of_revenue", "% revenue", "pct"),
    ("aov", "AOV", "money2"),
    ("mean_recency_days", "Avg recency (days)", "num1"),
    ("mean_frequency", "Avg frequency", "num1"),
    ("mean_monetary", "Avg monetary", "money"),
]
FORMATS = {
    "int": "d3.format(',')(params.value)",
    # a sliver (2 of 23,502 customers) reads "<0.1%", never "0.0%", as in the CLI (util.share)
    # a share's row carries its percentage as the CLI prints it (``<field>_shown``, from the unrounded share):
    # formatting the 4-place value rounded twice (6,337 of 38,765 = 16.347% -> 0.1635 -> '16.4%')
    "pct": "params.data && params.data[params.colDef.field + '_shown'] != null ? params.data[params.colDef.field"
           " + '_shown'] : params.value > 0 && params.value < 0.001 ? '<0.1%' : params.value > 0.999 &&"
           " params.value < 1 ? '>99.9%' : d3.format('.1%')(params.value)",
    "money": "d3.format(',.2f')(params.value)",  # to the cent, as the exports and the CLI
    "money2": "d3.format(',.2f')(params.value)",
    "num1": "d3.format(',.1f')(params.value)",
}
ITEMS_FORMAT = "d3.format(',.2~f')(params.value)"  # items without prices: trailing zeros trimmed


def column_defs(columns: list[tuple[str, str, str | None]], priced: bool = True) -> list[dict]:
    """ag-grid column definitions with number formats; without prices money headers say items."""
    from segmint.units import measure_word

    defs = []
    for field, header, kind in columns:
        header = measure_word(header, priced)
        # headers wrap between words but never cut one ("Custom..."): each column is at least as
        # wide as its longest header word (about 8 px a character in the bold header font, plus padding)
        spec: dict[str, Any] = {"field": field, "headerName": header, "wrapHeaderText": True,
                                "autoHeaderHeight": True, "minWidth": header_width(header)}
        # pinned: a phone scrolling the numbers keeps the name; names like "High Value / High Frequency" wrap,
        # not cut: 190 px where the grid fits (sizing to fit grows every column from its width), 120 on a phone
        if field in ("segment", "tier"):
            spec.update(width=190, minWidth=120, pinned="left", wrapText=True, autoHeight=True,
                        cellStyle={"lineHeight": "1.3", "paddingTop": "6px", "paddingBottom": "6px"})
        if kind:  # a number like 129.73 or 16.7% needs about 90 px whatever its header
            # without prices a sum of items is a count ("11,554", not "11,554.00"); a mean keeps two decimals on
            # every row (groceries' Avg items read 16.48, 9.8, 14.4 in one column)
            shown = ITEMS_FORMAT if kind == "money" and not priced and not field.startswith("mean_") else FORMATS[kind]
            spec.update(type="numericColumn", valueFormatter={"function": shown}, minWidth=max(spec["minWidth"], 90))
        if field in ("revenue", "sales"):  # 415,568,702.15 at 1.2M customers: shown whole, never "415,568..."
            spec["minWidth"] = max(spec["minWidth"], 145)
        spec.setdefault("width", spec["minWidth"])
        defs.append(spec)
    return defs


def layout() -> html.Div:
    """Segments page components."""
    return html.Div(
        [
            message("segments-message"),
            dbc.Row(
                [
                    dbc.Col(dbc.Card([dbc.CardHeader("Thresholds"),
                                      dbc.CardBody(id="segments-editor")]), md=3),
                    dbc.Col(
                        [
                            html.Div([
                                html.H5("Segment KPIs", className="d-inline me-3"),
                                dbc.Button("Export CSV", id="segments-export", size="sm",
                                           color="secondary", outline=True),
                            ], className="mb-2"),
                            dag.AgGrid(id="segments-grid", columnDefs=column_defs(KPI_COLUMNS),
                                       defaultColDef={"sortable": True, "resizable": True,
                                                      "filter": False, "suppressHeaderMenuButton": True,
                                                      "useValueFormatterForExport": False},  # CSV: numbers
                                       columnSize="responsiveSizeToFit",
                                       csvExportParams={"fileName": "segment_kpis.csv"},
                                       dashGridOptions={"domLayout": "autoHeight"}),
                            html.H5("Engagement strategy", className="mt-4"),
                            html.Div(id="segments-strategies"),
                            html.Div(id="segments-buckets", className="mt-4"),
                        ],
                        md=9,
                    ),
                ]
            ),
        ]
    )


def _number(key: str, label: str, value: Any, step: float = 1, placeholder: str = "") -> dbc.Row:
    return dbc.Row(
        [dbc.Label(label, width=7, className="small"),
         dbc.Col(dbc.Input(id={"type": "cfg", "key": key}, type="number", value=value, step=step,
                           debounce=True, size="sm", placeholder=placeholder), width=5)],
        className="mb-1",
    )


def editor(scheme: str, config: Any) -> list:
    """Inputs for the scheme's editable settings; ids are ``{"type": "cfg", "key": "field[.part]"}``."""
    if scheme == "rfm":
        return [_number("bins", "Score bins (3-10)", config.bins),
                html.Small("Each of R, F, M is scored 1..bins by quantile.", className="text-muted")]
    if scheme == "levels":
        rows = [_number("bins", "Score bins (3-10)", config.bins),
                html.Div(f"Minimum R+F+M per level (on a {config.threshold_bins}-bin scale)",
                         className="small fw-bold mt-2")]
        rows += [_number(f"thresholds.{name}", name, value, step=0.5)
                 for name, value in config.thresholds.items()]
        return rows
    if scheme == "tiers":
        rows = [_number("n_buckets", "Buckets", config.n_buckets)]
        for axis in ("value", "frequency"):
            cut = getattr(config, f"{axis}_cutoffs") or (None, None)
            rows += [html.Div(f"{axis.title()} index cut-offs (empty = automatic)", className="small fw-bold mt-2"),
                     _number(f"{axis}_cutoffs.0", "Low: index <=", cut[0], step=5, placeholder="auto"),
                     _number(f"{axis}_cutoffs.1", "High: index >=", cut[1], step=5, placeholder="auto")]
        return rows
    if scheme == "clusters":
        return [_number("k", "Clusters (empty = best silhouette)", config.k, placeholder="auto")]
    return [html.Small("No editable settings for this scheme.")]


def settings_from_inputs(scheme: str, ids: list[dict], values: list[Any]) -> dict[str, Any]:
    """Editor input values -> config overrides for ``scheme`` (blank cut-off pairs = automatic)."""
    overrides: dict[str, Any] = {}
    pairs: dict[str, list[Any]] = {}
    for ident, value in zip(ids, values, strict=True):
        field, _, part = ident["key"].partition(".")
        if field.endswith("_cutoffs"):
            pairs.setdefault(field, [None, None])[int(part)] = value
        elif part:
            overrides.setdefault(field, {})[part] = value
        elif value is not None or field == "k":
            overrides[field] = value
    for field, (low, high) in pairs.items():
        overrides[field] = None if low is None or high is None else (float(low), float(high))
    if "thresholds" in overrides and any(v is None for v in overrides["thresholds"].values()):
        overrides.pop("thresholds")
    return {scheme: overrides}


def segments_content(state: AppState, *inputs: Any) -> tuple:
    """(grid rows, strategy list, tiers bucket tables, message) for the filter values."""
    dataset_id, filters, settings = context(*inputs)
    analysis = state.analysis(dataset_id, filters, settings)
    kpis = state.query(dataset_id, analysis.summary)
    strategies = dbc.ListGroup(
        [dbc.ListGroupItem([html.B(f"{row.segment} ({row.customers:,}): "), row.strategy or "-"])
         for row in kpis.itertuples()],
        flush=True,
    )
    buckets = tier_buckets(state, dataset_id, analysis, state.priced(dataset_id)) if filters.scheme == "tiers" else None
    notes = state.query(dataset_id, analysis.result.notes)  # empty score levels (ties), short history
    return _records(kpis), strategies, buckets, alert("\n".join(notes), color="info") if notes else None


# no rows after an error: the grid kept its 'Loading...' for ever on data that cannot be segmented, and kept
# the numbers of other filters beside the error (an invalid settings edit never gets here: it is refused where
# it is made, and the last valid settings stay in force)
@guarded(lambda alert: ([], [], None, alert))
def segments_or_message(state: AppState, *inputs: Any) -> tuple:
    """:func:`segments_content`, or an empty table and the error's message."""
    return segments_content(state, *inputs)


def tier_buckets(state: AppState, dataset_id: str | None, analysis: Any, priced: bool = True) -> html.Div:
    """Value and frequency bucket tables with their index and the cut-offs in force."""
    from segmint.segment import tiers

    parts = []
    for axis, metric in (("value", "atv"), ("frequency", "visits")):
        table = state.query(dataset_id, tiers.bucket_table, analysis.features, axis, analysis.config)
        cut = tiers.cutoffs(table, axis, getattr(analysis.config, f"{axis}_cutoffs"))
        table["tier"] = table["bucket"].map(cut.tier)
        columns = [("bucket", "Bucket", None), ("tier", "Tier", None), ("customers", "Customers", "int"),
                   ("sales", "Sales", "money"), ("share_of_sales", "% sales", "pct"),
                   (f"{metric}_min", f"{metric} min", "money2"), (f"{metric}_max", f"{metric} max", "money2"),
                   ("index", "Index", "num1")]
        parts += [
            html.H6(f"{axis.title()} buckets: High = index >= {cut.high_index:.0f}, "
                    f"Low = index <= {cut.low_index:.0f}", className="mt-3"),
            dcc.Graph(id=f"tiers-{axis}-bars", figure=figures.bucket_bars(table, axis, priced), config=GRAPH_CONFIG,
                      style={"height": "360px"}),
            dag.AgGrid(id=f"tiers-{axis}-grid", rowData=_records(table), columnDefs=column_defs(columns, priced),
                       columnSize="responsiveSizeToFit", dashGridOptions={"domLayout": "autoHeight"},
                       defaultColDef={"sortable": True, "resizable": True}),
        ]
    return html.Div([html.H5("Tiers: bucket tables"), *parts])


EDITOR_LABELS = {"bins": "Score bins", "n_buckets": "Buckets", "k": "Clusters"}


def plain_settings_error(exc: Exception) -> str:
    """A settings error in words (``Score bins must be at most 10``), not pydantic's message and URL."""
    from pydantic import ValidationError

    cause = exc if isinstance(exc, ValidationError) else exc.__cause__
    if not isinstance(cause, ValidationError):
        return str(exc)
    parts = []
    for error in cause.errors():
        field = ".".join(str(p) for p in error.get("loc", ()))
        name = EDITOR_LABELS.get(field, field.replace("_", " ").replace(".", " ") or "value")
        limits = error.get("ctx") or {}
        if "le" in limits:
            parts.append(f"{name} must be at most {limits['le']}")
        elif "ge" in limits:
            parts.append(f"{name} must be at least {limits['ge']}")
        elif "lt" in limits:
            parts.append(f"{name} must be less than {limits['lt']}")
        elif "gt" in limits:
            parts.append(f"{name} must be more than {limits['gt']}")
        else:
            parts.append(f"{name}: {str(error.get('msg', 'invalid')).split(' [')[0]}")
    return "; ".join(parts)


def _records(table: pd.DataFrame) -> list[dict]:
    """Grid rows; numbers rounded as the Export CSV button writes them (money to the cent), and each
    share's percentage as the CLI and the report show it (``share_of_revenue_shown``: '16.3%')."""
    from segmint.util import share

    shown = {
        f"{column}_shown": [None if pd.isna(value) else share(float(value), 1.0) for value in table[column]]
        for column in table.columns if str(column).startswith("share_of") and pd.api.types.is_float_dtype(table[column])
    }
    table = round_numbers(table).assign(**shown)
    return table.astype(object).where(table.notna(), None).to_dict("records")


def register(app: Dash, state: AppState) -> None:
    """Segments callbacks: editor, KPI grid, CSV export."""

    @app.callback(Output("segments-editor", "children"), Input("f-scheme", "value"),
                  State("scheme-settings", "data"))
    def show_editor(scheme: str | None, settings: dict | None) -> list:
        scheme = scheme or "rfm"
        try:
            config = scheme_config(scheme, (settings or {}).get(scheme))
        except Exception:  # noqa: BLE001 - invalid saved settings: show the defaults
            config = scheme_config(scheme)
        return editor(scheme, config)

    @app.callback(Output("scheme-settings", "data"),
                  Output("segments-message", "children", allow_duplicate=True),
                  Input({"type": "cfg", "key": ALL}, "value"),
                  State({"type": "cfg", "key": ALL}, "id"), State("f-scheme", "value"),
                  State("scheme-settings", "data"), prevent_initial_call=True)
    def edit_settings(values: list, ids: list[dict], scheme: str, settings: dict | None) -> tuple:
        scheme = scheme or "rfm"
        merged = dict(settings or {})
        merged.update(settings_from_inputs(scheme, ids, values))
        try:
            scheme_config(scheme, merged.get(scheme))
        except Exception as exc:  # noqa: BLE001 - an invalid edit keeps the last valid settings
            return no_update, alert(f"{plain_settings_error(exc)}; the table shows the last valid settings.")
        return merged, None

    @app.callback(
        Output("segments-grid", "rowData"),
        Output("segments-strategies", "children"),
        Output("segments-buckets", "children"),
        Output("segments-message", "children"),
        *FILTER_INPUTS,
    )
    def update_segments(*inputs: Any) -> tuple:
        return segments_or_message(state, *inputs)

    @app.callback(Output("segments-grid", "columnDefs"), *FILTER_INPUTS)
    @guarded(lambda alert: no_update)
    def kpi_headers(*inputs: Any) -> list[dict]:  # "Items", "% items" when the data have no prices
        return column_defs(KPI_COLUMNS, state.priced(context(*inputs)[0]))

    @app.callback(Output("segments-grid", "exportDataAsCsv"), Input("segments-export", "n_clicks"),
                  prevent_initial_call=True)
    def export_csv(_: int | None) -> bool:
        return ctx.triggered_id == "segments-export"
