"""What the CLI prints: consoles, errors with their fix as flags, progress, shares and the analysis tables.

The library describes a fix as data (``segmint.errors.Fix``: the parameter to change and a value that
works); this module is the one place that turns it into command-line flags.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand, TyperGroup

from segmint.util import share

if TYPE_CHECKING:
    import click
    from rich.progress import Progress

    from segmint.api import AnalysisResult, Transactions
    from segmint.errors import Fix


def _console(stderr: bool = False) -> Console:
    """Rich assumes 80 columns when output is not a terminal; tables of KPIs need more to stay readable,
    so 120 there unless ``COLUMNS`` says otherwise. Off a terminal nothing is coloured, so no highlighting
    either (its regexes ran over every line printed, for styles that were then dropped: a fiftieth of a
    small ``analyze``)."""
    import os

    terminal = Console(stderr=stderr).is_terminal
    return Console(stderr=stderr, width=None if terminal or os.environ.get("COLUMNS") else 120, highlight=terminal)


console = _console()
err_console = _console(stderr=True)

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
    "drop_partial": "--drop-partial",
    "kind": "--kind",
    "ties": "--ties",
    "engine": "--engine",
    "source": "--source",
}


def flag_for(option: str) -> str:
    """The flag for a library parameter (``start`` -> ``--from``); ``--name-with-dashes`` otherwise."""
    return FLAGS.get(option, "--" + option.replace("_", "-"))


def fix_lines(fix: Fix, field: str | None = None, flags: Collection[str] | None = None) -> list[str]:
    """A library fix as command-line advice: the flags to add, with a value that works.

    ``flags`` are the options of the command that failed (None: any): a flag the command lacks is
    never suggested; the fix's plain-language note is shown instead (or nothing).
    """
    if fix.option == "mapping":
        if flags is not None and not {"--map", "--mapping"} & set(flags):
            return [fix.note] if fix.note else []
        return _mapping_fix(fix, field, flags)
    if fix.option == "date_format":
        return _date_format_fix(fix, field, flags)
    if fix.option == "columns" and isinstance(fix.example, Mapping) and (flags is None or "--map" in flags):
        pairs = " ".join(f'--map "{column}={name}"' for name, column in fix.example.items())  # segmint credit
        return [f"{fix.note}: {pairs}" if fix.note else f"say which column holds each field: {pairs}"]
    flag = "--config" if "." in fix.option else flag_for(fix.option)
    if flags is not None and flag not in flags:
        return [fix.note] if fix.note else []
    if "." in fix.option:  # a scheme setting, e.g. rfm.bins: set in the --config YAML
        scheme, setting = fix.option.split(".", 1)
        value = fix.example if fix.example is not None else "VALUE"
        return [f"set it in a YAML file passed with --config:  {scheme}: {{{setting}: {value}}}"]
    if fix.remove:  # "leave the filter out: --org" read as advice to add the flag
        return [f"{fix.note} (run without {flag})" if fix.note else f"run without {flag}"]
    if fix.example is not None:
        example = str(fix.example)
        advice = f'{flag} "{example}"' if " " in example else f"{flag} {example}"
    elif fix.choices:
        advice = f"{flag} {'|'.join(fix.choices)}"
    else:
        advice = flag
    return [f"{fix.note}: {advice}" if fix.note else advice]


def _mapping_fix(fix: Fix, field: str | None, flags: Collection[str] | None = None) -> list[str]:
    example: Mapping[str, str] = fix.example or {field or "customer_id": "COLUMN"}
    lines = []
    if flags is None or "--map" in flags:
        pairs = " ".join(f'--map "{column}={name}"' for name, column in example.items())
        lines.append(f"say which column holds each field: {pairs}")
    if flags is None or "--mapping" in flags:  # e.g. segmint credit has --map but no --mapping
        lines += [("or in" if lines else "say it in") + " a YAML mapping file passed with --mapping:", "  fields:"]
        lines += [f"    {name}: {column}" for name, column in example.items()]
    if fix.note:
        lines.append(f"({fix.note})")
    return lines


def _date_format_fix(fix: Fix, column: str | None, flags: Collection[str] | None = None) -> list[str]:
    """The dates' layout as a ``--mapping`` file's ``date_format`` (the library's suggestion when it has one)."""
    if flags is not None and "--mapping" not in flags:  # the layout in words, with the one that reads the value
        return [f'{fix.note}, e.g. "{fix.example}"' if fix.example else fix.note] if fix.note else []
    layout = f'"{fix.example}"' if fix.example else '"%d.%m.%Y %H:%M"  (e.g., for 31.12.2023 18:30)'
    lines = [f"if {f'{column!r}' if column else 'the column'} holds the dates, give their layout in a YAML "
             "mapping file passed with --mapping:", f"  date_format: {layout}"]
    if flags is None or "--map" in flags:
        lines.append('if another column holds them: --map "COLUMN=invoice_date"')
    return lines


def command_flags(ctx: click.Context | None = None) -> set[str] | None:
    """The options (``--from``, ``-s``, ...) of ``ctx``'s command, else of the command being run; None
    outside a command."""
    ctx = ctx or _current_context()
    if ctx is None:
        return None
    return {name for param in ctx.command.params for name in (*param.opts, *param.secondary_opts)}


def _current_context() -> click.Context | None:
    # Typer 0.2x runs its own copy of Click, whose context stack Click's ``get_current_context`` never sees
    try:
        from typer._click.globals import get_current_context
    except ImportError:  # a Typer on Click itself
        from click import get_current_context
    return get_current_context(silent=True)


def fail(exc: Exception, ctx: click.Context | None = None) -> NoReturn:
    """Print a SegmintError and its fix (as flags of ``ctx``'s command, else of the command being run) for
    a person and exit with status 2 (no traceback)."""
    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    fix = getattr(exc, "fix", None)
    lines = fix_lines(fix, getattr(exc, "field", None), command_flags(ctx)) if fix is not None else []
    if lines:
        err_console.print(f"[bold]fix:[/] {escape(lines[0])}", soft_wrap=True)
        for line in lines[1:]:
            err_console.print(f"  {escape(line)}", soft_wrap=True)
    raise typer.Exit(code=2)


def format_needs_out(ctx: click.Context) -> None:
    """Usage error (exit 2) for a ``--format`` given without ``--out``: tables are written only to the
    ``--out`` folder, and a command that wrote nothing and said nothing looked as if it had written them."""
    params = ctx.params
    if "fmt" not in params or "out" not in params or params["out"] is not None:
        return
    source = ctx.get_parameter_source("fmt")
    if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
        raise typer.BadParameter(
            f"{params['fmt']} is the format of the tables written to --out, and no --out was given: "
            f"add --out DIR (e.g. --out results/) to write them, or leave --format out", ctx=ctx, param_hint="'--format'",
        )


class SegmintCommand(TyperCommand):
    """A segmint command: the library's errors (``SegmintError``) end in ``fail``'s one clear screen.

    Caught here for every command instead of a try/except in each; the command's own context is still
    the current one, so the fix is printed with that command's flags.
    """

    def invoke(self, ctx: click.Context) -> object:
        format_needs_out(ctx)
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from segmint.errors import SegmintError

            if not isinstance(exc, SegmintError):
                raise
            fail(exc, ctx)


class SegmintGroup(TyperGroup):
    """segmint's command group: DuckDB running out of memory in ANY command is one clear error, no traceback.

    A materialised table already raises the library's BackendError; a query's result (a story's last
    queries, an export, a dashboard-sized fetch) raises DuckDB's own exception, caught here once for
    every command instead of in each one.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            from segmint.engine import out_of_memory_error

            error = out_of_memory_error(exc)
            if error is None:
                raise
            fail(error)


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
def status(message: str) -> Iterator[Callable[[str], None]]:
    """A spinner with ``message`` while the block runs (nothing when stderr is not a terminal).

    Yields ``update(message)`` to change the text (a no-op without a terminal).
    """
    if not err_console.is_terminal:
        yield lambda _message: None
        return
    with err_console.status(message) as spinner:
        yield lambda text: spinner.update(text)


@contextmanager
def steps(first: str) -> Iterator[Callable[[str], None]]:
    """``progress`` showing ``first``; yields ``step(message)`` that shows the next step (also the
    ``progress`` callback the library's long functions take). Without a terminal nothing would be
    drawn: no progress bar is built (nor Rich's progress module imported)."""
    if not err_console.is_terminal:
        yield lambda _message: None
        return
    with progress() as bar:
        task = bar.add_task(f"{first} ...", total=None)
        yield lambda message: bar.update(task, description=f"{message} ...")


def print_read(tx: Transactions, *, quality: bool = True) -> None:
    """How the columns were read and (``quality``) the cleaning report; a workspace has neither: its
    lines were cleaned when they were imported."""
    if tx.report is None:
        return
    console.print(tx.mapping_description())
    if quality:
        console.print(tx.report.summary())


def print_written(written: Mapping[str, object]) -> None:
    """One 'wrote NAME: PATH' line per file, never wrapped (a path broken over two lines cannot be pasted)."""
    for name, path in written.items():
        console.print(f"wrote {name}: {escape(str(path))}", soft_wrap=True)


def summarise(result: AnalysisResult) -> AnalysisResult:
    """Compute what ``print_analysis`` shows (KPIs, excluded customers, notes) while the data are open."""
    result.kpis(), result.excluded_count(), result.notes(), dict(_summary_rows(result))
    return result


def _summary_rows(result: AnalysisResult) -> Iterator[tuple[str, list[dict]]]:
    """(scheme, one dict per segment) of each KPI summary, from its Python or Arrow form when the result has one."""
    plain = getattr(result, "summary_columns", None)
    if plain:  # (empty in a result built without them)
        for scheme, columns in plain.items():
            yield scheme, columns.to_pylist()
        return
    arrow = getattr(result, "summary_tables", None)
    if arrow is not None:
        for scheme, table in arrow.items():
            yield scheme, table.to_pylist()
        return
    for scheme, frame in result.summaries.items():
        yield scheme, frame.to_dict("records")


def print_analysis(result: AnalysisResult) -> None:
    """Snapshot, skipped schemes, excluded customers, warnings and one KPI table per scheme."""
    from segmint.cli_tables import Column, fitted_table

    from segmint.segment.strategies import display_name
    from segmint.units import has_prices, measure_word, purchase_words

    console.print(f"snapshot date: {result.snapshot_date}  (recency counted in days before it)")
    kpis = result.kpis()
    priced = has_prices(result.transactions.mapping)  # a basket log's amounts count items: said so
    amount = f"revenue: {kpis['revenue']:,.2f}" if priced else f"items (no prices): {kpis['revenue']:,.0f}"
    many, one = purchase_words(result.frequency)  # no invoice column: visits (a customer's day), not orders
    what = "purchases" if many == "orders" else "customer-days"
    console.print(
        f"customers: {kpis['customers']:,}   {many}: {kpis['orders']:,.0f} ({what} with a positive net value)   "
        f"{amount}   {measure_word('average order value', priced).replace('order', one)}: {kpis['aov']:,.2f}",
        soft_wrap=True,
    )
    excluded = result.excluded_count()
    if excluded:
        console.print(
            f"[yellow]note:[/] {excluded:,} customer(s) whose purchases net to zero or less (returned in full, or "
            "only zero-value lines) are not in the segments; --out writes them to excluded_customers", soft_wrap=True,
        )
    for scheme, why in result.skipped.items():
        console.print(f"[yellow]skipped {scheme}:[/] {escape(why)}")
    summaries = dict(_summary_rows(result))
    shown = tuple(summaries)  # a name two printed schemes share is shown with its scheme
    word = lambda text: measure_word(text, priced)  # noqa: E731
    columns = (Column("segment", "left"), Column("customers"), Column("% customers", drop=4), Column(word("revenue")),
               Column(word("% revenue"), drop=5), Column("recency", drop=3), Column("frequency", drop=2),
               Column(word("AOV"), drop=1))  # fmt: skip
    amount = "{:,.2f}" if priced else "{:,.0f}"
    for scheme, rows in summaries.items():
        customers, revenue = sum(r["customers"] for r in rows), sum(r["revenue"] for r in rows)
        cells = [
            (escape(display_name(scheme, str(row["segment"]), shown)), f"{row['customers']:,}",
             share(row["customers"], customers), amount.format(row["revenue"]), share(row["revenue"], revenue),
             f"{row['mean_recency_days']:,.0f}", f"{row['mean_frequency']:.2f}", f"{row['aov']:,.2f}")
            for row in rows
        ]  # fmt: skip
        console.print(fitted_table(f"{scheme} segments", columns, cells, width=console.width,
                                   elsewhere="the summary tables --out writes have every column"))  # fmt: skip
    for line in result.notes():
        console.print(f"[yellow]note:[/] {escape(line)}", soft_wrap=True)
