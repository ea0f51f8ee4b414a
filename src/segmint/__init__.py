"""segmint: turn raw sales records into customer segments you can act on."""

from __future__ import annotations

__version__ = "0.1.0"

from segmint.errors import SegmintError  # noqa: E402

__all__ = ["SegmintError", "__version__"]
