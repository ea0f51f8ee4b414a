"""The BTYD summary in the engine against hand-computed values, and DuckDB against Spark."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from segmint.btyd.summary import btyd_summary, repeat_purchases_by_day, resolve_window
from segmint.errors import ConfigError
from segmint.schema import CANONICAL_COLUMNS

# (invoice, customer, date, amount, is_return)
LINES = [
    ("I1", "A", "2023-01-02 09:00", 10.0, False),
    ("I2", "A", "2023-01-02 17:00", 5.0, False),   # same day as I1: one occasion worth 15
    ("I3", "A", "2023-01-16 10:00", 30.0, False),
    ("I4", "A", "2023-01-30 10:00", 50.0, False),
    ("C4", "A", "2023-01-30 11:00", -20.0, True),   # partial return the same day: occasion worth 30
    ("I5", "A", "2023-02-20 10:00", 40.0, False),   # holdout
    ("I6", "B", "2023-01-09 10:00", 0.0, False),    # a free order is an occasion
    ("I7", "B", "2023-01-23 10:00", 25.0, False),
    ("C7", "B", "2023-01-23 12:00", -25.0, True),   # fully returned the same day: not an occasion
    ("C8", "B", "2023-01-25 12:00", -5.0, True),    # a return alone is never an occasion
    ("I9", "C", "2023-02-06 10:00", 12.0, False),   # first seen in the holdout: not in the summary
]


def frame() -> pd.DataFrame:
    rows = pd.DataFrame(LINES, columns=["invoice_id", "customer_id", "invoice_date", "amount", "is_return"])
    rows["invoice_date"] = pd.to_datetime(rows["invoice_date"]).astype("datetime64[us]")
    rows["line_no"] = 1
    rows["product_id"] = "P"
    rows["product_name"] = "product"
    rows["quantity"] = rows["amount"].apply(lambda a: -1.0 if a < 0 else 1.0)
    rows["unit_price"] = rows["amount"].abs()
    rows["cost"] = float("nan")
    rows["country"] = "X"
    rows["org_id"] = "o"
    return rows[list(CANONICAL_COLUMNS)]


def summarise(table, **options) -> pd.DataFrame:
    window = resolve_window(table, **options)
    return btyd_summary(table, window).execute().set_index("customer_id")


def test_summary_by_hand_in_weeks():
    table = ibis.memtable(frame())
    got = summarise(table, calibration_end="2023-01-31", time_unit="week")
    assert sorted(got.index) == ["A", "B"]
    a, b = got.loc["A"], got.loc["B"]
    assert a.frequency == 2  # 2 Jan (merged), 16 Jan, 30 Jan
    assert a.recency == pytest.approx(28 / 7)
    assert a["T"] == pytest.approx(29 / 7)
    assert a.monetary_value == pytest.approx((30 + 30) / 2)  # the first occasion is left out
    assert (a.holdout_frequency, a.holdout_value) == (1, 40.0)
    assert b.frequency == 0 and b.recency == 0 and pd.isna(b.monetary_value)
    assert b["T"] == pytest.approx(22 / 7)
    assert pd.Timestamp(b.first_purchase).date() == dt.date(2023, 1, 9)


def test_time_units_scale_recency_and_T():
    table = ibis.memtable(frame())
    days = summarise(table, calibration_end="2023-01-31", time_unit="day")
    months = summarise(table, calibration_end="2023-01-31", time_unit="month")
    assert days.loc["A", "recency"] == 28 and days.loc["A", "T"] == 29
    assert months.loc["A", "T"] == pytest.approx(29 / (365.25 / 12))


def test_without_calibration_end_there_is_no_holdout():
    window = resolve_window(ibis.memtable(frame()))
    assert window.calibration_end == dt.date(2023, 2, 20) and window.holdout_end is None
    got = btyd_summary(ibis.memtable(frame()), window).execute()
    assert "holdout_frequency" not in got.columns
    assert set(got.customer_id) == {"A", "B", "C"}


def test_bad_dates_are_clear_errors():
    table = ibis.memtable(frame())
    with pytest.raises(ConfigError, match="before the first transaction"):
        resolve_window(table, calibration_end="2020-01-01")
    with pytest.raises(ConfigError, match="time unit"):
        resolve_window(table, time_unit="fortnight")


def test_an_end_after_the_last_transaction_is_said():
    """CDNOW (to 1998-06-30) with a calibration end of 2001-01-01 fitted every customer as seen buying
    nothing for 916 more days (its best customers at P(alive) 0.21), without a word."""
    table = ibis.memtable(frame())  # last transaction 2023-02-20
    assert resolve_window(table, calibration_end="2023-02-20").beyond_the_data() == []
    notes = resolve_window(table, calibration_end="2023-01-31", holdout_end="2023-03-01").beyond_the_data()
    assert notes == [
        "the holdout end 2023-03-01 is 9 days after the last transaction (2023-02-20): those days count as days "
        "each customer was seen buying nothing, which lowers P(alive) and the forecasts; choose an earlier date "
        "unless the data really run to it"
    ]
    assert resolve_window(table, calibration_end="2023-03-01").beyond_the_data()[0].startswith(
        "the calibration end 2023-03-01 is 9 days after")


def test_repeat_purchases_by_day_counts_calibration_customers_only():
    table = ibis.memtable(frame())
    window = resolve_window(table, calibration_end="2023-01-31")
    got = repeat_purchases_by_day(table, window).execute()
    assert got["day"].astype(str).tolist() == ["2023-01-16", "2023-01-30", "2023-02-20"]
    assert got["repeat_purchases"].tolist() == [1, 1, 1]


@pytest.mark.spark
def test_spark_summary_equals_duckdb(spark_con, canonical_tx):
    from _backends import assert_same_rows, load_both, to_pandas

    duck, spark = load_both(spark_con, canonical_tx, "tx_btyd")
    options = dict(calibration_end="2023-06-30", time_unit="week")
    window = resolve_window(duck, **options)
    assert resolve_window(spark, **options) == window
    assert_same_rows(to_pandas(btyd_summary(spark, window)), to_pandas(btyd_summary(duck, window)), ["customer_id"])


@pytest.mark.postgres
def test_postgres_summary_equals_duckdb(postgres_con, canonical_tx):
    from _backends import assert_same_rows, load_both, to_pandas

    duck, pg = load_both(postgres_con, canonical_tx, "tx_btyd")
    options = dict(calibration_end="2023-06-30", time_unit="month")
    window = resolve_window(duck, **options)
    assert resolve_window(pg, **options) == window
    assert_same_rows(to_pandas(btyd_summary(pg, window)), to_pandas(btyd_summary(duck, window)), ["customer_id"])
    days = to_pandas(repeat_purchases_by_day(pg, window))
    assert days.repeat_purchases.sum() == to_pandas(repeat_purchases_by_day(duck, window)).repeat_purchases.sum()


def test_monetary_value_is_the_exact_mean_whatever_the_adding_order():
    """CDNOW customers 00120 and 00154: their repeat purchases average exactly 20.135 and 13.705. A float sum
    said 20.134999999999998 (20.13 at the cent) or 13.705000000000002 (13.71) depending on the order the
    engine added in, so a file and a workspace of the same log exported different cents."""
    from segmint.money import round_value

    lines = [("c120", d, a) for d, a in (("1997-01-01", 22.97), ("1997-02-22", 14.96), ("1997-03-30", 11.77),
                                         ("1997-05-17", 42.32), ("1997-12-18", 11.49))]
    lines += [("c154", d, a) for d, a in (("1997-01-01", 14.37), ("1997-05-29", 14.96), ("1997-09-27", 13.99),
                                          ("1997-11-06", 13.99), ("1998-04-26", 11.88))]
    rows = frame().iloc[:0]
    for i, (customer, day, amount) in enumerate(lines):
        rows.loc[i] = {**frame().iloc[0].to_dict(), "invoice_id": f"I{i}", "customer_id": customer,
                       "invoice_date": pd.Timestamp(day), "amount": amount, "unit_price": amount, "quantity": 1.0}
    for order in (rows, rows.iloc[::-1]):
        got = summarise(ibis.memtable(order.reset_index(drop=True)), calibration_end="1998-06-30")
        assert got.loc["c120"].monetary_value == 20.135  # (14.96 + 11.77 + 42.32 + 11.49) / 4 by hand
        assert got.loc["c154"].monetary_value == 13.705  # (14.96 + 13.99 + 13.99 + 11.88) / 4
        assert (round_value(20.135, 2), round_value(13.705, 2)) == (20.14, 13.70)  # half to even
