"""Backend connections: DuckDB by default, Spark and PostgreSQL (segmint.remote), and the table helpers
every engine shares (the workspace file is segmint.workspace)."""

from __future__ import annotations

import functools
import itertools
import logging
import os
import re
import tempfile
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import Any
from uuid import uuid4

import ibis
import ibis.expr.operations as ops
from ibis.backends import BaseBackend

from segmint.errors import BackendError
from segmint.util import sql_identifier

log = logging.getLogger(__name__)

BACKENDS = ("duckdb", "spark", "postgres")
# DuckDB draws a progress bar on the terminal for long queries; the library never prints.
QUIET_DUCKDB_SQL = "SET enable_progress_bar = false"


# DuckDB connections opened here and still alive (weak: closing and dropping them is their owner's job);
# ``close_connections`` closes them before the CLI leaves without tearing the interpreter down
_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()


def raw_duckdb() -> Any:
    """A private in-memory DuckDB connection (no Ibis) for readers' sniffing and scans.

    A cursor of DuckDB's default in-memory database, which the duckdb package opens when imported (its
    DB-API type objects parse type names with it): a cursor is a connection of its own (its temporary
    tables, registered data and settings are its own) without a database to start, which took 13-15 ms
    for each private connection (the Parquet size check of every small ``analyze``).
    """
    import duckdb

    from segmint.duckdb_backend import default_database_cursor

    try:
        connection = default_database_cursor()
    except duckdb.Error:  # the default database cannot be used: a database of its own
        connection = duckdb.connect()
    connection.execute(QUIET_DUCKDB_SQL)
    _OPEN.add(connection)
    return connection


def close_connections() -> None:
    """Close every DuckDB connection opened here that is still open (a file database is checkpointed,
    a spill folder removed, as when the connection is garbage-collected)."""
    for connection in list(_OPEN):
        try:
            (connection.disconnect if isinstance(connection, BaseBackend) else connection.close)()
        except Exception:  # already closed, or closing failed: nothing more to do at exit
            log.debug("closing a DuckDB connection at exit failed", exc_info=True)
    _OPEN.clear()
    from segmint.duckdb_backend import release_default_database

    release_default_database()


_SESSION_NAMES = itertools.count(1)


def session_name(prefix: str = "segmint") -> str:
    """A name for a DuckDB temporary table or view, unique in this process and the same at every run.

    Temporary objects live in their connection only, so a process-wide sequence cannot collide; the
    same names run after run let :mod:`segmint.sql_cache` find the SQL of queries that name them.
    (Objects other processes may see, in Spark or PostgreSQL, keep random names.)
    """
    return f"{prefix}_{next(_SESSION_NAMES)}"


def quiet_duckdb(con: BaseBackend) -> BaseBackend:
    """Turn off DuckDB's terminal progress bar on an Ibis DuckDB connection; returns ``con``."""
    con.raw_sql(QUIET_DUCKDB_SQL)
    return con


def connect(
    backend: str = "duckdb",
    *,
    path: str | Path | None = None,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
    master: str | None = None,
    url: str | None = None,
    spark_config: dict[str, str] | None = None,
) -> BaseBackend:
    """Open an Ibis connection: in-memory DuckDB unless ``path``/``backend`` say otherwise.

    DuckDB spills to a private folder inside ``temp_directory`` (default ``$SEGMINT_TEMP_DIR`` or ``<tmp>/segmint-spill``) when
    work exceeds ``memory_limit`` (default :func:`default_memory_limit`: ``$SEGMINT_MEMORY_LIMIT`` or
    half of the machine's RAM), so data larger than memory still completes. ``master`` selects the Spark master (``local[*]`` default) or
    a Spark Connect URL (``sc://host:15002``), ``spark_config`` overrides Spark settings;
    ``url`` is a PostgreSQL URL.
    """
    if backend == "duckdb":
        config: dict[str, Any] = {"memory_limit": memory_limit or default_memory_limit()}
        if threads:
            config["threads"] = threads
        config["temp_directory"] = str(private_spill_dir(spill_root(temp_directory)))
        database = str(path) if path else ":memory:"
        from segmint.duckdb_backend import duckdb_backend, lazy_dialect_templates, lazy_sql_compilers, on_default_database

        lazy_sql_compilers()  # before the DuckDB backend's first import
        lazy_dialect_templates()
        try:
            shared = None if path else on_default_database(config)  # see duckdb_backend.own_default_database
            con = quiet_duckdb(duckdb_backend()().connect(database, **config) if shared is None else shared)
        except Exception as exc:  # duckdb raises its own IOException types
            raise BackendError(f"cannot open DuckDB database {database!r}: {exc}") from exc
        _OPEN.add(con)
        return con
    if backend == "spark":
        master = master or os.environ.get("SEGMINT_SPARK_MASTER", "local[*]")
        from segmint.remote import connect_spark

        return connect_spark(master, spark_config or {})
    if backend == "postgres":
        if not url:
            raise BackendError("the postgres backend needs a URL like postgresql://user@host/db")
        from segmint.remote import connect_postgres

        return connect_postgres(url)
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


MEMORY_FRACTION = 0.5  # DuckDB's default memory limit: this share of physical RAM ...
MEMORY_CAP_MB = 1536  # ... but at most this: 1e7 lines then peak at 1.9 GiB RSS (7.8 GiB uncapped)


def default_memory_limit() -> str:
    """``$SEGMINT_MEMORY_LIMIT`` (e.g. ``8GB``) or half of physical RAM up to 1.5 GB, in DuckDB's notation.

    Beyond the limit DuckDB spills to its temp directory: 1e7 lines took about a third more CPU at
    1.5 GB than with 12 GB, for a quarter of the memory. Raise it for speed on a big machine.
    """
    configured = os.environ.get("SEGMINT_MEMORY_LIMIT", "").strip()
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not on every platform
        return f"{MEMORY_CAP_MB}MB"
    return f"{max(256, min(MEMORY_CAP_MB, int(total * MEMORY_FRACTION / 2**20)))}MB"


def backend_name(con: BaseBackend) -> str:
    """Short name of the backend behind ``con`` (``duckdb``, ``pyspark``, ``postgres``)."""
    return con.name


_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def memory_limit_bytes(con: BaseBackend) -> int | None:
    """DuckDB's current memory limit in bytes (None on other engines or when it cannot be read)."""
    if con.name != "duckdb":
        return None
    try:
        text = con.con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    except Exception:  # an old DuckDB without the setting: no limit known
        return None
    match = re.fullmatch(r"\s*([\d.]+)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        return None
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def materialize(con: BaseBackend, expr: ibis.Table, name: str | None = None) -> ibis.Table:
    """Compute ``expr`` once into a temporary table so later queries do not recompute it."""
    # A fresh unique name needs no overwrite: Ibis implements overwrite of a temporary table as
    # create + insert + a second full copy under the final name, which doubled the cost of every
    # materialised table.
    overwrite = name is not None
    duckdb = con.name == "duckdb"
    name = name or (session_name() if duckdb else f"segmint_{uuid4().hex[:12]}")
    try:
        if duckdb and not overwrite:
            stored = _stored_in_order(expr)
            return stored if stored is not None else _duckdb_temp_table(con, expr, name)
        if con.name in ("duckdb", "postgres"):  # session-temporary: nothing left in the user's database
            return con.create_table(name, expr, temp=True, overwrite=overwrite)
        return con.create_table(name, expr, overwrite=True)  # Spark: in segmint's temporary warehouse
    except Exception as exc:
        error = out_of_memory_error(exc, con)
        if error is None:
            raise
        raise error from exc


# rows of each temporary table ``materialize`` filled on DuckDB (its unique name -> count): the
# tables are written once, so a later count of one needs no query (see ``row_count``); a long-lived
# process (the dashboard) keeps only the latest ones: a forgotten count costs one count query
_ROWS: OrderedDict[str, int] = OrderedDict()
_ROWS_KEPT = 4096


# the key columns a temporary table :func:`arrow_table` filled is stored in, ascending (its unique name -> keys):
# materialising the table sorted by them again is the table itself
_ORDERED: OrderedDict[str, tuple[str, ...]] = OrderedDict()


def _remember(known: OrderedDict, name: str, value: Any) -> None:
    """``known[name] = value``, the oldest entries forgotten past ``_ROWS_KEPT`` (``_ROWS``, ``_ORDERED``)."""
    known[name] = value
    while len(known) > _ROWS_KEPT:
        known.popitem(last=False)


def _stored_in_order(expr: ibis.Table) -> ibis.Table | None:
    """The table ``expr`` sorts when it is a DuckDB table stored in that order (``arrow_table(order_by=)``),
    else None: a copy of it in the same order would be the same rows in the same order."""
    op = expr.op()
    if not isinstance(op, ops.Sort) or not isinstance(op.parent, ops.DatabaseTable):
        return None
    keys = []
    for key in op.keys:
        if not key.ascending or key.nulls_first or not isinstance(key.arg, ops.Field):
            return None
        keys.append(key.arg.name)
    return op.parent.to_expr() if _ORDERED.get(op.parent.name) == tuple(keys) else None


def row_count(table: ibis.Table) -> int:
    """The number of rows of ``table``: known without a query for a table :func:`materialize` made on
    DuckDB (the insert reported it), one count query otherwise."""
    known = known_row_count(table)
    if known is not None:
        return known
    return int(table.count().to_pyarrow().as_py())


def known_row_count(table: ibis.Table) -> int | None:
    """:func:`row_count` when it needs no query (a table :func:`materialize` made on DuckDB), else None."""
    op = table.op()
    # one look-up: between a membership test and a read, another thread's materialize may evict the entry
    return _ROWS.get(op.name) if isinstance(op, ops.DatabaseTable) else None


def set_where_in(con: BaseBackend, table: ibis.Table, keys: ibis.Table, values: dict[str, str]) -> bool:
    """Set ``values`` (column -> text) in place in the rows of ``table`` whose ``keys.columns``
    equal a row of ``keys`` (no NULL keys); True when done. Only a DuckDB temporary table :func:`materialize` made is
    changed (its rows counted when filled stay right); otherwise False, and the caller derives the
    change instead (e.g. a join): a table on another engine may be shared or not writable.

    A change of a few rows of a stored table spares every later query that reads it the join that
    would derive it (the retail log's duplicates: 3,595 of 541,909 lines, read by five queries).
    """
    op = table.op()
    if con.name != "duckdb" or not isinstance(op, ops.DatabaseTable) or op.name not in _ROWS:
        return False
    namespace = op.namespace
    if namespace is None or (namespace.catalog, namespace.database) != ("temp", "main"):
        return False
    from segmint.util import sql_identifier, sql_string

    con._run_pre_execute_hooks(keys)  # registers in-memory tables (pandas/Arrow) the query names
    assignments = ", ".join(f"{sql_identifier(c)} = {sql_string(v)}" for c, v in values.items())
    columns = ", ".join(sql_identifier(c) for c in keys.columns)
    # the keys as an IN list and the values as literals: as a join (UPDATE ... FROM) or with the value
    # a parameter, DuckDB took 0.16-0.33 s where this takes 0.01 (the retail log's duplicates)
    sql = (f"UPDATE temp.main.{sql_identifier(op.name)} SET {assignments} "
           f"WHERE ({columns}) IN (SELECT {columns} FROM ({con.compile(keys)}))")  # fmt: skip
    con.con.execute(sql)
    return True


def _duckdb_temp_table(con: BaseBackend, expr: ibis.Table, name: str) -> ibis.Table:
    """``con.create_table(name, expr, temp=True)`` without its three look-ups.

    Ibis asks DuckDB for the current catalog and schema (unused for a temporary table) and, once the
    table is filled, for its columns, which ``expr`` already knows: three queries of the ~15 a small
    ``analyze`` materialises, about 6 ms each. The table is declared and filled as Ibis does it.
    """
    con._run_pre_execute_hooks(expr)  # registers in-memory tables (pandas/Arrow) the query names
    return _declared_temp_table(con, name, expr.schema(), con.compile(expr))


def _declared_temp_table(con: BaseBackend, name: str, schema: ibis.Schema, select: str) -> ibis.Table:
    """A DuckDB temporary table declared with ``schema``'s columns and filled by the query ``select``,
    as an Ibis table that knows its schema (no look-up of the columns it was just given)."""
    table = sql_identifier(name)
    columns = ", ".join(f"{sql_identifier(column)} {_column_type(con.dialect, dtype)}" for column, dtype in schema.items())
    con.con.execute(f"CREATE TEMPORARY TABLE {table} ({columns})")
    names = ", ".join(sql_identifier(column) for column in schema.names)
    ((inserted,),) = con.con.execute(f"INSERT INTO {table} ({names}) {select}").fetchall()
    _remember(_ROWS, name, int(inserted))  # DuckDB reports the rows an INSERT wrote: counting them is free
    return ops.DatabaseTable(
        name, schema=schema, source=con, namespace=ops.Namespace(catalog="temp", database="main")
    ).to_expr()


@functools.cache
def _column_type(dialect: Any, dtype: ibis.DataType) -> str:
    """A column's SQL type as Ibis declares it (with NOT NULL when ``dtype`` is not nullable), rendered
    once per type: sqlglot rendered every column of every table anew (about 0.2 ms a column)."""
    (column,) = ibis.Schema({"_": dtype}).to_sqlglot_column_defs(dialect)
    return column.sql(dialect).removeprefix('"_" ')


def arrow_table(con: BaseBackend, data: Any, order_by: tuple[str, ...] = ()) -> ibis.Table:
    """An Arrow table (``pyarrow.Table``) as a session-temporary table of ``con``, its rows sorted by the
    ``order_by`` columns (ascending, NULLs last) when given.

    Ibis' memtable and DuckDB's scans of Python objects (register, from_arrow) import pandas to see
    what they were given, about 0.3 CPU s of a small ``analyze``; on DuckDB the rows go through a
    temporary Parquet file instead (pyarrow writes it, DuckDB reads it natively: a few ms for the
    customer tables the schemes label in Python), into a table declared with the Arrow table's types.
    A table stored sorted is remembered, so :func:`materialize` of it sorted the same way is the table
    (``analyze`` stores every labelled table by ``customer_id``: clusters and value copied theirs again).
    """
    if con.name != "duckdb":
        table = materialize(con, ibis.memtable(data))
        return table.order_by(list(order_by)) if order_by else table
    import pyarrow.parquet as pq

    from segmint.util import sql_string

    schema = ibis.Schema.from_pyarrow(data.schema)
    names = ", ".join(sql_identifier(column) for column in schema.names)
    path = spool_file(con)
    try:
        pq.write_table(data, path)
        select = f"SELECT {names} FROM read_parquet({sql_string(str(path))})"
        if order_by:
            select += " ORDER BY " + ", ".join(f"{sql_identifier(column)} ASC NULLS LAST" for column in order_by)
        name = session_name()
        table = _declared_temp_table(con, name, schema, select)
        if order_by:
            _remember(_ORDERED, name, tuple(order_by))
        return table
    finally:
        _remove_quietly(str(path))


def out_of_memory_error(exc: BaseException, con: BaseBackend | None = None) -> BackendError | None:
    """A BackendError naming ``SEGMINT_MEMORY_LIMIT`` when ``exc`` is DuckDB running out of memory, else None.

    E.g. the story of 1.2M customers x 12 quarters at the 1.5 GB default: one clear error, no traceback.
    No Fix: no api parameter or CLI flag sets the limit, the environment does.
    """
    if type(exc).__name__ != "OutOfMemoryException":  # duckdb's, without importing it for other engines
        return None
    limit = memory_limit_bytes(con) if con is not None else None
    size = f"{limit / 1e9:.1f} GB" if limit else default_memory_limit()  # a query's result: no connection at hand
    return BackendError(
        f"DuckDB ran out of memory ({size}): give it more with the environment variable SEGMINT_MEMORY_LIMIT "
        "(e.g. 8GB, below the free memory of this machine), or narrow the data (dates, countries, "
        "organisations)",
        field="memory_limit", value=size,
    )


def temp_view(con: BaseBackend, expr: ibis.Table) -> ibis.Table:
    """``expr`` as a session-temporary DuckDB view, for an expression later queries read several times.

    Ibis writes a subexpression that one query uses twice (features read the lines three times) as a
    CTE, which DuckDB materialises whole, every column of every line; a view is expanded where it is
    used, so each use reads only the columns it needs (1e7 lines: features 13 -> 9 CPU seconds).
    """
    name = session_name("segmint_v")
    hooks = getattr(con, "_run_pre_execute_hooks", None)
    if hooks is not None:  # registers in-memory tables (pandas/Arrow) the view's SQL names
        hooks(expr)
    con.con.execute(f'CREATE TEMP VIEW "{name}" AS {con.compile(expr)}')  # compiled as every query is
    return con.table(name)


def spool_file(con: BaseBackend, suffix: str = ".parquet") -> Path:
    """A fresh path for a temporary file that lives as long as ``con`` (removed when it is collected,
    or at exit), beside DuckDB's spill folders (:func:`spill_root`)."""
    path = private_spill_dir(spill_root()).with_suffix(suffix)
    weakref.finalize(con, _remove_quietly, str(path))
    return path


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # never written, or already gone
        pass


def spill_root(temp_directory: str | Path | None = None) -> Path:
    """Where DuckDB spills and segmint's temporary files go: ``temp_directory``, else
    ``$SEGMINT_TEMP_DIR``, else :func:`default_temp_dir`."""
    return Path(temp_directory or os.environ.get("SEGMINT_TEMP_DIR") or default_temp_dir())


def one_row_counts(table: ibis.Table) -> dict[str, int]:
    """The one row of an aggregate of counts as ``{name: int}`` (NULL and NaN count as 0)."""
    row = first_row(table)
    return {k: 0 if v is None or (isinstance(v, float) and v != v) else int(v) for k, v in row.items()}


def first_row(table: ibis.Table) -> dict[str, Any]:
    """The first row of ``table`` (an aggregate's one row) as ``{column: Python value}``.

    On DuckDB the row comes from the engine's cursor, each value as the expression's schema types it
    (an integer column as ``int``, a floating one as ``float``): no Arrow table in between. Ibis turns
    an aggregate's DuckDB integer sums (HUGEINT) into its int64 through ``pyarrow.compute``, whose
    import alone was about a twentieth of a small ``analyze``. Other engines: through Arrow.
    """
    from segmint.util import arrow_result

    con = table._find_backend(use_default=True)
    if getattr(con, "name", "") != "duckdb":
        return arrow_result(table).to_pylist()[0]
    schema = table.schema()
    con._run_pre_execute_hooks(table)  # registers in-memory tables (pandas/Arrow) the query names
    try:
        row = con.con.execute(con.compile(table)).fetchone()
    except Exception as exc:
        error = out_of_memory_error(exc, con)
        if error is None:
            raise
        raise error from exc
    if row is None:
        raise IndexError("the query returned no row")  # as indexing an empty result would
    values = dict(zip(schema.names, row, strict=True))
    for name, dtype in schema.items():
        value = values[name]
        if value is not None and dtype.is_integer():
            values[name] = int(value)
        elif value is not None and dtype.is_floating():
            values[name] = float(value)
    return values


def default_temp_dir() -> Path:
    """Directory DuckDB spills to when no temp directory is configured."""
    return Path(tempfile.gettempdir()) / "segmint-spill"


def private_spill_dir(parent: str | Path) -> Path:
    """A folder of its own inside ``parent`` for one connection's spill files.

    DuckDB creates its temp directory when it first spills and deletes it when the connection
    closes, so connections sharing one folder deleted each other's spill files mid-query (a second
    ``segmint`` process crashed with "Cannot open file ... duckdb_temp_storage"). ``parent`` is
    created here (DuckDB makes only the last level); the private folder is DuckDB's to create and
    remove.
    """
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    return parent / f"{os.getpid()}-{uuid4().hex[:8]}"


def __getattr__(name: str) -> Any:
    """``segmint.engine.Workspace`` moved to :mod:`segmint.workspace`; kept importable from here."""
    if name == "Workspace":
        from segmint.workspace import Workspace

        return Workspace
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
