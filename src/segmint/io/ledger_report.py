"""The report of reading a ledger: rows in = rows used + rows dropped by reason, and the voucher types."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from segmint.io.vouchers import type_table_text
from segmint.quality import DROP_DESCRIPTIONS, DataQualityReport, DroppedRows, count_lines, short_row_note
from segmint.util import counted

SUMMARY_TYPES = 15  # voucher types a printed summary lists (the most used; the voucher_types table has all)

LEDGER_DROPS: dict[str, str] = {
    "blank": "blank line",
    "repeated_header": "the header row again (pages of an export joined together)",
    "total_row": "total line (Total, Current Total, Grand Total, or sums with no date, type or particulars)",
    "no_values": "line with no date, party or amount (a caption or note)",
    "voucher_detail": "detail line of the voucher above (its other ledgers, items, bill-wise and cost-centre lines)",
    "closing_balance": "Closing Balance line (compared with the computed balance)",
    "cancelled_voucher": "cancelled or optional voucher",
    "not_accounting": "order, delivery/receipt note, stock journal or memo: moves no money",
    "unknown_voucher_type": "voucher type not recognised (classify it in the rules' voucher_types)",
    "missing_party": "no party ledger on the voucher",
    "counter_ledger": "party is a counter-ledger (sales/purchase account, cash, bank, tax, round off)",
    "missing_date": "no date",
    "bad_date": "date not understood",
    "bad_amount": "amount is not a number",
    "amount_too_large": DROP_DESCRIPTIONS["amount_too_large"],
    "missing_amount": "no debit and no credit amount",
    # a Tally XML read as sales lines
    "counter_ledger_party": "sale whose party is a counter-ledger (cash, bank, sales account): no customer to segment",
    "non_sales_voucher": "not a sale or credit note (purchase, payment, receipt, journal ...)",
    "optional_voucher": "optional voucher (a memorandum, not in the books)",
    "opening_balance": "opening balance: owed from before the period, not a sale in it",
}


def drop_description(reason: str) -> str:
    """What a row a ledger reader left out of the sales is, in words ('receipt voucher: a payment, not a
    sale'); the quality report listed every such reason as 'not a sales line', cash sales included."""
    if reason in LEDGER_DROPS:
        return LEDGER_DROPS[reason]
    if reason.endswith("_vouchers"):  # the sales view: every other base type by name
        kind = reason.removesuffix("_vouchers").replace("_", " ")
        return f"{kind} voucher: a payment, not a sale" if kind in ("receipt", "payment") else f"{kind} voucher: not a sale"
    return "skipped by the reader (not a sales line)"


# built when first used, not at import: reading a sales table (no ledger) never builds them
_DEFERRED = ConfigDict(defer_build=True)


class VoucherTypeRow(BaseModel):
    """One voucher type of the file: its base type, why, how many vouchers and their value."""

    model_config = _DEFERRED

    voucher_type: str
    base_type: str
    why: str
    vouchers: int = 0
    cancelled: int = 0
    parties: int = 0
    debit: float = 0.0
    credit: float = 0.0

    @property
    def amount(self) -> float:
        return self.debit + self.credit


class LedgerReport(BaseModel):
    """What reading a ledger did: layout, party, rows in/used/dropped, types, dates, warnings."""

    model_config = _DEFERRED

    source: str
    layout: str
    party: str | None = None
    party_from: str = ""
    columns: dict[str, str] = Field(default_factory=dict)
    rows_in: int = Field(ge=0)
    rows_used: int = Field(ge=0)
    dropped: dict[str, DroppedRows] = Field(default_factory=dict)
    voucher_types: list[VoucherTypeRow] = Field(default_factory=list)
    entries: int = 0
    parties: int = 0
    first_date: date | None = None
    last_date: date | None = None
    dates: str = ""  # how dates were read
    notes: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    terms: int | None = None  # credit terms (days) the ledger was scored with when it was kept in a workspace

    @model_validator(mode="after")
    def _rows_add_up(self) -> LedgerReport:
        dropped = sum(d.count for d in self.dropped.values())
        if self.rows_in != self.rows_used + dropped:
            raise ValueError(f"rows_in ({self.rows_in}) != rows_used ({self.rows_used}) + dropped ({dropped})")
        return self

    def type_table(self, limit: int | None = None) -> str:
        """The voucher type -> base type table (vouchers, debit + credit amount, why); see ``type_table_text``."""
        rows = [dict(r.model_dump(), amount=r.amount) for r in self.voucher_types]
        return type_table_text(rows, limit)

    def base_totals(self) -> dict[str, dict[str, float]]:
        """Base type -> vouchers, cancelled and amount (debit + credit) over its voucher types."""
        totals: dict[str, dict[str, float]] = {}
        for row in self.voucher_types:
            total = totals.setdefault(row.base_type, {"vouchers": 0, "cancelled": 0, "amount": 0.0})
            total["vouchers"] += row.vouchers
            total["cancelled"] += row.cancelled
            total["amount"] += row.amount
        return totals

    def sales_line(self) -> str:
        """'Sales view: N sales vouchers (k cancelled) worth X, less M credit notes worth Y; receipts ...'."""
        totals = self.base_totals()
        sales, notes, receipts = (totals.get(b, {"vouchers": 0, "cancelled": 0, "amount": 0.0})
                                  for b in ("Sales", "Credit Note", "Receipt"))  # fmt: skip
        cancelled = f" ({sales['cancelled']:,} cancelled)" if sales["cancelled"] else ""
        return (f"Sales view: {counted(sales['vouchers'], 'sales voucher')}{cancelled} worth {sales['amount']:,.2f}, "
                f"less {counted(notes['vouchers'], 'credit note')} worth {notes['amount']:,.2f}; "
                f"{counted(receipts['vouchers'], 'receipt')} worth {receipts['amount']:,.2f} "
                f"{'is a payment' if receipts['vouchers'] == 1 else 'are payments'}, not returns")

    def summary(self) -> str:
        """Plain text: layout, party, rows used and dropped by reason with examples, types, warnings."""
        pct = (lambda n: f"{100 * n / self.rows_in:.1f}%") if self.rows_in else (lambda n: "-")
        head = f"Ledger: {self.source} ({self.layout}"
        head += f", party {self.party!r} from {self.party_from})" if self.party else ")"
        rows = [("Rows read", self.rows_in, "", ""), ("Rows used", self.rows_used, pct(self.rows_used), ""),
                ("Rows dropped", self.rows_in - self.rows_used, pct(self.rows_in - self.rows_used), "")]
        rows += [(f"  {name}", d.count, pct(d.count), d.description) for name, d in self.dropped.items()]
        lines = [head]
        if self.columns:
            lines.append("Columns: " + ", ".join(f"{field} <- {column}" for field, column in self.columns.items()))
        lines += count_lines(rows)
        lines.append(f"Entries: {self.entries:,} from {counted(self.parties, 'party', 'parties')}"
                     + (f", {self.first_date} to {self.last_date}" if self.first_date else ""))
        if self.dates:
            lines.append(f"Dates: {self.dates}")
        if self.voucher_types:
            lines += ["", "Voucher types (type -> base type):", self.type_table(SUMMARY_TYPES), self.sales_line()]
        examples = [(name, d) for name, d in self.dropped.items() if d.examples]
        if examples:
            lines += ["", "Examples of dropped rows:"]
            for name, d in examples:
                for ex in d.examples[:2]:
                    lines.append(f"  {name}: {ex.get('_source', '?')} row {ex.get('_row', '?')}"
                                 + (f" ({ex['what']})" if ex.get("what") else "") + short_row_note(ex))
        lines += [f"Note: {n}" for n in self.notes]
        if self.warnings:
            lines += ["", "Warnings:", *(f"  - {w}" for w in self.warnings)]
        return "\n".join(lines)

    to_json = DataQualityReport.to_json  # JSON text, written atomically to ``path`` when given


def merge_reports(reports: list[LedgerReport]) -> LedgerReport:
    """One report for several ledger files (counts added, types merged by name)."""
    if len(reports) == 1:
        return reports[0]
    dropped: dict[str, DroppedRows] = {}
    for report in reports:
        for name, d in report.dropped.items():
            if name in dropped:
                merged = dropped[name]
                dropped[name] = DroppedRows(count=merged.count + d.count, description=d.description,
                                            examples=(merged.examples + d.examples)[:5])
            else:
                dropped[name] = d
    types: dict[str, VoucherTypeRow] = {}
    for report in reports:
        for row in report.voucher_types:
            if row.voucher_type in types:
                old = types[row.voucher_type]
                types[row.voucher_type] = old.model_copy(update={
                    "vouchers": old.vouchers + row.vouchers, "cancelled": old.cancelled + row.cancelled,
                    "debit": old.debit + row.debit, "credit": old.credit + row.credit,
                    "parties": old.parties + row.parties,
                })  # fmt: skip
            else:
                types[row.voucher_type] = row
    firsts = [r.first_date for r in reports if r.first_date]
    lasts = [r.last_date for r in reports if r.last_date]
    return LedgerReport(
        source=", ".join(r.source for r in reports),
        layout=", ".join(sorted({r.layout for r in reports})),
        rows_in=sum(r.rows_in for r in reports), rows_used=sum(r.rows_used for r in reports),
        dropped=dropped, voucher_types=sorted(types.values(), key=lambda r: -r.vouchers),
        entries=sum(r.entries for r in reports), parties=sum(r.parties for r in reports),
        first_date=min(firsts) if firsts else None, last_date=max(lasts) if lasts else None,
        dates="; ".join(dict.fromkeys(r.dates for r in reports if r.dates)),
        notes=[f"{r.source}: {n}" for r in reports for n in r.notes],
        warnings=[f"{r.source}: {w}" for r in reports for w in r.warnings],
    )  # fmt: skip


def whole(value: Any) -> int:
    """A count or cent amount from an engine as int: None and NaN (a sum over no rows) are 0."""
    return 0 if value is None or value != value else int(value)


def example(row: dict[str, Any], what: str = "") -> dict[str, Any]:
    """An example of a dropped row: where it sits and what it held."""
    return {"_source": row.get("_source"), "_row": row.get("_row"), "what": what}
