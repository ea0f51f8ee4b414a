"""Write benchmark data: raw Online-Retail-like sales and the same lines as canonical transactions.

    python -m benchmarks.generate --rows 1e6 --out benchmarks/data [--format parquet,csv]

Rows come from ``segmint.datasets`` (clean variant: native dates and numbers), generated and written
block by block so 5e7 rows need the memory of one block. Two files per size:

* ``raw_<rows>.parquet``: the columns a shop exports (InvoiceNo, StockCode, Quantity, InvoiceDate,
  UnitPrice, UnitCost, CustomerID, Country, ...), read by the pandas recipe and ``segmint.analyze``;
* ``transactions_<rows>.parquet``: the same lines as ``segmint.schema`` canonical columns, read by
  the feature/RFM cases and the DuckDB SQL floor.

``<rows>`` is the requested size; the generator picks the customer count from a pilot block, so
the actual number of lines is close to it (within a few percent), and printed.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from segmint import datasets
from segmint.schema import CANONICAL_COLUMNS
from segmint.util import atomic_path

log = logging.getLogger("benchmarks.generate")

SEED = 42
ARROW_SCHEMA = pa.schema(
    [
        ("invoice_id", pa.string()),
        ("line_no", pa.int64()),
        ("customer_id", pa.string()),
        ("invoice_date", pa.timestamp("us")),
        ("product_id", pa.string()),
        ("product_name", pa.string()),
        ("quantity", pa.float64()),
        ("unit_price", pa.float64()),
        ("amount", pa.float64()),
        ("cost", pa.float64()),
        ("country", pa.string()),
        ("org_id", pa.string()),
        ("is_return", pa.bool_()),
    ]
)
assert tuple(ARROW_SCHEMA.names) == CANONICAL_COLUMNS
RAW_SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("us")),
        ("UnitPrice", pa.float64()),
        ("UnitCost", pa.float64()),
        ("CustomerID", pa.string()),
        ("Country", pa.string()),
        ("Org", pa.string()),
    ]
)


def parse_rows(text: str) -> int:
    """Row count from ``1e6``, ``10_000_000`` or ``5e7``."""
    value = float(text.replace("_", ""))
    if value < 1 or value != int(value):
        raise argparse.ArgumentTypeError(f"--rows {text!r}: expected a positive whole number like 1e6")
    return int(value)


def rows_label(n_rows: int) -> str:
    """Short label for file names and tables: 1000000 -> '1e6', 25000 -> '25000'."""
    exponent = len(str(n_rows)) - 1
    mantissa = n_rows / 10**exponent
    if mantissa == int(mantissa) and exponent >= 4:
        return f"{int(mantissa)}e{exponent}"
    return str(n_rows)


def customers_for(n_rows: int, seed: int = SEED) -> int:
    """Customers to generate for about ``n_rows`` lines (lines per customer from a pilot block)."""
    pilot = next(datasets.iter_transaction_chunks(2000, seed=seed, messy=False))
    return max(1, math.ceil(n_rows * 2000 / len(pilot)))


def canonical(raw: pd.DataFrame) -> pa.Table:
    """The canonical lines of a clean raw chunk (what segmint's cleaning produces from it)."""
    quantity = raw["Quantity"].astype("float64")
    invoice = raw["InvoiceNo"].astype(str)
    frame = pd.DataFrame(
        {
            "invoice_id": invoice,
            "line_no": raw.groupby("InvoiceNo", sort=False).cumcount().astype("int64") + 1,
            "customer_id": raw["CustomerID"].astype(str),
            "invoice_date": raw["InvoiceDate"],
            "product_id": raw["StockCode"].astype(str),
            "product_name": raw["Description"].astype(str),
            "quantity": quantity,
            "unit_price": raw["UnitPrice"],
            "amount": quantity * raw["UnitPrice"],
            "cost": quantity * raw["UnitCost"],
            "country": raw["Country"].astype(str),
            "org_id": raw["Org"].astype(str),
            "is_return": invoice.str.startswith("C") | (quantity < 0),
        }
    )
    return pa.Table.from_pandas(frame, schema=ARROW_SCHEMA, preserve_index=False)


def iter_chunks(n_rows: int, *, seed: int = SEED) -> Iterator[tuple[pa.Table, pa.Table]]:
    """(raw, canonical) Arrow tables block by block for a data set of about ``n_rows`` lines."""
    for raw in datasets.iter_transaction_chunks(customers_for(n_rows, seed), seed=seed, messy=False):
        yield pa.Table.from_pandas(raw, schema=RAW_SCHEMA, preserve_index=False), canonical(raw)


def paths_for(n_rows: int, out: Path, fmt: str = "parquet") -> tuple[Path, Path]:
    """(raw file, canonical file) for a data set of ``n_rows``."""
    label = rows_label(n_rows)
    return out / f"raw_{label}.{fmt}", out / f"transactions_{label}.{fmt}"


def write(n_rows: int, out: Path, *, formats: tuple[str, ...] = ("parquet",), seed: int = SEED) -> list[Path]:
    """Write the raw and canonical files of about ``n_rows`` lines in each format; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    targets = [(path, schema) for fmt in formats for path, schema in zip(paths_for(n_rows, out, fmt),
                                                                            (RAW_SCHEMA, ARROW_SCHEMA))]  # fmt: skip
    with _Writers(targets) as writers:
        for raw, canonical_lines in iter_chunks(n_rows, seed=seed):
            for (_, schema), writer in zip(targets, writers, strict=True):
                writer.write_table(raw if schema is RAW_SCHEMA else canonical_lines)
    return [path for path, _ in targets]


class _Writers:
    """One Parquet/CSV writer per (path, schema), on temp paths renamed into place only on success."""

    def __init__(self, targets: list[tuple[Path, pa.Schema]]) -> None:
        self.targets = targets
        self.contexts = [atomic_path(path) for path, _ in targets]
        self.writers: list[pq.ParquetWriter | pa_csv.CSVWriter] = []

    def __enter__(self) -> list[pq.ParquetWriter | pa_csv.CSVWriter]:
        for (path, schema), context in zip(self.targets, self.contexts, strict=True):
            tmp = context.__enter__()
            if path.suffix == ".parquet":
                self.writers.append(pq.ParquetWriter(tmp, schema, compression="zstd"))
            else:
                self.writers.append(pa_csv.CSVWriter(tmp, schema))
        return self.writers

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers:
            writer.close()
        for context in self.contexts:
            context.__exit__(*exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=parse_rows, required=True, help="about this many lines, e.g. 1e6")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--format", default="parquet", help="comma list of parquet,csv")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    unknown = set(formats) - {"parquet", "csv"}
    if unknown:
        parser.error(f"--format: unknown {sorted(unknown)}; use parquet and/or csv")
    started = time.perf_counter()
    for path in write(args.rows, args.out, formats=formats, seed=args.seed):
        size = path.stat().st_size / 2**20
        lines = pq.ParquetFile(path).metadata.num_rows if path.suffix == ".parquet" else None
        print(f"{path}  {size:,.1f} MiB" + (f", {lines:,} lines" if lines is not None else ""))
    print(f"done in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
