"""Sales lines with product structure a recommender can learn (and a baseline cannot fake).

    python -m benchmarks.recommend_data --customers 25000 --products 4000 --out benchmarks/data/affinity_1e6.parquet

What the data hold (all random draws from ``seed``):

* products in 40 categories, Zipf popularity within a category, log-normal prices;
* 8 taste groups that prefer a few categories each (Dirichlet 0.3); a customer's group depends on
  their purchase rate (two groups per rate quartile), so RFM/value segments differ in what they buy
  -- the "product affinities by segment";
* each customer has staples (3..8 products from their group's taste) they re-buy, and a second set
  of staples that half replaces the first over their life (tastes drift, so recency matters);
* a basket line is a staple (50%), a draw from the group's taste (30%) or from overall popularity
  (20%); a quarter of the lines pull in the product's complement (same category), which is what
  co-purchase can learn; identical products in one invoice are one line with their summed quantity;
* customers are acquired uniformly over ``years``, churn after an exponential lifetime, and 2% of
  lines are returned later ('C' invoices with negative quantity).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COUNTRIES = ("United Kingdom", "Germany", "France", "Netherlands", "India", "United States")
N_CATEGORIES = 40
N_GROUPS = 8


def make_affinity_sales(
    n_customers: int = 25_000, n_products: int = 4_000, *, years: int = 2, orders_per_customer: float = 10.0,
    seed: int = 0, start: str = "2023-01-01", latent: dict | None = None,
) -> pd.DataFrame:
    """Raw invoice lines (Online-Retail-like columns) with segment affinities, staples and complements.

    ``latent`` (optional, for benchmarks.recommend_oracle) is filled with the hidden draws the lines
    come from (each customer's rate, life, group and staples; the product distributions).
    """
    rng = np.random.default_rng(seed)
    category = rng.permutation(np.arange(n_products) % N_CATEGORIES)
    within = np.empty(n_products)
    for c in range(N_CATEGORIES):
        members = np.flatnonzero(category == c)
        within[members] = 1.0 / np.arange(1, len(members) + 1) ** 0.9
    price = np.round(np.exp(rng.normal(np.log(4.0), 0.9, n_products)), 2).clip(0.2, 300)
    partner = np.empty(n_products, dtype=np.int64)
    for c in range(N_CATEGORIES):
        members = np.flatnonzero(category == c)
        partner[members] = np.roll(rng.permutation(members), 1)
    taste = rng.dirichlet(np.full(N_CATEGORIES, 0.3), N_GROUPS)  # group x category
    group_p = taste[:, category] * within  # group x product
    group_p /= group_p.sum(axis=1, keepdims=True)
    global_p = within * np.bincount(category, minlength=N_CATEGORIES)[category] ** 0.0
    global_p /= global_p.sum()

    days = int(365.25 * years)
    acquired = rng.integers(0, days, n_customers)
    lifetime = rng.exponential(1.5 * 365, n_customers)
    end = np.minimum(acquired + lifetime, days).astype(np.int64).clip(acquired + 1)
    rate = rng.gamma(1.2, orders_per_customer / 1.2 / (0.6 * days), n_customers)
    n_orders = 1 + rng.poisson(rate * (end - acquired))
    quartile = np.searchsorted(np.quantile(rate, [0.25, 0.5, 0.75]), rate)
    group = quartile * 2 + rng.integers(0, 2, n_customers)
    n_staples = rng.integers(3, 9, n_customers)
    staples = np.stack([_draw(rng, group_p, group) for _ in range(8)], axis=1)  # first-life staples
    later = np.stack([_draw(rng, group_p, group) for _ in range(8)], axis=1)
    keep = rng.random((n_customers, 8)) < 0.5
    later = np.where(keep, staples, later)  # half the staples change over a customer's life

    order_customer = np.repeat(np.arange(n_customers), n_orders)
    order_day = rng.integers(acquired[order_customer], end[order_customer])
    first = np.r_[0, np.cumsum(n_orders)[:-1]]
    order_day[first] = acquired
    progress = (order_day - acquired[order_customer]) / np.maximum(end - acquired, 1)[order_customer]
    basket = 1 + rng.poisson(3.0, len(order_day))
    line_order = np.repeat(np.arange(len(order_day)), basket)
    customer = order_customer[line_order]
    source = rng.random(len(line_order))
    slot = (rng.random(len(line_order)) * n_staples[customer]).astype(np.int64)
    use_later = rng.random(len(line_order)) < progress[line_order]
    product = np.where(use_later, later[customer, slot], staples[customer, slot])
    taste_lines = (source >= 0.5) & (source < 0.8)
    product[taste_lines] = _draw(rng, group_p, group[customer[taste_lines]])
    pop_lines = source >= 0.8
    product[pop_lines] = rng.choice(n_products, pop_lines.sum(), p=global_p)
    extra = rng.random(len(line_order)) < 0.25
    line_order = np.r_[line_order, line_order[extra]]
    product = np.r_[product, partner[product[extra]]]
    if latent is not None:
        latent.update(acquired=acquired, end=end, rate=rate, group=group, n_staples=n_staples, staples=staples,
                      later=later, group_p=group_p, global_p=global_p, partner=partner, days=days,
                      start=pd.Timestamp(start))  # fmt: skip
    quantity = 1 + rng.poisson(1.0, len(product))
    lines = pd.DataFrame({"order": line_order, "product": product, "quantity": quantity})
    lines = lines.groupby(["order", "product"], as_index=False, sort=True)["quantity"].sum()

    returned = rng.random(len(lines)) < 0.02
    back = lines[returned].copy()
    back["quantity"] = -back["quantity"]
    back_day = order_day[back["order"].to_numpy()] + rng.integers(1, 30, len(back))
    ok = back_day < days
    start_ts = pd.Timestamp(start)
    minute = rng.integers(8 * 60, 19 * 60, len(order_day))
    stamp = start_ts + pd.to_timedelta(order_day, unit="D") + pd.to_timedelta(minute, unit="m")
    sales = pd.DataFrame({
        "InvoiceNo": (500_000 + lines["order"]).astype(str),
        "StockCode": "P" + lines["product"].astype(str).str.zfill(5),
        "Description": "ITEM " + lines["product"].astype(str) + " CAT " + category[lines["product"]].astype(str),
        "Quantity": lines["quantity"].to_numpy(),
        "InvoiceDate": stamp[lines["order"].to_numpy()],
        "UnitPrice": price[lines["product"]],
        "CustomerID": (10_000 + order_customer[lines["order"]]).astype(str),
        "Country": np.array(COUNTRIES)[order_customer[lines["order"]] % len(COUNTRIES)],
    })
    back = back[ok]
    returns = pd.DataFrame({
        "InvoiceNo": "C" + (900_000 + np.arange(len(back))).astype(str),
        "StockCode": "P" + back["product"].astype(str).str.zfill(5),
        "Description": "ITEM " + back["product"].astype(str) + " CAT " + category[back["product"]].astype(str),
        "Quantity": back["quantity"].to_numpy(),
        "InvoiceDate": start_ts + pd.to_timedelta(back_day[ok], unit="D") + pd.Timedelta(hours=12),
        "UnitPrice": price[back["product"]],
        "CustomerID": (10_000 + order_customer[back["order"]]).astype(str),
        "Country": np.array(COUNTRIES)[order_customer[back["order"]] % len(COUNTRIES)],
    })
    frame = pd.concat([sales, returns], ignore_index=True).sort_values("InvoiceDate", kind="stable")
    return frame.reset_index(drop=True)


def _draw(rng: np.random.Generator, probabilities: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """One product per entry of ``groups``, drawn from that group's product distribution."""
    out = np.empty(len(groups), dtype=np.int64)
    cumulative = probabilities.cumsum(axis=1)
    for g in np.unique(groups):
        where = np.flatnonzero(groups == g)
        out[where] = np.searchsorted(cumulative[g], rng.random(len(where)) * cumulative[g, -1])
    return out.clip(0, probabilities.shape[1] - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--products", type=int, default=4_000)
    parser.add_argument("--orders", type=float, default=10.0, help="mean orders per customer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help=".parquet or .csv")
    args = parser.parse_args()
    frame = make_affinity_sales(args.customers, args.products, orders_per_customer=args.orders, seed=args.seed)
    write_frame(frame, args.out)


def write_frame(frame: pd.DataFrame, out: Path) -> None:
    """Write a generated log as CSV or Parquet (by suffix) and say what it holds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    else:
        frame.to_parquet(out, index=False)
    customers = frame.CustomerID.replace("", None).nunique()
    print(f"{out}: {len(frame):,} lines, {customers:,} customers, {frame.StockCode.nunique():,} products")


if __name__ == "__main__":
    main()
