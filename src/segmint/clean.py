"""Cleaning: mapped raw columns -> the canonical transactions table plus a data-quality report.

Formats are decided in Python from whole-column evidence (one aggregate query), then every row is
parsed by one portable Ibis expression (see :mod:`segmint.parsing`). Sign convention: a line is a
return when its quantity or amount is negative, its invoice id is an Online Retail cancellation
(``C`` followed by digits) or it is a credit entry (``Cr`` marker or a debit/credit column saying
``Cr``): in a customer/sales ledger the customer is debited for a sale and credited for a return.
Return lines carry negative quantity, amount and cost so sums net out.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend
from pydantic import BaseModel, ConfigDict

from segmint import engine
from segmint.errors import DataError, MappingError
from segmint.parsing import (
    DATE_PATTERNS,
    EXCEL_SERIAL,
    PLAIN_NUMBER,
    DatePattern,
    add_parsed_dates,
    add_parsed_number,
    decimal_evidence,
    is_blank,
    normalised,
    numeric_parts,
    one_of,
    pattern_from_strptime,
)
from segmint.quality import (
    DROP_DESCRIPTIONS,
    DataQualityReport,
    DateFormatInfo,
    DroppedRows,
    drop_examples,
    incomplete_period,
    measure,
)
from segmint.schema import CANONICAL_DTYPES, MAPPABLE_FIELDS, ColumnMapping

__all__ = ["CleanOptions", "CleanResult", "DataQualityReport", "clean_transactions"]

log = logging.getLogger(__name__)

NUMBER_FIELDS = ("quantity", "unit_price", "amount", "credit", "cost", "unit_cost")
TEXT_FIELDS = ("product_id", "product_name", "country", "org_id")
CREDIT_TOKENS = ("cr", "cr.", "credit", "c")
MAX_EXAMPLES = 5  # example rows kept per drop reason


class CleanOptions(BaseModel):
    """How cleaning treats returns, duplicates, ambiguous dates and the last period."""

    model_config = ConfigDict(extra="forbid")

    returns: Literal["net", "drop"] = "net"
    drop_duplicates: bool | None = None  # None = drop exact duplicates only with an invoice column
    dayfirst: bool | None = None  # overrides ColumnMapping.dayfirst; None = decide from evidence
    date_format: str | None = None  # strptime format; overrides ColumnMapping.date_format
    decimal_comma: bool | None = None  # reading of ambiguous '1.234'; None = decide from evidence
    trailing_period: Literal["month", "quarter"] = "month"


@dataclass(frozen=True)
class CleanResult:
    """The canonical transactions table (materialised in the backend) and its quality report."""

    table: ibis.Table
    report: DataQualityReport


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
    ``report.rows_in`` counts every row of the file.
    """
    options = options or CleanOptions()
    fields = [c for c in mapped.columns if c in MAPPABLE_FIELDS]
    _check_fields(fields, mapping, source)
    untyped = {f: mapped[f].cast("string") for f in fields if mapped[f].type().is_null()}
    mapped = mapped.mutate(**untyped) if untyped else mapped  # all-empty columns have no type
    warnings: list[str] = []
    evidence = _evidence(mapped, fields)
    date_info, patterns, dayfirst = _date_plan(mapped, mapping, options, evidence, source, warnings)
    decimal = _decimal_plan(fields, mapping, options, evidence, warnings)
    plain = [f for f in NUMBER_FIELDS if evidence.get(f"plain:{f}", -1) == evidence["rows"]]
    parsed = _parse(mapped, fields, patterns, dayfirst, decimal, plain)
    staged = engine.materialize(con, _stage(parsed, fields, options))

    counts = staged.group_by("_reason").aggregate(n=staged.count()).execute()
    by_reason = {r: int(n) for r, n in zip(counts["_reason"], counts["n"]) if isinstance(r, str)}
    rows_read = int(counts["n"].sum())
    examples = drop_examples(staged, fields, MAX_EXAMPLES)
    dropped = {
        name: DroppedRows(count=n, description="skipped by the reader (not a sales line)")
        for name, n in (reader_skipped or {}).items() if n
    }
    for name, description in DROP_DESCRIPTIONS.items():
        if by_reason.get(name):
            dropped[name] = DroppedRows(
                count=by_reason[name], description=description, examples=examples.get(name, [])
            )
    rows_kept = rows_read - sum(by_reason.values())
    if rows_kept == 0:
        top = ", ".join(f"{d.count:,} {d.description}" for d in dropped.values()) or "no rows"
        raise DataError(f"{source}: no usable sales lines ({top}); check the column mapping")

    table = engine.materialize(con, _canonical(staged))
    parsed, dup_count = _parse_counters(staged, fields)
    report = DataQualityReport(
        source=source,
        rows_in=rows_read + sum((reader_skipped or {}).values()),
        rows_kept=rows_kept,
        dropped=dropped,
        parsed=parsed,
        date_formats={"invoice_date": date_info},
        decimal_comma=decimal,
        duplicates=dup_count,
        duplicates_dropped=_drop_duplicates(fields, options),
        warnings=warnings,
        **measure(table),
    )
    report.incomplete_period = incomplete_period(table, report.last_date, options.trailing_period)
    if dup_count and not report.duplicates_dropped:
        report.warnings.append(
            f"{dup_count:,} lines are exact copies of earlier lines; kept because without an invoice "
            "column they may be genuine repeat purchases"
        )
    if report.last_date and report.last_date > datetime.now() + timedelta(days=1):
        report.warnings.append(f"the last date {report.last_date:%Y-%m-%d} is in the future; check the dates")
    log.info("%s: kept %d of %d rows", source, report.rows_kept, report.rows_in)
    return CleanResult(table, report)


def _check_fields(fields: list[str], mapping: ColumnMapping, source: str) -> None:
    missing = [f for f in ("customer_id", "invoice_date") if f not in fields]
    if missing:
        raise MappingError(
            f"{source}: no column mapped to {', '.join(missing)}; map one in the column mapping "
            f"(e.g. fields: {{{missing[0]}: <column name>}})"
        )
    if "amount" not in fields and "unit_price" not in fields:
        raise MappingError(
            f"{source}: map an amount (line total) or a unit price column so sales can be valued"
        )


def _label(mapping: ColumnMapping, field: str) -> str:
    return mapping.source_for(field) or field


def _date_text(mapped: ibis.Table) -> ir.StringValue | None:
    column = mapped.invoice_date
    if column.type().is_timestamp() or column.type().is_date():
        return None
    return normalised(column.cast("string"))


def _evidence(mapped: ibis.Table, fields: list[str]) -> dict[str, int]:
    """One aggregate over the whole table: rows per date layout and decimal-separator signatures."""
    metrics: dict[str, ir.Scalar] = {"rows": mapped.count()}
    text = _date_text(mapped)
    if text is not None:
        for pattern in (*DATE_PATTERNS, EXCEL_SERIAL):
            metrics[f"date:{pattern.name}"] = text.re_search(pattern.regex).sum()
        first, second = numeric_parts(text)
        metrics["date:first_gt12"] = (first > 12).sum()
        metrics["date:second_gt12"] = (second > 12).sum()
    for field in (f for f in NUMBER_FIELDS if f in fields and not mapped[f].type().is_numeric()):
        point, comma = decimal_evidence(mapped[field])
        text = normalised(mapped[field].cast("string"))
        plain = text.re_search(PLAIN_NUMBER) | is_blank(text)
        metrics[f"plain:{field}"] = plain.sum()
        metrics[f"point:{field}"] = point.sum()
        metrics[f"comma:{field}"] = comma.sum()
    row = mapped.aggregate(**metrics).execute().iloc[0]
    return {k: 0 if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for k, v in row.items()}


def _date_plan(
    mapped: ibis.Table,
    mapping: ColumnMapping,
    options: CleanOptions,
    evidence: dict[str, int],
    source: str,
    warnings: list[str],
) -> tuple[DateFormatInfo, tuple[DatePattern, ...] | None, bool]:
    """Decide the date layouts to try (None = native timestamps) and dd/mm vs mm/dd."""
    column = _label(mapping, "invoice_date")
    text = _date_text(mapped)
    if text is None:
        info = DateFormatInfo(column=column, formats={"native": evidence["rows"]}, evidence="native dates")
        return info, None, False
    formats = {p.name: evidence[f"date:{p.name}"] for p in (*DATE_PATTERNS, EXCEL_SERIAL)}
    date_format = options.date_format or mapping.date_format
    if date_format:
        pattern = pattern_from_strptime(date_format)
        info = DateFormatInfo(column=column, formats=formats, evidence=f"forced format {date_format!r}")
        return info, (pattern,), False
    dayfirst = options.dayfirst if options.dayfirst is not None else mapping.dayfirst
    first, second = evidence["date:first_gt12"], evidence["date:second_gt12"]
    if dayfirst is not None:
        why = f"day first = {dayfirst} (set in the options/mapping)"
    elif first and second:
        raise DataError(
            f"{source}: column '{column}' mixes day-first and month-first dates: "
            f"{_numeric_examples(mapped, text, 'first')} put the day first but "
            f"{_numeric_examples(mapped, text, 'second')} put the month first; fix those rows "
            "or set dayfirst / date_format in the column mapping"
        )
    elif first:
        dayfirst, why = True, f"day first: {first:,} values have a first part > 12 (e.g. 13/04/2023)"
    elif second:
        dayfirst, why = False, f"month first: {second:,} values have a second part > 12 (e.g. 04/13/2023)"
    elif formats["numeric"]:
        dayfirst, why = False, "ambiguous (no part > 12): ASSUMED month first (01/02/2023 = 2 Jan)"
        warnings.append(
            f"dates in column '{column}' such as 01/02/2023 are ambiguous; month first was assumed. "
            "Set dayfirst: true in the column mapping if they are day first."
        )
    else:
        why = "no dd/mm or mm/dd values"
    info = DateFormatInfo(
        column=column, formats=formats, dayfirst=dayfirst if formats["numeric"] else None, evidence=why
    )
    present = tuple(p for p in (*DATE_PATTERNS, EXCEL_SERIAL) if formats[p.name])
    return info, present or DATE_PATTERNS[:1], bool(dayfirst)


def _numeric_examples(mapped: ibis.Table, text: ir.StringValue, part: str) -> str:
    first, second = numeric_parts(text)
    rows = mapped.filter((first if part == "first" else second) > 12)
    sample = rows.order_by(["_source", "_row"]).select("_row", "invoice_date").limit(3).execute()
    return "rows " + ", ".join(f"{r} ({v!r})" for r, v in zip(sample["_row"], sample["invoice_date"]))


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


def _drop_duplicates(fields: list[str], options: CleanOptions) -> bool:
    if options.drop_duplicates is not None:
        return options.drop_duplicates
    return "invoice_id" in fields


def _parse(
    mapped: ibis.Table,
    fields: list[str],
    patterns: tuple[DatePattern, ...] | None,
    dayfirst: bool,
    decimal: dict[str, bool],
    plain: list[str],
) -> ibis.Table:
    """Add ``_invoice_date`` and, per number field f, ``_n_f`` plus its flags (see add_parsed_number)."""
    if patterns is None:
        t = mapped.mutate(_invoice_date=mapped.invoice_date.cast("timestamp"))
    else:
        t = mapped.mutate(_date_text=normalised(mapped.invoice_date.cast("string")))
        t = add_parsed_dates(t, "_date_text", "_invoice_date", patterns, dayfirst=dayfirst)
        t = t.drop("_date_text")
    for field in (f for f in NUMBER_FIELDS if f in fields):
        t = add_parsed_number(t, field, f"_n_{field}", decimal_comma=decimal[field], plain=field in plain)
    return t


def _stage(t: ibis.Table, fields: list[str], options: CleanOptions) -> ibis.Table:
    """Every input row with its parsed values, repair flags and drop reason (NULL = kept).

    Built in layers that refer to earlier layers' columns, so each SQL expression stays small.
    """
    nums = [f for f in NUMBER_FIELDS if f in fields]
    null, false, one = ibis.null("float64"), ibis.literal(False), ibis.literal(1.0)
    customer = t.customer_id.cast("string").strip()
    integral = customer.re_search(r"^\d+\.0+$")
    synthetic = t._source.cast("string") + ":" + t._row.cast("string")
    invoice_blank = is_blank(t.invoice_id) if "invoice_id" in fields else ibis.literal(True)
    invoice = t.invoice_id.cast("string").strip() if "invoice_id" in fields else synthetic
    credit = false
    for field in nums:
        credit = credit | t[f"_n_{field}_credit"]
    if "debit_credit" in fields:
        credit = credit | one_of(normalised(t.debit_credit.cast("string")), CREDIT_TOKENS)
    t = t.mutate(
        _customer_id=ibis.cases((integral, customer.re_extract(r"^(\d+)\.0+$", 1)), else_=customer),
        _fix_customer=integral,
        _invoice_id=ibis.cases((invoice_blank, synthetic), else_=invoice),
        _fix_invoice=invoice_blank,
        _cancelled=(~invoice_blank & invoice.re_search(r"^[Cc]\d")) if "invoice_id" in fields else false,
        _credit=credit,
    )

    def value(field: str) -> ir.FloatingValue | None:
        return t[f"_n_{field}"] if field in nums else None

    def ratio(num: ir.FloatingValue | None, den: ir.FloatingValue | None) -> ir.FloatingValue:
        return null if num is None or den is None else ibis.cases((den != 0, num / den), else_=null)

    price, amount = value("unit_price"), value("amount")
    t = t.mutate(_qty=ibis.coalesce(value("quantity") if "quantity" in nums else one, ratio(amount, price), one))
    price, amount = value("unit_price"), value("amount")
    computed = t._qty * price if price is not None else null
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
    dup_key = [
        t._customer_id if f == "customer_id" else t._invoice_date if f == "invoice_date"
        else t[f"_n_{f}"] if f in nums else t[f].cast("string").strip()
        for f in fields
    ]
    t = t.mutate(
        _quantity=negate(t._qty),
        _unit_price=ibis.cases((is_return, t._price.abs()), else_=t._price),
        _amount=negate(t._line),
        _cost=negate(t._cost_raw),
        _fix_quantity=(blank["quantity"] & t._line.notnull()) if "quantity" in nums else false,
        _fix_amount=blank["amount"] & blank["credit"] & t._line.notnull(),
        _fix_unit_price=blank["unit_price"] & t._price.notnull(),
        _cost_unreadable=t[f"_n_{cost_field}_invalid"] if cost_field else false,
        _duplicate=ibis.row_number().over(group_by=dup_key, order_by=[t._source, t._row]) > 0,
    )
    checks: list[tuple[ir.BooleanValue, str, str]] = [
        (is_blank(t.customer_id), "missing_customer", "customer_id"),
        (is_blank(t.invoice_date), "missing_date", "invoice_date"),
        (t._invoice_date.isnull(), "bad_date", "invoice_date"),
    ]
    checks += [(t[f"_n_{f}_invalid"], f"bad_{f}", f) for f in ("quantity", "unit_price", "amount") if f in nums]
    checks.append((t._line.isnull(), "missing_amount", "amount" if "amount" in fields else "unit_price"))
    if _drop_duplicates(fields, options):
        checks.append((t._duplicate, "duplicate", "invoice_id" if "invoice_id" in fields else "customer_id"))
    if options.returns == "drop":
        checks.append((t._is_return, "return", "amount" if "amount" in fields else "quantity"))
    t = t.mutate(
        _reason=ibis.cases(*[(cond, name) for cond, name, _ in checks], else_=ibis.null("string")),
        _field=ibis.cases(*[(cond, field) for cond, _, field in checks], else_=ibis.null("string")),
    )
    return t.drop("_qty", "_line", "_price", "_cost_raw", "_cancelled")


def _canonical(staged: ibis.Table) -> ibis.Table:
    """Kept rows in the canonical column order and types, with ``line_no`` per invoice."""
    kept = staged.filter(staged._reason.isnull())
    line_no = ibis.row_number().over(group_by=kept._invoice_id, order_by=[kept._source, kept._row]) + 1
    values: dict[str, ir.Value] = {"line_no": line_no}
    for name in CANONICAL_DTYPES:
        if name == "line_no":
            continue
        if f"_{name}" in kept.columns:
            values[name] = kept[f"_{name}"]
        elif name in kept.columns and name in TEXT_FIELDS:
            text = kept[name].cast("string").strip()
            values[name] = ibis.cases((is_blank(kept[name]), ibis.null("string")), else_=text)
        else:
            values[name] = ibis.null(CANONICAL_DTYPES[name])
    return kept.select(**{n: values[n].cast(CANONICAL_DTYPES[n]) for n in CANONICAL_DTYPES})


def _parse_counters(staged: ibis.Table, fields: list[str]) -> tuple[dict[str, int], int]:
    """Counts of repaired values in the kept rows, and the number of exact duplicate lines (all rows)."""
    metrics = {
        "customer_ids_fixed": staged._fix_customer,
        "invoice_ids_synthesised": staged._fix_invoice,
        "quantity_filled": staged._fix_quantity,
        "amount_computed": staged._fix_amount,
        "unit_price_computed": staged._fix_unit_price,
        "credit_entries": staged._credit,
        "cost_unreadable": staged._cost_unreadable,
    }
    for field in (f for f in NUMBER_FIELDS if f in fields):
        metrics[f"money_strings_{field}"] = staged[f"_n_{field}_money"]
        metrics[f"dr_cr_markers_{field}"] = staged[f"_n_{field}_drcr"]
        metrics[f"parentheses_negative_{field}"] = staged[f"_n_{field}_paren"]
    kept = staged._reason.isnull()
    sums = {k: (v & kept).sum() for k, v in metrics.items()}
    sums["_duplicates"] = staged._duplicate.sum()
    row = staged.aggregate(**sums).execute().iloc[0]
    counts = {k: 0 if v is None or v != v else int(v) for k, v in row.items()}
    return {k: v for k, v in counts.items() if not k.startswith("_")}, counts["_duplicates"]
