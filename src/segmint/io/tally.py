"""Tally XML exports (``<ENVELOPE>…<VOUCHER VCHTYPE="Sales">…``): sales lines and ledger entries.

``read_tally_xml`` (what ``read_raw`` uses for sales analysis) gives one row per inventory entry, or
one row per voucher carrying the party ledger amount when the voucher has no inventory; only
vouchers whose *base type* is Sales (positive) or Credit Note (negative) are sales lines. The base
type comes from Tally's voucher-type masters when the export has them, else from the type's name
(see :mod:`segmint.io.vouchers`). Cancelled/optional vouchers, every other base type and sales to
counter-ledgers (a cash sale has no customer) are skipped and counted in ``RawTable.skipped``.

``read_tally_ledger`` (what credit analysis uses) gives one row per bill allocation of each party
line (or per party line without bills): Debit/Credit from the party's side, the bill reference and
its type (New Ref, Agst Ref, On Account, Advance), the credit period, and the party's Tally group.
Tally report spreadsheets (Sales Register, Day Book) are read by the Excel reader instead.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
from ibis.backends import BaseBackend

from segmint.errors import InputError
from segmint.io.base import ROW_COL, SOURCE_COL, RawTable, register_arrow
from segmint.io.tally_parse import TallyExport, VoucherRecord, parse_tally_xml, to_decimal
from segmint.io.vouchers import CREDIT_NOTE, SALES, LedgerRules, classify_voucher_types, type_table_text
from segmint.schema import ColumnMapping
from segmint.util import counted

log = logging.getLogger(__name__)

COLUMNS = ("Date", "Vch Type", "Vch No.", "Party Name", "Stock Item", "Quantity", "Unit", "Rate", "Amount")
LEDGER_COLUMNS = ("Date", "Party", "Vch Type", "Base Type", "Base Type Why", "Vch No.", "Debit", "Credit", "Bill Ref",
                  "Bill Type", "Credit Days", "Party Group", "Party Role", "Credit Limit", "Cancelled")  # fmt: skip
_QTY = re.compile(r"^\s*(-?[\d,]*\.?\d+)\s*(.*?)\s*$")


def read_tally_xml(
    path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None, rules: LedgerRules | None = None,
    export: TallyExport | None = None,
) -> RawTable:
    """Read sales vouchers (net of credit notes) from a Tally XML export; ``_row`` = voucher position.
    ``export``: the file already parsed (:func:`parse_export`), so its ledger view does not parse it again."""
    export = export or parse_export(path)
    rules = rules or LedgerRules.load()
    bases = _bases(export, rules)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, list[dict[str, Any]]] = {}
    kept: list[VoucherRecord] = []
    for voucher in export.vouchers:
        base = bases.get(voucher.vch_type, ("Other", ""))[0]
        reason = _skip_reason(voucher, base, rules, export)
        if reason:
            skipped.setdefault(reason, []).append(
                {"Vch Type": voucher.vch_type, "Vch No.": voucher.number, SOURCE_COL: path.name,
                 ROW_COL: voucher.position}
            )  # fmt: skip
        else:
            kept += [voucher] if base == SALES else []
            rows += [dict(r, **{ROW_COL: voucher.position}) for r in _sales_rows(voucher, base)]
    raw = _raw_table(rows, COLUMNS, path, con, "tally-xml")
    for reason, examples in skipped.items():
        raw.add_skipped(reason, len(examples), examples)
    raw.notes += _notes(export, bases, f"{counted(len(rows), 'sales line')}; sales positive, credit notes negative")
    raw.report_notes += _amount_basis(kept)
    raw.voucher_types = _type_rows(export, bases)
    return raw


def _amount_basis(vouchers: list[VoucherRecord]) -> list[str]:
    """What the lines of the sales vouchers read are worth: the stock items' value before taxes and round-off
    when a voucher lists items, else the bill's total to the party (taxes included, as it is owed). Said,
    with the totals, when the two differ, so revenue here and the bills a ledger view counts can be told
    apart (a GST invoice of 48,091.00 is 40,755.00 of items, 7,335.90 IGST and 0.10 round-off)."""
    def billed(voucher: VoucherRecord) -> Decimal:
        return sum((abs(to_decimal(line.amount) or Decimal(0)) for line in _party_lines(voucher)), Decimal(0))

    itemised = [v for v in vouchers if v.items and _party_lines(v)]  # a bill to compare the items with
    if not itemised:
        return []
    items = sum((abs(to_decimal(item["amount"]) or Decimal(0)) for v in itemised for item in v.items), Decimal(0))
    bills = sum((billed(v) for v in itemised), Decimal(0))
    if bills == items:
        return []
    note = (f"{len(itemised):,} voucher(s) list stock items: their amounts are the items' value before taxes and "
            f"round-off ({items:,.2f} of {bills:,.2f} billed; the {bills - items:,.2f} between are taxes, charges "
            "and round-off on the same bills)")
    others = len(vouchers) - len(itemised)
    if others:
        note += f"; {others:,} sales voucher(s) without items (or without a party line) count their bill total"
    return [note]


def _type_rows(export: TallyExport, bases: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
    """Per voucher type: base type, why, vouchers, cancelled, parties and the party lines' debit/credit."""
    rows: dict[str, dict[str, Any]] = {}
    for voucher in export.vouchers:
        base, why = bases.get(voucher.vch_type, ("Other", "no rule matches the name"))
        row = rows.setdefault(voucher.vch_type, {
            "voucher_type": voucher.vch_type, "base_type": base, "why": why, "vouchers": 0, "cancelled": 0,
            "parties": set(), "debit": Decimal(0), "credit": Decimal(0),
        })  # fmt: skip
        row["vouchers"] += 1
        if voucher.cancelled or voucher.optional:
            row["cancelled"] += 1
            continue
        if voucher.party:
            row["parties"].add(voucher.party)
        for line in _party_lines(voucher):
            amount = to_decimal(line.amount) or Decimal(0)
            row["debit" if amount < 0 else "credit"] += abs(amount)  # Tally: negative = debit
    ordered = sorted(rows.values(), key=lambda r: (-r["vouchers"], r["voucher_type"]))
    return [dict(r, parties=len(r["parties"]), debit=float(r["debit"]), credit=float(r["credit"])) for r in ordered]


def read_tally_ledger(
    path: Path, *, con: BaseBackend, rules: LedgerRules | None = None, export: TallyExport | None = None
) -> RawTable:
    """Ledger entries of every party line of every voucher, plus opening balances from the masters.

    ``Party Role`` says what the masters know of the party: customer (under Sundry Debtors),
    counter (sales/purchase accounts, cash, bank, taxes, expenses), other (e.g. suppliers) or blank.
    ``export``: the file already parsed (:func:`parse_export`).
    """
    export = export or parse_export(path)
    rules = rules or LedgerRules.load()
    bases = _bases(export, rules)
    rows: list[dict[str, Any]] = []
    for voucher in export.vouchers:
        rows += [dict(r, **{ROW_COL: voucher.position}) for r in _ledger_rows(voucher, bases, export)]
    first_date = min((v.date for v in export.vouchers if v.date), default=None)
    for number, opening in enumerate(export.masters.opening, start=len(export.vouchers) + 1):
        rows.append(_opening_row(opening, first_date, export, number))
    for row in rows:
        row["Party Role"] = _role(row.get("Party"), rules, export)
    if not rows:
        raise InputError(f"{path.name}: no vouchers with a party ledger and no opening balances")
    raw = _raw_table(rows, LEDGER_COLUMNS, path, con, "tally-xml-ledger")
    raw.notes += _notes(export, bases, f"{len(rows)} ledger entr(ies) of party ledgers")
    if export.masters.opening:
        raw.notes.append(f"{len(export.masters.opening)} opening balance(s)/bill(s) from the ledger masters")
    return raw


def _raw_table(rows: list[dict[str, Any]], columns: tuple[str, ...], path: Path, con: BaseBackend, fmt: str) -> RawTable:
    data = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns}
    data[SOURCE_COL] = pa.array([path.name] * len(rows), pa.string())
    data[ROW_COL] = pa.array([r[ROW_COL] for r in rows], pa.int64())
    table = register_arrow(con, pa.table(data))
    return RawTable(table=table, source=path.name, columns=list(columns), header_row=None, format=fmt)


def parse_export(path: Path) -> TallyExport:
    """The vouchers and masters of a Tally XML export (an error when it holds neither)."""
    export = parse_tally_xml(path)
    if not export.vouchers and not export.masters.opening:
        raise InputError(
            f"{path.name}: no <VOUCHER> elements; export vouchers from Tally as XML "
            "(Display > Day Book > Export, format XML) or read the Sales Register as Excel"
        )
    return export


def _bases(export: TallyExport, rules: LedgerRules) -> dict[str, tuple[str, str]]:
    names = sorted({v.vch_type for v in export.vouchers})
    return classify_voucher_types(names, rules, export.masters)


def _notes(export: TallyExport, bases: dict[str, tuple[str, str]], what: str) -> list[str]:
    counts: dict[str, int] = {}
    for voucher in export.vouchers:
        counts[voucher.vch_type] = counts.get(voucher.vch_type, 0) + 1
    table = [
        {"voucher_type": name, "base_type": bases[name][0], "vouchers": n, "amount": 0.0, "why": bases[name][1]}
        for name, n in sorted(counts.items())
    ]
    notes = [f"{counted(len(export.vouchers), 'voucher')} ({export.encoding}), {what}"]
    if export.removed_characters:
        refs = export.removed_references
        raw = export.removed_characters - refs
        notes.append(f"{counted(export.removed_characters, 'control character')} removed (XML forbids them): "
                     f"{counted(raw, 'raw byte')} (such as \\x05) and {counted(refs, 'reference')} (such as &#4;)")
    notes.append("voucher types:\n" + type_table_text(table))
    return notes


def _skip_reason(voucher: VoucherRecord, base: str, rules: LedgerRules, export: TallyExport) -> str | None:
    if voucher.cancelled:
        return "cancelled_voucher"
    if voucher.optional:
        return "optional_voucher"
    if base not in (SALES, CREDIT_NOTE):
        return "non_sales_voucher"
    if _is_counter(voucher.party, rules, export):
        return "counter_ledger_party"
    return None


def _is_counter(party: str | None, rules: LedgerRules, export: TallyExport) -> bool:
    """A counter-ledger by its Tally group when the masters know it, else by its name."""
    role = _role(party, rules, export)
    return role == "counter" if role in ("customer", "counter") else rules.is_counter_ledger(party)


def _sales_rows(voucher: VoucherRecord, base: str) -> list[dict[str, Any]]:
    sign = "-" if base == CREDIT_NOTE else ""
    head = {"Date": voucher.date, "Vch Type": voucher.vch_type, "Vch No.": voucher.number,
            "Party Name": voucher.party}  # fmt: skip
    rows = []
    for item in voucher.items:
        quantity, unit = _split_qty(item["qty"])
        rate = item["rate"]
        rows.append(dict(head, **{
            "Stock Item": item["name"], "Quantity": _signed(quantity, sign), "Unit": unit,
            "Rate": _abs(rate.split("/")[0]) if rate else None, "Amount": _signed(item["amount"], sign),
        }))  # fmt: skip
    if rows:
        return rows
    line = _party_lines(voucher)
    amount = line[0].amount if line else None
    return [dict(head, **{"Amount": _signed(amount, sign)})]


def _role(party: str | None, rules: LedgerRules, export: TallyExport) -> str | None:
    chain = set(export.masters.group_chain(party)) if party else set()
    if not chain:
        return None
    if chain & set(rules.customer_groups):
        return "customer"
    return "counter" if chain & set(rules.counter_groups) else "other"


def _party_lines(voucher: VoucherRecord) -> list[Any]:
    """Ledger lines of the voucher's party: marked ISPARTYLEDGER, else named like the party."""
    marked = [line for line in voucher.ledgers if line.is_party]
    if marked:
        return marked
    return [line for line in voucher.ledgers if voucher.party and line.name == voucher.party]


def _ledger_rows(
    voucher: VoucherRecord, bases: dict[str, tuple[str, str]], export: TallyExport
) -> list[dict[str, Any]]:
    base, why = bases.get(voucher.vch_type, ("Other", "no rule matches the name"))
    head = {"Date": voucher.date, "Vch Type": voucher.vch_type, "Base Type": base, "Base Type Why": why,
            "Vch No.": voucher.number,
            "Cancelled": "Yes" if voucher.cancelled or voucher.optional else None}  # fmt: skip
    lines = _party_lines(voucher)
    lines += [ln for ln in voucher.ledgers if ln.bills and ln not in lines]  # bill-wise ledgers are parties
    if not lines:
        return [dict(head, Party=None)]  # counted and reported as 'no party' by the ledger reader
    rows = []
    for line in lines:
        group = (export.masters.group_chain(line.name) or [None])[0] if line.name else None
        parts = line.bills or [None]
        for bill in parts:
            amount = to_decimal(bill.amount if bill is not None else line.amount) or Decimal(0)
            debit, credit = (-amount, None) if amount < 0 else (None, amount)  # Tally: negative = debit
            rows.append(dict(head, **{
                "Party": line.name, "Debit": _text(debit), "Credit": _text(credit),
                "Bill Ref": bill.name if bill else None, "Bill Type": bill.bill_type if bill else None,
                "Credit Days": str(bill.credit_days) if bill and bill.credit_days is not None else None,
                "Party Group": group, "Credit Limit": _limit(line.name, export),
            }))  # fmt: skip
    return rows


def _opening_row(opening: dict[str, Any], first_date: str | None, export: TallyExport, number: int) -> dict:
    amount = opening["amount"]
    debit, credit = (-amount, None) if amount < 0 else (None, amount)
    ledger = opening["ledger"]
    return {
        "Date": opening["date"] or first_date, "Party": ledger, "Vch Type": "Opening Balance",
        "Base Type": "Opening Balance", "Base Type Why": "Tally ledger master: opening balance", "Vch No.": None, "Debit": _text(debit), "Credit": _text(credit),
        "Bill Ref": opening["bill"], "Bill Type": "New Ref" if opening["bill"] else None,
        "Credit Days": str(opening["credit_days"]) if opening["credit_days"] is not None else None,
        "Party Group": (export.masters.group_chain(ledger) or [None])[0], "Cancelled": None,
        "Credit Limit": _limit(ledger, export),
        ROW_COL: number,
    }


def _limit(ledger: str | None, export: TallyExport) -> str | None:
    limit = export.masters.credit_limits.get(ledger or "")
    return None if limit is None else f"{limit:.2f}"


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _split_qty(text: str | None) -> tuple[str | None, str | None]:
    """``' 2 Nos'`` -> ``('2', 'Nos')``; Tally writes the unit after the number."""
    if not text:
        return None, None
    match = _QTY.match(text)
    return (match.group(1).replace(",", ""), match.group(2) or None) if match else (text, None)


def _abs(text: str | None) -> str | None:
    """Magnitude of a Tally number as text (Tally's sign only says debit or credit)."""
    value = to_decimal(text)
    return text if value is None and text is not None else None if value is None else str(abs(value))


def _signed(text: str | None, sign: str) -> str | None:
    value = _abs(text)
    return f"{sign}{value}" if value is not None and sign and value != "0" else value
