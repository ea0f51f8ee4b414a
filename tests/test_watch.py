"""segmint watch: files are imported once stable, again when changed, never half-written; database re-reads."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.errors import InputError
from segmint.watch import FolderWatcher

HEADER = "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"


def _rows(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select invoice_id, customer_id, amount from transactions order by invoice_id").fetchall()
    finally:
        con.close()


def test_a_file_is_ready_only_once_its_size_is_stable(tmp_path):
    export = tmp_path / "sales.csv"
    export.write_text(HEADER + "1,a,2023-01-02,1,10\n")
    (tmp_path / ".hidden.csv").write_text(HEADER)
    (tmp_path / "next.csv.part").write_text(HEADER)
    (tmp_path / "notes.docx").write_text("x")
    watcher = FolderWatcher(tmp_path, settle_seconds=2)
    assert watcher.candidates() == [export]
    assert watcher.ready(now=0) == []  # first sight: wait
    assert watcher.ready(now=1) == []
    with export.open("a") as handle:  # the exporter is still writing
        handle.write("2,b,2023-01-03,1,5\n")
    assert watcher.ready(now=2.5) == []  # changed: the wait starts again
    assert watcher.ready(now=4) == []
    assert watcher.ready(now=4.6) == [export]
    watcher.imported(export)
    assert watcher.ready(now=10) == []  # imported and unchanged
    with export.open("a") as handle:
        handle.write("3,c,2023-01-04,1,7\n")
    assert watcher.ready(now=11) == []
    assert watcher.ready(now=13.5) == [export]  # changed file: imported again
    with pytest.raises(InputError, match="not a folder"):
        FolderWatcher(tmp_path / "missing")


def test_watch_once_imports_new_and_changed_files_with_ingest_identity(tmp_path):
    inbox, workspace = tmp_path / "inbox", tmp_path / "shop.duckdb"
    inbox.mkdir()
    (inbox / "jan.csv").write_text(HEADER + "J1,a,2023-01-02,2,10\nJ2,b,2023-01-05,1,4\n")
    (inbox / "feb.csv").write_text(HEADER + "F1,a,2023-02-02,1,3\n")
    args = ["watch", str(inbox), "--workspace", str(workspace), "--once", "--settle", "0.2"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "jan.csv: 2 new rows added" in first.output and "feb.csv: 1 new rows added" in first.output
    assert _rows(workspace) == [("F1", "a", 3.0), ("J1", "a", 20.0), ("J2", "b", 4.0)]
    # the nightly export grows: only its new line is added; an unchanged file adds nothing
    (inbox / "feb.csv").write_text(HEADER + "F1,a,2023-02-02,1,3\nF2,c,2023-02-09,5,1\n")
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "feb.csv: 1 new rows added" in second.output and "1 already there" in second.output
    assert _rows(workspace)[-1] == ("J2", "b", 4.0) and ("F2", "c", 5.0) in _rows(workspace)
    assert len(_rows(workspace)) == 4


def test_a_bad_file_is_reported_and_the_others_imported(tmp_path):
    inbox, workspace = tmp_path / "inbox", tmp_path / "shop.duckdb"
    inbox.mkdir()
    (inbox / "good.csv").write_text(HEADER + "G1,a,2023-01-02,1,10\n")
    (inbox / "junk.csv").write_text("nothing,useful\n1,2\n")
    done = CliRunner().invoke(app, ["watch", str(inbox), "--workspace", str(workspace), "--once", "--settle", "0"])
    assert done.exit_code == 0, done.output
    assert "not imported" in done.output and "good.csv: 1 new rows added" in done.output


@pytest.mark.postgres
def test_watch_rereads_a_database_table(postgres_url, postgres_con, tmp_path):
    import pandas as pd
    import pyarrow as pa

    sales = pd.DataFrame({"InvoiceNo": ["1", "2"], "CustomerID": ["a", "b"],
                          "InvoiceDate": pd.to_datetime(["2023-01-02", "2023-01-03"]), "Amount": [10.0, 4.0]})
    postgres_con.create_table("watched_sales", pa.Table.from_pandas(sales, preserve_index=False), overwrite=True)
    workspace = tmp_path / "shop.duckdb"
    args = ["watch", "--source", f"{postgres_url}?table=watched_sales", "--workspace", str(workspace), "--once"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "2 new rows added" in first.output
    more = pd.DataFrame({"InvoiceNo": ["3"], "CustomerID": ["c"], "InvoiceDate": pd.to_datetime(["2023-01-04"]),
                         "Amount": [7.0]})
    postgres_con.insert("watched_sales", pa.Table.from_pandas(more, preserve_index=False))
    second = CliRunner().invoke(app, args)
    assert "1 new rows added" in second.output and "2 already there" in second.output
    assert [r[0] for r in _rows(workspace)] == ["1", "2", "3"]


def test_watch_rereads_a_sqlite_table(tmp_path):
    """A SQLite table is watched like a PostgreSQL one: a re-read adds only the rows not yet there."""
    import sqlite3

    db, workspace = tmp_path / "shop.db", tmp_path / "shop.duckdb"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE sales (InvoiceNo TEXT, CustomerID TEXT, InvoiceDate TEXT, Quantity INT, UnitPrice REAL)")
        con.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?)", [("S1", "a", "2023-01-02", 2, 10.0)])
    args = ["watch", "--workspace", str(workspace), "--once", "--source", f"sqlite://{db}?table=sales"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    with sqlite3.connect(db) as con:
        con.execute("INSERT INTO sales VALUES ('S2', 'b', '2023-01-03', 1, 4.0)")
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "1 new rows added" in second.output and "1 already there" in second.output
    assert _rows(workspace) == [("S1", "a", 20.0), ("S2", "b", 4.0)]
    assert "sqlite:///shop.db" in " ".join(CliRunner().invoke(app, ["watch", "--help"]).output.replace("│", " ").split())
