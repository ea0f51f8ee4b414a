"""Live data: the dashboard follows a workspace that ``segmint ingest`` / ``segmint watch`` append to.

The server never keeps the workspace file open (DuckDB allows one writer, and a writer excludes
readers). A background thread stats the file every ``interval`` seconds; when it changed, the import
log is read read-only for a moment and, when rows or imports changed (or the file was replaced, as
``make run`` does), the transactions are copied into a private snapshot that becomes a new dataset.
Browser tabs showing the old snapshot move to the new one on their next tick (``dcc.Interval``), so
every page refreshes within ``interval`` + ``TICK_SECONDS`` plus the copy time.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from dash import Dash, Input, Output, State, html, no_update

from segmint.app.state import AppState
from segmint.errors import SegmintError
from segmint.live import FileStamp, WorkspaceVersion, file_stamp, read_version, snapshot_into

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 5.0  # seconds between file checks on the server
TICK_SECONDS = 5.0  # seconds between a browser tab's checks for a newer snapshot
KEEP_GENERATIONS = 2  # snapshots kept open (the current one and the one tabs may still be reading)


@dataclass(frozen=True)
class LiveStatus:
    """What the dashboard shows about its live workspace."""

    dataset_id: str | None
    updated_at: dt.datetime | None  # when this server loaded the current snapshot (local time)
    version: WorkspaceVersion | None
    problem: str = ""  # why the last check could not refresh (file missing, still locked, ...)

    def text(self) -> str:
        """``data updated 14:32 by sales_2024.csv (+1,204 rows)`` (+ the current problem, if any)."""
        if self.updated_at is None:
            return self.problem or "loading the workspace ..."
        parts = [f"data updated {self.updated_at:%H:%M}"]
        change = self.version.describe_import() if self.version else ""
        if change:
            parts.append(f"by {change}")
        text = " ".join(parts)
        return f"{text}; {self.problem}" if self.problem else text

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready status (the API's ``data_as_of``)."""
        entry = dict((self.version.last_import or {}) if self.version else {})
        for key, value in entry.items():
            if isinstance(value, (dt.datetime, dt.date)):
                entry[key] = value.isoformat()
        return {
            "updated_at": self.updated_at.isoformat(timespec="seconds") if self.updated_at else None,
            "rows": self.version.rows if self.version else None,
            "imports": self.version.imports if self.version else None,
            "last_import": entry or None,
            "problem": self.problem or None,
        }


class LiveWorkspace:
    """Keeps ``state``'s default dataset equal to the latest snapshot of the workspace at ``path``."""

    def __init__(
        self, state: AppState, path: str | Path, *, interval: float = DEFAULT_INTERVAL, warm: bool = False
    ) -> None:
        self.state = state
        self.path = Path(path)
        self.interval = interval
        self.warm = warm  # compute each snapshot's first view before the tabs move to it
        self._dir = Path(tempfile.mkdtemp(prefix="segmint-live-"))
        self._generations: list[tuple[str, Any, Path]] = []  # (dataset id, connection, snapshot file)
        self._superseded: set[str] = set()
        self._seen: FileStamp | None = None
        self._status = LiveStatus(None, None, None)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what callers read ---------------------------------------------------------------------
    @property
    def status(self) -> LiveStatus:
        """The current snapshot and the last check's problem."""
        return self._status

    def newer_than(self, dataset_id: str | None) -> str | None:
        """The current snapshot's id when ``dataset_id`` is an older snapshot of this workspace."""
        current = self._status.dataset_id
        if dataset_id in self._superseded and current is not None:
            return current
        return None

    # --- refreshing ----------------------------------------------------------------------------
    def load(self, *, timeout: float = 60.0) -> str:
        """Take the first snapshot (waiting up to ``timeout`` s for a writer); returns its dataset id."""
        self._refresh(timeout=timeout)
        assert self._status.dataset_id is not None
        return self._status.dataset_id

    def check(self) -> bool:
        """One poll: refresh when the file changed; True when a new snapshot was loaded."""
        stamp = file_stamp(self.path)
        if not stamp.exists:
            self._set_problem(f"{self.path.name} is missing (being replaced?); showing the last data")
            return False
        if stamp == self._seen and not self._status.problem:
            return False
        try:
            version = read_version(self.path, timeout=1.0)
            if version.same_data(self._status.version):
                self._seen = stamp
                self._set_problem("")
                return False
            self._refresh(timeout=1.0)
            return True
        except SegmintError as exc:
            log.info("live workspace %s not refreshed: %s", self.path, exc)
            self._set_problem("an import is running; will refresh when it ends" if "busy" in str(exc)
                              or "in use" in str(exc) else str(exc))
            return False

    def _refresh(self, *, timeout: float) -> None:
        from segmint.engine import connect

        target = self._dir / f"snapshot-{uuid4().hex[:8]}.duckdb"
        version = snapshot_into(self.path, target, timeout=timeout)
        con = connect("duckdb", path=target)
        table = con.table("transactions")
        dataset_id = self.state.add_dataset(table, self.path.name, default=True)
        if self.warm:
            self.state.warm(dataset_id)  # tabs move to a snapshot whose first view is computed
        with self._lock:
            if self._status.dataset_id is not None:
                self._superseded.add(self._status.dataset_id)
            self._generations.append((dataset_id, con, target))
            self._seen = version.stamp
            self._status = LiveStatus(dataset_id, dt.datetime.now(), version)
            while len(self._generations) > KEEP_GENERATIONS:
                old_id, old_con, old_file = self._generations.pop(0)
                self.state.remove_dataset(old_id)
                _close(old_con, old_file)
        log.info("live workspace %s: snapshot %s (%d rows, %s)", self.path, dataset_id, version.rows,
                 version.describe_import() or "no import log")

    def _set_problem(self, problem: str) -> None:
        with self._lock:
            self._status = LiveStatus(self._status.dataset_id, self._status.updated_at,
                                      self._status.version, problem)

    # --- background thread ---------------------------------------------------------------------
    def start(self) -> LiveWorkspace:
        """Poll in a daemon thread every ``interval`` seconds (until :meth:`stop`)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="segmint-live", daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # noqa: BLE001 - a failed check must not end the polling
                log.exception("live workspace check failed")

    def stop(self) -> None:
        """Stop polling and delete the snapshots."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        for dataset_id, con, target in self._generations:
            self.state.remove_dataset(dataset_id)
            _close(con, target)
        self._generations.clear()
        shutil.rmtree(self._dir, ignore_errors=True)


def _close(con: Any, target: Path) -> None:
    try:
        con.disconnect()
    except Exception:  # noqa: BLE001 - already closed
        pass
    for path in (target, Path(f"{target}.wal")):
        path.unlink(missing_ok=True)


def status_badge(status: LiveStatus) -> html.Span:
    """The navbar text: green when fresh, amber when the last check could not refresh."""
    return html.Span(status.text(), className="live-status" + (" live-problem" if status.problem else ""),
                     title="refreshes by itself when the workspace changes")


def register(app: Dash, live: LiveWorkspace | None) -> None:
    """Move each tab to the newest snapshot and show the live status (no-op without a workspace)."""
    if live is None:
        return

    @app.callback(Output("session", "data", allow_duplicate=True), Output("live-status", "children"),
                  Input("live-tick", "n_intervals"), State("session", "data"),
                  prevent_initial_call="initial_duplicate")
    def follow(_: int | None, session: dict | None) -> tuple:
        status = live.status
        newer = live.newer_than((session or {}).get("dataset_id"))
        if newer is None:
            return no_update, status_badge(status)
        return {**(session or {}), "dataset_id": newer}, status_badge(status)
