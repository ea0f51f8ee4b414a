"""The CLV analysis: summary in the engine -> models fitted -> every customer scored -> checks."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.btyd.gamma_gamma import GammaGamma
from segmint.btyd.models import BGNBD, MBGNBD, BTYDModel
from segmint.btyd.pareto import ParetoNBD
from segmint.btyd.result import CLVResult
from segmint.btyd.summary import btyd_summary, repeat_purchases_by_day, resolve_window
from segmint.btyd.validation import holdout_by_frequency, holdout_errors, tracking
from segmint.btyd.value import churn_risk, discounted_purchases, parse_discount, parse_horizon
from segmint.errors import ConfigError, DataError, SegmintError
from segmint.features import DateLike

log = logging.getLogger(__name__)

MODELS: dict[str, type[BTYDModel]] = {"bgnbd": BGNBD, "pnbd": ParetoNBD, "mbgnbd": MBGNBD}
# customer_id, segment, segment_order of every customer as of a calibration end (``segmint.api.clv``: RFM)
SegmentsAsOf = Callable[[dt.date], pd.DataFrame]

__all__ = ["MODELS", "customer_value", "make_model", "score_customers"]


def make_model(name: str) -> BTYDModel:
    """A fresh purchase model by name (bgnbd, pnbd or mbgnbd)."""
    if name not in MODELS:
        raise ConfigError(f"model={name!r} is not a CLV model; choose one of {', '.join(MODELS)}")
    return MODELS[name]()


def score_customers(model: BTYDModel, spend: GammaGamma | None, summary: pd.DataFrame, *, horizon: float,
                    rate: float, period: str, time_unit: str) -> pd.DataFrame:
    """The clv.csv columns for every row of ``summary`` (vectorised over customers)."""
    x, t_x, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    expected, discounted = discounted_purchases(model, horizon, rate, period, time_unit, x, t_x, age)
    # mean repeat spend to the cent, as exported, so every row can be checked from the file alone
    spent = np.round(summary["monetary_value"].to_numpy(dtype=float), 2)
    value = spend.expected_value(x, spent) if spend is not None else np.full(x.size, np.nan)
    p_repurchase = model.p_repurchase(horizon, x, t_x, age)
    clv = np.round(value * discounted, 2)  # to the cent; the rank is of the exported value
    table = pd.DataFrame({
        "customer_id": summary["customer_id"].astype(str).to_numpy(),
        "frequency": summary["frequency"].to_numpy(dtype="int64"),
        "recency": t_x,
        "T": age,
        "p_alive": model.p_alive(x, t_x, age),
        "expected_purchases": expected,
        "expected_avg_value": np.round(value, 2),
        "clv": clv,
        "churn_risk": churn_risk(p_repurchase).astype(str),
        "p_repurchase": p_repurchase,
        # without a spend model every CLV is unknown: rank by the (discounted) purchases expected instead,
        # not everyone last (the top-customers tables listed 3,898 customers all ranked 3,898)
        "value_rank": pd.Series(clv if np.isfinite(clv).any() else discounted).rank(
            ascending=False, method="min").fillna(len(clv)).astype("int64"),
        "monetary_value": spent,
        "time_unit": time_unit,
        "horizon": horizon,
        # the customer's paid purchases, as the story and cohorts date them (T may run from a free order before)
        "first_purchase": summary["first_paid_purchase"].to_numpy(),
        "last_purchase": summary["last_paid_purchase"].to_numpy(),
    })
    return table


def _segments(labels: SegmentsAsOf, calibration_end: dt.date) -> pd.DataFrame | None:
    """``labels(calibration_end)``, or None (with a warning) when the segments cannot be computed."""
    try:
        return labels(calibration_end)
    except SegmintError as exc:
        log.warning("segments not joined: %s", exc)
        return None


def by_segment(customers: pd.DataFrame) -> pd.DataFrame:
    """Per segment: customers, mean P(alive), expected purchases, total and mean CLV, share of value."""
    grouped = customers.groupby(["segment", "segment_order"], dropna=False)
    table = grouped.agg(
        customers=("customer_id", "size"), mean_p_alive=("p_alive", "mean"),
        expected_purchases=("expected_purchases", "sum"), total_clv=("clv", lambda s: s.sum(min_count=1)),
        mean_clv=("clv", "mean"),
        high_churn_risk=("churn_risk", lambda s: float((s == "high").mean())),
    ).reset_index()
    total = table["total_clv"].sum()
    table["share_of_clv"] = table["total_clv"] / total if total else np.nan
    table["total_clv"] = table["total_clv"].round(2)
    table["mean_clv"] = table["mean_clv"].round(2)
    return table.sort_values(["segment_order", "segment"], ascending=[False, True]).reset_index(drop=True)


def _comparison(summary: pd.DataFrame, fitted: dict[str, BTYDModel], holdout: float, horizon: float,
                horizon_label: str) -> pd.DataFrame:
    """One row per fitted model: fit, AIC, parameters, whether the fit is degenerate, the holdout check."""
    rows = []
    x, t_x, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    for name, model in fitted.items():
        k = len(model.param_names)
        expected = pd.Series(model.expected_purchases(horizon, x, t_x, age))
        row: dict[str, Any] = {"model": name, "label": model.label, "loglik": model.loglik_, "parameters": k,
                               "aic": 2 * k - 2 * model.loglik_,
                               "params": ", ".join(f"{p}={v:.4g}" for p, v in model.params_.items()),
                               "degenerate": degenerate_fit(model, expected, horizon_label) is not None}
        if holdout > 0:
            predicted = model.expected_purchases(holdout, x, t_x, age)
            row.update(holdout_errors(summary["holdout_frequency"].to_numpy(), predicted))
        rows.append(row)
    return pd.DataFrame(rows).sort_values("aic").reset_index(drop=True)


def customer_value(
    tx: ir.Table,
    *,
    calibration_end: DateLike = None,
    holdout_end: DateLike = None,
    time_unit: str = "week",
    horizon: float | str | None = None,
    discount: float | str | None = None,
    model: str = "bgnbd",
    compare: bool = True,
    segments: SegmentsAsOf | None = None,
    start: DateLike = None,
    org: str | list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CLVResult:
    """Fit ``model`` and Gamma-Gamma on the calibration period and value every customer at its end
    (with its segment from ``segments`` when given)."""
    from segmint.btyd.fitting import one_blas_thread

    with one_blas_thread():  # fits, spend check, scoring: the same digits on any machine
        return _customer_value(tx, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
                               horizon=horizon, discount=discount, model=model, compare=compare,
                               segments=segments, start=start, org=org, progress=progress)


FLAT_SPREAD = 0.1  # forecasts whose middle 90% span less than 10% of the median do not tell customers apart


def degenerate_fit(model: BTYDModel, expected: pd.Series, horizon: str) -> str | None:
    """Why ``model``'s fit is degenerate, in words (None when it is not): parameters the data cannot estimate
    (groceries: BG/NBD r = 1,458 with standard error 16,713; Pareto/NBD beta without one), or forecasts that
    do not vary (90% of customers within 10% of the median: groceries' Pareto/NBD, 1.79 to 1.85 purchases).
    Either way the per-customer predictions must not be read as a ranking of customers."""
    loose = model.unidentified()
    low, high, middle = expected.quantile(0.05), expected.quantile(0.95), expected.quantile(0.5)
    flat = bool(middle > 0 and high - low < FLAT_SPREAD * middle)
    if not loose and not flat:
        return None
    limited = model.at_limit()
    spread = f"90% of customers between {low:.2f} and {high:.2f} purchases in {horizon}"
    if loose:
        params = ", ".join(_loose_text(name, value, error, name in limited) for name, (value, error) in loose.items())
        why = (f"{params}; the data do not pin these parameters down (customers' purchase and drop-out rates "
               "cannot be told apart)")
        why += f", so the forecasts are close to one average for everyone ({spread})" if flat else f"; forecasts: {spread}"
    else:
        why = f"its forecasts do not vary: they are close to one average for everyone ({spread})"
    return (f"the {model.label} fit is degenerate: {why}. Do not rank or target customers by P(alive), expected "
            "purchases or CLV from this fit; use recency and frequency (the RFM segments) instead")


def _loose_text(name: str, value: float, error: float, limited: bool) -> str:
    if error == error:
        return f"{name} = {value:,.4g} (std. error {error:,.4g})"
    return f"{name} = {value:,.4g} ({'at the limit of its range' if limited else 'no standard error: the likelihood is flat there'})"


def _paid(summary: pd.DataFrame, notes: list[str]) -> tuple[pd.DataFrame, np.ndarray, frozenset[str]]:
    """The rows of ``summary`` to value, their mask over ``summary`` and the ids of the customers whose only
    purchases by the calibration end were free ($0) orders, with a note counting them. Their orders stay purchase occasions in the
    fit (as in the published CDNOW fits), but with no spend a CLV would be the average customer's, and
    BG/NBD's P(alive) = 1 for one who never bought again would read as certainly alive: not valued."""
    free = summary["calibration_value"].to_numpy() <= 0
    if not free.any():
        return summary, ~free, frozenset()
    if free.all():
        raise DataError("every customer's purchases up to the calibration end were free ($0) orders: no spend to "
                        "value; check that the amount column is the sale value")
    notes.append(
        f"{int(free.sum()):,} customers whose only purchases up to the calibration end were free ($0) orders are "
        "not valued (not in clv.csv): with no spend, their CLV would be the average customer's; their orders still "
        "count as purchases in the model's fit"
    )
    return summary[~free].reset_index(drop=True), ~free, frozenset(summary.loc[free, "customer_id"])


def _customer_value(
    tx: ir.Table, *, calibration_end: DateLike, holdout_end: DateLike, time_unit: str,
    horizon: float | str | None, discount: float | str | None, model: str, compare: bool,
    segments: SegmentsAsOf | None,
    start: DateLike, org: str | list[str] | None, progress: Callable[[str], None] | None,
) -> CLVResult:
    step = progress or (lambda message: log.info(message))
    make_model(model)
    horizon_units = parse_horizon(horizon, time_unit)
    rate, period = parse_discount(discount)
    window = resolve_window(tx, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
                            start=start, org=org)
    step("computing the BTYD summary")
    summary = btyd_summary(tx, window, start=start, org=org).execute()
    if summary.empty:
        if calibration_end is None and not (start or org):  # the whole data: say what they hold
            from segmint.no_buyers import no_buyers_error

            raise no_buyers_error(tx, filtered=False)
        raise DataError(f"no purchase on or before the calibration end {window.calibration_end}")
    summary["customer_id"] = summary["customer_id"].astype(str)
    frequency, recency, age = summary["frequency"], summary["recency"], summary["T"]
    notes: list[str] = window.beyond_the_data()
    fitted: dict[str, BTYDModel] = {}
    for name in [model] + ([m for m in MODELS if m != model] if compare else []):
        step(f"fitting {MODELS[name].label}")
        try:
            fitted[name] = make_model(name).fit(frequency, recency, age)
        except SegmintError as exc:
            if name == model:
                raise
            notes.append(f"{MODELS[name].label} not compared: {exc}")
    chosen = fitted[model]
    notes += chosen.describe()["warnings"]
    valued, paid, free_only = _paid(summary, notes)
    if free_first := int((valued["first_purchase"] < valued["first_paid_purchase"]).sum()):
        # the story and cohorts start a customer at the first paid purchase: say where the model does not
        notes.append(
            f"{free_first:,} customers' first order was free ($0): the model counts it as a purchase occasion (T "
            "and repeat purchases run from it, as in the published CDNOW fits); their first_purchase is their first "
            "paid purchase, as the story and its cohorts date it"
        )
    if model == "bgnbd" and (never := int((valued["frequency"] == 0).sum())):
        # read beside "Lost: mean P(alive) 1.00", the model's assumption looks like a bug: say it
        notes.append(
            f"BG/NBD lets a customer drop out only right after a repeat purchase, so the {never:,} customers "
            f"({never / len(valued):.0%}) who never bought again have P(alive) = 1 by assumption, however long "
            "ago they bought; read their churn risk (the chance of buying within the horizon) instead, or choose "
            "the Pareto/NBD or MBG/NBD model, which let them drop out"
        )
    step("fitting Gamma-Gamma spend")
    spend: GammaGamma | None = None
    try:
        spend = GammaGamma().fit(frequency, summary["monetary_value"])
    except SegmintError as exc:
        notes.append(f"no expected value per purchase: {exc}")
    if spend is not None and spend.independence_.get("independent") is False:
        notes.append(f"Gamma-Gamma: {spend.independence_['note']}")
    step("scoring customers")
    customers = score_customers(chosen, spend, valued, horizon=horizon_units, rate=rate, period=period,
                                time_unit=time_unit)
    result = CLVResult(customers=customers, model=chosen, spend=spend, window=window, horizon=horizon_units,
                       discount_rate=rate, discount_period=period, notes=notes, free_only=free_only)
    result.degenerate = degenerate_fit(chosen, customers["expected_purchases"], result.horizon_label())
    if window.holdout_end is not None:
        step("checking the forecast on the holdout period")
        predicted = chosen.expected_purchases(window.holdout_length, frequency, recency, age)
        customers["holdout_frequency"] = valued["holdout_frequency"].to_numpy()
        customers["predicted_holdout_purchases"] = predicted[paid]
        result.by_frequency = holdout_by_frequency(summary, predicted)
    repeats = repeat_purchases_by_day(tx, window, start=start, org=org).execute()
    result.tracking = tracking(chosen, summary, window, repeats)  # in-sample fit too when there is no holdout
    result.comparison = _comparison(summary, fitted, window.holdout_length, horizon_units, result.horizon_label())
    if segments is not None:
        step("joining segments")
        labels = _segments(segments, window.calibration_end)
        if labels is not None:
            labels["customer_id"] = labels["customer_id"].astype(str)
            merged = customers.merge(labels, on="customer_id", how="left")
            merged["segment_order"] = merged["segment_order"].fillna(-1).astype("int64")
            merged["segment"] = merged["segment"].fillna("(no net purchase)")
            result.customers = merged
            result.by_segment = by_segment(merged)
    log.info("CLV: %d customers, %s, horizon %s", len(customers), chosen.label, result.horizon_label())
    return result
