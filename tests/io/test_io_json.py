"""JSON / JSON-lines reader and expansion of item lists (product_json) without double counting."""

from __future__ import annotations

import json

import ibis
import pytest

from segmint.errors import InputError
from segmint.io import read_raw
from segmint.schema import apply_mapping, resolve_mapping


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def frame(raw):
    df = raw.table.order_by(["_row", "item_position"]).execute()
    return df.astype(object).where(df.notna(), None)


def test_json_array_scalars_become_text(con, tmp_path):
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        {"order_id": "A1", "customer": "00007", "date": "2024-03-01", "amount": 10.5},
        {"order_id": "A2", "customer": "00008", "date": "2024-03-02", "amount": 3},
    ]))  # fmt: skip
    raw = read_raw(path, con=con)
    df = raw.table.order_by("_row").execute()
    assert raw.columns == ["order_id", "customer", "date", "amount"]
    assert df["customer"].tolist() == ["00007", "00008"]
    assert df["amount"].tolist() == ["10.5", "3"]
    assert df["_row"].tolist() == [1, 2]


S3_RECORDS = [
    {"member_id": "M1", "payment_date": "2023-01-05", "total_amt": 30.5, "paid_amt": 30.0,
     "product_json": json.dumps([{"product": "A", "quantity": 2}, {"product": "B", "quantity": 1}])},
    {"member_id": "M2", "payment_date": "2023-01-06", "total_amt": 10, "paid_amt": 10,
     "product_json": [{"product": "C", "quantity": 4}]},  # nested list instead of a JSON string
    {"member_id": "M1", "payment_date": "2023-02-01", "total_amt": 7, "paid_amt": 7, "product_json": "[]"},
]  # fmt: skip


def test_product_json_without_prices_keeps_invoice_total_once(con, tmp_path):
    path = tmp_path / "s3.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in S3_RECORDS) + "\n")
    raw = read_raw(path, con=con)
    df = frame(raw)
    assert df["product"].tolist() == ["A", "B", "C", None]
    assert df["quantity"].tolist() == ["2", "1", "4", None]
    assert df["member_id"].tolist() == ["M1", "M1", "M2", "M1"]
    assert df["payment_date"].tolist() == ["2023-01-05", "2023-01-05", "2023-01-06", "2023-02-01"]
    assert df["item_position"].tolist() == ["1", "2", "1", "1"]
    assert df["_row"].tolist() == [1, 1, 2, 3]  # JSON-lines line number
    assert df["invoice_no"].tolist() == ["s3.jsonl:1", "s3.jsonl:1", "s3.jsonl:2", "s3.jsonl:3"]
    # Invoice totals appear once: the sum over lines equals the sum over records.
    assert sum(float(v) for v in df["total_amt"]) == pytest.approx(sum(r["total_amt"] for r in S3_RECORDS))
    assert sum(float(v) for v in df["paid_amt"]) == pytest.approx(sum(r["paid_amt"] for r in S3_RECORDS))
    mapping = resolve_mapping(raw)
    assert mapping.fields == {
        "invoice_id": "invoice_no", "customer_id": "member_id", "invoice_date": "payment_date",
        "product_id": "product", "quantity": "quantity", "amount": "total_amt",
    }  # fmt: skip
    mapped = apply_mapping(raw, mapping).order_by(["_row"]).execute()
    assert list(mapped.columns) == [
        "invoice_id", "customer_id", "invoice_date", "product_id", "quantity", "amount", "_source", "_row",
    ]  # fmt: skip


def test_product_json_with_prices_uses_quantity_times_price(con, tmp_path):
    path = tmp_path / "s3.csv"
    items = [{"product": "A", "quantity": 2, "price": 10.0}, {"product": "B", "quantity": 1, "price": 5.0}]
    path.write_text(
        "member_id,payment_date,total_amt,paid_amt,product_json\n"
        f"M1,2023-01-05,25.00,25.00,\"{json.dumps(items).replace(chr(34), chr(34) * 2)}\"\n"
    )
    raw = read_raw(path, con=con)
    df = frame(raw)
    assert raw.items_priced
    assert df["price"].tolist() == ["10.0", "5.0"]
    assert df["total_amt"].tolist() == ["25.00", "0"]
    mapping = resolve_mapping(raw)
    assert "amount" not in mapping.fields  # cleaning computes quantity * unit_price per line
    assert mapping.fields["unit_price"] == "price" and mapping.fields["quantity"] == "quantity"
    # An explicit override still wins.
    assert resolve_mapping(raw, {"amount": "total_amt"}).fields["amount"] == "total_amt"


def test_invalid_json_is_an_input_error(con, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[{"a": 1}, {"a": ')
    with pytest.raises(InputError, match="bad.json"):
        read_raw(path, con=con)


@pytest.mark.parametrize(("name", "text", "line", "shown"), [
    ("orders.jsonl", '{"a": 1}\n{"a": 2}\nnot json\n{"a": 4}\n', 3, "'not json'"),  # DuckDB said line 4
    ("orders.json", '[{"a": 1},\n {"a": 2} {"a": 3}]\n', 2, "' {\"a\": 2} {\"a\": 3}]'"),
])
def test_a_bad_json_line_is_named_without_engine_sql(con, tmp_path, name, text, line, shown):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError) as caught:
        read_raw(path, con=con)
    message = str(caught.value)
    assert message.startswith(f"{name}: line {line} is not valid JSON (") and shown in message
    assert "SELECT" not in message and "LINE 1" not in message and "read_json" not in message


def _csv_cell(value: object) -> str:
    return '"' + json.dumps(value).replace('"', '""') + '"'


WEIRD = 'we"ird'


def test_dict_form_is_read_like_the_list_form(con, tmp_path):
    path = tmp_path / "dict.csv"
    path.write_text(
        "member_id,payment_date,total_amt,product_json\n"
        f"M1,2023-01-05,30,{_csv_cell({'D': 2, 'A': 1})}\n"
        f"M2,2023-01-06,12,{_csv_cell({WEIRD: '3'})}\n"
    )
    df = frame(read_raw(path, con=con))
    assert df["product"].tolist() == ["D", "A", 'we"ird']
    assert df["quantity"].tolist() == ["2", "1", "3"]
    # no item prices: the basket's 30 spread by quantity (D 2, A 1), to the cent; a one-item basket keeps its text
    assert df["total_amt"].tolist() == ["20.00", "10.00", "12"]


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_single_object_basket_is_one_item_like_the_list_and_dict_forms(tmp_path, suffix):
    """One item written without its list ({"product_id": "A", "quantity": 2}) is that item: the list,
    dict and single-object forms of the same baskets give the same lines, alone or mixed in one file."""
    from segmint.api import read_transactions

    baskets = {  # (customer, amount, product, quantity) written in each form
        "list": [[{"product_id": "A", "quantity": 2}], [{"product_id": "7", "quantity": 1}]],
        "dict": [{"A": 2}, {"7": 1}],
        "single": [{"product_id": "A", "quantity": 2}, {"product_id": 7, "quantity": 1}],
    }
    expected = [("M1", "A", 2.0, 30.0), ("M2", "7", 1.0, 10.0)]

    def lines(name, forms):
        path = tmp_path / f"{name}.{suffix}"
        records = [("M1", "2023-01-05", 30, forms[0]), ("M2", "2023-01-06", 10, forms[1])]
        if suffix == "csv":
            path.write_text("member_id,payment_date,total_amt,product_json\n"
                            + "".join(f"{m},{d},{a},{_csv_cell(b)}\n" for m, d, a, b in records))
        else:
            path.write_text("".join(json.dumps({"member_id": m, "payment_date": d, "total_amt": a,
                                                "product_json": b}) + "\n" for m, d, a, b in records))
        tx = read_transactions(path)
        assert not tx.report.dropped
        rows = tx.table.order_by("customer_id").to_pyarrow().to_pylist()
        return [(r["customer_id"], r["product_id"], r["quantity"], r["amount"]) for r in rows]

    for name, forms in baskets.items():
        assert lines(name, forms) == expected, name
    assert lines("mixed", [baskets["single"][0], baskets["dict"][1]]) == expected
    assert lines("mixed2", [baskets["list"][0], baskets["single"][1]]) == expected


def test_identical_items_in_one_basket_are_summed_never_dropped(con, tmp_path):
    from segmint.api import read_transactions

    path = tmp_path / "baskets.csv"
    rows = [
        # the same item twice (no quantity key) -> one line of 2; priced repeats -> quantity 3, amount 3 x 2.0
        ("M1", "2023-01-05", [{"product": "A"}, {"product": "B"}, {"product": "A"}]),
        ("M2", "2023-01-06", [{"product": "C", "qty": 1, "price": 2.0}, {"product": "C", "qty": 2, "price": 2.0}]),
        ("M3", "2023-01-07", ["X", "X", "Y"]),
    ]  # fmt: skip
    path.write_text("member_id,payment_date,total_amt,product_json\n" + "".join(
        f"{m},{d},10,{_csv_cell(items)}\n" for m, d, items in rows))
    raw = read_raw(path, con=con)
    df = frame(raw)
    assert df["product"].tolist() == ["A", "B", "C", "X", "Y"]
    # 'qty' is an item key of this file: repeats are summed there (a missing qty counts as 1)
    assert df["qty"].tolist() == ["2", None, "3", "2", None]
    assert "quantity" not in df
    tx = read_transactions(path)
    lines = tx.table.order_by(["customer_id", "product_id"]).execute()
    assert tx.report.rows_kept == 5 and "duplicate" not in tx.report.dropped
    assert lines["quantity"].tolist() == [2.0, 1.0, 3.0, 2.0, 1.0]


def test_blank_basket_keeps_its_row_without_product(con, tmp_path):
    path = tmp_path / "blank.csv"
    path.write_text("member_id,payment_date,total_amt,product_json\n"
                    f"M1,2023-01-05,30,{_csv_cell({'D': 2})}\nM2,2023-01-06,12,\nM3,2023-01-07,5,[]\n")
    df = frame(read_raw(path, con=con))
    assert df["product"].tolist() == ["D", None, None]
    assert df["total_amt"].tolist() == ["30", "12", "5"]


def test_repeated_names_without_quantity_key_get_a_quantity_column(con, tmp_path):
    path = tmp_path / "names.jsonl"
    path.write_text(json.dumps({"member_id": "M1", "payment_date": "2023-01-05", "total_amt": 9,
                                "product_json": ["X", "Y", "X", "X"]}) + "\n")
    df = frame(read_raw(path, con=con))
    assert df["product"].tolist() == ["X", "Y"]
    assert df["quantity"].tolist() == ["3", "1"]


def test_one_file_may_mix_dict_object_and_name_baskets(tmp_path):
    """Dict baskets are read into the objects' own product/quantity keys, not a second product column."""
    from segmint.api import read_transactions

    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([
        {"customer_id": "A", "date": "2024-01-05", "invoice": "1", "amount": 30, "product_json": {"D": 2, "A": 1}},
        {"customer_id": "A", "date": "2024-02-05", "invoice": "2", "amount": 20,
         "product_json": [{"product_id": "X", "quantity": 1}, {"product_id": "X", "quantity": 1}]},
        {"customer_id": "B", "date": "2024-02-07", "invoice": "3", "amount": 15, "product_json": ""},
        {"customer_id": "B", "date": "2024-03-07", "invoice": "4", "amount": 10, "product_json": ["D", "E"]},
    ]))  # fmt: skip
    tx = read_transactions(path)
    lines = tx.table.order_by(["invoice_id", "product_id"]).to_pyarrow().to_pylist()
    got = [(r["invoice_id"], r["product_id"], r["quantity"]) for r in lines]
    # by hand: D x2 + A x1; X twice -> one line of 2; a blank basket keeps its line without a product; D, E
    assert got == [("1", "A", 1.0), ("1", "D", 2.0), ("2", "X", 2.0), ("3", None, 1.0), ("4", "D", 1.0), ("4", "E", 1.0)]
    assert tx.report.rows_kept == 6 and not tx.report.dropped


def test_item_name_key_is_the_product_not_a_customer(tmp_path):
    """Items like {"name": "X", "qty": 2}: 'name' inside an item names the product; the basket position
    column is never mistaken for a product code."""
    from segmint.api import read_transactions

    path = tmp_path / "named.json"
    path.write_text(json.dumps([
        {"member": "A", "date": "2024-02-05", "invoice": "2", "amount": 20,
         "product_json": [{"name": "Tea", "qty": 1}, {"name": "Tea", "qty": 1}, {"name": "Milk", "qty": 3}]},
        {"member": "B", "date": "2024-03-07", "invoice": "4", "amount": 10, "product_json": [{"name": "Milk", "qty": 1}]},
    ]))  # fmt: skip
    tx = read_transactions(path)
    assert tx.mapping.fields["customer_id"] == "member"
    lines = tx.table.order_by(["invoice_id", "product_name"]).to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["product_name"], r["quantity"]) for r in lines] == [
        ("A", "Milk", 3.0), ("A", "Tea", 2.0), ("B", "Milk", 1.0)]


@pytest.mark.parametrize(("text", "deepest"), [
    ("", 0),
    ('[{"a": 1}]', 2),  # no line end at all
    ('[{"a": "[[[[[[", "b": "\\"]]]"}]\n', 2),  # brackets inside strings (and an escaped quote) do not count
    ('[\n  {\n    "a": [[1]]\n  }\n]\n', 4),  # pretty-printed: depth carries across lines and blocks
])  # fmt: skip
def test_nesting_is_measured_outside_strings_across_blocks(tmp_path, monkeypatch, text, deepest):
    from segmint.io import json as json_reader

    monkeypatch.setattr(json_reader, "SCAN_BLOCK", 3)  # force many blocks, cut mid-line
    path = tmp_path / "x.json"
    path.write_text(text)
    json_reader.check_nesting(path, max_depth=deepest)
    if deepest:
        with pytest.raises(InputError, match="x.json: refused: values nest more than"):
            json_reader.check_nesting(path, max_depth=deepest - 1)


def test_priced_items_beside_unpriced_baskets_keep_every_sale(tmp_path):
    """One basket's items carried a price, so the invoice total was set aside for quantity x price, and the
    dict, name-list and blank baskets (no price) were dropped as 'no amount': 12.50 of 60.50 read."""
    from segmint.api import read_transactions

    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        {"order_id": "o1", "customer": "c1", "date": "2024-01-03", "total": 30.0, "product_json": {"apple": 2, "pear": 1}},
        {"order_id": "o2", "customer": "c1", "date": "2024-02-03", "total": 12.5,
         "product_json": [{"sku": "apple", "qty": 1, "price": 12.5}]},
        {"order_id": "o3", "customer": "c2", "date": "2024-02-10", "total": 20.0, "product_json": ""},
        {"order_id": "o5", "customer": "c3", "date": "2024-02-12", "total": 8.0, "product_json": ["apple", "kiwi"]},
    ]))  # fmt: skip
    tx = read_transactions(path)
    assert not tx.report.dropped and tx.report.total_amount == 30.0 + 12.5 + 20.0 + 8.0
    by_invoice = {}
    for row in tx.table.to_pyarrow().to_pylist():
        by_invoice[row["invoice_id"]] = round(by_invoice.get(row["invoice_id"], 0.0) + row["amount"], 2)
    assert by_invoice == {"o1": 30.0, "o2": 12.5, "o3": 20.0, "o5": 8.0}  # each order's total once


def test_priced_items_beside_a_blank_basket_keep_its_sale(tmp_path):
    """Every basket but one priced: the blank one (a sale without product detail) was dropped."""
    from segmint.api import read_transactions

    path = tmp_path / "orders.csv"
    priced = _csv_cell([{"sku": "apple", "qty": 2, "price": 10.0}, {"sku": "pear", "qty": 1, "price": 5.0}])
    path.write_text(f"order_id,customer,date,total,product_json\no1,c1,2024-01-03,25.0,{priced}\no2,c2,2024-01-04,7.5,\n")
    tx = read_transactions(path)
    assert not tx.report.dropped and tx.report.total_amount == 25.0 + 7.5


def test_an_empty_list_basket_beside_priced_items_keeps_its_sale(tmp_path):
    """``[]`` is a blank basket like an empty cell: counted as a list of priced objects, it let quantity x
    price stand for every invoice total, and the 7.00 order with no item lines was dropped ('no amount')."""
    from segmint.api import read_transactions

    priced = [{"name": "apple", "qty": 1, "price": 10}, {"name": "pear", "qty": 2, "price": 10}]
    baskets = [priced, [], priced, {}, priced, priced]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        {"order_id": f"o{i}", "customer": "c1", "date": f"2024-01-0{i}", "total": 30.0 if basket else 7.0,
         "product_json": basket} for i, basket in enumerate(baskets, start=1)
    ]))  # fmt: skip
    tx = read_transactions(path)
    assert not tx.report.dropped and tx.report.total_amount == 4 * 30.0 + 2 * 7.0


def test_a_basket_that_is_not_json_is_named_with_its_row(tmp_path):
    """One basket cut short (as a cell limit or a truncated export leaves it) beside two good ones: the
    column fell under the 80% detection share and no basket was expanded, with no word; with enough good
    baskets, the bad one lost its sale as 'no amount', with no word of the JSON."""
    from segmint.api import read_transactions

    good = [{"name": "apple", "qty": 1, "price": 10}, {"name": "pear", "qty": 2, "price": 10}]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([
        {"order_id": "o1", "customer": "c1", "date": "2024-01-03", "total": 30.0, "product_json": good},
        {"order_id": "o2", "customer": "c2", "date": "2024-01-04", "total": 10.0, "product_json": '[{"name": "kiwi"'},
        {"order_id": "o3", "customer": "c1", "date": "2024-01-05", "total": 30.0, "product_json": good},
    ]))  # fmt: skip
    tx = read_transactions(path)
    products = sorted(p for p in tx.table.to_pyarrow().column("product_name").to_pylist() if p)
    assert products == ["apple", "apple", "pear", "pear"]
    assert tx.report.total_amount == 30.0 + 10.0 + 30.0
    warning = [w for w in tx.report.warnings if "product_json" in w]
    assert len(warning) == 1 and "1 basket(s)" in warning[0] and "row 2" in warning[0] and "kiwi" in warning[0]


def test_priced_items_beside_a_blank_basket_are_allocated_by_their_value(con, tmp_path):
    """A blank basket makes the items' prices not stand for every invoice total, so the total is spread; by
    quantity it gave 2 apples at 10.00 346.67 of a 520.00 basket and the 500.00 TV 173.33."""
    path = tmp_path / "orders.csv"
    basket = _csv_cell([{"sku": "apple", "qty": 2, "price": 10.0}, {"sku": "tv", "qty": 1, "price": 500.0}])
    no_price = _csv_cell([{"sku": "apple", "qty": 2, "price": 10.0}, {"sku": "tv", "qty": 1}])
    path.write_text("order_id,customer,date,total,product_json\n"
                    f"o1,c1,2024-01-03,520.00,{basket}\no2,c2,2024-01-04,7.50,\n"
                    f"o3,c3,2024-01-05,510.00,{basket}\no4,c4,2024-01-06,99.00,{no_price}\n")
    raw = read_raw(path, con=con)
    # by hand: 520 = 2 x 10 + 500, each item its own value; 510 in cents 51000 x 20/520 = 1961.54 and
    # 51000 x 500/520 = 49038.46: floors 50999, the cent to the larger remainder (apple): 19.62 + 490.38;
    # o4's TV has no price: that basket is spread by quantity, 99 x 2/3 and 99 x 1/3
    assert frame(raw)["total"].tolist() == ["20.00", "500.00", "7.50", "19.62", "490.38", "66.00", "33.00"]
    assert any("quantity x item price" in note for note in raw.report_notes)


def test_a_basket_total_without_item_prices_is_spread_by_quantity_to_the_cent(con, tmp_path):
    """The whole total sat on the first item: A had 30 and B 0 in one basket, B 10 and A 0 in the next."""
    from segmint.api import read_transactions

    path = tmp_path / "baskets.csv"
    path.write_text("member_id,payment_date,total_amt,product_json\n"
                    f"M1,2024-01-05,30,{_csv_cell([{'sku': 'A', 'qty': 2}, {'sku': 'B', 'qty': 1}])}\n"
                    f"M3,2024-02-01,10,{_csv_cell([{'sku': 'B', 'qty': 1}, {'sku': 'A', 'qty': 1}, {'sku': 'C'}])}\n"
                    f"M4,2024-02-02,-7.01,{_csv_cell([{'sku': 'A', 'qty': 1}, {'sku': 'C', 'qty': 1}])}\n"
                    f"M5,2024-02-03,9.999,{_csv_cell([{'sku': 'A', 'qty': 1}, {'sku': 'C', 'qty': 1}])}\n")
    raw = read_raw(path, con=con)
    # by hand: 30 x 2/3, 30 x 1/3; 10 / 3 = 3.33 each and the cent left to the first; -7.01 / 2 = -3.51, -3.50;
    # 9.999 is no number of whole cents: it stays whole on the first line
    assert frame(raw)["total_amt"].tolist() == ["20.00", "10.00", "3.34", "3.33", "3.33", "-3.51", "-3.50",
                                                "9.999", "0"]
    assert any(note.startswith("items without their own price: each basket's total_amt is spread") for note in
               raw.report_notes)
    tx = read_transactions(path)
    # sales totals unchanged: the lines add up to the baskets' totals
    assert float(tx.table.amount.sum().execute()) == pytest.approx(30 + 10 - 7.01 + 9.999, abs=1e-9)
    assert any("per-product revenue is an allocation" in w for w in tx.report.warnings)


ORDERS = [
    {"order_id": "A1", "customer": "C1", "date": "2023-01-05",
     "items": [{"sku": "P1", "qty": 2, "price": 5.0}, {"sku": "P2", "qty": 1, "price": 3.5}]},
    {"order_id": "A2", "customer": "C2", "date": "2023-02-06", "items": [{"sku": "P1", "qty": 1, "price": 5.0}]},
    {"order_id": "A3", "customer": "C1", "date": "2023-03-07", "items": [{"sku": "P3", "qty": 4, "price": 2.0}]},
]  # fmt: skip


def test_one_object_holding_the_orders_reads_each_order_as_a_record(con, tmp_path):
    # {"orders": [...]} was one record whose "items" were the orders: the notes named a 'product' key no
    # order has and "invoice_no added (no invoice column)" beside order_id, and the orders' own items
    # were never expanded (no amount found)
    from segmint.api import read_transactions

    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps({"count": 2, "orders": [
        {"order_id": "A1", "customer": "C1", "date": "2023-01-05", "amount": 13.5},
        {"order_id": "A2", "customer": "C2", "date": "2023-02-06", "amount": 5},
    ]}))  # fmt: skip
    raw = read_raw(flat, con=con)
    assert raw.columns == ["order_id", "customer", "date", "amount"]
    df = raw.table.order_by("_row").execute()
    assert df[["order_id", "amount", "_row"]].values.tolist() == [["A1", "13.5", 1], ["A2", "5", 2]]
    assert raw.notes == ["records: the 'orders' list of the file's one object (row n = its n-th record)"]

    nested = tmp_path / "nested.json"
    nested.write_text(json.dumps({"orders": ORDERS}))
    tx = read_transactions(nested, con=con)
    assert tx.mapping.fields["invoice_id"] == "order_id"
    lines = tx.table.order_by(["invoice_id", "product_id"]).execute()
    # 2 x 5.00 + 1 x 3.50, 1 x 5.00, 4 x 2.00
    assert lines[["invoice_id", "product_id", "amount"]].values.tolist() == [
        ["A1", "P1", 10.0], ["A1", "P2", 3.5], ["A2", "P1", 5.0], ["A3", "P3", 8.0]]
    assert tx.report.read_as == [
        "records: the 'orders' list of the file's one object (row n = its n-th record)",
        "column 'items' expanded to one line per item (keys: sku, qty, price); identical items repeated in a "
        "basket became one line with their summed quantity",
    ]


def test_the_expansion_note_names_only_keys_the_items_have(con, tmp_path):
    # items with a price alone: 'product' and 'quantity' used to be listed as item keys
    path = tmp_path / "priced.jsonl"
    path.write_text(json.dumps({"order_id": "A1", "customer": "C1", "date": "2023-01-05",
                                "items": [{"price": 5.0}, {"price": 3.5}]}) + "\n")
    note = read_raw(path, con=con).notes[-1]
    assert note == (
        "column 'items' expanded to one line per item (keys: price); no item key names a product: column "
        "'product' added, blank; no item key holds a quantity: column 'quantity' added, 1 per item; identical "
        "items repeated in a basket became one line with their summed quantity"
    )
    single = tmp_path / "single.json"  # one sale with its items stays one record, expanded
    single.write_text(json.dumps(ORDERS[0]))
    assert frame(read_raw(single, con=con))["sku"].tolist() == ["P1", "P2"]


def test_a_customer_object_is_read_as_its_fields_not_as_a_basket(tmp_path):
    """A Shopify-style order names its customer as an object: customer 7 (two orders, 30.00 and 12.50, the
    e-mail changed in between) and customer 8 (5.00). The object was read as a basket of one item (no
    customer column: an error) or, beside line_items, as the customer id itself, its JSON text, which split
    customer 7 in two when the e-mail changed."""
    from segmint.api import read_transactions

    orders = [
        ("1001", {"id": 7, "email": "a@x.com"}, "2023-01-05", "30.00", [{"sku": "A", "quantity": 2, "price": "10.00"},
                                                                         {"sku": "B", "quantity": 1, "price": "10.00"}]),
        ("1002", {"id": 8, "email": "b@x.com"}, "2023-01-06", "5.00", [{"sku": "B", "quantity": 1, "price": "5.00"}]),
        ("1003", {"id": 7, "email": "ann@y.com"}, "2023-02-06", "12.50", [{"sku": "C", "quantity": 5, "price": "2.50"}]),
    ]
    path = tmp_path / "orders.json"
    path.write_text(json.dumps([{"order_number": o, "customer": c, "created_at": d, "total_price": t, "line_items": i}
                                for o, c, d, t, i in orders]))
    records = [{"order_number": o, "customer": c, "created_at": d, "total_price": t, "line_items": i}
               for o, c, d, t, i in orders]
    wrapped = tmp_path / "export.json"  # the same orders as one object's list, as an API export writes them
    wrapped.write_text(json.dumps({"count": 3, "orders": records}))
    for source in (path, wrapped):
        tx = read_transactions(source)
        assert tx.mapping.fields["customer_id"] == "customer.id" and tx.mapping.fields["email"] == "customer.email"
        rows = tx.table.to_pyarrow().to_pylist()
        spend: dict[str, float] = {}
        for row in rows:
            spend[row["customer_id"]] = spend.get(row["customer_id"], 0) + row["amount"]
        assert spend == {"7": 42.5, "8": 5.0}, source.name  # 2 x 10 + 1 x 10 + 5 x 2.50; 1 x 5
    # alone (no basket column): the customer's fields, not an item
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps({"id": o, "customer": c, "created_at": d, "total_price": t}) + "\n"
                            for o, c, d, t, _ in orders))
    tx = read_transactions(path)
    assert sorted(r["customer_id"] for r in tx.table.to_pyarrow().to_pylist()) == ["7", "7", "8"]
    assert not tx.report.dropped and tx.report.rows_kept == 3


def test_item_objects_and_quantity_dicts_in_an_unnamed_column_stay_baskets(tmp_path):
    from segmint.api import read_transactions

    path = tmp_path / "baskets.jsonl"
    path.write_text(json.dumps({"member": "M1", "date": "2023-01-05", "total": 30, "stuff": {"A": 2, "B": 1}}) + "\n"
                    + json.dumps({"member": "M2", "date": "2023-01-06", "total": 10, "stuff": {"A": 1, "B": 0}}) + "\n")
    rows = read_transactions(path).table.to_pyarrow().to_pylist()
    assert sorted((r["customer_id"], r["product_id"], r["quantity"]) for r in rows) == [
        ("M1", "A", 2.0), ("M1", "B", 1.0), ("M2", "A", 1.0), ("M2", "B", 0.0)]


def test_the_expansion_note_has_no_dangling_separator(con, tmp_path):
    # the note ended in "...by value (quantity x price); " on a file with invoice ids
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps({"order_id": "O1", "customer": "A", "date": "2023-01-05", "total": "30.00",
                                "product_json": [{"product": "X", "quantity": 2}, {"product": "Y", "quantity": 1}]}) + "\n")
    note = next(n for n in read_raw(path, con=con).notes if "expanded to one line per item" in n)
    assert note == ("column 'product_json' expanded to one line per item (keys: product, quantity); identical items "
                    "repeated in a basket became one line with their summed quantity; invoice-level total spread over "
                    "each basket's items by quantity")


def test_the_report_counts_records_and_the_lines_they_expand_to(tmp_path):
    """Rows read counted item lines, so a file of 5 orders said 'Rows read 8': records and lines are
    now two numbers, and lines in = kept + dropped by reason still holds."""
    from segmint.api import read_transactions
    from segmint.quality import DataQualityReport

    two = [{"product": "A", "quantity": 2, "price": 10}, {"product": "B", "quantity": 1, "price": 10}]
    three = [{"product": "A", "quantity": 1, "price": 3}, {"product": "D", "quantity": 1, "price": 4},
             {"product": "E", "quantity": 1, "price": 0}]
    path = tmp_path / "baskets.json"
    path.write_text(json.dumps([
        {"member_id": "m1", "payment_date": "2024-01-02", "total_amt": 30, "product_json": two},  # 2 lines
        {"member_id": "m2", "payment_date": "2024-01-03", "total_amt": 5, "product_json": [two[0]]},  # 1
        {"member_id": "m3", "payment_date": "bad", "total_amt": 7, "product_json": three},  # 3, bad date
        {},  # a blank record: 1 line, dropped as blank
        {"member_id": "m4", "payment_date": "2024-01-04", "total_amt": 9, "product_json": '[{"product": "A"'},  # 1
    ]))  # fmt: skip
    report = read_transactions(path).report
    assert (report.records_in, report.rows_in, report.rows_kept) == (5, 8, 4)
    assert {name: d.count for name, d in report.dropped.items()} == {"blank": 1, "bad_date": 3}
    lines = report.summary().splitlines()
    assert "Records read              5          expanded to one line per item" in lines
    assert "Lines read                8" in lines and "Lines kept                4   50.0%" in lines
    assert any("1 basket(s) in column 'product_json'" in w and "row 5" in w for w in report.warnings)
    assert DataQualityReport.from_json(report.to_json()).records_in == 5


def test_a_file_without_item_lists_reports_rows_only(tmp_path):
    from segmint.api import read_transactions

    path = tmp_path / "lines.json"
    path.write_text(json.dumps([{"customer": "a", "date": "2024-01-01", "amount": 3}]))
    report = read_transactions(path).report
    assert report.records_in is None and "records_in" not in report.to_json()
    assert report.summary().splitlines()[2].startswith("Rows read")


@pytest.mark.parametrize("text", ["", "[]", "\n"])
def test_a_json_file_without_records_says_so(con, tmp_path, text):
    # it said "found plain values" of a file holding nothing at all
    path = tmp_path / "empty.json"
    path.write_text(text)
    with pytest.raises(InputError, match=r"^empty.json: expected JSON objects \(records\), found no records \(the file "
                       r"is empty or an empty list\)$"):
        read_raw(path, con=con)
    path.write_text("[1, 2]")
    with pytest.raises(InputError, match="found plain values$"):
        read_raw(path, con=con)
