"""segmint command line: a thin shell over the library (parse args, call, print).

This module builds the Typer app and is the ``segmint`` entry point (``main``). Each command lives in a
module of its concern (``COMMANDS``) and parses, calls ``segmint.api`` and prints; shared options and
their parse-time checks live in ``cli_options``, printing (errors with their fix as flags, progress,
tables) in ``cli_output``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from segmint import __version__
from segmint.cli_options import _PROCESS, load_mapping, parse_map_options, read_input
from segmint.cli_output import SegmintCommand, SegmintGroup, console, err_console, fail, note

if TYPE_CHECKING:
    from typer.models import CommandInfo

__all__ = ["app", "console", "err_console", "fail", "load_mapping", "main", "note", "parse_map_options", "read_input"]

# command -> the module defining it (a function of that name), in the order `segmint --help` lists them
COMMANDS = {
    "ingest": "segmint.cli_workspace",
    "analyze": "segmint.cli_analyze",
    "story": "segmint.cli_story",
    "report": "segmint.cli_analyze",
    "credit": "segmint.cli_credit",
    "watch": "segmint.cli_workspace",
    "recommend": "segmint.cli_recommend",
    "crm": "segmint.cli_analyze",
    "clv": "segmint.cli_clv",
    "dashboard": "segmint.cli_dashboard",
    "demo": "segmint.cli_dashboard",
}


class _Segmint(typer.Typer):
    """The app; called bare by a ``segmint`` script installed before ``main`` became the entry point,
    it runs ``main``. Its commands are ``SegmintCommand``s: a library error in any of them is one clear
    screen. They are imported when the app is first built (``--help``, a test's runner), or only the
    one ``main`` runs (``only``)."""

    _pending: tuple[str, ...] = ()  # commands of COMMANDS not imported and registered yet

    @property
    def registered_commands(self) -> list[CommandInfo]:  # type: ignore[override]
        if self._pending:
            import importlib

            pending, self._pending = self._pending, ()  # ``command`` below appends to this list
            for name in pending:
                self.command()(getattr(importlib.import_module(COMMANDS[name]), name))
        return self._registered

    @registered_commands.setter
    def registered_commands(self, commands: list[CommandInfo]) -> None:
        self._registered = commands

    def only(self, name: str) -> None:
        """Keep command ``name`` alone: the others' modules are not imported nor their parameters built."""
        from typer.main import get_command_name

        if name in self._pending:
            self._pending = (name,)
        self.registered_commands = [
            c for c in self.registered_commands if (c.name or get_command_name(c.callback.__name__)) == name
        ]

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
app._pending = tuple(COMMANDS)


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


class _CoercedWhenNeeded:
    """A parameter's coercion that builds its pydantic adapter only for a value that needs one: Typer
    coerces a missing value (None) to None, or () for a multi-value parameter, and a plain ``str``
    option's text to the same text (its adapter's ``str(value)``)."""

    __slots__ = ("_build",)

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        multiple = param.multiple or param.nargs == -1
        if value is None:
            return () if multiple else None
        info = param.type_descriptor.parameter_info
        if (type(value) is str and param.type_descriptor.annotation is str and not multiple and info.parser is None
                and getattr(info, "click_type", None) is None):  # fmt: skip
            return value
        return self._build().coerce(value, param=param, ctx=ctx)


def _adapters_for_given_values_only() -> None:
    """Typer 0.29 builds a pydantic TypeAdapter for every parameter of the command it runs (``analyze``
    has 22: about 0.04 CPU s), also for the options not given and plain text, whose coercion needs
    none; build them only for the values that need them (a path, a list, a number)."""
    try:
        from typer.core import _TyperParameter
    except ImportError:  # another Typer: its own way
        return
    built = getattr(_TyperParameter, "get_runtime_param", None)
    if built is None or getattr(built, "_segmint", False):
        return

    def get_runtime_param(self: Any) -> Any:
        if getattr(self, "_runtime_param", None) is not None:
            return self._runtime_param
        return _CoercedWhenNeeded(lambda: built(self))

    get_runtime_param._segmint = True  # type: ignore[attr-defined]
    _TyperParameter.get_runtime_param = get_runtime_param  # type: ignore[method-assign]


_adapters_for_given_values_only()


def _show_version(value: bool) -> None:
    if value:
        console.print(f"segmint {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Turn raw sales records into customer segments you can act on."""


def _only_the_command_given(args: list[str]) -> None:
    """Keep only the command named first on the command line in ``app`` (this process runs no other).

    Typer builds every command's parameters before parsing (about 25 ms for a dozen commands), and the
    other commands' modules need not be imported; anything else (``--help``, ``--version``, a typo
    Typer suggests a command for) keeps them all.
    """
    if args and args[0] in COMMANDS:
        app.only(args[0])


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
