"""Errors a business user can act on: each names the file, row/column and value, and carries the fix as data.

The message says what is wrong in the data's own terms and never names a command-line flag or a
dashboard control: ``field``, ``value`` and ``fix`` carry the rest, and each front end renders the fix
its own way (the CLI as flags such as ``--map "Party=customer_id"``, the dashboard as "choose the
column in the mapping table").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "BackendError",
    "ConfigError",
    "DataError",
    "Fix",
    "InputError",
    "MappingError",
    "SegmintError",
]


@dataclass(frozen=True)
class Fix:
    """What to change, as data: the library parameter to set and a value that would work.

    ``option`` is a parameter name of ``segmint.api`` (``mapping``, ``scheme``, ``snapshot_date``,
    ``start``, ``end``, ``org``, ``fmt``, ``config``, ``drop_partial``, ``kind``, ...), a column mapping
    setting (``date_format``: the error's ``field`` is the column) or a scheme setting (``rfm.bins``);
    ``example`` a value that works (for ``mapping``: ``{field: column}``; for ``date_format``: a layout
    that reads the error's ``value``, None when none is known);
    ``choices`` the accepted values when they are a short list; ``note`` a plain-language hint;
    ``remove`` true when the fix is to leave the parameter out (a filter the data cannot meet).
    """

    option: str
    example: Any = None
    choices: tuple[str, ...] = ()
    note: str = ""
    remove: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))


class SegmintError(Exception):
    """Base class for every error segmint raises on purpose.

    ``field`` names the column, parameter or setting at fault, ``value`` the offending value and
    ``fix`` what to change (see :class:`Fix`); all three are optional.
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        fix: Fix | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.value = value
        self.fix = fix

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for the JSON API): kind, message, field, value and fixes."""
        return {
            "error": type(self).__name__,
            "message": self.message,
            "field": self.field,
            "value": None if self.value is None else str(self.value),
            "fix": None if self.fix is None else {
                "option": self.fix.option, "example": self.fix.example,
                "choices": list(self.fix.choices), "note": self.fix.note,
            },
        }


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
