"""Small results as Python values (segmint.results): the same values Arrow's to_pylist gives, from
DuckDB's cursor for the types it returns alike, through Arrow for the others."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import ibis
import pytest

from segmint import engine
from segmint.results import Columns, _from_cursor, columns, rows


@pytest.fixture
def con():
    connection = engine.connect()
    yield connection
    connection.disconnect()


def _table(con, select: str) -> ibis.Table:
    con.raw_sql(f"CREATE OR REPLACE TEMP TABLE t AS {select}")
    return con.table("t")


def test_every_cursor_type_gives_what_arrow_gives(con):
    t = _table(con, """SELECT * FROM (VALUES
        (1::TINYINT, 2::BIGINT, 3::UINTEGER, 1.5::DOUBLE, 0.25::REAL, 'x', true, DATE '2024-02-29',
         TIMESTAMP '2024-01-05 10:00:00.123456', 10.50::DECIMAL(4,2), 'nan'::DOUBLE),
        (NULL, -2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, -0.01::DECIMAL(4,2), 'inf'::DOUBLE))
        AS v(i8, i64, huge, f64, f32, s, b, d, ts, dec, special)""")
    assert _from_cursor(t) is not None  # every column from the cursor
    got = rows(t)
    assert got == [
        {"i8": 1, "i64": 2, "huge": 3, "f64": 1.5, "f32": 0.25, "s": "x", "b": True, "d": dt.date(2024, 2, 29),
         "ts": dt.datetime(2024, 1, 5, 10, 0, 0, 123456), "dec": Decimal("10.50"), "special": got[0]["special"]},
        {"i8": None, "i64": -2, "huge": None, "f64": None, "f32": None, "s": None, "b": None, "d": None,
         "ts": None, "dec": Decimal("-0.01"), "special": math.inf},
    ]  # fmt: skip
    assert math.isnan(got[0]["special"]) and str(got[0]["dec"]) == "10.50"
    expected = t.to_pyarrow().to_pylist()
    assert [{k: repr(v) for k, v in r.items()} for r in got] == [{k: repr(v) for k, v in r.items()} for r in expected]
    assert columns(t)["i64"] == [2, -2] and columns(t.filter(t.i64 > 5)) == {name: [] for name in t.columns}


def test_other_types_come_through_arrow(con):
    t = _table(con, "SELECT [1, 2] AS items, {'a': 1} AS pair, TIMESTAMPTZ '2024-01-01 00:00:00+00' AS zoned")
    assert _from_cursor(t) is None
    assert rows(t) == t.to_pyarrow().to_pylist()
    assert rows(t)[0]["items"] == [1, 2]
    # a stored HUGEINT is Ibis' decimal(38, 0): the cursor's int is not what Arrow gives
    huge = _table(con, "SELECT 3::HUGEINT AS n")
    assert _from_cursor(huge) is None and rows(huge) == [{"n": Decimal(3)}]


def test_a_result_typed_otherwise_than_ibis_says_comes_through_arrow(con):
    """DuckDB returns a DECIMAL where Ibis' schema says float64: Arrow casts it, as before."""
    t = _table(con, "SELECT 1.25::DECIMAL(5,2) AS x")
    as_float = t.select(x=t.x.cast("float64"))
    sql = f"SELECT CAST(1.25 AS DECIMAL(5,2)) AS x FROM ({con.compile(as_float)})"  # the cast undone
    raw = con.sql(sql, schema=ibis.schema({"x": "float64"}))
    assert _from_cursor(raw) is None
    assert rows(raw) == [{"x": 1.25}] and isinstance(rows(raw)[0]["x"], float)


def test_columns_print_and_turn_into_arrow_with_their_types():
    schema = ibis.schema({"segment": "string", "customers": "int64", "share": "float64"})
    table = Columns(schema, {"segment": ["A", "B"], "customers": [3, 1], "share": [0.75, None]})
    assert table.num_rows == 2 and table.num_columns == 3 and table.column_names == ["segment", "customers", "share"]
    assert table.to_pylist() == [
        {"segment": "A", "customers": 3, "share": 0.75}, {"segment": "B", "customers": 1, "share": None}
    ]
    arrow = table.to_arrow()
    assert [str(t) for t in arrow.schema.types] == ["string", "int64", "double"]
    assert arrow.to_pylist() == table.to_pylist()
