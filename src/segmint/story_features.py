"""Per customer and period: what they did inside the period, and where they stood at its end.

One pass over the transactions gives, per customer and calendar period with any line, the purchases
dated in it (a purchase = an invoice, or a calendar day when there are no invoices, with positive net
value, dated by its first line), the first/last purchase day, net spend and profit. From that:

* the *grid*: one row per customer and period, from the customer's first period with any line to
  the last period of the story, with running totals (``*_to_date``);
* ``as_of_features``: the features :func:`segmint.features.customer_features` would give with the
  snapshot at each period's scoring date (the day after the period's last covered day): recency to
  that date, frequency/monetary/profit on all history up to it, tenure, first/last purchase. Only
  customers *known* at that date (a purchase, and positive net spend to date) have a row, exactly
  the population ``customer_features`` keeps;
* ``within_features``: the same columns computed on the period's own purchases (recency from the
  period's scoring date to the last purchase in it), for customers *active* in it (a purchase and
  positive net spend in the period).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.coverage import listed_days
from segmint.features import is_positive, money_round, money_sum

TRUNCATE = {"month": "M", "quarter": "Q", "year": "Y"}

__all__ = [
    "ROLLUP_COLUMNS",
    "Rollup",
    "as_of_features",
    "as_of_rows",
    "customer_starts",
    "line_days",
    "monthly_rollup",
    "period_activity",
    "period_grid",
    "rollup_activity",
    "scores_by_counts",
    "within_features",
]

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
    index = ibis.memtable(periods[["period_index", "period_start"]].assign(
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


def customer_starts(activity: ir.Table) -> ir.Table:
    """Per customer: first period with a line, first active period, and an integer key in id order."""
    starts = activity.group_by("customer_id").aggregate(
        first_index=activity.period_index.min(),
        first_active_index=activity.period_index.min(
            where=(activity.purchases > 0) & is_positive(activity.net)
        ),
    )
    return starts.mutate(customer_key=ibis.row_number().over(order_by="customer_id"))


def period_grid(activity: ir.Table, periods: pd.DataFrame, starts: ir.Table | None = None) -> ir.Table:
    """Every customer x period from their first line on, with the period's values and running totals.

    Columns: customer_id, period_index, purchases, first_day, last_day, net, profit (the period's;
    0/null without lines), active, purchases_to_date, net_to_date, profit_to_date,
    first_purchase, last_purchase_to_date, first_active_index (first period active in; null if none).
    With ``starts`` (:func:`customer_starts`, materialised) ``customer_id`` is the integer key: every
    later join, window and sort of the story runs on integers.
    """
    index = ibis.memtable(periods[["period_index"]].astype("int64"))
    if starts is None:
        starts = customer_starts(activity).drop("customer_key")
    grid = starts.cross_join(index).filter(lambda t: t.period_index >= t.first_index)
    rows = grid.left_join(activity, ["customer_id", "period_index"])
    rows = rows.select(
        customer_id=rows.customer_key if "customer_key" in starts.columns else rows.customer_id,
        period_index=rows.period_index, first_active_index=rows.first_active_index,
        purchases=rows.purchases.fill_null(0), first_day=rows.first_day, last_day=rows.last_day,
        net=rows.net.fill_null(0.0), profit=rows.profit,
    )
    to_date = ibis.window(group_by="customer_id", order_by="period_index", preceding=None, following=0)
    return rows.mutate(
        active=(rows.purchases > 0) & is_positive(rows.net),
        purchases_to_date=rows.purchases.sum().over(to_date).cast("int64"),
        net_to_date=money_round(rows.net.sum().over(to_date)),
        profit_to_date=money_round(rows.profit.sum().over(to_date)),
        first_purchase=rows.first_day.min().over(to_date),
        last_purchase_to_date=rows.last_day.max().over(to_date),
    )


def _snapshots(periods: pd.DataFrame) -> ir.Table:
    """period_index -> snapshot (the day after the period's last covered day) and period_start."""
    frame = pd.DataFrame({
        "period_index": periods["period_index"].astype("int64"),
        "snapshot": [pd.Timestamp(d).date() + dt.timedelta(days=1) for d in periods["as_of"]],
        "period_start": [pd.Timestamp(d).date() for d in periods["period_start"]],
    })
    return ibis.memtable(frame)


def _features(rows: ir.Table, purchases: str, net: str, profit: str, last: str) -> ir.Table:
    """customer_features' columns from the grid's columns named (the period's or the running ones)."""
    frequency = rows[purchases].cast("int64")
    return rows.select(
        customer_id=rows.customer_id,
        period_index=rows.period_index,
        recency_days=rows.snapshot.delta(rows[last], unit="day").cast("int64"),
        frequency=frequency,
        monetary=rows[net].cast("float64"),
        revenue=rows[net].cast("float64"),
        avg_order_value=(rows[net] / frequency.cast("float64")).cast("float64"),
        profit=rows[profit].cast("float64"),
        tenure_days=rows.snapshot.delta(rows.first_purchase, unit="day").cast("int64"),
        first_purchase=rows.first_purchase,
        last_purchase=rows[last],
    )


def as_of_rows(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Every grid row with :func:`as_of_features`' columns added and ``known`` (the rows those keep).

    Scoring these in place (ranks among the known rows of each period) gives the as-of segments
    without joining features and labels back onto the grid.
    """
    rows = grid.inner_join(_snapshots(periods).drop("period_start"), "period_index")
    known = (rows.purchases_to_date > 0) & is_positive(rows.net_to_date)
    return rows.mutate(
        known=known,
        recency_days=rows.snapshot.delta(rows.last_purchase_to_date, unit="day").cast("int64"),
        frequency=rows.purchases_to_date.cast("int64"),
        monetary=rows.net_to_date.cast("float64"),
        tenure_days=rows.snapshot.delta(rows.first_purchase, unit="day").cast("int64"),
    ).drop("snapshot")


def scores_by_counts(rows: ir.Table, bins: int, by: str) -> ir.Table:
    """:func:`segmint.segment.rfm.rfm_scores` (``by`` groups) with R and F from counts of each distinct value.

    A score needs the number of rows of its group with a strictly worse value: for recency and
    frequency (a few hundred distinct values a period) counting the distinct values and summing the
    counts of the worse ones gives it from a small table joined back, instead of ranking (sorting)
    every customer-period; M (nearly one value per customer) is ranked.
    """
    from segmint.segment.rfm import quantile_score, with_cells

    sizes = rows.group_by(by).aggregate(_n=rows.count())
    scored = rows.inner_join(sizes, by)
    # monetary is nearly unique per customer: counting its values is a sort anyway, so it is ranked
    worse = ibis.rank().over(group_by=by, order_by=scored.monetary)
    scored = scored.mutate(m_score=quantile_score(worse, scored._n, bins))
    for score, column, worse_first in (("r_score", "recency_days", True), ("f_score", "frequency", False)):
        counted = rows.group_by(by, column).aggregate(_k=rows.count())
        order = ibis.desc(counted[column]) if worse_first else counted[column]
        before = ibis.window(group_by=by, order_by=order, preceding=None, following=0)
        counted = counted.select(_group=counted[by], _value=counted[column],
                                 _worse=counted._k.sum().over(before) - counted._k)
        scored = scored.left_join(counted, [scored[by] == counted._group, scored[column] == counted._value])
        scored = scored.mutate(**{score: quantile_score(scored._worse, scored._n, bins)})
        scored = scored.drop("_group", "_value", "_worse")
    return with_cells(scored.drop("_n"))


def as_of_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer known at each period's scoring date: customer_features as of that date."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    known = rows.filter((rows.purchases_to_date > 0) & is_positive(rows.net_to_date))
    return _features(known, "purchases_to_date", "net_to_date", "profit_to_date", "last_purchase_to_date")


def within_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer active in a period: the same columns on the period's own purchases."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    return _features(rows.filter(rows.active), "purchases", "net", "profit", "last_day")
