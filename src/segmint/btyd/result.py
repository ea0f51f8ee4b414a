"""``CLVResult``: what ``segmint.clv`` returns -- per-customer value, the fitted models, validation."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from segmint.btyd.summary import SummaryWindow, unit_label
from segmint.errors import DataError

__all__ = ["CLVResult"]


def _plain(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, dates -> ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _rounded(value: Any, keep: frozenset[str], key: str = "") -> Any:
    """``value`` with its floats rounded as exports round a column of their key (log-likelihood and
    AIC to 4 places, correlations to 4, weeks to 4), except under ``keep``: a fitted model's
    parameters, standard errors and discount rates stay in full, so predictions can be reproduced."""
    if isinstance(value, dict):
        return {k: v if k in keep else _rounded(v, keep, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v, keep, key) for v in value]
    if isinstance(value, float) and key:
        from segmint.money import export_decimals

        return round(value, export_decimals(key)) + 0.0
    return value


@dataclass
class CLVResult:
    """Customer value from a BTYD model fitted on the calibration period, scored at its end."""

    customers: pd.DataFrame  # one row per customer: the columns of clv.csv
    model: Any  # the fitted purchase model (BGNBD, ParetoNBD or MBGNBD)
    spend: Any  # the fitted GammaGamma (None when it could not be fitted)
    window: SummaryWindow
    horizon: float  # in time units
    discount_rate: float
    discount_period: str
    comparison: pd.DataFrame | None = None  # one row per model
    by_frequency: pd.DataFrame | None = None  # holdout: actual vs predicted by frequency group
    tracking: pd.DataFrame | None = None  # repeat purchases per period, actual vs expected
    by_segment: pd.DataFrame | None = None  # value per segment
    notes: list[str] = field(default_factory=list)
    # why the purchase model's fit is degenerate (parameters the data do not pin down), or None
    degenerate: str | None = None
    # customers whose only purchases by the calibration end were free ($0) orders: in the fit, not valued
    free_only: frozenset[str] = frozenset()
    # False for a basket log without prices: value per purchase and CLV count items, and are named so
    priced: bool = True

    @property
    def time_unit(self) -> str:
        """The unit of frequency-independent times: recency, T, horizon (day, week or month)."""
        return self.window.time_unit

    @property
    def has_clv(self) -> bool:
        """Whether customers have a CLV: none when no spend model could be fitted (a basket log's item
        counts, Gamma-Gamma not converged); expected purchases and P(alive) are there all the same."""
        return bool(self.customers["clv"].notna().any())

    def horizon_label(self) -> str:
        """E.g. '52.18 weeks (12 months)'."""
        from segmint.btyd.summary import unit_days

        months = self.horizon * unit_days(self.time_unit) / (365.25 / 12)
        text = f"{self.horizon:,.4g} {unit_label(self.time_unit, self.horizon)}"
        return text if self.time_unit == "month" else f"{text} ({months:,.3g} months)"

    def tables(self) -> dict[str, pd.DataFrame]:
        """Name -> table for ``--out``: clv (per customer) and the model checks that exist."""
        from segmint.units import item_columns

        tables = {"clv": self.customers}
        for name, table in (("clv_models", self.comparison), ("clv_holdout_by_frequency", self.by_frequency),
                            ("clv_tracking", self.tracking), ("clv_by_segment", self.by_segment)):
            if table is not None:
                tables[name] = table
        return {name: item_columns(table, self.priced) for name, table in tables.items()}

    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's value facts (P(alive), expected purchases, CLV, band, rank) with the units."""
        rows = self.customers[self.customers["customer_id"] == str(customer_id)]
        if rows.empty and str(customer_id) in self.free_only:
            raise DataError(
                f"customer {customer_id!r} bought only free ($0) orders by the calibration end "
                f"{self.window.calibration_end}: no spend to value, so no P(alive) or CLV is given"
            )
        if rows.empty:
            raise DataError(
                f"customer {customer_id!r} has no purchase by the calibration end {self.window.calibration_end}; "
                "check the id (ids are text, leading zeros count)"
            )
        facts = _plain(rows.iloc[0].to_dict())
        facts.update(time_unit=self.time_unit, horizon=self.horizon, horizon_label=self.horizon_label(),
                     as_of=self.window.calibration_end.isoformat(), model=self.model.label,
                     summary=self.describe_customer(rows.iloc[0]),
                     # why the fit is not to be used to rank or target anyone (None when it may be): an API
                     # reader gets the numbers with the warning the Value page and the CLI print in red
                     degenerate=self.degenerate)
        return facts

    def describe_customer(self, row: pd.Series) -> str:
        """'Champions, P(alive) 0.97, 12-month CLV 1,240' for a row of ``customers``."""
        months = self.horizon_label().split("(")[-1].rstrip(")") if self.time_unit != "month" else self.horizon_label()
        months = months.replace(" months", "-month").replace(" month", "-month")
        parts = [str(row["segment"])] if "segment" in row and pd.notna(row.get("segment")) else []
        value = (f"{months} CLV {row['clv']:,.0f}" if pd.notna(row["clv"]) else
                 f"{row['expected_purchases']:.2f} purchases expected in {self.horizon_label()} "
                 "(no CLV: no spend model)")
        parts += [f"P(alive) {row['p_alive']:.2f}", value, f"{row['churn_risk']} churn risk"]
        return ", ".join(parts)

    def model_summary(self) -> dict[str, Any]:
        """The content of clv_model.json."""
        from segmint.btyd.summary import PERIOD_DAYS, unit_days

        unit = self.time_unit
        info = self.model.describe()
        period_days = PERIOD_DAYS[self.discount_period]
        per_month = (1 + self.discount_rate) ** (PERIOD_DAYS["month"] / period_days) - 1
        per_unit = (1 + self.discount_rate) ** (unit_days(unit) / period_days) - 1
        return _plain({
            "model": self.model.name,
            "model_label": self.model.label,
            "citation": self.model.citation,
            "time_unit": unit,
            "time_unit_days": unit_days(unit),
            "params": info["params"],
            "standard_errors": info["standard_errors"],
            "loglik": info["loglik"],
            "n_customers": info["n_customers"],
            "fit": {"starts": info["starts"], "starts_converged": info["starts_converged"],
                    "warnings": info["warnings"], "degenerate": self.degenerate},
            "gamma_gamma": None if self.spend is None else {
                **self.spend.params_, "standard_errors": self.spend.standard_errors_,
                "loglik": getattr(self.spend, "loglik_", None),
                "n_customers": getattr(self.spend, "n_customers_", None),
                "independence": getattr(self.spend, "independence_", None),
            },
            "calibration": {"first_day": self.window.first_day, "end": self.window.calibration_end,
                            "holdout_end": self.window.holdout_end,
                            f"holdout_{unit}s": self.window.holdout_length},
            "horizon": {unit + "s": self.horizon, "label": self.horizon_label()},
            "discount": {"rate": self.discount_rate, "per": self.discount_period,
                         "per_month": per_month, f"per_{unit}": per_unit,
                         "rule": "cash in month k of the horizon is discounted by (1+rate)^-(days elapsed / days per period)"},
            "columns": self._columns(),
            "comparison": None if self.comparison is None else self.comparison.to_dict("records"),
            "notes": self.notes,
        })

    def _columns(self) -> dict[str, str]:
        """clv.csv's columns and what each holds (named for items without prices)."""
        from segmint.units import item_columns

        unit, horizon = self.time_unit, self.horizon_label()
        value = ("expected value per purchase (Gamma-Gamma)" if self.priced else
                 "expected items per purchase (Gamma-Gamma on item counts: the data have no prices)")
        return item_columns({
            # the model's occasions count a free ($0) order, as the published CDNOW fits do; the dates do not
            "frequency": "repeat purchase days in the calibration period (same-day purchases merged; a free ($0) "
                         "order counts as a purchase occasion of the model, as in the published CDNOW fits)",
            "recency": f"{unit}s from the first to the last purchase occasion",
            "T": f"{unit}s from the first purchase occasion (a free order included) to the calibration end",
            "first_purchase": "first paid purchase (positive value), as the story and its cohorts date it",
            "last_purchase": "last paid purchase by the calibration end",
            "p_alive": "probability the customer is still active at the calibration end",
            "expected_purchases": f"expected purchases in the next {horizon}",
            "p_repurchase": f"probability of at least one purchase in the next {horizon}",
            "expected_avg_value": value,
            "clv": (f"expected_avg_value x discounted expected purchases over {horizon}" if self.priced else
                    f"expected_items_per_purchase x discounted expected purchases over {horizon}"),
            "churn_risk": "high (p_repurchase < 0.3), medium (< 0.7) or low",
            "value_rank": ("1 = highest clv (by expected purchases when no clv could be computed)" if self.priced else
                           "1 = most predicted items (by expected purchases when none could be computed)"),
        }, self.priced)

    def export(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write every table (``exports.export_tables``) and clv_model.json (its statistics rounded as
        the tables are) to ``out_dir``."""
        from segmint.exports import export_tables
        from segmint.util import write_text_atomic

        out_dir = Path(out_dir)
        written = export_tables(self.tables(), out_dir, fmt)
        target = out_dir / "clv_model.json"
        keep = frozenset({"params", "standard_errors", "discount", *(self.spend.params_ if self.spend else ())})
        summary = _rounded(self.model_summary(), keep)
        write_text_atomic(target, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
        written["clv_model"] = target
        return written
