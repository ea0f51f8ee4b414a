"""Tables and queries from databases through Ibis: DuckDB or SQLite files, PostgreSQL URLs."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmint.engine import quiet_duckdb
from segmint.remote import redact, redact_url
from segmint.errors import InputError
from segmint.io.base import ROW_COL, SOURCE_COL, RawTable, register_arrow

log = logging.getLogger(__name__)

_QUERY = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)
_SQLITE = (".sqlite", ".sqlite3", ".db")
_DUCKDB = (".duckdb", ".ddb")


def connect_source(source: str | Path | BaseBackend) -> BaseBackend:
    """Open ``source``: an Ibis backend, a URL (``postgresql://``, ``sqlite:///``), or a database file."""
    if isinstance(source, BaseBackend):
        return source
    text = str(source)
    try:
        kind = text.split("://", 1)[0].lower() if "://" in text else ""
        if kind not in ("", "sqlite", "duckdb"):
            return ibis.connect(text)
        path = database_file(text) if kind else Path(text).expanduser()
        if not path.is_file():
            raise InputError(f"{path}: database file not found")
        if kind == "sqlite" or (not kind and path.suffix.lower() in _SQLITE):
            return ibis.sqlite.connect(str(path))
        if kind == "duckdb" or path.suffix.lower() in _DUCKDB:
            return quiet_duckdb(ibis.duckdb.connect(str(path), read_only=True))
    except InputError:
        raise
    except Exception as exc:  # driver-specific connection errors
        raise InputError(f"{redact_url(text)}: cannot connect: {redact(str(exc), text)}") from None
    raise InputError(
        f"{redact_url(text)}: unknown database; give a URL (postgresql://user@host/db, sqlite:///file.db, "
        f"duckdb:///file.duckdb) or a file ending in {' '.join(_SQLITE + _DUCKDB)}"
    )


def database_file(url: str) -> Path:
    """The file of a ``sqlite://`` or ``duckdb://`` URL, never created when missing.

    ``sqlite:////data/shop.db`` and ``sqlite:///data/shop.db`` both name /data/shop.db (Ibis' reading);
    ``sqlite:///shop.db`` is also looked for relative to the working directory (SQLAlchemy's reading).
    Opening a missing SQLite file would create an empty database in its place.
    """
    written = url.split("://", 1)[1].split("?", 1)[0]
    path = Path("/" + written.lstrip("/")) if written.startswith("/") else Path(written).expanduser()
    relative = Path(written.lstrip("/"))
    return relative if not path.is_file() and written.startswith("/") and relative.is_file() else path


def read_sql(
    source: str | Path | BaseBackend, table_or_query: str, *, con: BaseBackend | None = None
) -> RawTable:
    """Read a table name or ``SELECT``/``WITH`` query; copy it into ``con`` when one is given.

    ``_row`` numbers the result rows from 1 (databases keep no row order unless the query sorts).
    """
    database = connect_source(source)
    label = table_or_query if not _QUERY.match(table_or_query) else "query"
    try:
        table = database.sql(table_or_query) if _QUERY.match(table_or_query) else database.table(table_or_query)
    except Exception as exc:
        names = database.list_tables()
        tables = ", ".join(sorted(names)[:30])
        where = redact_url(str(source)) if not isinstance(source, BaseBackend) else database.name
        why = redact(str(exc), str(source)) if not isinstance(source, BaseBackend) else str(exc)
        why = "no such table" if table_or_query not in names and not _QUERY.match(table_or_query) else why
        raise InputError(f"{where}: cannot read {table_or_query!r}: {why}; tables: {tables}") from None
    columns = [c for c in table.columns if c not in (SOURCE_COL, ROW_COL)]
    table = table.select(*columns)
    if con is not None and con is not database:
        data = table.to_pyarrow()
        data = data.append_column(SOURCE_COL, _fill(label, data.num_rows))
        data = data.append_column(ROW_COL, _range(data.num_rows))
        table = register_arrow(con, data)
    else:
        table = table.mutate(
            **{SOURCE_COL: ibis.literal(label), ROW_COL: (ibis.row_number() + 1).cast("int64")}
        )
    return RawTable(table=table, source=label, columns=columns, header_row=None, format="sql")


def _fill(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string())


def _range(n: int) -> pa.Array:
    return pa.array(range(1, n + 1), pa.int64())
