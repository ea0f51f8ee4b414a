"""Value: CLV per customer from a BTYD model -- P(alive) matrix, CLV distribution, tracking, top customers."""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, dcc, html

from segmint.app import value_figures
from segmint.app.api import register_customer_result
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.figures import empty_figure
from segmint.app.layout import graph, kpi_card, message
from segmint.app.state import AppState

MODELS = [("BG/NBD", "bgnbd"), ("Pareto/NBD", "pnbd"), ("MBG/NBD", "mbgnbd")]
TOP = 20
CONTROLS = [Input("value-model", "value"), Input("value-unit", "value"), Input("value-horizon", "value"),
            Input("value-discount", "value"), Input("value-calibration", "date")]


def layout() -> html.Div:
    """Value page components: model settings, KPIs, four figures, two tables."""
    def field(label: str, control: Any, width: int) -> dbc.Col:
        return dbc.Col([dbc.Label(label, className="small text-muted mb-0"), control], md=width)

    settings = dbc.Row([
        field("Model", dbc.Select(id="value-model", options=[{"label": a, "value": b} for a, b in MODELS],
                                  value="bgnbd"), 2),
        field("Time unit", dbc.Select(id="value-unit", options=[{"label": u, "value": u}
                                                                for u in ("day", "week", "month")], value="week"), 2),
        field("Horizon (months)", dbc.Input(id="value-horizon", type="number", min=1, max=120, step=1, value=12,
                                            debounce=True), 2),
        field("Discount (% a year)", dbc.Input(id="value-discount", type="number", min=0, max=100, step=0.5,
                                               value=10, debounce=True), 2),
        field("Calibration end (later data checks the forecast)",
              dcc.DatePickerSingle(id="value-calibration", clearable=True, display_format="YYYY-MM-DD",
                                   placeholder="end of data"), 4),
    ], className="g-2 mb-3")
    return html.Div([
        message("value-message"),
        settings,
        html.Div(id="value-model-line", className="small text-muted mb-2"),
        dcc.Loading(dbc.Row(id="value-kpis", className="g-3 mb-3"), delay_show=300),
        dbc.Row([dbc.Col(graph("value-palive", 440), md=6), dbc.Col(graph("value-clv", 440), md=6)]),
        dbc.Row([dbc.Col(graph("value-tracking", 480), md=6), dbc.Col(graph("value-segments", 480), md=6)]),
        # side by side only from 1200 px: narrower, their 9 and 6 columns overflowed (cut at 900 px)
        dbc.Row([
            dbc.Col([html.H6("Top customers by predicted value"), html.Div(id="value-top")], xl=7, width=12),
            dbc.Col([html.H6("Value by segment"), html.Div(id="value-by-segment")], xl=5, width=12),
        ], className="mt-3"),
    ])


def settings_from(model: Any, unit: Any, horizon: Any, discount: Any, calibration: Any) -> dict[str, Any]:
    """``customer_value`` keyword arguments from the page's controls (bad inputs fall back to defaults)."""
    months = float(horizon) if horizon not in (None, "") and float(horizon) > 0 else 12.0
    rate = float(discount) if discount not in (None, "") and float(discount) >= 0 else 10.0
    return {"model": model or "bgnbd", "time_unit": unit or "week", "horizon": f"{months:g} months",
            "discount": f"{rate:g}%/year", "calibration_end": str(calibration)[:10] if calibration else None,
            "compare": False}


# a basket log's CLV counts items (CLVResult.priced): its headers say so
ITEM_HEADERS = {"value / purchase": "items / purchase", "CLV": "predicted items", "mean CLV": "mean predicted items"}


def _table(frame: pd.DataFrame, formats: dict[str, str], priced: bool = True) -> dbc.Table:
    if not priced:
        frame = frame.rename(columns=ITEM_HEADERS)
        formats = {ITEM_HEADERS.get(k, k): v for k, v in formats.items()}
    shown = frame[list(formats)].copy()
    for column, spec in formats.items():
        if spec:
            shown[column] = shown[column].map(lambda v, s=spec: "" if pd.isna(v) else format(v, s))
    return dbc.Table.from_dataframe(shown, striped=True, bordered=False, hover=True, size="sm",
                                    responsive=True, className="value-table")


def top_customers(result: Any) -> Any:
    """The ``TOP`` customers by CLV with their P(alive), expected purchases and band; none from a degenerate
    fit (its ranking rests on parameters the data do not pin down)."""
    if result.degenerate:
        return html.Small("No ranking of customers: the model's fit is degenerate (see the warning above).",
                          className="text-muted")
    unit = result.time_unit
    top = result.customers.nsmallest(TOP, "value_rank").rename(columns={
        "value_rank": "rank", "customer_id": "customer", "p_alive": "P(alive)",
        "expected_purchases": "purchases expected", "expected_avg_value": "value / purchase",
        "clv": "CLV", "churn_risk": "churn risk", "recency": f"recency ({unit}s)"})
    formats = {"rank": "", "customer": "", "P(alive)": ".2f", "purchases expected": ".2f",
               "value / purchase": ",.2f", "CLV": ",.2f", "churn risk": "", f"recency ({unit}s)": ".1f"}
    if not result.has_clv:  # no spend model: ranked by purchases expected, no blank value columns
        formats = {k: v for k, v in formats.items() if k not in ("value / purchase", "CLV")}
    if "segment" in top:
        formats = {"rank": "", "customer": "", "segment": "", **{k: v for k, v in formats.items()
                                                                if k not in ("rank", "customer")}}
    return _table(top, formats, getattr(result, "priced", True))


def segment_table(result: Any) -> Any:
    """Segments with customers, mean P(alive), mean and total CLV, share of value; without a CLV (no spend
    model) the purchases expected instead of three blank columns."""
    if result.by_segment is None:
        return html.Small("Segments are not available for these data.", className="text-muted")
    if result.degenerate:  # customers per segment only: P(alive) and value rest on the degenerate fit
        return html.Div([html.Small("No P(alive) or value by segment: the model's fit is degenerate (see the "
                                    "warning above).", className="text-muted"),
                         _table(result.by_segment[["segment", "customers"]], {"segment": "", "customers": ","})])
    table = result.by_segment.rename(columns={"mean_p_alive": "P(alive)", "total_clv": "CLV",
                                              "mean_clv": "mean CLV", "share_of_clv": "share"})
    if not result.has_clv:
        table["purchases expected"] = table["expected_purchases"]
        table["per customer"] = table["expected_purchases"] / table["customers"]
        return html.Div([html.Small(NO_CLV, className="text-muted"), _table(table, {
            "segment": "", "customers": ",", "P(alive)": ".2f", "purchases expected": ",.0f",
            "per customer": ".2f"})])
    from segmint.util import share

    # a sliver of value reads "<0.1%" as in segmint clv, not "0.0%" (CDNOW's Promising: 53 of 789,528)
    table["share"] = [None if pd.isna(value) else share(float(value), 1.0) for value in table["share"]]
    return _table(table, {"segment": "", "customers": ",", "P(alive)": ".2f", "mean CLV": ",.2f",
                          "CLV": ",.0f", "share": ""}, getattr(result, "priced", True))


NO_CLV = "No CLV: no spend model could be fitted (see the notes above); purchases expected over the horizon instead."


def value_histogram(result: Any) -> Any:
    """The CLV distribution; without a CLV that of the purchases expected, saying why (a blank chart
    told a basket log's user nothing); none from a degenerate fit."""
    if result.has_clv:
        return value_figures.clv_histogram(result.customers["clv"], result.horizon_label())
    if result.degenerate:
        return empty_figure("No CLV (no spend model) and no distribution of purchases expected: the model's fit "
                            "is degenerate (see the warning above)")
    return value_figures.clv_histogram(result.customers["expected_purchases"], result.horizon_label(),
                                       measure="purchases expected", note="no CLV: no spend model (see the notes)")


def kpis(result: Any, priced: bool = True) -> list[dbc.Col]:
    """Customers scored, predicted value (items without prices), mean P(alive), share at high churn risk."""
    from segmint.units import measure_word

    customers = result.customers
    counted = kpi_card("Customers", f"{len(customers):,}", f"first seen by {result.window.calibration_end}",
                       card_id="value-kpi-customers")
    if result.degenerate:  # parameters the data do not pin down give no value, P(alive) or churn risk
        why = "degenerate fit (see the warning)"
        return [counted, kpi_card(measure_word("Predicted value", priced), "n/a", why, card_id="value-kpi-clv"),
                kpi_card("Mean P(alive)", "n/a", why, card_id="value-kpi-alive"),
                kpi_card("High churn risk", "n/a", why, card_id="value-kpi-risk")]
    return [
        counted,
        kpi_card(measure_word("Predicted value", priced), f"{customers['clv'].sum():,.0f}" if customers["clv"].notna().any() else "n/a",
                 f"CLV over {result.horizon_label()}" if customers["clv"].notna().any() else
                 "no spend model (see the notes): customers ranked by expected purchases", card_id="value-kpi-clv"),
        kpi_card("Mean P(alive)", f"{customers['p_alive'].mean():.2f}", f"at {result.window.calibration_end}",
                 card_id="value-kpi-alive"),
        kpi_card("High churn risk", f"{(customers['churn_risk'] == 'high').mean():.1%}",
                 "P(buying within the horizon) < 30%", card_id="value-kpi-risk"),
    ]


def model_line(result: Any) -> str:
    """One line: model, parameters, log-likelihood, spend model and the units."""
    info = result.model_summary()
    params = ", ".join(f"{k} {v:.4g}" for k, v in info["params"].items())
    spend = info["gamma_gamma"]
    spend_text = "" if spend is None else f"; Gamma-Gamma p {spend['p']:.3g}, q {spend['q']:.3g}, v {spend['v']:.4g}"
    return (f"{info['model_label']} fitted on {info['n_customers']:,} customers to {info['calibration']['end']}: "
            f"{params} (times in {result.time_unit}s), log-likelihood {info['loglik']:,.1f}{spend_text}; "
            f"discount {info['discount']['rate']:.3g}/{info['discount']['per']}")


def value_content(state: AppState, model: Any, unit: Any, horizon: Any, discount: Any, calibration: Any,
                  *inputs: Any) -> tuple:
    """(model line, KPI cards, four figures, two tables, message) for the controls and filters."""
    dataset_id, filters, _ = context(*inputs)
    settings = settings_from(model, unit, horizon, discount, calibration)
    result = state.clv(dataset_id, filters, settings)
    if result.degenerate:  # the heatmap's colours would come from parameters the data do not pin down
        matrix = empty_figure("No P(alive): the model's fit is degenerate (see the warning above)")
    else:
        grid_T = float(result.customers["T"].max())
        max_x = int(min(result.customers["frequency"].quantile(0.99), 40))
        grid = value_figures.p_alive_grid(result.model, max_frequency=max(max_x, 1), T=grid_T)
        matrix = value_figures.p_alive_matrix(grid, result.time_unit, grid_T)
    notes = [dbc.Alert(note, color="warning", className="py-1 mb-1") for note in result.notes]
    if result.degenerate:  # first and red: every number on the page rests on it
        notes.insert(0, dbc.Alert([html.B("Not reliable: "), result.degenerate[0].upper() + result.degenerate[1:] + "."],
                                  color="danger", className="py-1 mb-1"))
    notes = notes or None
    return (model_line(result), kpis(result, state.priced(dataset_id)), matrix,
            value_histogram(result),
            value_figures.tracking_plot(result.tracking, result.time_unit, result.window.calibration_end),
            value_figures.segment_value_bars(result.by_segment, bool(result.degenerate)), top_customers(result), segment_table(result),
            notes)


def _customer_value(state: AppState, dataset_id: str | None, filters: Any) -> Any:
    """The CLV result with the page's default settings, for ``/api/customers/<id>`` (section ``value``)."""
    return state.clv(dataset_id, filters, settings_from(None, None, None, None, None))


register_customer_result("value", _customer_value)


def value_summary(state: AppState, dataset_id: str | None, filters: Any, customer_id: str) -> str | None:
    """'Predicted value (BG/NBD, as of ...): Champions, P(alive) 0.97, 12-month CLV 1,240, low churn risk'
    for the story card; None when no CLV model fits these data or the customer is not in it."""
    from segmint.errors import SegmintError
    from segmint.units import measure_word

    try:
        result = _customer_value(state, dataset_id, filters)
        facts = result.customer(customer_id)
    except SegmintError:
        return None
    word = measure_word("Predicted value", state.priced(dataset_id))
    if result.degenerate:  # the Value page says not to target anyone by this fit: the card gave its numbers
        return (f"{word} ({facts['model']}, as of {facts['as_of']}): none; the model's fit is degenerate on these "
                "data (see the Value page)")
    return f"{word} ({facts['model']}, as of {facts['as_of']}): {facts['summary']}"


def register(app: Dash, state: AppState) -> None:
    """Value page callbacks."""

    @app.callback(
        Output("value-model-line", "children"), Output("value-kpis", "children"),
        Output("value-palive", "figure"), Output("value-clv", "figure"), Output("value-tracking", "figure"),
        Output("value-segments", "figure"), Output("value-top", "children"), Output("value-by-segment", "children"),
        Output("value-message", "children"), *CONTROLS, *FILTER_INPUTS,
    )
    @guarded(lambda alert: ("", [], *[empty_figure("No value model")] * 4, None, None, alert))
    def update_value(*values: Any) -> tuple:
        return value_content(state, *values)

    # the story card's value line, in its own callback so the card never waits for a model fit
    @app.callback(Output("story-value", "children"), Input("story-customer", "data"), *FILTER_INPUTS)
    @guarded(lambda alert: None)
    def story_value(customer_id: str | None, *inputs: Any) -> str | None:
        if not customer_id:
            return None
        dataset_id, filters, _ = context(*inputs)
        return value_summary(state, dataset_id, filters, customer_id)
