"""How cleaning treats returns, duplicates, ambiguous dates, implausible dates and the last period."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from segmint.units import has_value_column

__all__ = ["EARLIEST_DATE", "CleanOptions", "latest_date", "latest_date_default", "unpriced"]

# 1900-01-01 (Excel's day 1, SQL Server's default) and Excel's day 0 (1899-12-30/31) stand for a missing
# date in exports, never for a sale: one such line stretched a 2023 log back 123 years (a story of 494
# quarters), so the first plausible day is the one after
EARLIEST_DATE = dt.date(1900, 1, 2)
PLACEHOLDER_NOTE = "1900-01-01 and Excel's day 0 stand for a missing date"


def latest_date_default() -> dt.date:
    """The last plausible sale date when none is configured: one year from today."""
    today = dt.date.today()
    return today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else today + timedelta(days=365)


class CleanOptions(BaseModel):
    """How cleaning treats returns, duplicates, ambiguous dates, implausible dates and the last period."""

    model_config = ConfigDict(extra="forbid")

    returns: Literal["net", "drop"] = "net"
    drop_duplicates: bool | None = None  # None = drop exact duplicates only with an invoice column
    dayfirst: bool | None = None  # overrides ColumnMapping.dayfirst; None = decide from evidence
    date_format: str | None = None  # strptime format; overrides ColumnMapping.date_format
    decimal_comma: bool | None = None  # reading of ambiguous '1.234'; None = decide from evidence
    trailing_period: Literal["month", "quarter"] = "month"
    earliest_date: dt.date = EARLIEST_DATE  # dates before it are dropped (date_out_of_range)
    latest_date: dt.date | None = None  # dates after it are dropped; None = one year from today
    # no amount and no price column (basket logs): "error", or "units" = each line valued at its
    # quantity, so product analyses can run; money figures then count items
    unpriced: Literal["error", "units"] = "error"


def latest_date(options: CleanOptions) -> dt.date:
    """The last plausible sale date: the configured one, else :func:`latest_date_default`."""
    return options.latest_date or latest_date_default()


def unpriced(fields: list[str], options: CleanOptions) -> bool:
    """No amount and no price mapped, and the options value each line at its quantity."""
    return options.unpriced == "units" and not has_value_column(fields)
