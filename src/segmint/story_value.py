"""The value story's per-period labels with the rows kept in the engine.

:func:`segmint.segment.value.label_frame` needs, per period and axis, only the distinct values and how
many customer-periods share each (k-means and quantiles run on those): the engine counts them, numpy
clusters them, and three small lookups (value -> cluster, frequency -> cluster, cluster pair ->
score, labels and score text) label every customer-period in one join, instead of converting each
customer-period to pandas. The amounts in reasons are formatted by Python, as ``label_frame`` does,
so the text is the same to the character.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa

from segmint.segment.value import LABELS, ValueConfig, _label, _scaled, distinct_ranks

__all__ = ["ENGINE_METHODS", "value_labels"]

ENGINE_METHODS = ("kmeans", "quantiles")  # methods that need the distinct values only


def _amount_text(values: np.ndarray) -> list[str]:
    """``label_frame``'s amount wording: no decimals from 100 up, cents below."""
    return [f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}" for v in values.tolist()]


def _axis(features: ir.Table, value: ir.Value, config: ValueConfig) -> tuple[pa.Table, dict[int, int]]:
    """(period_index, v, cluster) per distinct value of each period, and clusters per period."""
    counted = features.select("period_index", v=value).group_by("period_index", "v").aggregate(n=ibis._.count())
    frame = counted.to_pyarrow()
    period = frame["period_index"].to_numpy()
    values = frame["v"].to_numpy().astype(float)
    counts = frame["n"].to_numpy()
    clusters: dict[int, int] = {}
    cluster = np.zeros(len(values), dtype="int64")
    for index in np.unique(period):
        rows = np.flatnonzero(period == index)
        # np.unique as axis_ranks sorts and merges (0.0 and -0.0 are one value there)
        distinct, inverse = np.unique(values[rows], return_inverse=True)
        weights = np.bincount(inverse, weights=counts[rows]).round().astype("int64")
        ranks, found = distinct_ranks(distinct, weights, config)
        cluster[rows] = ranks[inverse]
        clusters[int(index)] = found
    return frame.select(["period_index", "v"]).append_column("cluster", pa.array(cluster)), clusters


def value_labels(features: ir.Table, periods: pd.DataFrame, config: ValueConfig, notes: list[str]) -> ir.Table:
    """customer_id, period_index, segment, segment_order, recency_days, reason and the value story's columns.

    ``features`` are the within-period features (one row per active customer-period); each period
    is clustered on its own, on profit when every customer in it has a cost, else on revenue.
    """
    basis = features.group_by("period_index").aggregate(missing=features.profit.isnull().sum()).execute()
    on_profit = sorted(int(p) for p, missing in zip(basis["period_index"], basis["missing"], strict=True)
                       if int(missing) == 0)
    revenue = sorted(set(int(p) for p in basis["period_index"]) - set(on_profit))
    if revenue and not on_profit:
        notes.append("the data have no cost: the value story ranks revenue (net spend) where "
                     "profit (amount - cost) would be")
    elif revenue:
        names = periods.set_index("period_index").loc[revenue, "period"]
        notes.append(f"{', '.join(names)}: some customers have no cost, so the value story ranks "
                     "revenue (net spend) there instead of profit")
    uses_profit = features.period_index.isin(on_profit) if on_profit else ibis.literal(False)
    amount = uses_profit.ifelse(features.profit, features.monetary)
    money, money_clusters = _axis(features, amount, config)
    money = money.append_column("amount_text", pa.array(_amount_text(money["v"].to_numpy())))
    visits, visit_clusters = _axis(features, features.frequency, config)
    pairs = _pairs(money_clusters, visit_clusters, set(on_profit), config)
    money_t, visits_t, pairs_t = ibis.memtable(money), ibis.memtable(visits), ibis.memtable(pairs)
    rows = features.mutate(_amount=amount)
    rows = rows.inner_join(money_t, [rows.period_index == money_t.period_index, rows._amount == money_t.v])
    rows = rows.select(*features.columns, profit_cluster=rows.cluster, amount_text=rows.amount_text)
    rows = rows.inner_join(visits_t, [rows.period_index == visits_t.period_index, rows.frequency == visits_t.v])
    rows = rows.select(*features.columns, "profit_cluster", "amount_text", frequency_cluster=rows.cluster)
    rows = rows.inner_join(pairs_t, ["period_index", "profit_cluster", "frequency_cluster"])
    reason = (
        rows.shown + " " + rows.amount_text
        + " (cluster " + (rows.profit_cluster + 1).cast("string") + " of " + rows.profit_clusters.cast("string")
        + "), frequency " + rows.frequency.cast("string")
        + " (cluster " + (rows.frequency_cluster + 1).cast("string") + " of "
        + rows.frequency_clusters.cast("string") + "): score " + rows.score_text + " -> " + rows.segment
    )  # fmt: skip
    return rows.select(
        "customer_id", "period_index", "segment", "segment_order", "recency_days", reason=reason,
        profit_segment=rows.profit_segment, frequency_segment=rows.frequency_segment,
        overall_score=rows.overall_score, profit_cluster=rows.profit_cluster,
        frequency_cluster=rows.frequency_cluster,
    )


def _pairs(money: dict[int, int], visits: dict[int, int], on_profit: set[int], config: ValueConfig) -> pd.DataFrame:
    """Per period and cluster pair: the scores, labels and score text ``label_frame`` gives them."""
    parts = []
    for index, money_clusters in money.items():
        visit_clusters = visits[index]
        grid = np.array([(p, f) for p in range(money_clusters) for f in range(visit_clusters)], dtype="int64")
        money_score = _scaled(grid[:, 0], money_clusters)
        visit_score = _scaled(grid[:, 1], visit_clusters)
        overall = (money_score + visit_score) / 2
        names = np.array(LABELS, dtype=object)
        order = _label(overall, config.cutoffs)
        rounded = np.round(overall, 4)
        parts.append(pd.DataFrame({
            "period_index": index, "profit_cluster": grid[:, 0], "frequency_cluster": grid[:, 1],
            "profit_clusters": money_clusters, "frequency_clusters": visit_clusters,
            "overall_score": rounded, "score_text": [f"{v:.2f}" for v in rounded],
            "segment": names[order], "segment_order": order.astype("int64"),
            "profit_segment": names[_label(money_score, config.cutoffs)],
            "frequency_segment": names[_label(visit_score, config.cutoffs)],
            "shown": "profit" if index in on_profit else "revenue",
        }))
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"period_index": "int64", "profit_clusters": "int64", "frequency_clusters": "int64"})
