"""Calendar periods (quarters, months, years): their bounds and labels, and per-customer features per period.

Labels are "2023-Q1", "2023-01" and "2023", the same in Python (``period_label``) and in the engine
(``period_columns``); ``period_features`` is an Ibis expression, so it runs on every engine.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError, Fix
from segmint.features import PERIOD_MONTHS, DateLike, Period, _as_date, filter_window, is_positive

__all__ = ["period_bounds", "period_features", "period_label", "period_starts"]


def check_period(period: str) -> int:
    if period not in PERIOD_MONTHS:
        raise ConfigError(
            f"period={period!r}; choose one of {', '.join(PERIOD_MONTHS)}",
            field="period", value=period, fix=Fix(option="period", choices=tuple(PERIOD_MONTHS)),
        )
    return PERIOD_MONTHS[period]


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def period_bounds(when: DateLike, period: Period = "quarter") -> tuple[dt.date, dt.date]:
    """(first day, first day of the next period) of the calendar period containing ``when``."""
    months = check_period(period)
    day = _as_date(when, "date")
    if day is None:
        raise ConfigError("period_bounds needs a date")
    first = dt.date(day.year, (day.month - 1) // months * months + 1, 1)
    return first, add_months(first, months)


def period_label(when: DateLike, period: Period = "quarter") -> str:
    """Label of the calendar period containing ``when``: "2023-Q1", "2023-01" or "2023"."""
    first, _ = period_bounds(when, period)
    if period == "year":
        return f"{first.year}"
    if period == "month":
        return f"{first.year}-{first.month:02d}"
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def period_starts(first: DateLike, last: DateLike, period: Period = "quarter") -> list[dt.date]:
    """First days of every calendar period from the one containing ``first`` to ``last``'s."""
    months = check_period(period)
    current, _ = period_bounds(first, period)
    stop, _ = period_bounds(last, period)
    starts = []
    while current <= stop:
        starts.append(current)
        current = add_months(current, months)
    return starts


def period_columns(day: ir.DateValue, period: str) -> tuple[ir.StringValue, ir.DateValue]:
    """Ibis (label, period_start) for a date column; same labels as ``period_label``."""
    year = day.year().cast("string")
    if period == "year":
        return year, day.truncate("Y")
    if period == "month":
        return year + "-" + day.month().cast("string").lpad(2, "0"), day.truncate("M")
    return year + "-Q" + day.quarter().cast("string"), day.truncate("Q")


def period_features(
    tx: ir.Table,
    *,
    period: Period = "quarter",
    start: DateLike = None,
    end: DateLike = None,
    org: str | list[str] | None = None,
) -> ir.Table:
    """Per customer and calendar period with any transaction: frequency, monetary, profit, recency.

    Recency is measured from the day after the period's last day (the period's own snapshot) and is
    null when the period holds only returns; ``active`` is True when the period has a purchase.
    """
    months = check_period(period)
    window = filter_window(tx, start=start, end=end, org=org)
    day = window.invoice_date.date()
    label, period_start = period_columns(day, period)
    lines = window.mutate(period=label, period_start=period_start, day=day)
    invoices = lines.group_by("customer_id", "period", "period_start", "invoice_id").aggregate(
        net=lines.amount.sum(), unit_date=lines.day.min()
    )
    per_period = invoices.group_by("customer_id", "period", "period_start").aggregate(
        frequency=is_positive(invoices.net).sum(),
        last_purchase=invoices.unit_date.max(where=is_positive(invoices.net)),
    )
    money = lines.group_by("customer_id", "period").aggregate(
        monetary=lines.amount.sum(), profit=(lines.amount - lines.cost).sum()
    )
    joined = per_period.inner_join(money, ["customer_id", "period"])
    period_end = joined.period_start + ibis.interval(months=months)
    return joined.select(
        customer_id=joined.customer_id,
        period=joined.period,
        period_start=joined.period_start,
        frequency=joined.frequency.cast("int64"),
        monetary=joined.monetary.cast("float64"),
        profit=joined.profit.cast("float64"),
        recency_days=period_end.delta(joined.last_purchase, unit="day").cast("int64"),
        active=joined.frequency > 0,
    ).order_by("customer_id", "period_start")
