"""What the CLI prints: consoles, errors with their fix as flags, progress, shares and the analysis tables.

The library describes a fix as data (``segmint.errors.Fix``: the parameter to change and a value that
works); this module is the one place that turns it into command-line flags.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import Progress

    from segmint.api import AnalysisResult
    from segmint.errors import Fix

# Rich assumes 80 columns when output is not a terminal; tables of KPIs need more to stay readable.
console = Console(width=None if Console().is_terminal else 120)
err_console = Console(stderr=True, width=None if Console(stderr=True).is_terminal else 120)

# library parameter -> the flag that sets it (one table for every command)
FLAGS: dict[str, str] = {
    "mapping": "--map",
    "scheme": "--scheme",
    "snapshot_date": "--snapshot",
    "start": "--from",
    "end": "--to",
    "org": "--org",
    "fmt": "--format",
    "config": "--config",
    "frequency": "--frequency",
    "monetary": "--monetary",
    "period": "--period",
    "include_incomplete": "--keep-incomplete",
    "ties": "--ties",
    "engine": "--engine",
    "source": "--source",
}


def flag_for(option: str) -> str:
    """The flag for a library parameter (``start`` -> ``--from``); ``--name-with-dashes`` otherwise."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def fix_lines(fix: Fix, field: str | None = None) -> list[str]:
    """A library fix as command-line advice: the flags to add, with a value that works."""
    if fix.option == "mapping":
        return _mapping_fix(fix, field)
    if "." in fix.option:  # a scheme setting, e.g. rfm.bins: set in the --config YAML
        scheme, setting = fix.option.split(".", 1)
        value = fix.example if fix.example is not None else "VALUE"
        return [f"set it in a YAML file passed with --config:  {scheme}: {{{setting}: {value}}}"]
    flag = flag_for(fix.option)
    if fix.example is not None:
        advice = f"{flag} {fix.example}"
    elif fix.choices:
        advice = f"{flag} {'|'.join(fix.choices)}"
    else:
        advice = flag
    return [f"{fix.note}: {advice}" if fix.note else advice]


def _mapping_fix(fix: Fix, field: str | None) -> list[str]:
    example: Mapping[str, str] = fix.example or {field or "customer_id": "COLUMN"}
    flags = " ".join(f'--map "{column}={name}"' for name, column in example.items())
    lines = [f"say which column holds each field: {flags}"]
    lines += ["or in a YAML mapping file passed with --mapping:", "  fields:"]
    lines += [f"    {name}: {column}" for name, column in example.items()]
    if fix.note:
        lines.append(f"({fix.note})")
    return lines


def fail(exc: Exception) -> NoReturn:
    """Print a SegmintError and its fix (as flags) for a person and exit with status 2 (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    fix = getattr(exc, "fix", None)
    if fix is not None:
        lines = fix_lines(fix, getattr(exc, "field", None))
        err_console.print(f"[bold]fix:[/] {escape(lines[0])}", soft_wrap=True)
        for line in lines[1:]:
            err_console.print(f"  {escape(line)}", soft_wrap=True)
    raise typer.Exit(code=2)


def note(message: str) -> None:
    """A yellow note on stderr (things the user should know but that did not stop the command)."""
    err_console.print(f"[yellow]note:[/] {escape(message)}", soft_wrap=True)


def progress() -> Progress:
    """Spinner, current step and elapsed time on stderr, for the long commands.

    When stderr is not a terminal (piped, captured) nothing is drawn: a final spinner frame would
    otherwise land in the middle of the output.
    """
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
        transient=True, disable=not err_console.is_terminal,
    )


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with ``message`` while the block runs (nothing when stderr is not a terminal)."""
    if not err_console.is_terminal:
        yield
        return
    with err_console.status(message):
        yield


def share(part: float, whole: float) -> str:
    """``part / whole`` as a percentage people can read: 0.0% only for zero, "<0.1%" for a sliver."""
    if not whole:
        return "-"
    value = part / whole
    if 0 < value < 0.001:
        return "<0.1%"
    if 0.999 < value < 1:
        return ">99.9%"
    return f"{value:.1%}"


def print_analysis(result: AnalysisResult) -> None:
    """Snapshot, skipped schemes, excluded customers, warnings and one KPI table per scheme."""
    from rich.table import Table

    console.print(f"snapshot date: {result.snapshot_date}  (recency counted in days before it)")
    for scheme, why in result.skipped.items():
        console.print(f"[yellow]skipped {scheme}:[/] {escape(why)}")
    for scheme, summary in result.summaries.items():
        table = Table(title=f"{scheme} segments", title_justify="left")
        table.add_column("segment", justify="left", no_wrap=True)
        for column in ("customers", "% customers", "revenue", "% revenue", "recency", "frequency", "AOV"):
            table.add_column(column, justify="right")
        customers, revenue = summary.customers.sum(), summary.revenue.sum()
        for row in summary.itertuples():
            table.add_row(
                escape(str(row.segment)), f"{row.customers:,}", share(row.customers, customers),
                f"{row.revenue:,.0f}", share(row.revenue, revenue), f"{row.mean_recency_days:,.0f}",
                f"{row.mean_frequency:.2f}", f"{row.aov:,.2f}",
            )  # fmt: skip
        console.print(table)
