"""Folders, globs and lists read as one table; Parquet; SQL; errors for missing/unsupported files."""

from __future__ import annotations

import sqlite3

import ibis
import pandas as pd
import pytest

from segmint.errors import InputError
from segmint.io import read_raw, read_sql


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def write_parts(folder):
    folder.mkdir()
    (folder / "2023.csv").write_text("Customer,Date,Amount\nA,2023-01-01,1.5\nB,2023-02-01,2\n")
    (folder / "2024.csv").write_text("Customer;Date;Amount;Country\nA;2024-01-01;3;UK\n")
    (folder / "notes.md").write_text("not data")


def test_folder_union_by_column_name(con, tmp_path):
    write_parts(tmp_path / "sales")
    raw = read_raw(tmp_path / "sales", con=con)
    df = raw.table.order_by(["_source", "_row"]).execute()
    assert raw.columns == ["Customer", "Date", "Amount", "Country"]
    assert df["_source"].tolist() == ["2023.csv", "2023.csv", "2024.csv"]
    assert df["_row"].tolist() == [2, 3, 2]
    assert df["Amount"].tolist() == ["1.5", "2", "3"]
    assert df["Country"].isna().tolist() == [True, True, False]


def test_glob_and_list_give_the_same_rows(con, tmp_path):
    write_parts(tmp_path / "sales")
    by_glob = read_raw(str(tmp_path / "sales" / "*.csv"), con=con).table.count().execute()
    by_list = read_raw([tmp_path / "sales" / "2023.csv", tmp_path / "sales" / "2024.csv"], con=con)
    assert by_glob == by_list.table.count().execute() == 3


def test_missing_and_unsupported_inputs(con, tmp_path):
    with pytest.raises(InputError, match="nope.csv: file not found"):
        read_raw(tmp_path / "nope.csv", con=con)
    with pytest.raises(InputError, match="no files match"):
        read_raw(str(tmp_path / "*.xlsx"), con=con)
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x00\x01\x02\x03" * 10)
    with pytest.raises(InputError, match=r"unsupported file type '.bin'; supported: .*\.csv.*\.xlsx"):
        read_raw(binary, con=con)


def test_parquet_keeps_native_types(con, tmp_path):
    path = tmp_path / "tx.parquet"
    pd.DataFrame({"customer_id": ["001", "002"], "amount": [1.25, 2.5]}).to_parquet(path)
    raw = read_raw(path, con=con)
    df = raw.table.order_by("_row").execute()
    assert df["customer_id"].tolist() == ["001", "002"]
    assert df["amount"].tolist() == [1.25, 2.5]
    assert df["_row"].tolist() == [1, 2]


def test_read_sql_table_and_query(con, tmp_path):
    path = tmp_path / "shop.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sales (CustomerID TEXT, InvoiceDate TEXT, Amount REAL)")
        db.executemany("INSERT INTO sales VALUES (?, ?, ?)", [("001", "2023-01-01", 5.5), ("002", "2023-01-02", 7.0)])
    raw = read_sql(str(path), "sales", con=con)
    df = raw.table.order_by("_row").execute()
    assert df["CustomerID"].tolist() == ["001", "002"] and df["Amount"].sum() == 12.5
    assert read_sql(str(path), "SELECT * FROM sales WHERE Amount > 6").table.count().execute() == 1
    with pytest.raises(InputError, match="missing.*tables: sales"):
        read_sql(str(path), "missing")
    with pytest.raises(InputError, match="not found"):
        read_sql(str(tmp_path / "none.sqlite"), "sales")


def test_non_duckdb_backend_receives_the_rows(tmp_path):
    """Readers load through a private DuckDB and hand Arrow data to other backends (SQLite here)."""
    path = tmp_path / "report.csv"
    path.write_text("Title\n\nCustomer,Amount\nA,1.5\nB,2\nTotal,3.5\n")
    raw = read_raw(path, con=ibis.sqlite.connect())
    df = raw.table.order_by("_row").execute()
    assert df[["Customer", "Amount", "_row"]].values.tolist() == [["A", "1.5", 4], ["B", "2", 5]]
    assert raw.skipped == {"total_row": 1}


def test_database_errors_never_show_the_password(con):
    from segmint.errors import InputError
    from segmint.io import read_sql

    with pytest.raises(InputError) as info:
        read_sql("postgresql://shop:s3cret@127.0.0.1:1/sales", "orders", con=con)
    assert "s3cret" not in str(info.value)
    assert "shop:***@127.0.0.1" in str(info.value)
