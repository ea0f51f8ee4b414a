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
from typing import TYPE_CHECKING, Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
from pydantic import BaseModel, Field

from segmint import arrays
from segmint.features import money_total
from segmint.segment._config import SegmentConfig
from segmint.segment.rfm import quantile_score

if TYPE_CHECKING:
    import pandas as pd

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
    # what a reason calls ATV: "items" for a log without prices, whose ATV counts items per visit
    # (segmint.units.item_config)
    amount_word: Literal["revenue", "items"] = "revenue"


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


_BUCKETED = frozenset({"sales", "atv", "frequency", "value_bucket", "frequency_bucket"})  # what _bucket_arrow reads


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


def _bucket_arrow(bucketed: ir.Table, axis: str) -> pa.Table:
    """Per bucket, highest first: customers, sales, visits, metric range, shares and the index."""
    bucket, metric = AXES[axis]
    per_bucket = bucketed.group_by(bucket=bucketed[bucket]).aggregate(
        customers=bucketed.count(),
        sales=money_total(bucketed.sales),  # exact and the same whatever the engine's summation order
        # DuckDB sums BIGINTs as a HUGEINT, which Ibis casts in Arrow (importing pyarrow.compute, about
        # 40 ms): cast in the query (Ibis drops a cast of the sum to its own int64, not one from a decimal)
        visits=bucketed.frequency.sum().cast("decimal(38, 0)").cast("int64"),
        metric_min=bucketed[metric].min(),
        metric_max=bucketed[metric].max(),
    )
    table = per_bucket.to_pyarrow()
    buckets = table["bucket"].to_pylist()
    table = arrays.reordered(table, sorted(range(len(buckets)), key=lambda i: -buckets[i]))  # highest first
    sales, customers, visits = (arrays.numbers(table[c]) for c in ("sales", "customers", "visits"))
    average = sales.sum() / customers.sum()  # numpy's sums, as pandas takes them
    name = "atv" if axis == "value" else "visits"
    table = table.rename_columns([*table.column_names[:4], f"{name}_min", f"{name}_max"])
    per_customer = sales / customers
    added = {
        "share_of_sales": sales / sales.sum(),
        "sales_per_customer": per_customer,
        "atv": sales / visits,
        "visits_per_customer": visits / customers,
        "index": 100 * per_customer / average,
    }
    for column, values in added.items():
        table = table.append_column(column, arrays.column(values))
    return table


def _bucket_frame(bucketed: ir.Table, axis: str) -> pd.DataFrame:
    return _bucket_arrow(bucketed, axis).to_pandas()


def bucket_table(
    features: ir.Table, by: Literal["value", "frequency"] = "value", config: TiersConfig | None = None
) -> pd.DataFrame:
    """Per bucket (highest first): customers, sales, share of sales, index, ATV/visit ranges."""
    config = config or TiersConfig()
    return _bucket_frame(bucket_customers(features, config.n_buckets), by)


def _rows(table: pd.DataFrame | pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist() if isinstance(table, pa.Table) else table.to_dict("records")


def cutoffs(
    table: pd.DataFrame | pa.Table, axis: Literal["value", "frequency"], manual: tuple[float, float] | None = None
) -> TierCutoffs:
    """Tier split of one axis from its bucket table (rule in the module docstring)."""
    ordered = sorted(_rows(table), key=lambda row: row["bucket"], reverse=True)
    indexes = [row["index"] for row in ordered]
    if manual is not None:
        low, high = manual
    else:
        high = 100 + (max(indexes) - 100) / 2
        low = 100 - (100 - min(indexes)) / 2
    metric = "atv" if axis == "value" else "visits"

    def run(rows: list[dict[str, Any]], keep) -> list[dict[str, Any]]:
        stop = next((i for i, row in enumerate(rows) if not keep(row["index"])), len(rows))
        return rows[:stop]

    top = run(ordered, lambda x: x >= high and x > 100)
    bottom = run(ordered[::-1], lambda x: x <= low and x < 100)
    return TierCutoffs(
        axis=axis,
        low_index=float(low),
        high_index=float(high),
        high_from_bucket=int(min(row["bucket"] for row in top)) if top else None,
        low_to_bucket=int(max(row["bucket"] for row in bottom)) if bottom else None,
        high_from_value=float(min(row[f"{metric}_min"] for row in top)) if top else None,
        low_to_value=float(max(row[f"{metric}_max"] for row in bottom)) if bottom else None,
    )


def _tier_expr(bucket: ir.IntegerValue, cut: TierCutoffs) -> ir.IntegerValue:
    """0 / 1 / 2 for Low / Mid / High."""
    high = cut.high_from_bucket if cut.high_from_bucket is not None else 10**9
    low = cut.low_to_bucket if cut.low_to_bucket is not None else -1
    return ibis.cases((bucket >= high, 2), (bucket <= low, 0), else_=1)


def _bucket_text(bucket: ir.IntegerValue, frame: pd.DataFrame | pa.Table, n_buckets: int) -> ir.StringValue:
    """ " in bucket 9 of 10 (index 180) -> " for a bucket column."""
    index_text = {int(row["bucket"]): f"{row['index']:.0f}" for row in _rows(frame)}
    return (
        " in bucket " + bucket.cast("string") + f" of {n_buckets} (index "
        + bucket.substitute(index_text, else_="?") + ") -> "
    )  # fmt: skip


def assign(features: ir.Table, config: TiersConfig | None = None) -> ir.Table:
    """Features plus buckets, ``value_tier``, ``frequency_tier``, ``segment``, ``segment_order``, ``reason``."""
    from segmint.engine import materialize

    config = config or TiersConfig()
    # ranked once: both bucket tables and the labels read the stored buckets (each query ranked every customer twice)
    bucketed = materialize(features._find_backend(use_default=True), bucket_customers(features, config.n_buckets))
    frames = {axis: _bucket_arrow(bucketed, axis) for axis in AXES}
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
    atv_word = "ATV " if config.amount_word == "revenue" else "items/visit "
    reason = (
        atv_word + _cents_text(tiered.atv)
        + _bucket_text(tiered.value_bucket, frames["value"], config.n_buckets) + tiered.value_tier
        + "; " + tiered.frequency.cast("string") + ibis.ifelse(tiered.frequency == 1, " visit", " visits")
        + _bucket_text(tiered.frequency_bucket, frames["frequency"], config.n_buckets)
        + tiered.frequency_tier
    )  # fmt: skip
    return tiered.mutate(segment=tiered.value_tier + " / " + tiered.frequency_tier, reason=reason)


def _cents_text(value: ir.NumericValue) -> ir.StringValue:
    """A positive amount as text to the cent, as exports write it: 89.00, 11.77 (not 89.0)."""
    cents = (value * 100).round().cast("int64")
    return (cents // 100).cast("string") + "." + (cents % 100).cast("string").lpad(2, "0")


def tier_kpis(labelled: ir.Table | pd.DataFrame, config: TiersConfig | None = None) -> pd.DataFrame:
    """Per value x frequency combination: customers, revenue, share, ATV, visits, recency, strategy."""
    return _kpis_arrow(labelled, config or TiersConfig()).to_pandas()


def _kahan(total: float, compensation: float, value: float) -> tuple[float, float]:
    """One step of Kahan's compensated sum, as pandas' grouped sum and mean take it (a NaN
    compensation is reset)."""
    y = value - compensation
    t = total + y
    compensation = t - total - y
    return t, (0.0 if compensation != compensation else compensation)


def _kpis_arrow(labelled: ir.Table | pd.DataFrame, config: TiersConfig) -> pa.Table:
    """:func:`tier_kpis` as Arrow, with the sums pandas' ``groupby().agg`` gives (Kahan-compensated, in
    row order), so the exported figures are the same to the last bit as before; no pandas needed."""
    columns = ["segment", "segment_order", "sales", "frequency", "recency_days"]
    if isinstance(labelled, ir.Table):
        data = labelled.select(*columns).to_pyarrow()
    else:
        data = pa.Table.from_pandas(labelled[columns], preserve_index=False)
    groups: dict[tuple[str, int], list] = {}
    for segment, order, sales, visits, recency in zip(*(data[c].to_pylist() for c in columns), strict=True):
        group = groups.get((segment, order))
        if group is None:  # customers, revenue (+ compensation), visits, recency sum (+ compensation), recency n
            group = groups[(segment, order)] = [0, 0.0, 0.0, 0, 0.0, 0.0, 0]
        group[0] += 1
        if sales is not None and sales == sales:
            group[1], group[2] = _kahan(group[1], group[2], float(sales))
        group[3] += visits or 0
        if recency is not None and recency == recency:
            group[4], group[5] = _kahan(group[4], group[5], float(recency))
            group[6] += 1
    keys = sorted(groups)  # pandas' group order, before the sort by segment_order
    customers = np.array([groups[k][0] for k in keys], dtype="int64")
    revenue = np.array([groups[k][1] for k in keys], dtype=float)
    visits = np.array([groups[k][3] for k in keys], dtype="int64")
    with np.errstate(divide="ignore", invalid="ignore"):
        recency = np.array([groups[k][4] / groups[k][6] if groups[k][6] else np.nan for k in keys], dtype=float)
        table = {
            "segment": [k[0] for k in keys],
            "segment_order": np.array([k[1] for k in keys], dtype="int64"),
            "customers": customers,
            "revenue": revenue,
            "visits": visits,
            "mean_recency_days": recency,
            "share_of_customers": customers / customers.sum(),
            "share_of_revenue": revenue / revenue.sum(),
            "atv": revenue / visits,
            "visits_per_customer": visits / customers,
            "strategy": [config.strategies.get(k[0]) or "" for k in keys],
        }
    order = sorted(range(len(keys)), key=lambda i: -keys[i][1])  # most valuable combination first
    return pa.Table.from_arrays(
        [arrays.column([values[i] for i in order] if isinstance(values, list) else np.asarray(values)[order])
         for values in table.values()],
        names=list(table),
    )  # fmt: skip


def extra_tables(
    features: ir.Table, labelled: ir.Table, config: TiersConfig | None = None
) -> dict[str, pa.Table]:
    """Tables exported beside the tiers: both bucket tables and the KPIs per combination (Arrow)."""
    config = config or TiersConfig()
    # the buckets :func:`assign` put in ``labelled`` (stored by ``analyze``): no second ranking of the customers
    stored = isinstance(labelled, ir.Table) and _BUCKETED <= set(labelled.columns)
    bucketed = labelled if stored else bucket_customers(features, config.n_buckets)
    tables = {f"tiers_buckets_{axis}": _bucket_arrow(bucketed, axis) for axis in AXES}
    tables["tiers_kpis"] = _kpis_arrow(labelled, config)
    return tables


def notes(features: ir.Table, labelled: ir.Table, config: TiersConfig | None = None) -> list[str]:
    """Too short a history for the tiers, and empty buckets with the ties that empty them."""
    from segmint.segment.notes import history_note, tie_notes

    n = (config or TiersConfig()).n_buckets
    found = tie_notes("Spend x frequency tiers", labelled,
                      {"value_bucket": (n, "avg_order_value"), "frequency_bucket": (n, "frequency")})
    short = history_note("Spend x frequency tiers", features)
    return ([short] if short else []) + found
