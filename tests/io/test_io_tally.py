"""Tally XML vouchers: one row per inventory entry, party amount when no inventory, returns negative."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import ibis
import pytest

from segmint.errors import InputError
from segmint.io import read_raw
from segmint.schema import resolve_mapping

DAY_BOOK = """<ENVELOPE>
 <HEADER><TALLYREQUEST>Import Data</TALLYREQUEST></HEADER>
 <BODY><IMPORTDATA><REQUESTDESC><REPORTNAME>Vouchers</REPORTNAME></REQUESTDESC><REQUESTDATA>
  <TALLYMESSAGE xmlns:UDF="TallyUDF">
   <VOUCHER VCHTYPE="Sales" ACTION="Create">
    <DATE>20230401</DATE><VOUCHERTYPENAME>Sales</VOUCHERTYPENAME><VOUCHERNUMBER>1</VOUCHERNUMBER>
    <PARTYLEDGERNAME>Ram Traders</PARTYLEDGERNAME>
    <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Widget</STOCKITEMNAME><RATE>100.00/Nos</RATE>
     <AMOUNT>-200.00</AMOUNT><ACTUALQTY> 2 Nos</ACTUALQTY></ALLINVENTORYENTRIES.LIST>
    <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Gadget</STOCKITEMNAME><RATE>1,500.00/Nos</RATE>
     <AMOUNT>-1500.00</AMOUNT><ACTUALQTY> 1 Nos</ACTUALQTY></ALLINVENTORYENTRIES.LIST>
    <LEDGERENTRIES.LIST><LEDGERNAME>Ram Traders</LEDGERNAME><AMOUNT>-1700.00</AMOUNT></LEDGERENTRIES.LIST>
   </VOUCHER>
  </TALLYMESSAGE>
  <TALLYMESSAGE><VOUCHER VCHTYPE="Receipt"><DATE>20230402</DATE><VOUCHERNUMBER>R1</VOUCHERNUMBER></VOUCHER></TALLYMESSAGE>
  <TALLYMESSAGE><VOUCHER VCHTYPE="Sales"><DATE>20230403</DATE><VOUCHERNUMBER>2</VOUCHERNUMBER>
    <PARTYLEDGERNAME>Shyam</PARTYLEDGERNAME>
    <LEDGERENTRIES.LIST><LEDGERNAME>Shyam</LEDGERNAME><AMOUNT>-590.00</AMOUNT></LEDGERENTRIES.LIST>
    <LEDGERENTRIES.LIST><LEDGERNAME>Sales</LEDGERNAME><AMOUNT>590.00</AMOUNT></LEDGERENTRIES.LIST>
  </VOUCHER></TALLYMESSAGE>
  <TALLYMESSAGE><VOUCHER VCHTYPE="Sales"><DATE>20230404</DATE><VOUCHERNUMBER>3</VOUCHERNUMBER>
    <ISCANCELLED>Yes</ISCANCELLED><PARTYLEDGERNAME>Shyam</PARTYLEDGERNAME></VOUCHER></TALLYMESSAGE>
  <TALLYMESSAGE><VOUCHER VCHTYPE="Credit Note"><DATE>20230405</DATE><VOUCHERNUMBER>CN1</VOUCHERNUMBER>
    <PARTYLEDGERNAME>Ram Traders</PARTYLEDGERNAME>
    <ALLINVENTORYENTRIES.LIST><STOCKITEMNAME>Widget</STOCKITEMNAME><RATE>100.00/Nos</RATE>
     <AMOUNT>100.00</AMOUNT><ACTUALQTY> 1 Nos</ACTUALQTY></ALLINVENTORYENTRIES.LIST>
  </VOUCHER></TALLYMESSAGE>
 </REQUESTDATA></IMPORTDATA></BODY>
</ENVELOPE>
"""


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def test_tally_xml_vouchers(con, tmp_path):
    path = tmp_path / "daybook.xml"
    path.write_text(DAY_BOOK, encoding="utf-8")
    raw = read_raw(path, con=con)
    df = raw.table.order_by(["_row", "Stock Item"]).execute()
    got = df[["Vch No.", "Party Name", "Stock Item", "Quantity", "Unit", "Rate", "Amount", "_row"]]
    assert got.astype(object).where(got.notna(), None).values.tolist() == [
        ["1", "Ram Traders", "Gadget", "1", "Nos", "1500.00", "1500.00", 1],
        ["1", "Ram Traders", "Widget", "2", "Nos", "100.00", "200.00", 1],
        ["2", "Shyam", None, None, None, None, "590.00", 3],
        ["CN1", "Ram Traders", "Widget", "-1", "Nos", "100.00", "-100.00", 5],
    ]
    assert df["Date"].tolist()[0] == "20230401"
    assert raw.skipped == {"non_sales_voucher": 1, "cancelled_voucher": 1}
    assert raw.skipped_examples["cancelled_voucher"][0]["Vch No."] == "3"
    assert resolve_mapping(raw).fields == {
        "invoice_id": "Vch No.", "customer_id": "Party Name", "invoice_date": "Date",
        "product_name": "Stock Item", "quantity": "Quantity", "unit_price": "Rate", "amount": "Amount",
    }  # fmt: skip


def test_utf16_export_and_entity_expansion_is_refused(con, tmp_path):
    path = tmp_path / "utf16.xml"
    path.write_bytes(DAY_BOOK.replace("<ENVELOPE>", '<?xml version="1.0" encoding="UTF-16"?><ENVELOPE>', 1).encode("utf-16"))
    assert read_raw(path, con=con).table.count().execute() == 4
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ENVELOPE>&a;</ENVELOPE>')
    with pytest.raises(Exception) as info:
        read_raw(bomb, con=con)
    assert "Entit" in type(info.value).__name__ or "entit" in str(info.value).lower()


def test_xml_without_vouchers_is_an_input_error(con, tmp_path):
    path = tmp_path / "ledgers.xml"
    path.write_text("<ENVELOPE><BODY><LEDGER NAME='Cash'/></BODY></ENVELOPE>")
    with pytest.raises(InputError, match="ledgers.xml.*no <VOUCHER>"):
        read_raw(path, con=con)


def test_control_characters_and_invalid_references_are_removed(con, tmp_path):
    """Tally writes raw \\x04/\\x05 bytes and &#4; references that XML 1.0 forbids; they are dropped."""
    dirty = DAY_BOOK.replace("<STOCKITEMNAME>Widget", "<STOCKITEMNAME>&#4; Widget\x05").replace(
        "<VOUCHERNUMBER>2<", "<VOUCHERNUMBER>&#x4;2<")
    path = tmp_path / "dirty.xml"
    path.write_text(dirty, encoding="utf-8")
    raw = read_raw(path, con=con)
    df = raw.table.order_by(["_row", "Stock Item"]).execute()
    assert df["Stock Item"].tolist()[:2] == ["Gadget", "Widget"] and df["Vch No."].tolist()[2] == "2"
    # by hand: Widget twice (a &#4; and a raw \x05 each) and voucher 2's &#x4;: 2 raw bytes, 3 references
    assert "5 control characters removed (XML forbids them): 2 raw bytes (such as \\x05) and 3 references" in (
        "\n".join(raw.notes))
    bare = tmp_path / "utf16le.xml"  # UTF-16 without a byte-order mark
    bare.write_bytes(DAY_BOOK.encode("utf-16-le"))
    assert read_raw(bare, con=con).table.count().execute() == 4


UTTAM = Path(__file__).parents[2] / ".." / "shared" / "data" / "tally" / "uttam_daybook_2025.xml"


@pytest.mark.skipif(not UTTAM.is_file(), reason="../shared/data/tally is not present")
def test_uttam_control_characters_are_counted_one_by_one(con):
    """The data README reads '5 raw \\x05 bytes and 274 &#4; references' (279); 5 is the lines holding raw
    bytes: 'Default\\x05Voucher\\x05Class' and GST keys carry 13. Counted here on the bytes: 13 + 274 = 287."""
    data = UTTAM.read_bytes()
    raw_bytes = sum(data.count(bytes([c])) for c in range(32) if c not in (9, 10, 13))
    references = len(re.findall(rb"&#(?:x0*[0-8bcefBCEF]|x0*1[0-9a-fA-F]|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]));", data))
    assert (raw_bytes, references) == (13, 274)
    assert sum(b"\x05" in line for line in data.split(b"\n")) == 5
    notes = "\n".join(read_raw(UTTAM, con=con).notes)
    assert "287 control characters removed (XML forbids them): 13 raw bytes (such as \\x05) and 274 references" in notes


def test_items_equal_to_the_bill_need_no_note(con, tmp_path):
    path = tmp_path / "daybook.xml"
    path.write_text(DAY_BOOK, encoding="utf-8")
    assert read_raw(path, con=con).report_notes == []  # voucher 1: items 200 + 1,500 = the bill of 1,700


@pytest.mark.skipif(not UTTAM.is_file(), reason="../shared/data/tally is not present")
def test_revenue_basis_is_said_when_items_are_before_tax():
    """The Uttam GST invoice bills 48,091.00; its items are worth 40,755.00 before 7,335.90 IGST and 0.10
    round-off: read straight from the XML's ledger lines here, then the report says so."""
    import re

    import segmint

    text = UTTAM.read_text(encoding="ascii", errors="replace")
    invoice = text[text.rfind("<VOUCHER", 0, text.find("GST Sale Invoice")):]
    invoice = invoice[: invoice.find("</VOUCHER>")]
    lines = {name: Decimal(amount) for name, amount in re.findall(
        r"<LEDGERNAME>(.*?)</LEDGERNAME>.*?<AMOUNT>(.*?)</AMOUNT>", invoice, re.S)}  # fmt: skip
    assert -lines["L Artisan Products"] == Decimal("48091.00") and lines["IGST"] == Decimal("7335.90")
    items = -lines["L Artisan Products"] - lines["IGST"] - lines["Round Off"]
    assert items == Decimal("40755.00")
    tx = segmint.read_transactions(UTTAM)
    assert tx.report.total_amount == pytest.approx(float(items))
    said = [w for w in tx.report.warnings if "before taxes and round-off" in w]
    assert said and f"{items:,.2f} of 48,091.00 billed; the 7,336.00 between" in said[0]


def test_the_quality_report_says_what_each_left_out_voucher_is(tmp_path):
    """Every voucher the reader leaves out was listed as 'skipped by the reader (not a sales line)', a cash
    sale included (demo_daybook_utf16.xml: its 3,294.50 cash sale is a sale, with no customer to segment)."""
    from segmint.api import read_transactions

    cash = DAY_BOOK.replace(
        "</REQUESTDATA>",
        '<TALLYMESSAGE><VOUCHER VCHTYPE="Sales"><DATE>20230406</DATE><VOUCHERNUMBER>4</VOUCHERNUMBER>'
        "<PARTYLEDGERNAME>Cash</PARTYLEDGERNAME>"
        "<LEDGERENTRIES.LIST><LEDGERNAME>Cash</LEDGERNAME><AMOUNT>-50.00</AMOUNT></LEDGERENTRIES.LIST>"
        "</VOUCHER></TALLYMESSAGE></REQUESTDATA>",
    )
    path = tmp_path / "daybook.xml"
    path.write_text(cash, encoding="utf-8")
    report = read_transactions(path).report
    described = {name: (drop.count, drop.description) for name, drop in report.dropped.items()}
    assert described == {
        "non_sales_voucher": (1, "not a sale or credit note (purchase, payment, receipt, journal ...)"),  # R1
        "cancelled_voucher": (1, "cancelled or optional voucher"),  # 3
        "counter_ledger_party": (1, "sale whose party is a counter-ledger (cash, bank, sales account): no customer to segment"),
    }
    assert report.total_amount == 1500 + 200 + 590 - 100  # the party sales net of the credit note


def test_a_ledger_view_names_receipts_as_payments():
    from segmint.io.ledger_report import drop_description

    assert drop_description("receipt_vouchers") == "receipt voucher: a payment, not a sale"
    assert drop_description("debit_note_vouchers") == "debit note voucher: not a sale"
    assert drop_description("counter_ledger").startswith("party is a counter-ledger")
    assert drop_description("something_new") == "skipped by the reader (not a sales line)"
