"""Segment KPI summaries (customers, revenue and their shares, mean R/F/M, AOV, strategy) and customer KPIs.

The exports of any result table are :mod:`segmint.exports`; their names stay importable from here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmint.exports import (  # noqa: F401 - re-exported: exports lived here
    EXCEL_MAX_ROWS,
    EXPORT_FORMATS,
    FORMULA_PREFIXES,
    SMALL_TABLE_CELLS,
    export_all,
    export_table,
    export_tables,
    export_workbook,
    neutralise_formulas,
)

if TYPE_CHECKING:  # pandas is imported only where a pandas table is given or asked for
    import pandas as pd
    import pyarrow as pa

    from segmint.results import Columns

__all__ = ["export_all", "export_table", "neutralise_formulas", "rfm_strategies", "segment_summary"]


def rfm_strategies() -> dict[str, str]:
    """Engagement strategy text per RFM segment (``segment/strategies.yaml``, section rfm)."""
    from segmint.segment.strategies import strategies_for

    return strategies_for("rfm")


def segment_strategies(config: object | None = None, scheme: str | None = None) -> dict[str, str]:
    """Strategy per segment label of one scheme (``scheme``, or the scheme ``config`` belongs to).

    Texts come from ``segment/strategies.yaml``, keyed by scheme so a name two schemes share (levels'
    "Champions" by R+F+M, RFM's "Champions" by R and FM) gets its own scheme's advice; a
    config with its own ``strategies`` (tiers) overrides them.
    """
    from segmint.segment.strategies import strategies_for

    return strategies_for(scheme, config)


SUMMARY_COLUMNS = (
    "segment", "segment_order", "customers", "share_of_customers", "revenue", "share_of_revenue",
    "mean_recency_days", "mean_frequency", "mean_monetary", "aov", "strategy",
)  # fmt: skip


def segment_summary(
    labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per segment: customers, share, revenue, share of revenue, mean R/F/M, AOV (most valuable first).

    Revenue is the customers' ``revenue`` feature (net value in the window, see ``segmint.features``);
    AOV is revenue over purchases. ``strategy`` defaults to the RFM texts. The pandas form of
    :func:`segment_summary_table`.
    """
    return segment_summary_table(labelled, strategies).to_pandas()


def segment_summary_table(
    labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None
) -> pa.Table:
    """:func:`segment_summary` as an Arrow table (no pandas)."""
    return segment_summary_columns(labelled, strategies).to_arrow()


def segment_summary_columns(labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None) -> Columns:
    """:func:`segment_summary` as Python columns: one aggregate in the engine, the shares in Python
    exactly as Arrow computes them (no pandas, and on DuckDB no Arrow: see :mod:`segmint.results`)."""
    import ibis.expr.datatypes as dt

    from segmint.features import money_round, money_total
    from segmint.results import Columns, columns

    table = labelled if isinstance(labelled, ir.Table) else ibis.memtable(labelled)
    strategy = rfm_strategies() if strategies is None else strategies
    # money summed exactly and averaged to MONEY_SUM_DECIMALS: a float sum's last bits follow the
    # engine's summation order, so the shares of revenue differed in their last digits between two runs
    grouped = table.group_by("segment", "segment_order").aggregate(
        customers=table.count(),
        revenue=money_total(table.revenue),
        # as a float: exact for whole numbers (below 2**53), and an integer sum comes from DuckDB as a
        # HUGEINT that Ibis converts to its int64 through pyarrow.compute
        purchases=table.frequency.cast("float64").sum(),
        mean_recency_days=table.recency_days.mean(),
        mean_frequency=table.frequency.mean(),
        mean_monetary=money_round(table.monetary.sum() / table.count()),
    )
    # the strategy texts join in the query: Arrow arrays built from Python lists would import pandas
    texts = [(grouped.segment == name, text) for name, text in strategy.items()]
    grouped = grouped.mutate(strategy=ibis.cases(*texts, else_="") if texts else ibis.literal(""))
    ordered = grouped.order_by([ibis.desc("segment_order"), "segment"])
    summary = columns(ordered)
    customers, revenue, purchases = (_floats(summary[name]) for name in ("customers", "revenue", "purchases"))
    computed = {
        "share_of_customers": _divided(customers, _arrow_sum(customers)),
        "share_of_revenue": _divided(revenue, _arrow_sum(revenue)),
        "aov": _divided(revenue, purchases),
    }
    schema = ordered.schema()
    types = {name: dt.float64 if name in computed else schema[name] for name in SUMMARY_COLUMNS}
    values = {name: computed[name] if name in computed else summary[name] for name in SUMMARY_COLUMNS}
    return Columns(ibis.schema(types), values)


def _floats(values: list[Any]) -> list[float | None]:
    return [None if value is None else float(value) for value in values]


ARROW_SUM_BLOCK = 16  # Arrow sums floats in blocks of 16 values, each block from left to right


def _arrow_sum(values: list[float | None]) -> float | None:
    """``pyarrow.compute.sum`` of float64 values, bit for bit: a block of up to 16 values (and one more)
    without NULLs Arrow adds from left to right, as here; anything else (longer, NULLs, empty) goes to
    Arrow. A summary has one row per segment, so ``pyarrow.compute`` (about a twentieth of a small
    ``analyze`` to import) is rarely needed."""
    if not values or len(values) > ARROW_SUM_BLOCK or None in values:
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.sum(pa.array(values, pa.float64())).as_py()
    total = 0.0
    for value in values:
        total += value  # type: ignore[operator]
    return total


def _divided(numerators: list[float | None], denominators: float | list[float | None]) -> list[float | None]:
    """Element-wise IEEE division as ``pyarrow.compute.divide`` does it for floats (x/0 is inf or NaN, NULL stays NULL)."""
    import math

    if not isinstance(denominators, list):
        denominators = [denominators] * len(numerators)
    out: list[float | None] = []
    for n, d in zip(numerators, denominators, strict=True):
        if n is None or d is None:
            out.append(None)
        elif d == 0.0:
            out.append(math.nan if n == 0.0 or n != n else math.copysign(math.inf, n) * math.copysign(1.0, d))
        else:
            out.append(n / d)
    return out


def customer_kpis(customers: ir.Table, recent_days: int = 90) -> dict[str, float]:
    """Customers, net revenue, orders, average order value and the share who bought in the last ``recent_days``."""
    from segmint.engine import first_row

    row = first_row(customers.aggregate(
        customers=customers.count(),
        revenue=customers.revenue.sum(),
        orders=customers.frequency.sum(),
        recent=(customers.recency_days <= recent_days).sum(),
    ))
    n = int(row["customers"])
    orders = float(row["orders"] or 0)
    revenue = float(row["revenue"] or 0.0)
    return {
        "customers": n,
        "revenue": revenue,
        "orders": orders,
        "aov": revenue / orders if orders else 0.0,
        "recent_share": float(row["recent"] or 0) / n if n else 0.0,
        "recent_days": recent_days,
    }
