"""`segmint ingest` and `segmint watch`: the commands that append sales files to a workspace."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from segmint.cli_options import KeepDuplicatesOption, MapOption, MappingFileOption, clean_options, load_mapping
from segmint.cli_output import console, err_console, note, status


def open_workspace(path: Path) -> object:
    """Open a workspace for writing, waiting (with a note) while a dashboard copies it."""
    from segmint.workspace import Workspace
    from segmint.live import retry_locked

    return retry_locked(lambda: Workspace(path), path, on_wait=note)

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
                    console.print(f"quality report: {escape(str(target))}", soft_wrap=True)
            _print_import(result, workspace)
        total, imports = ws.totals()
    console.print(f"workspace {escape(str(workspace))}: {total:,} rows from {imports:,} import(s)", soft_wrap=True)


def _print_import(result: object, workspace: Path) -> None:
    console.print(
        f"[green]{escape(result.source)}[/]: {result.rows_offered:,} rows, "
        f"{result.rows_added:,} new rows added to {escape(str(workspace))}, "
        f"{result.rows_already_present:,} already there",
        soft_wrap=True,  # a path broken over two lines cannot be pasted
    )
    for why, count in result.already_present_why.items():
        console.print(f"  {count:,} already there: {escape(why)}")


def watch(
    folder: Path | None = typer.Argument(None, help="Folder that exports are dropped into."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace to append to."),
    source: str | None = typer.Option(
        None, "--source", help="Also re-read a database table: postgresql://user@host/db?table=sales (or mysql://, "
        "sqlite:///shop.db?table=sales, duckdb:///shop.duckdb?table=sales).",
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
                      f"{escape(str(workspace))}, {outcome.already_there:,} already there", soft_wrap=True)
        return True

    try:
        from segmint.remote import redact_url as redact

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
