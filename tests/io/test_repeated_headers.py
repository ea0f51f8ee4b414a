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


# A header row repeated inside the file (pages of an export joined together) is dropped as such, not as
# bad dates and amounts; a row only partly like the header is data and stays.


def test_csv_repeated_header_rows_are_dropped_with_their_own_reason(tmp_path):
    path = tmp_path / "pages.csv"
    path.write_text(
        '"CustomerID","InvoiceDate","Amount"\n'
        "CustomerID,2024-01-01,5\n"  # a customer called CustomerID: data
        "A2,2024-01-03,20\n"
        '"CustomerID","InvoiceDate","Amount"\n'  # row 4: page 2's header
        "A1,2024-02-02,7.5\n"
        " customer id , INVOICEDATE,amount\n"  # row 6: case and spaces aside, the header again
        "A3,2024-03-01,1\n"
    )
    report = read_transactions(path).report
    assert (report.rows_in, report.rows_kept) == (6, 4)
    assert report.total_amount == 33.5  # 5 + 20 + 7.5 + 1
    assert set(report.dropped) == {"repeated_header"}
    assert report.dropped["repeated_header"].count == 2
    assert [e["_row"] for e in report.dropped["repeated_header"].examples] == [4, 6]
    assert "repeated_header             2" in report.summary()
    assert "repeated_header: pages.csv row 4" in report.summary()


def test_a_row_with_one_cell_unlike_its_header_is_kept(tmp_path):
    path = tmp_path / "near.csv"
    path.write_text("customer,date,,amount\na,2024-01-01,x,10\ncustomer,date,note,amount\ncustomer,date,,12\n")
    report = read_transactions(path).report
    # row 3 repeats every named header cell (the unnamed column aside); row 4's amount is a number: data
    # with a bad date, not a header
    assert report.dropped["repeated_header"].count == 1
    assert report.dropped["bad_date"].count == 1
    assert [e["_row"] for e in report.dropped["bad_date"].examples] == [4]
    assert report.total_amount == 10.0


def test_whitespace_file_repeated_header(tmp_path):
    path = tmp_path / "cd.txt"
    path.write_text(" customer_id  date   dollar_value\n 00001 19970101   11.77\n customer_id  date   dollar_value\n"
                    " 00002 19970112   12.00\n")
    report = read_transactions(path).report
    assert (report.rows_in, report.rows_kept, report.dropped["repeated_header"].count) == (3, 2, 1)
    assert report.total_amount == 23.77


def test_workbook_pages_and_sheets_repeat_the_header(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Sales register"], [], ["Customer", "Date", "Amount"], ["a", "2024-01-01", 10],
                ["Customer", "Date", "Amount"], [" customer ", "DATE", "amount"], ["b", "2024-01-02", 5],
                ["Total", None, 15]):
        sheet.append(row)
    second = book.create_sheet("p2")
    for row in (["Customer", "Date", "Amount"], ["c", "2024-01-03", 1], ["Customer", "Date", "Amount"]):
        second.append(row)
    book.save(tmp_path / "pages.xlsx")
    report = read_transactions(tmp_path / "pages.xlsx").report
    # sheet 1 rows 5 and 6, sheet p2 row 3; the total line stays a total line
    assert report.dropped["repeated_header"].count == 3
    assert report.dropped["total_row"].count == 1
    assert (report.rows_in, report.rows_kept) == (7, 3)
    assert report.total_amount == 16.0  # 10 + 5 + 1
    where = {(e["_source"], e["_row"]) for e in report.dropped["repeated_header"].examples}
    assert where == {("pages.xlsx [Sheet]", 5), ("pages.xlsx [Sheet]", 6), ("pages.xlsx [p2]", 3)}


# A header split over two rows ('Invoice' over 'No', 'Date' over 'Posted') repeats as two rows where
# exports are joined together: each of the two is the header again, not a bad date and a missing customer.

_TWO_LINE_PAGES = [
    ["Invoice", "Date", "Customer", "Amount"], ["No", "Posted", None, None],
    ["1", "2024-01-01", "a", 10], ["2", "2024-01-02", "b", 5],
    ["Invoice", "Date", "Customer", "Amount"], ["No", "Posted", None, None],  # rows 5 and 6: page 2's header
    ["3", "2024-01-03", "c", 1],
]


def _dropped(report):
    return {reason: [e["_row"] for e in drop.examples] for reason, drop in report.dropped.items()}


def test_workbook_header_on_two_rows_repeated_is_dropped_as_header(tmp_path):
    book = openpyxl.Workbook()
    for row in _TWO_LINE_PAGES:
        book.active.append(row)
    book.save(tmp_path / "pages.xlsx")
    tx = read_transactions(tmp_path / "pages.xlsx")
    assert (tx.mapping.fields["invoice_id"], tx.mapping.fields["invoice_date"]) == ("Invoice No", "Date Posted")
    assert _dropped(tx.report) == {"repeated_header": [5, 6]}
    assert (tx.report.rows_in, tx.report.rows_kept, tx.report.total_amount) == (5, 3, 16.0)


def test_csv_header_on_two_lines_is_merged_and_its_repeats_dropped(tmp_path):
    path = tmp_path / "pages.csv"
    path.write_text("\n".join(",".join("" if c is None else str(c) for c in row) for row in _TWO_LINE_PAGES) + "\n")
    tx = read_transactions(path)
    assert (tx.mapping.fields["invoice_id"], tx.mapping.fields["invoice_date"]) == ("Invoice No", "Date Posted")
    assert "header on line 1 merged with line 2" in tx.report.summary()
    # the second header line is not a row without a customer, at the top or inside the file
    assert _dropped(tx.report) == {"repeated_header": [5, 6]}
    assert (tx.report.rows_in, tx.report.rows_kept, tx.report.total_amount) == (5, 3, 16.0)


def test_a_row_like_only_the_second_header_line_in_part_is_data(tmp_path):
    path = tmp_path / "near.csv"
    path.write_text("Invoice,Date,Customer,Amount\nNo,Posted,,\n1,2024-01-01,a,10\nNo,2024-01-02,b,5\n")
    report = read_transactions(path).report
    assert report.dropped == {} and report.total_amount == 15.0  # invoice 'No' on a real date: data
