"""Build the Dash app: load the given data into server-side state, wire layout and page callbacks."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import dash

from segmint.app import callbacks, layout
from segmint.app.pages import (
    customers,
    distributions,
    overview,
    segments,
    story,
    upload,
)
from segmint.app.state import AppState

log = logging.getLogger(__name__)

PAGES: dict[str, Any] = {
    "/": overview,
    "/segments": segments,
    "/distributions": distributions,
    "/story": story,
    "/customers": customers,
    "/upload": upload,
}


def load_inputs(state: AppState, inputs: list[str] | None, workspace: str | Path | None) -> None:
    """Read files (cleaned with the detected mapping) or a workspace into ``state`` as the default dataset."""
    if workspace is not None:
        from segmint.engine import Workspace

        ws = Workspace(workspace)
        state.add_dataset(ws.transactions(), Path(workspace).name, default=True)
    if inputs:
        from segmint.api import read_transactions

        source: str | list[str] = inputs[0] if len(inputs) == 1 else list(inputs)
        label = Path(inputs[0]).name + (f" + {len(inputs) - 1} more" if len(inputs) > 1 else "")
        state.add_dataset(read_transactions(source), label, default=True)


def create_app(
    inputs: list[str] | None = None,
    *,
    workspace: str | Path | None = None,
    transactions: Any = None,
    max_upload_mb: float = 200,
    state: AppState | None = None,
) -> dash.Dash:
    """The dashboard over ``inputs`` files, a ``workspace``, or ready ``transactions`` (else upload first).

    ``max_upload_mb`` caps uploads (checked in the browser, again on the server, and by Flask).
    """
    state = state or AppState()
    load_inputs(state, inputs, workspace)
    if transactions is not None:
        state.add_dataset(transactions, getattr(transactions, "label", "transactions"), default=True)
    # Bootstrap (Bootswatch Flatly, MIT) is served from assets/, so the app also works offline.
    app = dash.Dash(
        __name__,
        title="segmint",
        suppress_callback_exceptions=True,
        assets_folder=str(Path(__file__).parent / "assets"),
    )
    # base64 inflates uploads by 4/3; leave room for the rest of the request
    app.server.config["MAX_CONTENT_LENGTH"] = int(max_upload_mb * 2**20 * 4 / 3) + 2**20
    app.layout = layout.shell(state, int(max_upload_mb))
    app.segmint_state = state  # for tests and embedding; per app, never shared across apps
    callbacks.register(app, state, PAGES)
    for module in (overview, segments, distributions, story, customers):
        module.register(app, state)
    upload.register(app, state, max_upload_mb)
    return app
