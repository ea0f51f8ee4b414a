"""`segmint story`: each customer's segment period by period, printed as an overview or one customer's card."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from segmint.cli_options import (
    ConfigOption,
    CountryOption,
    EngineOption,
    FormatOption,
    FrequencyOption,
    FromOption,
    InputsArgument,
    MapOption,
    MappingFileOption,
    MasterOption,
    OrgOption,
    PeriodOption,
    SourceOption,
    StorySchemeOption,
    ToOption,
    UnpricedOption,
    choice,
    clean_options,
    read_sales,
)
from segmint.cli_output import console, note, status

if TYPE_CHECKING:
    from segmint.story import StoryResult


def story(
    inputs: list[str] | None = InputsArgument,
    period: str = PeriodOption,
    scheme: str = StorySchemeOption,
    kind: str | None = typer.Option(
        None, "--kind", callback=choice("as-of", "within-period"),
        help="as-of (lifecycle: the segment at each period end on all history; the default when the scheme's "
        "names claim tenure, as RFM's do) or within-period (activity inside each period).",
    ),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    org: str | None = OrgOption,
    country: list[str] | None = CountryOption,
    config: Path | None = ConfigOption,
    customer: str | None = typer.Option(None, "--customer", "-c", help="Print this customer's story."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory to write the story tables to."),
    fmt: str = FormatOption,
    drop_partial: bool = typer.Option(
        False, "--drop-partial",
        help="Leave out a first or last period the data cover only partly (kept and marked by default).",
    ),
    frequency: str = FrequencyOption,
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    engine: str = EngineOption,
    master: str | None = MasterOption,
    unpriced: str = UnpricedOption,
) -> None:
    """Follow each customer's segment period by period: paths, migrations, retention, cohorts."""
    from segmint import api

    with status("reading transactions ..."):
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master,
                        options=clean_options(unpriced=unpriced))
    with status("building customer stories ..."):
        result = api.story(
            tx, period=period, scheme=scheme, kind=kind.replace("-", "_") if kind else None, config=config,  # type: ignore[arg-type]
            start=date_from, end=date_to, org=org, country=country, drop_partial=drop_partial,
            frequency=frequency,  # type: ignore[arg-type]
        )  # fmt: skip
        # what is printed is counted under the spinner: every table when they are written (the overview is
        # then counted from them), else the overview on its own
        tables = result.tables(story_query=fmt == "csv") if out is not None else None
        if tables is None and customer is None:
            result.overview()
    from segmint.units import has_prices, item_columns

    priced = has_prices(getattr(tx, "mapping", None))  # a basket log's amounts count items: said so
    console.print(escape(result.describe_kind()))
    for message in result.notes:
        note(message)
    for item in result.dropped:
        console.print(f"[yellow]left out:[/] {escape(item.describe())} (--drop-partial)")
    if customer is not None:
        _print_customer_story(result, customer, priced)
    else:
        _print_story_overview(result, priced)
    if tables is not None:
        from segmint.exports import export_tables

        tables = {name: item_columns(table, priced) for name, table in tables.items()}
        for target in export_tables(tables, out, fmt).values():
            console.print(f"wrote {escape(str(target))}", soft_wrap=True)


def _print_customer_story(result: StoryResult, customer_id: str, priced: bool = True) -> None:
    from rich.panel import Panel
    from rich.table import Table

    from segmint.story_narrative import period_labels

    record = result.customer(customer_id)
    flags = [name for name in ("is_new", "is_recent", "returned_after_gap") if record[name]]
    changed = (
        f"; before: {record['previous_segment']}, changed on {record['segment_changed_on']}"
        if record["previous_segment"] else ""
    )
    console.print(
        Panel(
            f"current segment: [bold]{escape(record['current_segment'])}[/]{escape(changed)}\n"
            f"why: {escape(record['current_reason'])}\n\n{escape(record['narrative'])}\n\n"
            f"first purchase {record['first_purchase']}, last purchase {record['last_purchase']}, active in "
            f"{record['active_periods']} of {record['periods']} {result.period}s"
            f"{'; ' + ', '.join(flags) if flags else ''}",
            title=f"customer {escape(str(customer_id))} ({escape(result.scheme)}, {escape(result.kind_name)})",
        )
    )
    table = Table("period", "segment", "purchases" if result.frequency == "invoices" else "visits (days)",
                  "spend" if priced else "items", "why")
    partial = period_labels(result.periods)  # "1998-Q2 (partial, 76% of days)"
    for item in record["timeline"]:
        label = partial.get(item["period"], item["period"])
        table.add_row(
            escape(label), escape(item["segment"]), f"{item['frequency']:,}", f"{item['monetary']:,.2f}",
            escape(item["reason"]), style=None if item["active"] else "dim",
        )
    console.print(table)


def _print_story_overview(result: StoryResult, priced: bool = True) -> None:
    from rich.table import Table

    overview = result.overview()
    first, last = result.periods["period"].iloc[[0, -1]]
    console.print(
        f"{int(overview['customers'].sum()):,} customers over {len(result.periods)} {result.period}s ({first} to "
        f"{last}): {int(overview['recent'].sum()):,} active in {last}, {int(overview['new'].sum()):,} new, "
        f"{int(overview['returned_after_gap'].sum()):,} came back after a gap"
    )
    table = Table("period", "active", "new", "retained", "back", "churned", "retention",
                  "revenue/day" if priced else "items/day", "note")
    for item in result.retention.itertuples():
        rate = "" if item.retention_rate != item.retention_rate else f"{item.retention_rate:.0%}"
        table.add_row(
            item.period, f"{item.active:,}", f"{item.new:,}", f"{item.retained:,}",
            f"{item.reactivated:,}", f"{item.churned:,}", rate, f"{item.revenue_per_day:,.2f}",
            escape(item.note),
        )
    console.print(table)
    current = zip(overview["current_segment"], overview["customers"], strict=True)
    console.print("current segment: " + ", ".join(f"{escape(str(s))} {n:,}" for s, n in current))
    console.print("Pass --customer ID to read one customer's story.")
