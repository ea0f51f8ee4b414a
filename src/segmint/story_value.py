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

from segmint.memtables import frame_table
from segmint.segment.value import LABELS, ValueConfig, _amount, _label, _scaled, amount_name, distinct_ranks

__all__ = ["ENGINE_METHODS", "basis_notes", "profit_basis", "value_labels"]

ENGINE_METHODS = ("kmeans", "quantiles")  # methods that need the distinct values only


def _axis(features: ir.Table, value: ir.Value, config: ValueConfig) -> tuple[pa.Table, dict[int, int]]:
    """(period_index, v, cluster) per distinct value of each period, and clusters per period.

    Clusters are runs of consecutive values numbered from the lowest (one dimension), so a value's
    cluster is also the number of clusters whose first value it reaches, less one (:func:`_starts`).
    """
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


def _starts(axis: pa.Table, prefix: str) -> pd.DataFrame:
    """Per period: the first (lowest) value of each cluster but the first, as columns prefix1, prefix2, ..."""
    frame = axis.to_pandas()
    firsts = frame[frame["cluster"] > 0].groupby(["period_index", "cluster"])["v"].min().unstack("cluster")
    firsts.columns = [f"{prefix}{int(c)}" for c in firsts.columns]
    return firsts


def _cluster(rows: ir.Table, value: ir.Value, prefix: str) -> ir.IntegerValue:
    """The cluster of ``value``: how many of its period's cluster starts (``prefix`` columns) it reaches."""
    starts = [rows[c] for c in rows.columns if c.startswith(prefix) and c[len(prefix):].isdigit()]
    return sum(((value >= start).fill_null(False).cast("int64") for start in starts), ibis.literal(0, "int64"))


def profit_basis(features: ir.Table, periods: pd.DataFrame, notes: list[str]) -> list[int]:
    """The periods whose customers in ``features`` (period_index, profit) all have a profit: clustered on it.

    The others are clustered on revenue, and ``notes`` says so.
    """
    basis = features.group_by("period_index").aggregate(missing=features.profit.isnull().sum()).execute()
    on_profit = sorted(int(p) for p, missing in zip(basis["period_index"], basis["missing"], strict=True)
                       if int(missing) == 0)
    basis_notes(on_profit, [int(p) for p in basis["period_index"]], periods, notes)
    return on_profit


def basis_notes(on_profit: list[int], scored: list[int], periods: pd.DataFrame, notes: list[str]) -> None:
    """Add to ``notes`` which of the ``scored`` periods were ranked on revenue, not profit (``on_profit``)."""
    revenue = sorted(set(scored) - set(on_profit))
    if revenue and not on_profit:
        notes.append("the data have no cost: the value story ranks revenue (net spend) where "
                     "profit (amount - cost) would be")
    elif revenue:
        names = periods.set_index("period_index").loc[revenue, "period"]
        notes.append(f"{', '.join(names)}: some customers have no cost, so the value story ranks "
                     "revenue (net spend) there instead of profit")


def value_labels(
    features: ir.Table, periods: pd.DataFrame, config: ValueConfig, notes: list[str],
    on_profit: list[int] | None = None,
) -> tuple[ir.Table, ir.Table]:
    """(labels, reasons): customer_id, period_index, segment, segment_order, recency_days and the value story's
    columns; and customer_id, period_index, reason.

    ``features`` are the within-period features (one row per active customer-period); each period
    is clustered on its own, on profit when every customer in it has a cost, else on revenue. A row's
    clusters come from comparisons with its period's cluster starts (a join with one row per period,
    no join on values); the reasons' amount text is looked up by value where reasons are read. The amount
    axis' columns are named for what was ranked: ``profit_segment``, ``profit_cluster`` when some period was
    ranked on profit, else ``revenue_*`` (``items_*``).
    ``on_profit``: the periods clustered on profit when known (:func:`profit_basis`, which is
    otherwise run here on ``features``).
    """
    if on_profit is None:
        on_profit = profit_basis(features, periods, notes)
    uses_profit = features.period_index.isin(on_profit) if on_profit else ibis.literal(False)
    amount = uses_profit.ifelse(features.profit, features.monetary)
    money, money_clusters = _axis(features, amount, config)
    items = config.amount_word == "items"  # label_frame's amount wording (segment.value._amount), value by value
    money = money.append_column("amount_text", pa.array([_amount(v, items) for v in money["v"].to_numpy().tolist()]))
    visits, visit_clusters = _axis(features, features.frequency, config)
    pairs = _pairs(money_clusters, visit_clusters, set(on_profit), config)
    starts = _starts(money, "_p").join(_starts(visits, "_f"), how="outer")
    starts = starts.reindex(sorted(set(money_clusters) | set(visit_clusters))).rename_axis("period_index")
    starts = frame_table(starts.reset_index().astype({"period_index": "int64"}))
    rows = features.mutate(_amount=amount).inner_join(starts, "period_index")
    rows = rows.select(*features.columns, "_amount", amount_cluster=_cluster(rows, rows._amount, "_p"),
                       frequency_cluster=_cluster(rows, rows.frequency, "_f")).view()
    # one key per period and cluster pair: a lookup joined on period_index alone beside the amounts'
    # (also per period) would let the planner join the two lookups first (millions of rows)
    pairs = frame_table(pairs.assign(_pair=_pair_key(pairs)).drop(columns=["period_index", "amount_cluster",
                                                                               "frequency_cluster"]))
    rows = rows.inner_join(pairs, _pair_key(rows) == pairs._pair)
    rows = rows.select(*rows.columns)
    named = amount_name(bool(on_profit), config)
    labels = rows.select(
        "customer_id", "period_index", "segment", "segment_order", "recency_days",
        **{f"{named}_segment": rows.amount_segment}, frequency_segment=rows.frequency_segment,
        overall_score=rows.overall_score, **{f"{named}_cluster": rows.amount_cluster},
        frequency_cluster=rows.frequency_cluster,
    )
    money_t = frame_table(money.select(["period_index", "v", "amount_text"]))
    rows = rows.inner_join(money_t, [rows.period_index == money_t.period_index, rows._amount == money_t.v])
    reason = (
        rows.shown + " " + rows.amount_text
        + " (cluster " + (rows.amount_cluster + 1).cast("string") + " of " + rows.amount_clusters.cast("string")
        + "), frequency " + rows.frequency.cast("string")
        + " (cluster " + (rows.frequency_cluster + 1).cast("string") + " of "
        + rows.frequency_clusters.cast("string") + "): score " + rows.score_text + " -> " + rows.segment
    )  # fmt: skip
    return labels, rows.select("customer_id", "period_index", reason=reason)


def _pair_key(table: ir.Table | pd.DataFrame) -> ir.IntegerValue | pd.Series:
    """One integer per period and (amount, frequency) cluster pair (clusters: at most 50 per axis)."""
    return (table["period_index"] * 64 + table["amount_cluster"]) * 64 + table["frequency_cluster"]


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
            "period_index": index, "amount_cluster": grid[:, 0], "frequency_cluster": grid[:, 1],
            "amount_clusters": money_clusters, "frequency_clusters": visit_clusters,
            "overall_score": rounded, "score_text": [f"{v:.2f}" for v in rounded],
            "segment": names[order], "segment_order": order.astype("int64"),
            "amount_segment": names[_label(money_score, config.cutoffs)],
            "frequency_segment": names[_label(visit_score, config.cutoffs)],
            "shown": amount_name(index in on_profit, config),
        }))
    frame = pd.concat(parts, ignore_index=True)
    return frame.astype({"period_index": "int64", "amount_clusters": "int64", "frequency_clusters": "int64"})
