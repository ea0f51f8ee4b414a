"""Money at the edge: which columns hold money, and rounding them once, when a table is written.

Sums of float amounts carry binary noise (277.09999999999997, 2500315.6300003813). Computations keep
full precision; every export rounds money columns to the cent (unit prices to 1/100 of a cent) in
``round_money``, called by ``segmint.exports.export_table`` for CSV, JSON, Excel and Parquet alike.
A column is money by its name (``revenue``, ``monetary``, ``amount``, ``aov``, ``clv``, ...), unless the
name says it is a share, rate, score, probability or count.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MONEY_DECIMALS", "PRICE_DECIMALS", "money_decimals", "round_money", "round_value"]

MONEY_DECIMALS = 2
PRICE_DECIMALS = 4  # unit prices may be fractions of a cent (0.0125 per gram)
_MONEY = re.compile(
    r"amount|revenue|monetary|order_value|aov|atv|spend|sales|price|cost|clv|value|balance|outstanding|"
    r"overdue|receivable|payable|paid|debit|credit|profit|margin|total|dollar|money|limit",
    re.IGNORECASE,
)
_NOT_MONEY = re.compile(
    r"share|pct|percent|ratio|rate|score|prob|alive|days|count|number|growth|index|quantity|qty|weight|lift",
    re.IGNORECASE,
)


def money_decimals(name: str) -> int | None:
    """Decimals a column called ``name`` is written with when it holds money; None when it does not."""
    if not _MONEY.search(name) or _NOT_MONEY.search(name):
        return None
    return PRICE_DECIMALS if "price" in name.lower() else MONEY_DECIMALS


def round_money(table: Any) -> Any:
    """``table`` (pandas or Arrow) with its float money columns rounded to the cent (-0.0 becomes 0)."""
    import pyarrow as pa

    if isinstance(table, pa.Table):
        return _round_arrow(table)
    import pandas as pd

    money = {c: d for c in table.columns
             if pd.api.types.is_float_dtype(table[c]) and (d := money_decimals(str(c))) is not None}  # fmt: skip
    if not money:
        return table
    out = table.copy()
    for column, decimals in money.items():
        out[column] = out[column].round(decimals) + 0.0
    return out


def _round_arrow(table: Any) -> Any:
    """Arrow money columns rounded like pandas/numpy ``round``: half to even of ``x * 10**d``, then
    divided back (Arrow's own ``round(ndigits=...)`` leaves 0.41000000000000003 as it is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for index, field in enumerate(table.schema):
        decimals = money_decimals(field.name)
        if decimals is not None and pa.types.is_floating(field.type):
            scale = pa.scalar(10.0**decimals, field.type)
            scaled = pc.round(pc.multiply(table.column(index), scale), round_mode="half_to_even")
            rounded = pc.add(pc.divide(scaled, scale), pa.scalar(0.0, field.type))
            table = table.set_column(index, field, rounded)
    return table


def round_value(value: float, decimals: int) -> float:
    """One float rounded by the rule of :func:`round_money` (numpy's: half to even of ``value * 10**d``)."""
    scale = 10.0**decimals
    scaled = value * scale
    if scaled != scaled or scaled in (float("inf"), float("-inf")):  # NaN, or too large to round: as numpy
        return scaled / scale
    return float(round(scaled)) / scale + 0.0
