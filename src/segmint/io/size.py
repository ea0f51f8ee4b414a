"""How big an input is before it is read, for the few choices that depend on it (DuckDB threads, how the
command compiles its SQL); a sizing rule, not part of the public API.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ibis.backends import BaseBackend

__all__ = ["SMALL_INPUT_ROWS", "SMALL_TEXT_BYTES", "small_input"]

SMALL_INPUT_ROWS = 1_000_000  # below this, DuckDB works on one thread (see _one_thread_when_small)
SMALL_TEXT_BYTES = 16 * 2**20  # text files (CSV, JSON) this small hold far fewer lines (see small_input)


def small_input(source: str | Path | Sequence[str | Path], *, con: BaseBackend | None = None) -> bool:
    """Whether ``source`` is known to be small before it is read: CSV/JSON files of ``SMALL_TEXT_BYTES``
    in all, or Parquet files whose footers count fewer than ``SMALL_INPUT_ROWS`` lines.

    Small inputs are read on one DuckDB thread (reading CDNOW's 2 MB on two threads cost about twice
    the CPU of one, on a loaded 2-core machine). Anything else (a folder, a glob, a missing file,
    Excel, a mix of kinds) is left to the count after reading. ``con`` (DuckDB) reads the footers;
    without it a private connection does.
    """
    from segmint.io import FORMATS

    items = [source] if isinstance(source, (str, Path)) else list(source)
    paths = [Path(item) for item in items]
    kinds = {FORMATS.get(path.suffix.lower()) for path in paths}
    if not paths or len(kinds) != 1 or not all(path.is_file() for path in paths):
        return False
    if kinds <= {"csv", "json"}:
        return sum(path.stat().st_size for path in paths) <= SMALL_TEXT_BYTES
    if kinds == {"parquet"}:
        from segmint.engine import raw_duckdb
        from segmint.util import sql_string

        files = "[" + ", ".join(sql_string(str(path)) for path in paths) + "]"
        own = getattr(con, "name", "") != "duckdb"
        footers = raw_duckdb() if own else con.con  # type: ignore[union-attr]
        try:
            rows = footers.execute(f"SELECT sum(num_rows) FROM parquet_file_metadata({files})").fetchone()[0]
        except Exception:  # not readable as Parquet: the reader names the problem
            return False
        finally:
            if own:
                footers.close()
        return rows is not None and int(rows) < SMALL_INPUT_ROWS
    return False


