"""What ``segmint.credit`` returns: per-customer credit facts, the allocation, open bills, the 360."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segmint.credit.measures import BUCKETS
from segmint.credit.scorecard import SEGMENTS, ScorecardConfig
from segmint.errors import DataError
from segmint.util import counted

# credit.csv: exactly these columns, in this order (the contract)
CREDIT_COLUMNS = ("customer_id", "outstanding", "paid_ahead", *BUCKETS, "avg_days_to_pay", "bills", "bills_paid_late",
                  "credit_score", "credit_segment", "reason")  # fmt: skip
DETAIL_COLUMNS = (
    *CREDIT_COLUMNS[:-1], "avg_days_late", "days_late_incl_open", "bills_paid", "share_paid_late", "bills_overdue",
    "not_due", "overdue", "sales", "credit_notes", "credit_notes_pct", "paid", "highest_balance",
    "credit_limit", "utilisation", "days_to_pay_last_90", "days_to_pay_prev_90", "trend_days", "trend",
    "history_days", "first_date", "last_date", "last_payment", "reason",
)  # fmt: skip


@dataclass
class CreditResult:
    """Credit facts per customer as of ``as_of``; ``tables()`` is what ``--out`` writes."""

    as_of: dt.date
    terms: int | None
    scorecard: ScorecardConfig
    details: pd.DataFrame  # every measure, score, segment and reason per customer
    allocations: pd.DataFrame  # which payment / credit note settled which bill, how much, how late
    open_bills: pd.DataFrame  # bills still open at the as-of date with their aging bucket
    ledger: Any  # segmint.io.ledger.Ledger (entries and the reading report)
    excluded_parties: pd.DataFrame  # parties that are not customers (no sales-side entry)
    warnings: list[str] = field(default_factory=list)
    entries: pd.DataFrame | None = None  # the customers' ledger entries used (for timelines)
    customer_360: pd.DataFrame | None = None  # set when sales were given

    @property
    def credit(self) -> pd.DataFrame:
        """``credit.csv``: customer_id, outstanding (net: negative when paid ahead), paid_ahead (a credit balance),
        aging buckets of what is owed, days to pay, bills, score, segment, reason."""
        return self.details[list(CREDIT_COLUMNS)]

    @property
    def report(self) -> Any:
        """The ledger reading report (rows used and dropped, voucher types)."""
        return self.ledger.report

    def summary(self) -> pd.DataFrame:
        """Per Credit Segment: customers, net outstanding, owed (positive balances) and its share of all that
        is owed (NaN when nothing is owed: 0/0), paid ahead (credit balances), 90+ days, mean score, days to pay, bills paid late of paid."""
        d = self.details
        order = {name: i for i, name in enumerate([b.segment for b in self.scorecard.segments])}
        rows = []
        owed = d["outstanding"].clip(lower=0)
        for segment, part in d.groupby("credit_segment", sort=False):
            weights = part["paid"].where(part["avg_days_to_pay"].notna(), 0)
            rows.append({
                "credit_segment": segment, "customers": len(part), "outstanding": round(part["outstanding"].sum(), 2),
                "owed": round(owed[part.index].sum(), 2),
                "share_of_owed": round(float(owed[part.index].sum() / owed.sum()), 4) if owed.sum() > 0 else np.nan,  # 0/0
                "paid_ahead": round(-part["outstanding"].clip(upper=0).sum(), 2) + 0.0,
                "aging_90_plus": round(part["aging_90_plus"].sum(), 2),
                "mean_score": round(float(part["credit_score"].mean()), 1),
                "avg_days_to_pay": round(float((part["avg_days_to_pay"].fillna(0) * weights).sum() / weights.sum()), 1)
                if weights.sum() > 0 else np.nan,
                "bills_paid_late": int(part["bills_paid_late"].sum()), "bills_paid": int(part["bills_paid"].sum()),
                "bills": int(part["bills"].sum()),
            })  # fmt: skip
        summary = pd.DataFrame(rows, columns=["credit_segment", "customers", "outstanding", "owed",
                                              "share_of_owed", "paid_ahead", "aging_90_plus", "mean_score",
                                              "avg_days_to_pay", "bills_paid_late", "bills_paid", "bills"])  # fmt: skip
        summary["_order"] = summary["credit_segment"].map(order).fillna(len(order))
        return summary.sort_values("_order").drop(columns="_order").reset_index(drop=True)

    def voucher_types(self) -> pd.DataFrame:
        """The voucher type -> base type table of the ledger (vouchers, amounts, why)."""
        rows = [r.model_dump() for r in self.report.voucher_types]
        return pd.DataFrame(rows, columns=["voucher_type", "base_type", "vouchers", "cancelled", "parties", "debit",
                                           "credit", "why"])  # fmt: skip

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table: credit, credit_details, allocations, open_bills, credit_summary, voucher_types,
        excluded_parties and, with sales, customer_360."""
        tables = {
            "credit": self.credit,
            "credit_details": self.details[[c for c in DETAIL_COLUMNS if c in self.details.columns]],
            "allocations": self.allocations,
            "open_bills": self.open_bills,
            "credit_summary": self.summary(),
            "voucher_types": self.voucher_types(),
            "excluded_parties": self.excluded_parties,
        }
        if self.customer_360 is not None:
            tables["customer_360"] = self.customer_360
        return tables

    def customer(self, customer_id: str) -> dict[str, Any]:
        """Credit facts of one customer (plus their 360 row when sales were given)."""
        rows = self.details[self.details["customer_id"] == str(customer_id)]
        if rows.empty:
            raise DataError(f"customer {customer_id!r} has no ledger entries as a customer up to {self.as_of}")
        facts = {k: _plain(v) for k, v in rows.iloc[0][[c for c in DETAIL_COLUMNS if c in rows]].items()}
        if self.customer_360 is not None:
            row = self.customer_360[self.customer_360["customer_id"] == str(customer_id)]
            if len(row):
                facts.update({k: _plain(v) for k, v in row.iloc[0].items() if k not in facts})
        return facts

    def timeline(self, customer_id: str) -> pd.DataFrame:
        """One customer's entries in date order with the running balance (bills, payments, notes)."""
        if self.entries is None:
            return pd.DataFrame()
        rows = self.entries[self.entries["customer_id"] == str(customer_id)].copy()
        rows = rows.sort_values(["entry_date", "_order"], kind="stable")
        rows["amount"] = rows["amount_cents"] / 100
        rows["balance"] = rows["amount_cents"].cumsum() / 100
        return rows[["entry_date", "voucher_type", "base_type", "voucher_no", "amount", "balance"]].reset_index(drop=True)

    def terms_text(self) -> str:
        """How aging and lateness were measured: the given terms, else the data's due dates or bill dates."""
        return f"terms {self.terms} days" if self.terms is not None else f"no terms ({self._due_dates_text()})"

    def _due_dates_text(self) -> str:
        default = self.scorecard.default_terms_days
        entries = self.entries
        dated = int(entries["due_date"].notna().sum()) if entries is not None and "due_date" in entries else 0
        if dated:
            return (f"aging and lateness from the data's due dates ({counted(dated, 'entry', 'entries')}), else from bill dates with "
                    f"lateness after {default} days")
        return f"aging from bill dates; lateness after {default} days"

    def describe(self) -> str:
        """A few printable lines: as-of, terms, customers, outstanding, warnings."""
        d = self.details
        counts = d["credit_segment"].value_counts()
        lines = [
            f"credit as of {self.as_of}, {self.terms_text()}",
            f"{counted(len(d), 'customer')}, outstanding {d['outstanding'].sum():,.2f}"
            + (f" (owed {d['outstanding'].clip(lower=0).sum():,.2f} less {-d['outstanding'].clip(upper=0).sum():,.2f} "
               "paid ahead)" if (d["outstanding"] < 0).any() else "") + ", of which 90+ days "
            f"{d['aging_90_plus'].sum():,.2f}; " + ", ".join(f"{s} {counts.get(s, 0):,}" for s in SEGMENTS),
        ]
        if len(self.excluded_parties):
            n = len(self.excluded_parties)
            lines.append(f"{n:,} {'party is' if n == 1 else 'parties are'} not customers (no sales invoice, credit note "
                         "or opening balance): suppliers, expense heads; see excluded_parties")
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value
