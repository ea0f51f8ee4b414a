"""Modules a one-shot command needs next, imported by a second thread while the first waits on DuckDB.

DuckDB runs a statement without holding Python's GIL: while the main thread reads a file, a second
thread can import what cleaning and the results need, on the machine's other core (on one thread the
import and the read take turns). Only a process that runs one command asks for it (:func:`allow`,
called by the ``segmint`` command); a library caller imports as usual, when a module is first used.
An import that fails in the thread is not lost: the module is left out of ``sys.modules`` and the main
thread's own import of it raises the same error where the module is needed.
"""

from __future__ import annotations

import importlib
import logging
import threading

__all__ = ["allow", "start"]

log = logging.getLogger(__name__)

# the modules :func:`allow` named, imported by the one thread :func:`start` starts
_PENDING: list[tuple[str, ...]] = []


def allow(*modules: str) -> None:
    """Let the next :func:`start` import ``modules`` (in order) in a second thread."""
    _PENDING[:] = [modules]


def start() -> threading.Thread | None:
    """Start importing the modules :func:`allow` named (once); None when none were named.

    Called where the main thread is about to wait on DuckDB (reading a file), after the libraries
    both threads use (Ibis, pydantic, DuckDB) are imported: two threads importing the same package's
    circular imports at once could each wait for the other."""
    if not _PENDING:
        return None
    modules = _PENDING.pop()
    thread = threading.Thread(target=_import_all, args=(modules,), name="segmint-imports", daemon=True)
    thread.start()
    return thread


def _import_all(modules: tuple[str, ...]) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - raised again by the main thread's own import
            log.debug("importing %s in the background failed; the main thread imports it", name, exc_info=True)
            return
