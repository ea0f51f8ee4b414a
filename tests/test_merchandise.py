"""Non-merchandise lines (postage, fees, discounts, manual ...): recognised by whole name or code, kept for
sales, left out of every product analysis, counted. Expected values by hand."""

from __future__ import annotations

import json

import ibis
import pandas as pd
import pytest

import segmint
from segmint.recommendations import signals as sig
from segmint.merchandise import MerchandiseRules, non_merchandise_note

# (StockCode, Description) of the UCI Online Retail / Online Retail II logs' service lines, and others
SERVICES = [
    ("POST", "POSTAGE"), ("DOT", "DOTCOM POSTAGE"), ("C2", "CARRIAGE"), ("M", "Manual"), ("m", "Manual"),
    ("D", "Discount"), ("S", "SAMPLES"), ("B", "Adjust bad debt"), ("BANK CHARGES", "Bank Charges"),
    ("AMAZONFEE", "AMAZON FEE"), ("CRUK", "CRUK Commission"), ("79323W", "Next Day Carriage"),
    ("gift_0001_10", "Dotcomgiftshop Gift Voucher £10.00"), ("21999", "High Resolution Image"),
    ("ADJUST", "Adjustment by john on 26/01/2010 16"), ("TEST001", "This is a test product."),
    (None, "Shipping"), (None, "delivery charge"), (None, "Freight"), (None, "Postage & Packing"),
    (None, "PayPal fee"), (None, "Card surcharge"), (None, "Staff discount"), (None, " samples "),
    ("SHIP", "Standard  Shipping"), (None, "Gift Card £25"), (None, "Restocking fee"), (None, "S&H"),
    (None, "Shipping - Standard"), (None, "Delivery (next day)"), (None, "Sales Commission"),
    ("POST", None), ("AMAZONFEE", None),  # a code alone (no description column)
]  # fmt: skip
PRODUCTS = [
    ("23493", "POSTAGE STAMP TIN"), ("90001", "MANUAL COFFEE GRINDER"), ("22138", "CARRIAGE CLOCK"),
    ("22910", "DISCOUNT CARD HOLDER"), ("21000", "SAMPLE BOOK OF FABRICS"), ("23000", "BANK HOLIDAY BUNTING"),
    ("22000", "GIFT WRAP VINTAGE DOILY"), ("22001", "CHRISTMAS GIFT CARD"), ("22002", "DELIVERY VAN TOY"),
    ("22003", "TEST TUBE RACK"), ("22004", "VOUCHER HOLDER"), ("PADS", "PADS TO MATCH ALL CUSHIONS"),
    ("22005", "COFFEE MUG"), ("22006", "CUSTOM PET PORTRAIT COMMISSION"), ("22007", "POSTMAN PAT MUG"), ("D1", "SHIPPING CONTAINER STORAGE BOX"), ("84997D", "CHILDRENS CUTLERY"),
    # one-letter codes are products unless their name says otherwise (a shop may call a product "D")
    ("D", None), ("M", "MUG"), ("S", "SMALL BAG"), ("B", "B"), (None, "whole milk"), (None, "shopping bags"),
]  # fmt: skip


def test_the_rule_table_catches_service_lines_by_whole_name_or_code_and_nothing_else():
    rules = MerchandiseRules.default()
    assert [item for item in SERVICES if not rules.is_service(*item)] == []
    assert [item for item in PRODUCTS if rules.is_service(*item)] == []


def test_the_lines_flagged_in_the_engine_are_those_the_table_names():
    rules = MerchandiseRules.default()
    rows = SERVICES + PRODUCTS
    table = ibis.memtable({"product_id": [c for c, _ in rows], "product_name": [n for _, n in rows],
                           "amount": [1.0] * len(rows)}, schema={"product_id": "string", "product_name": "string",
                                                                  "amount": "float64"})  # fmt: skip
    found = rules.find(table)
    flags = table.mutate(flag=found.flag(table)).to_pandas()["flag"].tolist()
    assert flags == [True] * len(SERVICES) + [False] * len(PRODUCTS)
    # one item per code (or name without a code): POST's two spellings are one item of 2 lines
    assert len(found.items) == len(SERVICES) - 2
    assert found.items.head(2).values.tolist() == [["AMAZONFEE", "AMAZON FEE", 2, 2.0], ["POST", "POSTAGE", 2, 2.0]]


def test_a_users_items_win_over_the_table():
    rules = MerchandiseRules.default(treat_as_products=["post"], treat_as_services=["PADS TO MATCH ALL CUSHIONS"])
    assert not rules.is_service("POST", "POSTAGE") and not rules.is_service("POST", None)
    assert rules.is_service("PADS", " pads to match all cushions") and rules.is_service("DOT", "DOTCOM POSTAGE")
    table = ibis.memtable({"product_id": ["POST", "PADS", "DOT", "22138"], "amount": [1.0] * 4,
                           "product_name": ["POSTAGE", "PADS TO MATCH ALL CUSHIONS", "DOTCOM POSTAGE", "CLOCK"]})
    assert table.mutate(flag=rules.find(table).flag(table)).to_pandas()["flag"].tolist() == [False, True, True, False]


def or2_log(path):
    """An Online-Retail-II-format log (split after 2024-03-31): F (France) pays POSTAGE on every invoice,
    G has a Manual line, H a Discount line with a positive quantity (so only the rule keeps it out)."""
    rows = [
        # invoice, code, description, quantity, date, price, customer, country
        ("1", "A1", "RED MUG", 1, "2024-01-10", 3.0, "F", "France"),
        ("1", "B1", "BLUE BAG", 1, "2024-01-10", 2.0, "F", "France"),
        ("1", "POST", "POSTAGE", 2, "2024-01-10", 18.0, "F", "France"),
        ("2", "B1", "BLUE BAG", 1, "2024-02-10", 2.0, "F", "France"),
        ("2", "POST", "POSTAGE", 2, "2024-02-10", 18.0, "F", "France"),
        ("3", "A1", "RED MUG", 1, "2024-03-10", 3.0, "F", "France"),
        ("3", "POST", "POSTAGE", 2, "2024-03-10", 18.0, "F", "France"),
        ("4", "A1", "RED MUG", 1, "2024-01-15", 3.0, "G", "United Kingdom"),
        ("4", "C1", "GREEN TIN", 1, "2024-01-15", 4.0, "G", "United Kingdom"),
        ("5", "C1", "GREEN TIN", 1, "2024-02-15", 4.0, "G", "United Kingdom"),
        ("6", "C1", "GREEN TIN", 1, "2024-03-15", 4.0, "G", "United Kingdom"),
        ("6", "M", "Manual", 1, "2024-03-15", 5.0, "G", "United Kingdom"),
        ("7", "B1", "BLUE BAG", 2, "2024-02-20", 2.0, "H", "United Kingdom"),
        ("7", "C1", "GREEN TIN", 1, "2024-02-20", 4.0, "H", "United Kingdom"),
        # after the split
        ("8", "A1", "RED MUG", 1, "2024-04-10", 3.0, "F", "France"),
        ("8", "POST", "POSTAGE", 2, "2024-04-10", 18.0, "F", "France"),
        ("9", "C1", "GREEN TIN", 1, "2024-04-15", 4.0, "G", "United Kingdom"),
        ("10", "B1", "BLUE BAG", 1, "2024-04-20", 2.0, "H", "United Kingdom"),
        ("10", "D", "Discount", 1, "2024-04-20", -3.0, "H", "United Kingdom"),
    ]
    columns = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    pd.DataFrame(rows, columns=columns).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def or2_runs(tmp_path_factory):
    path = or2_log(tmp_path_factory.mktemp("or2") / "or2.csv")
    options = {"until": "2024-03-31", "top": 2, "evaluate": True}
    ruled = segmint.recommend(path, **options)
    as_products = segmint.recommend(path, **options, config={"treat_as_products": ["POST", "manual", "DISCOUNT"]})
    return ruled, as_products


def test_postage_would_be_rank_one_and_inflate_own_most_bought_without_the_rule(or2_runs):
    ruled, as_products = or2_runs
    first = as_products.customer("F")["recommendations"][0]
    assert (first["product_id"], first["product_name"]) == ("POST", "POSTAGE")  # on all 3 of F's invoices
    # own most-bought at 2, by hand. Relevant after the split: F {A1, POST}, G {C1}, H {B1, D}.
    # As products: F [POST, A1] 2 hits, G [C1, M] 1, H [B1, C1] 1 -> (1 + 0.5 + 0.5) / 3
    own = as_products.evaluation["methods"]["own_most_bought"]
    assert (own["customers"], own["precision@2"]) == (3, round(2 / 3, 4))
    # Left out: F [A1, B1] (2 visits each, A1 the latest), G [C1, A1], H [B1, C1] (units break the tie);
    # relevant F {A1}, G {C1}, H {B1}
    own = ruled.evaluation["methods"]["own_most_bought"]
    assert (own["customers"], own["precision@2"], own["recall@2"]) == (3, 0.5, 1.0)
    # popularity of Feb-Mar: shoppers F, G, H; B1 (F, H) and C1 (G, H) 2 each, A1 (and POST, M) 1 -> [B1, C1]
    for result in (ruled, as_products):
        assert result.evaluation["methods"]["popular"]["precision@2"] == round((0 + 0.5 + 0.5) / 3, 4)


def test_service_lines_are_in_no_product_table_and_are_counted(or2_runs, tmp_path):
    ruled, as_products = or2_runs
    services = {"POST", "M", "D"}
    recs = ruled.recommendations.to_pandas()
    assert set(recs["product_id"]) == {"A1", "B1", "C1"}
    assert set(recs[recs.customer_id == "F"]["product_id"]) == {"A1", "B1"}  # F's own products, not POSTAGE
    tables = ruled.tables()
    for name in ("segment_products", "product_sales_by_segment", "product_sales_by_region", "top_products_by_period"):
        assert not set(tables[name]["product_id"]) & services, name
    assert not [c for c in ruled.single_view.columns if "POSTAGE" in c or "Manual" in c]
    assert any("POSTAGE" in c for c in as_products.single_view.columns)
    # what was set aside, by hand: 4 POSTAGE lines (8 x 18.00), 1 Manual (5.00), 1 Discount (-3.00)
    left_out = ruled.non_merchandise
    assert left_out.to_dict("records") == [
        {"product_id": "POST", "product_name": "POSTAGE", "lines": 4, "amount": 144.0},
        {"product_id": "D", "product_name": "Discount", "lines": 1, "amount": -3.0},
        {"product_id": "M", "product_name": "Manual", "lines": 1, "amount": 5.0},
    ]
    note = "6 lines of 3 non-merchandise items (POSTAGE, Discount, Manual) kept for sales, left out of product analyses"
    assert note in ruled.notes and non_merchandise_note(left_out) == note
    assert (ruled.counts["non_merchandise_lines"], ruled.counts["non_merchandise_items"]) == (6, 3)
    assert ruled.summary()["non_merchandise"][0] == {"product_id": "POST", "product_name": "POSTAGE", "lines": 4,
                                                     "amount": 144.0}  # fmt: skip
    assert as_products.counts["non_merchandise_lines"] == 0 and "non_merchandise" not in as_products.tables()


def test_sales_and_segments_keep_the_service_lines(or2_runs):
    ruled, as_products = or2_runs
    assert ruled.counts["lines"] == as_products.counts["lines"] == 19  # every line kept for sales
    segments = ruled.segments.to_pandas().sort_values("customer_id", ignore_index=True)
    assert segments.equals(as_products.segments.to_pandas().sort_values("customer_id", ignore_index=True))


def test_the_cli_counts_them_and_takes_the_override(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    path = or2_log(tmp_path / "or2.csv")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["recommend", str(path), "--as-service", "green tin", "--as-product", "M",
                                   "--out", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert "10 lines of 3 non-merchandise items (GREEN TIN, POSTAGE, Discount) kept for sales" in text
    left_out = pd.read_csv(out / "non_merchandise.csv")
    assert left_out["product_id"].tolist() == ["C1", "POST", "D"]  # 5 GREEN TIN lines, 4 POSTAGE, 1 Discount
    assert left_out["lines"].tolist() == [5, 4, 1]
    recs = pd.read_csv(out / "recommendations.csv")
    assert "M" in set(recs["product_id"]) and not {"C1", "POST", "D"} & set(recs["product_id"])
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["counts"]["non_merchandise_items"] == 3


def test_purchase_lines_leave_out_service_lines_by_default():
    tx = ibis.memtable({
        "customer_id": ["C1", "C1", "C1"], "invoice_date": pd.to_datetime(["2024-01-01"] * 3),
        "product_id": ["A", "POST", "23493"], "product_name": ["name A", "POSTAGE", "POSTAGE STAMP TIN"],
        "quantity": [1.0, 1.0, 1.0], "amount": [2.0, 18.0, 3.0], "country": ["FR"] * 3, "is_return": [False] * 3,
    })  # fmt: skip
    assert sorted(sig.purchase_lines(tx).to_pandas()["product"]) == ["23493", "A"]
    keep_all = MerchandiseRules.default(treat_as_products=["post"]).find(tx)
    assert sorted(sig.purchase_lines(tx, left_out=keep_all).to_pandas()["product"]) == ["23493", "A", "POST"]
    items = MerchandiseRules.default().find(tx).items
    assert items.to_dict("records") == [{"product_id": "POST", "product_name": "POSTAGE", "lines": 1, "amount": 18.0}]


def test_a_log_of_service_lines_only_says_so():
    from segmint.errors import DataError
    from tests.recommendations.test_model import lines_table

    tx = lines_table([("C1", "2024-01-01", "POST", 1), ("C2", "2024-01-02", "POST", 2)])
    with pytest.raises(DataError, match=r"every product is non-merchandise \(2 lines of 1 non-merchandise item "
                                        r"\(name POST\).*treat_as_products"):  # fmt: skip
        segmint.recommend(tx)


def test_a_customers_product_count_counts_merchandise_only(tmp_path):
    """n_products (features, segments, the customer 360) counts distinct products, not postage or fees.
    By hand from or2_log: F bought A1, B1 (+ POSTAGE on every invoice), G A1, C1 (+ Manual), H B1, C1
    (+ Discount): 2 each; every line still counts for sales."""
    path = or2_log(tmp_path / "or2.csv")

    def counts(**overrides):
        result = segmint.analyze(path, scheme="rfm", **overrides)
        features = result.features.to_pandas().set_index("customer_id")
        return features["n_products"].to_dict(), features["revenue"].to_dict()

    products, revenue = counts()
    assert products == {"F": 2, "G": 2, "H": 2}
    with pytest.MonkeyPatch.context() as patch:  # large inputs' path: invoice totals and products as bit sets
        patch.setenv("SEGMINT_STAGING", "stream")
        assert segmint.read_transactions(path).totals is not None
        assert counts()[0] == {"F": 2, "G": 2, "H": 2}
    assert revenue == {"F": 3 + 2 + 36 + 2 + 36 + 3 + 36 + 3 + 36, "G": 3 + 4 + 4 + 4 + 5 + 4, "H": 4 + 4 + 2 - 3}
    # the user's items win: POST is a product (F: 3), GREEN TIN is not (G: A1, H: B1)
    products, _ = counts(treat_as_products=["post"], treat_as_services=["green tin"])
    assert products == {"F": 3, "G": 1, "H": 1}


def test_the_customer_360_counts_merchandise_only(tmp_path):
    """The dashboard's customer view (/api/customers/<id>) shows the same count: F pays POSTAGE on every
    invoice and bought 2 products."""
    from segmint.app import api as app_api
    from segmint.app.state import AppState, Filters

    state = AppState()
    try:
        dataset = state.add_dataset(segmint.read_transactions(or2_log(tmp_path / "or2.csv")).table, "or2")
        counts = {c: app_api.customer(state, dataset, Filters(), c)["features"]["n_products"] for c in "FGH"}
    finally:
        state.close()
    assert counts == {"F": 2, "G": 2, "H": 2}


def test_the_cli_takes_the_override_for_the_product_count(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    path = or2_log(tmp_path / "or2.csv")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm", "--as-product", "Manual", "--out", str(out)])
    assert run.exit_code == 0, run.output
    features = pd.read_csv(out / "features.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert features["n_products"].to_dict() == {"F": 2, "G": 3, "H": 2}


def test_a_table_without_product_names_is_read_by_its_codes():
    tx = ibis.memtable({"product_id": ["POST", "A1", None]}, schema={"product_id": "string"})
    found = MerchandiseRules.default().find_values(tx)
    assert (found.codes, found.names, found.empty) == (("POST",), (), False)
    assert MerchandiseRules.default().find_values(ibis.memtable({"amount": [1.0]})).empty
