"""As-of R/F/M scores per period by comparison with order statistics, not rank windows.

A score above ``s`` means beating the ``ceil(s * n / bins)``-th worst value of the period among the
customers known in it (:func:`score_cuts`); :func:`scores_by_order` compares every customer-period
with its period's cuts, the same scores :func:`segmint.segment.rfm.rfm_scores` gives one period.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.memtables import frame_table

__all__ = ["score_cuts", "scores_by_order"]


def _nth_worst(values: np.ndarray, counts: np.ndarray, ranks: list[int]) -> list[float]:
    """The ``r``-th worst value for each ``r`` in ``ranks`` (1-based), from distinct values sorted worst first."""
    reached = np.cumsum(counts)
    return [values[int(np.searchsorted(reached, r))] for r in ranks]


def _cut_ranks(n: int, bins: int) -> list[int]:
    """``ceil(s * n / bins)`` for s = 1 .. bins - 1: the rows a score above ``s`` must beat; with fewer
    rows than scores ``ceil(s * (n - 1) / (bins - 1))``, as :func:`segmint.segment.rfm.rank_score` spreads them."""
    if n < bins:
        return [-(-s * (n - 1) // (bins - 1)) for s in range(1, bins)]
    return [-(-s * n // bins) for s in range(1, bins)]


def score_cuts(known: ir.Table, bins: int) -> pd.DataFrame:
    """Per period: the ``ceil(s * n / bins)``-th worst recency, frequency and monetary value among ``known`` rows.

    Columns period_index, r1.., f1.., m1.. (s = 1 .. bins - 1). Recency and frequency take a few hundred
    distinct values a period: they are counted in the engine; monetary (nearly one value per customer)
    is read once and its order statistics found by ``numpy.partition``, without sorting.
    """
    frame: dict[int, dict[str, float]] = {}
    for prefix, column, worst_first in (("r", "recency_days", True), ("f", "frequency", False)):
        counted = known.group_by("period_index", _v=known[column]).aggregate(_k=known.count()).to_pyarrow()
        period, values, counts = (counted[c].to_numpy() for c in ("period_index", "_v", "_k"))
        order = np.lexsort((-values if worst_first else values, period))
        period, values, counts = period[order], values[order], counts[order]
        for index in np.unique(period):
            mine = slice(np.searchsorted(period, index, side="left"), np.searchsorted(period, index, side="right"))
            ranks = _cut_ranks(int(counts[mine].sum()), bins)
            cuts = _nth_worst(values[mine], counts[mine], ranks)
            frame.setdefault(int(index), {}).update({f"{prefix}{s}": v for s, v in enumerate(cuts, start=1)})
    money = known.select("period_index", "monetary").to_pyarrow()
    period, values = money["period_index"].to_numpy(), money["monetary"].to_numpy()
    order = np.argsort(period, kind="stable")
    period, values = period[order], values[order]
    for index in np.unique(period):
        mine = values[np.searchsorted(period, index, side="left"):np.searchsorted(period, index, side="right")]
        ranks = [r - 1 for r in _cut_ranks(len(mine), bins)]
        cuts = np.partition(mine, ranks)[ranks]
        frame[int(index)].update({f"m{s}": float(v) for s, v in enumerate(cuts, start=1)})
    columns = [f"{p}{s}" for p in "rfm" for s in range(1, bins)]
    table = pd.DataFrame([{"period_index": index, **cuts} for index, cuts in frame.items()],
                         columns=["period_index", *columns])
    return table.astype({"period_index": "int64", **{c: "float64" for c in columns if c[0] == "m"},
                         **{c: "int64" for c in columns if c[0] != "m"}})


def scores_by_order(rows: ir.Table, bins: int) -> ir.Table:
    """:func:`segmint.segment.rfm.rfm_scores` per period among the rows ``known`` in it, by comparisons.

    A score is ``1 + floor(bins * k / n)`` with ``k`` known rows of the period strictly worse, so it is
    above ``s`` exactly when ``k >= ceil(s * n / bins)``: when the value is better than the
    ``ceil(s * n / bins)``-th worst of the period (:func:`score_cuts`). Every row is scored by
    comparing it with its period's ``bins - 1`` cuts per axis: no rank window (a sort of every
    customer-period) and no counts joined back. Rows not known are scored too (ignored by the story).
    """
    from segmint.segment.rfm import unranked_middle, with_cells

    cuts = frame_table(score_cuts(rows.filter(rows.known), bins))
    scored = rows.left_join(cuts, "period_index")
    steps = range(1, bins)

    def score(hits: list[ir.BooleanValue]) -> ir.IntegerValue:
        return sum((hit.fill_null(False).cast("int64") for hit in hits), ibis.literal(1, "int64"))

    scored = scored.mutate(
        r_score=score([scored.recency_days < scored[f"r{s}"] for s in steps]),
        f_score=score([scored.frequency > scored[f"f{s}"] for s in steps]),
        m_score=score([scored.monetary > scored[f"m{s}"] for s in steps]),
    )
    # a period whose known rows all score 1 ranks no one: the middle score, as rfm_scores gives it
    period = ibis.window(group_by=scored.period_index)
    scored = scored.mutate(**{c: unranked_middle(scored[c], ibis.ifelse(scored.known, scored[c], 1).max().over(period),
                                                 bins) for c in ("r_score", "f_score", "m_score")})
    return with_cells(scored.drop(*[f"{p}{s}" for p in "rfm" for s in steps]))
