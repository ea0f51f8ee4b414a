"""segmint command line: a thin shell over the library (parse args, call, print)."""

from __future__ import annotations

import typer
from rich.console import Console

from segmint import __version__

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


if __name__ == "__main__":  # pragma: no cover
    app()
