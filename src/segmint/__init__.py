"""segmint: turn raw sales records into customer segments you can act on."""

from __future__ import annotations

__version__ = "0.1.0"

from segmint.errors import SegmintError  # noqa: E402

# Re-exported from segmint.api on first use (keeps `import segmint` light): api.__all__ except names
# taken by a submodule (``segmint.story`` is the story module; the function is ``segmint.api.story``).
_API = (
    "AnalysisConfig",
    "AnalysisResult",
    "MappingLike",
    "Source",
    "Transactions",
    "analyze",
    "clean_raw",
    "clv",
    "load_analysis_config",
    "read_transactions",
    "recommend",
)

__all__ = ["SegmintError", "__version__", *_API]


def __getattr__(name: str) -> object:
    """Lazy re-export of the public API from :mod:`segmint.api`."""
    if name == "credit":  # the package segmint.credit, callable: segmint.credit(...) is segmint.api.credit(...)
        import segmint.credit

        return segmint.credit
    if name in _API:
        from segmint import api

        return getattr(api, name)
    raise AttributeError(f"module 'segmint' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
