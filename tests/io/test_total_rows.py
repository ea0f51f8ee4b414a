"""Total and blank lines are found by the reader's filtered counts in any of the three label columns."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from segmint import engine
from segmint.io import read_raw


def test_total_and_blank_lines_in_any_label_column(tmp_path):
    rows = [  # invoice, product, description, quantity
        ("536365", "85123A", "WHITE HANGING HEART", 6),
        ("536366", "TOTAL", "sum of the day", None),  # total label in the 2nd label column
        ("536367", "22633", "  Sub-Total: ", None),  # padded subtotal in the 3rd
        ("grand total", None, None, 12),  # in the 1st, lower case
        (None, None, None, None),  # blank line
        ("536368", "22632", "TEA SET TOTAL", 2),  # 'total' inside a description: a sale
        ("536369", "22634", "Totally red", 1),  # a sale
        ("536370", "22635", "SMALL TEA SET", 3),  # starts with S, not a total
    ]
    columns = list(zip(*rows, strict=True))
    path = tmp_path / "sales.parquet"
    pq.write_table(pa.table({
        "InvoiceNo": pa.array(columns[0], pa.string()), "StockCode": pa.array(columns[1], pa.string()),
        "Description": pa.array(columns[2], pa.string()), "Quantity": pa.array(columns[3], pa.int64()),
    }), path)  # fmt: skip
    raw = read_raw(path, con=engine.connect())
    assert raw.skipped == {"blank": 1, "total_row": 3}
    assert sorted(e["_row"] for e in raw.skipped_examples["total_row"]) == [2, 3, 4]  # a Parquet row numbers from 1
    kept = raw.table.to_pyarrow().column("InvoiceNo").to_pylist()
    assert kept == ["536365", "536368", "536369", "536370"]


def _parquet(path, invoices, products, descriptions, row_group_size=None) -> None:
    pq.write_table(pa.table({
        "InvoiceNo": pa.array(invoices, pa.string()), "StockCode": pa.array(products, pa.string()),
        "Description": pa.array(descriptions, pa.string()), "Quantity": pa.array([1] * len(invoices), pa.int64()),
    }), path, row_group_size=row_group_size)  # fmt: skip


def test_a_total_line_past_the_sample_is_found_in_a_column_tested_hull_first(tmp_path):
    """Ids that start with digits or C in the sample (the first 500 rows) have their label test led by
    two comparisons Parquet's statistics decide per row group; a total label past the sample is still
    found (its row group holds a value in the hull), and the other row groups' rows are still kept."""
    from segmint.io.base import _outside_the_hull

    n = 1200
    invoices = [f"{536365 + i}" if i % 7 else f"C{536365 + i}" for i in range(n)]
    invoices[1000] = "Grand Total"
    path = tmp_path / "sales.parquet"
    _parquet(path, invoices, ["85123A"] * n, ["TEA SET"] * n, row_group_size=300)
    raw = read_raw(path, con=engine.connect())
    assert raw.skipped == {"total_row": 1}
    assert [e["_row"] for e in raw.skipped_examples["total_row"]] == [1001]
    assert raw.table.count().execute() == n - 1
    # by hand: the ids and product codes start with digits, A-F or C; the descriptions with T (in the hull)
    raw = read_raw(path, con=engine.connect())
    sample = raw.sample_columns(500)
    assert _outside_the_hull(sample, ["InvoiceNo", "StockCode", "Description"]) == {"InvoiceNo", "StockCode"}


def test_hull_first_or_not_the_same_lines_are_dropped(tmp_path, monkeypatch):
    import segmint.io.base as base

    invoices = ["1", "total", "2", "Sub-total", " grand total ", "C3", "u1", "!x", "F9"]
    path = tmp_path / "sales.parquet"
    _parquet(path, invoices, ["A"] * len(invoices), ["B"] * len(invoices))
    dropped = {}
    for hulled in (True, False):
        monkeypatch.setattr(base, "_outside_the_hull", lambda sample, labels, on=hulled: set(labels) if on else set())
        raw = read_raw(path, con=engine.connect())
        dropped[hulled] = (raw.skipped, sorted(e["_row"] for e in raw.skipped_examples["total_row"]))
    assert dropped[True] == dropped[False] == ({"total_row": 3}, [2, 4, 5])  # by hand


def test_blank_lines_found_by_a_text_witness_as_two_counts(tmp_path):
    """A CSV file has no typed column: its first column is the blank-line witness, counted as NULLs and
    as values below '!' that strip to nothing (two counts Parquet's statistics decide); a blank line past
    the sample is still found, and a padded value is not blank."""
    n = 900
    invoices = [f"{536365 + i}" for i in range(n)]
    invoices[700] = None  # a blank line: every cell empty
    invoices[800] = " 536999"  # padded, not blank
    path = tmp_path / "sales.csv"
    lines = ["InvoiceNo,StockCode,Description,Quantity"]
    for i, invoice in enumerate(invoices):
        lines.append(",,," if invoice is None else f'"{invoice}",85123A,TEA SET,{i % 5 + 1}')
    path.write_text("\n".join(lines) + "\n")
    raw = read_raw(path, con=engine.connect())
    assert raw.skipped == {"blank": 1}
    assert [e["_row"] for e in raw.skipped_examples["blank"]] == [702]  # the header is row 1
    assert raw.table.count().execute() == n - 1
