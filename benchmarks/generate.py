"""Write synthetic canonical transactions to Parquet (and optionally CSV) in bounded-memory chunks.

    python -m benchmarks.generate --rows 1e6 --out benchmarks/data [--format parquet,csv]

Each chunk of ``--chunk-rows`` lines is generated with vectorised numpy and appended to the
file(s), so 5e7 rows need no more memory than one chunk. Output is deterministic for a given
``--seed`` and chunk size. Shape, loosely after the UCI Online Retail data: ~10 lines per invoice,
one customer per 100 lines with skewed purchase counts, 3 years of dates, ~2% return invoices.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from segmint.schema import CANONICAL_COLUMNS
from segmint.util import atomic_path

log = logging.getLogger("benchmarks.generate")

LINES_PER_INVOICE = 10
LINES_PER_CUSTOMER = 100
N_PRODUCTS = 4_000
FIRST_DAY = np.datetime64("2021-01-01T00:00:00", "s")
N_DAYS = 3 * 365
COUNTRIES = pa.array(["United Kingdom", "Germany", "France", "Netherlands", "Spain", None])
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


def _string_ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.cast(pa.array(numbers), pa.string()), "")


def _position_within(sorted_groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal values."""
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_groups)) + 1]
    lengths = np.diff(np.r_[starts, len(sorted_groups)])
    return np.arange(len(sorted_groups)) - np.repeat(starts, lengths) + 1


def make_chunk(index: int, n_rows: int, total_rows: int, seed: int, chunk_rows: int) -> pa.Table:
    """Chunk ``index`` (``n_rows`` lines) of a ``total_rows`` data set; invoices never span chunks."""
    rng = np.random.default_rng([seed, index])
    n_customers = max(total_rows // LINES_PER_CUSTOMER, 1)
    n_invoices = max(n_rows // LINES_PER_INVOICE, 1)
    first_invoice = index * (chunk_rows // LINES_PER_INVOICE + 1)
    invoice_of_line = np.sort(rng.integers(0, n_invoices, n_rows))
    # Zipf-like customer popularity: a few customers buy often, most buy once or twice
    customer = (rng.pareto(1.2, n_invoices) * n_customers / 20).astype(np.int64) % n_customers
    day = rng.integers(0, N_DAYS, n_invoices)
    second = rng.integers(8 * 3600, 20 * 3600, n_invoices)
    stamp = FIRST_DAY + (day * 86_400 + second).astype("timedelta64[s]")
    is_return = rng.random(n_invoices) < 0.02
    product = rng.zipf(1.3, n_rows) % N_PRODUCTS
    quantity = rng.integers(1, 25, n_rows).astype(np.float64)
    quantity = np.where(is_return[invoice_of_line], -quantity, quantity)
    unit_price = np.round(0.5 + rng.gamma(1.5, 3.0, n_rows), 2)
    amount = np.round(quantity * unit_price, 2)
    cost = np.where(rng.random(n_rows) < 0.1, np.nan, np.round(amount * 0.6, 2))
    invoice_numbers = invoice_of_line + first_invoice
    invoice_ids = _string_ids("", 500_000 + invoice_numbers)
    returned = pa.array(is_return[invoice_of_line])
    invoice_ids = pc.if_else(returned, pc.binary_join_element_wise("C", invoice_ids, ""), invoice_ids)
    line_customer = customer[invoice_of_line]
    columns = {
        "invoice_id": invoice_ids,
        "line_no": pa.array(_position_within(invoice_of_line)),
        "customer_id": _string_ids("C", 100_000 + line_customer),
        "invoice_date": pa.array(stamp[invoice_of_line].astype("datetime64[us]")),
        "product_id": _string_ids("P", product),
        "product_name": _string_ids("Product ", product),
        "quantity": pa.array(quantity),
        "unit_price": pa.array(unit_price),
        "amount": pa.array(amount),
        "cost": pa.array(cost, from_pandas=True),
        "country": COUNTRIES.take(pa.array(line_customer % len(COUNTRIES))),
        "org_id": pc.if_else(pa.array(line_customer % 4 == 0), "wholesale", "retail"),
        "is_return": returned,
    }
    return pa.table(columns).cast(ARROW_SCHEMA)


def iter_chunks(total_rows: int, *, seed: int = 42, chunk_rows: int = 1_000_000) -> Iterator[pa.Table]:
    """All chunks of a ``total_rows`` data set, in order."""
    for index, start in enumerate(range(0, total_rows, chunk_rows)):
        yield make_chunk(index, min(chunk_rows, total_rows - start), total_rows, seed, chunk_rows)


def write(total_rows: int, out: Path, *, formats: tuple[str, ...] = ("parquet",), seed: int = 42,
          chunk_rows: int = 1_000_000) -> list[Path]:  # fmt: skip
    """Write ``transactions_<rows>.<fmt>`` files under ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / f"transactions_{rows_label(total_rows)}.{fmt}" for fmt in formats]
    with _writers(targets) as writers:
        for chunk in iter_chunks(total_rows, seed=seed, chunk_rows=chunk_rows):
            for writer in writers:
                writer.write_table(chunk)
    return targets


class _writers:
    """Open one Parquet/CSV writer per target on temp paths; rename all on success."""

    def __init__(self, targets: list[Path]) -> None:
        self.targets = targets
        self.contexts = [atomic_path(target) for target in targets]

    def __enter__(self) -> list[pq.ParquetWriter | pa_csv.CSVWriter]:
        self.writers = []
        for target, context in zip(self.targets, self.contexts, strict=True):
            tmp = context.__enter__()
            if target.suffix == ".parquet":
                self.writers.append(pq.ParquetWriter(tmp, ARROW_SCHEMA, compression="zstd"))
            else:
                self.writers.append(pa_csv.CSVWriter(tmp, ARROW_SCHEMA))
        return self.writers

    def __exit__(self, *exc: object) -> None:
        for writer in self.writers:
            writer.close()
        for context in self.contexts:
            context.__exit__(*exc)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=parse_rows, required=True, help="number of lines, e.g. 1e6")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--format", default="parquet", help="comma list of parquet,csv")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--chunk-rows", type=parse_rows, default=1_000_000)
    args = parser.parse_args(argv)
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    unknown = set(formats) - {"parquet", "csv"}
    if unknown:
        parser.error(f"--format: unknown {sorted(unknown)}; use parquet and/or csv")
    started = time.perf_counter()
    paths = write(args.rows, args.out, formats=formats, seed=args.seed, chunk_rows=args.chunk_rows)
    for path in paths:
        print(f"{path}  ({path.stat().st_size / 2**20:,.1f} MiB, {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
