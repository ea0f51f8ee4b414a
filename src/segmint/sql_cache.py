"""The SQL Ibis compiled for an expression, kept on disk under a key naming the whole expression.

Ibis compiles an expression in Python (its rewrites, then sqlglot): about a tenth of a small ``analyze``,
the same work again at every run on the same data. The key is a hash of everything that decides the
SQL: every operation's class, every argument (literal values with their types, column names, dtypes,
table names, namespaces and schemas), the kind of expression, the row limit, the dialect, the Ibis,
sqlglot and DuckDB versions and Ibis' SQL options. An expression with something the key cannot name
exactly (in-memory data not named by its content, see :mod:`segmint.memtables`; a Python UDF; an
object of an unknown type) is not cached. Entries are plain files checked by a hash of their SQL: a
missing, stale or corrupt one is a miss, never an error; an entry another user owns or may change is
ignored (it would run as this user's SQL).

``$SEGMINT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/segmint`` or ``~/.cache/segmint``) holds the ``sql``
folder, and the ``yaml`` folder of parsed packaged YAML (:func:`segmint.util.parse_packaged_yaml`);
``SEGMINT_SQL_CACHE=0`` turns both off.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import itertools
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FORMAT = "segmint-sql-cache 1"  # first line of an entry; a new format is a new key prefix too
MAX_ENTRIES = 4096  # beyond this the least recently used half is removed ...
PRUNE_EVERY = 512  # ... checked at a process's first write and every this many writes after it
# the names engine.session_name gives (segmint_12, segmint_raw_3): another in each process
SESSION_TABLE = re.compile(r"segmint(?:_[a-z]+)?_[0-9]+")
_SCALARS = (str, int, float, bool, bytes, type(None), decimal.Decimal, dt.date, dt.time, dt.timedelta, uuid.UUID)
_writes = itertools.count()


class Uncacheable(Exception):
    """The expression holds something the key cannot name exactly (it is then compiled every time)."""


def cache_dir(kind: str = "sql") -> Path | None:
    """The folder of cached SQL (``kind``: another kind of entry, e.g. ``yaml``, beside it), or None when
    ``SEGMINT_SQL_CACHE`` is ``0``/``false``/``off``."""
    if os.environ.get("SEGMINT_SQL_CACHE", "").strip().lower() in ("0", "false", "off", "no"):
        return None
    root = os.environ.get("SEGMINT_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "segmint"
    )
    return Path(root) / kind


def entry_path(kind: str, name: str) -> Path | None:
    """Where the entry ``name`` of ``kind`` is kept, or None when the cache is off."""
    folder = cache_dir(kind)
    return None if folder is None else folder / name


def read_entry(path: Path) -> str | None:
    """An entry's text as written, or None (missing, stale, corrupt, or not this user's)."""
    return _read(path)


def write_entry(path: Path, text: str) -> None:
    """Keep ``text`` as the entry at ``path`` (atomically; a cache that cannot be written is only slower)."""
    _write(path, text)


def compile_cached(con: Any, expr: Any, compile_: Callable[[], str], limit: Any = None) -> str:
    """``compile_()`` (Ibis compiling ``expr`` on ``con``), or the SQL it returned before for the same key."""
    folder = cache_dir()
    if folder is None:
        return compile_()
    try:
        key, sessions = _key(con, expr, limit)
    except Uncacheable as why:
        log.debug("SQL not cached: %s", why)
        return compile_()
    path = folder / f"{key}.sql"
    stored = _read(path)
    if stored is None:
        sql = compile_()
        template = _template(sql, sessions)
        if template is not None:
            _write(path, template)
        return sql
    _touch(path)
    sql = _filled(stored, sessions)
    if hasattr(con, "_log"):  # Ibis logs what it compiles when ``ibis.options.verbose`` is set
        con._log(sql)
    return sql


def _touch(path: Path) -> None:
    """Mark an entry used: pruning removes the least recently used (a long-lived process such as the
    dashboard writes entries no later run reads; they must not push out those every run reads)."""
    try:
        os.utime(path)
    except OSError:
        pass


def expression_key(con: Any, expr: Any, limit: Any = None) -> str:
    """A hex key naming ``expr`` compiled on ``con`` exactly, the same in every process (raises Uncacheable).

    A session table (:func:`segmint.engine.session_name`) is named by its place among them: its name
    depends on what the process did before (the dashboard's pages, in the order a user opens them),
    so the cached SQL holds a placeholder in its stead.
    """
    return _key(con, expr, limit)[0]


def _key(con: Any, expr: Any, limit: Any) -> tuple[str, list[str]]:
    """(key, the session tables' names in the order the key numbers them)."""
    import duckdb
    import ibis
    import sqlglot

    root = expr.op()
    sessions: list[str] = []

    def digest(node: Any, results: Any, /, **arguments: Any) -> _Digest:
        name = arguments.get("name")
        if type(node).__name__ == "DatabaseTable" and isinstance(name, str) and SESSION_TABLE.fullmatch(name):
            if name not in sessions:
                sessions.append(name)
            arguments["name"] = _placeholder(sessions.index(name))
        return _node_digest(node, results, **arguments)

    digests = root.map(digest)
    options = ibis.options.sql
    header = (
        FORMAT, ibis.__version__, sqlglot.__version__, duckdb.__version__, type(con).__module__,
        type(con).__qualname__, str(con.dialect), repr(options.fuse_selects), repr(options.default_limit),
        type(expr).__module__, type(expr).__qualname__, _encode(limit),
    )
    return hashlib.sha256("\x1f".join(header).encode() + digests[root]).hexdigest(), sessions


def _placeholder(index: int) -> str:
    return f"{{segmint session table {index}}}"


def _template(sql: str, sessions: list[str]) -> str | None:
    """``sql`` with each session table's quoted name replaced by its placeholder; None when a name is
    also written otherwise (left uncached: the placeholder would not stand for every use)."""
    for index, name in enumerate(sessions):
        sql = sql.replace(f'"{name}"', f'"{_placeholder(index)}"')
    return None if any(re.search(rf"\b{name}\b", sql) for name in sessions) else sql


def _filled(template: str, sessions: list[str]) -> str:
    for index, name in enumerate(sessions):
        template = template.replace(f'"{_placeholder(index)}"', f'"{name}"')
    return template


class _Digest(bytes):
    """A node's digest among the arguments of its parent (never confused with a bytes literal)."""


def _node_digest(node: Any, _results: Any, /, **arguments: Any) -> _Digest:
    kind = type(node)
    parts = [f"{kind.__module__}.{kind.__qualname__}"]
    udf = getattr(kind, "__input_type__", None)
    if udf is not None:  # a UDF class: what it calls lives on the class, not in its arguments
        if getattr(udf, "name", None) != "BUILTIN":
            raise Uncacheable(f"a {udf} UDF")
        parts += [_encode(getattr(kind, a, None)) for a in ("__func_name__", "__udf_namespace__", "__config__", "dtype")]
    if kind.__name__ == "InMemoryTable":
        from segmint.memtables import CONTENT_PREFIX

        # its SQL names the table, never its rows: cacheable when the name stands for the rows
        if not str(arguments.get("name", "")).startswith(CONTENT_PREFIX):
            raise Uncacheable("in-memory data")
        arguments = {"name": arguments["name"], "schema": arguments["schema"]}
    parts += [f"{name}={_encode(value)}" for name, value in arguments.items()]
    return _Digest(hashlib.sha256("\x1e".join(parts).encode()).digest())


def _encode(value: Any) -> str:
    """``value`` as text naming its type and content exactly (raises Uncacheable for anything else)."""
    if isinstance(value, _Digest):
        return "#" + value.hex()
    if isinstance(value, _SCALARS):
        return f"{type(value).__name__}:{value!r}"
    if isinstance(value, enum.Enum):
        return f"{type(value).__module__}.{type(value).__qualname__}.{value.name}"
    if isinstance(value, (tuple, list)):
        return f"{type(value).__name__}(" + ",".join(_encode(v) for v in value) + ")"
    if isinstance(value, (frozenset, set)):
        return f"{type(value).__name__}(" + ",".join(sorted(_encode(v) for v in value)) + ")"
    if hasattr(value, "__argnames__") and hasattr(value, "__args__"):  # Ibis' dtypes, schemas, namespaces
        kind = type(value)
        fields = ",".join(f"{n}={_encode(v)}" for n, v in zip(value.__argnames__, value.__args__, strict=True))
        return f"{kind.__module__}.{kind.__qualname__}({fields})"
    if isinstance(value, Mapping):
        return f"{type(value).__name__}{{" + ",".join(f"{_encode(k)}:{_encode(v)}" for k, v in value.items()) + "}"
    from ibis.backends import BaseBackend

    if isinstance(value, BaseBackend):  # a table's connection: its SQL names the table, not the connection
        return f"backend:{value.name}"
    raise Uncacheable(f"a {type(value).__qualname__} in the expression")


def _read(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:  # bytes: SQL may hold a carriage return
            if not _trusted(os.fstat(handle.fileno())):
                log.warning("ignoring the SQL cache entry %s: not written by this user or writable by others", path)
                return None
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeError):
        return None
    head, _, sql = text.partition("\n")
    if head != f"{FORMAT} {hashlib.sha256(sql.encode()).hexdigest()}":
        log.debug("ignoring a stale or corrupt SQL cache entry %s", path)
        return None
    return sql


def _trusted(stat: os.stat_result) -> bool:
    """An entry is run as SQL: only one this user owns and nobody else may change (POSIX)."""
    if not hasattr(os, "getuid"):
        return True
    return stat.st_uid == os.getuid() and not stat.st_mode & 0o022


def _write(path: Path, sql: str) -> None:
    """Write an entry atomically; a cache that cannot be written is only slower."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if next(_writes) % PRUNE_EVERY == 0:
            _prune(path.parent)
        temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # whatever the umask
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(f"{FORMAT} {hashlib.sha256(sql.encode()).hexdigest()}\n{sql}".encode())
        os.replace(temp, path)
    except OSError:
        log.debug("cannot write the SQL cache entry %s", path, exc_info=True)


def _prune(folder: Path) -> None:
    """Keep fewer than MAX_ENTRIES entries: at the limit, all but the most recently used half go."""
    entries = [e for e in os.scandir(folder) if e.name.endswith(".sql")]
    if len(entries) < MAX_ENTRIES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime)
    for entry in entries[: len(entries) - MAX_ENTRIES // 2]:
        try:
            os.unlink(entry.path)
        except OSError:
            pass
