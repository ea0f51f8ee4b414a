"""The ``segmint`` command's read of one small text file, started in DuckDB before Ibis is imported.

A CDNOW ``analyze`` imported Ibis (about 0.3 s) and only then had DuckDB split the file into columns
(about 0.09 CPU s, on one thread). DuckDB runs a statement without Python's lock, so the command sniffs
the file (:mod:`segmint.io.csv_sniff`, which imports no Ibis), starts that same statement on a second
thread in DuckDB's default database (the one ``duckdb_backend.on_default_database`` then connects Ibis
to) and imports Ibis while it runs. The reader (:func:`segmint.io.csv.read_delimited`) takes the loaded
table when it would run the very same SQL on that connection; any other case (another encoding, NUL
bytes, an error in the read: it is raised again, with its context, by the reader's own read) reads as
always. Only the command starts it (``cli_options.read_input``), for a process that owns DuckDB's default
database; a library caller never does.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TABLE = "segmint_early_read"  # the temporary table the read fills
_STARTED: dict[str, Any] = {}  # path, header_row, sniffed, sql, cursor, thread, error


def start(source: str | Path, header_row: int | None = None) -> bool:
    """Sniff ``source`` (a small delimited text file) and start loading it on a thread; False (nothing
    started) when the file is not one DuckDB's reader takes as it is, or cannot be sniffed (the reader
    then says why)."""
    from segmint.io import FORMATS

    path = Path(str(source)).expanduser()  # as ``io.expand_sources`` names it
    if _STARTED or FORMATS.get(path.suffix.lower()) != "csv":
        return False
    from segmint.io.csv_sniff import load_sql, sniff

    try:
        sniffed = sniff(path, header_row)
    except Exception:  # the reader raises it again, where it has its context
        log.debug("%s: not sniffed before the read", path, exc_info=True)
        return False
    if sniffed.nul or sniffed.encoding != "utf-8":  # normalised or transcoded first: not this read
        return False
    sql, _ = load_sql(path, sniffed.delimiter, sniffed.names, sniffed.skip)
    from segmint.duckdb_backend import default_database_cursor

    cursor = default_database_cursor()
    # one thread as for any small input (reading.read_transactions); no spilling before the connection's
    # own spill folder is set: a read past the memory limit fails here and runs again in the reader
    cursor.execute("SET enable_progress_bar = false; SET GLOBAL threads = 1; SET GLOBAL temp_directory = ''")
    thread = threading.Thread(target=_load, args=(cursor, sql), name="segmint-early-read", daemon=True)
    _STARTED.update(path=path, header_row=header_row, sniffed=sniffed, sql=sql, cursor=cursor, thread=thread)
    thread.start()
    return True


def _load(cursor: Any, sql: str) -> None:
    try:
        cursor.execute(f'CREATE TEMP TABLE "{TABLE}" AS {sql}')
    except Exception as exc:  # noqa: BLE001 - the reader's own read raises it with its context
        _STARTED["error"] = exc


def connection() -> Any | None:
    """The DuckDB connection the read runs on, once it has finished (None when none was started): the
    connection Ibis is then given, whose temporary table the reader takes."""
    thread = _STARTED.get("thread")
    if thread is None:
        return None
    thread.join()
    return _STARTED["cursor"]


def sniffed(path: Path, header_row: int | None) -> Any | None:
    """What :func:`start` sniffed of ``path`` (``csv_sniff.Sniffed``), None for another file."""
    if _STARTED.get("path") != path or _STARTED.get("header_row") != header_row:
        return None
    return _STARTED["sniffed"]


def take(cursor: Any, sql: str | None) -> str | None:
    """The temporary table holding ``sql``'s rows when the early read ran exactly ``sql`` on ``cursor``
    and succeeded; None otherwise (the read's table, if any, is dropped). Once: the next caller reads."""
    thread = _STARTED.get("thread")
    if thread is None or "taken" in _STARTED:
        return None
    thread.join()
    _STARTED["taken"] = True
    if _STARTED["cursor"] is cursor and _STARTED["sql"] == sql and "error" not in _STARTED:
        return TABLE
    if "error" not in _STARTED:
        _STARTED["cursor"].execute(f'DROP TABLE IF EXISTS "{TABLE}"')
    return None
