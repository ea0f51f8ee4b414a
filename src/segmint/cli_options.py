"""Options shared by the CLI's commands, checked when the command line is parsed (before any data is read).

A command declares ``scheme: str = SchemeOption`` and gets the same flag, help and validation as every
other command; an invalid value stops with Typer's usage error (exit 2) in milliseconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from segmint.segment import (
    scheme_names,  # the registry only: scheme modules load on first use
)

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

    from segmint.api import Transactions
    from segmint.clean import CleanOptions
    from segmint.schema import ColumnMapping


def choice(*values: str) -> Callable[[str | None], str | None]:
    """Parse-time check that an option is one of ``values``."""

    def check(value: str | None) -> str | None:
        if value is not None and value not in values:
            raise typer.BadParameter(f"{value!r}; choose {', '.join(map(repr, values[:-1]))} or {values[-1]!r}")
        return value

    return check


def check_date(value: str | None) -> str | None:
    """Parse-time check of a YYYY-MM-DD date."""
    if value is None:
        return None
    try:
        dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not a date: {exc}; use YYYY-MM-DD, e.g. 2024-01-31") from None
    return value.strip()


def check_scheme(value: str) -> str:
    """Parse-time check of ``--scheme``: ``all``, a registered scheme, or several separated by commas."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in scheme_names() and name != "all"]
    if unknown or not names:
        raise typer.BadParameter(f"unknown scheme {', '.join(unknown) or value!r}; choose {', '.join(scheme_names())} or all")
    return value


def check_story_scheme(value: str) -> str:
    """Parse-time check of a one-scheme ``--scheme`` that also takes ``value`` (story, recommend)."""
    if value != "value" and value not in scheme_names():
        raise typer.BadParameter(f"unknown scheme {value!r}; choose {', '.join(dict.fromkeys(('value', *scheme_names())))}")
    return value


def check_one_scheme(value: str) -> str:
    """Parse-time check of a one-scheme ``--scheme`` (a registered scheme)."""
    if value not in scheme_names():
        raise typer.BadParameter(f"unknown scheme {value!r}; choose {', '.join(scheme_names())}")
    return value


def check_format(value: str) -> str:
    """Parse-time check of ``--format`` (csv, json, xlsx or parquet)."""
    from segmint.errors import ConfigError
    from segmint.util import check_export_format

    try:
        return check_export_format(value)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


PERIODS = ("quarter", "month", "year")

InputsArgument = typer.Argument(
    None, metavar="FILES", help="Sales files, directories, globs or a workspace .duckdb.", show_default=False
)
MapOption = typer.Option(None, "--map", help='Override one column: "SOURCE COLUMN=field". Repeatable.')
MappingFileOption = typer.Option(None, "--mapping", help="YAML file with a column mapping (fields: ...).")
SourceOption = typer.Option(
    None, "--source", help="Read a database table instead: postgresql://user@host/db?table=sales (work runs there), "
    "sqlite:///shop.db?table=sales or duckdb:///shop.duckdb?table=sales.",
)
EngineOption = typer.Option(
    "duckdb", "--engine", callback=choice("duckdb", "spark"), help="duckdb (embedded, default) or spark."
)
MasterOption = typer.Option(
    None, "--master", help="Spark master: local[*] (default), spark://host:7077 or Spark Connect sc://host:15002."
)
SCHEMES = ", ".join(scheme_names())  # help texts name the registered schemes (segmint.segment)
SchemeOption = typer.Option(
    "all", "--scheme", "-s", callback=check_scheme, help=f"{SCHEMES}, several with commas, or all."
)
StorySchemeOption = typer.Option(
    "value", "--scheme", "-s", callback=check_story_scheme, help=f"Segments per period: {SCHEMES}."
)
OneSchemeOption = typer.Option("rfm", "--scheme", "-s", callback=check_one_scheme, help=f"One of {SCHEMES}.")
SnapshotOption = typer.Option(
    None, "--snapshot", callback=check_date, help="Date recency is measured from (YYYY-MM-DD)."
)
FromOption = typer.Option(None, "--from", callback=check_date, help="First day to include (YYYY-MM-DD).")
ToOption = typer.Option(None, "--to", callback=check_date, help="Last day to include (YYYY-MM-DD).")
OrgOption = typer.Option(None, "--org", help="Only this organisation id.")
CountryOption = typer.Option(None, "--country", help="Only lines from this country. Repeatable.")
FormatOption = typer.Option("csv", "--format", callback=check_format, help="Table format for --out: csv, json, xlsx or parquet.")
ConfigOption = typer.Option(
    None, "--config", help=f"YAML with one section per scheme ({', '.join(n + ':' for n in scheme_names())})."
)
FrequencyOption = typer.Option(
    "auto", "--frequency", callback=choice("auto", "invoices", "days"),
    help="Count purchases as invoices or days (auto: days when there is no invoice column).",
)
KeepDuplicatesOption = typer.Option(
    False, "--keep-duplicates",
    help="Keep lines that exactly repeat an earlier line (by default they are dropped when there is an invoice column).",
)  # fmt: skip
UnpricedOption = typer.Option(
    "error", "--unpriced", callback=choice("error", "units"),
    help="A file with no amount or price column (a basket log): units values each line at its quantity, so money figures count items; error (default) asks for the column.",
)  # fmt: skip
PeriodOption = typer.Option("quarter", "--period", "-p", callback=choice(*PERIODS), help="quarter, month or year.")
AsProductOption = typer.Option(
    None, "--as-product", metavar="ITEM",
    help="An item (code or name) that is a product even if it looks like postage or a fee. Repeatable.",
)
AsServiceOption = typer.Option(
    None, "--as-service", metavar="ITEM",
    help="An item (code or name) that is no product (postage, fees ...): kept for sales, left out of product counts and recommendations. Repeatable.",
)  # fmt: skip


def clean_options(keep_duplicates: bool = False, unpriced: str = "error") -> CleanOptions | None:
    """Cleaning options from CLI flags (None = the library's defaults)."""
    if not keep_duplicates and unpriced == "error":
        return None
    from segmint.clean_options import CleanOptions

    return CleanOptions(drop_duplicates=False if keep_duplicates else None, unpriced=unpriced)


def schemes_of(value: str) -> str | list[str]:
    """``--scheme`` text as ``analyze`` takes it: "all", one name or a list."""
    names = [name.strip() for name in value.split(",") if name.strip()]
    return names[0] if len(names) == 1 else names


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


def read_sales(inputs: list[str] | None, map_: list[str] | None, mapping_file: Path | None, **kwargs: object) -> Transactions:
    """``read_input`` with the mapping the ``--mapping`` file and ``--map`` options give."""
    return read_input(inputs, mapping=load_mapping(mapping_file, map_), **kwargs)  # type: ignore[arg-type]


_PROCESS = {"command": False}  # set by ``cli.main``: this process runs the segmint command (and nothing else)


def unfused_sql() -> None:
    """Compile Ibis expressions without merging nested SELECTs (in the ``segmint`` command's process).

    Merging a select into the one it reads from is most of Ibis' compile time for segmint's long
    expressions (RFM's rule table: 44 -> 25 ms), and every engine segmint runs on (DuckDB, Spark,
    PostgreSQL) flattens nested selects in its own optimiser: same results (CDNOW, the retail log,
    1e6 and 1e7 lines checked byte for byte), about 0.15 CPU s less per ``analyze``. Only for inputs
    known small (``io.size.small_input``): at 1e7 lines the CPU was the same and DuckDB's peak memory
    about 60 MB higher unfused.
    """
    import ibis

    ibis.options.sql.fuse_selects = False


def read_input(
    inputs: list[str] | None,
    *,
    mapping: ColumnMapping | None = None,
    con: BaseBackend | None = None,
    options: CleanOptions | None = None,
    source: str | None = None,
    engine: str = "duckdb",
    master: str | None = None,
) -> Transactions:
    """Read files, one workspace .duckdb file or a database table into cleaned canonical transactions.

    ``engine="spark"`` runs reading, cleaning and everything after it on Spark (``master`` selects
    the cluster); a ``source`` database URL keeps the work inside that database.
    """
    from segmint.api import read_transactions
    from segmint.io.size import small_input
    from segmint.engine import connect
    from segmint.errors import ConfigError

    items = [*(inputs or []), *([source] if source else [])]
    if _PROCESS["command"] and small_input(items):  # process-wide choices: not in a host process (tests, notebooks)
        from segmint.duckdb_backend import own_default_database

        unfused_sql()
        own_default_database()
    if not items:
        raise ConfigError("give sales files, a workspace .duckdb or --source postgresql://.../db?table=NAME")
    if engine not in ("duckdb", "spark"):
        raise ConfigError(f"--engine {engine!r}: choose duckdb or spark")
    if engine == "spark" and con is None:
        con = connect("spark", master=master)
    return read_transactions(items[0] if len(items) == 1 else items, mapping=mapping, options=options, con=con)
