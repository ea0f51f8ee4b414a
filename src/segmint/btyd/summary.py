"""The BTYD summary per customer (frequency, recency, T, mean repeat value), computed by the engine.

Definitions (the conventions of Fader, Hardie & Lee 2005 and of the published CDNOW fits):

* A *purchase occasion* is a calendar day on which the customer has at least one sales line (not a
  return): several invoices on one day are one occasion. A day whose returns cancel its sales (net
  value <= 0 while it had sales) is not a purchase; a free order (all lines zero-valued, no returns)
  is, as in the CDNOW logs the published fits use.
* Calibration: occasions on days up to and including ``calibration_end``. ``frequency`` = occasions
  - 1 (repeat purchases), ``recency`` = last - first occasion, ``T`` = ``calibration_end`` - first
  occasion, both in ``time_unit`` (day = 1 day, week = 7 days, month = 365.25 / 12 days; fractions
  kept). ``monetary_value`` = mean net value of the repeat occasions (the first one is left out;
  null when frequency = 0); ``calibration_value`` = the net value of all of them (0: free orders only);
  ``first_paid_purchase``/``last_paid_purchase`` = the first and last occasion of positive value: the
  customer's purchases as :mod:`segmint.features`, the story and the cohorts date them (CDNOW 10824: a
  $0.00 order on 1997-02-08 starts ``T``, the first paid purchase is 1997-11-21).
* Holdout: occasions after ``calibration_end`` up to ``holdout_end`` of customers first seen in the
  calibration period (``holdout_frequency``, ``holdout_value``).

Everything is an Ibis expression, so it runs unchanged on DuckDB, Spark and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError
from segmint.features import (
    MONEY_EPSILON,
    DateLike,
    _as_date,
    default_snapshot_date,
    filter_window,
    is_positive,
    money_round,
    money_sum,
)

TimeUnit = Literal["day", "week", "month"]
UNIT_DAYS: dict[str, float] = {"day": 1.0, "week": 7.0, "month": 365.25 / 12}
PERIOD_DAYS: dict[str, float] = {**UNIT_DAYS, "year": 365.25}

__all__ = [
    "PERIOD_DAYS",
    "UNIT_DAYS",
    "SummaryWindow",
    "btyd_summary",
    "purchase_occasions",
    "repeat_purchases_by_day",
    "resolve_window",
    "unit_days",
]


def unit_days(unit: str) -> float:
    """Length of one ``time_unit`` in days; ConfigError naming the choices otherwise."""
    if unit not in UNIT_DAYS:
        raise ConfigError(f"time_unit={unit!r} is not a time unit; choose day, week or month")
    return UNIT_DAYS[unit]


def unit_label(unit: str, amount: float = 2.0) -> str:
    """'week' / 'weeks' for printing amounts of ``unit``."""
    return unit if amount == 1 else f"{unit}s"


@dataclass(frozen=True)
class SummaryWindow:
    """The calibration and holdout periods of one summary (dates inclusive)."""

    first_day: dt.date
    calibration_end: dt.date
    holdout_end: dt.date | None  # None: no holdout (calibration runs to the end of the data)
    time_unit: str
    last_day: dt.date | None = None  # the last transaction (the window's ends may lie after it)

    def beyond_the_data(self) -> list[str]:
        """Notes for a calibration or holdout end after the last transaction: the days between count as
        days seen without a purchase (every T grows, P(alive) falls), right only when the data run to it."""
        if self.last_day is None:
            return []
        ends = (("calibration end", self.calibration_end), ("holdout end", self.holdout_end))
        return [
            f"the {name} {day} is {(day - self.last_day).days:,} days after the last transaction "
            f"({self.last_day}): those days count as days each customer was seen buying nothing, which lowers "
            "P(alive) and the forecasts; choose an earlier date unless the data really run to it"
            for name, day in ends if day is not None and day > self.last_day
        ]

    @property
    def holdout_length(self) -> float:
        """Holdout length in ``time_unit`` (0 without a holdout)."""
        if self.holdout_end is None:
            return 0.0
        return (self.holdout_end - self.calibration_end).days / unit_days(self.time_unit)


def purchase_occasions(tx: ir.Table) -> ir.Table:
    """customer_id, day, value: one row per purchase occasion (see the module docstring)."""
    sale = ~tx.is_return.fill_null(False)
    days = tx.group_by(customer_id=tx.customer_id, day=tx.invoice_date.date()).aggregate(
        value=money_sum(tx.amount),  # money sums rounded where formed: the same whatever the adding order
        sales=money_round(tx.amount.sum(where=sale)),
        sales_lines=tx.count(where=sale),
    )
    free_order = (days.value.abs() <= MONEY_EPSILON) & (days.sales.fill_null(0.0).abs() <= MONEY_EPSILON)
    bought = days.filter((days.sales_lines > 0) & (is_positive(days.value) | free_order))
    return bought.select("customer_id", "day", value=bought.value.cast("float64"))


def resolve_window(
    tx: ir.Table,
    *,
    calibration_end: DateLike = None,
    holdout_end: DateLike = None,
    time_unit: str = "week",
    start: DateLike = None,
    org: str | list[str] | None = None,
) -> SummaryWindow:
    """Dates of the calibration and holdout periods (defaults from the data: one min/max query)."""
    unit_days(time_unit)
    window = filter_window(tx, start=start, org=org)
    bounds = window.aggregate(first=window.invoice_date.min(), last=window.invoice_date.max()).execute()
    first, last = bounds["first"].iloc[0], bounds["last"].iloc[0]
    if first is None or first != first:
        default_snapshot_date(window, tx)  # DataError naming the dates the data cover
    first_day, last_day = first.date(), last.date()
    calibration = _as_date(calibration_end, "calibration_end") or last_day
    holdout = _as_date(holdout_end, "holdout_end")
    if calibration < first_day:
        raise ConfigError(
            f"calibration_end {calibration} is before the first transaction ({first_day}); "
            f"choose a date between {first_day} and {last_day}"
        )
    if holdout is None and calibration < last_day:
        holdout = last_day
    if holdout is not None and holdout <= calibration:
        raise ConfigError(f"holdout_end {holdout} must be after calibration_end {calibration}")
    return SummaryWindow(first_day, calibration, holdout, time_unit, last_day)


def _day(value: dt.date) -> ir.DateScalar:
    return ibis.literal(value, type="date")


def btyd_summary(tx: ir.Table, window: SummaryWindow, *, start: DateLike = None,
                 org: str | list[str] | None = None) -> ir.Table:
    """Per customer first seen by ``window.calibration_end``: frequency, recency, T, monetary_value (+ holdout)."""
    per_unit = unit_days(window.time_unit)
    last_day = window.holdout_end or window.calibration_end
    occasions = purchase_occasions(filter_window(tx, start=start, end=last_day, org=org))
    calibration = occasions.filter(occasions.day <= _day(window.calibration_end))
    first_day = calibration.day.min().over(group_by=calibration.customer_id)
    calibration = calibration.mutate(is_first=calibration.day == first_day)
    per_customer = calibration.group_by("customer_id").aggregate(
        occasions=calibration.count(),
        first_purchase=calibration.day.min(),
        last_purchase=calibration.day.max(),
        # paid purchases (positive value), as features, the story and the cohorts date them: a free order is
        # an occasion of the model (T runs from it) but no purchase of the customer's (clv.csv's dates)
        first_paid=calibration.day.min(where=is_positive(calibration.value)),
        last_paid=calibration.day.max(where=is_positive(calibration.value)),
        repeat_value=money_round(calibration.value.sum(where=~calibration.is_first)),
        calibration_value=money_round(calibration.value.sum()),
    )
    frequency = (per_customer.occasions - 1).cast("int64")
    recency_days = per_customer.last_purchase.delta(per_customer.first_purchase, unit="day")
    age_days = _day(window.calibration_end).delta(per_customer.first_purchase, unit="day")
    summary = per_customer.select(
        customer_id=per_customer.customer_id,
        frequency=frequency,
        recency=recency_days.cast("float64") / per_unit,
        T=age_days.cast("float64") / per_unit,
        monetary_value=ibis.cases(
            (frequency > 0, money_round(per_customer.repeat_value.cast("float64") / frequency.cast("float64"))),
            else_=ibis.null("float64"),
        ),
        first_purchase=per_customer.first_purchase,
        last_purchase=per_customer.last_purchase,
        first_paid_purchase=per_customer.first_paid,
        last_paid_purchase=per_customer.last_paid,
        calibration_value=per_customer.calibration_value.cast("float64"),
    )
    if window.holdout_end is None:
        return summary.order_by("customer_id")
    holdout = occasions.filter(occasions.day > _day(window.calibration_end))
    later = holdout.group_by("customer_id").aggregate(
        holdout_frequency=holdout.count(), holdout_value=money_sum(holdout.value)
    )
    joined = summary.left_join(later, "customer_id").drop("customer_id_right")
    return joined.mutate(
        holdout_frequency=joined.holdout_frequency.fill_null(0).cast("int64"),
        holdout_value=joined.holdout_value.fill_null(0.0).cast("float64"),
    ).order_by("customer_id")


def repeat_purchases_by_day(tx: ir.Table, window: SummaryWindow, *, start: DateLike = None,
                            org: str | list[str] | None = None) -> ir.Table:
    """day, repeat_purchases: repeat occasions per day of customers first seen in the calibration period."""
    last_day = window.holdout_end or window.calibration_end
    occasions = purchase_occasions(filter_window(tx, start=start, end=last_day, org=org))
    first_day = occasions.day.min().over(group_by=occasions.customer_id)
    marked = occasions.mutate(first_day=first_day)
    repeats = marked.filter(
        (marked.day > marked.first_day) & (marked.first_day <= _day(window.calibration_end))
    )
    return repeats.group_by("day").aggregate(repeat_purchases=repeats.count()).order_by("day")
