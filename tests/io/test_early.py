"""The command's early read (segmint.io.early): a small text file is loaded by DuckDB on a second thread
before Ibis is imported, and the reader takes that table only when it would have run the same read."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import ibis
import pytest

from segmint.errors import InputError

SALES = (
    "InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\n"
    "A1,c1,2024-01-05,2,10.50\nA2,c2,2024-02-05,1,3.25\nA3,c1,2024-03-01,1,8.00\n"
)


def test_the_command_reads_a_small_csv_before_ibis_is_imported_and_the_reader_takes_it(tmp_path):
    source, out = tmp_path / "sales.csv", tmp_path / "out"
    source.write_text(SALES)
    script = textwrap.dedent("""
        import atexit, sys
        from segmint.io import early
        started = early.start
        def start(*args, **kwargs):
            begun = started(*args, **kwargs)
            print("started", begun, "ibis" in sys.modules, early._STARTED["thread"].is_alive() or "done", flush=True)
            return begun
        early.start = start
        atexit.register(lambda: print("taken", early._STARTED.get("taken"), "error" in early._STARTED, flush=True))
        from segmint.cli import main
        sys.argv = ["segmint", *sys.argv[1:]]
        main()
    """)
    run = subprocess.run([sys.executable, "-c", script, "analyze", str(source), "--scheme", "rfm", "--out", str(out)],
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    assert lines[0].startswith("started True False")  # started, and Ibis not imported yet
    assert lines[-1] == "taken True False"  # the reader took the table, the read did not fail
    # by hand: c1 bought 2 x 10.50 + 8.00 on two days, the last 2024-03-01 (snapshot 03-02); c2 3.25 once
    features = (out / "features.csv").read_text()
    assert "c1,1,2,29.00,29.00,14.50," in features and "c2,26,1,3.25,3.25,3.25," in features


@pytest.fixture
def default_database():
    """DuckDB's default database as the command has it (``own_default_database``), restored afterwards."""
    import duckdb

    from segmint import engine
    from segmint.duckdb_backend import own_default_database
    from segmint.io import early

    default = duckdb.default_connection()
    settings = "SELECT current_setting('memory_limit'), current_setting('threads'), current_setting('temp_directory')"
    before = default.execute(settings).fetchone()
    own_default_database()
    try:
        yield engine
    finally:
        early._STARTED.clear()
        engine.close_connections()
        from segmint.duckdb_backend import _DEFAULT_DATABASE_USE

        _DEFAULT_DATABASE_USE.clear()
        default.execute(f"SET GLOBAL memory_limit = '{before[0]}'")
        default.execute(f"SET GLOBAL threads = {before[1]}")
        default.execute(f"SET GLOBAL temp_directory = '{before[2]}'")


def _rows(raw):
    return [tuple(row) for row in raw.table.order_by("_row").to_pyarrow().to_pylist()]


def test_a_read_the_reader_would_not_run_is_dropped_and_read_again(default_database, tmp_path):
    from segmint.io import early, read_raw
    from segmint.schema import ColumnMapping

    source = tmp_path / "sales.csv"
    source.write_text("Report of sales\n" + SALES)
    assert early.start(source)  # sniffed without a mapping: the header on line 2
    con = default_database.connect()
    mapping = ColumnMapping(header_row=0)  # the mapping says line 1: another read
    raw = read_raw(source, con=con, mapping=mapping)
    assert early._STARTED["taken"] and raw.columns[0].startswith("Report of sales")
    tables = con.raw_sql("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
    assert ("segmint_early_read",) not in tables  # the early read's table was dropped
    expected = read_raw(source, con=ibis.duckdb.connect(), mapping=mapping)  # no early read
    assert raw.columns == expected.columns and _rows(raw) == _rows(expected)


def test_an_early_read_that_fails_gives_the_readers_own_error(default_database, tmp_path):
    from segmint.io import early, read_raw

    source = tmp_path / "sales.txt"
    source.write_text("customer date amount\n" + "c1 20240105 10.5\n" * 300 + "c2 20240106 3 extra\n")  # past the sample
    assert early.start(source)
    con = default_database.connect()
    with pytest.raises(InputError, match="1 line\\(s\\) have more than 3 space-separated fields"):
        read_raw(source, con=con)
    assert "error" in early._STARTED and early._STARTED["taken"]


def test_files_the_plain_read_does_not_take_are_not_started(tmp_path):
    from segmint.io import early

    latin = tmp_path / "ventes.csv"
    latin.write_bytes("Client;Montant\nJosé;1,5\nRenée;2\n".encode("cp1252"))  # transcoded first by the reader
    book = tmp_path / "sales.xlsx"
    book.write_bytes(b"PK\x03\x04")
    try:
        assert not early.start(latin) and not early.start(book) and not early.start(tmp_path / "missing.csv")
        assert early._STARTED == {}
    finally:
        early._STARTED.clear()
