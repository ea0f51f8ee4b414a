"""A demo Day Book for the demo customers: their invoices billed on credit, paid by habit.

Each customer gets a payment habit (punctual, slow, late, or a defaulter who leaves bills unpaid),
their invoices become Sales vouchers ("Sales" or the custom "Online Sales"), their returns Credit
Notes, their payments Receipts ("Receipt" or the custom, misspelt "Bank Reciept", as real books
have), some pay an advance before an order, some start with an opening balance, and a few lines
belong to counter-ledgers (a cash sale, a bank contra, a supplier) that must never become customers.
Deterministic for a seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HABITS = ("punctual", "slow", "late", "defaulter")
HABIT_WEIGHTS = (0.55, 0.25, 0.15, 0.05)
DELAY_DAYS = {"punctual": (3, 28), "slow": (25, 60), "late": (50, 140), "defaulter": (60, 200)}
COLUMNS = ("Date", "Particulars", "Vch Type", "Vch No.", "Debit Amount", "Credit Amount")


def make_ledger(invoices: pd.DataFrame, *, seed: int = 7) -> pd.DataFrame:
    """Day Book rows for ``invoices`` (invoice_id, customer_id, invoice_date, amount; returns negative)."""
    rng = np.random.default_rng([seed, 0x1ED6E7])
    bills = invoices.groupby(["invoice_id", "customer_id"], as_index=False).agg(
        date=("invoice_date", "min"), amount=("amount", "sum"))
    bills["date"] = pd.to_datetime(bills["date"]).dt.normalize()
    bills["amount"] = bills["amount"].round(2)
    bills = bills[bills["amount"] != 0].sort_values(["date", "invoice_id"], ignore_index=True)
    end = bills["date"].max()
    customers = np.sort(bills["customer_id"].unique())
    habit = pd.Series(rng.choice(len(HABITS), len(customers), p=HABIT_WEIGHTS), index=customers)

    sales = bills[bills["amount"] > 0].copy()
    notes = bills[bills["amount"] < 0]
    rows = [_frame(sales["date"], sales["customer_id"], np.where(rng.random(len(sales)) < 0.3, "Online Sales", "Sales"),
                   sales["invoice_id"], sales["amount"], None)]  # fmt: skip
    rows.append(_frame(notes["date"], notes["customer_id"], "Credit Note", "CN-" + notes["invoice_id"].astype(str),
                       None, -notes["amount"]))  # fmt: skip

    kind = habit[sales["customer_id"]].to_numpy()
    low = np.array([DELAY_DAYS[HABITS[k]][0] for k in kind])
    high = np.array([DELAY_DAYS[HABITS[k]][1] for k in kind])
    delay = rng.integers(low, high + 1)
    paid_on = sales["date"].to_numpy() + delay.astype("timedelta64[D]")
    skipped = (kind == HABITS.index("defaulter")) & (rng.random(len(sales)) < 0.6)
    paid = (paid_on <= end.to_datetime64()) & ~skipped
    split = paid & (rng.random(len(sales)) < 0.1)  # some bills are paid in two instalments
    first = np.where(split, (sales["amount"].to_numpy() * 0.6).round(2), sales["amount"].to_numpy())
    receipts = pd.DataFrame({"date": paid_on, "customer": sales["customer_id"].to_numpy(), "amount": first})[paid]
    rest = pd.DataFrame({"date": paid_on + np.timedelta64(21, "D"), "customer": sales["customer_id"].to_numpy(),
                         "amount": (sales["amount"].to_numpy() - first).round(2)})[split]
    rest = rest[rest["date"] <= end.to_datetime64()]
    receipts = pd.concat([receipts, rest], ignore_index=True)

    # advances: a few customers pay ahead of one order (the receipt waits on account)
    advance_rows = sales.groupby("customer_id").head(1).sample(frac=0.05, random_state=seed)
    advances = pd.DataFrame({"date": advance_rows["date"] - pd.Timedelta(days=10),
                             "customer": advance_rows["customer_id"], "amount": (advance_rows["amount"] * 0.5).round(2)})
    receipts = _net_of_credits(receipts, advances, notes)
    receipts = pd.concat([receipts, advances], ignore_index=True)
    receipts = receipts[receipts["amount"] > 0].sort_values("date", kind="stable", ignore_index=True)
    numbers = "R-" + pd.Series(np.arange(1, len(receipts) + 1)).astype(str)
    rows.append(_frame(receipts["date"], receipts["customer"],
                       np.where(rng.random(len(receipts)) < 0.25, "Bank Reciept", "Receipt"), numbers, None,
                       receipts["amount"]))  # fmt: skip

    # opening balances: a tenth of customers owed something before the books start, paid by habit
    start = bills["date"].min()
    owing = rng.choice(customers, max(1, len(customers) // 10), replace=False)
    amounts = rng.integers(50_00, 500_00, len(owing)) / 100
    rows.append(_frame(pd.Series(start, index=range(len(owing))), owing, "Opening Balance", "", amounts, None))
    late = np.array([DELAY_DAYS[HABITS[habit[c]]][1] for c in owing])
    settle = start + pd.to_timedelta(rng.integers(10, late + 1), unit="D")
    keep = (settle <= end) & (habit[owing].to_numpy() != HABITS.index("defaulter"))
    rows.append(_frame(pd.Series(settle[keep]), owing[keep], "Receipt", "OB-" + pd.Series(owing[keep]).astype(str),
                       None, amounts[keep]))  # fmt: skip

    # counter-ledger lines that a Day Book always has and that are never customers
    days = pd.Series(pd.date_range(start, end, periods=6)).dt.normalize()
    rows.append(_frame(days, "Cash", "Sales", "CS-" + pd.Series(range(6)).astype(str), 250.0, None))
    rows.append(_frame(days, "HDFC Bank", "Contra", "C-" + pd.Series(range(6)).astype(str), None, 10_000.0))
    rows.append(_frame(days, "Acme Supplies", "Purchase", "P-" + pd.Series(range(6)).astype(str), None, 4_000.0))
    rows.append(_frame(days + pd.Timedelta(days=20), "Acme Supplies", "Payment",
                       "PY-" + pd.Series(range(6)).astype(str), 4_000.0, None))  # fmt: skip
    ledger = pd.concat(rows, ignore_index=True).sort_values(["Date", "Vch Type"], kind="stable", ignore_index=True)
    ledger["Date"] = pd.to_datetime(ledger["Date"]).dt.strftime("%Y-%m-%d")
    ledger.attrs["habits"] = {str(c): HABITS[h] for c, h in habit.items()}
    return ledger


def _net_of_credits(receipts: pd.DataFrame, advances: pd.DataFrame, notes: pd.DataFrame) -> pd.DataFrame:
    """Customers pay what they owe: credit notes and advances dated before a receipt reduce it."""
    credits = pd.concat([
        advances[["date", "customer", "amount"]],
        pd.DataFrame({"date": notes["date"], "customer": notes["customer_id"], "amount": -notes["amount"]}),
    ])  # fmt: skip
    by_customer = {c: g.sort_values("date") for c, g in credits.groupby("customer")}
    receipts = receipts.sort_values(["customer", "date"], kind="stable").reset_index(drop=True)
    amounts = receipts["amount"].to_numpy().copy()
    for customer, index in receipts.groupby("customer").indices.items():
        pending = by_customer.get(customer)
        if pending is None:
            continue
        dates, values, used, available = pending["date"].to_numpy(), pending["amount"].to_numpy(), 0, 0.0
        for i in index:
            while used < len(dates) and dates[used] <= receipts.at[i, "date"]:
                available += values[used]
                used += 1
            take = min(available, amounts[i])
            amounts[i] = round(amounts[i] - take, 2)
            available -= take
    return receipts.assign(amount=amounts)


def _frame(dates, parties, kinds, numbers, debit, credit) -> pd.DataFrame:
    n = len(dates)
    as_text = (lambda v: pd.Series(np.round(np.broadcast_to(np.asarray(v, dtype=float), n), 2)).map("{:.2f}".format)
               if v is not None else pd.Series([""] * n))  # fmt: skip
    return pd.DataFrame({
        "Date": np.asarray(dates), "Particulars": np.broadcast_to(np.asarray(parties, dtype=object), n),
        "Vch Type": np.broadcast_to(np.asarray(kinds, dtype=object), n),
        "Vch No.": np.broadcast_to(np.asarray(numbers, dtype=object), n),
        "Debit Amount": as_text(debit).to_numpy(), "Credit Amount": as_text(credit).to_numpy(),
    })  # fmt: skip
