"""Ledgers in any layout -> one canonical table of ledger entries, and the sales view of a ledger
(the report of how the rows were read: :mod:`segmint.io.ledger_summary`).

A ledger entry is one debit or credit on a party's account: ``amount_cents`` is positive when the
party owes more (a sale, a debit note, a refund paid out) and negative when it owes less (a receipt,
a credit note). Money is kept in integer cents (paise) so that bill allocation and aging add up to
the cent. Every row of the file is either used or dropped for one reason (:class:`LedgerReport`).

Layouts (see :mod:`segmint.io.ledger_layout`): voucher lists (Day Book, Group Vouchers, Tally XML
with bill allocations), one-party Ledger Account reports (party in the title rows), and bill-wise
receivables tables (each invoice becomes a bill, its settlement a receipt against that bill).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.errors import Fix, InputError
from segmint.io.base import RawTable
from segmint.io.ledger_layout import LedgerLayout, detect_layout, match_columns, missing_party_error
from segmint.io.ledger_parse import parse_dates, parse_period, stage
from segmint.io.ledger_report import LedgerReport, drop_description, merge_reports
from segmint.io.ledger_summary import MAX_EXAMPLES, Staged, closing_balance, drop_examples, ledger_report
from segmint.io.vouchers import ACCOUNTING, CREDIT_NOTE, SALES, LedgerRules, classify_voucher_types

log = logging.getLogger(__name__)

ENTRY_DTYPES: dict[str, str] = {
    "entry_id": "string",
    "party": "string",
    "entry_date": "date",
    "voucher_type": "string",
    "base_type": "string",
    "voucher_no": "string",
    "amount_cents": "int64",  # + the party owes more (debit), - it owes less (credit)
    "bill_ref": "string",  # the bill a line creates (New Ref) or settles (Agst Ref)
    "bill_type": "string",  # New Ref / Agst Ref / On Account / Advance (null when the data has none)
    "due_date": "date",  # when the data says (receivables tables, Tally credit periods)
    "is_opening": "boolean",
    "is_debtor": "boolean",  # known to be a customer (debtors report, Tally group); null = unknown
    "counter_ledger": "string",  # single-party reports: the other side ('Sales A/c', 'HDFC Bank')
    "credit_limit": "float64",
    "_source": "string",
    "_row": "int64",
}
ENTRY_COLUMNS = tuple(ENTRY_DTYPES)


@dataclass
class Ledger:
    """Canonical ledger entries (materialised in ``con``) with the report of how they were read."""

    entries: ir.Table
    report: LedgerReport
    layouts: list[LedgerLayout]
    con: BaseBackend
    closing: dict[str, int] = field(default_factory=dict)  # party -> closing balance the file states (cents)


def read_ledger(
    source: str | Path | RawTable | Sequence[str | Path | RawTable],
    *,
    con: BaseBackend | None = None,
    rules: Any = None,
    party: str | None = None,
    columns: dict[str, str] | None = None,
    dayfirst: bool | None = None,
) -> Ledger:
    """Read ledger files (Day Book / Group Vouchers / Ledger Account as Excel or CSV, Tally XML,
    receivables tables) into canonical ledger entries; every row used or dropped with a reason.

    A :class:`RawTable` already read (by ``read_raw``, or ``read_tally_ledger`` for Tally XML) is used
    as it is, so a file read for its sales is not read again. ``party`` names the party of one-party
    reports whose title rows do not; ``columns`` maps ledger fields (date, party, voucher_type,
    voucher_no, debit, credit, amount, due_date, settled_date, bill_ref, ...) to column names the
    detection cannot guess.
    """
    from segmint import engine

    con = con or engine.connect()
    rules = LedgerRules.load(rules)
    parts, reports, layouts, closing = [], [], [], {}
    for raw in _ledger_tables(source, con, rules):
        if raw.format == "tally-xml-ledger":
            layout = LedgerLayout("vouchers", match_columns(raw.columns, columns), party_from="Tally XML",
                                  evidence=["Tally XML: party ledger lines and their bill allocations"])
        else:
            layout = detect_layout(raw, rules=rules, party=party, columns=columns)
            if layout is None:
                raise InputError(_not_a_ledger(raw), field="columns", value=", ".join(raw.columns),
                                 fix=Fix(option="columns", example={"party": "Customer", "debit": "Dr"},
                                         note="name the ledger columns"))
        entries, report, stated = _read_one(raw, layout, rules, con, dayfirst)
        parts.append(entries)
        reports.append(report)
        layouts.append(layout)
        closing.update(stated)
    table = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    table = engine.materialize(con, table)
    report = merge_reports(reports)
    return Ledger(table, report, layouts, con, closing)


def _ledger_tables(
    source: str | Path | RawTable | Sequence[str | Path | RawTable], con: BaseBackend, rules: LedgerRules
) -> list[RawTable]:
    """The raw tables of ``source``: files read (Tally XML as its ledger lines), tables already read kept."""
    from segmint.io import FORMATS, expand_sources, read_raw

    items = [source] if isinstance(source, (str, Path, RawTable)) else list(source)
    tables = []
    for item in items:
        if isinstance(item, RawTable):
            if item.format == "tally-xml":
                raise InputError(
                    f"{item.source}: Tally XML read as sales lines has no ledger lines; give the file itself, or "
                    "its ledger lines (segmint.io.tally.read_tally_ledger)", field="source", value=item.source,
                    fix=Fix(option="source", example=item.source, note="the Tally XML file's path"),
                )  # fmt: skip
            tables.append(item)
            continue
        for path in expand_sources(item):
            if FORMATS.get(path.suffix.lower()) == "tally":
                from segmint.io.tally import read_tally_ledger

                tables.append(read_tally_ledger(path, con=con, rules=rules))
            else:
                tables.append(read_raw(path, con=con))
    return tables


def read_sales_and_ledger(path: str | Path, *, con: BaseBackend) -> tuple[RawTable, LedgerReport | None, Ledger | None]:
    """One file read once for both of its views: its sales view (:func:`sales_view` of ``read_raw``: what
    ``segmint analyze`` reads), the ledger report of that view (None when the file is no ledger), and its
    vouchers as a :class:`Ledger` (what ``segmint credit`` reads; None when they cannot be read as one,
    which leaves the sales view standing). A Tally XML export is parsed once for its sales and ledger lines.
    """
    from segmint.errors import SegmintError
    from segmint.io import FORMATS, expand_items, read_raw

    path = Path(path)
    export = None
    if FORMATS.get(path.suffix.lower()) == "tally":
        from segmint.io.tally import parse_export, read_tally_xml

        export = parse_export(path)
        raw = expand_items(read_tally_xml(path, con=con, export=export), con)
    else:
        raw = read_raw(str(path), con=con)
    view, report = sales_view(raw, con=con)
    if report is None:
        return view, None, None
    try:
        if export is not None:
            from segmint.io.tally import read_tally_ledger

            return view, report, read_ledger(read_tally_ledger(path, con=con, export=export), con=con)
        return view, report, read_ledger(raw, con=con)
    except SegmintError:
        log.info("%s: its sales are read, but not its vouchers as a ledger", path.name, exc_info=True)
        return view, report, None


def _not_a_ledger(raw: RawTable) -> str:
    return (
        f"{raw.source}: not a ledger: expected a date, a party (or a party named in the title rows), a "
        f"voucher type or due/settled dates, and debit/credit amounts; columns are "
        f"{', '.join(map(repr, raw.columns))}. Name the ledger columns (party, date, voucher_type, debit, "
        "credit or amount) in the ledger column mapping"
    )


def _stage_one(
    raw: RawTable, layout: LedgerLayout, rules: LedgerRules, con: BaseBackend, dayfirst: bool | None
) -> Staged:
    from segmint.engine import materialize

    if layout.kind == "single_party" and not layout.party:
        raise missing_party_error(raw, layout)
    if layout.kind == "vouchers" and "party" not in layout.columns:
        raise missing_party_error(raw, layout)
    bases = _classify(raw, layout, rules)
    table, date_note, warnings = parse_dates(raw, layout, dayfirst)
    staged = materialize(con, stage(table, layout, rules, bases, parse_period(layout.period, table)))
    return Staged(raw, layout, staged, bases, date_note, warnings)


def _read_one(
    raw: RawTable, layout: LedgerLayout, rules: LedgerRules, con: BaseBackend, dayfirst: bool | None
) -> tuple[ir.Table, LedgerReport, dict[str, int]]:
    staged = _stage_one(raw, layout, rules, con, dayfirst)
    used = staged.table.filter(staged.table._reason.isnull())
    entries = _entries(used, layout)
    report = ledger_report(staged, entries)
    return entries, report, closing_balance(staged.table, layout)


def _classify(raw: RawTable, layout: LedgerLayout, rules: LedgerRules) -> dict[str, tuple[str, str]]:
    column = layout.column("voucher_type")
    if column is None:
        return {}
    table = raw.table
    if layout.column("base_type"):
        why = layout.column("base_type_why")
        pairs = table.select(
            t=table[column], b=table[layout.column("base_type")],
            w=table[why] if why else ibis.literal("given in the column " + layout.column("base_type")),
        ).distinct().execute()  # fmt: skip
        return {t: (b, w) for t, b, w in zip(pairs.t, pairs.b, pairs.w, strict=True) if isinstance(t, str)}
    names = table.select(t=table[column].cast("string").strip()).distinct().execute()["t"]
    return classify_voucher_types(sorted(n for n in names if isinstance(n, str) and n), rules)


def _entries(used: ir.Table, layout: LedgerLayout) -> ir.Table:
    """Canonical entry columns; a receivables row with a settlement also yields its receipt."""
    base = used.select(
        entry_id=used._source + ":" + used._row.cast("string") + used._suffix,
        party=used._party, entry_date=used._date, voucher_type=used._vtype, base_type=used._base,
        voucher_no=used._vno, amount_cents=used._cents, bill_ref=used._bill_ref, bill_type=used._bill_type,
        due_date=used._due, is_opening=used._opening, is_debtor=used._debtor, counter_ledger=used._counter,
        credit_limit=used._limit, _source=used._source, _row=used._row,
    )  # fmt: skip
    parts = [base]
    if layout.kind == "receivables":
        paid = used.filter(used._settled.notnull() & (used._paid_cents != 0))
        parts.append(paid.select(
            entry_id=paid._source + ":" + paid._row.cast("string") + ":paid", party=paid._party,
            entry_date=paid._settled, voucher_type=ibis.literal("Receipt"), base_type=ibis.literal("Receipt"),
            voucher_no=paid._vno, amount_cents=-paid._paid_cents, bill_ref=paid._bill_ref,
            bill_type=ibis.literal("Agst Ref"), due_date=ibis.null("date"), is_opening=ibis.literal(False),
            is_debtor=paid._debtor, counter_ledger=ibis.null("string"), credit_limit=paid._limit,
            _source=paid._source, _row=paid._row,
        ))  # fmt: skip
    table = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return table.select(*[table[c].cast(t).name(c) for c, t in ENTRY_DTYPES.items()])


# --- the sales view of a ledger (what `segmint analyze` reads) --------------------------------------


def sales_view(raw: RawTable, *, con: BaseBackend, rules: Any = None, party: str | None = None) -> tuple[RawTable, Any]:
    """For a ledger table: only its sales vouchers net of credit notes, with the party as a column.

    Returns ``(raw, None)`` unchanged for tables that are not ledgers (sales lines, receivables), and
    ``raw`` with the report of its voucher types for Tally XML already read as sales lines
    (``ledger_layout.may_be_ledger`` says, without these modules, whether to call it). Receipts,
    payments, orders, delivery notes, cancelled vouchers and counter-ledger parties are counted in
    ``raw.skipped`` by reason, so the quality report still accounts for every row. The second value is
    the :class:`LedgerReport`.
    """
    if raw.format.startswith("tally-xml"):
        return raw, _xml_report(raw)
    rules = None if rules is None else LedgerRules.load(rules)  # the packaged ones only for a ledger
    layout = detect_layout(raw, rules=rules, party=party)
    if layout is None or layout.kind == "receivables":
        return raw, None
    rules = LedgerRules.load(rules)
    staged = _stage_one(raw, layout, rules, con, None)
    report = ledger_report(staged, _entries(staged.table.filter(staged.table._reason.isnull()), layout))
    t = staged.table
    sale = t._reason.isnull() & t._base.isin([SALES, CREDIT_NOTE]) & ~t._opening
    reason = ibis.cases((t._reason.notnull(), t._reason), (t._opening, "opening_balance"),
                        else_=t._base.lower().re_replace(r"[^a-z]+", "_") + "_vouchers")  # fmt: skip
    staged = t.mutate(_why=ibis.cases((sale, ibis.null("string")), else_=reason))
    columns = list(raw.columns)
    kept = staged.filter(staged._why.isnull())
    selected = [kept[c] for c in columns]
    if layout.kind == "single_party":
        selected.append(kept._party.name("Party"))
        columns.append("Party")
    view = RawTable(
        table=kept.select(*selected, kept._source, kept._row), source=raw.source, columns=columns,
        header_row=raw.header_row, format=raw.format, sheet=raw.sheet, sheets=list(raw.sheets),
        skipped=dict(raw.skipped),
        skipped_examples={k: list(v) for k, v in raw.skipped_examples.items()}, notes=list(raw.notes),
        report_notes=list(raw.report_notes),
        titles=list(raw.titles),
    )  # fmt: skip
    why = staged.filter(staged._why.notnull())
    counts = why.group_by("_why").aggregate(n=why.count()).execute()
    examples = drop_examples(staged.mutate(_reason=staged._why))
    for name, n in zip(counts["_why"], counts["n"], strict=True):
        if name in raw.skipped:
            continue  # already counted by the reader (blank and total lines)
        view.add_skipped(str(name), int(n), examples.get(name, []))
    view.notes.append("ledger: only sales vouchers net of credit notes are sales (receipts are payments)")
    return view, report


def _xml_report(raw: RawTable) -> LedgerReport | None:
    """The voucher types of a Tally XML read as sales lines (rows: its sales lines and skipped vouchers)."""
    if not raw.voucher_types:
        return None
    from segmint.io.ledger_report import VoucherTypeRow
    from segmint.quality import DroppedRows

    used = int(raw.table.count().execute())
    dropped = {name: DroppedRows(count=n, description=drop_description(name),
                                 examples=raw.skipped_examples.get(name, [])[:MAX_EXAMPLES])
               for name, n in raw.skipped.items()}  # fmt: skip
    return LedgerReport(
        source=raw.source, layout="tally-xml", rows_in=used + sum(raw.skipped.values()), rows_used=used,
        dropped=dropped, voucher_types=[VoucherTypeRow(**row) for row in raw.voucher_types],
    )


def is_accounting(base: str) -> bool:
    """True for base types that move balances (sales, receipts, notes, journals, ...)."""
    return base in ACCOUNTING


# --- ledgers kept in a workspace (for the dashboard) ---------------------------------------------------
LEDGER_TABLE = "ledger_entries"
LEDGER_REPORT_TABLE = "ledger_report"


def save_ledger(con: BaseBackend, ledger: Ledger, terms: int | None = None) -> None:
    """Store the ledger's entries and report in ``con`` (a workspace) so the dashboard can score them;
    ``terms`` (days) are kept with it, so the dashboard scores it as the command did."""
    import pyarrow as pa

    con.create_table(LEDGER_TABLE, ledger.entries.to_pyarrow(), overwrite=True)
    report = pa.table({"report_json": [ledger.report.model_copy(update={"terms": terms}).model_dump_json()]})
    con.create_table(LEDGER_REPORT_TABLE, report, overwrite=True)


def load_ledger(con: BaseBackend) -> Ledger | None:
    """The ledger stored by :func:`save_ledger` in ``con``, or None when the workspace has none."""
    tables = set(con.list_tables())
    if LEDGER_TABLE not in tables:
        return None
    report = None
    if LEDGER_REPORT_TABLE in tables:
        text = con.table(LEDGER_REPORT_TABLE).to_pyarrow().column("report_json")[0].as_py()
        report = LedgerReport.model_validate_json(text)
    entries = con.table(LEDGER_TABLE)
    if report is None:
        n = int(entries.count().execute())
        report = LedgerReport(source=LEDGER_TABLE, layout="stored", rows_in=n, rows_used=n, entries=n)
    return Ledger(entries, report, [], con)
