"""Header-row and column-mapping detection, overrides and the errors a user sees."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from segmint.errors import MappingError
from segmint.io import read_raw
from segmint.schema import (
    ColumnMapping,
    apply_mapping,
    cell_kind,
    detect_header_row,
    detect_mapping,
    normalize_name,
    resolve_mapping,
)


def detect(header: str, *values: str):
    columns = header.split(",")
    sample = pd.DataFrame([v.split(",") for v in values] or [[None] * len(columns)], columns=columns)
    return detect_mapping(columns, sample)


# (header, one sample row, expected field -> column); expected mappings written by hand.
VARIANTS = [
    ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
     "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",
     {"invoice_id": "InvoiceNo", "product_id": "StockCode", "product_name": "Description",
      "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
      "customer_id": "CustomerID", "country": "Country"}),
    ("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country",
     "489434,85048,15CM CHRISTMAS GLASS BALL,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom",
     {"invoice_id": "Invoice", "product_id": "StockCode", "product_name": "Description",
      "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "Price",
      "customer_id": "Customer ID", "country": "Country"}),
    ("member_id,payment_date,total_amt,paid_amt,product_json",
     "M001,2023-01-05,120.50,100.00,[]",
     {"customer_id": "member_id", "invoice_date": "payment_date", "amount": "total_amt"}),
    ("Date,Particulars,Vch Type,Vch No.,Debit,Credit",
     "1-Apr-2023,Ram Traders,Sales,1,\"1,23,456.00 Dr\",",
     {"invoice_date": "Date", "customer_id": "Particulars", "invoice_id": "Vch No.", "amount": "Debit",
      "credit": "Credit"}),
    ("order_id,customer_unique_id,order_status,order_purchase_timestamp,order_approved_at,"
     "order_delivered_customer_date,product_id,price,freight_value,customer_state",
     "e481f51c,7c396fd4,delivered,2017-10-02 10:56:33,2017-10-02 11:07:15,2017-10-10 21:25:13,"
     "87285b34,29.99,8.72,SP",
     {"invoice_id": "order_id", "customer_id": "customer_unique_id",
      "invoice_date": "order_purchase_timestamp", "product_id": "product_id", "unit_price": "price",
      "country": "customer_state"}),
    ("order_id,user_id,order_date,product_id,product_name,add_to_cart_order,price",
     "2539329,1,2019-05-01,196,Soda,1,1.99",
     {"invoice_id": "order_id", "customer_id": "user_id", "invoice_date": "order_date",
      "product_id": "product_id", "product_name": "product_name", "unit_price": "price"}),
    ("Bill No,Bill Date,Party Name,Item Name,Qty,Rate,Net Amount,Branch",
     "B-101,05/04/2023,Sharma Stores,Atta 5kg,3,250.00,750.00,Pune",
     {"invoice_id": "Bill No", "invoice_date": "Bill Date", "customer_id": "Party Name",
      "product_name": "Item Name", "quantity": "Qty", "unit_price": "Rate", "amount": "Net Amount",
      "org_id": "Branch"}),
    ("Nota Fiscal,Data,Cliente,Produto,Quantidade,Preco,Valor,Estado",
     "NF-1,05/04/2023,C-9,P-1,2,10.00,20.00,SP",
     {"invoice_id": "Nota Fiscal", "invoice_date": "Data", "customer_id": "Cliente", "product_id": "Produto",
      "quantity": "Quantidade", "unit_price": "Preco", "amount": "Valor", "country": "Estado"}),
    ("Order ID,Order Date,Customer Name,Region,Product Name,Sales,Quantity,Profit",
     "CA-2016-152156,11/8/2016,Claire Gute,South,Bookcase,261.96,2,41.91",
     {"invoice_id": "Order ID", "invoice_date": "Order Date", "customer_id": "Customer Name",
      "country": "Region", "product_name": "Product Name", "amount": "Sales", "quantity": "Quantity"}),
    ("Transaction ID,Client,Txn Date,SKU,Units,Revenue,Unit Cost,Store",
     "T1,CL-77,2024-01-31,SKU-9,4,80.00,12.50,S01",
     {"invoice_id": "Transaction ID", "customer_id": "Client", "invoice_date": "Txn Date",
      "product_id": "SKU", "quantity": "Units", "amount": "Revenue", "unit_cost": "Unit Cost",
      "org_id": "Store"}),
    ("customer_id,date,number_of_cds,dollar_value",
     "00001,19970101,1,11.77",
     {"customer_id": "customer_id", "invoice_date": "date", "quantity": "number_of_cds",
      "amount": "dollar_value"}),
    ("Voucher No,Date,Buyer,Value,Dr/Cr",
     "V1,2023-04-01,B1,100.00,Dr",
     {"invoice_id": "Voucher No", "invoice_date": "Date", "customer_id": "Buyer", "amount": "Value",
      "debit_credit": "Dr/Cr"}),
]  # fmt: skip


@pytest.mark.parametrize("header,row,expected", VARIANTS, ids=[v[0][:30] for v in VARIANTS])
def test_real_world_header_variants(header, row, expected):
    import csv

    values = next(csv.reader([row]))
    columns = header.split(",")
    detection = detect_mapping(columns, pd.DataFrame([values, values], columns=columns))
    assert detection.mapping.fields == expected
    assert not detection.ambiguous
    for name in expected:
        assert name in detection.describe()


def test_content_fills_gaps_for_unnamed_columns():
    rows = [["00004", "0001", "19970101", "2", "29.33"], ["00004", "0001", "19970118", "2", "29.73"],
            ["00018", "0002", "19970102", "1", "11.77"], ["00021", "0003", "19970101", "3", "63.34"]]  # fmt: skip
    columns = [f"column_{i}" for i in range(1, 6)]
    detection = detect_mapping(columns, pd.DataFrame(rows, columns=columns))
    assert detection.mapping.fields == {
        "customer_id": "column_1", "invoice_date": "column_3", "quantity": "column_4", "amount": "column_5",
    }  # fmt: skip
    assert "content" in detection.evidence["invoice_date"]


def test_names_win_over_content():
    detection = detect("Customer,Notes,Amount", "C1,2023-01-01,5.00", "C1,2023-01-02,6.00")
    assert detection.mapping.fields["customer_id"] == "Customer"
    assert detection.mapping.fields["amount"] == "Amount"
    # No column is named like a date, so the unnamed one holding dates fills the gap.
    assert detection.mapping.fields["invoice_date"] == "Notes"
    assert detection.evidence["customer_id"].startswith("name")


def test_partial_name_needs_matching_content():
    detection = detect("order_approved_at,buyer,order_value", "2020-01-01 10:00,b1,5.00", "2020-01-02 10:00,b2,6.00")
    assert "invoice_id" not in detection.mapping.fields  # dates are no invoice ids


def test_normalize_name_and_cell_kind():
    assert normalize_name("CustomerID") == "customer id"
    assert normalize_name(" Vch No. ") == "vch no"
    assert normalize_name("total_amt") == "total amt"
    assert [cell_kind(v) for v in ["2023-04-01", "19970101", "00001", "1,23,456.00 Dr", "₹ 1,200", "Total", None]] == [
        "date", "date", "int", "number", "number", "text", "blank",
    ]  # fmt: skip


def test_detect_header_row():
    titles = [["ABC Ltd"], ["Sales Register"], ["1-Apr-2023 to 31-Mar-2024"], [],
              ["Date", "Particulars", "Vch No.", "Debit"], ["1-Apr-2023", "Ram", "1", "100.00 Dr"]]  # fmt: skip
    assert detect_header_row(titles) == 4
    assert detect_header_row([["00004", "19970101", "2", "29.33"], ["00005", "19970102", "1", "9.00"]]) == -1
    assert detect_header_row([["customer_id", "date"], ["00004", "19970101"]]) == 0


@pytest.fixture
def raw(tmp_path):
    path = tmp_path / "ledger.csv"
    path.write_text("Party Name,When,Amount,Note\nRam,2023-04-01,10.00,x\nShyam,2023-04-02,12.00,y\n")
    return read_raw(path, con=ibis.duckdb.connect())


def test_resolve_mapping_error_lists_columns_samples_and_fix(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("Who,Thing,Val\nalpha beta,p q,x\ngamma delta,r s,y\n")
    raw = read_raw(path, con=ibis.duckdb.connect())
    with pytest.raises(MappingError) as info:
        resolve_mapping(raw)
    message = str(info.value)
    assert "odd.csv" in message and "customer_id" in message and "invoice_date" in message
    assert "'Who': 'alpha beta', 'gamma delta'" in message
    assert "--" not in message  # the library names no flag: the fix is data
    assert info.value.fix.option == "mapping" and info.value.fix.choices == ("Who", "Thing", "Val")


def test_overrides_win_and_accept_both_orientations(raw):
    mapping = resolve_mapping(raw, {"invoice_date": "When"})
    assert mapping.fields == {"customer_id": "Party Name", "invoice_date": "When", "amount": "Amount"}
    assert resolve_mapping(raw, {"When": "invoice_date"}).fields == mapping.fields  # CLI "col=field"
    as_model = resolve_mapping(raw, ColumnMapping(fields={"invoice_date": "When", "product_name": "Note"}))
    assert as_model.fields["product_name"] == "Note"
    assert resolve_mapping(raw, {"invoice_date": "When", "amount": None, "unit_price": "Amount"}).fields == {
        "customer_id": "Party Name", "invoice_date": "When", "unit_price": "Amount",
    }  # fmt: skip


def test_override_errors(raw):
    with pytest.raises(MappingError, match="'Nope'.*not in the file"):
        resolve_mapping(raw, {"invoice_date": "Nope"})
    with pytest.raises(MappingError, match="unknown field 'colour'"):
        resolve_mapping(raw, {"colour": "Note"})


def test_ambiguous_required_field(tmp_path):
    path = tmp_path / "two_dates.csv"
    path.write_text("Customer,Invoice Date,Order Date,Amount\nA,2023-01-01,2022-12-30,5\n")
    raw = read_raw(path, con=ibis.duckdb.connect())
    with pytest.raises(MappingError, match="invoice_date is ambiguous: 'Invoice Date' or 'Order Date'"):
        resolve_mapping(raw)
    assert resolve_mapping(raw, {"invoice_date": "Order Date"}).fields["invoice_date"] == "Order Date"


def test_apply_mapping_renames_and_keeps_lineage(raw):
    mapping = resolve_mapping(raw, {"invoice_date": "When"})
    df = apply_mapping(raw, mapping).order_by("_row").execute()
    assert list(df.columns) == ["customer_id", "invoice_date", "amount", "_source", "_row"]
    assert df.values.tolist() == [
        ["Ram", "2023-04-01", "10.00", "ledger.csv", 2], ["Shyam", "2023-04-02", "12.00", "ledger.csv", 3],
    ]  # fmt: skip
    with pytest.raises(MappingError, match="'Gone' \\(for amount\\)"):
        apply_mapping(raw, {"customer_id": "Party Name", "amount": "Gone"})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # German export (latin-1 in practice), French, Portuguese with accents, Spanish, Italian
        ("Rechnung,Kunde,Datum,Menge,Preis,Land",
         {"invoice_id": "Rechnung", "customer_id": "Kunde", "invoice_date": "Datum", "quantity": "Menge",
          "unit_price": "Preis", "country": "Land"}),
        ("Facture,Code client,Date facture,Quantité,Prix unitaire,Pays",
         {"invoice_id": "Facture", "customer_id": "Code client", "invoice_date": "Date facture",
          "quantity": "Quantité", "unit_price": "Prix unitaire", "country": "Pays"}),
        ("Fatura,Cliente,Data venda,Quantidade,Preço,País",
         {"invoice_id": "Fatura", "customer_id": "Cliente", "invoice_date": "Data venda",
          "quantity": "Quantidade", "unit_price": "Preço", "country": "País"}),
        ("Factura,Cliente,Fecha,Cantidad,Importe",
         {"invoice_id": "Factura", "customer_id": "Cliente", "invoice_date": "Fecha", "quantity": "Cantidad",
          "amount": "Importe"}),
        ("Numero fattura,Cliente,Data fattura,Quantita,Importo",
         {"invoice_id": "Numero fattura", "customer_id": "Cliente", "invoice_date": "Data fattura",
          "quantity": "Quantita", "amount": "Importo"}),
    ],
)  # fmt: skip
def test_european_header_names(header, expected):
    columns = header.split(",")
    sample = pd.DataFrame([["1001", "K1", "13.04.2023", "2", "10,50", "AT"][: len(columns)]], columns=columns)
    assert detect_mapping(columns, sample).mapping.fields == expected


@pytest.mark.parametrize(("header", "product_id", "product_name"), [
    # the product columns of European exports were never found: n_products 0, no recommendations
    ("Rechnung,Kunde,Datum,Artikel,Bezeichnung,Menge,Preis", "Artikel", "Bezeichnung"),
    ("Facture,Client,Date,Code article,Désignation article,Quantité,Prix", "Code article", "Désignation article"),
    ("Factura,Cliente,Fecha,Producto,Descripción,Cantidad,Precio", "Producto", "Descripción"),
    ("Fatura,Cliente,Data,Produto,Descrição,Quantidade,Preço", "Produto", "Descrição"),
    ("Fattura,Cliente,Data,Articolo,Descrizione,Quantità,Prezzo", "Articolo", "Descrizione"),
    # a contact's job title is no product name
    ("Invoice,Customer,Designation,Date,Item,Qty,Price", "Item", None),
])  # fmt: skip
def test_european_product_columns(header, product_id, product_name):
    columns = header.split(",")
    sample = pd.DataFrame([["1001", "K1", "A-17", "13.04.2023", "Apfel", "2", "10,50"]], columns=columns)
    fields = detect_mapping(columns, sample).mapping.fields
    assert (fields.get("product_id"), fields.get("product_name")) == (product_id, product_name)
    assert fields["customer_id"] == columns[1] and fields["invoice_id"] == columns[0]


@pytest.mark.parametrize("header,expected", [
    ("Invoice,Customer,Date,SKU,Category,Customer Category,Qty,Price", "Category"),
    ("Bill No,Bill Date,Party Name,Item Name,Stock Group,Qty,Rate", "Stock Group"),
    ("order_id,user_id,order_date,product_id,department,price", "department"),
    ("Invoice,Customer,Date,SKU,Customer Category,Qty,Price", None),  # a customer's category is no product's
])  # fmt: skip
def test_a_product_category_column_is_detected(header, expected):
    columns = header.split(",")
    detection = detect_mapping(columns, pd.DataFrame([["x"] * len(columns)], columns=columns))
    assert detection.mapping.fields.get("category") == expected
    assert "customer_id" in detection.mapping.fields  # the category never takes the customer's column


def test_the_category_rides_along_a_cleaned_table_only_when_the_source_has_one(tmp_path):
    from segmint import read_transactions

    with_category = tmp_path / "with.csv"
    with_category.write_text("Invoice,Customer,Date,SKU,Category,Qty,Price\n1,C1,2024-01-02,A, Fruit ,2,1.5\n"
                             "2,C2,2024-01-03,B,,1,2.0\n")  # fmt: skip
    table = read_transactions(with_category).table.order_by("invoice_id").to_pandas()
    assert table["category"].tolist()[0] == "Fruit" and pd.isna(table["category"].tolist()[1])  # trimmed; blank = NULL
    without = tmp_path / "without.csv"
    without.write_text("Invoice,Customer,Date,SKU,Qty,Price\n1,C1,2024-01-02,A,2,1.5\n")
    assert "category" not in read_transactions(without).table.columns


def test_cell_kind_reads_zone_names_and_weekdays_as_dates():
    values = ["2023-01-06 10:00:00 UTC", "2023-01-06 10:00:00+00", "Fri, 06 Jan 2023 10:00:00 GMT",
              "Friday, January 6, 2023", "Funday 6 January 2023"]
    assert [cell_kind(v) for v in values] == ["date"] * 4 + ["text"]


def _reference_kind(value: object) -> str:
    """cell_kind as the patterns alone decide it (no shortcut for digits-only or digit-free text)."""
    from segmint.schema.detection import _CELL_DATE, _CELL_INT, _CELL_NUMBER, _is_compact_date

    if value is None:
        return "blank"
    text = str(value).strip()
    if not text or text.lower() in ("nan", "none", "null", "na", "n/a", "-"):
        return "blank"
    if _CELL_DATE.match(text) or _is_compact_date(text):
        return "date"
    return "int" if _CELL_INT.match(text) else "number" if _CELL_NUMBER.match(text) else "text"


def test_cell_kind_shortcuts_agree_with_the_patterns():
    """Digits alone and text without a digit are decided without the patterns (a wide file's sample has
    millions of cells): the same kind as the patterns give, fullwidth and superscript digits included."""
    from segmint.schema import cell_kind

    cells = ["20230101", "20231301", "19000101", "123", "0042", "2023-01-05", "05/01/2023", "Jan 5, 2023",
             "Fri, 06 Jan 2023", "5 Jan 23", "12.0", "12.50", "$1,200.50", "(12)", "12 cr", "INR 5", "1e5",
             "C12345", "Total", "abc", "-", "n/a", "NaN", " ", "", None, "１２３", "²", "12²", "Mar", "x1",
             "2023-01-05 10:00", 17, 3.5, "  7  "]  # fmt: skip
    assert [cell_kind(c) for c in cells] == [_reference_kind(c) for c in cells]


def test_content_profiles_count_each_value_once_per_occurrence():
    """A sample's repeats are classified once but weigh as often as they occur."""
    from segmint.schema.detection import _profile

    profile = _profile(["7", "7", "7", "x", None, " ", "2023-01-05", "C1", "a@b.co", "007", "12.5"])
    assert profile.filled == 9 and profile.distinct == 7 and profile.max_abs == 7
    assert profile.kinds == {"int": 3 / 9, "text": 1 / 9, "date": 1 / 9, "code": 2 / 9, "email": 1 / 9, "number": 1 / 9}
