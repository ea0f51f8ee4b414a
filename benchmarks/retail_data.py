"""An Online-Retail-like invoice log (UCI "Online Retail" shape) for judging recommendations.

    python -m benchmarks.retail_data --customers 4300 --out benchmarks/data/retail_4300c.parquet

The UCI file has 541,909 lines over 2010-12-01 .. 2011-12-09 from ~4,300 customers (a quarter of the
lines without one) and ~4,000 stock codes: wholesale buyers of gift ware who reorder many of the same
items, buy designs in families (the same pattern as bag, lunch box, cake case), follow a strong
Christmas season, and see new products arrive through the year. What this generator draws (all from
``seed``), so a recommender cannot win by knowing the generator:

* products = design family x product type; popularity log-normal (family x product), prices by type,
  15% of families Christmas-seasonal (demand peaks mid November, near nothing in spring), 5%
  summer; a quarter of the products launch during the year (Christmas ones from August);
* customers: a country (UK ~88%), a business size (orders per year gamma, basket size log-normal,
  correlated), a taste over families mixing a personal draw, their country's and their size
  class's preferences; acquired over the year (a third already buying in December 2010), churn
  after an exponential lifetime;
* each order re-buys items from the customer's repertoire, each item with its own cycle (an item
  is *due* when its days since the last purchase approach its cycle, weighted by the customer's
  attachment to it and by the item's season), and explores new items (a family member of what is in
  the basket, a product of a family they like, or a trending product); explored items join the
  repertoire with some probability and repertoire items fade after a random interest span, so
  repertoires drift;
* foreign customers add a POSTAGE line to most orders (as in the UCI file); 2% of lines are
  returned within a month ('C' invoices); ``guest_share`` of orders have no customer id;
* with ``non_merchandise=True`` (``--non-merchandise``), the UCI file's other service lines at about its
  rates (:func:`service_lines`): DOTCOM POSTAGE on guests' orders, CARRIAGE on Irish customers' orders,
  Manual lines (most on sales invoices, some on 'C' invoices), Bank Charges, Discount, SAMPLES and CRUK
  Commission on 'C' invoices, AMAZON FEE, Adjust bad debt and gift vouchers on guests' invoices. They
  are drawn from their own random stream, so every other line is the same as without them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "Spain", "Netherlands", "Belgium",
             "Switzerland", "Portugal", "Australia", "Norway", "Italy")  # fmt: skip
COUNTRY_WEIGHTS = np.array([0.88, 0.025, 0.022, 0.012, 0.01, 0.008, 0.008, 0.007, 0.006, 0.006, 0.004, 0.004])
TYPES = ("JUMBO BAG", "LUNCH BAG", "CAKE CASES", "T-LIGHT HOLDER", "MUG", "PAPER NAPKINS", "BUNTING",
         "TEA TOWEL", "HOT WATER BOTTLE", "DOORMAT", "CAKE STAND", "PHOTO FRAME", "GIFT WRAP",
         "PARTY CUPS", "CHILDRENS APRON", "NOTEBOOK", "PURSE", "CUSHION COVER", "LANTERN", "CLOCK",
         "SIGN", "BAKING SET", "LUNCH BOX", "WATER BOTTLE", "PENCILS", "STICKERS", "HANGING HEART",
         "DECORATION", "STOCKING", "WREATH", "CANDLE", "GARLAND", "PAPER CHAIN KIT", "SNOW GLOBE",
         "TISSUES", "SHOPPER", "RECIPE BOX", "TRINKET BOX", "PLASTERS", "PEG BAG")  # fmt: skip
TYPE_PRICE = np.exp(np.linspace(np.log(0.4), np.log(9.0), len(TYPES)))
ADJECTIVES = ("RED", "PINK", "BLUE", "GREEN", "IVORY", "VINTAGE", "RETRO", "SPACEBOY", "WOODLAND",
              "REGENCY", "DOLLY GIRL", "SKULL", "POLKADOT", "PAISLEY", "STRAWBERRY", "CHERRY", "ALPHABET",
              "FAIRY", "OWL", "BIRD", "SCANDINAVIAN", "FRENCH", "ENGLISH ROSE", "JAM", "CIRCUS")  # fmt: skip
PATTERNS = ("RETROSPOT", "SPOTTY", "FLORAL", "HEART", "STAR", "STRIPE", "PARADE", "GARDEN", "LOVE",
            "CHRISTMAS", "DOILY", "KITCHEN", "TOADSTOOL", "BUNNY", "CAMPHOR", "TREE")  # fmt: skip
START = pd.Timestamp("2010-12-01")
DAYS = 374  # 2010-12-01 .. 2011-12-09


def make_retail_log(
    n_customers: int = 4300, n_products: int = 4000, *, seed: int = 0, guest_share: float = 0.2,
    basket_median: float = 18.0, orders_per_year: float = 6.0, explore: tuple[float, float] = (2.0, 5.0),
    latent: dict | None = None, non_merchandise: bool = False,
) -> pd.DataFrame:
    """Raw invoice lines in the UCI Online Retail columns (see the module doc).

    ``latent`` (optional, for benchmarks.recommend_oracle): a dict with ``day`` (a day index); it is
    filled with the hidden state the lines are drawn from -- the catalogue, the customers, the day
    table, each customer's order days and their repertoire as it stood before their first order on
    or after ``day`` -- without changing the lines drawn.
    """
    rng = np.random.default_rng(seed)
    catalogue = _catalogue(rng, n_products)
    customers = _customers(rng, n_customers, catalogue, orders_per_year, basket_median, explore)
    season = _season_table(catalogue)
    if latent is not None:
        latent.update(catalogue=catalogue, customers=customers, season=season, repertoire={}, days={})
    orders: list[tuple[int, int, np.ndarray, np.ndarray]] = []  # (customer, day, products, quantities)
    for c in range(n_customers):
        _simulate_customer(rng, c, customers, catalogue, season, orders, latent)
    n_guest = int(len(orders) * guest_share / max(1e-9, 1 - guest_share))
    for _ in range(n_guest):
        day = int(_order_days(rng, 0, DAYS, 1, season["busy"])[0])
        size = int(np.clip(rng.lognormal(np.log(basket_median), 0.8), 1, 120))
        products = _draw_products(rng, catalogue["weight_at"](day), size)
        orders.append((-1, day, products, _quantities(rng, catalogue, products)))
    frame = _to_frame(rng, orders, catalogue, customers)
    if non_merchandise:
        extra = service_lines(np.random.default_rng([seed, 1]), frame)
        frame = pd.concat([frame, extra], ignore_index=True)
        frame = frame.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)
    return frame


# --- the catalogue -------------------------------------------------------------------------------


def _catalogue(rng: np.random.Generator, n_products: int) -> dict:
    n_families = max(20, n_products // 11)
    family = np.sort(rng.integers(0, n_families, n_products))
    kind = rng.integers(0, len(TYPES), n_products)
    family_pop = rng.lognormal(0.0, 1.0, n_families)
    popularity = family_pop[family] * rng.lognormal(0.0, 1.0, n_products)
    season_of_family = rng.choice(3, n_families, p=[0.8, 0.15, 0.05])  # 0 all year, 1 Christmas, 2 summer
    season = season_of_family[family]
    launch = np.where(rng.random(n_products) < 0.75, -1, rng.integers(0, DAYS - 20, n_products))
    xmas_new = (season == 1) & (launch >= 0)
    launch[xmas_new] = rng.integers(240, 330, xmas_new.sum())  # August .. October
    cycle = rng.lognormal(np.log(45.0), 0.5, len(TYPES))[kind]  # typical reorder cycle of the type
    price = np.round(TYPE_PRICE[kind] * rng.lognormal(0.0, 0.3, n_products), 2).clip(0.19, 60)
    pack = rng.choice([1, 2, 4, 6, 12, 24], n_products, p=[0.25, 0.1, 0.1, 0.2, 0.25, 0.1])
    names = np.array([f"{ADJECTIVES[f % len(ADJECTIVES)]} {PATTERNS[(f // len(ADJECTIVES)) % len(PATTERNS)]}"
                      for f in range(n_families)])  # fmt: skip
    description = np.array([f"{names[f]} {TYPES[k]}" for f, k in zip(family, kind, strict=True)], dtype=object)
    dup = pd.Series(description).duplicated(keep=False).to_numpy()
    description[dup] = [f"{d} {i}" for d, i in zip(description[dup], np.flatnonzero(dup), strict=True)]
    members = [np.flatnonzero(family == f) for f in range(n_families)]
    catalogue = {
        "n": n_products, "family": family, "kind": kind, "popularity": popularity, "season": season,
        "launch": launch, "cycle": cycle, "price": price, "pack": pack, "description": description,
        "members": members, "n_families": n_families, "family_pop": family_pop,
    }

    def weight_at(day: int) -> np.ndarray:
        w = popularity * _season_factor(season, day)
        w[launch > day] = 0.0
        fresh = (launch >= 0) & (launch <= day) & (day - launch < 60)
        w[fresh] *= 3.0  # new products are pushed when they arrive
        return w

    catalogue["weight_at"] = weight_at
    return catalogue


def _season_factor(season: np.ndarray, day: int) -> np.ndarray:
    """Demand multiplier of each product's season on ``day`` (day 0 = 1 December 2010)."""
    doy = (pd.Timestamp(START) + pd.Timedelta(days=int(day))).day_of_year
    xmas = 0.05 + 3.0 * np.exp(-(((doy - 320) / 40.0) ** 2)) + (0.6 if doy < 8 or doy > 355 else 0.0)
    summer = 0.15 + 1.5 * np.exp(-(((doy - 170) / 35.0) ** 2))
    return np.select([season == 1, season == 2], [xmas, summer], 1.0)


def _season_table(catalogue: dict) -> dict:
    days = np.arange(DAYS)
    doy = (pd.Timestamp(START) + pd.to_timedelta(days, unit="D")).day_of_year.to_numpy()
    weekday = (pd.Timestamp(START) + pd.to_timedelta(days, unit="D")).day_of_week.to_numpy()
    busy = (1.0 + 0.9 * np.exp(-(((doy - 318) / 35.0) ** 2))) * np.where(weekday == 5, 0.0, 1.0)  # no Saturdays
    busy = busy * np.where(weekday == 6, 0.5, 1.0)
    return {"busy": busy / busy.mean()}


# --- customers -----------------------------------------------------------------------------------


def _customers(rng: np.random.Generator, n: int, catalogue: dict, orders_per_year: float,
               basket_median: float, explore: tuple[float, float]) -> dict:
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    size = rng.normal(0.0, 1.0, n)  # business size: more orders, bigger baskets
    rate = rng.gamma(0.8, orders_per_year / 0.8, n) * np.exp(0.4 * size) / 365.0
    basket = np.clip(np.exp(np.log(basket_median) + 0.45 * size + rng.normal(0, 0.5, n)), 2, 150)
    size_class = np.digitize(size, [-0.5, 0.5])
    nf = catalogue["n_families"]
    country_taste = rng.dirichlet(np.full(nf, 0.5), len(COUNTRIES))
    class_taste = rng.dirichlet(np.full(nf, 0.5), 3)
    personal = rng.dirichlet(np.full(nf, 0.15), n)
    taste = 0.5 * personal + 0.25 * country_taste[country] + 0.25 * class_taste[size_class]
    acquired = np.where(rng.random(n) < 0.35, 0, rng.integers(0, DAYS - 5, n))
    lifetime = rng.exponential(500.0, n)
    end = np.minimum(acquired + lifetime, DAYS).astype(np.int64).clip(acquired + 1)
    explore = rng.beta(*explore, n)  # share of an order's lines that are new to the customer
    return {"country": country, "rate": rate, "basket": basket, "taste": taste, "acquired": acquired,
            "end": end, "explore": explore, "n": n}  # fmt: skip


def _order_days(rng: np.random.Generator, first: int, last: int, count: int, busy: np.ndarray) -> np.ndarray:
    weights = busy[first:last]
    if weights.sum() <= 0:
        return np.full(count, first)
    return np.sort(first + rng.choice(len(weights), count, p=weights / weights.sum()))


def _simulate_customer(rng: np.random.Generator, c: int, customers: dict, catalogue: dict, season: dict,
                       orders: list, latent: dict | None = None) -> None:
    first, last = int(customers["acquired"][c]), int(customers["end"][c])
    n_orders = 1 + rng.poisson(customers["rate"][c] * (last - first))
    days = _order_days(rng, first, last, n_orders, season["busy"])
    days[0] = first if season["busy"][first] > 0 else days[0]
    days = np.unique(days)
    if latent is not None:
        latent["days"][c] = days
    repertoire: dict[int, list[float]] = {}  # product -> [last day, attachment, cycle, fades on day]
    for day in days:
        day = int(day)
        if latent is not None and day >= latent["day"] and c not in latent["repertoire"]:
            latent["repertoire"][c] = {p: list(v) for p, v in repertoire.items()}
        products = draw_order(rng, c, day, repertoire, customers, catalogue)
        orders.append((c, day, products, _quantities(rng, catalogue, products)))


def draw_order(rng: np.random.Generator, c: int, day: int, repertoire: dict[int, list[float]], customers: dict,
               catalogue: dict) -> np.ndarray:
    """The products of customer ``c``'s order on ``day``; ``repertoire`` is updated in place."""
    size = max(1, int(rng.poisson(customers["basket"][c])))
    for product in [p for p, v in repertoire.items() if v[3] < day]:
        del repertoire[product]
    chosen: list[int] = []
    if repertoire:
        items = np.fromiter(repertoire.keys(), dtype=np.int64)
        values = np.array(list(repertoire.values()))
        since = day - values[:, 0]
        due = 1.0 - np.exp(-since / values[:, 2])
        weight = values[:, 1] * due * _season_factor(catalogue["season"][items], day)
        n_repeat = min(len(items), rng.binomial(size, 1.0 - customers["explore"][c]))
        if n_repeat and weight.sum() > 0:
            n_repeat = min(n_repeat, int((weight > 0).sum()))
            chosen = list(rng.choice(items, n_repeat, replace=False, p=weight / weight.sum()))
    n_new = max(size - len(chosen), 0 if repertoire else size)
    chosen += _explore(rng, catalogue, customers["taste"][c], day, chosen, n_new)
    products = np.unique(np.array(chosen, dtype=np.int64))
    for product in products:
        entry = repertoire.get(int(product))
        if entry is not None:
            entry[0] = day
        elif rng.random() < 0.5:
            cycle = catalogue["cycle"][product] * rng.lognormal(0.0, 0.5)
            repertoire[int(product)] = [day, rng.lognormal(0.0, 0.8), cycle, day + rng.exponential(220.0)]
    return products


def _explore(rng: np.random.Generator, catalogue: dict, taste: np.ndarray, day: int, basket: list[int],
             count: int) -> list[int]:
    """New items: a family member of the basket (40%), a liked family's product (35%), trending (25%)."""
    out: list[int] = []
    weights = catalogue["weight_at"](day)
    for _ in range(count):
        u = rng.random()
        if u < 0.4 and (basket or out):
            family = catalogue["family"][rng.choice(basket + out)]
        elif u < 0.75:
            family = rng.choice(catalogue["n_families"], p=taste)
        else:
            out.extend(_draw_products(rng, weights, 1))
            continue
        members = catalogue["members"][family]
        w = weights[members]
        if w.sum() > 0:
            out.append(int(rng.choice(members, p=w / w.sum())))
    return out


def _draw_products(rng: np.random.Generator, weights: np.ndarray, count: int) -> np.ndarray:
    count = min(count, int((weights > 0).sum()))
    return rng.choice(len(weights), count, replace=False, p=weights / weights.sum())


def _quantities(rng: np.random.Generator, catalogue: dict, products: np.ndarray) -> np.ndarray:
    return catalogue["pack"][products] * (1 + rng.poisson(0.6, len(products)))


# --- the file ------------------------------------------------------------------------------------


def _to_frame(rng: np.random.Generator, orders: list, catalogue: dict, customers: dict) -> pd.DataFrame:
    order_day = np.array([o[1] for o in orders])
    order_customer = np.array([o[0] for o in orders])
    order = np.argsort(order_day, kind="stable")
    invoice = np.empty(len(orders), dtype=np.int64)
    invoice[order] = 536_365 + np.arange(len(orders))
    sizes = np.array([len(o[2]) for o in orders])
    line_order = np.repeat(np.arange(len(orders)), sizes)
    product = np.concatenate([o[2] for o in orders])
    quantity = np.concatenate([o[3] for o in orders])
    country = np.where(order_customer >= 0, customers["country"][order_customer.clip(0)], 0)
    guest_country = rng.choice(len(COUNTRIES), len(orders), p=COUNTRY_WEIGHTS / COUNTRY_WEIGHTS.sum())
    country = np.where(order_customer >= 0, country, guest_country)
    minute = rng.integers(8 * 60, 18 * 60, len(orders))
    stamp = START + pd.to_timedelta(order_day, unit="D") + pd.to_timedelta(minute, unit="m")
    customer_text = np.where(order_customer >= 0, (12_346 + order_customer).astype(str), "")
    lines = pd.DataFrame({
        "InvoiceNo": invoice[line_order].astype(str),
        "StockCode": (10_000 + product).astype(str),
        "Description": catalogue["description"][product],
        "Quantity": quantity,
        "InvoiceDate": stamp[line_order],
        "UnitPrice": catalogue["price"][product],
        "CustomerID": customer_text[line_order],
        "Country": np.array(COUNTRIES)[country[line_order]],
    })
    foreign = np.flatnonzero((country > 0) & (rng.random(len(orders)) < 0.85))
    postage = pd.DataFrame({
        "InvoiceNo": invoice[foreign].astype(str), "StockCode": "POST", "Description": "POSTAGE",
        "Quantity": rng.integers(1, 4, len(foreign)), "InvoiceDate": stamp[foreign], "UnitPrice": 18.0,
        "CustomerID": customer_text[foreign], "Country": np.array(COUNTRIES)[country[foreign]],
    })  # fmt: skip
    sales = pd.concat([lines, postage], ignore_index=True)
    back = sales[(rng.random(len(sales)) < 0.02) & (sales["CustomerID"] != "")].copy()
    back["InvoiceDate"] = back["InvoiceDate"] + pd.to_timedelta(rng.integers(1, 30, len(back)), unit="D")
    back = back[back["InvoiceDate"] < START + pd.Timedelta(days=DAYS)]
    back["Quantity"] = -np.ceil(back["Quantity"] * rng.uniform(0.2, 1.0, len(back))).astype(np.int64)
    back["InvoiceNo"] = "C" + (580_000 + np.arange(len(back))).astype(str)
    frame = pd.concat([sales, back], ignore_index=True)
    return frame.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable").reset_index(drop=True)


def service_lines(rng: np.random.Generator, frame: pd.DataFrame) -> pd.DataFrame:
    """Non-merchandise lines of the UCI file other than POSTAGE, at about its rates per invoice.

    UCI Online Retail (25,900 invoices): DOT 709 lines (nearly all guests), M 571, C2 143 (mostly
    EIRE), D 77, S 63, BANK CHARGES 37, AMAZONFEE 34, CRUK 16, B 3, gift vouchers a few dozen.
    """
    sales = frame[~frame["InvoiceNo"].str.startswith("C")]
    orders = sales.drop_duplicates("InvoiceNo")[["InvoiceNo", "InvoiceDate", "CustomerID", "Country"]]
    known, guests = orders[orders["CustomerID"] != ""], orders[orders["CustomerID"] == ""]
    parts: list[pd.DataFrame] = []
    credit_no = iter(range(600_000, 700_000))

    def add(on: pd.DataFrame, share: float, code: str, name: str, price, quantity: int = 1,  # noqa: ANN001
            credit: bool = False) -> None:
        chosen = on[rng.random(len(on)) < share].copy() if share < 1 else on.copy()
        if chosen.empty:
            return
        chosen["StockCode"], chosen["Description"] = code, name
        chosen["Quantity"] = -quantity if credit else quantity
        chosen["UnitPrice"] = np.round(price(len(chosen)), 2)
        if credit:  # a credit note a few days later
            chosen["InvoiceNo"] = ["C" + str(next(credit_no)) for _ in range(len(chosen))]
            chosen["InvoiceDate"] = chosen["InvoiceDate"] + pd.to_timedelta(rng.integers(0, 8, len(chosen)), unit="D")
        parts.append(chosen)

    def lognormal(median: float, sigma: float):  # noqa: ANN202
        return lambda n: rng.lognormal(np.log(median), sigma, n).clip(0.01)

    add(guests, 0.15, "DOT", "DOTCOM POSTAGE", lognormal(100.0, 0.8))
    add(known[known["Country"] == "EIRE"], 0.25, "C2", "CARRIAGE", lambda n: np.full(n, 50.0))
    add(known, 0.015, "M", "Manual", lognormal(5.0, 1.5))
    add(known, 0.005, "M", "Manual", lognormal(5.0, 1.5), credit=True)
    add(known, 0.0015, "BANK CHARGES", "Bank Charges", lambda n: np.full(n, 15.0))
    add(known, 0.003, "D", "Discount", lognormal(20.0, 1.0), credit=True)
    add(known, 0.0025, "S", "SAMPLES", lognormal(30.0, 1.0), credit=True)
    add(known.sample(16, random_state=int(rng.integers(1 << 31))) if len(known) >= 16 else known, 1.0,
        "CRUK", "CRUK Commission", lognormal(40.0, 0.8), credit=True)  # fmt: skip
    add(guests, 0.008, "AMAZONFEE", "AMAZON FEE", lognormal(3000.0, 1.0))
    add(guests, 0.001, "B", "Adjust bad debt", lognormal(500.0, 1.0))
    add(guests, 0.01, "gift_0001_20", "Dotcomgiftshop Gift Voucher £20.00", lambda n: np.full(n, 17.02))
    columns = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
    end = START + pd.Timedelta(days=DAYS)
    lines = pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    return lines[lines["InvoiceDate"] < end]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=4300)
    parser.add_argument("--products", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help=".parquet or .csv")
    parser.add_argument("--non-merchandise", action="store_true",
                        help="add the UCI file's other service lines (Manual, CARRIAGE, Discount, fees ...)")
    args = parser.parse_args()
    frame = make_retail_log(args.customers, args.products, seed=args.seed, non_merchandise=args.non_merchandise)
    from benchmarks.recommend_data import write_frame

    write_frame(frame, args.out)


if __name__ == "__main__":
    main()
