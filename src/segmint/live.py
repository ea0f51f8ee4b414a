"""Follow a workspace file that other processes append to, without ever holding it open.

DuckDB lets one process write a database file at a time, and a writer excludes readers. A reader
that must not block ``segmint ingest`` therefore (1) notices changes cheaply from the file's identity
(inode, size, mtime, and its write-ahead log), (2) opens the file read-only only for the moment it
takes to read the import log or copy the transactions into its own snapshot, and (3) retries around
a writer. Writers retry around such brief readers with :func:`retry_locked`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

from segmint.errors import BackendError
from segmint.util import sql_string

log = logging.getLogger(__name__)
T = TypeVar("T")

TRANSACTIONS_TABLE = "transactions"
IMPORTS_TABLE = "imports"
LOCK_MARKERS = ("could not set lock", "conflicting lock")


class WorkspaceBusyError(BackendError):
    """The workspace file stayed locked by another process for longer than we were willing to wait."""


def is_lock_error(exc: BaseException | None) -> bool:
    """True when ``exc`` (or an exception it was raised from) is DuckDB's file-lock conflict."""
    while exc is not None:
        if any(marker in str(exc).lower() for marker in LOCK_MARKERS):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def retry_locked(
    action: Callable[[], T],
    path: str | Path,
    *,
    timeout: float = 30.0,
    pause: float = 0.25,
    on_wait: Callable[[str], None] | None = None,
) -> T:
    """Run ``action`` (which opens ``path``), retrying while another process holds the file's lock.

    ``on_wait`` is told once, with a sentence a person can read, that we are waiting. After
    ``timeout`` seconds a :class:`WorkspaceBusyError` names the file and what to do.
    """
    deadline = time.monotonic() + timeout
    told = False
    while True:
        try:
            return action()
        except Exception as exc:
            if not is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise WorkspaceBusyError(
                    f"workspace {path} is in use by another process (an import or a dashboard copying "
                    f"it) for more than {timeout:.0f} s; wait for the import to finish, then try again"
                ) from exc
            if not told:
                message = f"workspace {path} is busy (another process is reading or writing it); waiting ..."
                log.info(message)
                if on_wait is not None:
                    on_wait(message)
                told = True
            time.sleep(pause)
            pause = min(pause * 1.5, 2.0)


@dataclass(frozen=True)
class FileStamp:
    """What can be learnt about a DuckDB file without opening it (changes whenever it is written)."""

    exists: bool
    inode: int = 0
    device: int = 0
    size: int = 0
    mtime_ns: int = 0
    wal_size: int = -1  # -1 = no write-ahead log file
    wal_mtime_ns: int = 0

    @property
    def identity(self) -> tuple[int, int]:
        """(device, inode): changes when the file is replaced, e.g. deleted and created again."""
        return self.device, self.inode


def file_stamp(path: str | Path) -> FileStamp:
    """Stat ``path`` and its ``.wal`` file: a cheap change detector (no lock taken)."""
    try:
        main = os.stat(path)
    except FileNotFoundError:
        return FileStamp(exists=False)
    try:
        wal = os.stat(f"{path}.wal")
        wal_size, wal_mtime = wal.st_size, wal.st_mtime_ns
    except FileNotFoundError:
        wal_size, wal_mtime = -1, 0
    return FileStamp(True, main.st_ino, main.st_dev, main.st_size, main.st_mtime_ns, wal_size, wal_mtime)


@dataclass(frozen=True)
class WorkspaceVersion:
    """The state of a workspace file: its stamp, row count and last import-log entry."""

    stamp: FileStamp
    rows: int  # -1 = no transactions table yet
    imports: int
    last_import: dict[str, Any] | None

    def same_data(self, other: WorkspaceVersion | None) -> bool:
        """True when ``other`` shows the same file with the same rows and import history."""
        return (
            other is not None
            and other.stamp.identity == self.stamp.identity
            and (other.rows, other.imports, other.last_import) == (self.rows, self.imports, self.last_import)
        )

    def describe_import(self) -> str:
        """``sales_2024.csv (+1,204 rows)`` for the last import, or ``""`` when there is none."""
        entry = self.last_import or {}
        source = Path(str(entry.get("source") or "")).name
        if not source:
            return ""
        added = entry.get("rows_added")
        return f"{source} (+{int(added):,} rows)" if added is not None else source


def _quote(path: str | Path) -> str:
    return sql_string(str(Path(path).resolve()))


def _read_version(raw: Any, alias: str, stamp: FileStamp) -> WorkspaceVersion:
    """Row count and last import of the attached database ``alias`` (a raw duckdb connection)."""
    tables = {row[0] for row in raw.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [alias]).fetchall()}
    rows = raw.execute(f"SELECT count(*) FROM {alias}.{TRANSACTIONS_TABLE}").fetchone()[0] \
        if TRANSACTIONS_TABLE in tables else -1
    imports, last = 0, None
    if IMPORTS_TABLE in tables:
        cursor = raw.execute(f"SELECT * FROM {alias}.{IMPORTS_TABLE}")
        names = [d[0] for d in cursor.description]
        history = cursor.fetchall()
        imports = len(history)
        if history:
            keep = ("source", "rows_added", "rows_offered", "imported_at", "content_hash")
            if "imported_at" in names:
                history.sort(key=lambda row: (row[names.index("imported_at")] is not None,
                                              row[names.index("imported_at")] or dt.datetime.min))
            last = {name: value for name, value in zip(names, history[-1], strict=True) if name in keep}
    return WorkspaceVersion(stamp, int(rows), imports, last)


def _attached(path: str | Path, work: Callable[[Any, str], T]) -> T:
    """Run ``work(raw_connection, alias)`` with ``path`` attached read-only, detached right after."""
    import duckdb

    raw = duckdb.connect()
    alias = f"segmint_ws_{uuid4().hex[:8]}"
    try:
        raw.execute(f"ATTACH {_quote(path)} AS {alias} (READ_ONLY)")
        try:
            return work(raw, alias)
        finally:
            raw.execute(f"DETACH {alias}")
    finally:
        raw.close()


def read_version(path: str | Path, *, timeout: float = 10.0) -> WorkspaceVersion:
    """Open ``path`` read-only for a moment and return its version (retrying around a writer)."""
    def peek() -> WorkspaceVersion:
        stamp = file_stamp(path)
        if not stamp.exists:
            raise BackendError(f"workspace {path} does not exist")
        return _attached(path, lambda raw, alias: _read_version(raw, alias, stamp))

    return retry_locked(peek, path, timeout=timeout)


def _ledger_tables(raw: Any, alias: str) -> list[str]:
    """The ledger tables (``segmint.io.ledger.save_ledger``) present in the attached workspace."""
    from segmint.io.ledger import LEDGER_REPORT_TABLE, LEDGER_TABLE

    found = raw.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND table_name IN (?, ?)",
        [alias, LEDGER_TABLE, LEDGER_REPORT_TABLE],
    ).fetchall()
    return [name for (name,) in found]


def snapshot_into(path: str | Path, target: str | Path, *, timeout: float = 30.0) -> WorkspaceVersion:
    """Copy the workspace's transactions into the new DuckDB file ``target``; returns what was copied.

    The source is attached read-only only while copying, so an import in another process waits at
    most that long (and retries); the copy is consistent because the read lock excludes writers.
    """
    def copy() -> WorkspaceVersion:
        stamp = file_stamp(path)
        if not stamp.exists:
            raise BackendError(f"workspace {path} does not exist; create it with an import first")

        def work(raw: Any, alias: str) -> WorkspaceVersion:
            version = _read_version(raw, alias, stamp)
            if version.rows < 0:
                raise BackendError(f"workspace {path} has no transactions yet; import sales files into it first")
            raw.execute(f"ATTACH {_quote(target)} AS snap")
            try:
                raw.execute(f"CREATE TABLE snap.{TRANSACTIONS_TABLE} AS SELECT * FROM {alias}.{TRANSACTIONS_TABLE}")
                for extra in _ledger_tables(raw, alias):  # the ledger the Credit page scores, when stored
                    raw.execute(f"CREATE TABLE snap.{extra} AS SELECT * FROM {alias}.{extra}")
            finally:
                raw.execute("DETACH snap")
            return version

        return _attached(path, work)

    return retry_locked(copy, path, timeout=timeout)
