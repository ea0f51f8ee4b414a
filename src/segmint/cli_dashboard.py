"""`segmint dashboard` (serve the app and its API) and `segmint demo` (build the demo data and results it opens)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from segmint.cli_options import FormatOption, UnpricedOption, clean_options, read_input
from segmint.cli_output import console, err_console, fail, print_analysis, status, steps, summarise


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
    unpriced: str = UnpricedOption,
) -> None:
    """Open the interactive dashboard and its JSON/CSV API (upload page when no input is given)."""
    from segmint.app import create_app
    from segmint.errors import SegmintError

    tx = None
    if inputs:
        with status("reading and cleaning ..."):
            tx = read_input(inputs, options=clean_options(unpriced=unpriced))
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
    from segmint.app.server import warm_in_background

    warm_in_background()
    try:
        serve(dash_app.server, host=host, port=port, threads=threads, ident="segmint")
    except OSError as exc:
        fail(SegmintError(f"cannot serve on {host}:{port}: {exc}; pick another --port"))


def demo(
    out: Path = typer.Option(Path("out/demo"), "--out", "-o", help="Directory for the demo data and results."),
    customers: int = typer.Option(2000, "--customers", min=50, help="Number of demo customers."),
    years: int = typer.Option(3, "--years", min=1, help="Years of history."),
    seed: int = typer.Option(7, "--seed", help="Random seed (same seed, same data)."),
    fmt: str = FormatOption,
) -> None:
    """Generate demo sales and a ledger for the same customers, then run the whole job.

    Clean, segment, stories, recommendations, credit scores, the customer 360, exports.
    """
    from segmint.api import analyze as run_analysis
    from segmint.api import credit as run_credit
    from segmint.api import recommend as run_recommend
    from segmint.cli_credit import print_credit
    from segmint.credit.demo import make_ledger
    from segmint.datasets import make_transactions
    from segmint.workspace import Workspace
    from segmint.io.ledger import save_ledger
    from segmint.exports import export_tables
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
    print_credit(credit_result, None)
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
