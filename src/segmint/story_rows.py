"""``period_segments``' rows as integers: a code per segment and each row beside the customer's previous one.

The story table (:mod:`segmint.story_narrative`), transitions and retention (:mod:`segmint.story_tables`) are aggregates of these rows:
one window pass over them, and no segment text carried through joins, windows or sorts (names are
looked up in a small dictionary at the end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.memtables import frame_table

__all__ = ["INACTIVE", "Coded", "as_table", "coded", "with_previous"]

INACTIVE = "Inactive"  # the within-period segment of a period without a purchase


def as_table(segments: ir.Table | pd.DataFrame) -> ir.Table:
    """An Ibis table of ``segments`` (a pandas frame becomes an in-memory table)."""
    return frame_table(segments) if isinstance(segments, pd.DataFrame) else segments


@dataclass(frozen=True)
class Coded:
    """``period_segments``' rows with an integer code per segment and the customer's previous row.

    ``rows``: customer_id, period_index, code, active, frequency, monetary, first_purchase,
    last_purchase, ``before`` (the previous period's code) and ``previous`` (whether active in it).
    """

    rows: ir.Table
    names: dict[int, str]  # code -> segment
    orders: dict[int, int]  # code -> segment_order
    periods: pd.DataFrame  # period_index, period, period_start, as_of of the periods in the rows

    def kept(self, dropped: list[int]) -> Coded:
        """The rows of the periods not in ``dropped`` (first/last or leading periods), as if the others were never there."""
        if not dropped:
            return self
        periods = self.periods[~self.periods["period_index"].isin(dropped)].reset_index(drop=True)
        first = int(periods["period_index"].min())
        rows = self.rows.filter(~self.rows.period_index.isin(dropped))
        rows = rows.mutate(before=ibis.ifelse(rows.period_index == first, ibis.null("int64"), rows.before),
                           previous=ibis.ifelse(rows.period_index == first, ibis.null("boolean"), rows.previous))
        return Coded(rows=rows, names=self.names, orders=self.orders, periods=periods)


def coded(segments: ir.Table | pd.DataFrame, materialize: Any = None) -> Coded:
    """:class:`Coded` rows of ``period_segments`` (``materialize(table)`` stores them when given).

    The code is the segment's ``segment_order`` when that names one segment (rfm, levels, value,
    tiers), else a number per distinct (segment, order) pair.
    """
    segments = as_table(segments)
    seen = segments.group_by("period_index", "segment", "segment_order").aggregate(
        period=segments.period.arbitrary(), period_start=segments.period_start.min(),
        as_of=segments.as_of.arbitrary(),
    ).execute()
    periods = seen.groupby("period_index", as_index=False).agg(
        period=("period", "first"), period_start=("period_start", "min"), as_of=("as_of", "first")
    ).sort_values("period_index", ignore_index=True)
    pairs = seen[["segment", "segment_order"]].drop_duplicates().sort_values(["segment_order", "segment"])
    if pairs["segment"].is_unique and pairs["segment_order"].is_unique:
        table = segments.mutate(code=segments.segment_order.cast("int64"))
        names = dict(zip(pairs["segment_order"].astype(int), pairs["segment"], strict=True))
        orders = {code: code for code in names}
    else:
        pairs = pairs.assign(code=range(len(pairs)))
        table = segments.inner_join(frame_table(pairs), ["segment", "segment_order"])
        names = dict(zip(pairs["code"], pairs["segment"], strict=True))
        orders = dict(zip(pairs["code"], pairs["segment_order"].astype(int), strict=True))
    rows = with_previous(table.select(
        "customer_id", "period_index", "active", "frequency", "monetary", "first_purchase", "last_purchase", "code",
    ))
    if materialize is not None:
        rows = materialize(rows)
    return Coded(rows=rows, names=names, orders=orders, periods=periods)


def with_previous(rows: ir.Table) -> ir.Table:
    """``rows`` (customer_id, period_index, code, active, ...) with the customer's previous period's code
    (``before``) and activity (``previous``): one window."""
    ordered = ibis.window(group_by="customer_id", order_by="period_index")
    return rows.mutate(before=rows.code.lag().over(ordered), previous=rows.active.lag().over(ordered))
