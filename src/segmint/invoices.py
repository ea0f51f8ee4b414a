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
from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as dt_
import ibis.expr.types as ir

__all__ = ["TOTALS_COLUMNS", "invoice_totals", "line_groups", "one_row_per_invoice", "totals_of_groups", "window_totals"]

GRAIN = ("customer_id", "invoice_id", "day", "country")
TOTALS_COLUMNS = (*GRAIN, "lines", "net", "profit")


@ibis.udf.scalar.builtin(name="list_distinct")
def _list_distinct(values: dt_.Array(dt_.int32)) -> dt_.Array(dt_.int32):  # type: ignore[valid-type]
    """DuckDB's ``list_distinct`` (Ibis' ``unique()`` adds NULL handling a hash never needs)."""


@ibis.udf.scalar.builtin(name="bit_count")
def _bit_count(bits: dt_.int64) -> dt_.int8:  # type: ignore[valid-type]
    """DuckDB's number of set bits of an integer."""


def _hash32(columns: ir.StructValue) -> ir.IntegerValue:
    """DuckDB's 64-bit ``hash`` of ``columns`` folded to 32 bits (Ibis' ``hash()`` converts the hash
    through a bit string; a list of 32-bit values per group costs half of 64-bit ones). Equal values,
    equal hashes; a rare collision of unequal ones only costs an exact check."""

    def hash(value): ...  # noqa: A001, ANN001, ANN202 - the engine's own function

    engine_hash = ibis.udf.scalar.builtin(hash, name="hash", signature=((columns.type(),), dt_.uint64))
    return (engine_hash(columns) % 2_147_483_647).cast("int32")


def invoice_totals(lines: ir.Table) -> ir.Table:
    """Per customer, invoice, day and country: ``lines``, ``net`` (sum of amount) and ``profit`` (sum of
    amount - cost over lines with a cost; NULL when none has one)."""
    return lines.group_by(
        customer_id=lines.customer_id, invoice_id=lines.invoice_id, day=lines.invoice_date.date(),
        country=lines.country,
    ).aggregate(lines=lines.count(), net=lines.amount.sum(), profit=(lines.amount - lines.cost).sum())  # fmt: skip


def line_groups(lines: ir.Table, *, probe: Sequence[str] | None, returns: bool = False, cost: bool = False) -> ir.Table:
    """The kept lines grouped by the totals' grain: the one grouping of the lines that cleaning a large
    input makes (DuckDB).

    Per group: the totals of :func:`invoice_totals` (``lines``, ``net``, ``profit``) and ``repeats``:
    lines minus the distinct hashes of their ``probe`` columns. Equal lines agree on every column, so
    they fall in one group with one hash: a group without repeats holds no exact copy, and no group
    with repeats means no line repeats another (the proof that used to take a distinct count of every
    line's hash, a hash table of 1e7 entries, takes a list per group here). The report's counters are
    one ungrouped aggregate of their own: summed per group, each cost a hash-table update per line.
    ``probe=None``: no ``repeats`` (the lists of a very large input would not fit in memory: DuckDB
    cannot spill them). ``returns``: with ``returns`` (return lines) and ``returns_value`` (their
    amount), for a report whose lines were not aggregated otherwise; ``cost``: with ``cost_gross`` (their
    costs as positive numbers, which cleaning bounds like the amounts).
    """
    metrics: dict[str, ir.Scalar] = {
        "lines": lines.count(),
        "net": lines.amount.sum(),
        "profit": (lines.amount - lines.cost).sum(),
    }
    if returns:
        returned = lines.is_return.fill_null(False)
        # filtered counts, not sums of casts: DuckDB updates the groups only for the (few) return lines
        metrics |= {"returns": lines.count(where=returned), "returns_value": lines.amount.sum(where=returned)}
    if cost:
        metrics["cost_gross"] = lines.cost.abs().sum()
    if "_qty_return" in lines.columns:  # the returns of negative quantity among them
        metrics["quantity_returns"] = lines.count(where=lines._qty_return)
    if probe is not None:
        rest = [c for c in probe if c not in GRAIN] or list(probe)
        line_hash = _hash32(ibis.struct({c: lines[c] for c in rest}))
        count = lines.count()
        # a group whose hashes fall in as many of 63 slots as it has lines holds no repeated hash: its
        # list is not deduplicated (a per-list hash set, the dearest part of the proof)
        slots = _bit_count((1 << (line_hash % 63).cast("int64")).bit_or())  # a BIGINT shift: 1 takes its type
        repeats = count - _list_distinct(line_hash.collect(include_null=True)).length()
        metrics["repeats"] = ibis.cases((slots.cast("int64") == count, 0), else_=repeats)
    return lines.group_by(
        customer_id=lines.customer_id, invoice_id=lines.invoice_id, day=lines.invoice_date.date(),
        country=lines.country,
    ).aggregate(**metrics)  # fmt: skip


def one_row_per_invoice(groups: ir.Table, invoices: int) -> bool:
    """Is every invoice one row of ``groups`` (totals or line groups; ``invoices``: their distinct
    non-NULL invoice ids, as the quality report counts them)? As many ids as rows leaves no invoice
    over two days, customers or countries and no NULL id; a materialised table's rows are known
    without a query (:func:`segmint.engine.row_count`)."""
    from segmint.engine import row_count

    return invoices == row_count(groups)


def totals_of_groups(groups: ir.Table) -> ir.Table:
    """The kept lines' :func:`invoice_totals` from :func:`line_groups`."""
    return groups.select(*TOTALS_COLUMNS)


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
