"""Typed number columns settled by the counts (``clean_counts.settled_numbers``): once the report's
counts prove that no kept line has a NaN, infinite or blank price (or an infinite cost), the passes over
a streamed input's kept lines read the price as it is. Hostile values on dropped lines and blank costs on
kept ones leave the features and the report equal to the materialised input's and to the values by hand."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pyarrow as pa
import pyarrow.parquet as pq

from segmint import analyze, engine, read_transactions
from segmint.clean_counts import settled_numbers

DAY = dt.datetime(2023, 4, 3, 10, 30)
# invoice, customer, date, product, quantity, unit price, unit cost
LINES = [
    ("536365", "17850", DAY, "TEA", 6, 2.5, 1.0),
    ("536365", "17850", DAY, "MUG", 1, 4.0, math.nan),  # a blank cost: no profit from this line
    ("536366", "17850", DAY + dt.timedelta(days=5), "JAR", -2, 3.0, 2.0),  # a return
    ("536368", "13047", DAY + dt.timedelta(days=1), "CUP", 3, 1.0, None),  # a blank cost
    ("536369", "13047", DAY + dt.timedelta(days=2), "LID", 2, 1.5, 0.5),
    # dropped for a missing customer, before any test of their price: NaN, infinite and blank prices
    ("536370", None, DAY, "BOWL", 1, math.nan, 1.0),
    ("536371", None, DAY, "PLATE", 1, math.inf, math.inf),
    ("536372", None, DAY, "SPOON", 1, None, -math.inf),
]


COLUMNS = {
    "InvoiceNo": pa.string(), "CustomerID": pa.string(), "InvoiceDate": pa.timestamp("us"), "StockCode": pa.string(),
    "Quantity": pa.int64(), "UnitPrice": pa.float64(), "UnitCost": pa.float64(),
}  # fmt: skip


def _parquet(path, lines) -> None:
    values = zip(*lines, strict=True)
    pq.write_table(pa.table({name: pa.array(v, kind) for (name, kind), v in zip(COLUMNS.items(), values, strict=True)}), path)


def _analyze(path, staging: str, monkeypatch):
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    tx = read_transactions(path, con=engine.connect())
    features = analyze(tx, scheme="rfm").features.execute()
    return features.sort_values("customer_id").set_index("customer_id"), tx.report.model_dump()


def test_hostile_numbers_on_dropped_lines_leave_the_kept_lines_as_they_are(tmp_path, monkeypatch):
    import pandas as pd

    path = tmp_path / "sales.parquet"
    _parquet(path, LINES)
    features, report = _analyze(path, "stream", monkeypatch)
    copied, copied_report = _analyze(path, "materialize", monkeypatch)
    pd.testing.assert_frame_equal(features, copied)
    assert report == copied_report
    # by hand: 3 lines dropped for their missing customer, 5 kept; no price computed, no cost unreadable
    assert report["rows_in"] == 8 and report["rows_kept"] == 5
    assert report["dropped"]["missing_customer"]["count"] == 3 and set(report["dropped"]) == {"missing_customer"}
    assert report["parsed"]["cost_unreadable"] == 0 and report["parsed"]["unit_price_computed"] == 0
    assert report["total_amount"] == 15.0 + 4.0 - 6.0 + 3.0 + 3.0
    # 17850: TEA 15.0 (cost 6.0), MUG 4.0 (no cost), JAR returned -6.0 (cost -4.0): profit 9.0 - 2.0
    assert features.loc["17850", "revenue"] == 13.0 and features.loc["17850", "profit"] == 7.0
    # 13047: CUP 3.0 (no cost), LID 3.0 (cost 1.0)
    assert features.loc["13047", "revenue"] == 6.0 and features.loc["13047", "profit"] == 2.0


def _parsed() -> ibis.Table:
    raw = ibis.table({"unit_price": "float64", "unit_cost": "float64", "quantity": "int64"}, name="lines")
    price, cost = raw.unit_price, raw.unit_cost
    return raw.mutate(
        _n_unit_price=ibis.cases((price.isnull() | price.isnan() | price.isinf(), ibis.null("float64")), else_=price),
        _n_unit_price_blank=price.isnull() | price.isnan(), _n_unit_price_invalid=price.isinf(),
        _n_unit_cost=ibis.cases((cost.isnan() | cost.isinf(), ibis.null("float64")), else_=cost),
        _n_unit_cost_invalid=cost.isinf(),
    )  # fmt: skip


def test_the_tests_are_left_out_only_where_the_counts_prove_them_idle():
    fields = ["unit_price", "unit_cost", "quantity"]
    clean = {"reason:bad_unit_price": 0, "reason:missing_amount": 0, "cost_unreadable": 0}
    settled = ibis.to_sql(settled_numbers(_parsed(), fields, clean), dialect="duckdb")
    assert "ISINF" not in settled.upper()
    assert settled.upper().count("ISNAN") == 1  # the cost's: a NaN cost is a blank cost
    for counted in ({**clean, "reason:missing_amount": 1}, {**clean, "reason:bad_unit_price": 2}):
        kept = ibis.to_sql(settled_numbers(_parsed(), fields, counted), dialect="duckdb").upper()
        assert "ISINF(\"T0\".\"UNIT_PRICE\")" in kept.replace(" ", "")  # the price keeps its tests
    # an amount column gives a line its value whatever the price: the price keeps its tests
    amount = ibis.to_sql(settled_numbers(_parsed(), [*fields, "amount"], clean), dialect="duckdb").upper()
    assert "ISINF(\"T0\".\"UNIT_PRICE\")" in amount.replace(" ", "")
    assert settled_numbers(_parsed(), fields, {}).equals(_parsed())  # nothing counted: nothing settled


def test_a_typed_price_missing_on_a_customer_line_is_a_missing_amount(tmp_path, monkeypatch):
    """The ``missing_amount`` test of a typed price reads the price alone (``clean_stage._line_missing``):
    a blank quantity is 1, so the line value is NULL exactly where the price is NULL or NaN; an infinite
    price is a ``bad_unit_price`` first. Counted by hand, streamed and materialised alike."""
    lines = [
        ("536365", "17850", DAY, "TEA", 6, 2.5, 1.0),
        ("536366", "17850", DAY, "MUG", None, 4.0, 1.0),  # a blank quantity is 1: kept, value 4.0
        ("536367", "13047", DAY, "JAR", 2, math.nan, 1.0),  # NaN price: missing_amount
        ("536368", "13047", DAY, "CUP", 3, None, 1.0),  # NULL price: missing_amount
        ("536369", "13047", DAY, "LID", 1, math.inf, 1.0),  # infinite price: bad_unit_price
        ("536370", "13047", DAY, "BOWL", 2, 1.5, None),
    ]
    path = tmp_path / "sales.parquet"
    _parquet(path, lines)
    for staging in ("stream", "materialize"):
        features, report = _analyze(path, staging, monkeypatch)
        assert report["rows_in"] == 6 and report["rows_kept"] == 3
        dropped = {reason: value["count"] for reason, value in report["dropped"].items()}
        assert dropped == {"missing_amount": 2, "bad_unit_price": 1}
        assert report["total_amount"] == 15.0 + 4.0 + 3.0
        assert features.loc["17850", "revenue"] == 19.0 and features.loc["13047", "revenue"] == 3.0
