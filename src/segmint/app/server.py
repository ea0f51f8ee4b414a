"""Build the Dash app: load the given data into server-side state, wire layout and page callbacks."""

from __future__ import annotations

import atexit
import importlib
import logging
from pathlib import Path
from typing import Any

import dash

from segmint.app import api, callbacks, layout, live, sessions
from segmint.app.sessions import DEFAULT_IDLE_MINUTES
from segmint.app.state import AppState

log = logging.getLogger(__name__)


def page_modules() -> dict[str, Any]:
    """URL path -> page module, for every page in ``layout.PAGES``."""
    return {page.path: importlib.import_module(f"segmint.app.pages.{page.module}") for page in layout.PAGES}


def load_inputs(
    state: AppState, inputs: list[str] | None, workspace: str | Path | None, refresh_seconds: float,
    *, warm: bool = False,
) -> live.LiveWorkspace | None:
    """Read files (cleaned with the detected mapping) or follow a workspace as the default dataset."""
    follower = None
    if workspace is not None:
        follower = live.LiveWorkspace(state, workspace, interval=refresh_seconds, warm=warm)
        follower.load()
    if inputs:
        from segmint.api import read_transactions

        source: str | list[str] = inputs[0] if len(inputs) == 1 else list(inputs)
        label = Path(inputs[0]).name + (f" + {len(inputs) - 1} more" if len(inputs) > 1 else "")
        state.add_dataset(read_transactions(source), label, default=True)
    return follower


def create_app(
    inputs: list[str] | None = None,
    *,
    workspace: str | Path | None = None,
    transactions: Any = None,
    max_upload_mb: float = 200,
    refresh_seconds: float = live.DEFAULT_INTERVAL,
    upload_idle_minutes: float = DEFAULT_IDLE_MINUTES,
    state: AppState | None = None,
    warm: bool = True,
    ledger: Any = None,
) -> dash.Dash:
    """The dashboard over ``inputs`` files, a ``workspace``, or ready ``transactions`` (else upload first).

    ``ledger`` (ledger files or a read :class:`segmint.io.ledger.Ledger`) feeds the Credit page of the
    default dataset; a workspace that holds a ledger (``segmint demo``) feeds it by itself.

    A ``workspace`` is followed live: checked every ``refresh_seconds`` and re-read when an import
    changed it, without ever holding the file open. ``max_upload_mb`` caps uploads (checked in the
    browser, again while the server writes the file); a browser session's uploads are private and
    deleted after ``upload_idle_minutes`` without a request from it, and at exit. ``warm`` computes
    the first view's analysis before returning, so the first page load only queries it.
    """
    if state is None:
        state = AppState(upload_idle_minutes=upload_idle_minutes)
        atexit.register(state.close)
    follower = load_inputs(state, inputs, workspace, refresh_seconds, warm=warm)
    if transactions is not None:
        state.add_dataset(transactions, getattr(transactions, "label", "transactions"), default=True)
    if ledger is not None and state.default_dataset_id is not None:
        from segmint.io.ledger import Ledger, read_ledger

        state.credit.set_ledger(state.default_dataset_id, ledger if isinstance(ledger, Ledger) else read_ledger(ledger))
    if warm and state.default_dataset_id is not None and follower is None:
        state.warm(state.default_dataset_id)
    # Bootstrap (Bootswatch Flatly, MIT) is served from assets/, so the app also works offline.
    app = dash.Dash(
        __name__,
        title="segmint",
        suppress_callback_exceptions=True,
        assets_folder=str(Path(__file__).parent / "assets"),
    )
    app.server.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 2**20) + 2**20  # files arrive as raw bytes
    sessions.install(app.server, state.sessions, state.forget_sessions)
    tick_ms = int(min(live.TICK_SECONDS, refresh_seconds) * 1000) if follower is not None else None
    app.layout = layout.shell(state, int(max_upload_mb), tick_ms)
    app.segmint_state = state  # for tests and embedding; per app, never shared across apps
    app.segmint_live = follower
    pages = page_modules()
    callbacks.register(app, state, pages)
    for path, module in pages.items():
        if path == "/upload":
            module.register(app, state, max_upload_mb)
        else:
            module.register(app, state)
    live.register(app, follower)
    api.register(app.server, state, follower)
    if follower is not None:
        follower.start()
    return app


# Modules that pages load on their first use (scikit-learn with SciPy: about a second, for the Products
# page's blend, the Value page's model checks and clusters); the served dashboard imports them on a
# background thread after start, so the first visit to those pages does not wait for them.
WARM_MODULES = ("sklearn.linear_model", "sklearn.cluster", "scipy.optimize", "scipy.special")


def warm_imports(modules: tuple[str, ...] = WARM_MODULES) -> None:
    """Import ``modules`` (each once; a missing one is skipped: the page that needs it says so itself)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            log.debug("warming %s: not installed", name)


def warm_in_background() -> None:
    """Start :func:`warm_imports` on a daemon thread (never delays the first page nor the server's exit)."""
    import threading

    threading.Thread(target=warm_imports, name="segmint-warm-imports", daemon=True).start()
