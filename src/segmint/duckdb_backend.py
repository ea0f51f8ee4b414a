"""Ibis' DuckDB backend as segmint runs it: compiled SQL cached on disk, no pandas, pyarrow or unused SQL
compilers imported before a result needs them, DuckDB's default database used rather than a second one
started (start-up work a small ``analyze`` would otherwise pay)."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import ibis
from ibis.backends import BaseBackend

log = logging.getLogger(__name__)
_TEMPLATES_LOCK = threading.Lock()
_DEFAULT_DATABASE = threading.Lock()  # cursors of DuckDB's default database are made one at a time
# ``own_default_database`` was called: the next in-memory connection is made on DuckDB's default database
# ("free"); the spill folder of the one that was ("spill"), removed by ``release_default_database``
_DEFAULT_DATABASE_USE: dict[str, Any] = {}


def default_database_cursor() -> Any:
    """A new connection (cursor) to DuckDB's default in-memory database, which the duckdb package opens
    when imported (its DB-API type objects parse type names with it): its temporary tables, registered
    data and session settings are its own, and no database has to start (a database of its own costs
    about 60 million instructions, 13-15 ms)."""
    import duckdb

    with _DEFAULT_DATABASE:
        return duckdb.default_connection().cursor()


def own_default_database() -> None:
    """Let the next in-memory DuckDB connection ``engine.connect`` opens be on DuckDB's default database,
    its settings (memory limit, spill folder, threads) then set for that whole database.

    For a process that runs one job and owns DuckDB's default database (the ``segmint`` command on a
    small input), not a host process, whose default database is its user's.
    """
    _DEFAULT_DATABASE_USE["free"] = True


def on_default_database(config: dict[str, Any]) -> BaseBackend | None:
    """An Ibis DuckDB connection on DuckDB's default database with ``config`` (``duckdb.connect``'s
    settings), once after :func:`own_default_database`; None otherwise, or when that database cannot be used."""
    import duckdb

    from segmint.util import sql_string

    if not _DEFAULT_DATABASE_USE.pop("free", False):
        return None
    cursor = None
    try:
        cursor = default_database_cursor()
        for name, value in config.items():
            cursor.execute(f"SET GLOBAL {name} = {sql_string(str(value))}")
    except duckdb.Error:
        log.debug("DuckDB's default database cannot be used: a database of its own", exc_info=True)
        if cursor is not None:
            cursor.close()
        return None
    _DEFAULT_DATABASE_USE["spill"] = config.get("temp_directory")
    return duckdb_backend().from_connection(cursor)


def release_default_database() -> None:
    """Remove the spill folder of the connection made on DuckDB's default database: that database
    outlives the connection (DuckDB removes a database's spill folder when the database closes)."""
    spill = _DEFAULT_DATABASE_USE.pop("spill", None)
    if spill:
        import shutil

        shutil.rmtree(spill, ignore_errors=True)


def arrow_results_without_pandas() -> None:
    """Let Ibis return DuckDB results as Arrow without importing pandas (about 0.4 s of start-up).

    Ibis 12's ``ibis.backends.duckdb.converter`` defines its pandas converter next to the Arrow one
    and imports pandas whenever pandas is installed, so the first ``to_pyarrow()`` loads pandas. The
    module is imported here with pandas hidden (Ibis then skips the pandas class, as it does when
    pandas is absent); the first caller that asks for the pandas class (``execute()``) gets the
    module re-run with pandas, so both kinds of result keep working.
    """
    import importlib
    import sys

    name, pandas_formats = "ibis.backends.duckdb.converter", "ibis.formats.pandas"
    if name in sys.modules or "pandas" in sys.modules:
        return
    sys.modules[pandas_formats] = None  # type: ignore[assignment]  # import raises ModuleNotFoundError
    try:
        converter = importlib.import_module(name)
    except Exception:  # another Ibis layout: no shortcut, pandas simply loads when Ibis wants it
        log.debug("Ibis' DuckDB converter could not be imported without pandas", exc_info=True)
        sys.modules.pop(name, None)
        return
    finally:
        sys.modules.pop(pandas_formats, None)

    def pandas_converter(attribute: str) -> Any:
        if attribute != "DuckDBPandasData":
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        importlib.reload(converter)  # pandas visible now: defines DuckDBPandasData
        return converter.DuckDBPandasData

    converter.__getattr__ = pandas_converter  # type: ignore[attr-defined]


def lazy_sql_compilers() -> None:
    """Import Ibis' SQL compilers one by one, when first used (about 0.1 s of start-up).

    Ibis 12's ``ibis.backends.sql.compilers`` package imports all twenty compilers, and with them
    the sqlglot dialects of Athena, BigQuery, Snowflake, Trino... on first use of any backend. The
    package is registered unexecuted, with a module ``__getattr__`` importing the compiler asked
    for (``sc.duckdb``, ``sc.PostgresCompiler``), which is all Ibis reads from it.
    """
    import importlib
    import importlib.util
    import sys

    name = "ibis.backends.sql.compilers"
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.submodule_search_locations is None:
        return
    package = importlib.util.module_from_spec(spec)

    def compiler(attribute: str) -> Any:
        module = attribute[: -len("Compiler")].lower() if attribute.endswith("Compiler") else attribute
        try:
            found = importlib.import_module(f"{name}.{module}")
        except ModuleNotFoundError as exc:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from exc
        return getattr(found, attribute) if attribute.endswith("Compiler") else found

    package.__getattr__ = compiler  # type: ignore[attr-defined]
    sys.modules[name] = package


def lazy_dialect_templates() -> None:
    """Let sqlglot's DuckDB dialect parse its SQL templates when first used, not on import (about 40 ms).

    sqlglot's DuckDB generator parses a dozen SQL templates in its class body, for functions it
    transpiles from other dialects (Snowflake's ZIPF, MINHASH, RANDSTR ...; one of them 25 ms); Ibis
    never writes those, and a run whose SQL is cached compiles nothing. While the module is imported,
    ``maybe_parse`` called from one of its class bodies returns a placeholder that becomes, as a class
    attribute, the template parsed when first read. Should a placeholder end up anywhere else, the
    module is imported again as it is.
    """
    import sys

    name = "sqlglot.dialects.duckdb"
    with _TEMPLATES_LOCK:  # connections opened at once by two threads (the dashboard): one import, one patch
        if name not in sys.modules:
            _import_with_deferred_templates(name)


def _import_with_deferred_templates(name: str) -> None:
    import importlib
    import inspect
    import sys

    import sqlglot.expressions as exp

    parse = exp.maybe_parse
    placed: list[_Template] = []

    def deferred(sql: Any, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1)
        in_class_body = caller.f_code.co_name != "<module>" and not caller.f_code.co_flags & inspect.CO_OPTIMIZED
        if not (isinstance(sql, str) and in_class_body and caller.f_globals.get("__name__") == name):
            return parse(sql, *args, **kwargs)
        placed.append(_Template(parse, sql, args, kwargs))
        return placed[-1]

    exp.maybe_parse = deferred  # type: ignore[assignment]
    try:
        importlib.import_module(name)
        complete = all(template.owner is not None for template in placed)
    except Exception:
        log.debug("sqlglot's DuckDB dialect could not be imported with its templates deferred", exc_info=True)
        complete = False
    finally:
        exp.maybe_parse = parse
    if not complete:  # another sqlglot layout: the module as it is
        sys.modules.pop(name, None)
        importlib.import_module(name)


class _Template:
    """A class attribute holding a SQL template, parsed when first read (see :func:`lazy_dialect_templates`)."""

    def __init__(self, parse: Callable[..., Any], sql: str, args: tuple, kwargs: dict[str, Any]) -> None:
        self.parse, self.sql, self.args, self.kwargs = parse, sql, args, kwargs
        self.owner: type | None = None
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.owner, self.name = owner, name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        parsed = self.parse(self.sql, *self.args, **self.kwargs)
        setattr(self.owner, self.name, parsed)  # parsed once: later reads find the expression itself
        return parsed


@functools.cache
def _hooked_nodes() -> tuple[type, ...]:
    """The nodes Ibis 12's DuckDB pre-execute hooks act on (besides tables read from record batch readers)."""
    import ibis.expr.operations as ops

    return (ops.InMemoryTable, ops.ScalarUDF, ops.GeoSpatialUnOp, ops.GeoSpatialBinOp)


@functools.cache
def _parsed_type(mapper: Any, text: str, nullable: bool) -> Any:
    """``mapper.from_string(text, nullable=nullable)``, once per type text (an Ibis dtype is immutable)."""
    return mapper.from_string(text, nullable=nullable)


@functools.cache
def duckdb_backend() -> type[BaseBackend]:
    """Ibis' DuckDB backend, compiling through :mod:`segmint.sql_cache` (the same SQL, kept for the next run).

    The class itself: ``ibis.duckdb`` first looks the backend up among the entry points of every
    installed package (a few ms at each start).
    """
    from ibis.backends.duckdb import Backend

    class DuckDBBackend(Backend):
        def _run_pre_execute_hooks(self, expr: Any) -> None:
            # Ibis' hooks walk the whole expression four times before every query (Arrow record batch
            # readers, spatial functions, Python UDFs, in-memory tables); one walk tells whether any of
            # them has something to do (the retail log's 30 queries: 13 -> 4 ms)
            if self._record_batch_readers_consumed or expr.op().find(_hooked_nodes()):
                super()._run_pre_execute_hooks(expr)

        def to_pyarrow(self, expr: Any, /, **kwargs: Any) -> Any:
            # the converter module (pyarrow, numpy: about a tenth of a small ``analyze``) loads at the
            # first Arrow result, not at connect: a CSV export and the CLI's results need none
            arrow_results_without_pandas()
            return super().to_pyarrow(expr, **kwargs)

        def get_schema(self, table_name: str, *, catalog: str | None = None, database: str | None = None) -> Any:
            # Ibis' own, with DESCRIBE's rows from the cursor instead of an Arrow table (no pyarrow)
            # and each column type parsed once per process (sqlglot parses a type text anew at every call)
            import duckdb
            import ibis.common.exceptions as exc

            from segmint.util import sql_identifier

            if catalog is None and database is None:  # a session's own table or view, named alone
                describe = f"DESCRIBE {sql_identifier(table_name)}"
            else:
                import sqlglot as sg
                import sqlglot.expressions as sge

                table = sg.table(table_name, db=database, catalog=catalog, quoted=self.compiler.quoted)
                describe = sge.Describe(this=table).sql(self.dialect)
            try:
                described = self.con.sql(describe)
            except duckdb.CatalogException:
                raise exc.TableNotFound(table_name) from None
            position = {column: i for i, column in enumerate(described.columns)}
            name, kind, null = position["column_name"], position["column_type"], position["null"]
            mapper = self.compiler.type_mapper
            return ibis.Schema({row[name]: _parsed_type(mapper, row[kind], row[null] == "YES") for row in described.fetchall()})

        def compile(self, expr: Any, /, *, limit: Any = None, params: Any = None, pretty: bool = False) -> str:
            if params or pretty:
                return super().compile(expr, limit=limit, params=params, pretty=pretty)
            from segmint.sql_cache import compile_cached

            return compile_cached(self, expr, lambda: super(DuckDBBackend, self).compile(expr, limit=limit), limit)

    DuckDBBackend.__module__, DuckDBBackend.__qualname__ = __name__, "DuckDBBackend"
    return DuckDBBackend
