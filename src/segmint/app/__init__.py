"""Interactive dashboard (Dash): a thin shell over the segmint library."""

from __future__ import annotations

from segmint.app.server import create_app

__all__ = ["create_app"]
