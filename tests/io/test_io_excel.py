"""Excel reader: report layouts (title rows, two-line headers, totals), sheet choice, .xls."""

from __future__ import annotations

import datetime as dt

import ibis
import openpyxl
import pytest

from segmint.errors import InputError
from segmint.io import read_raw
from segmint.schema import ColumnMapping, resolve_mapping


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def tally_workbook(path):
    """A Tally Sales Register export: 3 title rows, blank row, two-line header, a blank and a total row."""
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Cover"
    notes.append(["Prepared by accounts"])
    ws = wb.create_sheet("Sales Register")
    ws.append(["ABC Traders Pvt Ltd"])
    ws.append(["Sales Register"])
    ws.append(["1-Apr-2023 to 31-Mar-2024"])
    ws.append([])
    ws.append(["Date", "Particulars", "Vch Type", "Vch No.", "Amount", None])
    ws.append([None, None, None, None, "Debit", "Credit"])
    ws.append([dt.datetime(2023, 4, 1), "Ram Traders", "Sales", 1, "1,23,456.00 Dr", None])
    ws.append([])
    ws.append([dt.datetime(2023, 4, 2), "Shyam & Co", "Sales", 2, "12,500.50 Dr", None])
    ws.append([dt.datetime(2023, 4, 3), "Ram Traders", "Credit Note", 3, None, "1,000.00 Cr"])
    ws.append(["Grand Total", None, None, None, "1,35,956.50 Dr", "1,000.00 Cr"])
    ws.merge_cells("A1:F1")
    ws.merge_cells("E5:F5")
    wb.save(path)


def test_tally_sales_register_layout(con, tmp_path):
    path = tmp_path / "register.xlsx"
    tally_workbook(path)
    raw = read_raw(path, con=con)
    df = raw.table.order_by("_row").execute()
    assert raw.sheet == "Sales Register"  # the cover sheet holds no transaction table
    assert raw.header_row == 4
    assert raw.columns == ["Date", "Particulars", "Vch Type", "Vch No.", "Amount Debit", "Amount Credit"]
    assert df["Particulars"].tolist() == ["Ram Traders", "Shyam & Co", "Ram Traders"]
    assert df["Amount Debit"].tolist()[:2] == ["1,23,456.00 Dr", "12,500.50 Dr"]  # text kept as written
    assert df["Amount Credit"].tolist()[2] == "1,000.00 Cr"
    assert df["Date"].tolist()[0].startswith("2023-04-01")
    assert df["_row"].tolist() == [7, 9, 10]  # spreadsheet row numbers
    assert raw.skipped == {"blank": 1, "total_row": 1}
    assert raw.skipped_examples["total_row"][0]["_row"] == 11
    assert any("ABC Traders" in note for note in raw.notes)
    mapping = resolve_mapping(raw)
    assert mapping.fields["customer_id"] == "Particulars"
    assert mapping.fields["invoice_date"] == "Date"
    assert mapping.fields["invoice_id"] == "Vch No."
    assert mapping.fields["amount"] == "Amount Debit"
    assert mapping.sheet == "Sales Register" and mapping.header_row == 4


def test_three_title_rows_above_a_plain_header(con, tmp_path):
    path = tmp_path / "plain.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for title in ("Shop Inc", "Monthly sales", "Period: Jan 2024"):
        ws.append([title])
    ws.append(["Customer ID", "Order Date", "Qty", "Unit Price"])
    ws.append(["00017", dt.date(2024, 1, 5), 2, 9.5])
    ws.append(["00018", dt.date(2024, 1, 6), 1, 20])
    wb.save(path)
    raw = read_raw(path, con=con)
    df = raw.table.order_by("_row").execute()
    assert raw.header_row == 3
    assert df["Customer ID"].tolist() == ["00017", "00018"]
    assert df["Qty"].tolist() == ["2", "1"]
    assert df["Unit Price"].tolist() == ["9.5", "20"]
    assert df["_row"].tolist() == [5, 6]
    assert resolve_mapping(raw).fields == {
        "customer_id": "Customer ID", "invoice_date": "Order Date", "quantity": "Qty", "unit_price": "Unit Price",
    }  # fmt: skip


def test_sheet_chosen_by_mapping_and_unknown_sheet_error(con, tmp_path):
    path = tmp_path / "two.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "A"
    wb.active.append(["x", "y"])
    wb.active.append(["1", "2"])
    b = wb.create_sheet("B")
    b.append(["Customer", "Date", "Amount"])
    b.append(["c1", "2024-01-01", "5"])
    wb.save(path)
    assert read_raw(path, con=con, mapping=ColumnMapping(sheet="A")).columns == ["x", "y"]
    assert read_raw(path, con=con, mapping=ColumnMapping(sheet=1)).columns == ["Customer", "Date", "Amount"]
    with pytest.raises(InputError, match="no sheet 'C'.*A, B"):
        read_raw(path, con=con, mapping=ColumnMapping(sheet="C"))


def test_legacy_xls(con, tmp_path):
    xlwt = pytest.importorskip("xlwt")
    path = tmp_path / "old.xls"
    wb = xlwt.Workbook()
    ws = wb.add_sheet("Sales")
    ws.write(0, 0, "Report")
    for col, name in enumerate(["Customer", "Date", "Amount"]):
        ws.write(2, col, name)
    ws.write(3, 0, "C-1")
    ws.write(3, 1, "2024-02-01")
    ws.write(3, 2, 12.25)
    wb.save(str(path))
    raw = read_raw(path, con=con)
    df = raw.table.execute()
    assert raw.columns == ["Customer", "Date", "Amount"]
    assert df[["Customer", "Amount", "_row"]].values.tolist() == [["C-1", "12.25", 4]]


def test_corrupt_workbook_is_an_input_error(con, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="bad.xlsx"):
        read_raw(path, con=con)


# --- workbooks of several sheets (Online Retail II keeps one year per sheet) -------------------------
RETAIL_II = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]


def retail_ii_workbook(path, *, notes=True, other_columns=False):
    """Two year sheets with Online Retail II's header, typed as Excel writes them; a notes sheet between.

    Row 5 of both year sheets is the same line without an invoice number: two lines, not a duplicate.
    """
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    stamp = book.add_format({"num_format": "m/d/yyyy h:mm"})
    twin = [None, "22087", "PAPER BUNTING", 1, dt.datetime(2010, 6, 1, 10, 0), 2.95, 16321, "Australia"]
    years = {
        "Year 2009-2010": [
            [489434, "85048", "15CM CHRISTMAS GLASS BALL", 12, dt.datetime(2009, 12, 1, 7, 45), 6.95, 13085, "United Kingdom"],
            ["C489449", "22087", "PAPER BUNTING", -12, dt.datetime(2009, 12, 1, 10, 33), 2.95, 16321, "Australia"],
            [489435, "22350", "CAT BOWL", 12, dt.datetime(2009, 12, 1, 7, 46), 2.55, None, "United Kingdom"],
            twin,
        ],
        "Year 2010-2011": [
            [536365, "85123A", "WHITE HANGING HEART", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850, "United Kingdom"],
            [536366, "22633", "HAND WARMER", 6, dt.datetime(2010, 12, 1, 8, 28), 1.85, 17850, "United Kingdom"],
            [536367, "84879", "ASSORTED BIRD", 32, dt.datetime(2010, 12, 1, 8, 34), 1.69, 13047, "United Kingdom"],
            twin,
            [536368, "22960", "JAM MAKING SET", 6, dt.datetime(2010, 12, 1, 8, 34), 4.25, 13047, "United Kingdom"],
        ],
    }
    for i, (name, rows) in enumerate(years.items()):
        if notes and i == 1:
            book.add_worksheet("Notes").write_column(0, 0, ["Source: UCI", "Prices in sterling"])
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, RETAIL_II)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if isinstance(value, dt.datetime):
                    sheet.write_datetime(r, c, value, stamp)
                elif value is not None:
                    sheet.write(r, c, value)
    if other_columns:
        other = book.add_worksheet("Refunds")
        other.write_row(0, 0, ["Customer ID", "Refund date", "Refund"])
        other.write_row(1, 0, [13085, "2010-01-05", 10.0])
    book.close()


def test_every_transaction_sheet_is_read_as_one_table(con, tmp_path):
    path = tmp_path / "online_retail_II.xlsx"
    retail_ii_workbook(path)
    raw = read_raw(path, con=con)
    rows = raw.table.order_by(["_source", "_row"]).execute()
    first, second = "online_retail_II.xlsx [Year 2009-2010]", "online_retail_II.xlsx [Year 2010-2011]"
    assert len(rows) == 4 + 5
    assert rows["_source"].tolist() == [first] * 4 + [second] * 5
    assert rows["_row"].tolist() == [2, 3, 4, 5, 2, 3, 4, 5, 6]  # each sheet's own row numbers
    assert rows["Invoice"].tolist()[:2] == ["489434", "C489449"]
    assert raw.columns == RETAIL_II and raw.sheet is None
    assert raw.sheets == [
        {"name": "Year 2009-2010", "rows": 4, "read": True, "why": ""},
        {"name": "Notes", "rows": 2, "read": False, "why": "not a transaction table (no customer and date columns found)"},
        {"name": "Year 2010-2011", "rows": 5, "read": True, "why": ""},
    ]


def test_several_sheets_in_the_quality_report_and_line_identity(tmp_path):
    import segmint

    path = tmp_path / "online_retail_II.xlsx"
    retail_ii_workbook(path)
    tx = segmint.read_transactions(str(path))
    report = tx.report
    # 9 lines: one without a customer (sheet 1 row 4) dropped; the twins (row 5 of each sheet) both kept
    assert (report.rows_in, report.rows_kept, report.duplicates) == (9, 8, 0)
    example = report.dropped["missing_customer"].examples[0]
    assert (example["_source"], example["_row"]) == ("online_retail_II.xlsx [Year 2009-2010]", 4)
    text = report.summary()
    assert "Sheets read as one table: 'Year 2009-2010' (4 rows), 'Year 2010-2011' (5 rows)" in text
    assert "Sheet 'Notes' (2 rows) not read: not a transaction table" in text
    assert "online_retail_II.xlsx [Year 2009-2010] row 4" in text
    lines = tx.table.execute()
    twins = sorted(lines.loc[lines["invoice_id"].str.contains(":"), "invoice_id"])
    assert twins == ["online_retail_II.xlsx [Year 2009-2010]:5", "online_retail_II.xlsx [Year 2010-2011]:5"]
    # revenue by hand: 12*6.95 - 12*2.95 + 2*2.95 + 6*2.55 + 6*1.85 + 32*1.69 + 6*4.25
    assert round(float(lines["amount"].sum()), 2) == 159.88
    assert '"sheets"' in report.to_json()


def test_workspace_keeps_both_twins_of_a_two_sheet_workbook(tmp_path):
    from segmint.workspace import Workspace

    path = tmp_path / "online_retail_II.xlsx"
    retail_ii_workbook(path)
    workspace = Workspace(tmp_path / "ws.duckdb")
    result = workspace.ingest(path)
    assert (result.rows_offered, result.rows_added) == (8, 8)
    ids = workspace.transactions().filter(lambda t: t.invoice_id.contains(":")).invoice_id.execute()
    assert sorted(ids) == ["online_retail_II.xlsx [Year 2009-2010]:5 (import 1)",
                           "online_retail_II.xlsx [Year 2010-2011]:5 (import 1)"]  # fmt: skip


def test_sheet_with_other_columns_is_left_out_and_said(con, tmp_path):
    path = tmp_path / "book.xlsx"
    retail_ii_workbook(path, notes=False, other_columns=True)
    raw = read_raw(path, con=con)
    assert int(raw.table.count().execute()) == 9
    refunds = raw.sheets[-1]
    assert refunds["name"] == "Refunds" and not refunds["read"]
    assert refunds["why"].startswith("its columns differ from those of sheet 'Year 2009-2010'; it lacks 'Invoice'")
    assert any(note.startswith("sheet 'Refunds' not read: its columns differ") for note in raw.notes)


def test_a_sheet_chosen_by_the_mapping_is_the_only_one_read(con, tmp_path):
    path = tmp_path / "online_retail_II.xlsx"
    retail_ii_workbook(path)
    raw = read_raw(path, con=con, mapping=ColumnMapping(sheet="Year 2010-2011"))
    rows = raw.table.execute()
    assert len(rows) == 5 and set(rows["_source"]) == {"online_retail_II.xlsx"}
    assert raw.sheet == "Year 2010-2011" and raw.sheets == []


def test_one_sheet_workbook_report_has_no_sheet_list(tmp_path):
    import segmint

    path = tmp_path / "one.xlsx"
    retail_ii_workbook(path, notes=False)
    tx = segmint.read_transactions(str(path), mapping=ColumnMapping(sheet=0))
    assert tx.report.sheets == [] and '"sheets"' not in tx.report.to_json()
    assert "Sheet" not in tx.report.summary()


@pytest.mark.parametrize("backend", ["duckdb", "sqlite"])
def test_cells_are_trimmed_like_str_strip_and_blanks_are_null(tmp_path, backend):
    """Every Unicode white space (no-break, ideographic, tabs, file separators) around a value goes;
    a cell of white space only is missing. DuckDB stores through Parquet, other engines through Arrow."""
    import xlsxwriter

    path = tmp_path / "spaces.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sales")
    cells = ["\u00a0 A1\u3000", "\t", "x\u2003y ", "\x1cB\x1f", "  "]
    sheet.write_row(0, 0, ["Invoice", "Customer", "Date", "Amount"])
    for row, cell in enumerate(cells, start=1):
        sheet.write_row(row, 0, [cell, f"c{row}", "2024-01-05", 1.5])
    book.close()
    con = ibis.duckdb.connect() if backend == "duckdb" else ibis.sqlite.connect()
    raw = read_raw(path, con=con)
    rows = raw.table.order_by("_row").execute()
    expected = [c.strip() or None for c in cells]
    assert expected == ["A1", None, "x\u2003y", "B", None]
    assert [None if v != v else v for v in rows["Invoice"]] == expected
    assert rows["_row"].tolist() == [2, 3, 4, 5, 6] and set(rows["_source"]) == {"spaces.xlsx"}


def test_a_stray_unheaded_column_does_not_leave_a_sheet_out(con, tmp_path):
    """A note typed beside the table (no header above it) makes an unnamed column; the sheet is still
    the same table, its rows are read, and the first sheet's columns are kept."""
    import xlsxwriter

    path = tmp_path / "years.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for name, rows in (("2023", [["c1", "2023-01-02", 10.25]]), ("2024", [["c2", "2024-01-03", 5.5], ["c3", "2024-01-04", 2.0]])):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["Customer", "Invoice Date", "Amount"])
        for r, row in enumerate(rows, start=1):
            sheet.write_row(r, 0, row)
    book.get_worksheet_by_name("2024").write(2, 4, "checked by AB")  # column E, no header
    book.close()
    raw = read_raw(path, con=con)
    rows = raw.table.order_by(["_source", "_row"]).execute()
    assert raw.columns == ["Customer", "Invoice Date", "Amount"]
    assert rows["Customer"].tolist() == ["c1", "c2", "c3"] and [s["read"] for s in raw.sheets] == [True, True]


def test_sheets_whose_header_cells_differ_only_in_spaces_and_line_breaks_are_all_read(tmp_path):
    # a yearly workbook whose 2022 sheet heads its quantity "Qty" + line break + "(units)" (a cell typed on two
    # lines) and its 2023 sheet "Qty(units)": 2023 was left out as 'its columns differ', a year of sales missing
    from segmint.api import read_transactions

    path = tmp_path / "yearly.xlsx"
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    headers = {2020: "Qty (units)", 2021: "Qty\n(units)", 2022: "QTY\r\n (Units) ", 2023: "Qty(units)"}
    for year, quantity in headers.items():
        sheet = wb.create_sheet(str(year))
        sheet.append(["Invoice", "Customer", "Date", quantity, "Unit Price"])
        for month in (1, 2):
            sheet.append([f"I{year}-{month}", f"C{month}", f"{year}-0{month}-15", month, year - 2000])
    wb.save(path)
    tx = read_transactions(path, con=ibis.duckdb.connect())
    report = tx.report
    assert [(s.name, s.read, s.rows) for s in report.sheets] == [(str(y), True, 2) for y in headers]
    assert (report.rows_in, report.rows_kept) == (8, 8)
    # per year: 1 x price + 2 x price = 3 x (year - 2000): 3 x (20 + 21 + 22 + 23) = 258
    assert report.total_amount == 258.0
    assert tx.mapping.fields["quantity"] == "Qty (units)"
