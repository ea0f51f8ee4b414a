"""Credit: what customers owe and how they pay, from the dataset's ledger.

KPIs, aging stacked bars by risk, the score distribution, value x risk, the biggest balances, and a
customer's ledger timeline (bills, payments, running balance, days to pay). The end of the date
filter is the as-of date.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, dcc, html, no_update

from segmint.app import credit_figures as cf
from segmint.app.api import register_customer_result
from segmint.app.callbacks import FILTER_INPUTS, context, guarded
from segmint.app.credit_state import value_risk
from segmint.app.figures import empty_figure
from segmint.app.layout import graph, kpi_card, message
from segmint.app.state import AppState
from segmint.credit.scorecard import SEGMENTS
from segmint.util import share

NO_LEDGER = ("No ledger for this dataset. Upload a ledger on the Upload page (a Tally Day Book, Ledger Account "
             "or Tally XML: its sales become the data and its vouchers this page), or open a workspace that "
             "holds one.")


def _credit_result(state: AppState, dataset_id: str | None, filters: Any) -> Any:
    """The dataset's CreditResult as of the filters' end date (None without a ledger)."""
    return state.credit.result(state, dataset_id, as_of=filters.end)


register_customer_result("credit", _credit_result)  # /api/customers/<id> shows the credit facts


def layout() -> html.Div:
    """Credit page components."""
    return html.Div([
        message("credit-message"),
        dbc.Row(id="credit-kpis", className="g-2 mb-2"),
        html.Div(id="credit-note", className="small text-muted mb-2"),
        dbc.Row([dbc.Col(graph("credit-aging", 400), md=6), dbc.Col(graph("credit-scores", 400), md=6)]),
        dbc.Row([dbc.Col(graph("credit-matrix", 420), md=6), dbc.Col(graph("credit-top", 420), md=6)]),
        html.Hr(),
        dbc.Row([
            dbc.Col([
                dcc.Dropdown(id="credit-customer", placeholder="customer ...", clearable=False, className="mb-2"),
                html.Div(id="credit-card"),
            ], md=4),
            dbc.Col(graph("credit-timeline", 520), md=8),
        ]),
        html.H6("Risk summary", className="mt-3"),
        html.Div(id="credit-summary"),
    ])  # fmt: skip


def kpis(details: pd.DataFrame) -> list[dbc.Col]:
    """Customers, outstanding, 90+ days, bills paid late, amount-weighted days to pay."""
    owed = details["outstanding"].clip(lower=0).sum()
    ahead = -details["outstanding"].clip(upper=0).sum()
    old = details["aging_90_plus"].sum()
    paid = details["paid"].where(details["avg_days_to_pay"].notna(), 0)
    days = (details["avg_days_to_pay"].fillna(0) * paid).sum() / paid.sum() if paid.sum() else float("nan")
    late, bills = int(details["bills_paid_late"].sum()), int(details["bills_paid"].sum())
    risky = int(details["credit_segment"].isin(["High", "Very High"]).sum())
    return [
        kpi_card("Customers on credit", f"{len(details):,}", f"{risky:,} high or very high risk", "credit-kpi-customers"),
        # "Owed" as the risk summary and the CLI say: the net outstanding is smaller when customers paid ahead
        kpi_card("Owed", f"{owed:,.2f}", "; ".join(filter(None, [
            f"{old / owed:.0%} over 90 days" if owed else "",
            f"{ahead:,.2f} paid ahead: net {owed - ahead:,.2f}" if ahead else ""])), "credit-kpi-outstanding"),
        kpi_card("Days to pay", "-" if days != days else f"{days:,.1f}", "amount-weighted", "credit-kpi-days"),
        kpi_card("Bills paid late", f"{late:,}", f"of {bills:,} paid bills", "credit-kpi-late"),
    ]


def summary_table(summary: pd.DataFrame) -> dbc.Table:
    """The risk summary per Credit Segment as a small table."""
    shown = pd.DataFrame({
        "Credit Segment": summary["credit_segment"], "customers": summary["customers"].map("{:,}".format),
        "owed": summary["owed"].map("{:,.2f}".format),
        "share of owed": summary["share_of_owed"].map(lambda v: share(float(v), 1.0)),  # "-": nothing owed
        "paid ahead": summary["paid_ahead"].map("{:,.2f}".format),
        "90+ days": summary["aging_90_plus"].map("{:,.2f}".format), "mean score": summary["mean_score"],
        "days to pay": summary["avg_days_to_pay"].map(lambda v: "" if v != v else f"{v:,.1f}"),
        "paid late": summary["bills_paid_late"].map("{:,}".format) + " of " + summary["bills_paid"].map("{:,}".format)
        + " paid bills",
    })  # fmt: skip
    # responsive: on a phone its nine columns scroll in their box, not the whole page sideways
    return dbc.Table.from_dataframe(shown, striped=True, bordered=False, hover=True, size="sm", responsive=True)


def customer_options(details: pd.DataFrame) -> list[dict[str, str]]:
    """Customers, riskiest and largest balances first: 'id - segment risk, score N, owes X' (or 'paid ahead X')."""
    ordered = details.sort_values(["credit_score", "outstanding"], ascending=[True, False])
    return [{"label": f"{r.customer_id} - {r.credit_segment} risk, score {r.credit_score}, {balance_text(r.outstanding)}",
             "value": str(r.customer_id)} for r in ordered.itertuples()]  # fmt: skip


def balance_text(outstanding: float) -> str:
    """'owes 1,234.00', or 'paid ahead 500.00' for a credit balance (not a negative debt)."""
    return f"owes {outstanding:,.2f}" if outstanding >= 0 else f"paid ahead {-outstanding:,.2f}"


def customer_card(facts: dict[str, Any]) -> dbc.Card:
    """Score, segment, reason and the main numbers of one customer."""
    def fact(label: str, value: Any) -> html.Div:
        return html.Div([html.Span(f"{label}: ", className="text-muted"), html.Span(value)])

    def money(value: Any) -> str:
        return "-" if value is None else f"{value:,.2f}"

    color = {"Low": "success", "Medium": "warning", "High": "danger", "Very High": "danger"}.get(facts["credit_segment"])
    days = facts.get("avg_days_to_pay")
    return dbc.Card(dbc.CardBody([
        html.H5([f"{facts['customer_id']} ", dbc.Badge(f"{facts['credit_segment']} risk", color=color),
                 html.Span(f"  score {facts['credit_score']}", className="ms-2")]),
        fact("Outstanding", money(facts.get("outstanding")) if not facts.get("paid_ahead") else
             f"nothing owed, paid ahead {facts['paid_ahead']:,.2f}"),
        fact("Over 90 days", money(facts.get("aging_90_plus"))),
        fact("Days to pay", "never paid" if days is None else f"{days:,.1f}"),
        fact("Bills paid late", f"{facts.get('bills_paid_late', 0)} of {facts.get('bills_paid', 0)} settled, "
                                f"{facts.get('bills', 0)} bills in all"),
        fact("Trend", facts.get("trend", "")),
        html.P(facts.get("reason", ""), className="mt-2 mb-0 small", id="credit-reason"),
    ]), className="mb-2")


def overview_content(state: AppState, *inputs: Any) -> tuple:
    """(kpis, note, aging, scores, matrix, top, options, chosen, summary, message) for the filters."""
    dataset_id, filters, settings = context(*inputs)
    result = _credit_result(state, dataset_id, filters)
    if result is None:
        empty = empty_figure("No ledger")
        return [], "", empty, empty, empty, empty, [], None, None, dbc.Alert(NO_LEDGER, color="info")
    details = result.details
    try:
        features = state.analysis(dataset_id, filters, settings).features
        matrix = state.query(dataset_id, value_risk, result, features)
    except Exception:  # noqa: BLE001 - no sales analysis for these filters: the matrix says so
        matrix = pd.DataFrame()
    # without an end date the ledger's own last date is the as-of day: the note said the filter set it
    why = "the end of the Dates filter" if filters.end else "the ledger's last date; the end of the Dates filter sets another"
    note = f"As of {result.as_of} ({why}), {result.terms_text()}. " + " ".join(result.warnings)
    options = customer_options(details)
    # the biggest balance of the riskiest segment that owes anything
    owing = details[details["outstanding"] > 0].assign(
        risk=details["credit_segment"].map({s: i for i, s in enumerate(SEGMENTS)}))
    owing = owing.sort_values(["risk", "outstanding"], ascending=[False, False])
    chosen = str(owing["customer_id"].iloc[0]) if len(owing) else (options[0]["value"] if options else None)
    return (kpis(details), note, cf.aging_by_segment(details), cf.score_distribution(details),
            cf.value_risk_matrix(matrix), cf.aging_top_customers(details), options, chosen,
            summary_table(result.summary()), None)  # fmt: skip


def timeline_content(state: AppState, customer_id: str | None, *inputs: Any) -> tuple:
    """(card, timeline figure, message) for one customer."""
    dataset_id, filters, _ = context(*inputs)
    result = _credit_result(state, dataset_id, filters)
    if result is None or not customer_id:  # nothing to say: the overview's message (e.g. no ledger) stays
        return None, empty_figure("Pick a customer"), no_update
    allocations = result.allocations[result.allocations["customer_id"] == customer_id]
    figure = cf.ledger_timeline(result.timeline(customer_id), allocations, customer_id, result.terms)
    return customer_card(result.customer(customer_id)), figure, None


def credit_badge(state: AppState, dataset_id: str | None, customer_id: str) -> html.Div | None:
    """'Credit: High risk (score 41), owes 1,234.00' for the story card; None without a ledger."""
    try:
        result = state.credit.result(state, dataset_id)
    except Exception:  # noqa: BLE001 - the story card must show even when the ledger cannot be scored
        return None
    if result is None or customer_id not in set(result.details["customer_id"]):
        return None
    facts = result.customer(customer_id)
    return html.Div([html.Span("Credit: ", className="text-muted"),
                     html.Span(f"{facts['credit_segment']} risk (score {facts['credit_score']}), "
                               f"{balance_text(facts['outstanding'])}", id="story-credit")])  # fmt: skip


def register(app: Dash, state: AppState) -> None:
    """Credit page callbacks."""
    figures = ("credit-aging", "credit-scores", "credit-matrix", "credit-top")

    @app.callback(Output("credit-kpis", "children"), Output("credit-note", "children"),
                  *[Output(f, "figure") for f in figures], Output("credit-customer", "options"),
                  Output("credit-customer", "value"), Output("credit-summary", "children"),
                  Output("credit-message", "children", allow_duplicate=True), *FILTER_INPUTS,
                  prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: ([], "", *(empty_figure("No data") for _ in figures), [], None, None, alert))
    def update_overview(*inputs: Any) -> tuple:
        return overview_content(state, *inputs)

    @app.callback(Output("credit-card", "children"), Output("credit-timeline", "figure"),
                  Output("credit-message", "children", allow_duplicate=True),
                  Input("credit-customer", "value"), *FILTER_INPUTS, prevent_initial_call="initial_duplicate")
    @guarded(lambda alert: (None, empty_figure("No ledger"), alert))
    def show_customer(customer_id: str | None, *inputs: Any) -> tuple:
        return timeline_content(state, customer_id, *inputs)
