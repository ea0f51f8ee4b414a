"""The reading report of a ledger: every staged row used or dropped for one reason (with examples), the
voucher types found, amounts of more than 2 decimals, rows out of date order and the closing balance a
single-party report states (see :class:`segmint.io.ledger_report.LedgerReport`)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir

from segmint.errors import DataError, Fix
from segmint.formats import sub_cent_change, sub_cent_metrics
from segmint.io.base import RawTable
from segmint.io.ledger_layout import LedgerLayout
from segmint.io.ledger_report import LEDGER_DROPS, LedgerReport, VoucherTypeRow, whole
from segmint.money import MAX_AMOUNT
from segmint.quality import DroppedRows, mark_short_rows

log = logging.getLogger(__name__)

MAX_EXAMPLES = 5


@dataclass
class Staged:
    """One ledger table read into rows with parsed values and a ``_reason`` each (None: used)."""

    raw: RawTable
    layout: LedgerLayout
    table: ir.Table  # every row with parsed values and ``_reason`` (materialised)
    bases: dict[str, tuple[str, str]]
    dates: str
    warnings: list[str]


def ledger_report(staged: Staged, entries: ir.Table) -> LedgerReport:
    """How ``staged`` was read into ``entries``: rows used and dropped by reason, voucher types, warnings."""
    raw, layout, table = staged.raw, staged.layout, staged.table
    # the rows per reason and, in the same aggregate, the amounts of more than 2 decimals
    amounts = [name for name in ("debit", "credit", "amount") if f"_n_{name}" in table.columns]
    cents = {}
    for name in amounts:
        cents |= sub_cent_metrics(table[f"_n_{name}"].abs(), None, name)
    counts = table.group_by("_reason").aggregate(n=table.count(), **cents).execute()
    # by name: a group_by's rows come in no set order (the report listed the reasons in either order)
    by_reason = {r: int(n) for r, n in sorted(zip(counts["_reason"], counts["n"], strict=True), key=lambda p: str(p[0]))
                 if isinstance(r, str)}
    rows_staged = int(counts["n"].sum())
    dropped = {name: DroppedRows(count=n, description=LEDGER_DROPS.get(name, "skipped by the reader"),
                                 examples=raw.skipped_examples.get(name, [])[:MAX_EXAMPLES])
               for name, n in raw.skipped.items() if n}  # fmt: skip
    examples = drop_examples(table)
    for name, n in by_reason.items():
        previous = dropped.get(name)
        dropped[name] = DroppedRows(
            count=n + (previous.count if previous else 0), description=LEDGER_DROPS.get(name, name),
            examples=((previous.examples if previous else []) + examples.get(name, []))[:MAX_EXAMPLES],
        )
    stats = entries.aggregate(
        n=entries.count(), parties=entries.party.nunique(), first=entries.entry_date.min(),
        last=entries.entry_date.max(), gross=entries.amount_cents.abs().cast("float64").sum(),
    ).execute().iloc[0]
    if float(stats["gross"] or 0) > MAX_AMOUNT * 100:  # each entry fits (amount_too_large), their sums may not
        raise _sums_too_large(raw.source, float(stats["gross"]) / 100)
    report = LedgerReport(
        source=raw.source, layout=layout.kind, party=layout.party, party_from=layout.party_from,
        columns=dict(layout.columns), rows_in=rows_staged + sum(raw.skipped.values()),
        rows_used=rows_staged - sum(by_reason.values()), dropped=dropped,
        voucher_types=type_rows(table, staged.bases), entries=int(stats["n"]),
        parties=whole(stats["parties"]), first_date=_day(stats["first"]), last_date=_day(stats["last"]),
        dates=staged.dates, notes=[n for n in raw.notes if not n.startswith("voucher types:")] + list(layout.evidence),
        # what the reader saw (rows with fewer fields than the header, header cells that repeat)
        warnings=staged.warnings + (order_warning(table) if layout.kind != "receivables" else []) + raw.report_notes
        + sub_cent_warnings(counts, amounts, layout),
    )  # fmt: skip
    mark_short_rows(report.dropped, raw.short_rows)
    if report.entries == 0:
        top = ", ".join(f"{d.count:,} {d.description}" for d in dropped.values()) or "no rows"
        raise DataError(f"{raw.source}: no usable ledger entries ({top}); check the layout:\n{layout.describe()}")
    log.info("%s: %d ledger entries from %d rows", raw.source, report.entries, report.rows_in)
    return report


def _sums_too_large(source: str, gross: float) -> DataError:
    """Every entry is within MAX_AMOUNT but together they go beyond it (balances could not be held exactly)."""
    return DataError(
        f"{source}: the ledger's entries add up to {gross:,.0f} (debits plus credits), beyond {MAX_AMOUNT:,.0f}, "
        "the most that sums of money hold exactly", field="amount", value=f"{gross:,.0f}",
        fix=Fix("columns", example={"debit": "COLUMN", "credit": "COLUMN"}, note=(
            "check that the debit and credit columns hold money; amounts in a very small unit can be divided into "
            "a larger one (e.g. thousands) first, or the ledger read in parts (a year at a time)"
        )),
    )  # fmt: skip


def sub_cent_warnings(counts: Any, amounts: list[str], layout: LedgerLayout) -> list[str]:
    """A warning per amount column whose used rows hold values of more than 2 decimals: ledger amounts are
    kept in cents, so each is rounded (``counts``: the rows per reason with ``formats.sub_cent_metrics``)."""
    used = counts[counts["_reason"].isna()]
    warnings = []
    for name in amounts:
        rows, millionths = (int(used[f"{key}:{name}"].sum()) for key in ("sub_cent", "sub_cent_change"))
        if rows:
            warnings.append(
                f"{rows:,} amount(s) in column '{layout.column(name)}' have more than 2 decimals (a currency of "
                f"1/1000 units?): ledger amounts are kept to the cent, and rounding each of them changes their "
                f"total by {sub_cent_change(millionths)}"
            )
    return warnings


def drop_examples(staged: ir.Table) -> dict[str, list[dict[str, Any]]]:
    rows = staged.filter(staged._reason.notnull())
    rank = ibis.row_number().over(group_by=rows._reason, order_by=[rows._source, rows._row])
    rows = rows.mutate(_rank=rank).filter(lambda r: r._rank < MAX_EXAMPLES)
    frame = rows.select("_reason", "_source", "_row", what=rows._what).order_by(["_reason", "_source", "_row"]).execute()
    out: dict[str, list[dict[str, Any]]] = {}
    for record in frame.to_dict(orient="records"):
        reason = record.pop("_reason")
        record["_row"] = int(record["_row"])
        out.setdefault(reason, []).append(record)
    return out


def type_rows(staged: ir.Table, bases: dict[str, tuple[str, str]]) -> list[VoucherTypeRow]:
    if not bases:
        return []
    t = staged.filter(staged._vtype.notnull())
    cancelled = (t._reason == "cancelled_voucher").fill_null(False)
    frame = t.group_by(vtype=t._vtype).aggregate(
        vouchers=t.count(), cancelled=cancelled.sum(), parties=t._party.nunique(),
        debit=t._debit_cents.sum(), credit=t._credit_cents.sum(),
    ).execute()  # fmt: skip
    rows = []
    for r in frame.itertuples():
        base, why = bases.get(r.vtype, ("Other", "no rule matches the name"))
        rows.append(VoucherTypeRow(
            voucher_type=r.vtype, base_type=base, why=why, vouchers=int(r.vouchers),
            cancelled=whole(r.cancelled), parties=whole(r.parties),
            debit=whole(r.debit) / 100, credit=whole(r.credit) / 100,
        ))  # fmt: skip
    return sorted(rows, key=lambda r: (-r.vouchers, r.voucher_type))


def order_warning(staged: ir.Table) -> list[str]:
    t = staged.filter(staged._date.notnull())
    earlier = t.mutate(_prev=t._date.lag().over(group_by=t._source, order_by=t._row))
    n = whole((earlier._date < earlier._prev).fill_null(False).sum().execute())
    return [f"{n:,} row(s) are dated before the row above them; entries are ordered by date"] if n else []


def closing_balance(staged: ir.Table, layout: LedgerLayout) -> dict[str, int]:
    """The Closing Balance the file states (single-party reports), to check the computed balance."""
    if layout.kind != "single_party":
        return {}
    rows = staged.filter(staged._reason == "closing_balance").select("_cents").execute()
    if rows.empty:
        return {}
    return {layout.party: whole(rows["_cents"].iloc[-1])}


def _day(value: Any) -> dt.date | None:
    import pandas as pd

    if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
        return None
    return pd.Timestamp(value).date()
