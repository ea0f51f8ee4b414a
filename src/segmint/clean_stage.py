"""The staged lines: every input row's canonical values, repair flags and drop reason, as one Ibis
expression (streamed from the source, or materialised once).

Built in layers that refer to earlier layers' columns, so each SQL expression stays small; what the
counts proved cannot happen (:mod:`segmint.textshape`, typed columns) is left out of the expression.
Cleaning's internals: :mod:`segmint.clean` runs them, :mod:`segmint.clean_counts` counts them.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint import engine
from segmint.clean_options import CleanOptions, latest_date, unpriced
from segmint.formats import NUMBER_FIELDS
from segmint.money import MAX_AMOUNT
from segmint.parsing import normalised, one_of
from segmint.results import columns as result_columns
from segmint.schema import CANONICAL_DTYPES, CONTACT_DTYPES, PRODUCT_ATTRIBUTE_DTYPES
from segmint.textshape import TextShape

TEXT_FIELDS = ("product_id", "product_name", "country", "org_id")
CREDIT_TOKENS = ("cr", "cr.", "credit", "c")


def _customer_ids(column: ir.Value, shape: TextShape) -> tuple[ir.StringValue, ir.BooleanValue]:
    """(customer id text, was it a whole number written as a float like '12345.0')."""
    if column.type().is_floating():  # e.g. pandas' float CustomerID with NaN for missing ones
        whole = (column == column.round(0)).fill_null(False) & (column.abs() < 1e15)
        return ibis.cases((whole, column.cast("int64").cast("string")), else_=column.cast("string")), whole
    text = shape.stripped(column, "customer_id")
    if not shape.has("customer_id", "."):  # no id holds a dot: none is written like 12345.0
        return text, ibis.literal(False)
    integral = ibis.cases((text.contains("."), text.re_search(r"^\d+\.0+$")), else_=False)
    return ibis.cases((integral, text.re_extract(r"^(\d+)\.0+$", 1)), else_=text), integral


def _cancellation(raw: ir.Value, invoice: ir.StringValue, shape: TextShape) -> ir.BooleanValue:
    """An Online Retail cancellation: the trimmed invoice id is ``C`` followed by digits.

    The regex runs only on ids containing a ``C`` (a plain substring test): DuckDB inlines this
    expression into every column that depends on the return flag, so its per-row cost multiplies.
    A blank id or placeholder (``nan``, ``n/a``) never matches. Where the counts proved that no id is
    padded (DuckDB, which compares text byte by byte), the id is its raw text and the test is two byte
    ranges (``C0`` up to ``C:``, ``:`` following ``9``): no substring search and no regex per row, in
    every pass that reads the cleaned lines (1e7 lines: about 1 CPU s a pass). A number column holds no C.
    """
    if not shape.has("invoice_id", "C") or raw.type().is_numeric():
        return ibis.literal(False)
    if raw.type().is_string() and not shape.has("invoice_id", "padded"):  # counted: DuckDB only
        return (((raw >= "C0") & (raw < "C:")) | ((raw >= "c0") & (raw < "c:"))).fill_null(False)
    text = raw.cast("string")
    return ibis.cases((text.contains("C") | text.contains("c"), invoice.re_search(r"^[Cc]\d")), else_=False)


def date_checks(
    text: ir.Value, parsed: ir.TimestampValue, shape: TextShape, options: CleanOptions
) -> list[tuple[ir.BooleanValue, str, str]]:
    """The drop tests of a date (``text`` as read, ``parsed`` its reading): (test, reason, field)."""
    earliest = ibis.literal(datetime.combine(options.earliest_date, datetime.min.time()), type="timestamp")
    after = latest_date(options) + timedelta(days=1)
    latest = ibis.literal(datetime.combine(after, datetime.min.time()), type="timestamp")
    return [
        (shape.blank(text, "invoice_date"), "missing_date", "invoice_date"),
        (parsed.isnull(), "bad_date", "invoice_date"),
        ((parsed < earliest) | (parsed >= latest), "date_out_of_range", "invoice_date"),
    ]


def _stage(
    t: ibis.Table, fields: list[str], options: CleanOptions, shape: TextShape, reasons: Collection[str] | None = None,
    absent: Collection[str] = (), quantity_returns: Literal["count", "only"] | None = None,
) -> tuple[ibis.Table, dict[str, str], dict[str, ibis.Table]]:
    """Every input row with its parsed values, repair flags and drop reason (NULL = kept), the field
    each reason names, and every row's drop tests (``reason:<name>``) and repair flags as columns of
    their own (None when a test depends on the others: returns dropped).

    Built in layers that refer to earlier layers' columns, so each SQL expression stays small.
    ``reasons``: the drop reasons some row was counted under; the tests of the others are left out
    (a row's reason is the first test it meets, so a test no row met first never decides a reason:
    leaving it out changes no row's reason). With none, no row is dropped and ``_reason`` is NULL,
    and later passes over the kept rows compute none of the tests (e.g. no date cast of a CSV file).
    ``absent``: reasons proved to be met by no row (:func:`absent_reasons`): no test at all, counted 0.
    ``quantity_returns``: "count" adds ``_qty_return`` (the line's own quantity is negative: a return,
    and the test of most returns); "only" tests returns by that alone, exact where the lines were
    proved to hold no other return (:func:`segmint.clean_counts.returns_by_quantity`): later passes then
    read neither the invoice ids nor the prices to find the returns.
    """
    nums = [f for f in NUMBER_FIELDS if f in fields]
    null, false, one = ibis.null("float64"), ibis.literal(False), ibis.literal(1.0)
    customer, integral = _customer_ids(t.customer_id, shape)
    synthetic = t._source.cast("string") + ":" + t._row.cast("string")
    invoice_blank = shape.blank(t.invoice_id, "invoice_id") if "invoice_id" in fields else ibis.literal(True)
    invoice = shape.stripped(t.invoice_id, "invoice_id") if "invoice_id" in fields else synthetic
    credit = false
    for field in nums:
        if not _never(t[f"_n_{field}_credit"], through_layers=True):  # a typed column has no Cr marker
            credit = credit | t[f"_n_{field}_credit"]
    if "debit_credit" in fields:
        credit = credit | one_of(normalised(t.debit_credit.cast("string")), CREDIT_TOKENS)
    t = t.mutate(
        _customer_id=customer,
        _fix_customer=integral,
        _invoice_id=invoice if _never(invoice_blank) else ibis.cases((invoice_blank, synthetic), else_=invoice),
        _fix_invoice=invoice_blank,
        _cancelled=_cancellation(t.invoice_id, invoice, shape) if "invoice_id" in fields else false,
        _credit=credit,
    )

    def value(field: str) -> ir.FloatingValue | None:
        return t[f"_n_{field}"] if field in nums else None

    def ratio(num: ir.FloatingValue | None, den: ir.FloatingValue | None) -> ir.FloatingValue:
        return null if num is None or den is None else ibis.cases((den != 0, num / den), else_=null)

    price, amount = value("unit_price"), value("amount")
    t = t.mutate(_qty=ibis.coalesce(value("quantity") if "quantity" in nums else one, ratio(amount, price), one))
    price, amount = value("unit_price"), value("amount")
    computed = t._qty * price if price is not None else t._qty if unpriced(fields, options) else null
    t = t.mutate(_line=ibis.coalesce(amount, computed) if amount is not None else computed)
    if "credit" in nums:
        # Debit/Credit layout (Tally registers, ledgers): a credit reduces the line, a credit-only
        # line (credit note, sales return) becomes a negative line netted against the customer
        credit_value = t._n_credit.abs()
        t = t.mutate(_line=ibis.cases(
            (t._line.isnull() & credit_value.isnull(), null),
            else_=t._line.fill_null(0) - credit_value.fill_null(0),
        ))
    price, qty, line = value("unit_price"), t._qty, t._line
    if "cost" in nums:
        cost = t._n_cost
    elif "unit_cost" in nums:
        cost = qty.abs() * t._n_unit_cost.abs()
    else:
        cost = null
    t = t.mutate(
        _price=ibis.coalesce(price, ratio(line, qty)) if price is not None else ratio(line, qty),
        _cost_raw=cost,
        _is_return=(
            (qty < 0) if quantity_returns == "only" else (qty < 0) | (line < 0) | t._cancelled | t._credit
        ).fill_null(False),
    )
    if quantity_returns == "count":
        t = t.mutate(_qty_return=(qty < 0).fill_null(False))
    is_return = t._is_return
    negate = lambda v: ibis.cases((is_return, -v.abs()), else_=v)  # noqa: E731
    blank = {f: t[f"_n_{f}_blank"] if f in nums else ibis.literal(True) for f in NUMBER_FIELDS}
    cost_field = next((f for f in ("cost", "unit_cost") if f in nums), None)
    tested = t  # the layer the tests below are written over
    checks: list[tuple[ir.BooleanValue, str, str]] = [
        (shape.blank(t.customer_id, "customer_id"), "missing_customer", "customer_id"),
        *date_checks(t.invoice_date, t._invoice_date, shape, options),
    ]
    checks += [(t[f"_n_{f}_invalid"], f"bad_{f}", f) for f in ("quantity", "unit_price", "amount") if f in nums]
    line_field = "amount" if "amount" in fields else "unit_price"
    checks.append((_line_missing(t, fields, nums), "missing_amount", line_field))
    if "amount_too_large" not in absent:  # tested only once some sum of lines went beyond MAX_AMOUNT
        # a NaN line value compares greater than any number on DuckDB, PostgreSQL and Spark: too large too
        valued_by = line_field if line_field in fields else "quantity"  # no prices: a line is its quantity
        checks.append((t._line.abs() > MAX_AMOUNT, "amount_too_large", valued_by))
    if cost_field and "cost_too_large" not in absent:  # likewise, once the costs went beyond it
        checks.append((t._cost_raw.abs() > MAX_AMOUNT, "cost_too_large", cost_field))
    checks = [check for check in checks if check[1] not in absent]
    # counted over kept lines only, whose line value is never NULL (else: missing_amount), so the
    # flags need not test it (a flag that is the literal True is counted as the kept lines)
    flags = {
        "_f_quantity_filled": blank["quantity"] if "quantity" in nums else None,
        "_f_amount_computed": _both(blank["amount"], blank["credit"]),
        "_f_unit_price_computed": blank["unit_price"] & t._price.notnull(),
        "_f_cost_unreadable": t[f"_n_{cost_field}_invalid"] if cost_field else None,
    }
    t = t.mutate(
        _quantity=negate(t._qty),
        _unit_price=ibis.cases((is_return, t._price.abs()), else_=t._price),
        _amount=negate(t._line),
        _cost=null if cost is null else negate(t._cost_raw),  # no cost column: no per-row work
        _reason=_first_reason([(cond, name) for cond, name, _ in checks if reasons is None or name in reasons]),
        **{name: flag for name, flag in flags.items() if flag is not None},
    )
    field_of = {name: field for _, name, field in checks}
    # each drop test and repair flag as a column of its own (the flags as the staged lines name them)
    numbers = [f"_n_{f}_{flag}" for f in nums for flag in NUMBER_COUNTERS]
    tests: ibis.Table | None = tested.select(
        **{f"reason:{name}": cond for cond, name, _ in checks},
        **{name: flag for name, flag in flags.items() if flag is not None},
        **{column: tested[column] for column in ("_fix_customer", "_fix_invoice", "_credit", *numbers)},
        _date=tested._invoice_date.cast(CANONICAL_DTYPES["invoice_date"]),  # as the staged invoice_date
    )  # fmt: skip
    if options.returns == "drop" and (reasons is None or "return" in reasons):
        t = t.mutate(_reason=ibis.cases((t._reason.isnull() & t._is_return, "return"), else_=t._reason))
        field_of["return"] = "amount" if "amount" in fields else "quantity"
        tests = None  # the return test depends on the others
    return _narrow(t, fields, shape), field_of, tests


def _line_missing(t: ibis.Table, fields: list[str], nums: list[str]) -> ir.BooleanValue:
    """The ``missing_amount`` test: the line value is NULL.

    With no amount or credit column the line value is the quantity (never NULL: a blank one is 1)
    times the price, NULL exactly where the price is; a typed price is NULL exactly where it is blank
    (NULL, NaN) or invalid (infinite). Those tests read the price column alone, which DuckDB pushes
    into a Parquet scan (1e7 lines: the test's count 0.42 -> 0.03 CPU s replayed), where the product
    is computed for every line."""
    priced = "unit_price" in nums and "amount" not in nums and "credit" not in nums
    if priced and "unit_price" in fields and t.unit_price.type().is_numeric():
        return t._n_unit_price_blank | t._n_unit_price_invalid
    return t._line.isnull()


def _both(left: ir.BooleanValue, right: ir.BooleanValue) -> ir.BooleanValue:
    """``left & right`` without an operand that is the literal True (both True: the literal True)."""
    if _always_true(left):
        return right
    return left if _always_true(right) else left & right


def _first_reason(checks: list[tuple[ir.BooleanValue, str]]) -> ir.StringValue:
    """The name of the first check a row meets, NULL when none (or no check)."""
    return ibis.cases(*checks, else_=ibis.null("string")) if checks else ibis.null("string")


def _materialize_staged(
    con: BaseBackend, mapped: ibis.Table, narrow: ibis.Table, field_of: dict[str, str], *, stream: bool
) -> tuple[ibis.Table, ibis.Table | None]:
    """The staged rows: streamed (an expression every later pass recomputes from the source) or
    materialised, storing only what cannot be derived from stored columns.

    Streamed when the source is cheap to read again and needs no parsing through dictionaries (typed
    columns on DuckDB, e.g. Parquet, or text a direct cast reads exactly, e.g. ISO dates and plain
    numbers in a CSV file): each pass then reads only the columns it needs, and no copy of
    every line is made. At 1e7 lines that copy (about 200 bytes a line) was past DuckDB's memory limit,
    so it and every pass over it spilled to disk.

    When materialised, the field a drop reason names is derived from the reason (one cheap look-up
    when read, not a string per row), and a ``_source`` that is one file name for every row (one file
    read) is a constant of the view: at 1e7 lines these two columns were about a quarter of the
    stored bytes. Returns the staged rows and the stored table they read (None when streamed).
    """
    extra: dict[str, ir.Value] = {}
    if stream:
        stored = narrow
    else:
        sources = result_columns(mapped.select("_source").distinct().limit(2))["_source"]
        constant = len(sources) == 1 and sources[0] is not None
        # columns the expression makes constant (a canonical field the file lacks, a repair that cannot
        # happen) are constants of the view too, not stored once per row
        extra = {c: literal for c in narrow.columns if c != "_source" and (literal := _literal(narrow[c])) is not None}
        if constant:
            extra["_source"] = ibis.literal(sources[0], type="string")
        stored = engine.materialize(con, narrow.drop(*extra) if extra else narrow)
    field = ibis.cases(
        *[(stored._reason == name, column) for name, column in field_of.items()], else_=ibis.null("string")
    )  # fmt: skip
    staged = stored.mutate(_field=field, **extra)
    # a view: each later query (duplicates, counters, examples, the kept lines) names it instead of
    # compiling these derived columns again (about a third of a small input's compile time)
    if stream:
        return staged, None
    return (staged if con.name != "duckdb" else engine.temp_view(con, staged)), stored


STAGED_BYTES_PER_ROW = 200  # a materialised staged line of a typical export (DuckDB stores it uncompressed)


def streamable(con: BaseBackend, dicts_tables: dict[str, ibis.Table], rows: int | None) -> bool:
    """Stream the staged rows (no copy) when the engine is DuckDB, no column is parsed through a
    dictionary (a join per pass) and their copy would take more than half of DuckDB's memory limit.

    Below that size a copy is cheaper than recomputing the rows in each later pass (1e6 lines: about
    15% less CPU); above it the copy spills to disk. ``$SEGMINT_STAGING`` = ``stream`` /
    ``materialize`` overrides the choice (tests use it to compare both).
    """
    import os

    forced = os.environ.get("SEGMINT_STAGING", "").strip().lower()
    if forced in ("stream", "materialize"):
        return forced == "stream"
    limit = engine.memory_limit_bytes(con)
    if con.name != "duckdb" or dicts_tables or rows is None or limit is None:
        return False
    return rows * STAGED_BYTES_PER_ROW > limit / 2


FLAG_COLUMNS = {  # report counter -> staged column (counted over kept rows)
    "customer_ids_fixed": "_fix_customer",
    "invoice_ids_synthesised": "_fix_invoice",
    "quantity_filled": "_f_quantity_filled",
    "amount_computed": "_f_amount_computed",
    "unit_price_computed": "_f_unit_price_computed",
    "credit_entries": "_credit",
    "cost_unreadable": "_f_cost_unreadable",
}
NUMBER_COUNTERS = {"money": "money_strings", "drcr": "dr_cr_markers", "paren": "parentheses_negative"}


def _narrow(t: ibis.Table, fields: list[str], shape: TextShape) -> ibis.Table:
    """Canonical values of every row plus its reason, flags and position: what is materialised.

    Flags that cannot be true for this input (a typed column has no money strings) are not stored.
    """
    values: dict[str, ir.Value] = {}
    for name, dtype in CANONICAL_DTYPES.items():
        if f"_{name}" in t.columns:
            values[name] = t[f"_{name}"].cast(dtype)
        elif name in t.columns and name in TEXT_FIELDS:
            values[name] = _text_value(t[name], name, shape).cast(dtype)
        else:
            values[name] = ibis.null(dtype)
    for name in (*CONTACT_DTYPES, *PRODUCT_ATTRIBUTE_DTYPES):  # contacts and a product's category ride along only when the source had them
        if name in t.columns:
            values[name] = _text_value(t[name], name, shape)
    flags = {column: t[column] for column in FLAG_COLUMNS.values() if column in t.columns and not _never(t[column])}
    for field in (f for f in NUMBER_FIELDS if f in fields):
        for flag in NUMBER_COUNTERS:
            column = f"_n_{field}_{flag}"
            if not _never(t[column], through_layers=True):
                flags[column] = t[column]
    if "_qty_return" in t.columns:  # streamed kept lines only: counted by the grouping pass
        flags["_qty_return"] = t._qty_return
    return t.select(**values, _reason=t._reason, _source=t._source, _row=t._row, **flags)


def _text_value(value: ir.Value, column: str, shape: TextShape) -> ir.StringValue:
    """Trimmed text, NULL for a blank value or placeholder (each step only where it can change a value)."""
    text, blank = shape.stripped(value, column), shape.blank(value, column)
    if value.type().is_string() and not shape.has(column, "placeholder"):
        return text  # blank only when NULL, and NULL stays NULL
    return text if _never(blank) else ibis.cases((blank, ibis.null("string")), else_=text)


def _origin(op: Any) -> Any:
    """The expression that made a column, seen through the projection layers that carry it forward."""
    while isinstance(op, ops.Field) and isinstance(op.rel, ops.Project) and op.name in op.rel.values:
        op = op.rel.values[op.name]
    return op


def _literal(value: ir.Value) -> ir.Value | None:
    """The literal ``value`` is (seen through the layers that carry it forward), or None."""
    op = _origin(value.op())
    return op.to_expr() if isinstance(op, ops.Literal) else None


def _never(value: ir.Value, *, through_layers: bool = False) -> bool:
    """True when ``value`` is the literal False (a flag that cannot be set for this input);
    ``through_layers``: also when it is a column an earlier layer set to that literal (a typed number
    column's money, Dr/Cr and parenthesis flags, which the report counts as 0 when not stored)."""
    op = _origin(value.op()) if through_layers else value.op()  # the column's own expression
    return getattr(op, "value", None) is False and isinstance(op, ops.Literal)


def _always_true(value: ir.Value) -> bool:
    """``value`` is the literal True, seen through the projections that carry it to ``value``'s table."""
    op = _origin(value.op())
    return isinstance(op, ops.Literal) and op.value is True


def _always_false(value: ir.Value) -> bool:
    """``value`` is False on every row by construction: a literal False (or an OR of them, an AND with
    one), followed through the projections that carry it to ``value``'s table."""

    def false(op: Any) -> bool:
        op = _origin(op)
        if isinstance(op, ops.Literal):
            return op.value is False
        if isinstance(op, ops.Or):
            return false(op.left) and false(op.right)
        if isinstance(op, ops.And):
            return false(op.left) or false(op.right)
        return False

    return false(value.op())
