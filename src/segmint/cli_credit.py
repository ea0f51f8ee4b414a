"""`segmint credit`: Credit Score and Credit Segment from ledgers, and the printed risk summary `demo` shares."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from segmint.cli_output import console, print_written, steps
from segmint.util import share


def credit(
    ledgers: list[str] = typer.Argument(
        ..., help="Ledgers: Day Book / Group Vouchers / Ledger Account (Excel, CSV, Tally XML) or receivables tables."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Measure as of this date (YYYY-MM-DD); default: the last date."),
    terms: int | None = typer.Option(
        None, "--terms", min=0, help="Credit terms in days: due date = bill date + N where the data gives none."
    ),
    sales: str | None = typer.Option(None, "--sales", help="Sales file(s) or workspace .duckdb: adds customer_360."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for credit.csv, allocations, open bills, 360."),
    fmt: str = typer.Option("csv", "--format", help="Table format for --out: csv, xlsx or parquet."),
    scorecard: Path | None = typer.Option(None, "--scorecard", help="YAML scorecard (factors, bins, segment thresholds)."),
    rules: Path | None = typer.Option(None, "--rules", help="YAML ledger rules: voucher_types overrides, counter_ledgers."),
    party: str | None = typer.Option(None, "--party", help="Party of a one-party Ledger Account whose titles do not name it."),
    limits: Path | None = typer.Option(None, "--limits", help="CSV with customer_id and credit_limit columns."),
    customer: str | None = typer.Option(None, "--customer", "-c", help="Print this customer's credit facts."),
    workspace: Path | None = typer.Option(
        None, "--workspace", "-w", help="Also keep the ledger in this workspace (the dashboard's Credit page reads it)."
    ),
    map_: list[str] | None = typer.Option(
        None, "--map", help='Name a ledger column: "COLUMN=field" (party, date, voucher_type, debit, credit, ...).'
    ),
) -> None:
    """Credit Score and Credit Segment per customer from ledgers; with --sales, the customer 360."""
    from segmint.api import credit as run_credit

    columns = _ledger_columns(map_)
    with steps("reading the ledger") as step:
        result = run_credit(
            ledgers if len(ledgers) > 1 else ledgers[0], as_of=as_of, terms=terms, sales=sales,
            scorecard=scorecard, rules=rules, party=party, credit_limits=limits, columns=columns, progress=step,
        )  # fmt: skip
        written = {}
        if out is not None:
            from segmint.exports import export_tables

            step("writing results")
            written = export_tables(result.tables(), out, fmt)
            written["ledger_report"] = Path(out) / "ledger_report.json"
            result.report.to_json(written["ledger_report"])
        if workspace is not None:
            from segmint.workspace import Workspace
            from segmint.io.ledger import save_ledger

            with Workspace(workspace) as ws:
                save_ledger(ws.con, result.ledger, terms=terms)
            written["workspace"] = workspace
    console.print(escape(result.report.summary()), soft_wrap=True)
    print_credit(result, customer)
    print_written(written)


def _ledger_columns(pairs: list[str] | None) -> dict[str, str] | None:
    """``--map "Customer=party"`` options of `segmint credit` as a ledger field -> column dict."""
    from segmint.errors import ConfigError
    from segmint.io.ledger_layout import column_synonyms

    fields = sorted(column_synonyms())
    columns: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, field = pair.rpartition("=")
        if not sep or not column.strip() or field.strip() not in fields:
            raise ConfigError(f"--map {pair!r}: expected COLUMN=FIELD with FIELD one of {', '.join(fields)}")
        columns[field.strip()] = column.strip()
    return columns or None


def print_credit(result: object, customer: str | None) -> None:
    from segmint.cli_tables import Column, fitted_table

    console.rule("credit")
    console.print(escape(result.describe()), soft_wrap=True)
    where = "credit_summary and credit (--out) have every column"
    columns = (Column("segment", "left"), Column("customers"), Column("owed"), Column("% of owed", drop=4),
               Column("90+ days"), Column("mean score", drop=2), Column("days to pay", drop=3),
               Column("late / paid bills", drop=1))  # fmt: skip
    cells = [
        (escape(str(row.credit_segment)), f"{row.customers:,}", f"{row.owed:,.2f}", share(row.share_of_owed, 1),
         f"{row.aging_90_plus:,.2f}", f"{row.mean_score:.1f}",
         "" if row.avg_days_to_pay != row.avg_days_to_pay else f"{row.avg_days_to_pay:,.1f}",
         f"{row.bills_paid_late:,} / {row.bills_paid:,}")
        for row in result.summary().itertuples()
    ]  # fmt: skip
    console.print(fitted_table("risk summary (Credit Segment)", columns, cells, width=console.width, elsewhere=where))
    riskiest = result.details.sort_values(["credit_score", "outstanding"], ascending=[True, False]).head(10)
    columns = (Column("customer", "left", wrap=True), Column("score"), Column("segment", "left", drop=1),
               Column("outstanding"), Column("90+ days", drop=2), Column("reason", "left", wrap=True, wrap_width=24))  # fmt: skip
    cells = [
        (escape(str(row.customer_id)), str(row.credit_score), row.credit_segment, f"{row.outstanding:,.2f}",
         f"{row.aging_90_plus:,.2f}", escape(row.reason))
        for row in riskiest.itertuples()
    ]  # fmt: skip
    console.print(fitted_table("lowest scores (most at risk first)", columns, cells, width=console.width, elsewhere=where))
    if customer is not None:
        facts = result.customer(customer)
        lines = "\n".join(f"{k}: {v}" for k, v in facts.items())
        console.print(escape(lines))
