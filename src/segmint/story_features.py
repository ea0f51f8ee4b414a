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

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.features import is_positive

TRUNCATE = {"month": "M", "quarter": "Q", "year": "Y"}

__all__ = ["as_of_features", "period_activity", "period_grid", "within_features"]


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
        net=lines.amount.sum(), profit=(lines.amount - lines.cost).sum(),
    )
    joined = money.left_join(purchases, ["customer_id", "period_start"])
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


def period_grid(activity: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Every customer x period from their first line on, with the period's values and running totals.

    Columns: customer_id, period_index, purchases, first_day, last_day, net, profit (the period's;
    0/null without lines), active, purchases_to_date, net_to_date, profit_to_date,
    first_purchase, last_purchase_to_date, first_active_index (first period active in; null if none).
    """
    index = ibis.memtable(periods[["period_index"]].astype("int64"))
    starts = activity.group_by("customer_id").aggregate(
        first_index=activity.period_index.min(),
        first_active_index=activity.period_index.min(
            where=(activity.purchases > 0) & is_positive(activity.net)
        ),
    )
    grid = starts.cross_join(index).filter(lambda t: t.period_index >= t.first_index)
    rows = grid.left_join(activity, ["customer_id", "period_index"])
    rows = rows.select(
        "customer_id", "period_index", "first_active_index",
        purchases=rows.purchases.fill_null(0), first_day=rows.first_day, last_day=rows.last_day,
        net=rows.net.fill_null(0.0), profit=rows.profit,
    )
    to_date = ibis.window(group_by="customer_id", order_by="period_index", preceding=None, following=0)
    return rows.mutate(
        active=(rows.purchases > 0) & is_positive(rows.net),
        purchases_to_date=rows.purchases.sum().over(to_date).cast("int64"),
        net_to_date=rows.net.sum().over(to_date),
        profit_to_date=rows.profit.sum().over(to_date),
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


def as_of_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer known at each period's scoring date: customer_features as of that date."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    known = rows.filter((rows.purchases_to_date > 0) & is_positive(rows.net_to_date))
    return _features(known, "purchases_to_date", "net_to_date", "profit_to_date", "last_purchase_to_date")


def within_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer active in a period: the same columns on the period's own purchases."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    return _features(rows.filter(rows.active), "purchases", "net", "profit", "last_day")
