"""Per-customer credit measures as Ibis expressions over bills, allocation pieces and entries.

All money is integer cents until the last step. Definitions (as of the as-of date):

* ``outstanding`` = debits - credits (the net balance); ``paid_ahead`` = credits not applied to any bill
  (a credit balance: an advance, or payments of bills from before the data). Every credit settles
  open bills first, so a customer either owes (``outstanding`` > 0) or is paid ahead
  (``outstanding`` = -``paid_ahead``), never both.
* aging of each bill's open amount by days since its due date when the data gives one or terms are
  set, else since the bill date: ``aging_0_30`` (amounts not yet due included), ``aging_31_60``,
  ``aging_61_90``, ``aging_90_plus``; their sum equals ``outstanding`` when that is positive, and all
  are 0 for a customer paid ahead (nothing is owed).
* ``avg_days_to_pay``: amount-weighted mean of (payment date - bill date) over paid portions, where an
  advance counts as paid on the bill date; only receipts are payments (credit notes are not).
* ``avg_days_late``: the same over max(0, payment date - due date); the due date is the data's, else
  bill date + terms (``default_terms`` when none is given).
* ``days_late_incl_open``: amount-weighted days late over everything that has fallen due: paid
  portions and open portions past their due date (counted to the as-of date). A customer who never
  pays shows here, not in ``avg_days_late``.
* ``bills``, ``bills_paid`` (settled with at least one payment), ``bills_paid_late`` (settled after the
  due date), ``share_paid_late`` = bills_paid_late / bills_paid, ``bills_overdue`` (open past due).
* ``credit_notes_pct`` = credit notes / sales invoices x 100; ``highest_balance`` = the highest
  end-of-day balance; ``history_days`` = days from the first entry to the as-of date.
* trend: ``days_to_pay_last_90`` and ``days_to_pay_prev_90`` (payments in the last 90 days and the 90
  before) and ``trend_days`` = their difference (positive = paying slower).
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

BUCKETS = ("aging_0_30", "aging_31_60", "aging_61_90", "aging_90_plus")
TREND_WINDOW = 90


def _weighted(value: ir.NumericValue, weight: ir.NumericValue, where: ir.BooleanValue) -> ir.FloatingValue:
    total = weight.sum(where=where)
    return ibis.cases((total > 0, (value * weight).sum(where=where) / total), else_=ibis.null("float64"))


def bill_facts(bills: ir.Table, *, as_of: dt.date, terms: int | None, default_terms: int) -> ir.Table:
    """Each bill with its lateness due date, aging basis date, days since it (``age_days``, negative while not
    due), its aging bucket, and ``bill_age_days`` (days since the bill date: what open_bills calls its age)."""
    as_of_lit = ibis.literal(as_of, "date")
    data_due = bills.due_date
    late_due = ibis.coalesce(data_due, bills.bill_date + ibis.interval(days=terms if terms is not None else default_terms))
    aging_from = ibis.coalesce(data_due, bills.bill_date + ibis.interval(days=terms)) if terms is not None else (
        ibis.coalesce(data_due, bills.bill_date))
    facts = bills.mutate(due=late_due, aging_from=aging_from)
    age = as_of_lit.delta(facts.aging_from, unit="day")
    facts = facts.mutate(age_days=age, days_overdue=ibis.greatest(as_of_lit.delta(facts.due, unit="day"), 0),
                         bill_age_days=as_of_lit.delta(facts.bill_date, unit="day"))
    bucket = ibis.cases(
        (facts.age_days <= 30, BUCKETS[0]), (facts.age_days <= 60, BUCKETS[1]),
        (facts.age_days <= 90, BUCKETS[2]), else_=BUCKETS[3],
    )
    return facts.mutate(bucket=bucket)


def piece_facts(pieces: ir.Table, bills: ir.Table) -> ir.Table:
    """Allocation pieces with the bill's dates: settled date, days to pay, days late."""
    joined = pieces.join(bills.select("bill_id", "bill_date", "due"), "bill_id")
    settled = ibis.greatest(joined.credit_date, joined.bill_date)
    joined = joined.mutate(settled_date=settled)
    return joined.mutate(
        days_to_pay=joined.settled_date.delta(joined.bill_date, unit="day"),
        days_late=ibis.greatest(joined.settled_date.delta(joined.due, unit="day"), 0),
    )


def customer_measures(
    entries: ir.Table,
    bills: ir.Table,
    credits: ir.Table,
    pieces: ir.Table,
    *,
    as_of: dt.date,
) -> ir.Table:
    """One row per customer with every measure of the module docstring (money in cents)."""
    as_of_lit = ibis.literal(as_of, "date")
    totals = entries.group_by("customer_id").aggregate(
        outstanding_cents=entries.amount_cents.sum(),
        first_date=entries.entry_date.min(),
        last_date=entries.entry_date.max(),
        credit_limit=entries.credit_limit.max(),
    )
    is_open = bills.open_cents > 0
    aging = bills.group_by("customer_id").aggregate(
        bills=bills.count(),
        billed_cents=bills.bill_cents.sum(),
        sales_cents=bills.bill_cents.sum(where=bills.base_type == "Sales"),
        open_cents=bills.open_cents.sum(),
        not_due_cents=bills.open_cents.sum(where=is_open & (bills.days_overdue == 0)),
        overdue_cents=bills.open_cents.sum(where=is_open & (bills.days_overdue > 0)),
        bills_overdue=(is_open & (bills.days_overdue > 0)).sum(),
        first_bill=bills.bill_date.min(),
        last_bill=bills.bill_date.max(),
        open_late_weight=(bills.open_cents * bills.days_overdue).sum(where=is_open & (bills.days_overdue > 0)),
        **{name: bills.open_cents.sum(where=is_open & (bills.bucket == name)) for name in BUCKETS},
    )
    paid = pieces.kind == "payment"
    recent = paid & (pieces.credit_date > as_of_lit - ibis.interval(days=TREND_WINDOW))
    before = paid & ~recent & (pieces.credit_date > as_of_lit - ibis.interval(days=2 * TREND_WINDOW))
    timing = pieces.group_by("customer_id").aggregate(
        paid_cents=pieces.cents.sum(where=paid),
        avg_days_to_pay=_weighted(pieces.days_to_pay, pieces.cents, paid),
        avg_days_late=_weighted(pieces.days_late, pieces.cents, paid),
        paid_late_weight=(pieces.days_late * pieces.cents).sum(where=paid),
        days_to_pay_last_90=_weighted(pieces.days_to_pay, pieces.cents, recent),
        days_to_pay_prev_90=_weighted(pieces.days_to_pay, pieces.cents, before),
    )
    bill_close = pieces.group_by("bill_id").aggregate(
        settled_on=pieces.settled_date.max(), any_payment=paid.any(),
    )
    closed = bills.join(bill_close, "bill_id").filter(lambda b: b.open_cents == 0)
    closed_stats = closed.group_by("customer_id").aggregate(
        bills_paid=closed.any_payment.sum(),
        bills_paid_late=(closed.any_payment & (closed.settled_on > closed.due)).sum(),
    )
    credit_stats = credits.group_by("customer_id").aggregate(
        credit_note_cents=credits.credit_cents.sum(where=credits.kind == "credit_note"),
        paid_ahead_cents=credits.unapplied_cents.sum(),
        last_payment=credits.credit_date.max(where=credits.kind == "payment"),
    )
    daily = entries.group_by("customer_id", "entry_date").aggregate(day_cents=entries.amount_cents.sum())
    running = daily.mutate(balance=daily.day_cents.cumsum(group_by="customer_id", order_by="entry_date"))
    peak = running.group_by("customer_id").aggregate(highest_cents=running.balance.max())

    table = totals
    for part in (aging, timing, closed_stats, credit_stats, peak):
        table = table.left_join(part, "customer_id").drop("customer_id_right")
    zero = ibis.literal(0, "int64")
    filled = {c: table[c].fill_null(0) for c in (
        "bills", "billed_cents", "sales_cents", "open_cents", "not_due_cents", "overdue_cents", "bills_overdue",
        "paid_cents", "bills_paid", "bills_paid_late", "credit_note_cents", "paid_ahead_cents", "open_late_weight",
        "paid_late_weight", *BUCKETS,
    )}  # fmt: skip
    table = table.mutate(**filled)
    fallen_due = table.paid_cents + table.overdue_cents
    return table.mutate(
        days_late_incl_open=ibis.cases(
            (fallen_due > 0, (table.paid_late_weight + table.open_late_weight) / fallen_due),
            else_=ibis.null("float64"),
        ),
        share_paid_late=ibis.cases((table.bills_paid > 0, table.bills_paid_late / table.bills_paid),
                                   else_=ibis.null("float64")),
        credit_notes_pct=ibis.cases((table.sales_cents > 0, 100.0 * table.credit_note_cents / table.sales_cents),
                                    else_=ibis.null("float64")),
        trend_days=table.days_to_pay_last_90 - table.days_to_pay_prev_90,
        history_days=as_of_lit.delta(table.first_date, unit="day"),
        highest_cents=ibis.greatest(table.highest_cents.fill_null(zero), zero),
    )  # fmt: skip
