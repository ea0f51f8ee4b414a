"""One benchmark case, run in its own process: ``python -m benchmarks.cases CASE PARQUET [options]``.

Prints one JSON line: the case's own timing (``seconds``: from reading the file to having the
per-customer result in memory, imports and engine start-up excluded), ``startup_s``, peak RSS,
and a checksum of the result so the runner can check that engines computed the same thing.

Cases (PARQUET is the canonical file, or the raw export for pandas and segmint_full):
  segmint      segmint customer_features + RFM assign on DuckDB, scanning the canonical Parquet file
  segmint_full segmint.analyze on the raw export: column detection, cleaning, features, all schemes
  pandas       the tutorial pipeline on the raw export: read_parquet, groupby().agg, qcut scores
  duckdb_sql   hand-written DuckDB SQL: scan + aggregate the same columns (the engine's floor)
  spark        segmint customer_features + RFM assign on Spark local[N], scanning the Parquet file
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

Summary = dict[str, Any]


def _segmint_summary(labelled) -> Summary:
    result = labelled.to_pyarrow()  # the whole per-customer result, materialised in Python
    return {
        "customers": result.num_rows,
        "sum_frequency": int(pc.sum(result["frequency"]).as_py()),
        "sum_monetary": float(pc.sum(result["monetary"]).as_py()),
        "segments": len(pc.unique(result["segment"])),
    }


def _duckdb(options: argparse.Namespace):
    from segmint import engine

    con = engine.connect(
        "duckdb", memory_limit=options.memory_limit, temp_directory=options.temp_dir, threads=options.threads
    )
    con.con.execute("SELECT 1").to_arrow_table()  # one-off Arrow set-up belongs to start-up, not work
    return con


def run_segmint(path: Path, options: argparse.Namespace) -> Callable[[], Summary]:
    """segmint features + RFM on DuckDB; the Parquet file is scanned by DuckDB, never loaded in Python."""
    from segmint.features import customer_features
    from segmint.segment import rfm

    con = _duckdb(options)

    def work() -> Summary:
        return _segmint_summary(rfm.assign(customer_features(con.read_parquet(path))))

    return work


def run_segmint_full(path: Path, options: argparse.Namespace) -> Callable[[], Summary]:
    """The whole user path: read_transactions (detect + clean) then features and every scheme."""
    from segmint.api import analyze

    con = _duckdb(options)

    def work() -> Summary:
        return _segmint_summary(analyze(str(path), con=con).segments["rfm"])

    return work


def run_spark(path: Path, options: argparse.Namespace) -> Callable[[], Summary]:
    """segmint features + RFM on a local Spark session reading the Parquet file."""
    from segmint import engine
    from segmint.features import customer_features
    from segmint.segment import rfm

    con = engine.connect(
        "spark",
        master=f"local[{options.spark_cores}]",
        spark_config={
            "spark.driver.memory": options.spark_memory,
            "spark.sql.shuffle.partitions": str(4 * options.spark_cores),
        },
    )

    def work() -> Summary:
        return _segmint_summary(rfm.assign(customer_features(con.read_parquet(str(path)))))

    return work


def run_pandas(path: Path, options: argparse.Namespace) -> Callable[[], Summary]:
    """The RFM recipe of pandas tutorials on the raw export (whole file read into a DataFrame)."""
    import pandas as pd

    def work() -> Summary:
        df = pd.read_parquet(path)
        df["TotalPrice"] = df["Quantity"] * df["UnitPrice"]
        snapshot = df["InvoiceDate"].max() + pd.Timedelta(days=1)
        rfm = df.groupby("CustomerID").agg(
            {
                "InvoiceDate": lambda x: (snapshot - x.max()).days,
                "InvoiceNo": "nunique",
                "TotalPrice": "sum",
            }
        )
        rfm.columns = ["recency", "frequency", "monetary"]
        rfm["r_score"] = pd.qcut(rfm["recency"], 5, labels=[5, 4, 3, 2, 1])
        rfm["f_score"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
        rfm["m_score"] = pd.qcut(rfm["monetary"], 5, labels=[1, 2, 3, 4, 5])
        rfm["rfm_cell"] = (
            rfm["r_score"].astype(str) + rfm["f_score"].astype(str) + rfm["m_score"].astype(str)
        )
        return {
            "customers": len(rfm),
            "sum_frequency": int(rfm["frequency"].sum()),
            "sum_monetary": float(rfm["monetary"].sum()),
        }

    return work


def run_duckdb_sql(path: Path, options: argparse.Namespace) -> Callable[[], Summary]:
    """Bare DuckDB: one scan + GROUP BY of the columns RFM needs; the cost floor of any DuckDB RFM."""
    con = _duckdb(options).con  # the raw duckdb connection under Ibis

    def work() -> Summary:
        result = con.execute(
            "SELECT customer_id, max(invoice_date) AS last_purchase, "
            "count(DISTINCT invoice_id) AS frequency, sum(amount) AS monetary "
            "FROM read_parquet(?) GROUP BY customer_id",
            [str(path)],
        ).to_arrow_table()
        return {
            "customers": result.num_rows,
            "sum_frequency": int(pc.sum(result["frequency"]).as_py()),
            "sum_monetary": float(pc.sum(result["monetary"]).as_py()),
        }

    return work


RAW_INPUT = {"pandas", "segmint_full"}  # cases that read the raw export, not canonical lines
CASES: dict[str, Callable[[Path, argparse.Namespace], Callable[[], Summary]]] = {
    "segmint": run_segmint,
    "segmint_full": run_segmint_full,
    "pandas": run_pandas,
    "duckdb_sql": run_duckdb_sql,
    "spark": run_spark,
}


def _vm_hwm_bytes(pid: int | str = "self") -> int:
    """Peak resident set size of a process (``VmHWM``), in bytes.

    Not ``ru_maxrss``: on Linux that survives ``exec`` and so includes the parent's RSS at fork time.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _peak_rss_bytes(spark: bool) -> int:
    """Peak RSS of this process; for Spark plus the JVM's own peak, which is another process."""
    peak = _vm_hwm_bytes()
    if spark:
        from pyspark import SparkContext

        gateway = SparkContext._gateway
        proc = getattr(gateway, "proc", None) if gateway else None
        if proc is not None:
            peak += _vm_hwm_bytes(proc.pid)
    return peak


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by the runner and a single case."""
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit (default 6GB)")
    parser.add_argument("--temp-dir", default=None, help="DuckDB spill directory (default: DuckDB's)")
    parser.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    parser.add_argument("--spark-cores", type=int, default=2, help="Spark local[N] (default 2)")
    parser.add_argument("--spark-memory", default="4g", help="Spark driver memory (default 4g)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cases")
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("path", type=Path)
    add_engine_options(parser)
    options = parser.parse_args(argv)
    started = time.perf_counter()
    work = CASES[options.case](options.path, options)
    ready = time.perf_counter()
    summary = work()
    finished = time.perf_counter()
    record = {
        "case": options.case,
        "seconds": finished - ready,
        "startup_s": ready - started,
        "peak_rss_bytes": _peak_rss_bytes(options.case == "spark"),
        **summary,
    }
    sys.stdout.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
