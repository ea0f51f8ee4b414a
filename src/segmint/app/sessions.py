"""Browser sessions of the dashboard: whose uploads are whose, and when they are deleted.

A session is a random id in an HttpOnly cookie. Everything a session uploads (files, datasets) is
visible to that session only; a new session starts on the server's own data (files or workspace
given at start-up) or empty. A session idle for ``idle_minutes`` (default 60) loses its uploads:
files deleted, datasets dropped; all uploads are deleted when the server stops.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

COOKIE = "segmint_session"
DEFAULT_IDLE_MINUTES = 60.0
EXPIRY_CHECK_SECONDS = 30.0  # idle sessions are looked for at most this often


@dataclass
class BrowserSession:
    """One browser's private corner of the server: its upload folder, uploads and datasets."""

    session_id: str
    folder: Path
    last_seen: float
    uploads: dict[str, Any] = field(default_factory=dict)  # token -> segmint.app.uploads.Upload
    dataset_ids: set[str] = field(default_factory=set)
    current_dataset_id: str | None = None  # what a reload of this session shows


class Sessions:
    """All live browser sessions of one dashboard; ``expire`` deletes the idle ones' uploads."""

    def __init__(self, root: Path, *, idle_minutes: float = DEFAULT_IDLE_MINUTES,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.root = root
        self.idle_seconds = idle_minutes * 60
        self._clock = clock
        self._sessions: dict[str, BrowserSession] = {}
        self._lock = threading.Lock()
        self._last_check = clock()

    def new_id(self) -> str:
        """A fresh, unguessable session id."""
        return secrets.token_hex(16)

    def touch(self, session_id: str) -> BrowserSession:
        """The session with this id (created when new), marked as seen now."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                folder = self.root / session_id
                session = BrowserSession(session_id, folder, self._clock())
                self._sessions[session_id] = session
            session.last_seen = self._clock()
            return session

    def get(self, session_id: str | None) -> BrowserSession | None:
        """The live session with this id, or None."""
        with self._lock:
            return self._sessions.get(session_id or "")

    def known(self, session_id: str | None) -> bool:
        """True when ``session_id`` names a live session (unknown ids get a new session)."""
        return self.get(session_id) is not None

    def due(self) -> bool:
        """True at most once per EXPIRY_CHECK_SECONDS: time to look for idle sessions."""
        now = self._clock()
        with self._lock:
            if now - self._last_check < EXPIRY_CHECK_SECONDS:
                return False
            self._last_check = now
            return True

    def expire(self) -> list[BrowserSession]:
        """Remove sessions idle longer than the idle time, delete their files; return them."""
        cutoff = self._clock() - self.idle_seconds
        with self._lock:
            idle = [s for s in self._sessions.values() if s.last_seen < cutoff]
            for session in idle:
                del self._sessions[session.session_id]
        for session in idle:
            _discard(session)
            log.info("session %s idle: its uploads were deleted", session.session_id[:8])
        return idle

    def close(self) -> list[BrowserSession]:
        """Forget every session and delete every upload (server shutdown)."""
        with self._lock:
            every = list(self._sessions.values())
            self._sessions.clear()
        for session in every:
            _discard(session)
        shutil.rmtree(self.root, ignore_errors=True)
        return every


def _discard(session: BrowserSession) -> None:
    for upload in session.uploads.values():
        close = getattr(upload, "close", None)
        if close is not None:
            close()
    session.uploads.clear()
    shutil.rmtree(session.folder, ignore_errors=True)


def current_session_id() -> str | None:
    """The session of the request being served (None outside a request: library use, tests)."""
    from flask import g, has_request_context

    return g.get("segmint_session") if has_request_context() else None


def install(server: Any, sessions: Sessions, on_expired: Callable[[list[BrowserSession]], None]) -> None:
    """Give every request of the Flask ``server`` a session from its cookie (set when missing)."""
    from flask import g, request

    @server.before_request
    def _session() -> None:
        session_id = request.cookies.get(COOKIE)
        if not sessions.known(session_id):
            session_id = sessions.new_id()
        g.segmint_session = session_id
        sessions.touch(session_id)
        if sessions.due():
            expired = sessions.expire()
            if expired:
                on_expired(expired)

    @server.after_request
    def _cookie(response: Any) -> Any:
        session_id = g.get("segmint_session")
        if session_id and request.cookies.get(COOKIE) != session_id:
            response.set_cookie(COOKIE, session_id, httponly=True, samesite="Lax")
        return response
