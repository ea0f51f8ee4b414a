"""Backend connections: DuckDB by default, Spark, PostgreSQL (the workspace file is segmint.workspace)."""

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
    """A private in-memory DuckDB connection (no Ibis) for readers' sniffing and scans."""
    import duckdb

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


@functools.cache
def _duckdb_backend() -> type[BaseBackend]:
    """Ibis' DuckDB backend, compiling through :mod:`segmint.sql_cache` (the same SQL, kept for the next run).

    The class itself: ``ibis.duckdb`` first looks the backend up among the entry points of every
    installed package (a few ms at each start).
    """
    from ibis.backends.duckdb import Backend

    class DuckDBBackend(Backend):
        def to_pyarrow(self, expr: Any, /, **kwargs: Any) -> Any:
            # the converter module (pyarrow, numpy: about a tenth of a small ``analyze``) loads at the
            # first Arrow result, not at connect: a CSV export and the CLI's results need none
            arrow_results_without_pandas()
            return super().to_pyarrow(expr, **kwargs)

        def get_schema(self, table_name: str, *, catalog: str | None = None, database: str | None = None) -> Any:
            # Ibis' own, with DESCRIBE's rows from the cursor instead of an Arrow table (no pyarrow)
            import duckdb
            import ibis.common.exceptions as exc
            import sqlglot as sg
            import sqlglot.expressions as sge

            table = sg.table(table_name, db=database, catalog=catalog, quoted=self.compiler.quoted)
            try:
                described = self.con.sql(sge.Describe(this=table).sql(self.dialect))
            except duckdb.CatalogException:
                raise exc.TableNotFound(table_name) from None
            position = {column: i for i, column in enumerate(described.columns)}
            name, kind, null = position["column_name"], position["column_type"], position["null"]
            from_string = self.compiler.type_mapper.from_string
            return ibis.Schema({row[name]: from_string(row[kind], nullable=row[null] == "YES") for row in described.fetchall()})

        def compile(self, expr: Any, /, *, limit: Any = None, params: Any = None, pretty: bool = False) -> str:
            if params or pretty:
                return super().compile(expr, limit=limit, params=params, pretty=pretty)
            from segmint.sql_cache import compile_cached

            return compile_cached(self, expr, lambda: super(DuckDBBackend, self).compile(expr, limit=limit), limit)

    DuckDBBackend.__module__, DuckDBBackend.__qualname__ = __name__, "DuckDBBackend"
    return DuckDBBackend


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
        lazy_sql_compilers()  # before the DuckDB backend's first import
        try:
            con = quiet_duckdb(_duckdb_backend()().connect(database, **config))
        except Exception as exc:  # duckdb raises its own IOException types
            raise BackendError(f"cannot open DuckDB database {database!r}: {exc}") from exc
        _OPEN.add(con)
        return con
    if backend == "spark":
        master = master or os.environ.get("SEGMINT_SPARK_MASTER", "local[*]")
        return _connect_spark(master, spark_config or {})
    if backend == "postgres":
        if not url:
            raise BackendError("the postgres backend needs a URL like postgresql://user@host/db")
        return _connect_postgres(url)
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


# Spark settings for a local session: quiet, no UI, few shuffle partitions (small machines, tests).
SPARK_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


def _connect_spark(master: str, overrides: dict[str, str]) -> BaseBackend:
    try:
        from pyspark.sql import SparkSession

        ibis.pyspark  # noqa: B018 - fails here, not later, when ibis' pyspark extra is missing
    except ImportError as exc:
        raise BackendError(
            "the Spark engine needs pyspark: pip install 'segmint[spark]' (and Java 17)"
        ) from exc
    try:
        if master.startswith("sc://"):
            session = SparkSession.builder.remote(master).getOrCreate()
        else:
            if master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the JVM at launch
            builder = SparkSession.builder.master(master).appName("segmint")
            settings = {
                **SPARK_DEFAULTS,
                "spark.driver.memory": os.environ.get("SEGMINT_SPARK_DRIVER_MEMORY", "4g"),
                "spark.sql.warehouse.dir": _spark_warehouse(),
                **overrides,
            }
            for key, value in settings.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # py4j / JVM launch errors
        raise BackendError(
            f"cannot start Spark (master {master!r}): {exc}; check that Java 17 is installed "
            "(java -version) or pass a Spark Connect URL like sc://host:15002"
        ) from exc
    return ibis.pyspark.connect(session)


def _spark_warehouse() -> str:
    """Where Spark keeps tables segmint creates: $SEGMINT_SPARK_WAREHOUSE or a temp dir removed at exit.

    Spark's default (``./spark-warehouse``) would litter the user's working directory.
    """
    configured = os.environ.get("SEGMINT_SPARK_WAREHOUSE")
    if configured:
        return configured
    import atexit
    import shutil

    warehouse = tempfile.mkdtemp(prefix="segmint-spark-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    return warehouse


def _connect_postgres(url: str) -> BaseBackend:
    """Connect to PostgreSQL; ``postgres://`` and ``postgresql://`` URLs are both accepted."""
    try:
        ibis.postgres  # noqa: B018
    except ImportError as exc:
        raise BackendError(
            "the PostgreSQL engine needs psycopg: pip install 'segmint[postgres]'"
        ) from exc
    try:
        return ibis.connect(url)
    except Exception as exc:
        raise BackendError(f"cannot connect to {redact_url(url)!r}: {redact(str(exc), url)}") from None


DATABASE_SCHEMES = ("postgresql://", "postgres://", "mysql://")


def is_database_url(source: object) -> bool:
    """True for a PostgreSQL or MySQL URL source (``postgresql://user@host/db?table=sales``)."""
    return isinstance(source, str) and source.lower().startswith(DATABASE_SCHEMES)


def split_table_url(url: str) -> tuple[str, str]:
    """``postgresql://u@h/db?table=sales`` -> (connection URL without ``table``, ``"sales"``)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port or host fails here, not inside the driver
    except ValueError as exc:
        raise BackendError(
            f"{redact_url(url)}: not a valid database URL ({exc}); write it as "
            "postgresql://user@host:5432/db?table=sales", field="source", value=redact_url(url),
        ) from None
    query = parse_qsl(parts.query, keep_blank_values=True)
    tables = [value for key, value in query if key == "table"]
    if len(tables) != 1 or not tables[0].strip():
        raise BackendError(
            f"{redact_url(url)}: name the table to read, e.g. postgresql://user@host/db?table=sales"
        )
    rest = urlencode([(key, value) for key, value in query if key != "table"])
    return urlunsplit(parts._replace(query=rest)), tables[0].strip()


SECRET_PARAMETERS = ("password", "passwd", "pwd", "sslpassword", "secret", "token", "access_token", "api_key",
                     "apikey")  # fmt: skip


def url_secrets(url: str) -> list[str]:
    """The secret values in ``url`` (as written and decoded): its password and ``?password=``-style values."""
    from urllib.parse import parse_qsl, quote, unquote

    found = [m.group(0).rsplit(":", 1)[1][:-1] for m in _URL_PASSWORD.finditer(url)]
    query = url.split("?", 1)[1] if "?" in url else ""
    found += [value for key, value in parse_qsl(query, keep_blank_values=True) if key.lower() in SECRET_PARAMETERS]
    found += [m.group("value").strip("'") for m in _SECRET_PARAMETER.finditer(url)]
    values = {v for v in found if v} | {unquote(v) for v in found if v} | {quote(v, safe="") for v in found if v}
    return sorted(values, key=len, reverse=True)


_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@?#]*:)[^\s@/?#]*@", re.IGNORECASE)
_SECRET_PARAMETER = re.compile(
    r"(?P<head>(?:^|[?&;\s])(?:" + "|".join(SECRET_PARAMETERS) + r")\s*=\s*)(?P<value>'[^']*'|[^&\s'\"]*)",
    re.IGNORECASE,
)


def redact_url(url: str) -> str:
    """``url`` with every password masked as ``***`` (``user:pass@host`` and ``?password=...``).

    Safe for logs and error messages; ``redact`` does the same to text that may quote the URL.
    """
    return redact(url, url)


def redact(text: str, url: str = "") -> str:
    """``text`` with passwords masked: in URLs, in ``password=`` settings, and ``url``'s secrets anywhere."""
    text = _URL_PASSWORD.sub(r"\g<head>***@", text)
    text = _SECRET_PARAMETER.sub(r"\g<head>***", text)
    for secret in url_secrets(url):
        if len(secret) >= 3:  # shorter ones would mask ordinary letters of the message
            text = text.replace(secret, "***")
    return text


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
            return _duckdb_temp_table(con, expr, name)
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


def row_count(table: ibis.Table) -> int:
    """The number of rows of ``table``: known without a query for a table :func:`materialize` made on
    DuckDB (the insert reported it), one count query otherwise."""
    op = table.op()
    # one look-up: between a membership test and a read, another thread's materialize may evict the entry
    known = _ROWS.get(op.name) if isinstance(op, ops.DatabaseTable) else None
    if known is not None:
        return known
    return int(table.count().to_pyarrow().as_py())


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
    columns = ", ".join(column.sql(con.dialect) for column in schema.to_sqlglot_column_defs(con.dialect))
    con.con.execute(f"CREATE TEMPORARY TABLE {table} ({columns})")
    names = ", ".join(sql_identifier(column) for column in schema.names)
    ((inserted,),) = con.con.execute(f"INSERT INTO {table} ({names}) {select}").fetchall()
    _ROWS[name] = int(inserted)  # DuckDB reports the rows an INSERT wrote: counting them is free
    while len(_ROWS) > _ROWS_KEPT:
        _ROWS.popitem(last=False)
    return ops.DatabaseTable(
        name, schema=schema, source=con, namespace=ops.Namespace(catalog="temp", database="main")
    ).to_expr()


def arrow_table(con: BaseBackend, data: Any) -> ibis.Table:
    """An Arrow table (``pyarrow.Table``) as a session-temporary table of ``con``.

    Ibis' memtable and DuckDB's scans of Python objects (register, from_arrow) import pandas to see
    what they were given, about 0.3 CPU s of a small ``analyze``; on DuckDB the rows go through a
    temporary Parquet file instead (pyarrow writes it, DuckDB reads it natively: a few ms for the
    customer tables the schemes label in Python), into a table declared with the Arrow table's types.
    """
    if con.name != "duckdb":
        return materialize(con, ibis.memtable(data))
    import pyarrow.parquet as pq

    from segmint.util import sql_string

    schema = ibis.Schema.from_pyarrow(data.schema)
    names = ", ".join(sql_identifier(column) for column in schema.names)
    path = spool_file(con)
    try:
        pq.write_table(data, path)
        select = f"SELECT {names} FROM read_parquet({sql_string(str(path))})"
        return _declared_temp_table(con, session_name(), schema, select)
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
