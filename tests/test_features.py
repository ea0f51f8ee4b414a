"""customer_features / period_features against hand-computed values and a pandas reference."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.errors import ConfigError, DataError
from segmint.features import (
    customer_features,
    customer_line_stats,
    default_snapshot_date,
    excluded_customers,
)
from segmint.periods import period_bounds, period_features, period_label, period_starts
from segmint.schema import CANONICAL_DTYPES

# invoice, line, customer, date, product, qty, unit price, amount, cost, country, org, is_return
ROW_COLUMNS = ["invoice_id", "line_no", "customer_id", "invoice_date", "product_id", "quantity", "unit_price",
               "amount", "cost", "country", "org_id", "is_return"]  # fmt: skip
ROWS = [
    ("1001", 1, "A", "2023-01-10 09:00", "P1", 2, 5.0, 10.0, 6.0, "UK", "o1", False),
    ("1001", 2, "A", "2023-01-10 09:00", "P2", 1, 20.0, 20.0, 12.0, "UK", "o1", False),
    ("1002", 1, "A", "2023-03-15 14:30", "P1", 1, 5.0, 5.0, 3.0, "France", "o1", False),
    ("C1003", 1, "A", "2023-03-20 10:00", "P2", -1, 20.0, -20.0, -12.0, "France", "o1", True),
    ("1004", 1, "B", "2023-02-01 11:00", "P3", 4, 25.0, 100.0, None, "Germany", "o1", False),
    ("1005", 1, "B", "2023-02-01 16:00", "P3", 2, 25.0, 50.0, None, "Germany", "o1", False),
    ("1006", 1, "B", "2023-06-30 23:59", "P4", 1, 40.0, 40.0, None, None, "o2", False),
    ("C1007", 1, "C", "2023-04-01 08:00", "P1", -3, 5.0, -15.0, None, "UK", "o1", True),
    ("1008", 1, "D", "2023-05-05 12:00", "P5", 1, 8.0, 8.0, None, "Spain", "o2", False),
    ("1008", 2, "D", "2023-05-05 12:00", "P6", 1, -2.0, -2.0, None, "Spain", "o2", False),
    ("1009", 1, "D", "2023-05-20 12:00", "P5", 1, 8.0, 8.0, None, "Italy", "o2", False),
    ("C1010", 1, "D", "2023-05-21 12:00", "P5", -1, 8.0, -8.0, None, "Italy", "o2", True),
]


def canonical(df: pd.DataFrame) -> ibis.Table:
    """A canonical transactions table (schema.CANONICAL_DTYPES) from a DataFrame of its columns."""
    df = df.copy()
    if "product_name" not in df:
        df["product_name"] = None
    df["invoice_date"] = pd.to_datetime(df["invoice_date"])
    return ibis.memtable(df[list(CANONICAL_DTYPES)], schema=CANONICAL_DTYPES)


@pytest.fixture()
def tx() -> ibis.Table:
    return canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))


def _by_customer(table: ibis.Table) -> dict[str, dict]:
    return {row["customer_id"]: row for row in table.execute().to_dict("records")}


def test_features_by_hand(tx):
    got = _by_customer(customer_features(tx))
    # C only returned goods (net -15): excluded. Snapshot = 2023-06-30 + 1 day = 2023-07-01.
    assert sorted(got) == ["A", "B", "D"]
    a, b, d = got["A"], got["B"], got["D"]
    # A: invoices 1001 (30), 1002 (5), C1003 (-20) -> 2 purchases, net 15, profit 4+8+2-8
    assert (a["recency_days"], a["frequency"], a["monetary"]) == (108, 2, 15.0)
    assert (a["avg_order_value"], a["profit"], a["tenure_days"]) == (7.5, 6.0, 172)
    assert (a["first_purchase"], a["last_purchase"]) == (pd.Timestamp("2023-01-10"), pd.Timestamp("2023-03-15"))
    assert (a["n_products"], a["country"]) == (2, "France")  # UK 2 lines, France 2 -> alphabetical
    # B: three invoices (two on one day), no cost -> profit null
    assert (b["recency_days"], b["frequency"], b["monetary"], b["tenure_days"]) == (1, 3, 190.0, 150)
    assert b["avg_order_value"] == pytest.approx(190 / 3)
    assert pd.isna(b["profit"]) and b["country"] == "Germany" and b["n_products"] == 2
    # D: 1008 nets 6 (a -2 line inside), 1009 = 8, C1010 = -8 -> net 6 over 2 purchases
    assert (d["recency_days"], d["frequency"], d["monetary"], d["tenure_days"]) == (42, 2, 6.0, 57)
    assert (d["n_products"], d["country"]) == (2, "Italy")  # Spain 2, Italy 2 -> Italy


def test_days_and_mean_variants(tx):
    got = _by_customer(customer_features(tx, frequency="days", monetary="mean"))
    assert got["B"]["frequency"] == 2 and got["B"]["monetary"] == 95.0  # 2023-02-01 and 06-30
    assert got["A"]["monetary"] == 7.5 and got["D"]["monetary"] == 3.0
    # revenue stays the net value whatever monetary means: B 190, A 15, D 6 (sums of the fixture's lines)
    assert (got["B"]["revenue"], got["A"]["revenue"], got["D"]["revenue"]) == (190.0, 15.0, 6.0)


def test_window_org_and_snapshot(tx):
    got = _by_customer(customer_features(tx, start="2023-02-01", end="2023-05-31"))
    # window Feb..May: A keeps 1002 (5) and C1003 (-20) -> net -15 -> excluded; B: 1004, 1005
    assert sorted(got) == ["B", "D"]
    assert got["B"]["frequency"] == 2 and got["B"]["recency_days"] == 110  # snapshot 2023-05-22
    got = _by_customer(customer_features(tx, org="o2", snapshot_date="2023-06-01"))
    assert sorted(got) == ["D"] and got["D"]["recency_days"] == 12 and got["D"]["tenure_days"] == 27
    excluded = excluded_customers(tx, start="2023-02-01", end="2023-05-31").execute()
    assert excluded.set_index("customer_id")["net_value"].to_dict() == {"A": -15.0, "C": -15.0}


def test_a_window_start_does_not_restart_tenure(tx):
    # window from 2023-05-01: B's purchase of 2023-06-30 is scored, but B first bought on 2023-02-01
    # (1004, 1005), before the window: tenure from then (149 days to the 2023-06-30 snapshot), not 0
    got = _by_customer(customer_features(tx, start="2023-05-01", snapshot_date="2023-06-30"))
    assert sorted(got) == ["D"]  # B's 06-30 line is on the snapshot day: before it, only D (05-05, 05-20)
    got = _by_customer(customer_features(tx, start="2023-05-01", snapshot_date="2023-07-01"))
    assert (str(got["B"]["first_purchase"])[:10], got["B"]["tenure_days"], got["B"]["frequency"]) == (
        "2023-02-01", 150, 1
    )
    assert (str(got["D"]["first_purchase"])[:10], got["D"]["tenure_days"]) == ("2023-05-05", 57)  # no earlier line


def test_rfm_new_customers_are_new_in_the_data_not_in_the_window(tx):
    from segmint.api import analyze

    rfm = analyze(tx, scheme="rfm", start="2023-04-01").segments["rfm"].execute().set_index("customer_id")
    # B (first purchase 2023-02-01) bought in Q2 only inside the window: not new; D first bought 2023-05-05
    assert rfm["is_new"].to_dict() == {"B": False, "D": True}


def test_line_stats_computed_once_give_the_same_features_and_exclusions(tx):
    """api.analyze materialises the per-customer line sums once and passes them to both."""
    window = {"start": "2023-02-01", "end": "2023-05-31", "snapshot_date": "2023-06-01"}
    stats = customer_line_stats(tx, **window)
    by_hand = {row["customer_id"]: row for row in stats.execute().to_dict("records")}
    # window Feb..May: A 1002 (5) + C1003 (-20), 2 lines, P1 bought (P2 only returned); B 1004 + 1005
    assert (by_hand["A"]["net_sum"], by_hand["A"]["lines"], by_hand["A"]["n_products"]) == (-15.0, 2, 1)
    assert (by_hand["B"]["net_sum"], by_hand["B"]["lines"], by_hand["B"]["n_products"]) == (150.0, 2, 1)
    shared = customer_features(tx, line_stats=stats, **window).execute()
    pd.testing.assert_frame_equal(shared, customer_features(tx, **window).execute())
    shared = excluded_customers(tx, line_stats=stats, **window).execute()
    pd.testing.assert_frame_equal(shared, excluded_customers(tx, **window).execute())


def test_bad_parameters(tx):
    with pytest.raises(ConfigError, match="start"):
        customer_features(tx, start="2023-05-01", end="2023-01-01")
    with pytest.raises(ConfigError, match="snapshot_date"):
        customer_features(tx, snapshot_date="yesterday")
    with pytest.raises(ConfigError, match="frequency"):
        customer_features(tx, frequency="weeks")
    with pytest.raises(DataError, match="no transactions"):
        default_snapshot_date(tx.filter(tx.amount > 1e9))


def test_period_features_by_hand(tx):
    rows = period_features(tx, period="month").execute()
    got = {(r.customer_id, r.period): r for r in rows.itertuples()}
    assert list(got) == [
        ("A", "2023-01"), ("A", "2023-03"), ("B", "2023-02"), ("B", "2023-06"),
        ("C", "2023-04"), ("D", "2023-05"),
    ]  # fmt: skip
    a_mar = got[("A", "2023-03")]
    assert (a_mar.frequency, a_mar.monetary, a_mar.profit, a_mar.recency_days) == (1, -15.0, -6.0, 17)
    assert a_mar.period_start == pd.Timestamp("2023-03-01") and a_mar.active
    c_apr = got[("C", "2023-04")]
    assert c_apr.frequency == 0 and not c_apr.active and pd.isna(c_apr.recency_days)
    quarters = period_features(tx).execute()
    b_q = quarters[quarters.customer_id == "B"].set_index("period")
    assert b_q["monetary"].to_dict() == {"2023-Q1": 150.0, "2023-Q2": 40.0}
    assert b_q["recency_days"].to_dict() == {"2023-Q1": 59, "2023-Q2": 1}
    years = period_features(tx, period="year").execute()
    assert set(years["period"]) == {"2023"}


def test_period_helpers():
    assert period_bounds("2023-05-17", "quarter") == (dt.date(2023, 4, 1), dt.date(2023, 7, 1))
    assert period_bounds(dt.date(2023, 12, 3), "month") == (dt.date(2023, 12, 1), dt.date(2024, 1, 1))
    assert period_bounds("2024-02-29", "year") == (dt.date(2024, 1, 1), dt.date(2025, 1, 1))
    assert [period_label("2023-11-30", p) for p in ("quarter", "month", "year")] == [
        "2023-Q4", "2023-11", "2023",
    ]  # fmt: skip
    assert period_starts("2023-11-15", "2024-04-01", "quarter") == [
        dt.date(2023, 10, 1), dt.date(2024, 1, 1), dt.date(2024, 4, 1),
    ]  # fmt: skip
    with pytest.raises(ConfigError):
        period_bounds("2023-01-01", "week")


# --- independent pandas reference on generated data -------------------------------------------


def _generated(n_rows: int = 100_000, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_invoices = n_rows // 4
    invoice_customer = rng.integers(0, 3_000, n_invoices)
    invoice_time = pd.Timestamp("2022-01-01") + pd.to_timedelta(
        rng.integers(0, 730 * 24 * 60, n_invoices), unit="min"
    )
    invoice_return = rng.random(n_invoices) < 0.08
    invoice = rng.integers(0, n_invoices, n_rows)
    sign = np.where(invoice_return[invoice], -1.0, 1.0)
    amount = np.round(sign * rng.gamma(2.0, 15.0, n_rows), 2)
    cost = np.where(rng.random(n_rows) < 0.3, np.nan, np.round(amount * 0.6, 2))
    countries = np.array(["UK", "France", "Germany", "Spain", None], dtype=object)
    return pd.DataFrame(
        {
            "invoice_id": np.where(invoice_return[invoice], "C", "") + invoice.astype(str),
            "line_no": np.arange(n_rows, dtype="int64"),
            "customer_id": "c" + invoice_customer[invoice].astype(str),
            "invoice_date": invoice_time[invoice],
            "product_id": np.where(rng.random(n_rows) < 0.02, None, rng.integers(0, 500, n_rows).astype(str)),
            "quantity": 1.0,
            "unit_price": np.abs(amount),
            "amount": amount,
            "cost": cost,
            "country": countries[rng.integers(0, 5, n_rows)],
            "org_id": "o1",
            "is_return": invoice_return[invoice],
        }
    )


def _reference(df: pd.DataFrame, frequency: str) -> pd.DataFrame:
    """Plain pandas implementation of the documented definitions."""
    snapshot = df.invoice_date.max().normalize() + pd.Timedelta(days=1)
    df = df.assign(day=df.invoice_date.dt.normalize())
    unit = "invoice_id" if frequency == "invoices" else "day"
    units = df.groupby(["customer_id", unit]).agg(net=("amount", "sum"), date=("day", "min")).reset_index()
    bought = units[units.net > 0].groupby("customer_id").agg(
        frequency=("net", "size"), first=("date", "min"), last=("date", "max")
    )
    net = df.groupby("customer_id").amount.sum()
    costed = df[df.cost.notna()]
    profit = (costed.amount - costed.cost).groupby(costed.customer_id).sum()
    products = df[~df.is_return].groupby("customer_id").product_id.nunique()
    known = df[df.country.notna()].groupby(["customer_id", "country"]).size().reset_index(name="n")
    known = known.sort_values(["customer_id", "n", "country"], ascending=[True, False, True])
    country = known.drop_duplicates("customer_id").set_index("customer_id").country
    out = bought.join(net.rename("monetary"))
    out = out[out.monetary > 0]
    return pd.DataFrame(
        {
            "recency_days": (snapshot - out["last"]).dt.days,
            "frequency": out.frequency,
            "monetary": out.monetary,
            "revenue": out.monetary,  # net value: the same number as monetary="sum"
            "avg_order_value": out.monetary / out.frequency,
            "profit": profit.reindex(out.index),
            "tenure_days": (snapshot - out["first"]).dt.days,
            "n_products": products.reindex(out.index).fillna(0),
            "country": country.reindex(out.index),
        }
    ).sort_index()


@pytest.mark.parametrize("frequency", ["invoices", "days"])
def test_features_match_pandas_reference(frequency):
    df = _generated()
    got = customer_features(canonical(df), frequency=frequency).execute().set_index("customer_id")
    want = _reference(df, frequency)
    assert list(got.index) == list(want.index)
    for column in ("recency_days", "frequency", "tenure_days", "n_products"):
        np.testing.assert_array_equal(got[column].to_numpy("int64"), want[column].to_numpy("int64"))
    for column in ("monetary", "revenue", "avg_order_value", "profit"):
        np.testing.assert_allclose(got[column].to_numpy("float64"), want[column].to_numpy("float64"), rtol=1e-9)
    assert got["country"].fillna("-").tolist() == want["country"].fillna("-").tolist()


def test_a_purchase_fully_returned_is_not_positive_despite_float_noise():
    """0.1 + 0.2 - 0.3 is 5.6e-17 in floating point: that customer bought nothing on balance.

    Without a tolerance the sign of such sums depends on the engine's summation order (DuckDB and
    Spark disagreed on one customer in 244,110), so one engine kept the customer and the other not.
    """
    assert 0.1 + 0.2 - 0.3 > 0  # the noise this test is about
    rows = [
        ("2001", 1, "E", "2023-01-10 09:00", "P1", 1, 0.1, 0.1, None, "UK", "o1", False),
        ("2001", 2, "E", "2023-01-10 09:00", "P2", 1, 0.2, 0.2, None, "UK", "o1", False),
        ("C2002", 1, "E", "2023-01-12 09:00", "P1", -1, 0.3, -0.3, None, "UK", "o1", True),
        ("2003", 1, "F", "2023-01-11 09:00", "P1", 1, 0.01, 0.01, None, "UK", "o1", False),
    ]
    table = canonical(pd.DataFrame(rows, columns=ROW_COLUMNS))
    features = _by_customer(customer_features(table))
    assert set(features) == {"F"}  # a one-cent purchase is a purchase; a noise-level balance is not
    excluded = excluded_customers(table).execute()
    assert list(excluded.customer_id) == ["E"]
    quarters = period_features(table).execute().set_index("customer_id")
    assert quarters.loc["E", "frequency"] == 1  # invoice 2001 itself was a real purchase (0.3)
    assert quarters.loc["F", "frequency"] == 1


def test_money_sums_carry_no_float_noise_whatever_the_order():
    """0.1 + 0.2 + 0.3 is 0.6000000000000001 summed left to right and 0.6 right to left; an engine's
    threads pick either. Revenue is the exact 0.60 by hand, so AOV (and any value at an exact half
    cent) is the same number in every run and rounds the same way at the edge."""
    assert (0.1 + 0.2) + 0.3 != 0.1 + (0.2 + 0.3)  # the order matters in floating point
    rows = [
        ("3001", 1, "G", "2023-01-10 09:00", "P1", 1, 0.1, 0.1, 0.05, "UK", "o1", False),
        ("3002", 1, "G", "2023-01-11 09:00", "P2", 1, 0.2, 0.2, 0.05, "UK", "o1", False),
        ("3003", 1, "G", "2023-01-12 09:00", "P3", 1, 0.3, 0.3, 0.05, "UK", "o1", False),
        ("3004", 1, "G", "2023-01-13 09:00", "P3", 1, 0.0, 0.0, None, "UK", "o1", False),
    ]
    features = _by_customer(customer_features(canonical(pd.DataFrame(rows, columns=ROW_COLUMNS))))
    g = features["G"]
    assert g["revenue"] == 0.6 and g["monetary"] == 0.6  # exactly, not 0.6000000000000001
    assert g["frequency"] == 3 and g["avg_order_value"] == 0.6 / 3  # the zero invoice is no purchase
    assert g["profit"] == 0.45  # 0.6 - 3 x 0.05, the line without a cost left out


def test_products_named_without_codes_are_counted():
    """A basket log names its items (groceries' itemDescription -> product_name) and has no product id:
    n_products was 0 for every member, beside recommendations built from the same names."""
    rows = [  # customer, day, product id, product name, amount, is_return
        ("A", "2023-01-10", None, "whole milk", 1.0, False),
        ("A", "2023-01-10", None, "whole milk", 1.0, False),
        ("A", "2023-02-10", None, "rolls/buns", 1.0, False),
        ("A", "2023-02-11", "P9", "yogurt", 1.0, False),  # an id where there is one
        ("B", "2023-01-12", None, "soda", 2.0, False),
        ("B", "2023-01-13", None, "sausage", -1.0, True),  # a return is no purchase of the product
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "product_id", "product_name", "amount", "is_return"])
    frame = frame.assign(invoice_id=[f"i{i}" for i in range(len(rows))], line_no=1, quantity=1.0, unit_price=frame.amount,
                         cost=None, country=None, org_id=None)
    stats = {row["customer_id"]: row["n_products"] for row in customer_line_stats(canonical(frame)).execute().to_dict("records")}
    assert stats == {"A": 3, "B": 1}  # A: whole milk, rolls/buns, P9; B: soda
    from segmint.distinct import codes
    from segmint.features import product_of

    table = ibis.duckdb.connect().create_table("lines", canonical(frame).execute())
    numbered = codes(table._find_backend(), product_of(table), groups=2)  # the large-input counting path
    counted = customer_line_stats(table, product_codes=numbered).execute()
    assert dict(zip(counted["customer_id"], counted["n_products"])) == {"A": 3, "B": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [  # a file naming its items without codes counts names
        ("Member_number,Date,itemDescription,Amount\n"
         "1,2023-01-10,whole milk,1\n1,2023-01-10,whole milk,1\n1,2023-02-10,rolls/buns,1\n"
         "2,2023-01-12,soda,2\n2,2023-01-12,yogurt,2\n2,2023-03-12,soda,2\n", {"1": 2, "2": 2}),
        # a file with product codes counts codes alone: a line whose code is blank is no product
        ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
         "1,A1,MUG,1,2023-01-10,2.50,C1\n1,A2,JUG,1,2023-01-10,4.00,C1\n"
         "2,,POSTCARD,1,2023-02-10,1.00,C1\n3,A1,MUG,2,2023-02-11,2.50,C2\n", {"C1": 2, "C2": 1}),
    ],
)  # fmt: skip
def test_analyze_counts_products_by_what_the_source_maps(tmp_path, text, expected):
    """Through ``segmint.analyze``, n_products reads the product column the source maps."""
    import segmint

    path = tmp_path / "lines.csv"
    path.write_text(text)
    features = segmint.analyze(path, scheme="rfm").features.execute()
    assert dict(zip(features["customer_id"], features["n_products"])) == expected


def test_n_products_is_blank_when_the_source_names_no_products(tmp_path):
    """A file without a product column (CDNOW's layout) says nothing of what was bought: n_products was 0 for
    every customer, in features.csv, the segment files and the dashboard's customer API, claiming nobody bought
    a product. It is blank (null) there; a file with products still counts them (C1: A1 and A2)."""
    import io

    from typer.testing import CliRunner

    from segmint.app import create_app
    from segmint.cli import app as cli

    path = tmp_path / "no_products.csv"
    path.write_text("customer,date,amount\nC1,2023-01-10,5.00\nC1,2023-02-10,7.50\nC2,2023-01-12,3.00\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["analyze", str(path), "--out", str(out), "--scheme", "rfm"])
    assert result.exit_code == 0, result.output
    for name in ("features.csv", "segments_rfm.csv"):
        frame = pd.read_csv(out / name)
        assert list(frame.customer_id) == ["C1", "C2"] and frame.n_products.isna().all()
        assert frame.revenue.tolist() == [12.5, 3.0]
    assert ",2023-01-10,2023-02-10,," in (out / "features.csv").read_text()  # blank n_products and country
    dash = create_app([str(path)], warm=False)
    try:
        client = dash.server.test_client()
        assert client.get("/api/customers/C1").get_json()["features"]["n_products"] is None
        text = client.get("/api/segments/rfm?format=csv").get_data(as_text=True)
        assert pd.read_csv(io.StringIO(text)).n_products.isna().all()
    finally:
        dash.segmint_state.close()
    with_products = tmp_path / "products.csv"
    with_products.write_text("customer,date,product,amount\nC1,2023-01-10,A1,5.00\nC1,2023-02-10,A2,7.50\n"
                             "C2,2023-01-12,A1,3.00\n")
    import segmint

    counted = segmint.analyze(with_products, scheme="rfm").features.execute()
    assert dict(zip(counted.customer_id, counted.n_products)) == {"C1": 2, "C2": 1}


def test_a_table_without_a_mapping_and_without_any_product_counts_no_products():
    """CDNOW ingested into a workspace (no mapping kept): every line's product is blank, and n_products
    was 0 for all 23,502 customers where the file itself gives blank (how many products is unknown)."""
    rows = [("A", "2023-01-10", 10.0), ("A", "2023-02-10", 5.0), ("B", "2023-01-12", 7.0)]
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice_date", "amount"]).assign(
        invoice_id=["i0", "i1", "i2"], line_no=1, quantity=1.0, unit_price=lambda f: f.amount, cost=None,
        country=None, org_id=None, is_return=False, product_id=None, product_name=None)
    stats = customer_line_stats(canonical(frame)).execute().set_index("customer_id")
    assert stats["n_products"].isna().all() and stats["lines"].to_dict() == {"A": 2, "B": 1}
    # one line naming a product: the data name products, the others count 0
    frame.loc[2, "product_name"] = "soda"
    stats = customer_line_stats(canonical(frame)).execute().set_index("customer_id")
    assert stats["n_products"].to_dict() == {"A": 0, "B": 1}
