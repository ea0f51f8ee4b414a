"""Errors a business user can act on: each names the file, row/column and the fix."""

from __future__ import annotations


class SegmintError(Exception):
    """Base class for every error segmint raises on purpose."""


class InputError(SegmintError):
    """A file cannot be read (missing, unsupported format, unreadable encoding)."""


class MappingError(SegmintError):
    """Columns could not be mapped to the canonical schema (missing or ambiguous)."""


class DataError(SegmintError):
    """Values in the data cannot be used (no parseable rows, impossible dates, ...)."""


class ConfigError(SegmintError):
    """A configuration file or parameter is invalid."""


class BackendError(SegmintError):
    """The compute backend (DuckDB, Spark, PostgreSQL) is unavailable or misconfigured."""
