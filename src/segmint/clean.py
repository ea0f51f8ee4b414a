"""Cleaning: mapped raw columns -> the canonical transactions table plus a data-quality report.

Formats are decided from evidence over each text column's distinct values and parsed once per distinct
value (:mod:`segmint.formats`); then one portable Ibis expression gives every row its canonical values
and its drop reason (:mod:`segmint.clean_stage`), materialised once or, for a large input, streamed.
The canonical table is the kept rows of that one table (no second copy); the report's counters come
from one aggregate over it and, for a large input, from the kept lines' groups, which also prove that
no line repeats another (:mod:`segmint.clean_counts`). Sign convention: a line is a
return when its quantity or amount is negative, its invoice id is an Online Retail cancellation
(``C`` followed by digits) or it is a credit entry (``Cr`` marker or a debit/credit column saying
``Cr``): in a customer/sales ledger the customer is debited for a sale and credited for a return.
Return lines carry negative quantity, amount and cost so sums net out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmint import engine
from segmint.clean_counts import (
    _counters,
    _counters_without_drops,
    _distinct_probes,
    _duplicate_field,
    _duplicates,
    _group_counters,
    _kept,
    _kept_lines,
    _line_groups,
    _lists_fit,
    _mark_duplicates,
    _measure,
    _with_line_hash,
    absent_reasons,
    returns_by_quantity,
)
from segmint.clean_options import EARLIEST_DATE, PLACEHOLDER_NOTE, CleanOptions, latest_date, unpriced
from segmint.clean_stage import TEXT_FIELDS, _materialize_staged, _stage, streamable
from segmint.errors import DataError, Fix, MappingError
from segmint.formats import (
    NUMBER_FIELDS,
    Dictionaries,
    currencies,
    date_plan,
    dictionaries,
    evidence,
    parse_columns,
    sub_cent_change,
    typed_sub_cent,
)
from segmint.invoices import one_row_per_invoice, totals_of_groups
from segmint.money import MAX_AMOUNT
from segmint.quality import (
    DROP_DESCRIPTIONS,
    DataQualityReport,
    DroppedRows,
    drop_examples,
    period_checks,
)
from segmint.schema import CANONICAL_DTYPES, CONTACT_DTYPES, MAPPABLE_FIELDS, PRODUCT_ATTRIBUTE_DTYPES, ColumnMapping
from segmint.textshape import TextShape, text_rows, text_shape
from segmint.units import has_value_column
from segmint.util import counted

__all__ = ["CleanOptions", "CleanResult", "DataQualityReport", "clean_transactions"]

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5  # example rows kept per drop reason
BOUNDS = {"amount_too_large": "amount", "cost_too_large": "cost"}  # reasons tested once a sum is too large


@dataclass(frozen=True)
class CleanResult:
    """The canonical transactions table (kept rows, in the backend) and its quality report."""

    table: ibis.Table
    report: DataQualityReport
    totals: ibis.Table | None = None  # invoices.invoice_totals of ``table`` (large inputs), materialised
    totals_per_invoice: bool = False  # every invoice is one row of ``totals`` (invoices.one_row_per_invoice)


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

    Money stays within :data:`segmint.money.MAX_AMOUNT`: when the kept lines' amounts or costs add up
    beyond it (sales plus returns, read from the report's own sums: no extra query), the lines are
    cleaned again with each line's amount and cost tested (``amount_too_large``, ``cost_too_large``);
    if those kept still add up beyond it, a ``DataError`` says so.
    """
    options = options or CleanOptions()
    arguments = (mapped, mapping, con, source, options, reader_skipped)
    return _clean(*arguments, bounded=False) or _clean(*arguments, bounded=True)  # type: ignore[return-value]


def _clean(
    mapped: ibis.Table, mapping: ColumnMapping, con: BaseBackend, source: str, options: CleanOptions,
    reader_skipped: dict[str, int] | None, *, bounded: bool,
) -> CleanResult | None:
    """:func:`clean_transactions`; unless ``bounded``, without the ``amount_too_large`` and
    ``cost_too_large`` tests and None when the kept lines' amounts or costs add up beyond
    :data:`~segmint.money.MAX_AMOUNT`."""
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
        evidence=found, source=source, warnings=warnings, dates=dicts.tables.get("invoice_date"),
    )  # fmt: skip
    decimal = _decimal_plan(fields, mapping, options, found, warnings)
    parsed = parse_columns(
        con, mapped, fields, dicts, found, patterns=patterns, dayfirst=dayfirst, decimal=decimal
    )
    warnings += _sub_cent_warnings(dicts.sub_cent, mapping)
    columns = ["customer_id", "invoice_id", "invoice_date", *TEXT_FIELDS, *CONTACT_DTYPES, *PRODUCT_ATTRIBUTE_DTYPES]
    rows = dicts.rows if dicts.rows is not None else text_rows(con, mapped, columns)
    stream = streamable(con, dicts.joined(), rows)
    # a streamed input's invoice ids are a key of its grouping pass: checked there, once per group
    deferred = ("invoice_id",) if stream else ()
    shape = text_shape(con, mapped, columns, **SHAPE_TESTS, grouped=dicts.tables, rows=rows, deferred=deferred)
    # streamed lines cast their text again in every pass: what the dictionaries prove is left out
    absent, dates = absent_reasons(dicts, fields, shape, options) if stream else (set(), None)
    absent = absent if bounded else absent | set(BOUNDS)  # tested once some sum is too large
    typed = not stream and typed_sub_cent(mapped, fields)
    narrow, field_of, tests = _stage(parsed, fields, options, shape, absent=absent)
    if not stream and con.name == "duckdb":
        narrow = _with_line_hash(narrow, fields)  # the duplicate pass groups and joins the stored hash
        field_of = field_of | {"duplicate": _duplicate_field(fields)}  # copies may be marked in place
    staged, stored = _materialize_staged(con, mapped, narrow, field_of, stream=stream)
    for table in dicts.tables.values():
        _drop_quietly(con, table)
    drop_duplicates = _drop_duplicates(fields, options)
    groups = kept = None
    counts: dict[str, Any] = {}
    if stream:
        streamed = (con, mapped, parsed, fields, options)
        counts, kept, groups = _streamed_counts(*streamed, shape, staged, tests, dicts, absent, dates)
        if any([counts.pop(key) for key in [k for k in counts if k.startswith("assumed:")]]):
            # an invoice id is padded or a placeholder after all: counted over every line, and the
            # lines staged, counted and grouped again with the full expressions they need
            _drop_quietly(con, groups)
            shape = shape.replaced(text_shape(con, mapped, list(deferred), **SHAPE_TESTS, rows=rows))
            narrow, field_of, tests = _stage(parsed, fields, options, shape, absent=absent)
            staged, stored = _materialize_staged(con, mapped, narrow, field_of, stream=True)
            counts, kept, groups = _streamed_counts(*streamed, shape, staged, tests, dicts, absent, dates)
    if stream and returns_by_quantity(counts, options):
        # every return a line of negative quantity: later passes (the products counted per customer)
        # find the returns by the quantity alone, reading neither invoice ids nor prices for them
        kept = _kept_lines(con, mapped, parsed, fields, options, shape, counts, absent, quantity_returns="only")
    counts.pop("_quantity_returns", None)
    if counts.get("_repeats") == 0:
        copies = None  # no kept line repeats another (no duplicate pass)
    else:
        copies = _duplicates(con, staged, fields)
    duplicates = 0 if copies is None else engine.row_count(copies)
    if drop_duplicates and duplicates:
        staged = _mark_duplicates(con, staged, stored, copies, fields)
        if stream:  # counted before the copies were marked: count and group the marked lines again
            kept = staged.filter(staged._reason.isnull())
            groups = _line_groups(con, kept, fields, prove=False)
            counts = _counters(staged, fields, distinct=False, absent=absent) | _group_counters(groups)
    if not stream:  # one aggregate of the stored lines counts everything, the distinct values too
        counts = _counters(staged, fields, distinct=True, typed_amount=typed, absent=absent)
    counts.pop("_repeats", None)
    if not _sums_fit(counts):
        if not bounded:
            for table in (stored, groups):
                if table is not None:
                    _drop_quietly(con, table)
            return None
        raise _sums_too_large(counts, source, mapping, unpriced(fields, options))
    counts.pop("measure:cost_gross", None)
    if typed:  # a typed amount column's values of more than 2 decimals, counted in the aggregate above
        found = {"amount": (counts.pop("sub_cent:amount"), counts.pop("sub_cent_change:amount"))}
        warnings += _sub_cent_warnings(found, mapping)
    by_reason = {name: counts.pop(f"reason:{name}") for name in DROP_DESCRIPTIONS if f"reason:{name}" in counts}
    rows_read = counts.pop("rows")
    if date_info.evidence == "native dates":
        date_info.formats["native"] = rows_read
    dropped: dict[str, DroppedRows] = {}
    skipped = reader_skipped or {}
    if any(skipped.values()):  # rows a reader left out (the ledger modules name them)
        from segmint.io.ledger_report import drop_description

        dropped = {name: DroppedRows(count=n, description=drop_description(name)) for name, n in skipped.items() if n}
    examples = drop_examples(staged, mapped, fields, MAX_EXAMPLES, counts=by_reason) if any(by_reason.values()) else {}
    for name, description in DROP_DESCRIPTIONS.items():
        if by_reason.get(name):
            if name == "date_out_of_range":
                description = f"date before {options.earliest_date} or after {latest_date(options)}" + (
                    f" ({PLACEHOLDER_NOTE})" if options.earliest_date == EARLIEST_DATE else ""
                )
            dropped[name] = DroppedRows(
                count=by_reason[name], description=description, examples=examples.get(name, [])
            )
    rows_kept = rows_read - sum(by_reason.values())
    if rows_kept == 0:
        raise _nothing_kept(source, dropped, mapping)

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
        report.unpriced = True
        report.warnings.append(
            "no amount or price column: each line is valued at its quantity, so money figures count items"
        )
    if duplicates and not report.duplicates_dropped:
        report.warnings.append(
            f"{duplicates:,} lines are exact copies of earlier lines; kept because "
            + ("you asked to keep them" if options.drop_duplicates is False and "invoice_id" in fields
               else "without an invoice column they may be genuine repeat purchases")
        )  # fmt: skip
    if dropped.get("bad_date"):  # its layout hints (and their patterns) only for dates not understood
        from segmint.date_hint import zone_word_warnings

        report.warnings += zone_word_warnings(dropped["bad_date"], _label(mapping, "invoice_date"))
    report.warnings += [_too_large_warning(dropped[name], mapping, word) for name, word in BOUNDS.items()
                        if name in dropped]  # fmt: skip
    if report.last_date and report.last_date > datetime.now() + timedelta(days=1):
        report.warnings.append(f"the last date {report.last_date:%Y-%m-%d} is in the future; check the dates")
    log.info("%s: kept %d of %d rows", source, report.rows_kept, report.rows_in)
    # as many invoices as groups (as a rule): purchases by invoice are the groups, not regrouped
    per_invoice = groups is not None and one_row_per_invoice(groups, report.invoices)
    return CleanResult(table, report, totals, per_invoice)




SHAPE_TESTS = {"dots": ("customer_id",), "cs": ("invoice_id",)}  # text_shape's extra tests, by column


def _streamed_counts(
    con: BaseBackend, mapped: ibis.Table, parsed: ibis.Table, fields: list[str], options: CleanOptions,
    shape: TextShape, staged: ibis.Table, tests: ibis.Table | None, dicts: Dictionaries, absent: set[str],
    dates: tuple[datetime, datetime] | None,
) -> tuple[dict[str, Any], ibis.Table, ibis.Table]:
    """A streamed input's report counters, kept lines and their groups (materialised); the counters
    include ``shape``'s ``assumed:`` counts over the groups (:func:`segmint.textshape.assumption_counts`)."""
    # no line dropped (typed files, as a rule): each test and repair counted by a filter on its own
    # columns, which Parquet's statistics mostly answer; else one ungrouped aggregate over the
    # lines counts rows per drop reason, repairs and the kept lines' measures (but the distinct
    # customers and invoices, counted from the groups below)
    counts = _counters_without_drops(
        con, staged, fields, tests, one_pass=bool(dicts.cast or dicts.plain), rows=dicts.rows, dates=dates
    )
    summed = counts is not None  # the kept lines' sums and returns then come from the groups
    counts = counts if summed else _counters(staged, fields, distinct=False, absent=absent)
    # every later pass reads the kept lines again: test only the reasons some line was dropped
    # for (none, often: then no filter and no test at all)
    kept = _kept_lines(con, mapped, parsed, fields, options, shape, counts, absent, quantity_returns="count")
    # the kept lines grouped by the invoice totals' grain (2.1M groups at 1e7 lines): the totals
    # analyze reads, the distinct customers and invoices and the proof that no line repeats another;
    # the kept lines' invoice ids are the groups', so what the shape assumed of them is counted there
    prove = _lists_fit(con, shape.counts.get("rows", dicts.rows))
    groups = _line_groups(con, kept, fields, prove=prove, returns=summed)
    counts |= _group_counters(groups, shape)
    contradicted = any(n for key, n in counts.items() if key.startswith("assumed:"))  # counted again: no proof
    if not prove and not contradicted:  # too large for the lists: as many distinct probe hashes as kept lines
        counts["_repeats"] = _kept(counts) - _distinct_probes(kept, fields)
    return counts, kept, groups


def _gross(counts: dict[str, Any]) -> float:
    """The kept lines' amounts added up as positive numbers (sales plus returns). A kept line is a
    return exactly when its amount is negative (returns are negated, every other line's value is not
    negative), so this is the net total less twice the returns' value, both counted already."""
    return float(counts.get("measure:total_amount") or 0.0) - 2 * float(counts.get("measure:returns_value") or 0.0)


def _cost_gross(counts: dict[str, Any]) -> float:
    """The kept lines' costs added up as positive numbers (0 without a cost column)."""
    return float(counts.get("measure:cost_gross") or 0.0)


def _sums_fit(counts: dict[str, Any]) -> bool:
    """Does every sum of kept lines' amounts or costs (per customer, invoice, period, segment, all)
    stay within MAX_AMOUNT? Each is at most the gross total in size (False for NaN)."""
    return _gross(counts) <= MAX_AMOUNT and _cost_gross(counts) <= MAX_AMOUNT


def _sums_too_large(counts: dict[str, Any], source: str, mapping: ColumnMapping, items: bool) -> DataError:
    """Every line is within MAX_AMOUNT but together they go beyond it: what they add up to, and the fix."""
    if _gross(counts) <= MAX_AMOUNT:  # the costs went beyond it
        field = "cost" if mapping.source_for("cost") else "unit_cost"
        what, gross, holds = "costs", _cost_gross(counts), "each line's cost"
    else:
        field = "quantity" if items else "amount" if mapping.source_for("amount") else "unit_price"
        what, gross, holds = "amounts", _gross(counts), "each line's money value"
    column = _label(mapping, field)
    told = f"{gross:,.0f}" if gross == gross and gross != float("inf") else "more than any number"
    return DataError(
        f"{source}: the {what} in column '{column}' add up to {told} (sales plus returns), beyond "
        f"{MAX_AMOUNT:,.0f}, the most that sums of money hold exactly",
        field=column, value=told, fix=Fix("mapping", example={field: "COLUMN"}, note=(
            f"check that '{column}' holds {holds}; {what} in a very small unit can be divided into a "
            "larger one (e.g. thousands) first, or the file analysed in parts (a year at a time)"
        )),
    )  # fmt: skip


def _too_large_warning(dropped: DroppedRows, mapping: ColumnMapping, word: str) -> str:
    """The dropped lines of too large an amount (or cost: ``word``), the first of them (row, column,
    value) and the fix."""
    first = dropped.examples[0] if dropped.examples else {}
    where = (f" (e.g. {first.get('_source')} row {first['_row']:,}, column '{_label(mapping, first['field'])}': "
             f"{first.get('value')!r})") if first.get("_row") is not None and first.get("field") else ""  # fmt: skip
    fix = ("correct the value in the file if it is a real sale, or map the column that holds each line's money value"
           if word == "amount" else "correct the value in the file, or map the column that holds each line's cost")
    return f"{counted(dropped.count, 'line')} dropped for {'an' if word == 'amount' else 'a'} {word} beyond " \
        f"{MAX_AMOUNT:,.0f}{where}: {fix}"


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
    if not has_value_column(fields) and options.unpriced == "error":
        raise MappingError(
            f"{source}: map an amount (line total) or a unit price column so sales can be valued"
        )


def _nothing_kept(source: str, dropped: dict[str, DroppedRows], mapping: ColumnMapping) -> DataError:
    """Every line dropped: the counts by reason and the first row of the largest one (row, column,
    value); when the dates were not understood, a ``date_format`` fix (``field`` is the column)."""
    top = ", ".join(f"{d.count:,} {d.description}" for d in dropped.values()) or "no rows"
    biggest = max(dropped, key=lambda name: dropped[name].count, default=None)
    shown = next((ex for ex in dropped[biggest].examples if ex.get("field")), None) if biggest else None
    if shown is None:
        return DataError(f"{source}: no usable sales lines ({top}); check the column mapping")
    column, value = _label(mapping, shown["field"]), shown.get("value")
    where = f"{shown.get('_source', source)} row {shown['_row']:,}, column '{column}': " + (
        "(blank)" if value is None or not str(value).strip() else repr(value)
    )
    fix, zone = None, None
    if biggest == "bad_date":  # the column's layout, suggested from the value when it can be read
        from segmint.date_hint import suggest_date_format, zone_word_hint

        zone = zone_word_hint(value, column)  # a trailing word that is no zone name: named, with its fixes
        fix = Fix("date_format", example=suggest_date_format(value), note=zone or (
            f"if '{column}' holds the dates, give their layout in strptime codes (%d day, %m month, %Y year, "
            "%H:%M time)"
        ))
    return DataError(
        f"{source}: no usable sales lines ({top}); e.g. {where}. " + (f"The {zone}" if zone else "Check the column mapping"),
        field=column, value=value, fix=fix,
    )


def _label(mapping: ColumnMapping, field: str) -> str:
    return mapping.source_for(field) or field


def _sub_cent_warnings(sub_cent: dict[str, tuple[int, int]], mapping: ColumnMapping) -> list[str]:
    """A warning per money column with values of more than 2 decimals: reported to the cent, not silently."""
    warnings = []
    for field, (rows, millionths) in sub_cent.items():
        if rows:
            change = sub_cent_change(millionths)
            warnings.append(
                f"{rows:,} value(s) in column '{_label(mapping, field)}' have more than 2 decimals (a currency of "
                f"1/1000 units?): money is reported to the cent, and rounding each of them to the cent changes "
                f"their total by {change}"
            )
    return warnings


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
        named = currencies(evidence, field)
        if len(named) > 1:
            listed = ", ".join(f"{symbol} in {n:,} row(s)" for symbol, n in named.items())
            warnings.append(
                f"column '{_label(mapping, field)}' mixes currencies ({listed}): its values are added as written, "
                "with no conversion, so totals mix currencies; convert them to one currency (or read each "
                "currency's rows as a file of its own) first"
            )
        if commas[field] and points[field]:
            warnings.append(
                f"column '{_label(mapping, field)}' mixes decimal points ({points[field]:,} values like "
                f"1,234.50) and decimal commas ({commas[field]:,} like 1.234,50); each was read its own way"
            )
    return plan




def _drop_duplicates(fields: list[str], options: CleanOptions) -> bool:
    if options.drop_duplicates is not None:
        return options.drop_duplicates
    return "invoice_id" in fields








