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
