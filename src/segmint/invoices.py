"""Invoice totals: the kept lines summed per customer, invoice, day and country, read instead of the lines.

Everything ``analyze`` reads from the lines (per-customer net value, profit and line count, purchases
per invoice or day, the main country) and the quality report's customers, invoices and lines per day
are sums over these groups, so one grouping of the lines serves them all: at 1e7 lines it holds about
2.1M rows, and the lines (each pass recomputing the cleaning expression) are read once instead of four
times. Every measure is additive over the groups (a count, a sum; profit NULL only when no line has a
cost), and every filter ``analyze`` applies but the organisation (dates by whole days, countries)
selects whole groups, so the results are those of the lines themselves.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

__all__ = ["invoice_totals", "window_totals"]

GRAIN = ("customer_id", "invoice_id", "day", "country")


def invoice_totals(lines: ir.Table) -> ir.Table:
    """Per customer, invoice, day and country: ``lines``, ``net`` (sum of amount) and ``profit`` (sum of
    amount - cost over lines with a cost; NULL when none has one)."""
    return lines.group_by(
        customer_id=lines.customer_id, invoice_id=lines.invoice_id, day=lines.invoice_date.date(),
        country=lines.country,
    ).aggregate(lines=lines.count(), net=lines.amount.sum(), profit=(lines.amount - lines.cost).sum())  # fmt: skip


def window_totals(
    totals: ir.Table, *, start: dt.date | None = None, end: dt.date | None = None, before: dt.date | None = None
) -> ir.Table:
    """The groups of lines with ``start <= day <= end`` and ``day < before`` (``features.filter_window``'s
    whole-day bounds: a line's day decides, and every line of a group has the group's day)."""
    if start:
        totals = totals.filter(totals.day >= ibis.literal(start, type="date"))
    if end:
        totals = totals.filter(totals.day <= ibis.literal(end, type="date"))
    if before:
        totals = totals.filter(totals.day < ibis.literal(before, type="date"))
    return totals
