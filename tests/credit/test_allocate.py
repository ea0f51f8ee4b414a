"""Bill allocation against an independent, loop-based FIFO and hand-computed cases."""

from __future__ import annotations

import datetime as dt
from collections import deque

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.credit.allocate import allocate, match_sorted


def entries(rows):
    """(customer, day offset, cents, base type[, bill_ref, bill_type]) -> an entries frame."""
    start = dt.date(2023, 1, 1)
    frame = pd.DataFrame([
        {"customer_id": r[0], "entry_id": f"e{i}", "entry_date": start + dt.timedelta(days=r[1]),
         "voucher_no": f"v{i}", "base_type": r[3], "amount_cents": r[2],
         "bill_ref": r[4] if len(r) > 4 else None, "bill_type": r[5] if len(r) > 5 else None,
         "due_date": None, "is_opening": False, "_order": i}
        for i, r in enumerate(rows)
    ])
    return frame


def naive_fifo(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    """Reference: per customer, walk credits in date order and pay the oldest open bill first."""
    out: dict[tuple[str, str], int] = {}
    for _, group in frame.sort_values(["entry_date", "_order"], kind="stable").groupby("customer_id"):
        bills = deque([[r.entry_id, r.amount_cents] for r in group.itertuples() if r.amount_cents > 0])
        for credit in (r for r in group.itertuples() if r.amount_cents < 0):
            left = -credit.amount_cents
            while left and bills:
                take = min(left, bills[0][1])
                out[(bills[0][0], credit.entry_id)] = out.get((bills[0][0], credit.entry_id), 0) + take
                bills[0][1] -= take
                left -= take
                if bills[0][1] == 0:
                    bills.popleft()
    return out


def pieces_by_id(frame: pd.DataFrame) -> dict[tuple[str, str], int]:
    result = allocate(frame)
    got: dict[tuple[str, str], int] = {}
    for piece in result.pieces.itertuples():
        key = (result.bills["bill_id"].iloc[piece.bill_row], result.credits["credit_id"].iloc[piece.credit_row])
        got[key] = got.get(key, 0) + int(piece.cents)
    return got


def test_fifo_partial_payments_credit_note_and_advance_by_hand():
    frame = entries([
        ("A", 0, 100_000, "Sales"), ("A", 9, 500_000, "Sales"), ("A", 31, 300_000, "Sales"),
        ("A", 45, -400_000, "Receipt"),  # pays the first bill (1,000) and 3,000 of the second
        ("A", 59, -50_000, "Credit Note"),  # reduces the second bill: 1,500 left there
        ("A", 109, -250_000, "Receipt"),  # the second bill's 1,500 and 1,000 of the third
        ("B", 10, -200_000, "Receipt"),  # an advance, before any bill
        ("B", 20, 150_000, "Sales"), ("B", 30, 100_000, "Sales"),
    ])
    got = pieces_by_id(frame)
    assert got == {("e0", "e3"): 100_000, ("e1", "e3"): 300_000, ("e1", "e4"): 50_000, ("e1", "e5"): 150_000,
                   ("e2", "e5"): 100_000, ("e7", "e6"): 150_000, ("e8", "e6"): 50_000}
    result = allocate(frame)
    open_cents = dict(zip(result.bills["bill_id"], result.bills["open_cents"]))
    assert open_cents == {"e0": 0, "e1": 0, "e2": 200_000, "e7": 0, "e8": 50_000}
    kinds = dict(zip(result.credits["credit_id"], result.credits["kind"]))
    assert kinds["e4"] == "credit_note" and kinds["e3"] == "payment"


def test_agst_ref_settles_the_named_bill_then_fifo_takes_the_rest():
    frame = entries([
        ("R", 0, 100_000, "Sales", "INV-1", "New Ref"), ("R", 9, 200_000, "Sales", "INV-2", "New Ref"),
        ("R", 19, -200_000, "Receipt", "INV-2", "Agst Ref"),  # FIFO would have paid INV-1 first
        ("R", 30, -250_000, "Receipt", "INV-1", "Agst Ref"),  # 1,000 to INV-1, 1,500 over: on account
        ("R", 40, -30_000, "Receipt", "NOPE", "Agst Ref"),  # names no bill: on account
    ])
    result = allocate(frame)
    assert pieces_by_id(frame) == {("e1", "e2"): 200_000, ("e0", "e3"): 100_000}
    assert set(result.pieces["match"]) == {"Agst Ref"}
    assert dict(zip(result.credits["credit_id"], result.credits["unapplied_cents"])) == {
        "e2": 0, "e3": 150_000, "e4": 30_000}


amounts = st.integers(min_value=1, max_value=50_000)
rows = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C"]), st.integers(0, 200), amounts, st.booleans()),
    min_size=1, max_size=40,
)


@settings(max_examples=80, deadline=None)
@given(rows)
def test_vectorised_fifo_equals_the_loop(data):
    frame = entries([(c, day, cents if debit else -cents, "Sales" if debit else "Receipt")
                     for c, day, cents, debit in data])
    assert pieces_by_id(frame) == naive_fifo(frame)
    result = allocate(frame)
    # every cent is either open or settled; every credited cent is applied or on account
    settled = result.pieces.groupby("bill_row")["cents"].sum()
    bills = result.bills
    assert (bills["bill_cents"] - bills.index.map(settled).fillna(0) == bills["open_cents"]).all()
    for customer, group in frame.groupby("customer_id"):
        owed = int(group["amount_cents"].sum())
        open_total = int(bills.loc[bills["customer_id"] == customer, "open_cents"].sum())
        unapplied = int(result.credits.loc[result.credits["customer_id"] == customer, "unapplied_cents"].sum())
        assert open_total - unapplied == owed
        assert open_total == 0 or unapplied == 0


def test_match_sorted_on_groups_with_one_side_missing():
    bill_group = np.array([0, 0, 2])
    credit_group = np.array([1, 2, 2])
    bills, credits, cents = match_sorted(bill_group, np.array([5, 5, 7]), credit_group, np.array([9, 3, 10]))
    assert list(zip(bills.tolist(), credits.tolist(), cents.tolist())) == [(2, 1, 3), (2, 2, 4)]


@settings(max_examples=8, deadline=None)
@given(rows, st.integers(0, 220), st.sampled_from([None, 0, 30]))
def test_aging_buckets_sum_to_outstanding(data, as_of_day, terms):
    """Through the whole credit analysis: aging adds up to what is owed, to the cent, for any ledger."""
    import ibis

    from segmint.credit import analyze_credit
    from segmint.io.ledger import ENTRY_DTYPES, Ledger
    from segmint.io.ledger_report import LedgerReport

    frame = entries([(c, day, cents if debit else -cents, "Sales" if debit else "Receipt")
                     for c, day, cents, debit in data])
    if not (frame["amount_cents"] > 0).any():
        frame.loc[0, ["amount_cents", "base_type"]] = [100, "Sales"]
    table = pd.DataFrame({
        "entry_id": frame["entry_id"], "party": frame["customer_id"], "entry_date": frame["entry_date"],
        "voucher_type": frame["base_type"], "base_type": frame["base_type"], "voucher_no": frame["voucher_no"],
        "amount_cents": frame["amount_cents"], "bill_ref": None, "bill_type": None, "due_date": None,
        "is_opening": False, "is_debtor": None, "counter_ledger": None, "credit_limit": None, "_source": "t",
        "_row": frame["_order"],
    })
    con = ibis.duckdb.connect()
    typed = table.astype({c: "object" for c in ("bill_ref", "bill_type", "due_date", "is_debtor", "counter_ledger")})
    ledger = Ledger(con.create_table("entries", ibis.memtable(typed, schema=ENTRY_DTYPES)),
                    LedgerReport(source="t", layout="vouchers", rows_in=len(table), rows_used=len(table)), [], con)
    as_of = dt.date(2023, 1, 1) + dt.timedelta(days=as_of_day)
    try:
        result = analyze_credit(ledger, as_of=as_of, terms=terms)
    except Exception as exc:  # no entry on or before the as-of date is the one acceptable refusal
        assert "no customer entries" in str(exc)
        return
    d = result.details
    counted = frame[frame["entry_date"] <= as_of].groupby("customer_id")["amount_cents"].sum()
    assert (d.set_index("customer_id")["outstanding"] * 100).round().astype(int).to_dict() == {
        c: int(v) for c, v in counted.items() if c in set(d["customer_id"])}
    buckets = (d[["aging_0_30", "aging_31_60", "aging_61_90", "aging_90_plus"]].sum(axis=1) * 100).round()
    owed = (d["outstanding"].clip(lower=0) * 100).round()
    assert (buckets == owed).all()
