"""Bill allocation: which payment (or credit note) settled which bill, in integer cents.

Rules, for each customer (entries up to the as-of date):

* Every debit is a bill (sales invoice, debit note, opening balance, a refund paid out); every credit
  settles bills: receipts are payments, credit notes and journal credits reduce bills but are not
  payments (they never count towards days to pay).
* A credit against a named bill (Tally's ``Agst Ref``) settles that bill first, oldest first when
  several bills share the name; what exceeds the bill joins the pool below.
* Every other credit (On Account, Advance, no reference, or the excess above) settles the oldest
  open bill first (FIFO). A credit dated before a bill (an advance) waits on account and settles the
  next bills; a bill it settles counts as paid on the bill's own date.

The pass is vectorised over all customers at once with numpy: within a customer the k-th cent
billed is settled by the k-th cent credited, so matching is an intersection of two sorted sequences
of cumulative amounts. Relational engines have no natural form for this running two-sided match
(it is a merge of two cumulative sums with carry-over), and it runs on one row per ledger entry of
the credit customers, so it is done here in numpy rather than in the Ibis engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PAYMENT_TYPES = ("Receipt",)  # base types whose credits are payments
BILL_COLUMNS = ("customer_id", "bill_id", "bill_no", "bill_ref", "bill_type", "bill_date", "due_date",
                "bill_cents", "base_type", "is_opening")  # fmt: skip


@dataclass
class Allocation:
    """Bills, credits, who-settled-what pieces, and what remains open or on account (cents)."""

    bills: pd.DataFrame  # one row per bill, with open_cents (unsettled as of the as-of date)
    credits: pd.DataFrame  # one row per credit, with unapplied_cents (on account)
    pieces: pd.DataFrame  # bill_id, credit_id, cents, match ('Agst Ref' / 'FIFO')


def split_entries(entries: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Bills (debits) and credits of ``entries`` (customer_id, entry_id, entry_date, amount_cents, ...)."""
    entries = entries.sort_values(["customer_id", "entry_date", "_order"], kind="stable")
    debit = entries["amount_cents"] > 0
    bills = entries[debit].rename(columns={
        "entry_id": "bill_id", "voucher_no": "bill_no", "entry_date": "bill_date", "amount_cents": "bill_cents",
    })  # fmt: skip
    if "bill_ref" in bills:  # an opening bill from Tally's masters has a bill name but no voucher number
        bills["bill_no"] = bills["bill_no"].where(bills["bill_no"].notna(), bills["bill_ref"])
    credits = entries[~debit & (entries["amount_cents"] < 0)].rename(columns={
        "entry_id": "credit_id", "voucher_no": "credit_no", "entry_date": "credit_date",
        "amount_cents": "credit_cents", "base_type": "credit_type",
    })  # fmt: skip
    credits = credits.assign(credit_cents=-credits["credit_cents"])
    credits["kind"] = np.where(credits["credit_type"].isin(PAYMENT_TYPES), "payment",
                               np.where(credits["credit_type"] == "Credit Note", "credit_note", "adjustment"))
    return bills.reset_index(drop=True), credits.reset_index(drop=True)


def match_sorted(
    bill_group: np.ndarray, bill_cents: np.ndarray, credit_group: np.ndarray, credit_cents: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FIFO-match two lists of positive integer amounts within groups: (bill index, credit index, cents).

    Both lists must be sorted by group (integer codes), then by settlement order. Within a group the
    k-th cent of the bills is settled by the k-th cent of the credits, up to the smaller total.
    """
    empty = np.empty(0, dtype=np.int64)
    if len(bill_cents) == 0 or len(credit_cents) == 0:
        return empty, empty, empty
    groups = np.union1d(bill_group, credit_group)
    bill_total = np.bincount(np.searchsorted(groups, bill_group), weights=bill_cents, minlength=len(groups))
    credit_total = np.bincount(np.searchsorted(groups, credit_group), weights=credit_cents, minlength=len(groups))
    bill_total, credit_total = bill_total.astype(np.int64), credit_total.astype(np.int64)
    span = np.maximum(bill_total, credit_total)
    offset = np.concatenate([[0], np.cumsum(span)[:-1]])  # each group owns [offset, offset + span)
    matched_end = offset + np.minimum(bill_total, credit_total)

    def ends(group: np.ndarray, cents: np.ndarray) -> np.ndarray:
        index = np.searchsorted(groups, group)
        start = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1])
        cumulative = np.cumsum(cents)
        base = np.repeat(cumulative[start] - cents[start], np.diff(np.append(start, len(cents))))
        return offset[index] + cumulative - base

    bill_end, credit_end = ends(bill_group, bill_cents), ends(credit_group, credit_cents)
    points = np.unique(np.concatenate([bill_end, credit_end, offset, matched_end]))
    start, stop = points[:-1], points[1:]
    owner = np.searchsorted(offset, start, side="right") - 1
    valid = (start >= offset[owner]) & (stop <= matched_end[owner]) & (stop > start)
    start, stop = start[valid], stop[valid]
    bill_index = np.searchsorted(bill_end, start, side="right")
    credit_index = np.searchsorted(credit_end, start, side="right")
    return bill_index, credit_index, stop - start


def allocate(entries: pd.DataFrame) -> Allocation:
    """Allocate every credit to bills: by bill reference (Agst Ref) first, then FIFO (see module doc).

    ``entries``: customer_id, entry_id, entry_date, voucher_no, base_type, amount_cents, bill_ref,
    bill_type, due_date, is_opening, and ``_order`` (file order, breaks ties within a date).
    """
    bills, credits = split_entries(entries)
    bills["open_cents"] = bills["bill_cents"].astype(np.int64)
    credits["unapplied_cents"] = credits["credit_cents"].astype(np.int64)
    pieces = []

    # 1. credits against a named bill settle that bill (oldest first among bills sharing the name)
    named = credits["bill_type"].eq("Agst Ref") & credits["bill_ref"].notna()
    if named.any() and bills["bill_ref"].notna().any():
        key_bills = bills["customer_id"].astype(str) + "\x1f" + bills["bill_ref"].astype(str)
        key_credits = credits["customer_id"].astype(str) + "\x1f" + credits["bill_ref"].astype(str)
        codes = pd.Index(pd.unique(pd.concat([key_bills, key_credits[named]])))
        b_rows = np.flatnonzero(bills["bill_ref"].notna().to_numpy())
        c_rows = np.flatnonzero(named.to_numpy())
        b_code, c_code = codes.get_indexer(key_bills.iloc[b_rows]), codes.get_indexer(key_credits.iloc[c_rows])
        b_order = np.lexsort((b_rows, b_code))
        c_order = np.lexsort((c_rows, c_code))
        b_rows, c_rows = b_rows[b_order], c_rows[c_order]
        bi, ci, cents = match_sorted(b_code[b_order], bills["open_cents"].to_numpy()[b_rows],
                                     c_code[c_order], credits["unapplied_cents"].to_numpy()[c_rows])
        pieces.append(_pieces(bills, credits, b_rows[bi], c_rows[ci], cents, "Agst Ref"))

    # 2. everything else (and the excess above) settles the oldest open bills first
    codes = pd.Index(pd.unique(pd.concat([bills["customer_id"], credits["customer_id"]])))
    b_rows = np.flatnonzero(bills["open_cents"].to_numpy() > 0)
    c_rows = np.flatnonzero(credits["unapplied_cents"].to_numpy() > 0)
    b_code = codes.get_indexer(bills["customer_id"].iloc[b_rows])
    c_code = codes.get_indexer(credits["customer_id"].iloc[c_rows])
    b_order, c_order = np.argsort(b_code, kind="stable"), np.argsort(c_code, kind="stable")
    b_rows, c_rows = b_rows[b_order], c_rows[c_order]
    bi, ci, cents = match_sorted(b_code[b_order], bills["open_cents"].to_numpy()[b_rows],
                                 c_code[c_order], credits["unapplied_cents"].to_numpy()[c_rows])
    pieces.append(_pieces(bills, credits, b_rows[bi], c_rows[ci], cents, "FIFO"))
    frame = pd.concat(pieces, ignore_index=True) if pieces else _pieces(bills, credits, [], [], [], "FIFO")
    return Allocation(bills, credits, frame)


def _pieces(bills: pd.DataFrame, credits: pd.DataFrame, bill_rows, credit_rows, cents, match: str) -> pd.DataFrame:
    """Record pieces and take them off the bills' open and the credits' unapplied amounts (in place)."""
    bill_rows, credit_rows = np.asarray(bill_rows, dtype=np.int64), np.asarray(credit_rows, dtype=np.int64)
    cents = np.asarray(cents, dtype=np.int64)
    np.subtract.at(open_ := bills["open_cents"].to_numpy().copy(), bill_rows, cents)
    np.subtract.at(unapplied := credits["unapplied_cents"].to_numpy().copy(), credit_rows, cents)
    bills["open_cents"], credits["unapplied_cents"] = open_, unapplied
    return pd.DataFrame({"bill_row": bill_rows, "credit_row": credit_rows, "cents": cents, "match": match})
