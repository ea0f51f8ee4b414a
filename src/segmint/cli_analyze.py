"""`segmint analyze` and the commands that export an analysis: `report` (HTML) and `crm` (contact lists)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from segmint.cli_options import (
    AsProductOption,
    AsServiceOption,
    ConfigOption,
    CountryOption,
    EngineOption,
    FormatOption,
    FrequencyOption,
    FromOption,
    InputsArgument,
    KeepDuplicatesOption,
    MapOption,
    MappingFileOption,
    MasterOption,
    OneSchemeOption,
    OrgOption,
    PeriodOption,
    SchemeOption,
    SnapshotOption,
    SourceOption,
    ToOption,
    UnpricedOption,
    choice,
    clean_options,
    read_sales,
    schemes_of,
)
from segmint.cli_output import console, print_analysis, print_read, print_written, steps


def analyze(
    inputs: list[str] | None = InputsArgument,
    scheme: str = SchemeOption,
    snapshot: str | None = SnapshotOption,
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    org: str | None = OrgOption,
    country: list[str] | None = CountryOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory to write all result tables to."),
    fmt: str = FormatOption,
    config: Path | None = ConfigOption,
    frequency: str = FrequencyOption,
    monetary: str = typer.Option(
        "sum", "--monetary", callback=choice("sum", "mean"), help="Monetary value: sum (total) or mean (per purchase)."
    ),
    story_period: str | None = typer.Option(
        None, "--story", callback=choice("quarter", "month", "year"),
        help="Also build customer stories per quarter, month or year (exported with --out).",
    ),
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    engine: str = EngineOption,
    master: str | None = MasterOption,
    keep_duplicates: bool = KeepDuplicatesOption,
    unpriced: str = UnpricedOption,
    as_product: list[str] | None = AsProductOption,
    as_service: list[str] | None = AsServiceOption,
) -> None:
    """Score customers (RFM, levels, value tiers, clusters) and print a KPI summary per segment."""
    from segmint.api import analyze as run_analysis

    with steps("reading transactions") as step:
        tx = read_sales(
            inputs, map_, mapping_file, source=source, engine=engine, master=master,
            options=clean_options(keep_duplicates, unpriced),
        )  # fmt: skip
        result = run_analysis(
            tx, scheme=schemes_of(scheme), snapshot_date=snapshot, start=date_from, end=date_to, org=org,
            country=country, config=config, frequency=frequency, monetary=monetary, story_period=story_period,
            progress=step, treat_as_products=as_product or (), treat_as_services=as_service or (),
        )  # fmt: skip
        written = result.export(out, fmt) if out is not None else {}
    print_read(tx)
    if tx.ledger is not None:
        console.print("A ledger: only sales vouchers net of credit notes are sales. Voucher types:")
        console.print(escape(tx.ledger.type_table()), soft_wrap=True)
        console.print(escape(tx.ledger.sales_line()), soft_wrap=True)
    print_analysis(result)
    print_written(written)


def report(
    inputs: list[str] | None = InputsArgument,
    out: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    scheme: str = SchemeOption,
    period: str = PeriodOption,
    snapshot: str | None = SnapshotOption,
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    org: str | None = OrgOption,
    config: Path | None = ConfigOption,
    title: str = typer.Option("Customer segments", "--title", help="Title at the top of the report."),
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    unpriced: str = UnpricedOption,
) -> None:
    """Write one self-contained HTML report (opens offline): quality, KPIs, every scheme, stories, cohorts."""
    from segmint.api import analyze as run_analysis
    from segmint.report_html import write_html_report

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, options=clean_options(unpriced=unpriced))
        result = run_analysis(
            tx, scheme=schemes_of(scheme), snapshot_date=snapshot, start=date_from, end=date_to, org=org,
            config=config, story_period=period, progress=step,
        )  # fmt: skip
        step("writing the report")
        label = ", ".join(Path(i).name for i in inputs or []) or (source or "")
        written = write_html_report(result, out, title=title, source=label)
    print_read(tx)
    print_analysis(result)
    console.print(f"wrote report: {written} ({written.stat().st_size / 2**20:.1f} MB, opens offline)")


def crm(
    inputs: list[str] | None = InputsArgument,
    out: Path = typer.Option(..., "--out", "-o", help="Directory for the contact lists."),
    scheme: str = OneSchemeOption,
    tagged: bool = typer.Option(False, "--tagged", help="One file with a Tags column instead of a file per segment."),
    fmt: str = typer.Option("csv", "--format", callback=choice("csv", "xlsx"), help="csv or xlsx."),
    snapshot: str | None = SnapshotOption,
    config: Path | None = ConfigOption,
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    unpriced: str = UnpricedOption,
) -> None:
    """Contact lists per segment (e-mail, phone, name) ready to import into Mailchimp, Klaviyo or a CRM."""
    from segmint.api import analyze as run_analysis
    from segmint.crm import export_contact_lists

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, options=clean_options(unpriced=unpriced))
        result = run_analysis(tx, scheme=scheme, snapshot_date=snapshot, config=config, progress=step)
        lists = export_contact_lists(result, out, scheme=scheme, tagged=tagged, fmt=fmt)
    print_read(tx, quality=False)
    console.print(lists.describe())
    if lists.with_email == 0 and lists.with_phone == 0:
        console.print("[yellow]note:[/] no e-mail or phone column was found; map one with "
                      '--map "COLUMN=email" or --map "COLUMN=phone"', soft_wrap=True)
    print_written(lists.files)
