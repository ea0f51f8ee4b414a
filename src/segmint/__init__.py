"""segmint: turn raw sales records into customer segments you can act on."""

from __future__ import annotations

__version__ = "0.1.0"

from segmint.errors import SegmintError  # noqa: E402

__all__ = ["SegmintError", "__version__", "analyze", "clv", "read_transactions", "recommend"]


def __getattr__(name: str):  # noqa: ANN202 - lazy re-export keeps `import segmint` light
    if name in ("analyze", "clv", "read_transactions", "recommend", "AnalysisResult", "Transactions"):
        from segmint import api

        return getattr(api, name)
    raise AttributeError(f"module 'segmint' has no attribute {name!r}")
