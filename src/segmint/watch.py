"""Feed a workspace from a folder (scheduled exports, nightly dumps) or a database table, unattended.

A file is imported once its size and modification time have stayed the same for ``settle_seconds``
(a file still being copied or exported is never half-imported), and again whenever it changes.
Imports use the same reading, cleaning and line identity as ``segmint ingest``, so re-reading a file
or a table adds only lines the workspace does not have yet. The workspace is opened only for the
import itself, so a dashboard following it can take its snapshots in between.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from segmint.errors import InputError

log = logging.getLogger(__name__)

# names of files that are still being written by common tools, or are not data
PARTIAL_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".download", ".swp", ".lock")
PARTIAL_PREFIXES = (".", "~$", "~")


@dataclass(frozen=True)
class ImportOutcome:
    """What one import did: rows added, rows already in the workspace, and the quality report."""

    source: str
    added: int
    already_there: int
    report: Any = None
    mapping_description: str = ""


@dataclass
class FolderWatcher:
    """Which files of ``folder`` are ready to import: new or changed, and unchanged for ``settle_seconds``."""

    folder: Path
    settle_seconds: float = 2.0
    _seen: dict[Path, tuple[int, int, float]] = field(default_factory=dict)  # stamp + when first seen so
    _imported: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.folder = Path(self.folder)
        if not self.folder.is_dir():
            raise InputError(f"{self.folder}: not a folder; give the folder the exports are written to")

    def candidates(self) -> list[Path]:
        """Data files in the folder (readable formats, not hidden, not a partial download)."""
        from segmint.io import FORMATS

        found = []
        for path in sorted(self.folder.iterdir()):
            name = path.name.lower()
            if not path.is_file() or name.startswith(PARTIAL_PREFIXES) or name.endswith(PARTIAL_SUFFIXES):
                continue
            if path.suffix.lower() in FORMATS:
                found.append(path)
        return found

    def ready(self, now: float | None = None) -> list[Path]:
        """Files whose size and mtime have not changed for ``settle_seconds`` and differ from the last import."""
        now = time.monotonic() if now is None else now
        ready = []
        present = set()
        for path in self.candidates():
            try:
                info = os.stat(path)
            except FileNotFoundError:
                continue
            present.add(path)
            stamp = (info.st_size, info.st_mtime_ns)
            seen = self._seen.get(path)
            if seen is None or seen[:2] != stamp:
                self._seen[path] = (*stamp, now)  # new or still changing: start (again) waiting
                if self.settle_seconds > 0:
                    continue
                seen = self._seen[path]
            if now - seen[2] >= self.settle_seconds and self._imported.get(path) != stamp and info.st_size > 0:
                ready.append(path)
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
        return ready

    def imported(self, path: Path) -> None:
        """Remember that ``path`` was imported as it is now (a later change imports it again)."""
        seen = self._seen.get(path)
        if seen is not None:
            self._imported[path] = seen[:2]


def import_into(
    workspace: str | Path,
    source: str,
    *,
    mapping: Any = None,
    on_wait: Callable[[str], None] | None = None,
) -> ImportOutcome:
    """Read, clean and append one file or database URL to ``workspace`` (opened only for this import)."""
    from segmint.api import read_transactions
    from segmint.remote import is_database_url, redact_url
    from segmint.live import retry_locked
    from segmint.workspace import Workspace

    with retry_locked(lambda: Workspace(workspace), workspace, on_wait=on_wait) as ws:
        if is_database_url(source):  # a table: every re-read offers all lines; line identity keeps new ones
            tx = read_transactions(source, mapping=mapping, con=ws.con)
            report_json = tx.report.model_dump_json() if tx.report is not None else ""
            result = ws.append(tx.table, source=redact_url(source), report_json=report_json)
        else:  # a file: same identity rules (and content hash) as segmint ingest
            result = ws.ingest(source, mapping=mapping)
            tx = result.transactions
    added, already = result.rows_added, result.rows_already_present
    log.info("watch: %s -> %s: %d added, %d already there", redact_url(source), workspace, added, already)
    report = tx.report if tx is not None else None
    return ImportOutcome(str(source), added, already, report, tx.mapping_description() if tx is not None else "")
