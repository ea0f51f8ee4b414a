"""segmint command line: a thin shell over the library (parse args, call, print).

Shared options and their parse-time checks live in ``cli_options``, printing (errors with their fix as
flags, progress, tables) in ``cli_output``; a command here parses, calls ``segmint.api`` and prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from segmint import __version__
from segmint.cli_options import (
    _PROCESS,
    SCHEMES,
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
    StorySchemeOption,
    ToOption,
    check_date,
    check_story_scheme,
    choice,
    clean_options,
    load_mapping,
    parse_map_options,
    read_input,
    read_sales,
    schemes_of,
)
from segmint.cli_output import (
    SegmintCommand,
    SegmintGroup,
    console,
    err_console,
    fail,
    note,
    print_analysis,
    print_read,
    print_written,
    status,
    steps,
    summarise,
)

if TYPE_CHECKING:
    from segmint.story import StoryResult

__all__ = ["app", "console", "err_console", "fail", "load_mapping", "main", "note", "parse_map_options", "read_input"]


class _Segmint(typer.Typer):
    """The app; called bare by a ``segmint`` script installed before ``main`` became the entry point,
    it runs ``main``. Its commands are ``SegmintCommand``s: a library error in any of them is one clear
    screen."""

    def command(self, *args: object, cls: type | None = None, **kwargs: object):  # type: ignore[override]
        return super().command(*args, cls=cls or SegmintCommand, **kwargs)  # type: ignore[arg-type]

    def __call__(self, *args: object, **kwargs: object) -> object:
        import sys

        script = getattr(sys.modules.get("__main__"), "__file__", None) or ""
        if not args and not kwargs and Path(script).name == "segmint" and not _PROCESS["command"]:
            return main()
        return super().__call__(*args, **kwargs)


app = _Segmint(
    name="segmint",
    help="Turn raw sales records into customer segments you can act on.",
    no_args_is_help=True,
    add_completion=False,
    cls=SegmintGroup,  # out of memory in any command: one clear error
)


def _hide_flag_types() -> None:
    """Typer 0.29 prints ``<bool>`` beside plain flags (--help, --debug); a flag takes no value, so show none."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich
    if getattr(shown, "_segmint", False):
        return

    def display_type_rich(self: TyperOption, ctx: object) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    display_type_rich._segmint = True  # type: ignore[attr-defined]
    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_hide_flag_types()


def _show_version(value: bool) -> None:
    if value:
        console.print(f"segmint {__version__}")
        raise typer.Exit()


def open_workspace(path: Path) -> object:
    """Open a workspace for writing, waiting (with a note) while a dashboard copies it."""
    from segmint.workspace import Workspace
    from segmint.live import retry_locked

    return retry_locked(lambda: Workspace(path), path, on_wait=note)


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Turn raw sales records into customer segments you can act on."""


@app.command()
def ingest(
    inputs: list[str] = typer.Argument(..., help="Files, directories or globs to import."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace file to append to."),
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    report_dir: Path | None = typer.Option(None, "--report-dir", help="Where to save the quality report JSON."),
    keep_duplicates: bool = KeepDuplicatesOption,
) -> None:
    """Clean sales files and append them to a workspace, one import per file.

    A line already in the workspace (same date, customer, invoice, product, quantity, amount, ...) is
    not added again, and a file whose content was imported before adds nothing.
    """
    from segmint.io import expand_sources

    mapping = load_mapping(mapping_file, map_)
    files = expand_sources(inputs)
    shown_mapping = None
    with open_workspace(workspace) as ws:
        for path in files:
            name = escape(str(path))
            with status(f"{name} ...") as update:
                result = ws.ingest(
                    path, mapping=mapping, options=clean_options(keep_duplicates),
                    progress=lambda step: update(f"{name}: {step} ..."),
                )  # fmt: skip
            if result.transactions is not None:
                description = result.transactions.mapping_description()
                if description != shown_mapping:
                    console.print(description)
                    shown_mapping = description
                console.print(result.report.summary())
                if report_dir is not None:
                    target = report_dir / f"{path.name}.quality.json"
                    result.report.to_json(target)
                    console.print(f"quality report: {target}")
            _print_import(result, workspace)
        total, imports = ws.totals()
    console.print(f"workspace {escape(str(workspace))}: {total:,} rows from {imports:,} import(s)")


def _print_import(result: object, workspace: Path) -> None:
    console.print(
        f"[green]{escape(result.source)}[/]: {result.rows_offered:,} rows, "
        f"{result.rows_added:,} new rows added to {escape(str(workspace))}, "
        f"{result.rows_already_present:,} already there"
    )
    for why, count in result.already_present_why.items():
        console.print(f"  {count:,} already there: {escape(why)}")


@app.command()
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
) -> None:
    """Score customers (RFM, levels, value tiers, clusters) and print a KPI summary per segment."""
    from segmint.api import analyze as run_analysis

    with steps("reading transactions") as step:
        tx = read_sales(
            inputs, map_, mapping_file, source=source, engine=engine, master=master,
            options=clean_options(keep_duplicates),
        )  # fmt: skip
        result = run_analysis(
            tx, scheme=schemes_of(scheme), snapshot_date=snapshot, start=date_from, end=date_to, org=org,
            country=country, config=config, frequency=frequency, monetary=monetary, story_period=story_period,
            progress=step,
        )  # fmt: skip
        written = result.export(out, fmt) if out is not None else {}
    print_read(tx)
    if tx.ledger is not None:
        console.print("A ledger: only sales vouchers net of credit notes are sales. Voucher types:")
        console.print(escape(tx.ledger.type_table()), soft_wrap=True)
        console.print(escape(tx.ledger.sales_line()), soft_wrap=True)
    print_analysis(result)
    print_written(written)


@app.command()
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
) -> None:
    """Follow each customer's segment period by period: paths, migrations, retention, cohorts."""
    from segmint import api

    with status("reading transactions ..."):
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master)
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
    console.print(escape(result.describe_kind()))
    for message in result.notes:
        note(message)
    for item in result.dropped:
        console.print(f"[yellow]left out:[/] {escape(item.describe())} (--drop-partial)")
    if customer is not None:
        _print_customer_story(result, customer)
    else:
        _print_story_overview(result)
    if tables is not None:
        from segmint.report import export_tables

        for target in export_tables(tables, out, fmt).values():
            console.print(f"wrote {target}")


def _print_customer_story(result: StoryResult, customer_id: str) -> None:
    from rich.panel import Panel
    from rich.table import Table

    from segmint.story_tables import period_labels

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
                  "spend", "why")
    partial = period_labels(result.periods)  # "1998-Q2 (partial, 76% of days)"
    for item in record["timeline"]:
        label = partial.get(item["period"], item["period"])
        table.add_row(
            escape(label), escape(item["segment"]), f"{item['frequency']:,}", f"{item['monetary']:,.2f}",
            escape(item["reason"]), style=None if item["active"] else "dim",
        )
    console.print(table)


def _print_story_overview(result: StoryResult) -> None:
    from rich.table import Table

    overview = result.overview()
    first, last = result.periods["period"].iloc[[0, -1]]
    console.print(
        f"{int(overview['customers'].sum()):,} customers over {len(result.periods)} {result.period}s ({first} to "
        f"{last}): {int(overview['recent'].sum()):,} active in {last}, {int(overview['new'].sum()):,} new, "
        f"{int(overview['returned_after_gap'].sum()):,} came back after a gap"
    )
    table = Table("period", "active", "new", "retained", "back", "churned", "retention", "revenue/day", "note")
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


@app.command()
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
) -> None:
    """Write one self-contained HTML report (opens offline): quality, KPIs, every scheme, stories, cohorts."""
    from segmint.api import analyze as run_analysis
    from segmint.report_html import write_html_report

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source)
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


@app.command()
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
            from segmint.report import export_tables

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
    _print_credit(result, customer)
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


@app.command()
def watch(
    folder: Path | None = typer.Argument(None, help="Folder that exports are dropped into."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace to append to."),
    source: str | None = typer.Option(
        None, "--source", help="Also re-read a database table: postgresql://user@host/db?table=sales (or mysql://)."
    ),
    interval: float = typer.Option(10.0, "--interval", min=0.1, help="Seconds between database re-reads (folders are checked every --settle seconds, at most this)."),
    settle: float = typer.Option(
        2.0, "--settle", min=0, help="Seconds a file's size must stay the same before it is imported."
    ),
    once: bool = typer.Option(False, "--once", help="Import what is ready (waiting --settle seconds), then exit."),
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
) -> None:
    """Import new or changed files from a folder (and/or a database table) into a workspace as they arrive."""
    import time

    from segmint.errors import ConfigError, SegmintError
    from segmint.watch import FolderWatcher, import_into

    def note(message: str) -> None:
        err_console.print(f"[yellow]note:[/] {escape(message)}", soft_wrap=True)

    def run_import(item: str) -> bool:
        try:
            outcome = import_into(workspace, item, mapping=mapping, on_wait=note)
        except SegmintError as exc:  # one bad file must not stop the watch
            err_console.print(f"[bold red]not imported:[/] {escape(str(exc))}", soft_wrap=True)
            return False
        stamp = time.strftime("%H:%M:%S")
        if outcome.report is not None and outcome.report.rows_in != outcome.report.rows_kept:
            console.print(outcome.report.summary())
        console.print(f"{stamp} [green]{escape(redact(item))}[/]: {outcome.added:,} new rows added to "
                      f"{workspace}, {outcome.already_there:,} already there", soft_wrap=True)
        return True

    try:
        from segmint.engine import redact_url as redact

        if folder is None and source is None:
            raise ConfigError("give a folder to watch, a --source database URL, or both")
        mapping = load_mapping(mapping_file, map_)
        watcher = FolderWatcher(folder, settle_seconds=settle) if folder is not None else None
        what = " and ".join(x for x in (str(folder) if folder else "", redact(source) if source else "") if x)
        console.print(f"watching {escape(what)} -> {workspace}"
                      + ("" if once else f" every {interval:g} s (Ctrl+C to stop)"), soft_wrap=True)
        last_database_read = float("-inf")
        while True:
            if watcher is not None:
                if once:
                    watcher.ready()
                    time.sleep(settle)
                for path in watcher.ready():
                    if run_import(str(path)):
                        watcher.imported(path)
            if source is not None and time.monotonic() - last_database_read >= interval:
                run_import(source)
                last_database_read = time.monotonic()
            if once:
                return
            time.sleep(interval if watcher is None else min(interval, max(settle, 0.5)))
    except KeyboardInterrupt:
        console.print("stopped")


def _print_credit(result: object, customer: str | None) -> None:
    from rich.table import Table

    console.rule("credit")
    console.print(escape(result.describe()), soft_wrap=True)
    table = Table(title="risk summary (Credit Segment)", title_justify="left")
    for column in ("segment", "customers", "owed", "% of owed", "90+ days", "mean score", "days to pay",
                   "late / paid bills"):
        table.add_column(column, justify="left" if column == "segment" else "right", no_wrap=True)
    for row in result.summary().itertuples():
        days = "" if row.avg_days_to_pay != row.avg_days_to_pay else f"{row.avg_days_to_pay:,.1f}"
        table.add_row(
            escape(str(row.credit_segment)), f"{row.customers:,}", f"{row.owed:,.2f}",
            f"{row.share_of_outstanding:.1%}", f"{row.aging_90_plus:,.2f}", f"{row.mean_score:.1f}", days,
            f"{row.bills_paid_late:,} / {row.bills_paid:,}",
        )  # fmt: skip
    console.print(table)
    riskiest = result.details.sort_values(["credit_score", "outstanding"], ascending=[True, False]).head(10)
    top = Table(title="lowest scores (most at risk first)", title_justify="left")
    for column in ("customer", "score", "segment", "outstanding", "90+ days", "reason"):
        top.add_column(column, justify="right" if column in ("score", "outstanding", "90+ days") else "left")
    for row in riskiest.itertuples():
        top.add_row(escape(str(row.customer_id)), str(row.credit_score), row.credit_segment,
                    f"{row.outstanding:,.2f}", f"{row.aging_90_plus:,.2f}", escape(row.reason))  # fmt: skip
    console.print(top)
    if customer is not None:
        facts = result.customer(customer)
        lines = "\n".join(f"{k}: {v}" for k, v in facts.items())
        console.print(escape(lines))


@app.command()
def recommend(
    inputs: list[str] | None = InputsArgument,
    until: str | None = typer.Option(
        None, "--until", callback=check_date, help="Train on lines up to this date (YYYY-MM-DD); default all."
    ),
    top: int = typer.Option(10, "--top", min=1, help="Products to recommend per customer."),
    window: str = typer.Option("2M", "--window", help="Recent window of favourites: 60D, 8W, 2M, 1Y."),
    scheme: str = typer.Option(
        "rfm", "--scheme", "-s", callback=check_story_scheme, help=f"Segments: {SCHEMES} or value."
    ),
    new_only: bool = typer.Option(False, "--new-only", help="Only products the customer has not bought."),
    evaluate: bool = typer.Option(
        False, "--evaluate", help="Score on purchases after --until (default: the last window) next to baselines."
    ),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    org: str | None = OrgOption,
    customer: str | None = typer.Option(None, "--customer", "-c", help="Print this customer's recommendations."),
    as_product: list[str] | None = typer.Option(
        None, "--as-product", metavar="ITEM", help="An item (code or name) that is a product even if it looks like postage or a fee. Repeatable."
    ),
    as_service: list[str] | None = typer.Option(
        None, "--as-service", metavar="ITEM",
        help="An item (code or name) that is no product (postage, fees ...): kept for sales, left out of recommendations. Repeatable.",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for recommendations.csv and the other tables."),
    fmt: str = FormatOption,
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    engine: str = EngineOption,
    master: str | None = MasterOption,
) -> None:
    """Recommend products per customer and per segment; with --evaluate, measure them on later purchases."""
    from segmint.api import recommend as run_recommend
    from segmint.clean import CleanOptions

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master,
                        options=CleanOptions(unpriced="units"))  # fmt: skip
        result = run_recommend(
            tx, until=until, top=top, window=window, scheme=scheme, new_only=new_only, evaluate=evaluate,
            start=date_from, end=date_to, org=org, progress=step,
            config={"treat_as_products": as_product or (), "treat_as_services": as_service or ()},
        )  # fmt: skip
        written = {}
        if out is not None:
            from segmint.report import export_tables

            step("writing results")
            written = export_tables(result.tables(), out, fmt)
            written["evaluation"] = result.write_summary(out / "evaluation.json")
    print_read(tx)
    _print_recommend(result, customer)
    print_written(written)


@app.command()
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
) -> None:
    """Contact lists per segment (e-mail, phone, name) ready to import into Mailchimp, Klaviyo or a CRM."""
    from segmint.api import analyze as run_analysis
    from segmint.crm import export_contact_lists

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source)
        result = run_analysis(tx, scheme=scheme, snapshot_date=snapshot, config=config, progress=step)
        lists = export_contact_lists(result, out, scheme=scheme, tagged=tagged, fmt=fmt)
    print_read(tx, quality=False)
    console.print(lists.describe())
    if lists.with_email == 0 and lists.with_phone == 0:
        console.print("[yellow]note:[/] no e-mail or phone column was found; map one with "
                      '--map "COLUMN=email" or --map "COLUMN=phone"', soft_wrap=True)
    print_written(lists.files)


def _print_recommend(result: object, customer: str | None) -> None:
    from rich.table import Table

    counts = result.counts
    console.print(
        f"trained on lines up to {result.until}: {counts['customers']:,} customers, {counts['products']:,} products, "
        f"{counts['recommendations']:,} recommendations (top {result.config.top}"
        f"{', new products only' if result.config.new_only else ''}); blend {escape(result.blend.source)}"
    )
    for line in result.notes:
        console.print(f"[yellow]note:[/] {escape(line)}")
    favourites = result.segment_products
    table = Table("segment", "top products by lift (share of segment / of all)", title="segment favourites",
                  title_justify="left")  # fmt: skip
    for segment, rows in favourites.groupby("segment", sort=False):
        best = rows.dropna(subset=["rank_by_lift"]).sort_values("rank_by_lift").head(3)
        text = "; ".join(f"{r.product_name} ({r.share_of_segment:.1%} / {r.share_of_all:.1%})" for r in best.itertuples())
        table.add_row(escape(str(segment)), escape(text or "(too few buyers)"))
    console.print(table)
    if customer is not None:
        card = result.customer(customer)
        rows = Table("rank", "product", "score", "why", title=f"customer {escape(customer)} ({escape(card['segment'])})",
                     title_justify="left")  # fmt: skip
        for item in card["recommendations"]:
            name = item["product_name"] + ("" if item["product_name"] == item["product_id"] else f" [{item['product_id']}]")
            rows.add_row(str(item["rank"]), escape(name),
                         f"{item['score']:.3f}", escape(item["reason"]))  # fmt: skip
        console.print(rows)
    if result.evaluation is not None:
        _print_evaluation(result.evaluation)


def _print_evaluation(evaluation: dict) -> None:
    from rich.table import Table

    top = evaluation["top"]
    period = evaluation["test_period"]
    table = Table("method", f"precision@{top}", f"recall@{top}", "hit rate", "segmint's precision vs this (95% interval)",
                  title=f"evaluation on purchases {period['first']} to {period['last']} "
                        f"({evaluation['customers_evaluated']:,} customers who bought before and after)",
                  title_justify="left")  # fmt: skip
    for name, scores in evaluation["methods"].items():
        lift = evaluation["precision_lift"].get(f"vs_{name}")
        interval = evaluation.get("precision_lift_95", {}).get(f"vs_{name}")
        shown = "n/a" if lift is None else f"{lift:+.1%}" + (f" ({interval[0]:+.1%} to {interval[1]:+.1%})" if interval else "")
        table.add_row(
            escape(scores["label"]), f"{scores[f'precision@{top}']:.4f}", f"{scores[f'recall@{top}']:.4f}",
            f"{scores['hit_rate']:.1%}", "" if name == "segmint" else shown,
        )
    console.print(table)


@app.command()
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
) -> None:
    """Customer lifetime value: P(alive), expected purchases and CLV per customer (BG/NBD, Pareto/NBD, MBG/NBD)."""
    from segmint.api import clv as run_clv
    from segmint.cli_clv import print_clv

    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master)
        result = run_clv(
            tx, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
            horizon=float(horizon) if horizon and horizon.replace(".", "", 1).isdigit() else horizon,
            discount=discount, model=model, compare=compare, start=date_from, org=org, progress=step,
        )  # fmt: skip
        written = result.export(out, fmt) if out is not None else {}
    print_clv(console, result, customer)
    print_written(written)


@app.command()
def dashboard(
    inputs: list[str] | None = typer.Argument(
        None, metavar="FILES", help="Sales files to open (or upload them in the app).", show_default=False
    ),
    workspace: Path | None = typer.Option(
        None, "--workspace", "-w", help="DuckDB workspace to follow live (refreshes when an import changes it)."
    ),
    port: int = typer.Option(8050, "--port", help="Port to serve on."),
    host: str = typer.Option(
        "127.0.0.1", "--host",
        help="Interface to bind. 0.0.0.0 serves every interface: anyone who can reach this machine then "
        "sees the data and can upload files.",
    ),
    refresh: float = typer.Option(
        5.0, "--refresh", min=1, help="Seconds between checks of --workspace for new imports."
    ),
    max_upload_mb: float = typer.Option(200, "--max-upload-mb", min=1, help="Largest file the upload page accepts."),
    upload_idle_minutes: float = typer.Option(
        60, "--upload-idle-minutes", min=1, help="Delete a browser session's uploads after this long without use."
    ),
    threads: int = typer.Option(8, "--threads", min=1, help="Request threads of the web server."),
    debug: bool = typer.Option(False, "--debug", help="Dash debug mode (development server, auto-reload)."),
    ledger: list[str] | None = typer.Option(None, "--ledger", help="Ledger file(s) for the Credit page. Repeatable."),
) -> None:
    """Open the interactive dashboard and its JSON/CSV API (upload page when no input is given)."""
    from segmint.app import create_app
    from segmint.errors import SegmintError

    tx = None
    if inputs:
        with status("reading and cleaning ..."):
            tx = read_input(inputs)
        console.print(tx.mapping_description())
        if tx.report is not None:  # a workspace holds lines cleaned when they were imported
            console.print(tx.report.summary())
    with status("loading data ..."):
        dash_app = create_app(
            None, workspace=workspace, transactions=tx, max_upload_mb=max_upload_mb, refresh_seconds=refresh,
            upload_idle_minutes=upload_idle_minutes,
            ledger=(ledger if len(ledger) > 1 else ledger[0]) if ledger else None,
        )
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning:[/] serving on {escape(host)}: anyone who can reach this machine can see the "
            "data, use the API and upload files", soft_wrap=True,
        )
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}/"
    console.print(f"dashboard: [bold]{url}[/]  API: {url}api  (Ctrl+C to stop)", soft_wrap=True)
    if workspace is not None:
        console.print(f"following {escape(str(workspace))}: new imports show within {refresh + 5:.0f} s",
                      soft_wrap=True)
    if debug:
        dash_app.run(host=host, port=port, debug=True)
        return
    import logging

    from waitress import serve

    logging.getLogger("waitress").setLevel(logging.ERROR)  # we print the URL ourselves
    try:
        serve(dash_app.server, host=host, port=port, threads=threads, ident="segmint")
    except OSError as exc:
        fail(SegmintError(f"cannot serve on {host}:{port}: {exc}; pick another --port"))


@app.command()
def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Directory for the demo data and results."),
    customers: int = typer.Option(2000, "--customers", min=50, help="Number of demo customers."),
    years: int = typer.Option(3, "--years", min=1, help="Years of history."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same data)."),
    fmt: str = FormatOption,
) -> None:
    """Generate demo sales data and a ledger for the same customers; run the whole job: clean, segment,
    stories, credit scores, the customer 360, exports."""
    from segmint.api import analyze as run_analysis
    from segmint.api import credit as run_credit
    from segmint.api import recommend as run_recommend
    from segmint.credit.demo import make_ledger
    from segmint.datasets import make_transactions
    from segmint.workspace import Workspace
    from segmint.io.ledger import save_ledger
    from segmint.report import export_tables
    from segmint.util import write_atomic

    raw_path = out / "demo_sales.csv"
    ledger_path = out / "demo_ledger.csv"
    workspace_path = out / "workspace.duckdb"
    results_dir = out / "results"
    with steps("generating demo sales data") as step:
        frame = make_transactions(n_customers=customers, years=years, seed=seed)
        write_atomic(raw_path, lambda tmp: frame.to_csv(tmp, index=False))
        step("reading and cleaning")
        if workspace_path.exists():
            workspace_path.unlink()  # the demo is regenerated from scratch each run
        with Workspace(workspace_path) as ws:
            tx = ws.ingest(raw_path).transactions
            result = run_analysis(
                tx, scheme="all", story_period="quarter", progress=step,
            )  # fmt: skip
            step("writing results")
            written = result.export(results_dir, fmt)
            recommendations = run_recommend(
                tx, progress=lambda message: step(f"recommendations: {message}")
            )
            written.update({f"recommendations/{name}": path for name, path in
                            export_tables(recommendations.tables(), results_dir / "recommendations", fmt).items()})
            step("writing a demo ledger and scoring credit")
            invoices = tx.table.select("invoice_id", "customer_id", "invoice_date", "amount").to_pandas()
            ledger = make_ledger(invoices, seed=seed)
            write_atomic(ledger_path, lambda tmp: ledger.to_csv(tmp, index=False))
            credit_result = run_credit(str(ledger_path), terms=30, sales=result, con=ws.con)
            save_ledger(ws.con, credit_result.ledger, terms=30)  # the dashboard's Credit page reads it
            credit_written = export_tables(credit_result.tables(), results_dir / "credit", fmt)
            written.update({f"credit/{name}": path for name, path in credit_written.items()})
            summarise(result)  # printed below, after the workspace is closed
    console.print(tx.mapping_description())
    console.print(tx.report.summary())
    print_analysis(result)
    _print_credit(credit_result, None)
    console.rule("where things are")
    console.print(f"demo sales data : {raw_path}")
    console.print(f"demo ledger     : {ledger_path}  (segmint credit {ledger_path} --terms 30 --sales ...)")
    console.print(f"workspace       : {workspace_path}")
    console.print(f"results ({len(written)} tables): {results_dir}/")
    for name, path in written.items():
        console.print(f"  {name:<28} {path}")
    console.print(
        f"dashboard       : [bold]make dashboard[/]  (or: .venv/bin/segmint dashboard --workspace {workspace_path})",
        soft_wrap=True,
    )
    console.print("then open       : http://127.0.0.1:8050/", soft_wrap=True)  # its own line: never wrapped


def _only_the_command_given(args: list[str]) -> None:
    """Keep only the command named first on the command line in ``app`` (this process runs no other).

    Typer builds every command's parameters before parsing (about 25 ms for a dozen commands);
    anything else (``--help``, ``--version``, a typo Typer suggests a command for) keeps them all.
    """
    from typer.main import get_command_name

    if not args or args[0].startswith("-"):
        return
    named = [c for c in app.registered_commands if (c.name or get_command_name(c.callback.__name__)) == args[0]]
    if len(named) == 1:
        app.registered_commands = named


def main() -> None:
    """The ``segmint`` command: run the app, then leave without tearing the interpreter down.

    Freeing every module and object one by one at exit (Ibis, sqlglot, pyarrow, numpy, DuckDB) took
    0.1 CPU s and 0.2-0.4 s wall after a small ``analyze``; the operating system reclaims the memory
    anyway. Everything an orderly exit does that matters still happens first: output is flushed,
    DuckDB connections are closed (a workspace file checkpointed, a spill folder removed) and exit
    handlers run. A Spark or PostgreSQL session leaves the ordinary way. The process is the
    command's own, so it also sets Ibis' options for it (see ``cli_options.unfused_sql``).
    """
    import atexit
    import gc
    import os
    import sys

    _PROCESS["command"] = True
    _only_the_command_given(sys.argv[1:])
    if sys.argv[1:2] == ["analyze"] and not any(arg.startswith("--story") for arg in sys.argv):
        # no cyclic garbage collection in this one-shot command: Ibis and sqlglot allocate hundreds of
        # thousands of objects, and the collector walking them cost about 0.1 CPU s of a CDNOW analyze;
        # what it would free (the compiled SQL trees, parent-linked) is about 12 MB at any input size
        # (a story compiles many more queries: it keeps the collector)
        gc.disable()
    try:
        typer.Typer.__call__(app)
        code: object = 0
    except SystemExit as exit_:
        code = exit_.code
    if {"pyspark", "psycopg", "psycopg2"} & set(sys.modules):  # a JVM or a database session: close them as usual
        sys.exit(code)
    from segmint.engine import close_connections

    if code is not None and not isinstance(code, int):  # what ``sys.exit("message")`` prints
        print(code, file=sys.stderr)
        code = 1
    close_connections()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (``segmint ... | head``) or stream: nothing to flush to
            pass
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    main()
