"""Distinct counts as bit sets (segmint.distinct): each customer's distinct products counted by hand, and
the same as grouping the (customer, product) pairs."""

from __future__ import annotations

import ibis
import pandas as pd

from segmint import distinct
from segmint.features import customer_line_stats


def _lines(con) -> ibis.Table:
    rows = [  # customer, product, amount, is_return
        ("A", "p1", 1.0, False), ("A", "p1", 2.0, False), ("A", "p2", 1.0, False),
        ("A", "p3", -1.0, True),  # a return: not a product bought
        ("B", "p3", 5.0, False), ("B", None, 1.0, False),  # no product id: not counted
        ("C", "p9", -2.0, True),  # only a return: no product
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["customer_id", "product_id", "amount", "is_return"])
    frame["invoice_date"] = pd.Timestamp("2023-01-05")
    frame["cost"] = None
    frame["cost"] = frame["cost"].astype("float64")
    frame["org_id"] = "X"
    frame["product_name"] = pd.Series([None] * len(frame), dtype="string")  # no names: a product is its id
    return con.create_table("lines", frame, temp=True)


def test_products_counted_as_bit_sets_by_hand():
    con = ibis.duckdb.connect()
    lines = _lines(con)
    coded = distinct.codes(con, lines.product_id, groups=3)
    assert coded is not None and coded[1] == 4  # p1, p2, p3, p9 (no NULL)
    assert sorted(coded[0].execute().code) == [0, 1, 2, 3]
    by_bits = customer_line_stats(lines, product_codes=coded).execute().set_index("customer_id")
    by_pairs = customer_line_stats(lines).execute().set_index("customer_id")
    # by hand: A bought p1 (twice) and p2, B p3, C nothing (a return only)
    assert by_bits.n_products.to_dict() == {"A": 2, "B": 1, "C": 0}
    pd.testing.assert_frame_equal(by_bits.sort_index(), by_pairs.sort_index())


def test_too_many_bits_or_another_engine_count_pairs(monkeypatch):
    con = ibis.duckdb.connect()
    lines = _lines(con)
    monkeypatch.setattr(distinct, "MAX_SET_BYTES", 1)  # 3 customers x 4 products / 8 = 1.5 bytes
    assert distinct.codes(con, lines.product_id, groups=3) is None

    class NotDuckDB:
        name = "postgres"

    assert distinct.codes(NotDuckDB(), lines.product_id, groups=3) is None
