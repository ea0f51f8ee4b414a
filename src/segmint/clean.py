"""Cleaning: mapped raw columns -> the canonical transactions table plus a data-quality report.

Formats are decided from evidence over each text column's distinct values and parsed once per distinct
value (:mod:`segmint.formats`); then one portable Ibis expression gives every row its canonical values
and its drop reason, and is materialised once. The canonical table is the kept rows of that one table
(no second copy); the report's counters come from one aggregate over it. Sign convention: a line is a
return when its quantity or amount is negative, its invoice id is an Online Retail cancellation
(``C`` followed by digits) or it is a credit entry (``Cr`` marker or a debit/credit column saying
``Cr``): in a customer/sales ledger the customer is debited for a sale and credited for a return.
Return lines carry negative quantity, amount and cost so sums net out.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict

from segmint import engine
from segmint.errors import DataError, MappingError
from segmint.formats import NUMBER_FIELDS, date_plan, dictionaries, evidence, parse_columns
from segmint.invoices import line_groups, totals_of_groups
from segmint.money import MONEY_DECIMALS
from segmint.parsing import normalised, one_of
from segmint.quality import (
    DROP_DESCRIPTIONS,
    DataQualityReport,
    DroppedRows,
    drop_examples,
    period_checks,
)
from segmint.schema import CANONICAL_DTYPES, CONTACT_DTYPES, MAPPABLE_FIELDS, PRODUCT_ATTRIBUTE_DTYPES, ColumnMapping
from segmint.textshape import TextShape, text_shape

__all__ = ["CleanOptions", "CleanResult", "DataQualityReport", "clean_transactions"]

log = logging.getLogger(__name__)

TEXT_FIELDS = ("product_id", "product_name", "country", "org_id")
CREDIT_TOKENS = ("cr", "cr.", "credit", "c")
MAX_EXAMPLES = 5  # example rows kept per drop reason
EARLIEST_DATE = dt.date(1900, 1, 1)


def latest_date_default() -> dt.date:
    """The last plausible sale date when none is configured: one year from today."""
    today = dt.date.today()
    return today.replace(year=today.year + 1) if (today.month, today.day) != (2, 29) else today + timedelta(days=365)


class CleanOptions(BaseModel):
    """How cleaning treats returns, duplicates, ambiguous dates, implausible dates and the last period."""

    model_config = ConfigDict(extra="forbid")

    returns: Literal["net", "drop"] = "net"
    drop_duplicates: bool | None = None  # None = drop exact duplicates only with an invoice column
    dayfirst: bool | None = None  # overrides ColumnMapping.dayfirst; None = decide from evidence
    date_format: str | None = None  # strptime format; overrides ColumnMapping.date_format
    decimal_comma: bool | None = None  # reading of ambiguous '1.234'; None = decide from evidence
    trailing_period: Literal["month", "quarter"] = "month"
    earliest_date: dt.date = EARLIEST_DATE  # dates before it are dropped (date_out_of_range)
    latest_date: dt.date | None = None  # dates after it are dropped; None = one year from today
    # no amount and no price column (basket logs): "error", or "units" = each line valued at its
    # quantity, so product analyses can run; money figures then count items
    unpriced: Literal["error", "units"] = "error"


@dataclass(frozen=True)
class CleanResult:
    """The canonical transactions table (kept rows, in the backend) and its quality report."""

    table: ibis.Table
    report: DataQualityReport
    totals: ibis.Table | None = None  # invoices.invoice_totals of ``table`` (large inputs), materialised


def clean_transactions(
    mapped: ibis.Table,
    mapping: ColumnMapping,
    *,
    con: BaseBackend,
    source: str,
    options: CleanOptions | None = None,
    reader_skipped: dict[str, int] | None = None,
) -> CleanResult:
    """Parse, validate and de-duplicate mapped rows into the canonical table, reporting every drop.

    ``reader_skipped`` counts rows the reader already left out (e.g. Excel total rows) so that
    ``report.rows_in`` counts every row of the file. Every dropped row is counted under exactly one
    reason (the first that applies, in the order of ``DROP_DESCRIPTIONS``).
    """
    options = options or CleanOptions()
    fields = [c for c in mapped.columns if c in MAPPABLE_FIELDS]
    _check_fields(fields, mapping, source, options)
    untyped = {f: mapped[f].cast("string") for f in fields if mapped[f].type().is_null()}
    mapped = mapped.mutate(**untyped) if untyped else mapped  # all-empty columns have no type
    warnings: list[str] = []
    dicts = dictionaries(con, mapped, fields)
    found = evidence(dicts)
    date_info, patterns, dayfirst = date_plan(
        mapped, _label(mapping, "invoice_date"), date_format=options.date_format or mapping.date_format,
        dayfirst=options.dayfirst if options.dayfirst is not None else mapping.dayfirst,
        evidence=found, source=source, warnings=warnings,
    )  # fmt: skip
    decimal = _decimal_plan(fields, mapping, options, found, warnings)
    parsed = parse_columns(
        con, mapped, fields, dicts, found, patterns=patterns, dayfirst=dayfirst, decimal=decimal
    )
    shape = text_shape(
        con, mapped, ["customer_id", "invoice_id", "invoice_date", *TEXT_FIELDS, *CONTACT_DTYPES, *PRODUCT_ATTRIBUTE_DTYPES],
        dots=("customer_id",), cs=("invoice_id",), grouped=dicts.tables, rows=dicts.rows,
    )  # fmt: skip
    stream = streamable(con, dicts.joined(), shape.counts.get("rows", dicts.rows))
    staged = _materialize_staged(con, mapped, *_stage(parsed, fields, options, shape), stream=stream)
    for table in dicts.tables.values():
        _drop_quietly(con, table)
    drop_duplicates = _drop_duplicates(fields, options)
    groups = kept = None
    counts: dict[str, Any] = {}
    if stream:
        # one ungrouped aggregate over the lines: rows per drop reason, repairs and the kept lines'
        # measures but the distinct customers and invoices, counted from the groups below
        counts = _counters(staged, fields, distinct=False)
        # every later pass reads the kept lines again: test only the reasons some line was dropped
        # for (none, often: then no filter and no test at all)
        kept = _kept_lines(con, mapped, parsed, fields, options, shape, counts)
        # the kept lines grouped by the invoice totals' grain (2.1M groups at 1e7 lines): the totals
        # analyze reads, the distinct customers and invoices and the proof that no line repeats another
        prove = _lists_fit(con, shape.counts.get("rows", dicts.rows))
        groups = _line_groups(con, kept, fields, prove=prove)
        counts |= _group_counters(groups)
        if not prove:  # too large for the lists: as many distinct probe hashes as kept lines proves it
            counts["_repeats"] = _kept(counts) - _distinct_probes(kept, fields)
    if counts.get("_repeats") == 0:
        copies = None  # no kept line repeats another (no duplicate pass)
    else:
        copies = _duplicates(con, staged, fields)
    duplicates = 0 if copies is None else engine.row_count(copies)
    if drop_duplicates and duplicates:
        staged = _mark_duplicates(staged, copies, fields)
        if stream:  # counted before the copies were marked: count and group the marked lines again
            kept = staged.filter(staged._reason.isnull())
            groups = _line_groups(con, kept, fields, prove=False)
            counts = _counters(staged, fields, distinct=False) | _group_counters(groups)
    if not stream:  # one aggregate of the stored lines counts everything, the distinct values too
        counts = _counters(staged, fields, distinct=True)
    counts.pop("_repeats", None)
    by_reason = {name: counts.pop(f"reason:{name}") for name in DROP_DESCRIPTIONS if f"reason:{name}" in counts}
    rows_read = counts.pop("rows")
    if date_info.evidence == "native dates":
        date_info.formats["native"] = rows_read
    dropped = {
        name: DroppedRows(count=n, description="skipped by the reader (not a sales line)")
        for name, n in (reader_skipped or {}).items() if n
    }  # fmt: skip
    examples = drop_examples(staged, mapped, fields, MAX_EXAMPLES, counts=by_reason) if any(by_reason.values()) else {}
    for name, description in DROP_DESCRIPTIONS.items():
        if by_reason.get(name):
            if name == "date_out_of_range":
                description = f"date before {options.earliest_date} or after {_latest(options)}"
            dropped[name] = DroppedRows(
                count=by_reason[name], description=description, examples=examples.get(name, [])
            )
    rows_kept = rows_read - sum(by_reason.values())
    if rows_kept == 0:
        top = ", ".join(f"{d.count:,} {d.description}" for d in dropped.values()) or "no rows"
        raise DataError(f"{source}: no usable sales lines ({top}); check the column mapping")

    contacts = [name for name in (*CONTACT_DTYPES, *PRODUCT_ATTRIBUTE_DTYPES) if name in staged.columns]
    lines = kept if kept is not None else staged.filter(staged._reason.isnull())
    table = lines.select(*CANONICAL_DTYPES, *contacts)
    totals = None
    if con.name == "duckdb":
        table = engine.temp_view(con, table)
    if groups is not None:
        # the kept lines summed per customer, invoice, day and country: the report's lines per day and
        # analyze's per-customer sums, purchases and main country read these groups (2.1M at 1e7
        # lines) instead of passing over the lines once for each
        totals = engine.temp_view(con, totals_of_groups(groups))
    stats = {k: counts.pop(k) for k in list(counts) if k.startswith("measure:")}
    report = DataQualityReport(
        source=source,
        rows_in=rows_read + sum((reader_skipped or {}).values()),
        rows_kept=rows_kept,
        dropped=dropped,
        parsed={k: v for k, v in counts.items() if not k.startswith("_")},
        date_formats={"invoice_date": date_info},
        decimal_comma=decimal,
        duplicates=duplicates,
        duplicates_dropped=drop_duplicates,
        warnings=warnings,
        **_measure(stats),
    )
    report.partial_periods, report.gaps = period_checks(table, options.trailing_period, totals)
    if unpriced(fields, options):
        report.warnings.append(
            "no amount or price column: each line is valued at its quantity, so money figures count items"
        )
    if duplicates and not report.duplicates_dropped:
        report.warnings.append(
            f"{duplicates:,} lines are exact copies of earlier lines; kept because "
            + ("you asked to keep them" if options.drop_duplicates is False and "invoice_id" in fields
               else "without an invoice column they may be genuine repeat purchases")
        )  # fmt: skip
    if report.last_date and report.last_date > datetime.now() + timedelta(days=1):
        report.warnings.append(f"the last date {report.last_date:%Y-%m-%d} is in the future; check the dates")
    log.info("%s: kept %d of %d rows", source, report.rows_kept, report.rows_in)
    return CleanResult(table, report, totals)


def _latest(options: CleanOptions) -> dt.date:
    return options.latest_date or latest_date_default()


def _drop_quietly(con: BaseBackend, table: ibis.Table) -> None:
    op = table.op()
    namespace = getattr(op, "namespace", None)
    try:
        if namespace is not None and namespace.catalog and namespace.database:
            # a temporary table ``materialize`` made: by its own name in its schema (its qualified
            # name "temp.main.x" quoted as one identifier named no table, so none was ever dropped)
            con.drop_table(op.name, database=(namespace.catalog, namespace.database), force=True)
        else:
            con.drop_table(table.get_name(), force=True)
    except Exception:  # a temporary table the backend already forgot is no loss
        log.debug("could not drop %s", table.get_name())


def _check_fields(fields: list[str], mapping: ColumnMapping, source: str, options: CleanOptions) -> None:
    missing = [f for f in ("customer_id", "invoice_date") if f not in fields]
    if missing:
        raise MappingError(
            f"{source}: no column mapped to {', '.join(missing)}; map one in the column mapping "
            f"(e.g. fields: {{{missing[0]}: <column name>}})"
        )
    if "amount" not in fields and "unit_price" not in fields and options.unpriced == "error":
        raise MappingError(
            f"{source}: map an amount (line total) or a unit price column so sales can be valued"
        )


def _label(mapping: ColumnMapping, field: str) -> str:
    return mapping.source_for(field) or field


def _decimal_plan(
    fields: list[str],
    mapping: ColumnMapping,
    options: CleanOptions,
    evidence: dict[str, int],
    warnings: list[str],
) -> dict[str, bool]:
    """Per number column: read ambiguous values like '1.234' with a decimal comma?"""
    numbers = [f for f in NUMBER_FIELDS if f in fields]
    points = {f: evidence.get(f"point:{f}", 0) for f in numbers}
    commas = {f: evidence.get(f"comma:{f}", 0) for f in numbers}
    pooled = sum(commas.values()) > sum(points.values())
    plan = {}
    for field in numbers:
        if options.decimal_comma is not None:
            plan[field] = options.decimal_comma
        elif commas[field] != points[field]:
            plan[field] = commas[field] > points[field]
        else:
            plan[field] = pooled
        if commas[field] and points[field]:
            warnings.append(
                f"column '{_label(mapping, field)}' mixes decimal points ({points[field]:,} values like "
                f"1,234.50) and decimal commas ({commas[field]:,} like 1.234,50); each was read its own way"
            )
    return plan


def unpriced(fields: list[str], options: CleanOptions) -> bool:
    """No amount and no price mapped, and the options value each line at its quantity."""
    return options.unpriced == "units" and "amount" not in fields and "unit_price" not in fields


def _drop_duplicates(fields: list[str], options: CleanOptions) -> bool:
    if options.drop_duplicates is not None:
        return options.drop_duplicates
    return "invoice_id" in fields


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


def _stage(
    t: ibis.Table, fields: list[str], options: CleanOptions, shape: TextShape, reasons: Collection[str] | None = None
) -> tuple[ibis.Table, dict[str, str]]:
    """Every input row with its parsed values, repair flags and drop reason (NULL = kept), and the
    field each reason names.

    Built in layers that refer to earlier layers' columns, so each SQL expression stays small.
    ``reasons``: the drop reasons some row was counted under; the tests of the others are left out
    (a row's reason is the first test it meets, so a test no row met first never decides a reason:
    leaving it out changes no row's reason). With none, no row is dropped and ``_reason`` is NULL,
    and later passes over the kept rows compute none of the tests (e.g. no date cast of a CSV file).
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
        _is_return=((qty < 0) | (line < 0) | t._cancelled | t._credit).fill_null(False),
    )
    is_return = t._is_return
    negate = lambda v: ibis.cases((is_return, -v.abs()), else_=v)  # noqa: E731
    blank = {f: t[f"_n_{f}_blank"] if f in nums else ibis.literal(True) for f in NUMBER_FIELDS}
    cost_field = next((f for f in ("cost", "unit_cost") if f in nums), None)
    earliest = ibis.literal(datetime.combine(options.earliest_date, datetime.min.time()), type="timestamp")
    after = _latest(options) + timedelta(days=1)
    latest = ibis.literal(datetime.combine(after, datetime.min.time()), type="timestamp")
    checks: list[tuple[ir.BooleanValue, str, str]] = [
        (shape.blank(t.customer_id, "customer_id"), "missing_customer", "customer_id"),
        (shape.blank(t.invoice_date, "invoice_date"), "missing_date", "invoice_date"),
        (t._invoice_date.isnull(), "bad_date", "invoice_date"),
        ((t._invoice_date < earliest) | (t._invoice_date >= latest), "date_out_of_range", "invoice_date"),
    ]
    checks += [(t[f"_n_{f}_invalid"], f"bad_{f}", f) for f in ("quantity", "unit_price", "amount") if f in nums]
    checks.append((t._line.isnull(), "missing_amount", "amount" if "amount" in fields else "unit_price"))
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
    if options.returns == "drop" and (reasons is None or "return" in reasons):
        t = t.mutate(_reason=ibis.cases((t._reason.isnull() & t._is_return, "return"), else_=t._reason))
        field_of["return"] = "amount" if "amount" in fields else "quantity"
    return _narrow(t, fields, shape), field_of


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
) -> ibis.Table:
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
    stored bytes.
    """
    extra: dict[str, ir.Value] = {}
    if stream:
        stored = narrow
    else:
        sources = mapped.select("_source").distinct().limit(2).to_pyarrow().column(0).to_pylist()
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
    return staged if stream or con.name != "duckdb" else engine.temp_view(con, staged)


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


def _counted_flags(staged: ibis.Table, fields: list[str]) -> dict[str, str | bool | None]:
    """Report counter -> staged flag column (None: the input cannot set it; True: every line sets it),
    in :func:`_counters`' order."""
    flags: dict[str, str | None] = {c: col for c, col in FLAG_COLUMNS.items() if col in staged.columns}
    for field in (f for f in NUMBER_FIELDS if f in fields):
        for flag, counter in NUMBER_COUNTERS.items():
            column = f"_n_{field}_{flag}"
            flags[f"{counter}_{field}"] = column if column in staged.columns else None
    return {
        c: None if col is None or _always_false(staged[col]) else True if _always_true(staged[col]) else col
        for c, col in flags.items()
    }


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


def _kept_lines(
    con: BaseBackend, mapped: ibis.Table, parsed: ibis.Table, fields: list[str], options: CleanOptions,
    shape: TextShape, counts: dict[str, Any],
) -> ibis.Table:
    """The kept lines as a streamed expression that tests only the drop reasons some line met (a
    row's reason is the first test it meets: leaving out tests no row met changes no row's reason)."""
    occurring = [name for name in DROP_DESCRIPTIONS if counts.get(f"reason:{name}")]
    lines = _materialize_staged(con, mapped, *_stage(parsed, fields, options, shape, occurring), stream=True)
    return lines.filter(lines._reason.isnull()) if occurring else lines


def _line_groups(con: BaseBackend, kept: ibis.Table, fields: list[str], *, prove: bool) -> ibis.Table:
    """:func:`segmint.invoices.line_groups` of the kept lines, materialised; ``prove``: with the
    per-group proof that no line repeats another."""
    return engine.materialize(con, line_groups(kept, probe=_probe_key(fields) if prove else None))


def _kept(counts: dict[str, Any]) -> int:
    return counts["rows"] - sum(v for k, v in counts.items() if k.startswith("reason:"))


def _distinct_probes(kept: ibis.Table, fields: list[str]) -> int:
    """Distinct hashes of the kept lines' probe key (equal lines, equal hashes): one hash table of
    every kept line, which DuckDB spills to disk when it outgrows the memory limit."""
    counted = kept.aggregate(n=_line_hash(kept, _probe_key(fields)).nunique())
    return engine.one_row_counts(counted)["n"]


PROOF_BYTES_PER_LINE = 40  # the groups' hash table with a list of line hashes per group, a line


def _lists_fit(con: BaseBackend, rows: int | None) -> bool:
    """Prove "no repeated line" with lists of hashes per group (:func:`segmint.invoices.line_groups`)
    only when they take at most half of DuckDB's memory limit: DuckDB spills a grouping to disk but
    not the lists in it (1e8 lines ran out of memory at 1.5 GB). Larger inputs take the
    proof of session 5, a distinct count of every kept line's probe hash, which spills."""
    limit = engine.memory_limit_bytes(con)
    return rows is not None and limit is not None and rows * PROOF_BYTES_PER_LINE <= limit / 2


def _group_counters(groups: ibis.Table) -> dict[str, Any]:
    """The kept lines' distinct customers and invoices, and ``_repeats`` (kept lines that may repeat
    another), from their :func:`_line_groups`."""
    metrics: dict[str, ir.Scalar] = {
        "measure:customers": groups.customer_id.nunique(),
        "measure:invoices": groups.invoice_id.nunique(),
    }
    if "repeats" in groups.columns:
        metrics["_repeats"] = groups.repeats.sum()
    return _counted(groups, metrics)


def _counted(table: ibis.Table, metrics: dict[str, ir.Scalar]) -> dict[str, Any]:
    """One aggregate of ``table``: counts as ints (NULL = 0), ``measure:`` values as they are."""
    row = engine.first_row(table.aggregate(**metrics))
    return {k: (v if k.startswith("measure:") else int(v or 0)) for k, v in row.items()}


def _counters(staged: ibis.Table, fields: list[str], *, distinct: bool) -> dict[str, Any]:
    """One ungrouped aggregate of the staged lines: rows per drop reason, repaired values in kept rows
    and the kept rows' measures; ``distinct``: with the distinct customers and invoices (a hash table
    of every value: large inputs count them from their groups instead)."""
    kept = staged._reason.isnull()
    metrics: dict[str, ir.Scalar] = {"rows": staged.count()}
    metrics |= {f"reason:{name}": (staged._reason == name).sum() for name in DROP_DESCRIPTIONS}
    for counter, column in _counted_flags(staged, fields).items():
        if column is None:
            metrics[counter] = ibis.literal(0)
        elif column is True:  # set on every kept line: the kept lines' count
            metrics[counter] = kept.sum()
        else:
            metrics[counter] = (staged[column] & kept).sum()
    metrics |= {
        "measure:first_date": staged.invoice_date.min(where=kept),
        "measure:last_date": staged.invoice_date.max(where=kept),
        "measure:total_amount": staged.amount.sum(where=kept),
        "measure:returns": (staged.is_return & kept).sum(),
        "measure:returns_value": staged.amount.sum(where=kept & staged.is_return),
    }
    if distinct:
        metrics["measure:customers"] = staged.customer_id.nunique(where=kept)
        metrics["measure:invoices"] = staged.invoice_id.nunique(where=kept)
    return _counted(staged, metrics)


def _measure(stats: dict[str, Any]) -> dict[str, Any]:
    """Report fields from the ``measure:`` counters (None-safe)."""
    values = {k.removeprefix("measure:"): v for k, v in stats.items()}
    for key in ("customers", "invoices", "returns"):
        values[key] = int(values[key] or 0)
    for key in ("total_amount", "returns_value"):  # money: to the cent, no float-sum noise
        values[key] = round(float(values[key] or 0.0), MONEY_DECIMALS) + 0.0
    for key in ("first_date", "last_date"):
        value = values[key]
        values[key] = value if value is None or isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return values


def _duplicate_key(fields: list[str]) -> list[str]:
    """Canonical columns that make two lines exact copies (a synthetic invoice id is not compared)."""
    return [c for c in CANONICAL_DTYPES if c != "invoice_id" or "invoice_id" in fields]


def _probe_key(fields: list[str]) -> list[str]:
    """Columns whose values tell lines apart in practice, a subset of the duplicate key (equal lines
    agree on them): one line per invoice, product and quantity, as a rule. Hashing three columns
    instead of twelve makes proving that a large input has no duplicate a third cheaper (1e7 lines:
    about 4.3 -> 3.0 CPU s); lines that agree on these only (the same product and quantity twice on
    an invoice at another price) just send cleaning to the exact duplicate pass."""
    probe = ["invoice_id", "product_id", "quantity"]
    return probe if all(c in fields for c in probe[:2]) else _duplicate_key(fields)


def _line_hash(table: ibis.Table, columns: list[str]) -> ir.IntegerValue:
    """One 64-bit hash of a line's ``columns`` (the duplicate key or its probe: equal lines, equal hashes)."""
    return ibis.struct({c: table[c] for c in columns}).hash()


def _mark_duplicates(staged: ibis.Table, copies: ibis.Table, fields: list[str]) -> ibis.Table:
    """``staged`` with the ``copies`` given the reason ``duplicate`` (they were kept so far)."""
    marked = copies.mutate(_copy=ibis.literal(True))
    joined = staged.left_join(marked, ["_source", "_row"])
    copy = joined._copy.fill_null(False)
    field = "invoice_id" if "invoice_id" in fields else "customer_id"
    columns = [c for c in staged.columns if c not in ("_reason", "_field", "_source", "_row")]
    return joined.select(
        *[joined[c] for c in columns], _source=staged._source, _row=staged._row,
        _reason=ibis.cases((copy, "duplicate"), else_=joined._reason),
        _field=ibis.cases((copy, field), else_=joined._field),
    )  # fmt: skip


def _duplicates(con: BaseBackend, staged: ibis.Table, fields: list[str]) -> ibis.Table | None:
    """``_source``/``_row`` of kept lines that repeat an earlier kept line exactly (materialised, small),
    or None when no kept line repeats another.

    A hash aggregate finds the repeated lines' keys (usually few, often none: then the rows are not
    read again); only the lines with such a key are numbered. Numbering every kept line (a window
    partitioned by the whole line) cost about twice as much and held every line in memory at once.
    """
    key = _duplicate_key(fields)
    # only the columns the numbering reads: each query below then compiles and carries 13 columns, not 30
    kept = staged.filter(staged._reason.isnull()).select(*key, "_source", "_row")
    if con.name == "duckdb":
        # one 64-bit hash of the whole line is grouped and joined instead of every column (about half
        # the work, and far less memory at 1e7 lines); equal lines have equal hashes, and a collision
        # only adds a candidate that the exact numbering below tells apart
        kept = kept.mutate(_hash=_line_hash(kept, key))
        repeated = kept.group_by("_hash").aggregate(_n=kept.count()).filter(lambda t: t._n > 1).select("_hash")
        repeated = engine.materialize(con, repeated)
        if not _has_rows(repeated):
            return None
        lines = kept.semi_join(repeated, "_hash")
    else:
        repeated = kept.group_by(key).aggregate(_n=kept.count()).filter(lambda t: t._n > 1).select(*key)
        lines = kept.semi_join(repeated, [kept[c].identical_to(repeated[c]) for c in key])  # NULL matches NULL
    number = ibis.row_number().over(group_by=key, order_by=[lines._source, lines._row])
    copies = lines.mutate(_copy=number).filter(lambda t: t._copy > 0).select("_source", "_row")
    return engine.materialize(con, copies)


def _has_rows(table: ibis.Table) -> bool:
    return bool(engine.row_count(table))  # a table materialize made: counted when it was filled
