"""What each customer did in each calendar period: from the lines, or from a workspace's monthly rollup.

One pass over the transactions gives, per customer and calendar period with any line, the purchases
dated in it (a purchase = an invoice, or a calendar day when there are no invoices, with positive net
value, dated by its first line), the first/last purchase day, net spend and profit
(:func:`period_activity`). A workspace keeps the same per customer and calendar month
(:func:`monthly_rollup`, with lines per day: :class:`Rollup`), and :func:`rollup_activity` sums those
months into periods, so a story on a workspace reads no line.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd

from segmint.coverage import listed_days
from segmint.features import is_positive, money_sum
from segmint.memtables import frame_table

__all__ = ["ROLLUP_COLUMNS", "TRUNCATE", "Rollup", "line_days", "monthly_rollup", "period_activity",
           "rollup_activity"]

TRUNCATE = {"month": "M", "quarter": "Q", "year": "Y"}

# per customer and calendar month: what period_activity needs for any period length and purchase unit
ROLLUP_COLUMNS = {"customer_id": "string", "month": "date", "net": "float64", "profit": "float64",
                  "invoices": "int64", "invoice_first": "date", "invoice_last": "date",
                  "days": "int64", "day_first": "date", "day_last": "date"}


def period_activity(tx: ir.Table, periods: pd.DataFrame, period: str, frequency: str) -> ir.Table:
    """Per customer and period with any line: purchases, first/last purchase day, net, profit."""
    unit = TRUNCATE[period]
    day = tx.invoice_date.date()
    lines = tx.mutate(day=day, period_start=day.truncate(unit))
    key = lines.invoice_id if frequency == "invoices" else lines.day
    units = lines.group_by(customer_id=lines.customer_id, unit=key).aggregate(
        net=lines.amount.sum(), unit_date=lines.day.min()
    )
    bought = units.filter(is_positive(units.net))
    bought = bought.mutate(period_start=bought.unit_date.truncate(unit))
    purchases = bought.group_by("customer_id", "period_start").aggregate(
        purchases=bought.count(), first_day=bought.unit_date.min(), last_day=bought.unit_date.max()
    )
    money = lines.group_by("customer_id", "period_start").aggregate(
        net=money_sum(lines.amount), profit=money_sum(lines.amount - lines.cost),
    )
    return _indexed(money.left_join(purchases, ["customer_id", "period_start"]), periods)


def _indexed(joined: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer and period: the story's period index and the activity columns, typed."""
    index = frame_table(periods[["period_index", "period_start"]].assign(
        period_start=pd.to_datetime(periods["period_start"]).dt.date
    ))
    joined = joined.inner_join(index, joined.period_start.cast("date") == index.period_start)
    return joined.select(
        customer_id=joined.customer_id,
        period_index=joined.period_index.cast("int64"),
        purchases=joined.purchases.fill_null(0).cast("int64"),
        first_day=joined.first_day.cast("date"),
        last_day=joined.last_day.cast("date"),
        net=joined.net.cast("float64"),
        profit=joined.profit.cast("float64"),
    )


@dataclass(frozen=True)
class Rollup:
    """A workspace's per-customer-month totals (:func:`monthly_rollup`) and lines per day, of every line."""

    months: ir.Table
    days: ir.Table  # day, lines (one row or more per day: summed here)

    def day_counts(self) -> list[tuple[dt.date, int]]:
        """:func:`segmint.coverage.day_counts` of the lines, from the stored counts."""
        return listed_days(self.days.group_by("day").aggregate(rows=self.days.lines.sum()))


def line_days(tx: ir.Table) -> ir.Table:
    """Lines per calendar day (what :class:`Rollup` keeps for the periods' coverage)."""
    day = tx.invoice_date.date()
    return tx.group_by(day=day).aggregate(lines=tx.count())


def monthly_rollup(tx: ir.Table) -> ir.Table:
    """Per customer and calendar month with any line: net, profit, and purchases counted both ways.

    ``invoices``/``invoice_first``/``invoice_last``: the invoices with positive net value dated (by
    their first line) in the month, and the first/last such date; ``days``/``day_first``/``day_last``
    the same for calendar days. Summed over the months of a period these are exactly
    :func:`period_activity`'s columns, so a workspace keeps this table and a story reads it instead
    of every line (:func:`rollup_activity`). An invoice is whole in this table: appending lines of
    an invoice already stored needs its customer's rows rebuilt (the workspace does that).
    """
    day = tx.invoice_date.date()
    lines = tx.select("customer_id", "invoice_id", "amount", day=day, profit=tx.amount - tx.cost)
    lines = lines.mutate(month=lines.day.truncate("M"))

    def bought(key: str, prefix: str) -> ir.Table:
        units = lines.group_by("customer_id", key).aggregate(net=lines.amount.sum(), unit_date=lines.day.min())
        units = units.filter(is_positive(units.net))
        month = units.unit_date.truncate("M")
        return units.group_by(customer_id=units.customer_id, month=month).aggregate(**{
            prefix + "s": units.count(), prefix + "_first": units.unit_date.min(),
            prefix + "_last": units.unit_date.max(),
        })

    money = lines.group_by("customer_id", "month").aggregate(net=money_sum(lines.amount), profit=money_sum(lines.profit))
    joined = money.left_join(bought("invoice_id", "invoice"), ["customer_id", "month"])
    joined = joined.left_join(bought("day", "day"), ["customer_id", "month"])
    return joined.select(**{name: joined[name].cast(kind) for name, kind in ROLLUP_COLUMNS.items()})


def rollup_activity(rollup: ir.Table, periods: pd.DataFrame, period: str, frequency: str) -> ir.Table:
    """:func:`period_activity` from a :func:`monthly_rollup` table (months summed into periods)."""
    prefix = "invoice" if frequency == "invoices" else "day"
    start = rollup.month.truncate(TRUNCATE[period]) if period != "month" else rollup.month
    joined = rollup.group_by(customer_id=rollup.customer_id, period_start=start).aggregate(
        purchases=rollup[prefix + "s"].sum(), first_day=rollup[prefix + "_first"].min(),
        last_day=rollup[prefix + "_last"].max(), net=money_sum(rollup.net), profit=money_sum(rollup.profit),
    )
    return _indexed(joined, periods)
