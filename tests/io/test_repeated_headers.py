"""A header cell that repeats ('Amount' twice) is named in the quality report: the second column is read
as 'Amount_2', and the user must know which one the amounts came from."""

from __future__ import annotations

import openpyxl

from segmint.api import read_transactions
from segmint.io.base import repeated_headers


def test_repeated_header_notes():
    assert repeated_headers(["Customer", "Amount", "amount", None, "Amount"]) == [
        "3 columns are headed 'Amount' (read as 'Amount', 'amount_2' and 'Amount_3'): "
        "check that the mapping uses the one you mean"
    ]
    assert repeated_headers(["Customer", "Date", None, None]) == []  # blank cells are not repeats


def test_csv_with_two_amount_columns_warns_and_reads_the_first(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount,amount\na,2024-01-01,10,20\nb,2024-01-02,5,6\n")
    tx = read_transactions(path)
    assert tx.report.total_amount == 15.0  # 10 + 5: the first 'amount'
    assert any("2 columns are headed 'amount' (read as 'amount' and 'amount_2')" in w for w in tx.report.warnings)
    assert "'amount_2'" in tx.report.summary()
    second = read_transactions(path, mapping={"customer_id": "customer", "invoice_date": "date", "amount": "amount_2"})
    assert second.report.total_amount == 26.0  # 20 + 6


def test_workbook_with_two_amount_columns_under_a_title_warns(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Sales register"], [], ["Customer", "Date", "Amount", "Amount"], ["a", "2024-01-01", 10, 20]):
        sheet.append(row)
    book.save(tmp_path / "sales.xlsx")
    tx = read_transactions(tmp_path / "sales.xlsx")
    assert tx.report.total_amount == 10.0
    assert any("2 columns are headed 'Amount' (read as 'Amount' and 'Amount_2')" in w for w in tx.report.warnings)


def test_unique_headers_add_no_warning(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\na,2024-01-01,10\n")
    assert not any("columns are headed" in w for w in read_transactions(path).report.warnings)
