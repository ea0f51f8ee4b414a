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


RETAIL_LINES = 541_909  # lines of the UCI "Online Retail" export (2010-12-01 .. 2011-12-09)
RETAIL_SCHEMA = pa.schema(
    [
        ("InvoiceNo", pa.string()),
        ("StockCode", pa.string()),
        ("Description", pa.string()),
        ("Quantity", pa.int64()),
        ("InvoiceDate", pa.timestamp("ns")),
        ("UnitPrice", pa.float64()),
        ("CustomerID", pa.float64()),
        ("Country", pa.string()),
    ]
)


def write_retail(out: Path, *, seed: int = SEED) -> Path:
    """An Online-Retail-like export of exactly 541,909 lines, shaped like the real one as pandas reads it.

    Not the real file (it is not available here): generated lines with its published shape and mess:
    4,372 customers with heavy-tailed order counts, about 25,900 invoices of about 21 lines, 25% of the
    lines in invoices without a customer (``CustomerID`` a float, NaN there), about 1% of lines repeated
    inside their invoice, ``C`` cancellation invoices with negative quantities, a few blank descriptions,
    a Zipf-like catalogue of 3,958 stock codes, 38 countries (91% of lines in the UK), weekday business
    hours from 2010-12-01 to 2011-12-09.
    """
    import numpy as np

    rng = np.random.default_rng([seed, 0x5E7A11])
    n_customers, n_products, n_countries = 4_372, 3_967, 38  # 3,967 is prime
    orders = np.maximum(1, np.round(rng.lognormal(1.2, 1.1, n_customers))).astype(np.int64)
    buyer = np.repeat(np.arange(n_customers), orders)
    n_known = len(buyer)
    anonymous = int(n_known * 0.165)  # invoices without a customer (they are larger: 36 lines)
    invoice_customer = np.r_[buyer, np.full(anonymous, -1)]
    rng.shuffle(invoice_customer)
    n_invoices = len(invoice_customer)
    cancel = (rng.random(n_invoices) < 0.14) & (invoice_customer >= 0)
    size = np.where(invoice_customer < 0, rng.geometric(1 / 36, n_invoices), rng.geometric(1 / 21, n_invoices))
    size = np.where(cancel, rng.integers(1, 4, n_invoices), size)
    size = np.maximum(1, np.round(size * RETAIL_LINES / 1.01 / size.sum() * 1.002)).astype(np.int64)
    days = pd.bdate_range("2010-12-01", "2011-12-09")
    stamp = np.sort(days.values[rng.integers(0, len(days), n_invoices)]
                    + (rng.integers(8 * 60, 19 * 60, n_invoices) * 60).astype("timedelta64[s]"))
    line_invoice = np.repeat(np.arange(n_invoices), size)
    line_invoice = np.sort(np.r_[line_invoice, rng.choice(line_invoice, len(line_invoice) // 100)])
    line_invoice = line_invoice[:RETAIL_LINES]
    if len(line_invoice) < RETAIL_LINES:
        raise RuntimeError(f"generated {len(line_invoice):,} lines, fewer than {RETAIL_LINES:,}")
    popularity = 1.0 / np.arange(1, n_products + 1) ** 0.9
    first = rng.choice(n_products, n_invoices, p=popularity / popularity.sum())
    step = rng.integers(1, n_products, n_invoices)
    position = np.arange(RETAIL_LINES) - np.searchsorted(line_invoice, line_invoice)
    product = (first[line_invoice] + position * step[line_invoice]) % n_products  # distinct in an invoice
    repeat = np.r_[False, line_invoice[1:] == line_invoice[:-1]] & (rng.random(RETAIL_LINES) < 0.0098)
    product[repeat] = product[np.flatnonzero(repeat) - 1]  # an exact repeat of the line above
    price = np.round(rng.lognormal(0.9, 0.9, n_products), 2)
    quantity = rng.geometric(0.12, RETAIL_LINES)
    is_cancel = cancel[line_invoice]
    quantity[repeat] = quantity[np.flatnonzero(repeat) - 1]
    quantity = np.where(is_cancel, -np.maximum(1, quantity // 3), quantity)
    country_weights = np.r_[0.91, np.full(n_countries - 1, 0.09 / (n_countries - 1))]
    customer_country = rng.choice(n_countries, n_customers, p=country_weights)
    customer = invoice_customer[line_invoice]
    numbers = 536_365 + np.arange(n_invoices)
    frame = pd.DataFrame({
        "InvoiceNo": np.char.add(np.where(cancel, "C", ""), numbers.astype(str))[line_invoice],
        "StockCode": np.char.add("S", (20_000 + 7 * np.arange(n_products)).astype(str))[product],
        "Description": np.char.add("PRODUCT ", np.arange(n_products).astype(str))[product].astype(object),
        "Quantity": quantity,
        "InvoiceDate": stamp[line_invoice],
        "UnitPrice": price[product],
        "CustomerID": np.where(customer >= 0, 12_346.0 + customer, np.nan),
        "Country": np.char.add("Country ", np.where(customer >= 0, customer_country[customer], 0).astype(str)),
    })
    frame.loc[rng.random(RETAIL_LINES) < 0.0027, "Description"] = None
    path = out / "online_retail_like.parquet"
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(frame, schema=RETAIL_SCHEMA, preserve_index=False), tmp)
    return path



def write_retail_xlsx(out: Path, *, seed: int = SEED) -> Path:
    """The Online-Retail-like lines of :func:`write_retail` as one ``.xlsx`` sheet, typed like the UCI file.

    The real ``Online Retail.xlsx`` holds numbers as numbers (Quantity, UnitPrice, CustomerID, and the
    InvoiceNo/StockCode values that are all digits) and InvoiceDate as Excel dates shown
    ``m/d/yyyy h:mm``; cancellations (``C536379``), coded stock (``85123A``) and descriptions are text,
    a missing customer an empty cell. Written row by row (xlsxwriter ``constant_memory``, which stores
    text inline where Excel would use its shared-strings table).
    """
    table = _retail_lines(out, seed)
    path = out / "online_retail_like.xlsx"
    with atomic_path(path) as tmp:
        _write_workbook(tmp, {"Online Retail": table})
    return path


RETAIL_II_HEADER = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]


def write_retail_ii_xlsx(out: Path, *, seed: int = SEED) -> Path:
    """An Online-Retail-II-like workbook: two year sheets with the UCI file's header and sizes.

    ``Year 2009-2010`` holds 525,461 lines (the retail-like lines a year earlier, invoice numbers
    below 536,365), ``Year 2010-2011`` all 541,909 lines of :func:`write_retail`: 1,067,370 lines, typed as
    in :func:`write_retail_xlsx`.
    """
    import pyarrow.compute as pc

    table = _retail_lines(out, seed).rename_columns(RETAIL_II_HEADER)
    earlier = table.slice(0, 525_461)
    renumbered = [v[:1] + str(int(v[1:]) - 50_000) if v.startswith("C") else str(int(v) - 50_000)
                  for v in earlier["Invoice"].to_pylist()]  # fmt: skip
    earlier = earlier.set_column(0, "Invoice", pa.array(renumbered, pa.string()))
    stamps = pc.subtract(earlier["InvoiceDate"], pa.scalar(365 * 86_400 * 10**9, pa.duration("ns")))
    earlier = earlier.set_column(4, "InvoiceDate", stamps)
    path = out / "online_retail_II_like.xlsx"
    with atomic_path(path) as tmp:
        _write_workbook(tmp, {"Year 2009-2010": earlier, "Year 2010-2011": table})
    return path


def _retail_lines(out: Path, seed: int) -> pa.Table:
    source = out / "online_retail_like.parquet"
    if not source.exists():
        write_retail(out, seed=seed)
    return pq.read_table(source)


def _write_workbook(path: Path, sheets: dict[str, pa.Table]) -> None:
    """One sheet per table, cell by cell typed like Excel's own files (see :func:`write_retail_xlsx`)."""
    import numpy as np
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    stamp = book.add_format({"num_format": "m/d/yyyy h:mm"})
    epoch = np.datetime64("1899-12-30T00:00:00", "s")
    for name, table in sheets.items():
        sheet = book.add_worksheet(name)
        columns = table.column_names
        dates = columns.index(next(c for c in columns if c.endswith("Date")))
        sheet.write_row(0, 0, columns)
        row = 1
        for batch in table.to_batches(max_chunksize=50_000):
            data = batch.to_pydict()
            serial = ((batch.column(dates).to_numpy(zero_copy_only=False).astype("datetime64[s]") - epoch)
                      .astype(np.int64) / 86_400.0).tolist()  # fmt: skip
            for i in range(batch.num_rows):
                for j, column in enumerate(columns):
                    value = data[column][i]
                    if j == dates:
                        sheet.write_number(row, j, serial[i], stamp)
                    elif value is None or (isinstance(value, float) and value != value):
                        continue
                    elif isinstance(value, str) and value.isdigit():
                        sheet.write_number(row, j, int(value))
                    elif isinstance(value, str):
                        sheet.write_string(row, j, value)
                    else:
                        sheet.write_number(row, j, value)
                row += 1
    book.close()

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
