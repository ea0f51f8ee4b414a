"""A workspace's import log: one row per import, and the content hash that makes a file's second import a no-op.

Each import is logged with its source, the SHA-256 of the file's bytes, the lines it offered, added
and found already present (and why: which earlier import holds them) and its data-quality report.
A file whose hash is already logged is recorded as adding nothing without being read. The log is
written inside the caller's transaction (:func:`transaction`), beside the lines it describes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ibis.backends import BaseBackend

__all__ = ["ImportResult", "file_sha256"]

IMPORTS_TABLE = "imports"
IMPORT_COLUMNS: dict[str, str] = {
    "import_id": "BIGINT",
    "source": "VARCHAR",  # the path as given
    "content_hash": "VARCHAR",  # sha256 of the file's bytes (NULL for tables appended from Python)
    "rows_offered": "BIGINT",  # canonical lines the import offered (after cleaning)
    "rows_added": "BIGINT",
    "rows_already_present": "BIGINT",
    "already_present_why": "VARCHAR",  # JSON: reason -> lines
    "imported_at": "TIMESTAMP",  # UTC
    "report_json": "VARCHAR",  # the data-quality report of the import
}
Progress = Callable[[str], None]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def transaction(db: Any) -> Iterator[Any]:
    """BEGIN ... COMMIT on a DuckDB connection; ROLLBACK on any error (or interrupt)."""
    db.execute("BEGIN TRANSACTION")
    try:
        yield db
    except BaseException:
        with suppress(Exception):
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@dataclass(frozen=True)
class ImportResult:
    """What one import did: lines offered, added and already present (with why), and its log id."""

    source: str
    rows_offered: int
    rows_added: int
    rows_already_present: int
    already_present_why: dict[str, int] = field(default_factory=dict)  # reason -> lines
    import_id: int | None = None
    content_hash: str | None = None
    report: Any = None  # DataQualityReport of the cleaning step (None when nothing was read)
    transactions: Any = None  # segmint.api.Transactions read for this import (None when skipped)

    def summary(self) -> str:
        """One line (plus one per reason) a person can read."""
        head = (f"{self.source}: {self.rows_offered:,} lines, {self.rows_added:,} added, "
                f"{self.rows_already_present:,} already present")  # fmt: skip
        reasons = [f"  {n:,} {why}" for why, n in self.already_present_why.items() if n]
        return "\n".join([head, *reasons])


def create_import_log(db: Any) -> None:
    """Create the imports table when missing (inside the caller's transaction)."""
    imports = ", ".join(f"{name} {kind}" for name, kind in IMPORT_COLUMNS.items())
    db.execute(f'CREATE TABLE IF NOT EXISTS "{IMPORTS_TABLE}" ({imports})')


def import_with_hash(con: BaseBackend, content_hash: str) -> dict[str, Any] | None:
    """The first import of content with this hash (import_id, source, imported_at, rows_offered), or None."""
    if IMPORTS_TABLE not in con.list_tables():
        return None
    found = con.con.execute(
        f'SELECT import_id, source, imported_at, rows_offered FROM "{IMPORTS_TABLE}" '
        "WHERE content_hash = ? ORDER BY import_id LIMIT 1",
        [content_hash],
    ).fetchone()
    if found is None:
        return None
    return dict(zip(("import_id", "source", "imported_at", "rows_offered"), found, strict=True))


def next_import_id(db: Any) -> int:
    """The id the next import gets (1 for the first)."""
    found = db.execute(f'SELECT coalesce(max(import_id), 0) + 1 FROM "{IMPORTS_TABLE}"').fetchone()
    return int(found[0])


def insert_import(db: Any, import_id: int, source: str, content_hash: str | None, rows_offered: int,
                  rows_added: int, why: dict[str, int], report_json: str) -> None:  # fmt: skip
    """Log one import, stamped now (UTC)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    db.execute(
        f'INSERT INTO "{IMPORTS_TABLE}" ({", ".join(IMPORT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [import_id, source, content_hash, rows_offered, rows_added, rows_offered - rows_added,
         json.dumps(why), now, report_json],
    )  # fmt: skip


def already_present_reasons(db: Any, present: list[tuple[int | None, int]]) -> dict[str, int]:
    """'identical to lines imported from X (import N)' -> lines, for lines already stored (import id, lines)."""
    ids = [int(i) for i, _ in present if i is not None]
    names = dict(db.execute(
        f'SELECT import_id, source FROM "{IMPORTS_TABLE}" WHERE list_contains(?, import_id)', [ids]
    ).fetchall()) if ids else {}  # fmt: skip
    return {
        (f"identical to lines imported from {names.get(i, '?')} (import {i})" if i is not None
         else "identical to lines stored by an earlier segmint version"): int(n)
        for i, n in present
    }  # fmt: skip


def record_same_content(db: Any, source: str, content_hash: str, earlier: dict[str, Any],
                        step: Progress) -> ImportResult:  # fmt: skip
    """Log an import of content imported before (``earlier``: :func:`import_with_hash`): nothing added."""
    why = {f"same content (sha256 {content_hash[:12]}…) as {earlier['source']} (import "
           f"{earlier['import_id']}, {earlier['imported_at']:%Y-%m-%d %H:%M} UTC)": earlier["rows_offered"]}
    step("writing the import log")
    with transaction(db):
        import_id = next_import_id(db)
        insert_import(db, import_id, source, content_hash, earlier["rows_offered"], 0, why, "")
    return ImportResult(source=source, rows_offered=earlier["rows_offered"], rows_added=0,
                        rows_already_present=earlier["rows_offered"], already_present_why=why,
                        import_id=import_id, content_hash=content_hash)  # fmt: skip


def upgrade_import_log(con: BaseBackend) -> None:
    """Give the log of a workspace written before line keys its newer columns and import ids (in time order)."""
    db = con.con
    have = set(con.table(IMPORTS_TABLE).columns)
    for name, kind in IMPORT_COLUMNS.items():
        if name not in have:
            db.execute(f'ALTER TABLE "{IMPORTS_TABLE}" ADD COLUMN {name} {kind}')
    db.execute(
        f'UPDATE "{IMPORTS_TABLE}" SET import_id = n, '
        "rows_already_present = rows_offered - rows_added, already_present_why = '{}' "
        f'FROM (SELECT rowid AS r, row_number() OVER (ORDER BY imported_at, rowid) AS n '
        f'FROM "{IMPORTS_TABLE}") AS numbered WHERE "{IMPORTS_TABLE}".rowid = numbered.r'
    )
