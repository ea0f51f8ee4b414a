"""`segmint credit` on hand-computed ledgers in every layout (expected values in tests/credit/ledgers.py)."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.credit import CREDIT_COLUMNS

from ledgers import (
    DAY_BOOK_EXPECTED,
    RECEIVABLES,
    day_book_csv,
    day_book_xlsx,
    ledger_account_xlsx,
    tally_xml,
)


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def credit_table(out) -> pd.DataFrame:
    frame = pd.read_csv(out / "credit.csv", dtype={"customer_id": str})
    assert tuple(frame.columns) == CREDIT_COLUMNS
    return frame.set_index("customer_id")


def check(row: pd.Series, expected: dict) -> None:
    for name, value in expected.items():
        if value is None:
            assert math.isnan(row[name]), name
        else:
            assert row[name] == pytest.approx(value, abs=0.005), name


@pytest.mark.parametrize("maker", [day_book_csv, day_book_xlsx], ids=["csv", "xlsx"])
def test_day_book_measures_by_hand(tmp_path, maker):
    path = maker(tmp_path / ("daybook.csv" if maker is day_book_csv else "daybook.xlsx"))
    result = run("credit", str(path), "--as-of", "2023-06-30", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    credit = credit_table(tmp_path / "out")
    assert sorted(credit.index) == ["A", "B", "C", "D"]  # Cash, HDFC Bank and supplier E are not customers
    for customer, expected in DAY_BOOK_EXPECTED.items():
        check(credit.loc[customer], expected)
    details = pd.read_csv(tmp_path / "out" / "credit_details.csv").set_index("customer_id")
    assert details.loc["A", "avg_days_late"] == pytest.approx(28.62, abs=0.005)
    assert details.loc["A", "credit_notes_pct"] == pytest.approx(500 / 9200 * 100, abs=0.005)
    assert details.loc["A", "highest_balance"] == 9000.0
    assert details.loc["C", "days_late_incl_open"] == 119
    assert details.loc["D", "paid_ahead"] == 400.0 and credit.loc["D", "paid_ahead"] == 400.0
    allocations = pd.read_csv(tmp_path / "out" / "allocations.csv")
    note = allocations[allocations.settled_by == "CN1"]
    assert note.amount.tolist() == [500.0] and note.days_to_pay.isna().all()  # reduces, is not a payment
    assert credit.loc["C", "credit_segment"] in ("High", "Very High")  # never paid, 90+ days
    report = pd.read_json(tmp_path / "out" / "ledger_report.json", typ="series")
    dropped = {name: d["count"] for name, d in report["dropped"].items()}
    assert report["rows_in"] == report["rows_used"] + sum(dropped.values())
    assert dropped["counter_ledger"] == 2 and dropped["not_accounting"] == 2 and dropped["bad_amount"] == 1
    assert "Nashik Reciept" in result.output and "risk summary" in result.output


def test_single_party_ledger_account_takes_the_party_from_the_title(tmp_path):
    path = ledger_account_xlsx(tmp_path / "sharma.xlsx")
    result = run("credit", str(path), "--as-of", "2023-06-30", "--terms", "30", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    credit = credit_table(tmp_path / "out")
    assert list(credit.index) == ["Sharma Stores"]
    check(credit.loc["Sharma Stores"], {"outstanding": 3000.0, "aging_0_30": 3000.0, "aging_90_plus": 0.0,
                                        "avg_days_to_pay": 36.08, "bills": 3, "bills_paid_late": 1})
    details = pd.read_csv(tmp_path / "out" / "credit_details.csv").set_index("customer_id")
    assert details.loc["Sharma Stores", "avg_days_late"] == pytest.approx(14.17, abs=0.005)
    assert "Closing Balance" not in result.output.split("Warnings")[-1] or "unbalanced" not in result.output
    report = pd.read_json(tmp_path / "out" / "ledger_report.json", typ="series")
    assert report["party"] == "Sharma Stores" and set(report["dropped"]) == {"total_row", "closing_balance"}
    assert report["dropped"]["total_row"]["count"] == 2  # 'Current Total' and the unlabelled sums line


def test_a_wrong_closing_balance_is_reported(tmp_path):
    path = ledger_account_xlsx(tmp_path / "sharma.xlsx", closing=3500.0)
    result = run("credit", str(path), "--as-of", "2023-06-30")
    assert result.exit_code == 0, result.output
    assert "unbalanced" in result.output and "3,500.00" in result.output


def test_tally_xml_with_bill_allocations_settles_by_reference(tmp_path):
    path = tally_xml(tmp_path / "daybook.xml")
    result = run("credit", str(path), "--as-of", "2023-05-31", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    credit = credit_table(tmp_path / "out")
    check(credit.loc["Ram Traders"], {"outstanding": -500.0, "aging_0_30": 0.0, "aging_90_plus": 0.0,
                                      "avg_days_to_pay": 24.67, "bills": 2, "bills_paid_late": 1})
    allocations = pd.read_csv(tmp_path / "out" / "allocations.csv")
    assert allocations[["bill_no", "settled_by", "amount", "days_to_pay", "match"]].values.tolist() == [
        ["INV-1", "R-2", 1000.0, 54.0, "Agst Ref"], ["INV-2", "R-1", 2000.0, 10.0, "Agst Ref"]]
    summary = pd.read_csv(tmp_path / "out" / "credit_summary.csv")
    assert (summary.owed.sum(), summary.paid_ahead.sum(), summary.outstanding.sum()) == (0.0, 500.0, -500.0)
    types = pd.read_csv(tmp_path / "out" / "voucher_types.csv").set_index("voucher_type")
    assert types.loc["Counter Sale", "base_type"] == "Sales"  # from the voucher-type master, not the name
    assert types.loc["Counter Sale", "why"].startswith("Tally master: Counter Sale")


def test_bill_wise_receivables_table(tmp_path):
    (tmp_path / "ar.csv").write_text(RECEIVABLES)
    result = run("credit", str(tmp_path / "ar.csv"), "--as-of", "2023-06-30", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    credit = credit_table(tmp_path / "out")
    check(credit.loc["X"], {"outstanding": 0.0, "avg_days_to_pay": 33.75, "bills": 2, "bills_paid_late": 1})
    assert "from the data's due dates" in result.output
    check(credit.loc["Y"], {"outstanding": 50.0, "aging_90_plus": 50.0, "avg_days_to_pay": None})
    details = pd.read_csv(tmp_path / "out" / "credit_details.csv").set_index("customer_id")
    assert details.loc["X", "avg_days_late"] == 7.5 and details.loc["X", "share_paid_late"] == 0.5
    # the date-order evidence quotes a date of the file: second parts > 12 are 1/20 and 3/13 (settled)
    # and 3/31 (due); the first date field with one is the due date, whose only one is 3/31
    assert "Dates: month first (3 values like 3/31/2023)" in result.output


def test_single_party_ledger_without_a_party_is_a_clear_error(tmp_path):
    path = ledger_account_xlsx(tmp_path / "anon.xlsx", titles=["ABC Traders Pvt Ltd", "1-Apr-2023 to 31-Mar-2024"])
    result = run("credit", str(path))
    assert result.exit_code == 2
    assert "cannot tell whose ledger" in result.output and "Traceback" not in result.output
    assert result.output.count("fix:") == 1 and '--party "Sharma Stores"' in result.output
    named = run("credit", str(path), "--party", "Sharma Stores", "--as-of", "2023-06-30")
    assert named.exit_code == 0, named.output
    assert "Sharma Stores" in named.output


def test_customer_360_joins_sales_segments(tmp_path):
    day_book = day_book_csv(tmp_path / "daybook.csv")
    sales = tmp_path / "sales.csv"
    sales.write_text("InvoiceNo,InvoiceDate,CustomerID,Amount\n" + "\n".join(
        f"{c}{i},2023-0{1 + i % 5}-1{i % 9},{c},{v}" for c, v, n in (("A", 900, 9), ("B", 300, 5), ("C", 40, 3), ("Z", 10, 2))
        for i in range(1, n + 1)))  # A spends most and most often: High Value on both of the value story's axes
    result = run("credit", str(day_book), "--as-of", "2023-06-30", "--sales", str(sales), "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    the_360 = pd.read_csv(tmp_path / "out" / "customer_360.csv").set_index("customer_id")
    assert set(the_360.index) == {"A", "B", "C", "D", "Z"}
    assert the_360.loc["A", "value_segment"] == "High Value"
    assert the_360.loc["D", "value_segment"] == "No Sales" and the_360.loc["Z", "in_ledger"] == False  # noqa: E712
    assert isinstance(the_360.loc["C", "action"], str) and the_360.loc["C", "action"]
    assert {"rfm_segment", "story_segment", "credit_score", "credit_segment"} <= set(the_360.columns)


def test_agst_ref_columns_of_a_csv_ledger(tmp_path):
    """A bill-wise CSV (Bill Ref + Ref Type columns): receipts settle the named bill, not the oldest.

    B1 1,000 on 04-01, B2 500 on 04-05; a receipt of 500 on 04-15 Agst Ref B2 (10 days); 1,000 on 05-31
    Agst Ref B1 (60 days). FIFO would have paid B1 with the first receipt. Days to pay (500*10 +
    1000*60) / 1500 = 43.33; with 30-day terms B1 is 30 days late: 1 bill paid late.
    """
    (tmp_path / "bills.csv").write_text(
        "Date,Particulars,Vch Type,Vch No.,Bill Ref,Ref Type,Debit,Credit\n"
        "01/04/2023,Ram & Co,Sales,B1,B1,New Ref,1000.00,\n"
        "05/04/2023,Ram & Co,Sales,B2,B2,New Ref,500.00,\n"
        "15/04/2023,Ram & Co,Receipt,R1,B2,Agst Ref,,500.00\n"
        "31/05/2023,Ram & Co,Receipt,R2,B1,Agst Ref,,1000.00\n"
    )
    result = run("credit", str(tmp_path / "bills.csv"), "--terms", "30", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    check(credit_table(tmp_path / "out").loc["Ram & Co"], {"outstanding": 0.0, "avg_days_to_pay": 43.33,
                                                           "bills": 2, "bills_paid_late": 1})
    allocations = pd.read_csv(tmp_path / "out" / "allocations.csv")
    assert allocations[["bill_no", "settled_by", "match"]].values.tolist() == [
        ["B1", "R2", "Agst Ref"], ["B2", "R1", "Agst Ref"]]


def test_credit_limits_give_utilisation(tmp_path):
    path = day_book_csv(tmp_path / "daybook.csv")
    (tmp_path / "limits.csv").write_text("customer_id,credit_limit\nA,\"4,000\"\nB,100\n")
    result = run("credit", str(path), "--as-of", "2023-06-30", "--limits", str(tmp_path / "limits.csv"),
                 "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    details = pd.read_csv(tmp_path / "out" / "credit_details.csv").set_index("customer_id")
    assert details.loc["A", "utilisation"] == pytest.approx(3200 / 4000)
    assert details.loc["B", "utilisation"] == pytest.approx(500 / 100)
    assert math.isnan(details.loc["C", "utilisation"])  # no limit: the factor does not apply
    (tmp_path / "bad.csv").write_text("customer_id,credit_limit\nA,lots\n")
    bad = run("credit", str(path), "--limits", str(tmp_path / "bad.csv"))
    assert bad.exit_code == 2 and "'lots' is not a number" in bad.output


def test_unguessable_ledger_columns_are_named_with_map(tmp_path):
    (tmp_path / "odd.csv").write_text("When,Who,Kind,Ref,Dr Rs,Cr Rs\n"
                                      "02/01/2023,Ram,Sales,1,100.00,\n15/01/2023,Ram,Receipt,R1,,100.00\n")
    refused = run("credit", str(tmp_path / "odd.csv"))
    assert refused.exit_code == 2 and "not a ledger" in refused.output
    assert refused.output.count("fix:") == 1 and '--map "Customer=party" --map "Dr=debit"' in refused.output
    named = run("credit", str(tmp_path / "odd.csv"), "--map", "When=date", "--map", "Who=party",
                "--map", "Kind=voucher_type", "--map", "Dr Rs=debit", "--map", "Cr Rs=credit", "--out", str(tmp_path / "o"))
    assert named.exit_code == 0, named.output
    check(credit_table(tmp_path / "o").loc["Ram"], {"outstanding": 0.0, "avg_days_to_pay": 13.0, "bills": 1})
