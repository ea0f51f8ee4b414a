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
