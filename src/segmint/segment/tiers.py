"""Value x frequency tiers: n-tile buckets of average transaction value (ATV) and of visits.

Customers are bucketed (default 10 buckets, 1 = lowest) on ATV (``avg_order_value``) and on visits
(``frequency``) with the same tie-fair rule as RFM scores (``1 + floor(n_buckets * k / n)``, ``k``
customers with a strictly smaller value). Each bucket's ``index`` is its sales per customer relative
to the overall sales per customer, x100 (100 = average customer).

Cut-off rule (overridable with ``value_cutoffs`` / ``frequency_cutoffs`` = (low, high) index):
``high = 100 + (max index - 100) / 2`` and ``low = 100 - (100 - min index) / 2``, i.e. halfway
from the average to the best and to the worst bucket. Tiers stay ordered by the bucketed metric:
High = the top buckets down to the last one in an unbroken run with index >= high (and > 100), Low =
the bottom buckets up to the last one in an unbroken run with index <= low (and < 100), Mid = the rest.
"""

from __future__ import annotations

import logging
from typing import Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, Field

from segmint.segment._config import SegmentConfig
from segmint.segment.rfm import quantile_score

log = logging.getLogger(__name__)

TIERS = ("Low", "Mid", "High")
AXES: dict[str, tuple[str, str]] = {  # axis -> (bucket column, bucketed metric)
    "value": ("value_bucket", "atv"),
    "frequency": ("frequency_bucket", "frequency"),
}

__all__ = [
    "TierCutoffs",
    "TiersConfig",
    "assign",
    "bucket_customers",
    "bucket_table",
    "cutoffs",
    "extra_tables",
    "notes",
    "tier_kpis",
]


def _default_strategies() -> dict[str, str]:
    from segmint.segment.strategies import strategy_table

    return {name: s.text for name, s in strategy_table("tiers").items() if "/" in name}


class TiersConfig(SegmentConfig):
    """Bucket count, optional (low, high) index cut-offs, and the strategy text per combination."""

    n_buckets: int = Field(default=10, ge=2, le=100)
    value_cutoffs: tuple[float, float] | None = None
    frequency_cutoffs: tuple[float, float] | None = None
    strategies: dict[str, str] = Field(default_factory=lambda: _default_strategies())


class TierCutoffs(BaseModel):
    """Where one axis splits: index cut-offs, the bucket ranges and metric values they give."""

    axis: Literal["value", "frequency"]
    low_index: float
    high_index: float
    high_from_bucket: int | None  # buckets >= this are High (None: no High tier)
    low_to_bucket: int | None  # buckets <= this are Low (None: no Low tier)
    high_from_value: float | None  # smallest ATV / visits in the High tier
    low_to_value: float | None  # largest ATV / visits in the Low tier

    def tier(self, bucket: int) -> str:
        """Low / Mid / High for a bucket number."""
        if self.high_from_bucket is not None and bucket >= self.high_from_bucket:
            return "High"
        if self.low_to_bucket is not None and bucket <= self.low_to_bucket:
            return "Low"
        return "Mid"


def bucket_customers(features: ir.Table, n_buckets: int = 10) -> ir.Table:
    """Add ``sales`` (the ``revenue`` feature), ``atv``, ``value_bucket`` and ``frequency_bucket`` (1..n_buckets)."""
    n = features.customer_id.count().over(ibis.window())
    atv = features.avg_order_value.cast("float64")
    return features.mutate(
        sales=features.revenue.cast("float64"),
        atv=atv,
        value_bucket=quantile_score(ibis.rank().over(order_by=atv), n, n_buckets),
        frequency_bucket=quantile_score(ibis.rank().over(order_by=features.frequency), n, n_buckets),
    )


def _bucket_frame(bucketed: ir.Table, axis: str) -> pd.DataFrame:
    bucket, metric = AXES[axis]
    per_bucket = bucketed.group_by(bucket=bucketed[bucket]).aggregate(
        customers=bucketed.count(),
        sales=bucketed.sales.sum(),
        visits=bucketed.frequency.sum(),
        metric_min=bucketed[metric].min(),
        metric_max=bucketed[metric].max(),
    )
    frame = per_bucket.execute().sort_values("bucket", ascending=False, ignore_index=True)
    average = frame.sales.sum() / frame.customers.sum()
    frame["share_of_sales"] = frame.sales / frame.sales.sum()
    frame["sales_per_customer"] = frame.sales / frame.customers
    frame["atv"] = frame.sales / frame.visits
    frame["visits_per_customer"] = frame.visits / frame.customers
    frame["index"] = 100 * frame.sales_per_customer / average
    name = "atv" if axis == "value" else "visits"
    return frame.rename(columns={"metric_min": f"{name}_min", "metric_max": f"{name}_max"})


def bucket_table(
    features: ir.Table, by: Literal["value", "frequency"] = "value", config: TiersConfig | None = None
) -> pd.DataFrame:
    """Per bucket (highest first): customers, sales, share of sales, index, ATV/visit ranges."""
    config = config or TiersConfig()
    return _bucket_frame(bucket_customers(features, config.n_buckets), by)


def cutoffs(
    table: pd.DataFrame, axis: Literal["value", "frequency"], manual: tuple[float, float] | None = None
) -> TierCutoffs:
    """Tier split of one axis from its bucket table (rule in the module docstring)."""
    ordered = table.sort_values("bucket", ascending=False, ignore_index=True)
    indexes = ordered["index"].tolist()
    if manual is not None:
        low, high = manual
    else:
        high = 100 + (max(indexes) - 100) / 2
        low = 100 - (100 - min(indexes)) / 2
    metric = "atv" if axis == "value" else "visits"

    def run(rows: pd.DataFrame, keep) -> pd.DataFrame:
        stop = next((i for i, value in enumerate(rows["index"]) if not keep(value)), len(rows))
        return rows.iloc[:stop]

    top = run(ordered, lambda x: x >= high and x > 100)
    bottom = run(ordered.iloc[::-1].reset_index(drop=True), lambda x: x <= low and x < 100)
    return TierCutoffs(
        axis=axis,
        low_index=float(low),
        high_index=float(high),
        high_from_bucket=int(top.bucket.min()) if len(top) else None,
        low_to_bucket=int(bottom.bucket.max()) if len(bottom) else None,
        high_from_value=float(top[f"{metric}_min"].min()) if len(top) else None,
        low_to_value=float(bottom[f"{metric}_max"].max()) if len(bottom) else None,
    )


def _tier_expr(bucket: ir.IntegerValue, cut: TierCutoffs) -> ir.IntegerValue:
    """0 / 1 / 2 for Low / Mid / High."""
    high = cut.high_from_bucket if cut.high_from_bucket is not None else 10**9
    low = cut.low_to_bucket if cut.low_to_bucket is not None else -1
    return ibis.cases((bucket >= high, 2), (bucket <= low, 0), else_=1)


def _bucket_text(bucket: ir.IntegerValue, frame: pd.DataFrame, n_buckets: int) -> ir.StringValue:
    """ " in bucket 9 of 10 (index 180) -> " for a bucket column."""
    index_text = {int(b): f"{i:.0f}" for b, i in zip(frame.bucket, frame["index"], strict=True)}
    return (
        " in bucket " + bucket.cast("string") + f" of {n_buckets} (index "
        + bucket.substitute(index_text, else_="?") + ") -> "
    )  # fmt: skip


def assign(features: ir.Table, config: TiersConfig | None = None) -> ir.Table:
    """Features plus buckets, ``value_tier``, ``frequency_tier``, ``segment``, ``segment_order``, ``reason``."""
    config = config or TiersConfig()
    bucketed = bucket_customers(features, config.n_buckets)
    frames = {axis: _bucket_frame(bucketed, axis) for axis in AXES}
    manual = {"value": config.value_cutoffs, "frequency": config.frequency_cutoffs}
    cuts = {axis: cutoffs(frames[axis], axis, manual[axis]) for axis in AXES}
    log.info("tier cut-offs: %s", {axis: cut.model_dump() for axis, cut in cuts.items()})
    value_rank = _tier_expr(bucketed.value_bucket, cuts["value"])
    frequency_rank = _tier_expr(bucketed.frequency_bucket, cuts["frequency"])
    tiered = bucketed.mutate(
        value_tier=value_rank.substitute({i: f"{t} Value" for i, t in enumerate(TIERS)}, else_=""),
        frequency_tier=frequency_rank.substitute(
            {i: f"{t} Frequency" for i, t in enumerate(TIERS)}, else_=""
        ),
        segment_order=(value_rank * 3 + frequency_rank).cast("int64"),
    )
    reason = (
        "ATV " + tiered.atv.round(2).cast("string")
        + _bucket_text(tiered.value_bucket, frames["value"], config.n_buckets) + tiered.value_tier
        + "; " + tiered.frequency.cast("string") + " visits"
        + _bucket_text(tiered.frequency_bucket, frames["frequency"], config.n_buckets)
        + tiered.frequency_tier
    )  # fmt: skip
    return tiered.mutate(segment=tiered.value_tier + " / " + tiered.frequency_tier, reason=reason)


def tier_kpis(labelled: ir.Table | pd.DataFrame, config: TiersConfig | None = None) -> pd.DataFrame:
    """Per value x frequency combination: customers, revenue, share, ATV, visits, recency, strategy."""
    config = config or TiersConfig()
    frame = labelled.execute() if isinstance(labelled, ir.Table) else labelled
    grouped = frame.groupby(["segment", "segment_order"], as_index=False).agg(
        customers=("customer_id", "size"),
        revenue=("sales", "sum"),
        visits=("frequency", "sum"),
        mean_recency_days=("recency_days", "mean"),
    )
    grouped["share_of_customers"] = grouped.customers / grouped.customers.sum()
    grouped["share_of_revenue"] = grouped.revenue / grouped.revenue.sum()
    grouped["atv"] = grouped.revenue / grouped.visits
    grouped["visits_per_customer"] = grouped.visits / grouped.customers
    grouped["strategy"] = grouped.segment.map(config.strategies).fillna("")
    return grouped.sort_values("segment_order", ascending=False, ignore_index=True)


def extra_tables(
    features: ir.Table, labelled: ir.Table, config: TiersConfig | None = None
) -> dict[str, pd.DataFrame]:
    """Tables exported beside the tiers: both bucket tables and the KPIs per combination."""
    config = config or TiersConfig()
    tables = {f"tiers_buckets_{axis}": bucket_table(features, axis, config) for axis in AXES}
    tables["tiers_kpis"] = tier_kpis(labelled, config)
    return tables


def notes(features: ir.Table, labelled: ir.Table, config: TiersConfig | None = None) -> list[str]:
    """Too short a history for the tiers, and empty buckets with the ties that empty them."""
    from segmint.segment.notes import history_note, tie_notes

    n = (config or TiersConfig()).n_buckets
    found = tie_notes("Spend x frequency tiers", labelled,
                      {"value_bucket": (n, "avg_order_value"), "frequency_bucket": (n, "frequency")})
    short = history_note("Spend x frequency tiers", features)
    return ([short] if short else []) + found
