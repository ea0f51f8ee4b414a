"""segmint command line: a thin shell over the library (parse args, call, print)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from segmint import __version__

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from segmint.api import Transactions
    from segmint.clean import CleanOptions
    from segmint.schema import ColumnMapping

app = typer.Typer(
    name="segmint",
    help="Turn raw sales records into customer segments you can act on.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", help="Show the version and exit."),
) -> None:
    if version:
        console.print(f"segmint {__version__}")
        raise typer.Exit()


def parse_map_options(pairs: list[str] | None) -> dict[str, str]:
    """Turn ``--map "Party Name=customer_id"`` options into a field -> source column dict."""
    from segmint.errors import ConfigError
    from segmint.schema import MAPPABLE_FIELDS

    overrides: dict[str, str] = {}
    for pair in pairs or []:
        column, sep, field = pair.rpartition("=")
        column, field = column.strip(), field.strip()
        if not sep or not column or field not in MAPPABLE_FIELDS:
            raise ConfigError(
                f"--map {pair!r}: expected COLUMN=FIELD with FIELD one of {', '.join(MAPPABLE_FIELDS)}, "
                f"e.g. --map \"Party Name=customer_id\""
            )
        overrides[field] = column
    return overrides


def load_mapping(mapping_file: Path | None, pairs: list[str] | None) -> ColumnMapping | None:
    """Combine a YAML mapping file and ``--map`` options (options win); None when neither is given."""
    from segmint.schema import ColumnMapping

    if mapping_file is None and not pairs:
        return None
    base = ColumnMapping.from_yaml(mapping_file) if mapping_file else ColumnMapping()
    return base.with_overrides(parse_map_options(pairs))


def read_input(
    inputs: list[str],
    *,
    mapping: ColumnMapping | None = None,
    con: BaseBackend | None = None,
    options: CleanOptions | None = None,
) -> Transactions:
    """Read files (or one workspace .duckdb file) into cleaned canonical transactions."""
    from segmint.api import read_transactions

    source: str | list[str] = inputs[0] if len(inputs) == 1 else list(inputs)
    return read_transactions(source, mapping=mapping, options=options, con=con)


def fail(exc: Exception) -> NoReturn:
    """Print a SegmintError for a person and exit with status 2 (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
    raise typer.Exit(code=2)


MapOption = typer.Option(None, "--map", help='Override one column: "SOURCE COLUMN=field". Repeatable.')
MappingFileOption = typer.Option(None, "--mapping", help="YAML file with a column mapping (fields: ...).")


@app.command()
def ingest(
    inputs: list[str] = typer.Argument(..., help="Files, directories or globs to import."),
    workspace: Path = typer.Option(..., "--workspace", "-w", help="DuckDB workspace file to append to."),
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    report_dir: Path | None = typer.Option(None, "--report-dir", help="Where to save the quality report JSON."),
) -> None:
    """Clean sales files and append them to a workspace (re-importing the same lines adds nothing)."""
    from segmint.engine import Workspace
    from segmint.errors import SegmintError

    try:
        mapping = load_mapping(mapping_file, map_)
        with Workspace(workspace) as ws:
            for item in inputs:
                with console.status(f"reading {escape(item)} ..."):
                    tx = read_input([item], mapping=mapping, con=ws.con)
                console.print(tx.mapping_description())
                console.print(tx.report.summary())
                with console.status("appending to the workspace ..."):
                    added, skipped = ws.append(
                        tx.table, source=item, report_json=tx.report.model_dump_json()
                    )
                if report_dir is not None:
                    target = report_dir / f"{Path(item).name}.quality.json"
                    tx.report.to_json(target)
                    console.print(f"quality report: {target}")
                console.print(
                    f"[green]{escape(item)}[/]: {added:,} new rows added to {workspace}, "
                    f"{skipped:,} already there"
                )
    except SegmintError as exc:
        fail(exc)


if __name__ == "__main__":  # pragma: no cover
    app()
