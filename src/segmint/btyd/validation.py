"""Checks of a fitted model on the holdout period: by frequency group, over time, and across models.

As in Fader, Hardie & Lee (2005) figures 3-4: the model fitted on the calibration period predicts
each customer's purchases in the holdout (conditional expectation) and the cumulative repeat
purchases of the whole cohort week by week (unconditional expectation, summed over customers by
the day of their first purchase); both are set against what happened.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segmint.btyd.summary import SummaryWindow, unit_days

__all__ = ["FREQUENCY_GROUPS", "holdout_by_frequency", "holdout_errors", "tracking"]

FREQUENCY_GROUPS = 7  # groups 0 .. 6 and "7+" as in FHL 2005 figure 4


def holdout_by_frequency(summary: pd.DataFrame, predicted: np.ndarray) -> pd.DataFrame:
    """Per calibration-frequency group: customers, mean actual and mean predicted holdout purchases."""
    group = np.minimum(summary["frequency"].to_numpy(), FREQUENCY_GROUPS)
    frame = pd.DataFrame({
        "group": group,
        "actual": summary["holdout_frequency"].to_numpy(dtype=float),
        "predicted": predicted,
    })
    table = frame.groupby("group").agg(customers=("actual", "size"), actual_mean=("actual", "mean"),
                                       predicted_mean=("predicted", "mean")).reset_index()
    table.insert(0, "frequency", [f"{g}+" if g == FREQUENCY_GROUPS else str(g) for g in table["group"]])
    return table.drop(columns="group")


def holdout_errors(actual: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """Per-customer MAE and RMSE, and the total predicted vs actual holdout purchases."""
    actual = np.asarray(actual, dtype=float)
    error = np.asarray(predicted, dtype=float) - actual
    total_actual, total_predicted = float(actual.sum()), float(np.sum(predicted))
    return {
        "holdout_mae": float(np.mean(np.abs(error))),
        "holdout_rmse": float(np.sqrt(np.mean(error**2))),
        "holdout_actual": round(total_actual),  # purchases counted: a whole number
        "holdout_predicted": total_predicted,
        "holdout_total_error_pct": (total_predicted / total_actual - 1.0) * 100 if total_actual else float("nan"),
    }


def tracking(model, summary: pd.DataFrame, window: SummaryWindow, repeats_by_day: pd.DataFrame) -> pd.DataFrame:
    """Repeat purchases per time unit, actual and expected, incremental and cumulative.

    Period k covers days [first + k*unit, first + (k+1)*unit) from the first transaction day; the
    expectation sums E[X(t)] over customers grouped by their first purchase day.
    """
    per_unit = unit_days(window.time_unit)
    last = window.holdout_end or window.calibration_end
    total_days = (last - window.first_day).days + 1
    periods = int(np.ceil(total_days / per_unit))
    ends = np.minimum((np.arange(periods) + 1) * per_unit, total_days)  # days after first_day
    firsts = pd.to_datetime(summary["first_purchase"]).dt.normalize()
    cohort = firsts.value_counts()
    offsets = ((cohort.index - pd.Timestamp(window.first_day)).days.to_numpy() + 1).astype(float)
    counts = cohort.to_numpy(dtype=float)
    # elapsed time of each cohort at each period end (a day counts once it is over)
    elapsed = np.maximum(ends[:, None] - offsets[None, :], 0.0) / per_unit
    distinct, inverse = np.unique(elapsed, return_inverse=True)
    values = np.zeros_like(distinct)
    positive = distinct > 0
    values[positive] = model.expected_purchases_population(distinct[positive])
    cumulative_expected = (values[inverse.reshape(elapsed.shape)] * counts[None, :]).sum(axis=1)
    actual = np.zeros(periods)
    if len(repeats_by_day):
        days = (pd.to_datetime(repeats_by_day["day"]) - pd.Timestamp(window.first_day)).dt.days.to_numpy()
        index = np.minimum((days // per_unit).astype(int), periods - 1)
        np.add.at(actual, index, repeats_by_day["repeat_purchases"].to_numpy(dtype=float))
    period_end = pd.Timestamp(window.first_day) + pd.to_timedelta(np.ceil(ends) - 1, unit="D")
    unit = window.time_unit
    return pd.DataFrame({
        "period": np.arange(1, periods + 1),
        f"elapsed_{unit}s": ends / per_unit,
        "period_end": period_end.date,
        "in_holdout": period_end.date > window.calibration_end,
        "actual_repeat_purchases": actual.astype("int64"),  # counted: whole numbers
        "expected_repeat_purchases": np.diff(cumulative_expected, prepend=0.0),
        "cumulative_actual": np.cumsum(actual).astype("int64"),
        "cumulative_expected": cumulative_expected,
    })
