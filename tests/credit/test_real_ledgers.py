"""The real Tally exports and the real receivables table (../shared/data; skipped when absent).

Expected values come from the files themselves, computed here independently (pandas on the raw file,
regular expressions on the XML) or from the facts published in ../shared/data/README.md.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import segmint
from segmint.io.ledger import read_ledger

DATA = Path(__file__).parents[2].parent / "shared" / "data"
DAY_BOOK = DATA / "tally" / "cubix_daybook_2022.xlsx"
UTTAM = DATA / "tally" / "uttam_daybook_2025.xml"
DEMO_XML = DATA / "tally" / "demo_daybook_utf16.xml"
RECEIVABLES = DATA / "receivables" / "WA_Fn-UseC_-Accounts-Receivable.csv"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def day_book():
    """The Day Book read once as a ledger and once as sales (what `segmint analyze` uses)."""
    path = need(DAY_BOOK)
    return read_ledger(path), segmint.read_transactions(path)


def test_day_book_voucher_types_and_sales_view(day_book):
    ledger, tx = day_book
    types = {row.voucher_type: row for row in ledger.report.voucher_types}
    assert len(types) == 75
    sales = [types[name] for name in ("Sales", "Bhosari Sales", "Nashik Sales")]
    assert all(row.base_type == "Sales" for row in sales)
    assert sum(row.vouchers for row in sales) == 6_004  # 21 of them cancelled (no amount, no party)
    assert sum(row.cancelled for row in sales) == 21
    assert round(sum(Decimal(str(row.debit)) for row in sales), 2) == Decimal("245351814.84")
    assert types["Credit Note"].vouchers == 52 and types["Credit Note"].credit == 1_897_698.23
    receipts = [types[name] for name in ("Receipt", "Bhosari Receipt", "Nashik Reciept")]
    assert all(row.base_type == "Receipt" for row in receipts)
    assert sum(row.vouchers for row in receipts) == 2_291
    assert round(sum(Decimal(str(row.credit)) for row in receipts), 2) == Decimal("228871553.67")
    assert types["PO: Advantech"].base_type == "Purchase Order" and types["RDC : Sudhir"].base_type == "Delivery Note"
    assert ledger.report.sales_line() == (  # printed by `segmint analyze` and `segmint credit`
        "Sales view: 6,004 sales vouchers (21 cancelled) worth 245,351,814.84, less 52 credit notes worth "
        "1,897,698.23; 2,291 receipts worth 228,871,553.67 are payments, not returns")
    # the sales view: sales vouchers net of credit notes, nothing else
    t = tx.table
    invoices = t.filter(t.amount > 0)
    stats = invoices.aggregate(n=invoices.invoice_id.nunique(), parties=invoices.customer_id.nunique(),
                               value=invoices.amount.sum()).execute().iloc[0]
    assert stats["n"] == 6_004 - 21 and stats["parties"] == 959 - 1  # Tally's '(cancelled)' is no party
    assert round(stats["value"], 2) == 245_351_814.84
    returns = t.filter(t.amount < 0)
    notes = returns.aggregate(n=returns.count(), value=returns.amount.sum()).execute().iloc[0]
    assert notes["n"] == 52 and round(-notes["value"], 2) == 1_897_698.23
    assert tx.report.rows_in == 23_672  # 23,671 vouchers and the second caption line, all accounted for


def test_day_book_sales_parties_counted_as_the_file_does():
    """959 parties on sales vouchers as counted on the raw file (Tally's '(cancelled)' placeholder included)."""
    import fastexcel

    raw = fastexcel.read_excel(str(need(DAY_BOOK))).load_sheet(0, header_row=None, skip_rows=8, dtypes="string")
    frame = raw.to_pandas()
    frame.columns = range(frame.shape[1])
    sales = frame[frame[6].isin(["Sales", "Bhosari Sales", "Nashik Sales"])]
    assert len(sales) == 6_004 and sales[1].nunique() == 959
    assert (sales[1] == "(cancelled)").sum() == 21


def test_day_book_credit_customers_are_parties_with_sales(day_book):
    ledger, tx = day_book
    result = segmint.credit(ledger)
    customers = set(result.details["customer_id"])
    assert customers == set(tx.table.customer_id.execute())  # counter-ledgers, suppliers, banks left out
    assert result.as_of.isoformat() == "2022-05-10"
    d = result.details
    owed = d[d["outstanding"] > 0]
    assert np.allclose(owed[["aging_0_30", "aging_31_60", "aging_61_90", "aging_90_plus"]].sum(axis=1),
                       owed["outstanding"], atol=0.005)
    # parties left out, most entries first and ties by name, so excluded_parties.csv is the same file every
    # run (ties came out in any order before)
    excluded = result.excluded_parties
    assert excluded["party"].is_unique and not set(excluded["party"]) & customers
    order = sorted(zip(-excluded["entries"], excluded["party"]))
    assert list(zip(-excluded["entries"], excluded["party"])) == order
    assert excluded["entries"].duplicated().any()  # the file has ties, so the test checks their order


@pytest.fixture(scope="module")
def receivables():
    return segmint.credit(need(RECEIVABLES))


def test_receivables_measures_equal_the_files_own_columns(receivables):
    raw = pd.read_csv(RECEIVABLES, dtype={"invoiceNumber": str})
    result = receivables
    d = result.details.set_index("customer_id")
    assert len(d) == 100 and d["bills"].sum() == 2_466
    weight = raw["InvoiceAmount"]
    grouped = raw.assign(w=weight, settle=raw.DaysToSettle * weight, late=raw.DaysLate * weight,
                         is_late=raw.DaysLate > 0).groupby("customerID")
    expected = pd.DataFrame({
        "avg_days_to_pay": grouped.settle.sum() / grouped.w.sum(),
        "avg_days_late": grouped.late.sum() / grouped.w.sum(),
        "share_paid_late": grouped.is_late.mean(),
        "bills_paid_late": grouped.is_late.sum(),
    })
    for column in expected:
        assert np.allclose(d.loc[expected.index, column], expected[column], atol=0.005), column
    assert d["bills_paid_late"].sum() == 877


def test_receivables_habitual_late_payers_rank_worst(receivables):
    d = receivables.details
    order = {"Low": 0, "Medium": 1, "High": 2, "Very High": 3}
    rank = d["credit_segment"].map(order)
    habitual, punctual = d["share_paid_late"] >= 0.75, d["share_paid_late"] <= 0.10
    assert habitual.sum() >= 15 and punctual.sum() >= 15
    assert rank[habitual].min() > rank[punctual].max()  # every habitual late payer below every punctual one
    assert d.loc[habitual, "credit_segment"].isin(["Medium", "High", "Very High"]).all()
    assert d[["share_paid_late", "credit_score"]].corr(method="spearman").iloc[0, 1] < -0.9


def test_uttam_xml_with_control_characters_and_masters():
    path = need(UTTAM)
    text = path.read_bytes().decode("ascii", "replace")
    debtors = set(re.findall(r'<LEDGER NAME="([^"]+)"[^>]*>(?:(?!</LEDGER>).)*?<PARENT>Sundry Debtors</PARENT>', text, re.S))
    result = segmint.credit(path)
    assert set(result.details["customer_id"]) == {d.replace("&amp;", "&") for d in debtors}
    master = re.search(r'<LEDGER NAME="%s".*?</LEDGER>' % re.escape(next(iter(debtors))), text, re.S).group(0)
    opening = sum(-Decimal(v) for v in re.findall(r"<BILLALLOCATIONS\.LIST>\s*<BILLDATE>\d+</BILLDATE>.*?"
                                                   r"<OPENINGBALANCE>(-?[\d.]+)</OPENINGBALANCE>", master, re.S))
    sale = re.search(r"<ISPARTYLEDGER>Yes</ISPARTYLEDGER>\s*(?:<[^>]+>[^<]*</[^>]+>\s*)*?<AMOUNT>(-[\d.]+)</AMOUNT>",
                     text[text.find('VCHTYPE="GST Sale Invoice"'):])
    row = result.details.iloc[0]
    assert Decimal(str(row["outstanding"])) == opening - Decimal(sale.group(1))
    assert row["bills"] == len(re.findall(r"<BILLDATE>", master)) + 1
    names = re.findall(r"<BILLALLOCATIONS\.LIST>\s*<BILLDATE>\d+</BILLDATE>\s*<NAME>([^<]+)</NAME>", master)
    opening_bills = result.open_bills[result.open_bills["bill_type"] == "Opening Balance"]
    assert names and sorted(opening_bills["bill_no"]) == sorted(names)  # the masters' bill names
    assert any(v.why.startswith("Tally master: GST Sale Invoice") for v in result.report.voucher_types)


def test_utf16_demo_xml_cash_sale_is_no_customer():
    path = need(DEMO_XML)
    result = segmint.credit(path)
    assert list(result.details["customer_id"]) == ["Paart2"]
    assert result.details.iloc[0]["outstanding"] == 11_111.00
    assert result.open_bills.iloc[0]["due_date"].isoformat() == "2023-05-01"  # New Ref, 30 Days
    tx = segmint.read_transactions(path)
    assert tx.table.customer_id.execute().tolist() == ["Paart2"] and tx.report.dropped["counter_ledger_party"].count == 1
    # the voucher-type table `segmint analyze` prints: 2 Sales vouchers, party lines 3,294.50 (cash) + 11,111.00
    (row,) = tx.ledger.voucher_types
    assert (row.voucher_type, row.base_type, row.vouchers, row.debit + row.credit) == ("Sales", "Sales", 2, 14_405.50)


def test_detailed_day_book_reads_the_bill_wise_line():
    """Voucher lines with their detail lines below (ledgers, items, 'New Ref | 2 | 30 Days', cost centres)."""
    path = need(DATA / "tally" / "demo_daybook_detailed.xlsx")
    result = segmint.credit(path)
    assert list(result.details["customer_id"]) == ["Paart2"] and result.details.iloc[0]["outstanding"] == 11_111.00
    bill = result.open_bills.iloc[0]
    assert (bill["bill_no"], bill["due_date"].isoformat()) == ("2", "2023-05-01")
    report = result.report
    assert report.rows_in == 16 and report.dropped["voucher_detail"].count == 14
    tx = segmint.read_transactions(path)
    assert tx.table.customer_id.execute().tolist() == ["Paart2"] and tx.table.amount.sum().execute() == 11_111.00


def test_day_book_customers_paid_ahead_are_shown_as_such(day_book):
    """Cubix's 241 customers who paid more than they were billed showed a negative outstanding beside aging
    buckets of 0, with no column or word saying it was a credit balance. 2M Systech by hand from
    the raw vouchers: Receipt 5192 of 111,054.52 on 2022-01-21, Sales 21-22/16236 of 12,272.00 (2022-03-23)
    and 22-23/347 of 92,842.40 (2022-04-09); its two Sales Orders move no money."""
    import fastexcel

    raw = fastexcel.read_excel(str(need(DAY_BOOK))).load_sheet(0, header_row=None, skip_rows=8, dtypes="string")
    frame = raw.to_pandas()
    frame.columns = range(frame.shape[1])
    party = frame[(frame[1] == "2M Systech") & frame[6].isin(["Sales", "Receipt"])]
    billed = party.loc[party[6] == "Sales", 8].map(Decimal).sum()
    received = party.loc[party[6] == "Receipt", 9].map(Decimal).sum()
    assert (billed, received) == (Decimal("105114.40"), Decimal("111054.52"))
    ledger, _ = day_book
    result = segmint.credit(ledger)
    row = result.credit.set_index("customer_id").loc["2M Systech"]
    assert row["outstanding"] == float(billed - received) == -5_940.12
    assert row["paid_ahead"] == float(received - billed)
    assert row[["aging_0_30", "aging_31_60", "aging_61_90", "aging_90_plus"]].tolist() == [0.0] * 4
    # scored as owing nothing (not as a negative debt): timeliness 0 days late (35 of 35), no bill paid late
    # (25 of 25), nothing owed is 90+ days old (25 of 25), history 109 days (2 of 5), no trend: 87 of 90 = 97
    assert row["credit_score"] == round(100 * 87 / 90) == 97
    assert "paid ahead 5,940.12: received more than billed in the data" in row["reason"]
    d = result.details
    ahead = d[d["outstanding"] < 0]
    assert len(ahead) == 241 and np.allclose(ahead["paid_ahead"], -ahead["outstanding"], atol=0.005)
    assert (d.loc[d["outstanding"] >= 0, "paid_ahead"] == 0).all()  # a customer owes or is paid ahead, never both
    assert (ahead["share_90_plus"] == 0).all() and (ahead["reason"].str.contains("; paid ahead ")).all()
