"""Numbers at the edge: how many decimals each exported column is written with, and rounding once.

Sums of float amounts carry binary noise (277.09999999999997, 2500315.6300003813), and means and
shares carry all 17 digits of a division (0.1435622500212748). Computations keep full precision;
every export rounds float columns here, by name, in ``round_numbers`` (called by
``segmint.exports.export_table`` for CSV, JSON, Excel and Parquet alike, and by the dashboard's
JSON/CSV API): money to the cent (unit prices to 1/100 of a cent), shares, rates, probabilities,
lifts and scores to 4 places, means, indexes, per-customer/per-day figures, percentages and days to
2 (a group's mean purchases per customer to 3), any other float to 4. A column is money by its name
(``revenue``, ``monetary``, ``amount``, ``aov``, ``clv``, ...), unless the name says it is a share,
rate, score, probability or count. CSV writes every float column with its decimals always shown
(``101.50``, ``278.00``, ``0.5000``), as Excel displays money.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "MAX_AMOUNT", "MEASURE_DECIMALS", "MONEY_DECIMALS", "PRICE_DECIMALS", "PURCHASE_MEAN_DECIMALS", "SHARE_DECIMALS",
    "export_decimals",
    "money_decimals", "money_text", "round_numbers", "round_value",
]  # fmt: skip

MONEY_DECIMALS = 2
PRICE_DECIMALS = 4  # unit prices may be fractions of a cent (0.0125 per gram)
SHARE_DECIMALS = 4  # shares, ratios, rates, probabilities, lifts, scores: 0.1436 (14.36%)
MEASURE_DECIMALS = 2  # means, indexes, per-customer and per-day figures, percentages, days: 54.68
OTHER_DECIMALS = 4  # any other float (expected purchases, weeks, log-likelihoods)
# a group's mean purchases per customer, actual and predicted (CLV's holdout check by frequency, FHL 2005
# figure 4): 0.251 vs 0.231 purchases; to 2 places the gap of a small group mean was a rounding step
PURCHASE_MEAN_DECIMALS = 3
_PURCHASE_MEAN = re.compile(r"^(actual|predicted)_mean$", re.IGNORECASE)
# the largest amount a line, and a sum of lines, may reach: amounts are float64, exact for every whole
# number up to 2**53 (about 9.0e15), and exports write DECIMAL(18, 2) (up to about 1e16); a line
# beyond it is dropped at cleaning (``amount_too_large``, a cost ``cost_too_large``) and kept lines
# adding up beyond it are refused
MAX_AMOUNT = 1e15
_MONEY = re.compile(
    r"amount|revenue|monetary|order_value|aov|atv|spend|sales|price|cost|clv|value|balance|outstanding|"
    r"overdue|receivable|payable|paid|debit|credit|profit|margin|total|dollar|money|limit|aging|owed|not_due|"
    r"on_account",
    re.IGNORECASE,
)
_NOT_MONEY = re.compile(
    r"share|pct|percent|ratio|rate|score|prob|alive|days|count|number|growth|index|quantity|qty|weight|lift",
    re.IGNORECASE,
)


_WORD = r"(?:^|[^a-z])(?:{})(?:[^a-z]|$)"  # a whole word of a snake_case or spaced column name
_SHARE = re.compile(_WORD.format(
    "shares?|ratios?|rates?|prob|probability|alive|lift|scores?|coverage|precision|recall|hit|correlation|"
    "pearson|spearman|utilisation|utilization|churn"
), re.IGNORECASE)  # fmt: skip
_MEASURE = re.compile(_WORD.format("mean|avg|average|index|per|pct|percent|days?"), re.IGNORECASE)


def money_decimals(name: str) -> int | None:
    """Decimals a column called ``name`` is written with when it holds money; None when it does not."""
    if not _MONEY.search(name) or _NOT_MONEY.search(name):
        return None
    return PRICE_DECIMALS if "price" in name.lower() else MONEY_DECIMALS


def export_decimals(name: str) -> int:
    """Decimals a float column called ``name`` is written with: money to the cent, shares to 4 places,
    means and indexes to 2, anything else to 4 (see the module's docstring); a group's mean purchases
    per customer (``actual_mean``, ``predicted_mean``) to 3, as ``segmint clv`` prints them."""
    if _PURCHASE_MEAN.search(name):
        return PURCHASE_MEAN_DECIMALS
    money = money_decimals(name)
    if money is not None:
        return money
    if _SHARE.search(name):
        return SHARE_DECIMALS
    return MEASURE_DECIMALS if _MEASURE.search(name) else OTHER_DECIMALS


def money_text(value: float, decimals: int) -> str:
    """A rounded money value as CSV writes it: every decimal of the cent shown (``101.50``), a unit
    price with 2 to 4 (``2.50``, ``0.0125``)."""
    text = f"{value:.{decimals}f}"
    if decimals > MONEY_DECIMALS and "." in text:
        text = text.rstrip("0")
        text += "0" * (MONEY_DECIMALS - len(text.split(".")[1]))
    return text


def round_numbers(table: Any) -> Any:
    """``table`` (pandas or Arrow) with its float columns rounded by :func:`export_decimals` (-0.0 becomes 0)."""
    import pyarrow as pa

    if isinstance(table, pa.Table):
        return _round_arrow(table)
    import pandas as pd

    floats = {c: export_decimals(str(c)) for c in table.columns if pd.api.types.is_float_dtype(table[c])}
    if not floats:
        return table
    out = table.copy()
    for column, decimals in floats.items():
        out[column] = out[column].round(decimals) + 0.0
    return out


def _round_arrow(table: Any) -> Any:
    """Arrow float columns rounded like pandas/numpy ``round``: half to even of ``x * 10**d``, then
    divided back (Arrow's own ``round(ndigits=...)`` leaves 0.41000000000000003 as it is)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for index, field in enumerate(table.schema):
        decimals = export_decimals(field.name)
        if pa.types.is_floating(field.type):
            scale = pa.scalar(10.0**decimals, field.type)
            scaled = pc.round(pc.multiply(table.column(index), scale), round_mode="half_to_even")
            rounded = pc.add(pc.divide(scaled, scale), pa.scalar(0.0, field.type))
            table = table.set_column(index, field, rounded)
    return table


def round_value(value: float, decimals: int) -> float:
    """One float rounded by the rule of :func:`round_numbers` (numpy's: half to even of ``value * 10**d``)."""
    scale = 10.0**decimals
    scaled = value * scale
    if scaled != scaled or scaled in (float("inf"), float("-inf")):  # NaN, or too large to round: as numpy
        return scaled / scale
    return float(round(scaled)) / scale + 0.0
