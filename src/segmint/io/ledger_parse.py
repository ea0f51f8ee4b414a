"""The per-row reading of a ledger table as one portable Ibis expression: dates, amounts in cents,
party, voucher type -> base type, bill references, and the one reason a row is not used."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.errors import DataError
from segmint.io.base import RawTable
from segmint.io.ledger_layout import LedgerLayout
from segmint.io.ledger_report import whole
from segmint.money import MAX_AMOUNT
from segmint.io.vouchers import ACCOUNTING, LedgerRules
from segmint.parsing import (
    DATE_PATTERNS,
    EXCEL_SERIAL,
    NUMBER_FLAGS,
    add_parsed_dates,
    add_parsed_number,
    is_blank,
    normalised,
    numeric_parts,
)

DATE_FIELDS = ("date", "due_date", "settled_date")
_CANCELLED = r"^\(?\s*cancell?ed\s*\)?$"
_TOTAL = r"^\s*((grand|current|sub)[\s-]*)?totals?\s*[:\-]?\s*$"
_OPENING = r"^\s*(to\s+|by\s+)?opening\s+balance\s*$"
_CLOSING = r"^\s*(to\s+|by\s+)?closing\s+balance\s*$"
_CREDIT_BASES = ("Receipt", "Credit Note")  # a sign-less amount of these types is a credit


def parse_dates(raw: RawTable, layout: LedgerLayout, dayfirst: bool | None) -> tuple[ir.Table, str, list[str]]:
    """Add ``_d_<field>`` (timestamp) for each date field; dd/mm vs mm/dd decided over all of them."""
    table = raw.table
    columns = {f: layout.column(f) for f in DATE_FIELDS if layout.column(f)}
    texts = {f: normalised(table[c].cast("string")) for f, c in columns.items() if not table[c].type().is_temporal()}
    warnings: list[str] = []
    metrics: dict[str, Any] = {"rows": table.count()}
    examples: dict[str, Any] = {}  # a date of the file showing the order (the first field's that has one)
    for f, text in texts.items():
        for pattern in (*DATE_PATTERNS, EXCEL_SERIAL):
            metrics[f"{f}:{pattern.name}"] = text.re_search(pattern.regex).sum()
        first, second = numeric_parts(text)
        metrics[f"{f}:first"] = (first > 12).sum()
        metrics[f"{f}:second"] = (second > 12).sum()
        examples[f"{f}:first"] = table[columns[f]].cast("string").min(where=first > 12)
        examples[f"{f}:second"] = table[columns[f]].cast("string").min(where=second > 12)
    row = table.aggregate(**metrics, **{f"example:{k}": v for k, v in examples.items()}).execute().iloc[0]
    counts = {k: whole(v) for k, v in row.items() if not k.startswith("example:")}
    first = sum(counts.get(f"{f}:first", 0) for f in texts)
    second = sum(counts.get(f"{f}:second", 0) for f in texts)
    numeric = sum(counts.get(f"{f}:numeric", 0) for f in texts)
    if dayfirst is not None:
        note = f"day first = {dayfirst} (as given)"
    elif first and second:
        raise DataError(
            f"{raw.source}: the date columns mix day-first and month-first dates ({first:,} values have a first "
            f"part above 12, {second:,} a second part above 12); fix those rows or say which order the file uses"
        )
    elif first:
        dayfirst, note = True, f"day first ({first:,} values like {_example(row, texts, 'first')})"
    elif second:
        dayfirst, note = False, f"month first ({second:,} values like {_example(row, texts, 'second')})"
    elif numeric:
        dayfirst, note = True, "dd/mm vs mm/dd ambiguous: ASSUMED day first, as Tally writes dates"
        warnings.append(f"{raw.source}: dates such as 01/02/2023 are ambiguous; day first (1 Feb) was assumed")
    else:
        dayfirst, note = True, "no dd/mm or mm/dd dates"
    for f, column in columns.items():
        out = f"_d_{f}"
        if f not in texts:
            table = table.mutate(**{out: table[column].cast("timestamp")})
            continue
        present = tuple(p for p in (*DATE_PATTERNS, EXCEL_SERIAL) if counts.get(f"{f}:{p.name}"))
        patterns, first_day = present or DATE_PATTERNS[:1], bool(dayfirst)
        table = by_dictionary(table, column, [out], lambda d, o=out, pt=patterns, fd=first_day: add_parsed_dates(
            d.mutate(_dt=normalised(d.value.cast("string"))), "_dt", o, pt, dayfirst=fd).drop("_dt"))
    return table, note, warnings


def by_dictionary(table: ir.Table, column: str, outputs: list[str], parse: Any) -> ir.Table:
    """Add ``outputs`` computed by ``parse`` once per distinct value of ``column`` (then joined back).

    A ledger repeats its dates and amounts; regex parsing each distinct value once, in a small
    materialised table, is much cheaper than parsing every row (the same idea as ``segmint.formats``).
    """
    from segmint.engine import materialize

    distinct = table.select(value=table[column]).distinct().filter(lambda d: d.value.notnull())
    parsed = materialize(table._find_backend(), parse(distinct).select("value", *outputs))
    joined = table.left_join(parsed, table[column] == parsed.value)
    return joined.drop(*[c for c in joined.columns if c == "value" or c.endswith("_right")])


def _example(row: Any, fields: dict[str, Any], part: str) -> str:
    """The first date field's value (as written) whose ``part`` is above 12, from the evidence row."""
    return next(str(row[f"example:{f}:{part}"]).strip() for f in fields if isinstance(row[f"example:{f}:{part}"], str))


def parse_period(period: tuple[str, str] | None, table: ir.Table) -> dt.date | None:
    """The first day of the report period from its title ('1-Apr-23 to 31-Mar-24'), else None."""
    if not period:
        return None
    text = re.sub(r"[-/., ]+", " ", period[0]).strip()
    for fmt in ("%d %b %y", "%d %b %Y", "%d %B %Y", "%d %B %y", "%d %m %Y", "%d %m %y", "%Y %m %d"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _text(table: ir.Table, column: str | None) -> ir.StringValue:
    if column is None:
        return ibis.null("string")
    value = table[column].cast("string").strip()
    return ibis.cases((is_blank(value), ibis.null("string")), else_=value)


def _cents(value: ir.FloatingValue) -> ir.IntegerValue:
    """Whole cents; NULL beyond MAX_AMOUNT (its row is dropped as ``amount_too_large``): the cast raised."""
    return ibis.cases((value.abs() <= MAX_AMOUNT, (value * 100).round().cast("int64")), else_=ibis.null("int64"))


def _too_large(value: ir.FloatingValue) -> ir.BooleanValue:
    """An amount beyond MAX_AMOUNT (NaN too: it compares greater than any number)."""
    return (value.abs() > MAX_AMOUNT).fill_null(False)


def stage(
    table: ir.Table,
    layout: LedgerLayout,
    rules: LedgerRules,
    bases: dict[str, tuple[str, str]],
    period_start: dt.date | None,
) -> ir.Table:
    """Every row with its parsed values and ``_reason`` (NULL = used), built in small layers."""
    from segmint.engine import materialize

    col = layout.column
    zero = ibis.literal(0, "int64")
    for name in ("debit", "credit", "amount", "paid_amount", "credit_limit"):
        if not col(name):
            continue
        out = f"_n_{name}"
        if table[col(name)].type().is_numeric():
            table = add_parsed_number(table, col(name), out)
            continue
        flags = [f"{out}_{flag}" for flag in NUMBER_FLAGS]
        table = by_dictionary(table, col(name), [out, *flags], lambda d, o=out: add_parsed_number(d, "value", o))
        table = table.mutate(**{f"{out}_invalid": table[f"{out}_invalid"].fill_null(False),
                                f"{out}_blank": table[f"{out}_blank"].fill_null(True)})
    # computing the parsed dates and numbers once keeps each query small (Ibis compiles deep layers slowly)
    table = materialize(table._find_backend(), table)
    counters = _counter_ledgers(table, layout, rules)

    def number(name: str) -> ir.FloatingValue:
        return table[f"_n_{name}"] if col(name) else ibis.null("float64")

    def invalid(name: str) -> ir.BooleanValue:
        return table[f"_n_{name}_invalid"] if col(name) else ibis.literal(False)

    vtype = _text(table, col("voucher_type"))
    if layout.kind == "single_party":
        party = ibis.literal(layout.party, "string")
        counter = _text(table, col("counter_ledger"))
    else:
        party = _text(table, col("party"))
        counter = ibis.null("string")
    label = ibis.coalesce(counter, party) if layout.kind == "single_party" else party
    debit, credit, amount = number("debit").abs(), number("credit").abs(), number("amount")
    table = table.mutate(
        _party=party, _counter=counter, _label=label.lower(), _vtype=vtype,
        _vno=_text(table, col("voucher_no")),
        _bill_ref=_text(table, col("bill_ref")) if col("bill_ref") else _text(table, col("voucher_no"))
        if layout.kind == "receivables" else ibis.null("string"),
        _bill_type_raw=_text(table, col("bill_type")).lower(),
        _debit_cents=ibis.coalesce(_cents(debit), zero), _credit_cents=ibis.coalesce(_cents(credit), zero),
        _amount_cents=_cents(amount), _marker=_text(table, col("debit_credit")).lower(),
        _bad=invalid("debit") | invalid("credit") | invalid("amount") | invalid("paid_amount"),
        _too_large=_too_large(debit) | _too_large(credit) | _too_large(amount) | _too_large(number("paid_amount")),
        _limit=number("credit_limit").abs(),
    )  # fmt: skip
    table = _with_details(_with_base(table, layout, bases), layout)
    signless = ibis.cases(
        (table._marker.re_search(r"^c"), -table._amount_cents.abs()),
        (table._marker.re_search(r"^d"), table._amount_cents.abs()),
        (table._base.isin(list(_CREDIT_BASES)), -table._amount_cents.abs()),
        else_=table._amount_cents,
    )
    has_dc = bool(col("debit") or col("credit"))
    cents = (table._debit_cents - table._credit_cents) if has_dc else signless
    opening = table._label.re_search(_OPENING).fill_null(False) | (table._base == "Opening Balance")
    start = ibis.literal(period_start, "date") if period_start else table._d_date.min().over().date()
    paid = _cents(number("paid_amount").abs()) if col("paid_amount") else table._amount_cents.abs()
    table = table.mutate(
        _cents=cents, _opening=opening,
        _date=ibis.cases((opening & table._d_date.isnull(), start), else_=table._d_date.date()),
        _due=table._d_due_date.date() if col("due_date") else ibis.null("date"),
        _settled=table._d_settled_date.date() if col("settled_date") else ibis.null("date"),
        _paid_cents=paid, _suffix=ibis.literal(""),
        _bill_type=_bill_type(table._bill_type_raw),
        _debtor=_debtor(table, layout, rules),
        _has_amount=(table._debit_cents != 0) | (table._credit_cents != 0) | (table._amount_cents.fill_null(0) != 0),
    )  # fmt: skip
    if not col("due_date"):  # a credit period ('30 Days') from a column or a bill-wise detail line
        days = table._line_days
        if col("credit_days"):
            given = _text(table, col("credit_days")).re_extract(r"(\d+)", 1)
            days = ibis.coalesce(ibis.cases((given != "", given), else_=ibis.null("string")), days)
        table = table.mutate(_due=ibis.cases(
            (days.notnull(), table._date + days.cast("int64").as_interval("D")), else_=ibis.null("date")))
    if layout.kind == "receivables":  # a receivables row's amount is the bill: a debit
        table = table.mutate(_cents=table._amount_cents.abs() if not has_dc else table._cents,
                             _base=ibis.literal("Sales"), _vtype=ibis.literal("Invoice"))
    return _with_reason(table, layout, rules, counters)


_BILL_LINE = r"^\s*(new\s+ref|agst\s+ref|against\s+ref|on\s+account|advance)\s*$"


def _with_details(t: ir.Table, layout: LedgerLayout) -> ir.Table:
    """Detailed Day Books put lines under each voucher (its other ledgers, items, cost centres and the
    bill-wise line 'New Ref | 2 | 30 Days | 11111 Dr'). Mark them (``_detail``) and give a voucher the
    bill name, bill type and credit period of its one bill-wise line."""
    null_text = ibis.null("string")
    if layout.kind != "vouchers" or not layout.column("voucher_type"):
        return t.mutate(_detail=ibis.literal(False), _line_days=null_text)
    labels = t._label.re_search(_OPENING) | t._label.re_search(_CLOSING) | t._label.re_search(_TOTAL)
    detail = (t._vtype.isnull() & t._vno.isnull() & t._d_date.isnull() & ~labels.fill_null(False)).fill_null(False)
    mapped = set(layout.columns.values())
    extra = [c for c in t.columns if c not in mapped and not c.startswith("_") and t[c].type().is_string()]
    first_extra = ibis.coalesce(*[_text(t, c) for c in extra]) if extra else null_text
    joined = ibis.literal(" ").join([t[c].fill_null("") for c in extra]) if extra else ibis.literal("")
    window = ibis.window(group_by=t._source, order_by=t._row, rows=(None, 0))
    t = t.mutate(
        _detail=detail, _anchor=ibis.cases((~detail, t._row), else_=ibis.null("int64")).max().over(window),
        _is_bill_line=detail & t._label.re_search(_BILL_LINE).fill_null(False),
        _line_name=first_extra, _line_days_raw=joined.lower().re_extract(r"(\d+)\s*days?", 1),
    )
    lines = t.filter(t._is_bill_line)
    per_voucher = lines.group_by(_src=lines._source, _vrow=lines._anchor).aggregate(
        _lines=lines.count(), _line_ref=lines._line_name.min(), _line_type=lines._label.min(),
        _line_days_v=lines._line_days_raw.min(),
    )
    t = t.left_join(per_voucher, [t._source == per_voucher._src, t._row == per_voucher._vrow])
    t = t.drop("_src", "_vrow")
    one = t._lines == 1
    return t.mutate(
        _bill_ref=ibis.coalesce(t._bill_ref, ibis.cases((one, t._line_ref), else_=null_text)),
        _bill_type_raw=ibis.coalesce(t._bill_type_raw, ibis.cases((one, t._line_type), else_=null_text)),
        _line_days=ibis.cases((one & (t._line_days_v != ""), t._line_days_v), else_=null_text),
    ).drop("_lines", "_line_ref", "_line_type", "_line_days_v", "_is_bill_line", "_line_name", "_line_days_raw")


def _with_base(table: ir.Table, layout: LedgerLayout, bases: dict[str, tuple[str, str]]) -> ir.Table:
    if layout.column("base_type"):
        return table.mutate(_base=_text(table, layout.column("base_type")))
    if not bases:
        # no voucher types (a bare one-party ledger): debits are bills, credits are receipts
        has_dc = bool(layout.column("debit") or layout.column("credit"))
        sign = (table._debit_cents - table._credit_cents) if has_dc else table._amount_cents
        return table.mutate(_base=ibis.cases((sign < 0, "Receipt"), else_="Sales"))
    base = table._vtype.cases(*[(name, b) for name, (b, _) in bases.items()], else_="Other")
    return table.mutate(_base=base)


def _bill_type(raw: ir.StringValue) -> ir.StringValue:
    return ibis.cases(
        (raw.re_search(r"agst|against"), "Agst Ref"), (raw.re_search(r"new"), "New Ref"),
        (raw.re_search(r"on\s*a"), "On Account"), (raw.re_search(r"adv"), "Advance"),
        else_=ibis.null("string"),
    )


def _role(table: ir.Table, layout: LedgerLayout) -> ir.StringValue:
    """'customer', 'counter', 'other' when the data says (Tally groups), else NULL."""
    if layout.column("party_role"):
        return _text(table, layout.column("party_role")).lower()
    return ibis.null("string")


def _debtor(table: ir.Table, layout: LedgerLayout, rules: LedgerRules) -> ir.BooleanValue:
    if layout.debtors_only:
        return ibis.literal(True)
    if not layout.column("party_role"):
        return ibis.null("boolean")
    role = _role(table, layout)
    return ibis.cases((role.isnull(), ibis.null("boolean")), else_=role == "customer")


def _counter_ledgers(table: ir.Table, layout: LedgerLayout, rules: LedgerRules) -> list[str]:
    """Party names that are counter-ledgers, decided in Python on the distinct names (the regular
    expressions stay Python's: engines' regex dialects differ, e.g. PostgreSQL reads \\b as backspace)."""
    column = layout.column("party")
    if layout.kind == "single_party" or column is None:
        return []
    names = table.select(p=table[column].cast("string").strip()).distinct().execute()["p"]
    return sorted({n for n in names if isinstance(n, str) and n and rules.is_counter_ledger(n)})


def _with_reason(t: ir.Table, layout: LedgerLayout, rules: LedgerRules, counters: list[str]) -> ir.Table:
    """The one reason each row is not used (NULL = used); checks in order, the first wins."""
    cancelled = t._label.re_search(_CANCELLED).fill_null(False)
    if layout.column("cancelled"):
        cancelled = cancelled | _text(t, layout.column("cancelled")).lower().isin(["yes", "true", "1"]).fill_null(False)
    is_counter = t._party.isin(counters) if counters else ibis.literal(False)
    is_counter = is_counter.fill_null(False)
    if layout.column("party_role"):  # Tally's groups decide when the masters know the party
        role = _role(t, layout)
        is_counter = ibis.cases((role.isnull(), is_counter), else_=role == "counter")
    date_written = t[layout.column("date")].notnull() if layout.column("date") else ibis.literal(False)
    no_values = t._party.isnull() & ~date_written & ~t._has_amount & t._vtype.isnull()
    # Tally prints the column sums under Debit/Credit with no date, type or particulars
    unlabelled = t._counter.isnull() if layout.kind == "single_party" else t._party.isnull()
    sums_line = (~date_written & t._vtype.isnull() & unlabelled & t._has_amount & ~t._opening).fill_null(False)
    checks: list[tuple[ir.BooleanValue, str]] = [
        (no_values, "no_values"),
        (t._detail, "voucher_detail"),
        (t._label.re_search(_CLOSING).fill_null(False), "closing_balance"),
        (t._label.re_search(_TOTAL).fill_null(False) | (t._vtype.isnull() & t._label.re_search(r"total$").fill_null(False)) | sums_line,
         "total_row"),
        (cancelled, "cancelled_voucher"),
        (~t._opening & ~t._base.isin(list(ACCOUNTING)) & (t._base != "Other"), "not_accounting"),
        (~t._opening & (t._base == "Other"), "unknown_voucher_type"),
        (t._party.isnull(), "missing_party"),
        (is_counter if layout.kind != "single_party" else ibis.literal(False), "counter_ledger"),
        (t._date.isnull() & ~date_written, "missing_date"),
        (t._date.isnull(), "bad_date"),
        (t._bad, "bad_amount"),
        (t._too_large, "amount_too_large"),
        (t._cents.isnull() | (t._cents == 0), "missing_amount"),
    ]
    label = ibis.coalesce(t._counter, t._party, ibis.literal("")) if layout.kind == "single_party" else (
        ibis.coalesce(t._party, ibis.literal("")))
    # "Invoice 0018104516, 5148-SYKLB": the voucher's type, number and party ("Invoice 5148-SYKLB" read as an
    # invoice number)
    number = ibis.coalesce(t._vno, ibis.literal(""))
    what = (ibis.coalesce(t._vtype, ibis.literal("")) + " " + number).strip()
    what = ibis.cases((label == "", what), (what == "", label), else_=what + ", " + label)
    return t.mutate(
        _reason=ibis.cases(*[(condition, name) for condition, name in checks], else_=ibis.null("string")),
        _what=what.strip(),
    )
