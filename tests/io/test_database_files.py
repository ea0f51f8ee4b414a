"""Sales tables in SQLite and DuckDB database files, named by URL (``sqlite:///shop.db?table=sales``),
and DuckDB databases that are not segmint workspaces."""

from __future__ import annotations

import sqlite3

import duckdb
import pytest
from typer.testing import CliRunner

from segmint.api import read_transactions
from segmint.cli import app
from segmint.errors import InputError

LINES = [("001", "2024-01-05", 12.5), ("001", "2024-02-01", 7.25), ("002", "2024-01-20", 30.0)]


def write_sqlite(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sales (CustomerID TEXT, InvoiceDate TEXT, Amount REAL)")
        db.executemany("INSERT INTO sales VALUES (?, ?, ?)", LINES)
    return path


def write_duckdb(path, table="sales"):
    db = duckdb.connect(str(path))
    db.execute(f"CREATE TABLE {table} (CustomerID VARCHAR, InvoiceDate VARCHAR, Amount DOUBLE)")
    db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?)", LINES)
    db.close()
    return path


def totals(tx):
    df = tx.table.execute()
    return sorted(df["customer_id"].unique()), round(float(df["amount"].sum()), 2), len(df)


@pytest.mark.parametrize("write, scheme", [(write_sqlite, "sqlite"), (write_duckdb, "duckdb")])
def test_a_database_file_url_reads_its_table(tmp_path, monkeypatch, write, scheme):
    path = write(tmp_path / f"shop.{scheme}")
    expected = (["001", "002"], 12.5 + 7.25 + 30.0, 3)
    assert totals(read_transactions(f"{scheme}:///{path}?table=sales")) == expected  # sqlite:////abs/shop
    assert totals(read_transactions(f"{scheme}://{path}?table=sales")) == expected  # sqlite:///abs/shop
    monkeypatch.chdir(tmp_path)
    assert totals(read_transactions(f"{scheme}:///{path.name}?table=sales")) == expected  # relative, SQLAlchemy's way


def test_a_missing_database_file_is_not_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="database file not found"):
        read_transactions(f"sqlite:///{tmp_path}/none.db?table=sales")
    assert not (tmp_path / "none.db").exists()


def test_an_unknown_table_lists_the_tables(tmp_path):
    path = write_sqlite(tmp_path / "shop.db")
    with pytest.raises(InputError, match="cannot read 'orders': no such table; tables: sales"):
        read_transactions(f"sqlite://{path}?table=orders")


def test_cli_source_reads_a_sqlite_table(tmp_path):
    path = write_sqlite(tmp_path / "shop.sqlite")
    result = CliRunner().invoke(app, ["analyze", "--source", f"sqlite://{path}?table=sales", "-s", "rfm"])
    assert result.exit_code == 0, result.output
    assert "revenue: 49.75" in result.output and "customers: 2" in result.output


@pytest.mark.parametrize("table", ["sales", "transactions"])
def test_a_duckdb_database_that_is_no_workspace_says_how_to_read_its_table(tmp_path, table):
    path = write_duckdb(tmp_path / "shop.duckdb", table)
    with pytest.raises(InputError) as info:
        read_transactions(path)
    assert "not a segmint workspace" in str(info.value)
    assert info.value.fix.example == f"duckdb:///{path}?table={table}"
    if table == "transactions":  # the workspace's table name: importing would write into the user's table
        (tmp_path / "more.csv").write_text("customer,date,amount\n003,2024-03-01,5\n")
        result = CliRunner().invoke(app, ["ingest", str(tmp_path / "more.csv"), "-w", str(path)])
        assert result.exit_code != 0 and "not a segmint workspace" in result.output
    db = duckdb.connect(str(path), read_only=True)  # nothing written into the user's database
    assert db.execute("SELECT table_name FROM information_schema.tables").fetchall() == [(table,)]
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (3,)
    db.close()
    assert totals(read_transactions(info.value.fix.example)) == (["001", "002"], 49.75, 3)
