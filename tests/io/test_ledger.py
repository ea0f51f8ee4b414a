"""Ledger reading: voucher types -> base types, counter-ledgers, layouts, and `analyze` on a ledger."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.errors import ConfigError
from segmint.io.ledger_layout import title_party
from segmint.io.vouchers import LedgerRules, TallyMasters, classify_voucher_types

sys.path.insert(0, str(Path(__file__).parents[1] / "credit"))
from ledgers import day_book_csv, ledger_account_xlsx  # noqa: E402


@pytest.mark.parametrize(("name", "base"), [
    ("Bhosari Sales", "Sales"), ("Nashik Reciept", "Receipt"), ("PO: Advantech", "Purchase Order"),
    ("RDC : Sudhir", "Delivery Note"), ("Bhosari  Delivery Note", "Delivery Note"), ("Sales Order", "Sales Order"),
    ("Debit Note : TDS", "Debit Note"), ("Credit Note", "Credit Note"), ("Purchase  Nanded", "Purchase"),
    ("Stock Journal", "Stock Journal"), ("Journal", "Journal"), ("Contra", "Contra"), ("Rejections In", "Rejections"),
    ("Works To Bhosari Inward", "Receipt Note"), ("GST Sale Invoice", "Sales"), ("Payment", "Payment"),
    ("MEI : Brigesh Morwal", "Other"),
])  # fmt: skip
def test_voucher_types_by_name(name, base):
    assert classify_voucher_types([name])[name][0] == base


def test_tally_masters_and_overrides_beat_the_name():
    masters = TallyMasters(voucher_types={"Counter Bill": ("Counter Bill", "Sales"), "Shop Cash": ("Counter Bill", "")})
    found = classify_voucher_types(["Counter Bill", "Shop Cash"], masters=masters)
    assert found["Counter Bill"][0] == "Sales" and found["Shop Cash"][0] == "Sales"
    assert "Tally master" in found["Shop Cash"][1]
    rules = LedgerRules.load({"voucher_types": {"MEI : Brigesh Morwal": "purchase order"}})
    assert classify_voucher_types(["MEI : Brigesh Morwal"], rules)["MEI : Brigesh Morwal"] == (
        "Purchase Order", "your override")
    with pytest.raises(ConfigError, match="unknown base type"):
        LedgerRules.load({"voucher_types": {"X": "Invoice-ish"}})


@pytest.mark.parametrize(("name", "counter"), [
    ("Sales A/c", True), ("To Sales A/c", True), ("CGST Output 9%", True), ("Output IGST", True), ("Round Off", True),
    ("HDFC Bank", True), ("HDFC Bank Ltd C/C 50200023258429", True), ("Cash", True), ("Discount Allowed", True),
    ("Interstate Sale (IGST) @18%", True), ("Suspense", True), ("Sharma Stores", False),
    ("Tushar Sales Corporation", False), ("Swanand Sales & Services Private Limited", False), ("Cash & Carry Mart", False),
])  # fmt: skip
def test_counter_ledgers_are_never_customers(name, counter):
    assert LedgerRules.load().is_counter_ledger(name) is counter


def test_party_from_title_rows():
    assert title_party(["ABC Ltd", "Pune", "Sharma Stores", "Ledger Account", "1-Apr-23 to 31-Mar-24"])[0] == "Sharma Stores"
    assert title_party(["ABC Ltd", "Ledger Account — Sharma Stores", "1-Apr-23 to 31-Mar-24"])[0] == "Sharma Stores"
    assert title_party(["ABC Ltd", "Ledger: Ram & Co", "1-Apr-23 to 31-Mar-24"])[0] == "Ram & Co"
    assert title_party(["ABC Ltd", "Day Book", "1-Apr-23 to 31-Mar-24"])[0] is None


def test_a_sales_table_is_no_ledger_without_reading_the_ledger_rules(tmp_path):
    """The packaged voucher rules (a YAML table and its model) are read only for a table with a
    voucher-type column: a plain sales table (CDNOW's columns) is classified from its column names."""
    from segmint import engine
    from segmint.io import read_raw
    from segmint.io.ledger import sales_view
    from segmint.io.vouchers import _packaged

    source = tmp_path / "sales.csv"
    source.write_text("customer_id,date,number_of_cds,dollar_value\n00001,19970101,1,11.77\n")
    con = engine.connect()
    raw = read_raw(str(source), con=con)
    _packaged.cache_clear()
    view, ledger = sales_view(raw, con=con)
    assert ledger is None and view is raw
    assert _packaged.cache_info().currsize == 0  # never loaded
    assert LedgerRules.load().base_by_name("Sales")[0] == "Sales"  # and still there when asked for


def test_one_function_decides_whether_a_table_may_be_a_ledger():
    """``may_be_ledger`` alone decides whether reading loads the ledger modules: a Tally XML export is one by
    its format, whatever its columns (reading tested the format beside it); a table by a date column with a
    debit, credit or amount column; a sales log with no such column is not."""
    from segmint.io.base import RawTable
    from segmint.io.ledger_layout import may_be_ledger

    def raw(columns: list[str], format: str = "csv") -> RawTable:
        return RawTable(table=None, source="x", columns=columns, header_row=1, format=format)  # type: ignore[arg-type]

    assert may_be_ledger(raw(["Voucher", "Ledger Name"], "tally-xml"))  # columns alone say no
    assert may_be_ledger(raw(["Voucher", "Ledger Name"], "tally-xml-ledger"))
    assert not may_be_ledger(raw(["Voucher", "Ledger Name"]))
    assert may_be_ledger(raw(["Date", "Particulars", "Vch Type", "Debit Amount", "Credit Amount"]))
    assert not may_be_ledger(raw(["customer_id", "date", "number_of_cds"]))  # a date, no amount


def test_analyze_a_single_party_ledger(tmp_path):
    """Sales are purchases, receipts are payments (not returns), the party comes from the title."""
    path = ledger_account_xlsx(tmp_path / "sharma.xlsx")
    result = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    assert list(features.index) == ["Sharma Stores"]
    assert features.loc["Sharma Stores", "monetary"] == 10_000 + 4_000 - 1_000  # the credit note nets
    assert features.loc["Sharma Stores", "frequency"] == 2
    quality = pd.read_json(tmp_path / "out" / "data_quality.json", typ="series")
    assert quality["rows_in"] == 9 and quality["rows_kept"] == 3
    assert quality["dropped"]["total_row"]["count"] == 2
    assert "customer_id <- Party  (the Ledger Account's one party, from title row 3" in result.output
    assert quality["dropped"]["receipt_vouchers"]["count"] == 2  # receipts: payments, not returns
    assert "Sales" in result.output and "Receipt" in result.output  # the voucher type table is printed


def test_analyze_a_day_book_keeps_sales_net_of_credit_notes(tmp_path):
    path = day_book_csv(tmp_path / "daybook.csv")
    result = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    assert features["monetary"].to_dict() == {"A": 5000 + 3000 + 1200 - 500, "B": 2500.0, "C": 700.0, "D": 600.0}
    quality = pd.read_json(tmp_path / "out" / "data_quality.json", typ="series")
    dropped = {k: v["count"] for k, v in quality["dropped"].items()}
    assert quality["rows_in"] == 20 == quality["rows_kept"] + sum(dropped.values())
    assert dropped["counter_ledger"] == 2  # the cash sale and the bank contra name no customer


def test_group_vouchers_of_sundry_debtors_and_rows_out_of_order(tmp_path):
    """A Group Vouchers report of Sundry Debtors: every party is a customer, even one with only a receipt;
    a row dated before the row above is reported; every row is used or dropped with a reason."""
    import segmint
    from segmint.io.ledger import read_ledger

    path = tmp_path / "debtors.csv"
    path.write_text("Demo Traders\nGroup Vouchers: Sundry Debtors\n1-Apr-23 to 30-Jun-23\n"
                    "Date,Particulars,Vch Type,Vch No.,Debit,Credit\n"
                    "05/04/2023,Asha Stores,Sales,1,\"1,000.00\",\n"
                    "03/04/2023,Old Debtor,Receipt,R1,,250.00\n"
                    "20/04/2023,Asha Stores,Receipt,R2,,400.00\n"
                    "21/04/2023,Asha Stores,Sales,2,n/a?,\n"
                    ",Grand Total,,,\"1,000.00\",650.00\n")
    ledger = read_ledger(path)
    report = ledger.report
    assert report.rows_in == 5 == report.rows_used + sum(d.count for d in report.dropped.values())
    assert set(report.dropped) == {"bad_amount", "total_row"}
    assert any("dated before the row above" in w for w in report.warnings)
    result = segmint.credit(ledger, as_of="2023-06-30")
    owed = result.details.set_index("customer_id")["outstanding"].to_dict()
    assert owed == {"Asha Stores": 600.0, "Old Debtor": -250.0}


def test_a_dropped_bill_is_named_by_its_type_number_and_party(tmp_path):
    """A receivables row with a bad amount was shown as 'Invoice 5148-SYKLB' (type and party), which reads
    as an invoice number; its number is 0018104516."""
    from segmint.io.ledger import read_ledger

    path = tmp_path / "receivables.csv"
    path.write_text("customerID,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,SettledDate\n"
                    "5148-SYKLB,0018104516,1/27/2012,2/26/2012,\"12,34x\",2/22/2012\n"
                    "0379-NEVHP,0000611365,1/2/2013,2/1/2013,55.94,1/15/2013\n")
    report = read_ledger(path).report
    example = report.dropped["bad_amount"].examples[0]
    assert example["what"] == "Invoice 0018104516, 5148-SYKLB"
    assert "row 2 (Invoice 0018104516, 5148-SYKLB)" in report.summary()
    assert "Entries: 2 from 1 party," in report.summary()  # the readable bill and its settlement: not "1 parties"
    from segmint.credit import analyze_credit

    assert "from the data's due dates (1 entry)," in analyze_credit(read_ledger(path)).describe()  # not "(1 entries)"


def _count_calls(monkeypatch, module, name):
    """Calls of ``module.name`` (wrapped), as a list the test reads after."""
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_a_day_book_is_read_once_for_its_sales_and_its_ledger(tmp_path, monkeypatch):
    # the dashboard's upload read the file for its sales, then read_ledger read it again for the Credit page
    import ibis

    import segmint.io
    from segmint.io.ledger import read_ledger, read_sales_and_ledger

    path = day_book_csv(tmp_path / "daybook.csv")
    reads = _count_calls(monkeypatch, segmint.io, "read_raw")
    con = ibis.duckdb.connect()
    view, report, ledger = read_sales_and_ledger(path, con=con)
    assert len(reads) == 1 and report is not None and ledger is not None
    # the same ledger as read_ledger(path) (the `segmint credit` path), entry for entry
    reads.clear()
    by_path = read_ledger(path, con=con)
    assert len(reads) == 1
    columns = ["entry_id", "party", "entry_date", "amount_cents", "bill_ref"]
    assert ledger.entries.select(columns).order_by("entry_id").execute().equals(
        by_path.entries.select(columns).order_by("entry_id").execute())
    assert ledger.report.entries == by_path.report.entries and ledger.report.rows_in == by_path.report.rows_in
    # a table already read is taken as it is
    raw = segmint.io.read_raw(path, con=con)
    reads.clear()
    assert read_ledger(raw, con=con).report.entries == by_path.report.entries and reads == []


def test_a_tally_xml_is_parsed_once_for_its_sales_and_its_ledger(tmp_path, monkeypatch):
    import ibis

    import segmint.io.tally
    from segmint.errors import InputError
    from segmint.io import read_raw
    from segmint.io.ledger import read_ledger, read_sales_and_ledger
    from tests.io.test_io_tally import DAY_BOOK

    path = tmp_path / "daybook.xml"
    path.write_text(DAY_BOOK, encoding="utf-8")
    parses = _count_calls(monkeypatch, segmint.io.tally, "parse_tally_xml")
    con = ibis.duckdb.connect()
    view, report, ledger = read_sales_and_ledger(path, con=con)
    assert len(parses) == 1
    by_path = read_ledger(path, con=con)
    # by hand: Ram Traders billed 1,700, Shyam 590; the cancelled voucher, and the receipt and credit note
    # without a party ledger line, move no balance
    totals = ledger.entries.group_by("party").aggregate(cents=ledger.entries.amount_cents.sum()).execute()
    assert dict(zip(totals["party"], totals["cents"], strict=True)) == {"Ram Traders": 170_000, "Shyam": 59_000}
    assert ledger.report.entries == by_path.report.entries
    assert int(view.table.count().execute()) == int(read_raw(path, con=con).table.count().execute())
    with pytest.raises(InputError, match="read as sales lines has no ledger lines"):
        read_ledger(view, con=con)


def test_a_party_column_and_a_party_name_together_are_refused(tmp_path):
    """README's `credit export.csv --map "Customer=party" --map "Dr=debit" --party "Sharma Stores"` read
    the mapped 'Customer' column as counter-ledgers (the --party layout) without a word: the user's
    --map was overruled. The two describe different reports; the error says so."""
    path = tmp_path / "export.csv"
    path.write_text("Date,Vch Type,Vch No.,Customer,Dr,Credit\n01-04-2023,Sales,S1,Acme,1000,\n"
                    "15-04-2023,Receipt,R1,Acme,,600\n")
    result = CliRunner().invoke(app, ["credit", str(path), "--map", "Customer=party", "--map", "Dr=debit",
                                      "--party", "Sharma Stores"], env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "column 'Customer' was mapped to party" in text and "Traceback" not in text
    assert 'keep only the column mapping: --map "Customer=party"' in text
    ok = CliRunner().invoke(app, ["credit", str(path), "--map", "Customer=party", "--map", "Dr=debit"])
    assert ok.exit_code == 0, ok.output
    assert "1 customer, outstanding 400.00" in ok.output  # 1000 billed - 600 received


def test_a_short_ledger_row_is_named_as_short_in_the_report(tmp_path):
    """A day-book row cut short (4 of 6 fields) was dropped as 'no debit and no credit amount' with no
    word that its amount fields were missing: the sales report said so, the ledger report did not."""
    from segmint.io.ledger import read_ledger

    path = tmp_path / "day book.csv"
    path.write_text("Date,Vch Type,Vch No.,Party,Debit,Credit\n01-04-2023,Sales,S1,Acme,1000,\n"
                    "05-04-2023,Sales,S2,Beta\n15-04-2023,Receipt,R1,Acme,,600\n20-04-2023,Sales,S3,Beta,500,\n")
    report = read_ledger(path).report
    assert (report.rows_in, report.rows_used) == (4, 3)
    example = report.dropped["missing_amount"].examples[0]
    assert (example["_row"], example["fields"], example["fields_expected"]) == (3, 4, 6)
    assert "missing_amount: day book.csv row 3 (Sales S2, Beta) (a short row: 4 of 6 fields)" in report.summary()
    assert any(w.startswith("1 row has fewer fields than the header names (6): row 3 (4 fields)") for w in report.warnings)
    result = CliRunner().invoke(app, ["credit", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "(a short row: 4 of 6 fields)" in result.output


def test_ledger_amounts_with_more_than_two_decimals_are_named(tmp_path):
    """Ledger amounts are kept in cents: 1000.127 and 20.004 were rounded with no word."""
    from segmint.io.ledger import read_ledger

    path = tmp_path / "kwd.csv"
    path.write_text("Date,Vch Type,Vch No.,Party,Debit,Credit\n01-04-2023,Sales,S1,Acme,1000.127,\n"
                    "05-04-2023,Sales,S2,Beta,20.004,\n15-04-2023,Receipt,R1,Acme,,600.50\n")
    warnings = [w for w in read_ledger(path).report.warnings if "more than 2 decimals" in w]
    # (1000.13 - 1000.127) + (20.00 - 20.004) = -0.001; the credit 600.50 is whole cents
    assert warnings == ["2 amount(s) in column 'Debit' have more than 2 decimals (a currency of 1/1000 units?): "
                        "ledger amounts are kept to the cent, and rounding each of them changes their total by -0.001"]


def test_a_ledger_amount_beyond_what_money_holds_is_dropped_and_sums_beyond_it_refused(tmp_path):
    """A debit of 1e17 was cast to int64 cents (1e19): DuckDB's ConversionException, for every command."""
    from segmint.errors import DataError
    from segmint.io.ledger import read_ledger

    path = tmp_path / "big.csv"
    path.write_text("Date,Vch Type,Vch No.,Party,Debit,Credit\n01-04-2023,Sales,S1,Acme,1000,\n"
                    "02-04-2023,Sales,S2,Beta,1e17,\n15-04-2023,Receipt,R1,Acme,,600.50\n")
    ledger = read_ledger(path)
    dropped = ledger.report.dropped["amount_too_large"]
    assert (dropped.count, [e["_row"] for e in dropped.examples]) == (1, [3])
    assert ledger.entries.amount_cents.execute().sort_values().tolist() == [-60050, 100000]
    # each entry fits, but 6e14 + 5e14 = 1.1e15 (debits plus credits) is beyond 1e15
    path.write_text("Date,Vch Type,Vch No.,Party,Debit,Credit\n01-04-2023,Sales,S1,Acme,600000000000000,\n"
                    "15-04-2023,Receipt,R1,Acme,,500000000000000\n")
    with pytest.raises(DataError, match=r"add up to 1,100,000,000,000,000 \(debits plus credits\), beyond"):
        read_ledger(path)
