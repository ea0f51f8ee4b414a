"""Cleaning's shortcuts for large inputs change no value: the text-shape simplifications against the full
expressions, and streamed staging against a materialised copy (same report, same kept rows)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import segmint.clean as clean_module
import segmint.clean_counts as counts_module
from segmint import engine, read_transactions
from segmint.clean import clean_transactions, streamable
from segmint.schema import ColumnMapping
from segmint.textshape import ANY, assumption_counts, text_shape

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def mapped(columns: dict[str, list]) -> ibis.Table:
    frame = pd.DataFrame(columns)
    frame["_source"] = "sales.csv"
    frame["_row"] = pd.Series(range(2, len(frame) + 2), dtype="int64")
    return ibis.memtable(frame)


MESSY = {  # every value a shortcut could get wrong, each column messy in its own way
    "invoice_id": ["A1", " A2", "C3", "c4", "n/a", None, "A7 ", "C 8", "Cx9", f"{NBSP}-{NBSP}", "A11", "A11"],
    "customer_id": ["12345.0", " 7 ", "8a", "x.5", "-", "9", "10", "15", "11", f"{NBSP}NA{NBSP}", "13", "13"],
    "invoice_date": ["2023-04-01"] * 12,
    "amount": ["10", "-5", "3", "4", "5", "6", "7", "8", "9", "10", "11", "11"],
    "product_name": ["  tea ", "none", "", "cup", "NULL", "mug\t", None, "pot", "#N/A", "jar", "lid", "lid"],
    "country": ["UK", "UK ", "--", "FR", "FR", "DE", "DE", "na", "UK", "UK", "UK", "UK"],
}
CANCELLED = {  # unpadded ids with C's: the cancellation test is two byte ranges instead of a regex
    "invoice_id": ["C3", "c4", "Cx9", "C", "CC5", "C-1", "A1", "C0", "c9", "C:2", "B3", "D4"],
    "customer_id": ["7", "8", "9", "10", "11", "12", "13", "14", "15", "16", "17", "18"],
    "invoice_date": ["2023-04-01"] * 12,
    "amount": ["10", "5", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"],
}
CLEAN = {  # no padding, placeholders, dots or C's: every shortcut applies
    "invoice_id": ["A1", "A2", "A3", "A3"],
    "customer_id": ["7", "8", "9", "9"],
    "invoice_date": ["2023-04-01"] * 4,
    "amount": ["10", "-5", "3", "3"],
    "product_name": ["teapot", "mug", "cup", "cup"],
    "country": ["France", "Germany", "United Kingdom", "United Kingdom"],
}


def cleaned(con, columns: dict[str, list], monkeypatch=None, full: bool = False):
    if full:  # the full expressions, as before the shortcuts (nothing proved absent)
        monkeypatch.setattr(clean_module, "text_shape", lambda *args, **kwargs: ANY)
    result = clean_transactions(
        mapped(columns), ColumnMapping(fields={c: c for c in columns}), con=con, source="sales.csv"
    )
    if full:
        monkeypatch.undo()
    frame = result.table.execute()
    frame = frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)
    return frame, result.report.model_dump()


@pytest.mark.parametrize("columns", [MESSY, CLEAN, CANCELLED], ids=["messy", "clean", "cancelled"])
def test_shortcuts_give_the_full_expressions_result(con, monkeypatch, columns):
    shortcut_rows, shortcut_report = cleaned(con, columns)
    full_rows, full_report = cleaned(con, columns, monkeypatch, full=True)
    pd.testing.assert_frame_equal(shortcut_rows, full_rows)
    assert shortcut_report == full_report


def test_messy_values_are_still_cleaned(con):
    rows, report = cleaned(con, MESSY)
    # by hand: '-' and NBSP-NA customers are missing; 12345.0 -> 12345 and ' 7 ' -> '7'
    assert report["dropped"]["missing_customer"]["count"] == 2
    assert {"12345", "7"} <= set(rows.customer_id)
    assert set(rows.invoice_id) == {"A1", "A2", "A7", "C3", "c4", "C 8", "Cx9", "A11", "sales.csv:7"}  # synthesised
    returns = dict(zip(rows.invoice_id, rows.is_return, strict=True))
    assert returns["C3"] and returns["c4"] and not returns["C 8"] and not returns["Cx9"]
    assert set(rows.product_name.dropna()) == {"tea", "cup", "mug", "pot", "lid"}  # none/NULL/#N/A/'' are blank
    assert set(rows.country.dropna()) == {"UK", "FR", "DE"}  # '--' and 'na' are blank
    assert report["duplicates"] == 1


def test_cancellations_are_a_c_and_a_digit(con):
    rows, report = cleaned(con, CANCELLED)
    returns = dict(zip(rows.invoice_id, rows.is_return, strict=True))
    # by hand: ^[Cc]\d -- C3, c4, C0, c9 are cancellations; Cx9, C, CC5, C-1, C:2 (':' follows '9') are not
    assert {i for i, r in returns.items() if r} == {"C3", "c4", "C0", "c9"}
    assert report["returns"] == 4 and report["returns_value"] == -(10 + 5 + 8 + 9)


def test_shape_proves_only_what_no_row_contradicts(con):
    shape = text_shape(con, mapped(CLEAN), list(CLEAN), dots=("customer_id",), cs=("invoice_id",))
    assert shape.counts["rows"] == 4
    for column in ("invoice_id", "customer_id", "product_name", "country"):
        assert not shape.has(column, "null") and not shape.has(column, "placeholder")
        assert not shape.has(column, "padded")
    assert not shape.has("customer_id", ".") and not shape.has("invoice_id", "C")
    # one hostile value each is enough to keep the full expression for that column only
    for column, value, feature in [
        ("country", "Fra ", "padded"), ("country", f"{NBSP}ab", "placeholder"), ("country", "\t", "padded"),
        ("product_name", "n/a", "placeholder"), ("product_name", "  -  ", "placeholder"),
        ("product_name", None, "null"), ("customer_id", "9.0", "."), ("invoice_id", "c9", "C"), ("invoice_id", " C9", "C"),
    ]:  # fmt: skip
        columns = {k: list(v) for k, v in CLEAN.items()}
        columns[column][0] = value
        shape = text_shape(con, mapped(columns), list(columns), dots=("customer_id",), cs=("invoice_id",))
        assert shape.has(column, feature), (column, value)
        assert not shape.has("invoice_id" if column != "invoice_id" else "country", "padded")


def test_a_small_inputs_invoice_ids_are_counted_once_per_distinct_value(con, monkeypatch):
    """Below ``GROUPED_IDS_BELOW`` rows the invoice ids are grouped before their tests (each id tested once,
    weighted by its rows), above it every row is tested: the counts are the same either way."""
    import segmint.textshape as shape_module

    columns = {k: list(v) for k, v in MESSY.items()}
    read: list[ibis.Table] = []
    counted = shape_module.one_row_counts

    def one_row_counts(table: ibis.Table) -> dict[str, int]:
        read.append(table)
        return counted(table)

    monkeypatch.setattr(shape_module, "one_row_counts", one_row_counts)
    shapes = {}
    for below in (10**6, 0):  # 12 rows: grouped, then tested row by row
        monkeypatch.setattr(shape_module, "GROUPED_IDS_BELOW", below)
        read.clear()
        shapes[below] = text_shape(con, mapped(columns), ["invoice_id"], cs=("invoice_id",), rows=12)
        (aggregate,) = read
        grouped = isinstance(aggregate.op().parent, ibis.expr.operations.Aggregate)
        assert grouped == bool(below), below
    # by hand: " A2", "A7 " padded; "n/a" and the no-break-space dash placeholders; C3 c4 "C 8" Cx9 hold a C
    assert shapes[10**6].counts == shapes[0].counts
    assert {k: n for k, n in shapes[0].counts.items() if k != "rows"} == {
        "null:invoice_id": 1, "padded:invoice_id": 2, "placeholder:invoice_id": 2, "C:invoice_id": 4,
    }


def test_other_engines_keep_the_full_expressions():
    class NotDuckDB:
        name = "postgres"

    assert text_shape(NotDuckDB(), mapped(CLEAN), list(CLEAN)) is ANY


def test_streaming_is_chosen_for_copies_larger_than_half_the_memory_limit(monkeypatch):
    monkeypatch.delenv("SEGMINT_STAGING", raising=False)
    small = engine.connect(memory_limit="100MB")
    assert engine.memory_limit_bytes(small) == pytest.approx(100e6, rel=0.1)  # DuckDB reports 95.3 MiB
    assert not streamable(small, {}, 1_000)
    assert streamable(small, {}, 1_000_000)  # 200 MB staged > 50 MB
    assert not streamable(small, {"invoice_date": object()}, 1_000_000)  # parsed through a dictionary


def _hostile_parquet(path, copies: bool = True) -> None:
    """Typed columns with every kind of drop, repair and exact copies (Parquet: the streamed path)."""
    day = dt.datetime(2023, 4, 1, 10, 30)
    lines = [  # invoice, customer (float ids like pandas writes), date, qty, price, product, country
        ("536365", 12345.0, day, 6, 2.55, "TEA", "UK"),
        ("536365", 12345.0, day, 6, 2.55, "TEA", "UK"),  # exact copy: dropped as a duplicate
        ("536365", 12345.0, day, 6, 2.55, "TEA", "UK"),  # second copy
        ("536366", 12346.0, day + dt.timedelta(days=3), 2, 3.0, " MUG ", " FR"),  # padded text
        ("C536367", 12346.0, day + dt.timedelta(days=4), -1, 3.0, "MUG", "FR"),  # cancellation
        ("536368", None, day, 1, 1.0, "CUP", "UK"),  # missing customer
        ("536369", 12347.0, dt.datetime(1800, 1, 1), 1, 1.0, "CUP", "UK"),  # date out of range
        ("536370", 12347.0, day, 1, float("nan"), "CUP", "UK"),  # no price: missing amount
        ("n/a", 12348.0, day + dt.timedelta(days=9), 4, 5.0, None, "n/a"),  # placeholder invoice/country
        ("536371", 12348.5, day + dt.timedelta(days=10), 3, 2.0, "LID", "UK"),  # a non-whole id
    ]
    if not copies:
        del lines[1:3]
    columns = list(zip(*lines, strict=True))
    table = pa.table({
        "InvoiceNo": pa.array(columns[0], pa.string()), "CustomerID": pa.array(columns[1], pa.float64()),
        "InvoiceDate": pa.array(columns[2], pa.timestamp("us")), "Quantity": pa.array(columns[3], pa.int64()),
        "UnitPrice": pa.array(columns[4], pa.float64()), "Description": pa.array(columns[5], pa.string()),
        "Country": pa.array(columns[6], pa.string()),
    })  # fmt: skip
    pq.write_table(table, path)


def _read(path, staging: str, monkeypatch):
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    tx = read_transactions(path, con=engine.connect())
    frame = tx.table.execute()
    frame = frame.sort_values(list(frame.columns), na_position="first").reset_index(drop=True)
    return frame, tx.report.model_dump()


def test_streamed_staging_gives_the_materialised_result(tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    _hostile_parquet(path)
    streamed_rows, streamed_report = _read(path, "stream", monkeypatch)
    copied_rows, copied_report = _read(path, "materialize", monkeypatch)
    pd.testing.assert_frame_equal(streamed_rows, copied_rows)
    assert streamed_report == copied_report
    # by hand: 10 lines = 6 kept + 2 duplicates + missing customer + date out of range + missing amount
    assert streamed_report["rows_in"] == 10 and streamed_report["rows_kept"] == 5
    dropped = {name: d["count"] for name, d in streamed_report["dropped"].items()}
    assert dropped == {"duplicate": 2, "missing_customer": 1, "date_out_of_range": 1, "missing_amount": 1}
    assert streamed_report["duplicates"] == 2
    assert [e["_row"] for e in streamed_report["dropped"]["duplicate"]["examples"]] == [2, 3]
    assert sorted(streamed_rows.customer_id) == ["12345", "12346", "12346", "12348", "12348.5"]
    assert set(streamed_rows.country.dropna()) == {"UK", "FR"} and streamed_rows.country.isna().sum() == 1
    assert streamed_rows.is_return.sum() == 1 and streamed_rows.amount.sum() == pytest.approx(15.3 + 6 - 3 + 20 + 6)


def test_streamed_staging_without_duplicates_skips_the_duplicate_pass(tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    _hostile_parquet(path, copies=False)
    calls = []
    real = clean_module._duplicates
    monkeypatch.setattr(clean_module, "_duplicates", lambda *a, **k: calls.append(1) or real(*a, **k))
    streamed_rows, streamed_report = _read(path, "stream", monkeypatch)
    assert calls == []  # the counters' distinct line hashes showed no repeated line
    copied_rows, copied_report = _read(path, "materialize", monkeypatch)
    assert calls == [1]
    pd.testing.assert_frame_equal(streamed_rows, copied_rows)
    assert streamed_report == copied_report
    assert streamed_report["duplicates"] == 0 and streamed_report["rows_in"] == 8


def test_lines_alike_only_in_the_probe_key_go_to_the_exact_duplicate_pass(tmp_path, monkeypatch):
    """Same invoice, product and quantity at another price: not a duplicate, found exactly."""
    day = dt.datetime(2023, 4, 1, 10, 30)
    table = pa.table({
        "InvoiceNo": ["536365", "536365", "536366"], "CustomerID": ["17850", "17850", "17851"],
        "InvoiceDate": pa.array([day, day, day], pa.timestamp("us")), "StockCode": ["TEA", "TEA", "TEA"],
        "Quantity": [6, 6, 6], "UnitPrice": [2.55, 2.60, 2.55],
    })  # fmt: skip
    path = tmp_path / "sales.parquet"
    pq.write_table(table, path)
    calls = []
    real = clean_module._duplicates
    monkeypatch.setattr(clean_module, "_duplicates", lambda *a, **k: calls.append(1) or real(*a, **k))
    rows, report = _read(path, "stream", monkeypatch)
    assert calls == [1]  # the probe key (invoice, product, quantity) repeats: checked line by line
    assert report["duplicates"] == 0 and report["rows_kept"] == 3
    assert sorted(rows.unit_price) == [2.55, 2.55, 2.60]


def test_the_kept_lines_test_only_the_reasons_some_line_was_dropped_for(tmp_path, monkeypatch):
    # a line with no customer AND a date out of range is dropped as missing_customer (the first test it
    # meets): date_out_of_range counts no line, so its test is left out of the kept lines' filter
    path = tmp_path / "sales.parquet"
    day = dt.datetime(2023, 4, 1, 10, 30)
    pq.write_table(pa.table({
        "InvoiceNo": ["1", "2", "3"], "CustomerID": ["A", None, "B"],
        "InvoiceDate": pa.array([day, dt.datetime(1800, 1, 1), day], pa.timestamp("us")),
        "Quantity": [1, 1, 2], "UnitPrice": [2.0, 3.0, 4.0],
    }), path)  # fmt: skip
    rows, report = _read(path, "stream", monkeypatch)
    assert {n: d["count"] for n, d in report["dropped"].items()} == {"missing_customer": 1}
    assert list(rows.customer_id) == ["A", "B"] and list(rows.amount) == [2.0, 8.0]
    assert _read(path, "materialize", monkeypatch)[1] == report


def test_with_nothing_dropped_the_kept_lines_are_every_line_untested(tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    _hostile_parquet(path, copies=False)
    table = pa.Table.from_pylist([r for r in pq.read_table(path).to_pylist() if r["InvoiceNo"] in ("536365", "536366")])
    pq.write_table(table, path)
    monkeypatch.setenv("SEGMINT_STAGING", "stream")
    tx = read_transactions(path, con=engine.connect())
    assert tx.report.rows_kept == tx.report.rows_in == 2
    view = tx.con.con.execute(f"SELECT sql FROM duckdb_views() WHERE view_name = '{tx.table.get_name()}'").fetchone()[0]
    assert "missing_customer" not in view and "date_out_of_range" not in view  # no drop test per line
    assert sorted(tx.table.execute().customer_id) == ["12345", "12346"]


@pytest.mark.parametrize("copies", [True, False])
def test_inputs_too_large_for_the_lists_prove_by_a_distinct_count(tmp_path, monkeypatch, copies):
    path = tmp_path / "sales.parquet"
    _hostile_parquet(path, copies=copies)
    monkeypatch.setattr(counts_module, "PROOF_BYTES_PER_LINE", 10**12)  # no list of hashes fits
    calls = []
    real = clean_module._duplicates
    monkeypatch.setattr(clean_module, "_duplicates", lambda *a, **k: calls.append(1) or real(*a, **k))
    streamed_rows, streamed_report = _read(path, "stream", monkeypatch)
    # no per-group proof: a distinct count of the probe hashes proves no line repeats (no duplicate
    # pass) or sends cleaning to the duplicate pass
    assert calls == ([1] if copies else [])
    copied_rows, copied_report = _read(path, "materialize", monkeypatch)
    pd.testing.assert_frame_equal(streamed_rows, copied_rows)
    assert streamed_report == copied_report and streamed_report["duplicates"] == (2 if copies else 0)


def test_deferred_columns_count_only_nulls_and_assume_the_rest(con):
    columns = {k: list(v) for k, v in CLEAN.items()}
    columns["invoice_id"] = [" A1", "A2", None, "C4"]  # padded, plain, NULL, a C: none of it tested
    shape = text_shape(con, mapped(columns), list(columns), cs=("invoice_id",), deferred=("invoice_id",))
    assert shape.counts["null:invoice_id"] == 1 and shape.has("invoice_id", "null")
    assert not shape.has("invoice_id", "padded") and not shape.has("invoice_id", "placeholder")  # assumed
    assert shape.has("invoice_id", "C")  # not tested: kept possible
    assert shape.assumed == {("invoice_id", "padded"), ("invoice_id", "placeholder")}
    # the assumptions checked over the values (one row each here): one padded id, no placeholder
    values = mapped(columns)
    counted = engine.one_row_counts(values.aggregate(**assumption_counts(shape, values)))
    assert counted == {"assumed:padded:invoice_id": 1, "assumed:placeholder:invoice_id": 0}
    # replaced by the counts of every row: as the shape counted without deferring
    full = text_shape(con, values, ["invoice_id"], cs=("invoice_id",))
    replaced = shape.replaced(full)
    assert not replaced.assumed
    for feature in ("null", "padded", "placeholder", "C"):
        assert replaced.has("invoice_id", feature) == full.has("invoice_id", feature)
    assert not replaced.has("customer_id", "padded")  # the other columns as they were


def _invoices_parquet(path, invoices: list[str]) -> None:
    day = dt.datetime(2023, 4, 1, 10, 30)
    n = len(invoices)
    pq.write_table(pa.table({
        "InvoiceNo": invoices, "CustomerID": [f"{17850 + i % 2}" for i in range(n)],
        "InvoiceDate": pa.array([day + dt.timedelta(days=i) for i in range(n)], pa.timestamp("us")),
        "StockCode": [f"P{i}" for i in range(n)], "Quantity": [2] * n, "UnitPrice": [1.5 + i for i in range(n)],
    }), path)  # fmt: skip


@pytest.mark.parametrize(
    ("invoices", "shapes", "returns"),
    [
        (["536365", "C536366", "536367", "536368"], 1, ["C536366"]),  # as assumed: one shape, one grouping
        (["536365", " C536366", "536367 ", "536368"], 2, ["C536366"]),  # padded: a padded C is a cancellation
        (["536365", "n/a", "C536367", "536368"], 2, ["C536367"]),  # a placeholder id is synthesised
    ],
    ids=["plain", "padded", "placeholder"],
)
def test_streamed_invoice_ids_checked_over_the_groups(tmp_path, monkeypatch, invoices, shapes, returns):
    path = tmp_path / "sales.parquet"
    _invoices_parquet(path, invoices)
    calls = []
    real = clean_module.text_shape
    monkeypatch.setattr(clean_module, "text_shape", lambda *a, **k: calls.append(k.get("deferred")) or real(*a, **k))
    streamed_rows, streamed_report = _read(path, "stream", monkeypatch)
    assert calls[0] == ("invoice_id",) and len(calls) == shapes  # a contradicted assumption: counted again
    calls.clear()
    copied_rows, copied_report = _read(path, "materialize", monkeypatch)
    assert calls == [()]  # a materialised input counts every column's shape at once
    pd.testing.assert_frame_equal(streamed_rows, copied_rows)
    assert streamed_report == copied_report
    # by hand: every line kept; the returns are the cancellations, trimmed; a placeholder id is synthesised
    assert streamed_report["rows_kept"] == 4
    assert sorted(streamed_rows.invoice_id[streamed_rows.is_return]) == returns
    assert streamed_report["returns"] == 1
    synthesised = "n/a" in invoices
    assert ("sales.parquet:2" in set(streamed_rows.invoice_id)) == synthesised  # its line, the 2nd
    assert streamed_report["parsed"].get("invoice_ids_synthesised", 0) == int(synthesised)
