"""`segmint clv` and its Rich rendering of a CLV result (the CLI's side: the library never prints)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from segmint.cli_options import (
    EngineOption,
    FormatOption,
    FromOption,
    InputsArgument,
    MapOption,
    MappingFileOption,
    MasterOption,
    OrgOption,
    SourceOption,
    UnpricedOption,
    check_date,
    choice,
    clean_options,
    read_sales,
)
from segmint.cli_output import console, print_written, steps
from segmint.money import PURCHASE_MEAN_DECIMALS
from segmint.util import share

TOP_CUSTOMERS = 10


def clv(
    inputs: list[str] | None = InputsArgument,
    calibration_end: str | None = typer.Option(
        None, "--calibration-end", callback=check_date,
        help="Fit on purchases up to this day (YYYY-MM-DD); later ones check the forecast.",
    ),
    holdout_end: str | None = typer.Option(
        None, "--holdout-end", callback=check_date, help="Last day of the holdout (default: end of data)."
    ),
    time_unit: str = typer.Option(
        "week", "--time-unit", callback=choice("day", "week", "month"),
        help="Unit of recency, T and the horizon: day, week or month.",
    ),
    horizon: str | None = typer.Option(
        None, "--horizon", help="Forecast horizon in time units (52) or with a unit ('12 months'); default 12 months."
    ),
    discount: str | None = typer.Option(
        None, "--discount", help="Discount rate: 0.1 or 10% per year, or with a period: 1%/month. Default 10%/year."
    ),
    model: str = typer.Option(
        "bgnbd", "--model", "-m", callback=choice("bgnbd", "pnbd", "mbgnbd"), help="bgnbd (default), pnbd or mbgnbd."
    ),
    compare: bool = typer.Option(True, "--compare/--no-compare", help="Also fit the other models and compare them."),
    customer: str | None = typer.Option(None, "--customer", "-c", help="Print this customer's value."),
    date_from: str | None = FromOption,
    org: str | None = OrgOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for clv_model.json, clv.csv and the checks."),
    fmt: str = FormatOption,
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    engine: str = EngineOption,
    master: str | None = MasterOption,
    unpriced: str = UnpricedOption,
) -> None:
    """Customer lifetime value: P(alive), expected purchases and CLV per customer (BG/NBD, Pareto/NBD, MBG/NBD)."""
    from segmint.api import clv as run_clv

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master,
                        options=clean_options(unpriced=unpriced))
        result = run_clv(
            tx, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
            horizon=float(horizon) if horizon and horizon.replace(".", "", 1).isdigit() else horizon,
            discount=discount, model=model, compare=compare, start=date_from, org=org, progress=step,
        )  # fmt: skip
        written = result.export(out, fmt) if out is not None else {}
    print_clv(console, result, customer)
    print_written(written)


def _number(value: Any, digits: int = 4) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:,.{digits}g}"


def print_clv(console: Console, result: Any, customer: str | None = None) -> None:
    """Model parameters, spend model, model comparison, holdout check, top customers, value by segment."""
    info = result.model_summary()
    unit = result.time_unit
    console.print(
        f"[bold]{info['model_label']}[/] fitted on {info['n_customers']:,} customers, purchases up to "
        f"{info['calibration']['end']} (time unit: {unit}; recency and T in {unit}s)"
    )
    params = Table("parameter", "value", "std. error", title=f"{info['model_label']} ({escape(info['citation'])})",
                   title_justify="left")
    for name, value in info["params"].items():
        params.add_row(name + (f" ({unit}s)" if name in result.model.time_params else ""),
                       _number(value), _number(info["standard_errors"][name], 3))
    params.add_row("log-likelihood", f"{info['loglik']:,.2f}", "")
    console.print(params)
    if result.degenerate:
        console.print(f"[bold red]warning: {escape(result.degenerate)}[/]", soft_wrap=True)
    spend = info["gamma_gamma"]
    if spend is not None:
        check = spend["independence"] or {}
        console.print(
            f"Gamma-Gamma spend: p={_number(spend['p'])}, q={_number(spend['q'])}, v={_number(spend['v'])} on "
            f"{spend['n_customers']:,} repeat customers; frequency-spend correlation "
            f"{_number(check.get('pearson'), 2)}: {escape(check.get('note', ''))}"
        )
    discount = info["discount"]
    console.print(f"horizon {result.horizon_label()}, discount {discount['rate']:.4g} per {discount['per']} "
                  f"(= {discount['per_month']:.4%} per month)")
    if result.comparison is not None and len(result.comparison) > 1:
        table = Table("model", "log-lik", "AIC", "holdout MAE", "holdout total vs actual",
                      title="model comparison (lowest AIC first)", title_justify="left")
        for row in result.comparison.to_dict("records"):
            total = ("-" if row.get("holdout_actual") is None else
                     f"{row['holdout_predicted']:,.0f} vs {row['holdout_actual']:,.0f} "
                     f"({row['holdout_total_error_pct']:+.1f}%)")
            table.add_row(row["label"] + (" (degenerate)" if row.get("degenerate") else ""), f"{row['loglik']:,.1f}", f"{row['aic']:,.1f}",
                          _number(row.get("holdout_mae"), 3), total)
        console.print(table)
    if result.by_frequency is not None:
        table = Table("repeat purchases", "customers", "actual", "predicted",
                      title=f"holdout ({result.window.holdout_length:,.4g} {unit}s to {result.window.holdout_end}): "
                      "mean purchases per customer", title_justify="left")
        places = PURCHASE_MEAN_DECIMALS  # as clv_holdout_by_frequency is exported
        for row in result.by_frequency.itertuples():
            table.add_row(row.frequency, f"{row.customers:,}", f"{row.actual_mean:.{places}f}",
                          f"{row.predicted_mean:.{places}f}")
        console.print(table)
    if customer is not None:
        facts = result.customer(customer)
        console.print(f"customer {escape(str(customer))}: {escape(facts['summary'])}; "
                      f"{facts['expected_purchases']:.2f} purchases expected in {facts['horizon_label']}")
    if result.degenerate:  # a ranking from parameters the data do not pin down is no ranking
        console.print("[red]top customers by predicted value: not shown (degenerate fit, see the warning)[/]")
    else:
        _print_top(console, result)
    if result.by_segment is not None:
        _print_by_segment(console, result)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")


def _print_by_segment(console: Console, result: Any) -> None:
    """Value per segment; without a CLV (no spend model) the purchases expected, not columns of 'nan'."""
    title = "value by segment (RFM at the calibration end)"
    if not result.has_clv:
        table = Table("segment", "customers", "mean P(alive)", f"purchases expected {result.horizon_label()}",
                      "per customer", "high churn risk", title=f"{title}: no CLV (no spend model, see the notes)",
                      title_justify="left")
        for row in result.by_segment.itertuples():
            table.add_row(escape(str(row.segment)), f"{row.customers:,}", f"{row.mean_p_alive:.2f}",
                          f"{row.expected_purchases:,.0f}", f"{row.expected_purchases / row.customers:.2f}",
                          f"{row.high_churn_risk:.0%}")
        console.print(table)
        return
    clv = "CLV" if result.priced else "predicted items"  # a basket log's CLV counts items
    table = Table("segment", "customers", "mean P(alive)", f"{clv} {result.horizon_label()}", f"share of {clv}",
                  f"mean {clv}", "high churn risk", title=title, title_justify="left")
    for row in result.by_segment.itertuples():
        table.add_row(escape(str(row.segment)), f"{row.customers:,}", f"{row.mean_p_alive:.2f}",
                      f"{row.total_clv:,.0f}", share(row.share_of_clv, 1), f"{row.mean_clv:,.2f}",
                      f"{row.high_churn_risk:.0%}")
    console.print(table)


def _print_top(console: Console, result: Any) -> None:
    unit = result.time_unit
    top = result.customers.nsmallest(TOP_CUSTOMERS, "value_rank")
    valued = result.has_clv  # else ranked by purchases expected: no columns of 'nan'
    money = (("value/purchase", "CLV") if result.priced else ("items/purchase", "predicted items")) if valued else ()
    by = ("predicted value" if result.priced else "predicted items") if valued else \
        "purchases expected (no CLV: no spend model)"
    table = Table("rank", "customer", "segment", "P(alive)", f"purchases next {result.horizon_label()}",
                  *money, "churn risk", title=f"top {TOP_CUSTOMERS} customers by {by} "
                  f"(recency/T in {unit}s)", title_justify="left")
    for row in top.to_dict("records"):
        values = (f"{row['expected_avg_value']:,.2f}", f"{row['clv']:,.2f}") if valued else ()
        table.add_row(str(row["value_rank"]), escape(str(row["customer_id"])), escape(str(row.get("segment", ""))),
                      f"{row['p_alive']:.2f}", f"{row['expected_purchases']:.2f}", *values, row["churn_risk"])
    console.print(table)
