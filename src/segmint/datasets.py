"""Synthetic Online-Retail-like sales data with realistic customer behaviour (and optional mess).

Customers are acquired uniformly over the period, churn after an exponential lifetime, buy at a
gamma-distributed rate (days drawn through a weekly x yearly seasonality curve with a Q4 peak) and
spend at gamma/lognormal levels. Invoices hold several distinct products from a catalogue with
prices and costs; about 2% of lines are later returned ('C' invoices, negative quantity).

With ``messy=True`` exactly these rows are injected per block of customers (``n`` = clean rows of the
block, sales lines only, disjoint rows), so a cleaning report can be checked against them:

* ``blank_customer``  = max(1, n // 2000): CustomerID is ''
* ``bad_date``        = max(1, n // 2000): InvoiceDate is 'unknown', '2023-02-30' or '#VALUE!'
* ``duplicate``       = max(1, n // 1000): an exact copy of a line, right after it
* ``money_string``    = max(1, n // 500): UnitPrice written like '£1,234.50' (same value)
* ``float_customer``  = max(1, n // 500): CustomerID written like '12345.0' (same customer)

The totals are in ``DataFrame.attrs["messy"]`` (and returned by :func:`write_transactions`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from segmint.util import atomic_path

BLOCK_CUSTOMERS = 20_000  # customers generated together; results do not depend on chunking
N_PRODUCTS = 499  # prime, so (start + k * step) % N_PRODUCTS gives distinct products per invoice
COUNTRIES = ("United Kingdom", "Germany", "France", "Netherlands", "India", "United States")
COUNTRY_WEIGHTS = (0.55, 0.12, 0.10, 0.05, 0.10, 0.08)
COUNTRY_ORG = (0, 1, 1, 1, 2, 2)
ORGS = ("UK-RETAIL", "EU-RETAIL", "INTL")
FIRST_INVOICE = 536_365
FIRST_CUSTOMER = 12_346
MESSY_KINDS = ("blank_customer", "bad_date", "duplicate", "money_string", "float_customer")
BAD_DATES = ("unknown", "2023-02-30", "#VALUE!")
COLUMNS = ("InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
           "UnitCost", "CustomerID", "Country", "Org")


def make_transactions(
    n_customers: int = 2000, years: int = 3, seed: int = 0, *, start: str = "2022-01-01", messy: bool = True
) -> pd.DataFrame:
    """Raw invoice lines for ``n_customers`` over ``years`` years, deterministic for ``seed``."""
    chunks = list(iter_transaction_chunks(n_customers, years, seed, start=start, messy=messy))
    frame = pd.concat(chunks, ignore_index=True)
    frame.attrs["messy"] = {k: sum(c.attrs["messy"][k] for c in chunks) for k in MESSY_KINDS}
    return frame


def iter_transaction_chunks(
    n_customers: int, years: int = 3, seed: int = 0, *, start: str = "2022-01-01", messy: bool = True
) -> Iterator[pd.DataFrame]:
    """Yield the rows of :func:`make_transactions` block by block (bounded memory)."""
    catalogue = _catalogue(np.random.default_rng([seed, 0xCA7]))
    calendar = _calendar(pd.Timestamp(start), years)
    next_invoice = FIRST_INVOICE
    for block, first in enumerate(range(0, n_customers, BLOCK_CUSTOMERS)):
        rng = np.random.default_rng([seed, block])
        size = min(BLOCK_CUSTOMERS, n_customers - first)
        frame, next_invoice = _block(rng, catalogue, calendar, FIRST_CUSTOMER + first, size, next_invoice)
        counts = dict.fromkeys(MESSY_KINDS, 0)
        if messy:
            frame, counts = _make_messy(rng, frame)
        else:
            frame = _typed(frame)
        frame.attrs["messy"] = counts
        yield frame


def write_transactions(
    path: str | Path,
    n_customers: int | None = None,
    *,
    n_rows: int | None = None,
    years: int = 3,
    seed: int = 0,
    start: str = "2022-01-01",
    messy: bool = True,
) -> dict[str, int]:
    """Write generated data to ``.csv`` or ``.parquet`` chunk by chunk; return rows and messy counts.

    Give ``n_customers`` or an approximate ``n_rows`` (customers are estimated from a pilot block).
    """
    path = Path(path)
    if n_customers is None:
        if not n_rows:
            raise ValueError("give n_customers or n_rows")
        pilot = next(iter_transaction_chunks(2000, years, seed, start=start, messy=False))
        n_customers = max(1, math.ceil(n_rows * 2000 / len(pilot)))
    totals = dict.fromkeys(("rows", *MESSY_KINDS), 0)
    chunks = iter_transaction_chunks(n_customers, years, seed, start=start, messy=messy)
    with atomic_path(path) as tmp:
        if path.suffix.lower() == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            writer = None
            for chunk in chunks:
                table = pa.Table.from_pandas(chunk, preserve_index=False)
                writer = writer or pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table)
                _add_counts(totals, chunk)
            if writer:
                writer.close()
        elif path.suffix.lower() == ".csv":
            for i, chunk in enumerate(chunks):
                chunk.to_csv(tmp, mode="w" if i == 0 else "a", header=i == 0, index=False)
                _add_counts(totals, chunk)
        else:
            raise ValueError(f"{path}: write .csv or .parquet")
    return totals


def _add_counts(totals: dict[str, int], chunk: pd.DataFrame) -> None:
    totals["rows"] += len(chunk)
    for kind in MESSY_KINDS:
        totals[kind] += chunk.attrs["messy"][kind]


def _catalogue(rng: np.random.Generator) -> dict[str, np.ndarray]:
    colours = np.array(["WHITE", "RED", "BLUE", "GREEN", "PINK", "IVORY", "BLACK", "VINTAGE", "GOLD"])
    items = np.array(["HEART T-LIGHT HOLDER", "LANTERN", "MUG", "CAKE STAND", "BUNTING", "LUNCH BAG",
                      "DOORMAT", "PHOTO FRAME", "CANDLE", "TEA SET", "CUSHION COVER", "CLOCK"])
    price = np.round(np.exp(rng.normal(np.log(3.0), 0.8, N_PRODUCTS)), 2).clip(0.19, 250.0)
    margin = rng.uniform(0.25, 0.6, N_PRODUCTS)
    return {
        "code": np.array([f"{85000 + 37 * i}" for i in range(N_PRODUCTS)]),
        "name": np.char.add(np.char.add(colours[np.arange(N_PRODUCTS) % len(colours)], " "),
                            items[(np.arange(N_PRODUCTS) // len(colours)) % len(items)]),
        "price": price,
        "cost": np.round(price * (1 - margin), 2),
        "popularity": 1.0 / np.arange(1, N_PRODUCTS + 1) ** 0.8,
    }


def _calendar(start: pd.Timestamp, years: int) -> dict[str, object]:
    days = pd.date_range(start, start + pd.DateOffset(years=years) - pd.Timedelta(days=1), freq="D")
    weekly = np.array([1.0, 1.05, 1.1, 1.15, 1.0, 0.6, 0.45])[days.day_of_week]
    yearly = 1.0 + 0.8 * np.exp(-(((days.day_of_year - 320) / 30.0) ** 2)) + 0.15 * np.cos(
        2 * np.pi * (days.day_of_year - 15) / 365.25)
    weights = weekly * yearly
    return {"days": days, "cum": np.concatenate([[0.0], np.cumsum(weights)])}


def _block(rng, catalogue, calendar, first_customer: int, n: int, next_invoice: int):
    days, cum = calendar["days"], calendar["cum"]
    horizon = len(days)
    acquired = rng.integers(0, horizon, n)
    lifetime = rng.exponential(1.2 * 365, n)
    active_end = np.minimum(acquired + lifetime, horizon).astype(np.int64).clip(acquired + 1)
    rate = rng.gamma(0.9, 1 / 40 / 0.9, n)  # purchases per day
    n_orders = 1 + rng.poisson(rate * (active_end - acquired))
    customer = np.repeat(np.arange(n), n_orders)
    first_order = np.r_[0, np.cumsum(n_orders)[:-1]]
    u = rng.uniform(cum[acquired[customer]], cum[active_end[customer]])
    day = np.searchsorted(cum, u, side="right") - 1
    day[first_order] = acquired  # the first purchase is the acquisition day
    minute = rng.integers(8 * 60, 18 * 60, len(day))
    order = np.lexsort((minute, day))
    customer, day, minute = customer[order], day[order], minute[order]
    n_orders_total = len(day)
    basket = rng.gamma(2.0, 2.0, n)  # extra lines per invoice, per customer
    spend = np.exp(rng.normal(np.log(2.5), 0.8, n))  # quantity level per customer
    lines = np.minimum(1 + rng.poisson(basket[customer]), 60)
    line_invoice = np.repeat(np.arange(n_orders_total), lines)
    k = np.arange(len(line_invoice)) - np.repeat(np.r_[0, np.cumsum(lines)[:-1]], lines)
    popular = rng.choice(N_PRODUCTS, n_orders_total, p=catalogue["popularity"] / catalogue["popularity"].sum())
    step = rng.integers(1, N_PRODUCTS, n_orders_total)
    product = (popular[line_invoice] + k * step[line_invoice]) % N_PRODUCTS
    line_customer = customer[line_invoice]
    quantity = 1 + rng.poisson(spend[line_customer])
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS)
    stamp = days[day].values + (minute * 60).astype("timedelta64[s]")
    sales = pd.DataFrame({
        "invoice": next_invoice + line_invoice, "cancel": False, "product": product,
        "quantity": quantity, "time": stamp[line_invoice], "customer": line_customer,
    })
    returned = np.flatnonzero(rng.random(len(sales)) < 0.02)
    back = sales.iloc[returned].copy()
    back["time"] = back["time"] + pd.to_timedelta(rng.integers(1, 30, len(back)), unit="D")
    back = back[back["time"] < days[-1] + pd.Timedelta(days=1)]
    back["quantity"] = -np.ceil(back["quantity"] * rng.uniform(0.2, 1.0, len(back))).astype(np.int64)
    back["invoice"] = next_invoice + n_orders_total + np.arange(len(back))
    back["cancel"] = True
    rows = pd.concat([sales, back], ignore_index=True).sort_values(["time", "invoice"], kind="stable")
    rows = rows.reset_index(drop=True)
    frame = pd.DataFrame({
        "InvoiceNo": np.where(rows["cancel"], "C", "") + rows["invoice"].astype(str),
        "StockCode": catalogue["code"][rows["product"]],
        "Description": catalogue["name"][rows["product"]],
        "Quantity": rows["quantity"].to_numpy(np.int64),
        "InvoiceDate": rows["time"].to_numpy("datetime64[ns]"),
        "UnitPrice": catalogue["price"][rows["product"]],
        "UnitCost": catalogue["cost"][rows["product"]],
        "CustomerID": (first_customer + rows["customer"]).astype(str).to_numpy(),
        "Country": np.array(COUNTRIES)[country[rows["customer"]]],
        "Org": np.array(ORGS)[np.array(COUNTRY_ORG)[country[rows["customer"]]]],
    })
    return frame, next_invoice + n_orders_total + len(back)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    for column in ("InvoiceNo", "StockCode", "Description", "CustomerID", "Country", "Org"):
        frame[column] = frame[column].astype(str)
    return frame


def _make_messy(rng: np.random.Generator, frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """Text dates (m/d/yyyy H:MM) and money strings, plus the documented injected problems."""
    n = len(frame)
    counts = {
        "blank_customer": max(1, n // 2000), "bad_date": max(1, n // 2000),
        "duplicate": max(1, n // 1000), "money_string": max(1, n // 500),
        "float_customer": max(1, n // 500),
    }
    sales = np.flatnonzero(~frame["InvoiceNo"].str.startswith("C").to_numpy())
    picked = rng.choice(sales, sum(counts.values()), replace=False)
    groups = dict(zip(MESSY_KINDS, np.split(picked, np.cumsum(list(counts.values()))[:-1])))
    when = pd.DatetimeIndex(frame["InvoiceDate"])
    text = (when.month.astype(str) + "/" + when.day.astype(str) + "/" + when.year.astype(str) + " "
            + when.hour.astype(str) + ":" + pd.Index(when.minute.astype(str)).str.zfill(2))
    frame["InvoiceDate"] = np.asarray(text, dtype=object)
    frame["UnitPrice"] = np.char.mod("%.2f", frame["UnitPrice"].to_numpy()).astype(object)
    frame = frame.astype({c: object for c in ("InvoiceNo", "StockCode", "Description", "CustomerID",
                                              "Country", "Org")})
    frame.loc[groups["blank_customer"], "CustomerID"] = ""
    frame.loc[groups["bad_date"], "InvoiceDate"] = rng.choice(BAD_DATES, counts["bad_date"])
    money = frame.loc[groups["money_string"], "UnitPrice"].astype(float)
    frame.loc[groups["money_string"], "UnitPrice"] = money.map("£{:,.2f}".format)
    frame.loc[groups["float_customer"], "CustomerID"] += ".0"
    copies = np.sort(groups["duplicate"])
    order = np.argsort(np.r_[np.arange(n), copies], kind="stable")
    frame = pd.concat([frame, frame.iloc[copies]], ignore_index=True).iloc[order].reset_index(drop=True)
    return frame, counts
