"""Credit analysis of a ledger: customers, allocation, measures, scorecard -> a CreditResult."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.credit.allocate import Allocation, allocate
from segmint.credit.measures import BUCKETS, bill_facts, customer_measures, piece_facts
from segmint.credit.result import CreditResult
from segmint.credit.scorecard import ScorecardConfig, score
from segmint.engine import materialize
from segmint.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SALES_SIDE = ("Sales", "Credit Note")
ENTRY_FIELDS = ("party", "entry_id", "entry_date", "voucher_no", "voucher_type", "base_type", "amount_cents",
                "bill_ref", "bill_type", "due_date", "is_opening", "_source", "_row")  # fmt: skip


def _as_date(value: Any, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return pd.Timestamp(value).date()
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what} {value!r} is not a date; write it as YYYY-MM-DD") from exc


def customer_parties(entries: ir.Table) -> ir.Table:
    """Parties that are customers: Tally says so (Sundry Debtors, a debtors report, a receivables
    table), or, when nothing says, they have a sales invoice, a credit note or an opening balance."""
    sales_side = entries.base_type.isin(list(SALES_SIDE)) | entries.is_opening
    per_party = entries.group_by("party").aggregate(
        debtor=entries.is_debtor.any(), known=entries.is_debtor.notnull().any(), sales_side=sales_side.any(),
    )
    chosen = per_party.debtor.fill_null(False) | (~per_party.known.fill_null(False) & per_party.sales_side)
    return per_party.filter(chosen).select("party")


def analyze_credit(
    ledger: Any,
    *,
    as_of: dt.date | str | None = None,
    terms: int | None = None,
    scorecard: Any = None,
    credit_limits: dict[str, float] | None = None,
) -> CreditResult:
    """Allocate, age, measure and score every customer of ``ledger`` (a :class:`segmint.io.ledger.Ledger`)."""
    if terms is not None and terms < 0:
        raise ConfigError(f"terms {terms} must be a number of days >= 0")
    config = ScorecardConfig.load(scorecard)
    con, entries = ledger.con, ledger.entries
    last = entries.entry_date.max().execute()
    as_of_date = _as_date(as_of, "as-of date") or pd.Timestamp(last).date()
    later = int(entries.filter(entries.entry_date > as_of_date).count().execute())
    current = entries.filter(entries.entry_date <= as_of_date)
    customers = customer_parties(current)
    chosen = current.semi_join(customers, "party")
    frame = chosen.select(*ENTRY_FIELDS, "credit_limit").to_pandas()
    if frame.empty:
        raise DataError(
            f"no customer entries on or before {as_of_date}: no party has a sales invoice, credit note or "
            "opening balance there (check the as-of date and the voucher types)"
        )
    frame = frame.rename(columns={"party": "customer_id"})
    frame["_order"] = np.arange(len(frame))
    frame = frame.sort_values(["_source", "_row", "entry_id"], kind="stable")
    frame["_order"] = np.arange(len(frame))
    for column in ("entry_date", "due_date"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    allocation = allocate(frame)
    tables = _register(con, allocation, frame)
    bills = bill_facts(tables["bills"], as_of=as_of_date, terms=terms, default_terms=config.default_terms_days)
    pieces = piece_facts(tables["pieces"], bills)
    measures = customer_measures(tables["entries"], bills, tables["credits"], pieces, as_of=as_of_date).to_pandas()
    measures = _finish(measures, credit_limits)
    scored = score(measures.set_index("customer_id"), config).reset_index()
    details = _paid_ahead_reasons(measures.merge(scored, on="customer_id"))
    excluded = _excluded(current, customers)
    warnings = _warnings(details, ledger, later, as_of_date)
    return CreditResult(
        as_of=as_of_date, terms=terms, scorecard=config, details=details.sort_values("customer_id", ignore_index=True),
        allocations=_allocation_table(pieces.to_pandas()), open_bills=_open_table(bills.to_pandas()),
        ledger=ledger, excluded_parties=excluded, warnings=warnings, entries=frame,
    )  # fmt: skip


def _register(con: Any, allocation: Allocation, frame: pd.DataFrame) -> dict[str, ir.Table]:
    bills = allocation.bills[["customer_id", "bill_id", "bill_no", "bill_ref", "base_type", "is_opening", "bill_date",
                              "due_date", "bill_cents", "open_cents"]]  # fmt: skip
    credits = allocation.credits[["customer_id", "credit_id", "credit_no", "credit_type", "kind", "credit_date",
                                  "credit_cents", "unapplied_cents"]]  # fmt: skip
    pieces = allocation.pieces
    piece_frame = pd.DataFrame({
        "customer_id": bills["customer_id"].to_numpy()[pieces["bill_row"]] if len(pieces) else [],
        "bill_id": bills["bill_id"].to_numpy()[pieces["bill_row"]] if len(pieces) else [],
        "bill_no": bills["bill_no"].to_numpy()[pieces["bill_row"]] if len(pieces) else [],
        "credit_id": credits["credit_id"].to_numpy()[pieces["credit_row"]] if len(pieces) else [],
        "credit_no": credits["credit_no"].to_numpy()[pieces["credit_row"]] if len(pieces) else [],
        "credit_type": credits["credit_type"].to_numpy()[pieces["credit_row"]] if len(pieces) else [],
        "kind": credits["kind"].to_numpy()[pieces["credit_row"]] if len(pieces) else [],
        "credit_date": credits["credit_date"].to_numpy()[pieces["credit_row"]] if len(pieces) else [],
        "cents": pieces["cents"].to_numpy(np.int64),
        "match": pieces["match"].to_numpy(),
    })  # fmt: skip
    schemas = {
        "bills": {"customer_id": "string", "bill_id": "string", "bill_no": "string", "bill_ref": "string",
                  "base_type": "string", "is_opening": "boolean", "bill_date": "date", "due_date": "date",
                  "bill_cents": "int64", "open_cents": "int64"},
        "credits": {"customer_id": "string", "credit_id": "string", "credit_no": "string", "credit_type": "string",
                    "kind": "string", "credit_date": "date", "credit_cents": "int64", "unapplied_cents": "int64"},
        "pieces": {"customer_id": "string", "bill_id": "string", "bill_no": "string", "credit_id": "string",
                   "credit_no": "string", "credit_type": "string", "kind": "string", "credit_date": "date",
                   "cents": "int64", "match": "string"},
    }  # fmt: skip
    out = {}
    for name, data in (("bills", bills), ("credits", credits), ("pieces", piece_frame), ("entries", frame)):
        if name == "entries":
            data = frame[["customer_id", "entry_date", "amount_cents"]].assign(
                credit_limit=pd.to_numeric(frame["credit_limit"], errors="coerce"))
            schema = {"customer_id": "string", "entry_date": "date", "amount_cents": "int64", "credit_limit": "float64"}
        else:
            schema = schemas[name]
        typed = data.astype({c: "object" for c in data.columns if schema[c] in ("string", "date", "boolean")})
        out[name] = materialize(con, ibis.memtable(typed, schema=schema))
    return out


def _dates(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Date columns as datetime.date (no midnight times in exports)."""
    for column in columns:
        if column in frame:
            frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


def _money(cents: pd.Series) -> pd.Series:
    return (pd.to_numeric(cents, errors="coerce") / 100).round(2)


def _finish(measures: pd.DataFrame, limits: dict[str, float] | None) -> pd.DataFrame:
    """Cents -> money, derived ratios, credit limits from the data or given."""
    out = measures.copy()
    money = {"outstanding_cents": "outstanding", "open_cents": "open_bills", "not_due_cents": "not_due",
             "overdue_cents": "overdue", "billed_cents": "billed", "sales_cents": "sales", "paid_cents": "paid",
             "credit_note_cents": "credit_notes", "paid_ahead_cents": "paid_ahead", "highest_cents": "highest_balance"}
    for cents, name in money.items():
        out[name] = _money(out[cents])
    for bucket in BUCKETS:
        out[bucket] = _money(out[bucket])
    outstanding = out["outstanding"]
    # the share of what is owed that is 90+ days old: 0 when nothing is owed (all paid, or paid ahead)
    out["share_90_plus"] = np.where(outstanding > 0, out["aging_90_plus"] / outstanding.where(outstanding > 0), 0.0)
    limit = pd.to_numeric(out["credit_limit"], errors="coerce")
    if limits:
        given = out["customer_id"].map({str(k): float(v) for k, v in limits.items()})
        limit = given.fillna(limit)
    out["credit_limit"] = limit.where(limit > 0)
    out["utilisation"] = (outstanding.clip(lower=0) / out["credit_limit"]).where(out["credit_limit"].notna())
    for column in ("avg_days_to_pay", "avg_days_late", "days_late_incl_open", "days_to_pay_last_90",
                   "days_to_pay_prev_90", "trend_days", "credit_notes_pct", "share_paid_late"):
        out[column] = pd.to_numeric(out[column], errors="coerce").round(2)
    out["trend"] = np.select(
        [out["trend_days"].isna(), out["trend_days"] > 7, out["trend_days"] < -7],
        ["n/a", "paying slower", "paying faster"], default="steady",
    )
    for column in ("bills", "bills_paid", "bills_paid_late", "bills_overdue", "history_days"):
        out[column] = pd.to_numeric(out[column], errors="coerce").fillna(0).astype("int64")
    out = _dates(out, ("first_date", "last_date", "first_bill", "last_bill", "last_payment"))
    return out.drop(columns=[c for c in out.columns if c.endswith(("_cents", "_weight"))])


def _paid_ahead_reasons(details: pd.DataFrame) -> pd.DataFrame:
    """A customer paid ahead has its reason say so: its negative outstanding is a credit balance, not a debt."""
    ahead = details["paid_ahead"] > 0
    if ahead.any():
        details.loc[ahead, "reason"] = details.loc[ahead, "reason"] + details.loc[ahead, "paid_ahead"].map(
            "; paid ahead {:,.2f}: received more than billed in the data (an advance, or bills from before the "
            "data), owes nothing".format)
    return details


def _excluded(entries: ir.Table, customers: ir.Table) -> pd.DataFrame:
    """Parties left out of the credit view (no sales-side entry: suppliers, expense heads, ...)."""
    other = entries.anti_join(customers, "party")
    return other.group_by("party").aggregate(
        entries=other.count(), debit=(other.amount_cents.sum(where=other.amount_cents > 0) / 100),
        credit=(-other.amount_cents.sum(where=other.amount_cents < 0) / 100),
    ).order_by([ibis.desc("entries"), "party"]).to_pandas()  # ties by name: the same file every run


def _warnings(details: pd.DataFrame, ledger: Any, later: int, as_of: dt.date) -> list[str]:
    warnings = []
    if later:
        warnings.append(f"{later:,} ledger entries dated after the as-of date {as_of} are not counted")
    credit_balance = details[details["outstanding"] < 0]
    if len(credit_balance):
        warnings.append(
            f"{len(credit_balance):,} customer(s) paid more than they were billed in the data "
            f"({-credit_balance['outstanding'].sum():,.2f} in total, paid_ahead in credit.csv): advances, or bills from "
            "before the data (add an opening balance)"
        )
    for party, stated in getattr(ledger, "closing", {}).items():
        row = details[details["customer_id"] == party]
        computed = int(round(float(row["outstanding"].iloc[0]) * 100)) if len(row) else 0
        if abs(stated) != abs(computed):
            warnings.append(
                f"the Closing Balance line of {party!r} says {abs(stated) / 100:,.2f} but its entries add up to "
                f"{computed / 100:,.2f}: the ledger is unbalanced or some rows were dropped (see the report)"
            )
    return warnings


def _allocation_table(pieces: pd.DataFrame) -> pd.DataFrame:
    columns = {"customer_id": "customer_id", "bill_no": "bill_no", "bill_date": "bill_date", "due": "due_date",
               "credit_no": "settled_by", "credit_type": "settled_by_type", "credit_date": "settled_by_date",
               "settled_date": "settled_date", "cents": "amount", "days_to_pay": "days_to_pay",
               "days_late": "days_late", "match": "match"}  # fmt: skip
    out = pieces[list(columns)].rename(columns=columns)
    out["amount"] = _money(out["amount"])
    out.loc[pieces["kind"].to_numpy() != "payment", ["days_to_pay", "days_late"]] = np.nan
    out[["days_to_pay", "days_late"]] = out[["days_to_pay", "days_late"]].astype("Int64")  # whole days: 27, not 27.0
    out = _dates(out, ("bill_date", "due_date", "settled_by_date", "settled_date"))
    return out.sort_values(["customer_id", "bill_date", "settled_by_date"], ignore_index=True)


def _open_table(bills: pd.DataFrame) -> pd.DataFrame:
    open_bills = bills[bills["open_cents"] > 0]
    out = pd.DataFrame({
        "customer_id": open_bills["customer_id"], "bill_no": open_bills["bill_no"],
        "bill_type": open_bills["base_type"], "bill_date": open_bills["bill_date"], "due_date": open_bills["due"],
        "bill_amount": _money(open_bills["bill_cents"]), "open_amount": _money(open_bills["open_cents"]),
        "age_days": open_bills["bill_age_days"], "days_overdue": open_bills["days_overdue"], "bucket": open_bills["bucket"],
    })  # fmt: skip
    return _dates(out, ("bill_date", "due_date")).sort_values(["customer_id", "bill_date"], ignore_index=True)
