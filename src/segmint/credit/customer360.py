"""The customer 360: each customer's sales segments beside their Credit Score and Credit Segment,
with the action the value x risk matrix (``actions.yaml``) recommends."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.errors import ConfigError

VALUE_LEVELS = ("High Value", "Average", "Below Average", "Low Value")
NO_SALES = "No Sales"
_ACTIONS = Path(__file__).with_name("actions.yaml")


@lru_cache(maxsize=1)
def _packaged_actions() -> dict[str, dict[str, str]]:
    import yaml

    return yaml.safe_load(_ACTIONS.read_text(encoding="utf-8"))


def load_actions(source: str | Path | dict | None = None) -> dict[str, dict[str, str]]:
    """The value x risk action matrix: the packaged one, or a YAML file / dict with the same shape."""
    if source is None:
        return _packaged_actions()
    from segmint.util import read_yaml_mapping

    data = source if isinstance(source, dict) else read_yaml_mapping(source, "action matrix (value level: {segment: action})")
    unknown = sorted(set(data) - {*VALUE_LEVELS, NO_SALES})
    if unknown:
        raise ConfigError(f"action matrix: unknown value level(s) {unknown}; use {', '.join((*VALUE_LEVELS, NO_SALES))}")
    return {**_packaged_actions(), **{k: dict(v) for k, v in data.items()}}


def _frame(table: Any) -> pd.DataFrame:
    return table.to_pandas() if isinstance(table, ir.Table) else table


def value_levels(analysis: Any) -> pd.DataFrame:
    """customer_id, value_segment, monetary: the value scheme's label when analysed, else the value
    clusters', else quartiles of net sales (>= Q3 High Value, >= median Average, >= Q1 Below Average)."""
    for scheme in ("value", "clusters"):
        labelled = analysis.segments.get(scheme)
        if labelled is not None:
            frame = _frame(labelled)
            if frame["segment"].isin(VALUE_LEVELS).all():
                return frame[["customer_id", "segment", "monetary"]].rename(columns={"segment": "value_segment"})
    features = _frame(analysis.features)[["customer_id", "monetary"]]
    q1, q2, q3 = np.quantile(features["monetary"], [0.25, 0.5, 0.75])
    level = np.select([features["monetary"] >= q3, features["monetary"] >= q2, features["monetary"] >= q1],
                      ["High Value", "Average", "Below Average"], default="Low Value")
    return features.assign(value_segment=level)


def customer_360(credit: pd.DataFrame, analysis: Any, actions: dict[str, dict[str, str]] | None = None) -> pd.DataFrame:
    """One row per customer of the ledger or the sales: sales segments, credit facts, the action."""
    actions = actions or load_actions()
    sales = value_levels(analysis)
    if "rfm" in analysis.segments:
        rfm = _frame(analysis.segments["rfm"])[["customer_id", "segment"]].rename(columns={"segment": "rfm_segment"})
        sales = sales.merge(rfm, on="customer_id", how="outer")
    if analysis.story is not None:
        story = analysis.story.segment_changes[["customer_id", "current_segment"]].rename(
            columns={"current_segment": "story_segment"})
        sales = sales.merge(story, on="customer_id", how="left")
    features = _frame(analysis.features)[["customer_id", "recency_days", "frequency"]]
    sales = sales.merge(features, on="customer_id", how="left").rename(columns={"monetary": "sales_value"})
    credit_part = credit[["customer_id", "outstanding", "aging_90_plus", "avg_days_to_pay", "credit_score",
                          "credit_segment", "reason"]].rename(columns={"reason": "credit_reason"})  # fmt: skip
    joined = sales.merge(credit_part, on="customer_id", how="outer")
    joined["value_segment"] = joined["value_segment"].fillna(NO_SALES)
    joined["in_sales"] = joined["customer_id"].isin(sales["customer_id"])
    joined["in_ledger"] = joined["customer_id"].isin(credit["customer_id"])
    joined["action"] = [
        actions.get(value, {}).get(risk, "") if isinstance(risk, str) else "No ledger entries: no credit view"
        for value, risk in zip(joined["value_segment"], joined["credit_segment"], strict=True)
    ]
    order = ["customer_id", "value_segment", "rfm_segment", "story_segment", "sales_value", "frequency",
             "recency_days", "credit_score", "credit_segment", "outstanding", "aging_90_plus", "avg_days_to_pay",
             "action", "credit_reason", "in_sales", "in_ledger"]  # fmt: skip
    columns = [c for c in order if c in joined.columns]
    counts = [c for c in ("frequency", "recency_days", "credit_score") if c in joined.columns]
    joined[counts] = joined[counts].astype("Int64")  # whole numbers, blank for a party the outer join left without
    return joined[columns].sort_values("customer_id", ignore_index=True)
