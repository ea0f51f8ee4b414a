"""Per customer and period: where they stood at each period's end, and what they did inside it.

From each customer's activity per period (:mod:`segmint.story_activity`: purchases, first/last
purchase day, net spend and profit, from the lines or a workspace's rollup):

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

The activity and the as-of R/F/M scores (:mod:`segmint.story_scores`) lived here: their names stay
importable from here.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.features import is_positive, money_round, money_total
from segmint.memtables import frame_table
from segmint.story_activity import TRUNCATE  # noqa: F401 - lived here
from segmint.story_activity import (
    ROLLUP_COLUMNS,
    Rollup,
    line_days,
    monthly_rollup,
    period_activity,
    rollup_activity,
)
from segmint.story_scores import score_cuts, scores_by_order

__all__ = [
    "ROLLUP_COLUMNS",
    "Rollup",
    "as_of_features",
    "activity_retention",
    "as_of_rows",
    "current_grid",
    "customer_starts",
    "line_days",
    "monthly_rollup",
    "period_activity",
    "period_grid",
    "rollup_activity",
    "score_cuts",
    "scores_by_order",
    "within_features",
]


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

    The running totals are taken over the periods with lines only (one window over ``activity``); each
    of those rows then stands for itself and the empty periods up to the customer's next line, whose
    totals it carries (an ``unnest`` of the period range), instead of a customer x period grid joined
    with the activity and windowed.
    """
    if starts is None:
        starts = customer_starts(activity).drop("customer_key")
    keyed = "customer_key" in starts.columns
    joined = activity.inner_join(starts, "customer_id")
    key = joined.customer_key if keyed else joined.customer_id
    act = joined.select(
        "period_index", "purchases", "first_day", "last_day", "net", "profit", "first_active_index", _key=key,
    )
    to_date = ibis.window(group_by="_key", order_by="period_index", preceding=None, following=0)
    ordered = ibis.window(group_by="_key", order_by="period_index")
    end = int(periods["period_index"].max()) + 1
    act = act.mutate(
        purchases_to_date=act.purchases.sum().over(to_date).cast("int64"),
        net_to_date=money_round(act.net.sum().over(to_date)),
        profit_to_date=money_round(act.profit.sum().over(to_date)),
        first_purchase=act.first_day.min().over(to_date),
        last_purchase_to_date=act.last_day.max().over(to_date),
        _until=act.period_index.lead().over(ordered).fill_null(end),
    )
    rows = act.mutate(_period=ibis.range(act.period_index, act._until).unnest())
    own = rows._period == rows.period_index  # the row's own period (the others have no line)
    purchases = own.ifelse(rows.purchases, 0)
    net = own.ifelse(rows.net, 0.0)
    return rows.select(
        customer_id=rows._key, period_index=rows._period.cast("int64"), first_active_index=rows.first_active_index,
        purchases=purchases, first_day=own.ifelse(rows.first_day, ibis.null("date")),
        last_day=own.ifelse(rows.last_day, ibis.null("date")), net=net,
        profit=own.ifelse(rows.profit, ibis.null("float64")),
        active=(purchases > 0) & is_positive(net),
        purchases_to_date=rows.purchases_to_date, net_to_date=rows.net_to_date, profit_to_date=rows.profit_to_date,
        first_purchase=rows.first_purchase, last_purchase_to_date=rows.last_purchase_to_date,
    )


def _is_active(activity: ir.Table) -> ir.BooleanValue:
    """A customer-period with a purchase and positive net spend (the grid's ``active``)."""
    return (activity.purchases > 0) & is_positive(activity.net)


def current_grid(activity: ir.Table, index: int, first_shown: int | None = None) -> ir.Table:
    """:func:`period_grid`'s rows of period ``index`` alone (text ids), by one aggregate of ``activity``.

    One row per customer with a line up to period ``index``, with that period's values and the
    running totals up to it, and ``first_active_index`` over all periods (as :func:`customer_starts`):
    what scoring that one period needs, without the grid of every period. Also, for the story's
    overview, over the periods ``first_shown`` (default: all) .. ``index``: ``active_periods`` and
    ``last_active_index`` (the customer's active periods among them, and the last one).
    """
    act = activity
    active = _is_active(act)
    upto = act.period_index <= index
    own = act.period_index == index
    shown = upto & (act.period_index >= (first_shown if first_shown is not None else 0))
    per = act.group_by("customer_id").aggregate(
        _lines=upto.sum(),
        first_active_index=act.period_index.min(where=active),
        purchases=act.purchases.sum(where=own),
        first_day=act.first_day.min(where=own),
        last_day=act.last_day.max(where=own),
        net=act.net.sum(where=own),
        profit=act.profit.max(where=own),  # the period's one row: its value (null without lines)
        purchases_to_date=act.purchases.sum(where=upto),
        net_to_date=money_round(act.net.sum(where=upto)),
        profit_to_date=money_round(act.profit.sum(where=upto)),
        first_purchase=act.first_day.min(where=upto),
        last_purchase_to_date=act.last_day.max(where=upto),
        active_periods=active.sum(where=shown),
        last_active_index=act.period_index.max(where=shown & active),
    )
    per = per.filter(per._lines > 0)
    purchases = per.purchases.fill_null(0).cast("int64")
    net = per.net.fill_null(0.0)
    return per.select(
        customer_id=per.customer_id, period_index=ibis.literal(index, "int64"),
        first_active_index=per.first_active_index, purchases=purchases, first_day=per.first_day,
        last_day=per.last_day, net=net, profit=per.profit, active=(purchases > 0) & is_positive(net),
        purchases_to_date=per.purchases_to_date.cast("int64"), net_to_date=per.net_to_date,
        profit_to_date=per.profit_to_date, first_purchase=per.first_purchase,
        last_purchase_to_date=per.last_purchase_to_date, active_periods=per.active_periods.fill_null(0).cast("int64"),
        last_active_index=per.last_active_index,
    )


def activity_retention(activity: ir.Table) -> ir.Table:
    """Per period (from the first with an active customer): the counts :func:`segmint.story_tables.retention` takes.

    The same numbers as from the story's rows (every customer-period from the customer's first
    active one), from the periods with lines: a customer's row in a period without lines is
    inactive, bought nothing and spent 0, so only ``active``, ``new`` (first active period),
    ``retained`` (active in the period before too), ``purchases`` and ``revenue`` of the rows with
    lines need counting; ``reactivated`` and ``previous_active`` follow from them.
    """
    act = activity.mutate(active=_is_active(activity))
    mine = ibis.window(group_by="customer_id")
    ordered = ibis.window(group_by="customer_id", order_by="period_index")
    act = act.mutate(
        first_active_index=act.period_index.min(where=act.active).over(mine),
        _before=act.period_index.lag().over(ordered),
        _was_active=act.active.lag().over(ordered),
    )
    rows = act.filter(act.period_index >= act.first_active_index)
    retained = rows.active & rows._was_active.fill_null(False) & (rows._before == rows.period_index - 1)
    return rows.group_by("period_index").aggregate(
        active=rows.active.sum(),
        new=(rows.period_index == rows.first_active_index).sum(),
        retained=retained.fill_null(False).sum(),
        purchases=rows.purchases.sum(),
        revenue=money_total(rows.net),
    )


def _snapshots(periods: pd.DataFrame) -> ir.Table:
    """period_index -> snapshot (the day after the period's last covered day) and period_start."""
    frame = pd.DataFrame({
        "period_index": periods["period_index"].astype("int64"),
        "snapshot": [pd.Timestamp(d).date() + dt.timedelta(days=1) for d in periods["as_of"]],
        "period_start": [pd.Timestamp(d).date() for d in periods["period_start"]],
    })
    return frame_table(frame)


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


def as_of_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer known at each period's scoring date: customer_features as of that date."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    known = rows.filter((rows.purchases_to_date > 0) & is_positive(rows.net_to_date))
    return _features(known, "purchases_to_date", "net_to_date", "profit_to_date", "last_purchase_to_date")


def within_features(grid: ir.Table, periods: pd.DataFrame) -> ir.Table:
    """Per customer active in a period: the same columns on the period's own purchases."""
    rows = grid.inner_join(_snapshots(periods), "period_index")
    return _features(rows.filter(rows.active), "purchases", "net", "profit", "last_day")
