"""Per-customer value from a fitted purchase model and spend model: CLV over a horizon, bands, ranks.

Time-unit arithmetic (stated once, used everywhere):

* The model works in its ``time_unit`` (day = 1 day, week = 7 days, month = 365.25/12 days).
* A discount rate is given per ``discount_period`` (day, week, month or year = 365.25 days). Money
  received ``u`` model units after the calibration end is worth (1 + rate)^-(u * unit_days /
  period_days) today, so 1% a month with a weekly model discounts week ``u`` by 1.01^-(7u/30.4375).
* CLV over a horizon H = expected spend per purchase x sum over months k of (expected purchases in
  month k) x discount factor at the end of month k; months are 30.4375 days, the last one may be
  partial so the steps end exactly at H.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from segmint.btyd.summary import PERIOD_DAYS, unit_days
from segmint.errors import ConfigError

__all__ = [
    "RISK_BANDS",
    "churn_risk",
    "discount_factors",
    "discounted_purchases",
    "parse_discount",
    "parse_horizon",
    "schedule",
]

MONTH_DAYS = 365.25 / 12
RISK_BANDS = ("high", "medium", "low")  # churn risk, from P(purchase within the horizon)
RISK_THRESHOLDS = (0.3, 0.7)
_AMOUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(%?)\s*(?:(?:/|per\s+|a\s+)?\s*([a-z]+))?\s*$", re.I)
_UNIT_ALIASES = {"d": "day", "day": "day", "days": "day", "w": "week", "wk": "week", "week": "week",
                 "weeks": "week", "m": "month", "mo": "month", "month": "month", "months": "month",
                 "y": "year", "yr": "year", "year": "year", "years": "year", "annual": "year"}


def _period(name: str, what: str) -> str:
    period = _UNIT_ALIASES.get(name.lower())
    if period is None:
        raise ConfigError(f"{what}: unknown period {name!r}; use day, week, month or year")
    return period


def parse_horizon(value: float | str | None, time_unit: str) -> float:
    """A horizon in model units from a number (model units) or text like '12 months' / '1 year'."""
    per_unit = unit_days(time_unit)
    if value is None:
        return 12 * MONTH_DAYS / per_unit
    if isinstance(value, (int, float)):
        horizon = float(value)
    else:
        match = _AMOUNT.match(str(value))
        if not match or match.group(2):
            raise ConfigError(f"horizon {value!r}: give a number of {time_unit}s or e.g. '12 months'")
        amount, name = float(match.group(1)), match.group(3)
        horizon = amount if not name else amount * PERIOD_DAYS[_period(name, "horizon")] / per_unit
    if not math.isfinite(horizon) or horizon <= 0:
        raise ConfigError(f"horizon {value!r} must be a positive length of time")
    return horizon


def parse_discount(value: float | str | None, default_period: str = "year") -> tuple[float, str]:
    """(rate, period) from 0.1, '10%', '10%/year', '0.01/month' (a bare number is per ``default_period``)."""
    if value is None:
        return 0.10, "year"
    if isinstance(value, (int, float)):
        rate, period = float(value), default_period
    else:
        match = _AMOUNT.match(str(value))
        if not match:
            raise ConfigError(f"discount {value!r}: use a rate such as 0.1, 10%/year or 1%/month")
        rate = float(match.group(1)) / (100 if match.group(2) else 1)
        period = _period(match.group(3), "discount") if match.group(3) else default_period
    if not math.isfinite(rate) or rate < 0 or rate >= 10:
        raise ConfigError(f"discount rate {value!r} must be between 0 and 10 (1000%) per {default_period}")
    return rate, period


def discount_factors(times: np.ndarray, rate: float, period: str, time_unit: str) -> np.ndarray:
    """(1 + rate)^-(elapsed days / period days) at ``times`` model units after the calibration end."""
    exponent = np.asarray(times, dtype=float) * unit_days(time_unit) / PERIOD_DAYS[period]
    return np.power(1.0 + rate, -exponent)


def schedule(horizon: float, time_unit: str) -> np.ndarray:
    """Ends of the monthly steps up to ``horizon`` (model units); the last step ends at the horizon."""
    step = MONTH_DAYS / unit_days(time_unit)
    ends = np.arange(1, int(np.floor(horizon / step + 1e-9)) + 1) * step
    if ends.size == 0 or horizon - ends[-1] > 1e-9 * horizon:
        ends = np.append(ends, horizon)
    return ends


def discounted_purchases(model, horizon: float, rate: float, period: str, time_unit: str,
                         frequency, recency, T) -> tuple[np.ndarray, np.ndarray]:
    """(expected purchases over the horizon, their discounted sum) per customer."""
    ends = schedule(horizon, time_unit)
    factors = discount_factors(ends, rate, period, time_unit)
    curve = model.expected_purchases_curve(ends, frequency, recency, T)  # customers x steps, cumulative
    increments = np.diff(curve, axis=1, prepend=0.0)
    return curve[:, -1], increments @ factors


def churn_risk(p_repurchase: np.ndarray, thresholds: tuple[float, float] = RISK_THRESHOLDS) -> pd.Categorical:
    """high / medium / low churn risk from the probability of buying again within the horizon."""
    low, high = thresholds
    codes = np.where(p_repurchase < low, 0, np.where(p_repurchase < high, 1, 2))
    return pd.Categorical.from_codes(codes, categories=list(RISK_BANDS))
