"""The tools users would run instead of segmint, each as a whole process: ``python -m benchmarks.peers TOOL FILE OUT``.

Each peer reads the raw file, computes per-customer recency / frequency / monetary (plus RFM scores where
the recipe has them) and writes one CSV to ``OUT/rfm.csv``, the way a competent user writes it by hand for
a file whose layout they already know. Layouts: the CDNOW purchase log (whitespace-separated, ``YYYYMMDD``
dates, no invoice column) and Online-Retail-like exports (``InvoiceNo, StockCode, Description, Quantity,
InvoiceDate, UnitPrice, CustomerID, Country``, CSV, Parquet or .xlsx). Rows without a customer are dropped,
as every tutorial does.

Tools:
  duckdb_sql  one hand-written DuckDB SQL statement (scan, GROUP BY customer, NTILE scores, COPY TO CSV)
  polars      a polars lazy query (scan, group_by, qcut scores, write_csv)
  pandas      the pandas tutorial recipe (read, dropna, TotalPrice, groupby().agg with a recency lambda,
              qcut scores, to_csv)
  lifetimes   lifetimes' ``summary_data_from_transaction_data`` (frequency, recency, T, monetary_value)
  pandas_calamine  the pandas recipe with ``pd.read_excel(..., engine="calamine")`` (.xlsx only; needs
              python-calamine): the faster reader a user can pick instead of the default openpyxl

An .xlsx is read as the tutorials do (``pd.read_excel``, ``pl.read_excel``); DuckDB SQL has no .xlsx
reader without its ``excel`` extension, which is downloaded at run time, so it is not a peer there.
"""

from __future__ import annotations

import sys
from pathlib import Path


def _is_cdnow(path: Path) -> bool:
    return path.name.upper().startswith("CDNOW")


def _xlsx(path: Path) -> bool:
    return path.suffix.lower() in (".xlsx", ".xlsm")


def _csv(path: Path) -> bool:
    return path.suffix.lower() in (".csv", ".txt")


# --- bare DuckDB SQL ------------------------------------------------------------------------------
def duckdb_sql(path: Path, out: Path) -> None:
    import duckdb

    if _xlsx(path):
        raise SystemExit("DuckDB reads .xlsx only with its excel extension, downloaded at run time")
    con = duckdb.connect()
    target = str(out / "rfm.csv").replace("'", "''")
    if _is_cdnow(path):
        lines = (
            "SELECT string_split_regex(trim(line), '\\s+') AS p FROM read_csv(?, columns={'line': 'VARCHAR'}, "
            "header=true, delim='\\x1f', quote='', escape='')"
        )
        source = f"SELECT p[1] AS customer, strptime(p[2], '%Y%m%d') AS ts, p[2] AS invoice, CAST(p[4] AS DOUBLE) AS amount FROM ({lines})"
    else:
        scan = "read_parquet(?)" if path.suffix == ".parquet" else "read_csv(?, types={'CustomerID': 'VARCHAR'})"
        source = (
            "SELECT CAST(CustomerID AS VARCHAR) AS customer, InvoiceNo AS invoice, InvoiceDate AS ts, "
            f"Quantity * UnitPrice AS amount FROM {scan} WHERE CustomerID IS NOT NULL"
        )
    con.execute(
        f"""COPY (
        WITH lines AS ({source}),
        rfm AS (SELECT customer, max(ts) AS last_ts, count(DISTINCT invoice) AS frequency,
                       sum(amount) AS monetary FROM lines GROUP BY customer)
        SELECT customer, date_diff('day', CAST(last_ts AS DATE), (SELECT CAST(max(last_ts) AS DATE) + 1 FROM rfm))
                   AS recency, frequency, monetary,
               ntile(5) OVER (ORDER BY last_ts) AS r_score, ntile(5) OVER (ORDER BY frequency) AS f_score,
               ntile(5) OVER (ORDER BY monetary) AS m_score
        FROM rfm) TO '{target}' (HEADER)""",
        [str(path)],
    )


# --- polars ------------------------------------------------------------------------------------------
def polars(path: Path, out: Path) -> None:
    import polars as pl

    if _is_cdnow(path):
        raw = pl.scan_csv(path, has_header=True, separator="\x1f", quote_char=None, new_columns=["line"])
        parts = pl.col("line").str.strip_chars().str.split(" ").list.eval(pl.element().filter(pl.element() != ""))
        lines = raw.select(parts.alias("p")).select(
            customer=pl.col("p").list.get(0),
            ts=pl.col("p").list.get(1).str.strptime(pl.Datetime, "%Y%m%d"),
            invoice=pl.col("p").list.get(1),
            amount=pl.col("p").list.get(3).cast(pl.Float64),
        )
    else:
        if path.suffix == ".parquet":
            raw = pl.scan_parquet(path)
        elif _xlsx(path):
            raw = pl.read_excel(path, schema_overrides={"CustomerID": pl.Float64}).lazy()  # calamine, as polars does
        else:
            raw = pl.scan_csv(path, schema_overrides={"CustomerID": pl.Utf8, "InvoiceNo": pl.Utf8}, try_parse_dates=True)
        lines = raw.filter(pl.col("CustomerID").is_not_null()).select(
            customer=pl.col("CustomerID").cast(pl.Utf8),
            invoice=pl.col("InvoiceNo"),
            ts=pl.col("InvoiceDate"),
            amount=pl.col("Quantity") * pl.col("UnitPrice"),
        )
    rfm = lines.group_by("customer").agg(
        last_ts=pl.col("ts").max(), frequency=pl.col("invoice").n_unique(), monetary=pl.col("amount").sum()
    )
    snapshot = pl.col("last_ts").max().dt.date() + pl.duration(days=1)
    labels = ["1", "2", "3", "4", "5"]
    rfm = rfm.with_columns(
        recency=(snapshot - pl.col("last_ts").dt.date()).dt.total_days(),
        r_score=pl.col("last_ts").rank("ordinal").qcut(5, labels=labels),
        f_score=pl.col("frequency").rank("ordinal").qcut(5, labels=labels),
        m_score=pl.col("monetary").rank("ordinal").qcut(5, labels=labels),
    )
    rfm.drop("last_ts").collect().write_csv(out / "rfm.csv")


# --- pandas tutorial ------------------------------------------------------------------------------------
def _pandas_lines(path: Path, engine: str | None = None):
    import pandas as pd

    if _is_cdnow(path):
        df = pd.read_csv(path, sep=r"\s+", dtype={"customer_id": str, "date": str})
        return pd.DataFrame(
            {
                "CustomerID": df["customer_id"],
                "InvoiceNo": df["date"],
                "InvoiceDate": pd.to_datetime(df["date"], format="%Y%m%d"),
                "TotalPrice": df["dollar_value"],
            }
        )
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
    elif _xlsx(path):
        # the tutorial's pd.read_excel("Online Retail.xlsx"); openpyxl, pandas' default engine (named: pandas
        # says the default will change to calamine)
        df = pd.read_excel(path, engine=engine or "openpyxl")
    else:
        df = pd.read_csv(path, dtype={"CustomerID": str, "InvoiceNo": str}, parse_dates=["InvoiceDate"])
    df = df.dropna(subset=["CustomerID"])
    df["TotalPrice"] = df["Quantity"] * df["UnitPrice"]
    return df


def pandas(path: Path, out: Path, engine: str | None = None) -> None:
    import pandas as pd

    df = _pandas_lines(path, engine)
    snapshot = df["InvoiceDate"].max() + pd.Timedelta(days=1)
    rfm = df.groupby("CustomerID").agg(
        {"InvoiceDate": lambda x: (snapshot - x.max()).days, "InvoiceNo": "nunique", "TotalPrice": "sum"}
    )
    rfm.columns = ["recency", "frequency", "monetary"]
    rfm["r_score"] = pd.qcut(rfm["recency"].rank(method="first"), 5, labels=[5, 4, 3, 2, 1])
    rfm["f_score"] = pd.qcut(rfm["frequency"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm["m_score"] = pd.qcut(rfm["monetary"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    rfm.to_csv(out / "rfm.csv")


# --- lifetimes ------------------------------------------------------------------------------------------
def lifetimes(path: Path, out: Path) -> None:
    from lifetimes.utils import summary_data_from_transaction_data

    df = _pandas_lines(path)
    summary = summary_data_from_transaction_data(
        df, "CustomerID", "InvoiceDate", monetary_value_col="TotalPrice"
    )
    summary.to_csv(out / "rfm.csv")


def pandas_calamine(path: Path, out: Path) -> None:
    if not _xlsx(path):
        raise SystemExit("pandas_calamine reads .xlsx files only")
    pandas(path, out, engine="calamine")


TOOLS = {"duckdb_sql": duckdb_sql, "polars": polars, "pandas": pandas, "lifetimes": lifetimes,
         "pandas_calamine": pandas_calamine}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    tool, path, out = (argv if argv is not None else sys.argv[1:])[:3]
    Path(out).mkdir(parents=True, exist_ok=True)
    TOOLS[tool](Path(path), Path(out))


if __name__ == "__main__":
    main()
