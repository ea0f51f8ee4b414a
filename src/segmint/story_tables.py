"""Tables derived from per-period segments: transitions, retention, cohorts.

Inputs are the ``period_segments`` table of :mod:`segmint.story` (one row per customer and period
from the customer's first active period on, ``Inactive`` when nothing was bought). The heavy lifting
is Ibis; only the small results (matrices, per-period counts) become pandas. Each customer's own
story (path, narrative) is :mod:`segmint.story_narrative`; its names stay importable from here.
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.features import money_sum, money_total
from segmint.story_narrative import (  # noqa: F401 - re-exported: the customer story lived here
    MAX_RUNS_SHOWN,
    STORY_COLUMNS,
    UNITS,
    overview_counts,
    period_labels,
    story_frame,
    story_overview,
    story_query,
    story_table,
)
from segmint.story_rows import INACTIVE, Coded, as_table, coded


# --- transitions and retention ------------------------------------------------------------------


def _period_index(segments: ir.Table, label: str) -> int:
    found = segments.filter(segments.period == label).period_index.max().execute()
    if found is None or pd.isna(found):
        known = segments.select("period").distinct().order_by("period").period.execute().tolist()
        raise ConfigError(f"period {label!r} is not in the story; periods: {', '.join(known)}")
    return int(found)


def _pair(periods: pd.DataFrame, from_period: str | None, to_period: str | None) -> tuple[int, int]:
    """(from, to) period indexes of a story's periods table, as :func:`transitions` reads its arguments."""
    index = dict(zip(periods["period"].astype(str), periods["period_index"].astype(int), strict=True))
    for label in (from_period, to_period):
        if label is not None and label not in index:
            raise ConfigError(f"period {label!r} is not in the story; periods: {', '.join(sorted(index))}")
    start = index[from_period] if from_period else None
    stop = index[to_period] if to_period else None
    start = stop - 1 if start is None else start
    stop = start + 1 if stop is None else stop
    if stop <= start:
        raise ConfigError(f"to_period must come after from_period ({from_period} -> {to_period})")
    return start, stop


def transitions(
    segments: ir.Table | pd.DataFrame | Coded, from_period: str | None = None, to_period: str | None = None
) -> pd.DataFrame:
    """Migration counts and row shares between two periods (default: pooled consecutive pairs).

    With neither period given every consecutive pair is pooled, so ``share`` is the customer-weighted
    average over pairs; with one given, the other is its neighbour. ``churn`` marks active -> Inactive.
    """
    if from_period is None and to_period is None:
        rows_coded = segments if isinstance(segments, Coded) else coded(segments)
        rows = rows_coded.rows
        pairs = rows.filter(rows.before.notnull())
        counts = pairs.group_by(from_code=pairs.before, to_code=pairs.code).aggregate(customers=pairs.count()).execute()
        for side in ("from", "to"):
            counts[f"{side}_segment"] = counts[f"{side}_code"].map(rows_coded.names)
            counts[f"{side}_order"] = counts[f"{side}_code"].map(rows_coded.orders)
    elif isinstance(segments, Coded):  # the story's integer rows: no text join, period labels from memory
        start, stop = _pair(segments.periods, from_period, to_period)
        rows = segments.rows
        before = rows.filter(rows.period_index == start).select("customer_id", from_code="code")
        after = rows.filter(rows.period_index == stop).select("customer_id", to_code="code")
        pairs = before.inner_join(after, "customer_id")
        counts = pairs.group_by("from_code", "to_code").aggregate(customers=pairs.count()).execute()
        for side in ("from", "to"):
            counts[f"{side}_segment"] = counts[f"{side}_code"].map(segments.names)
            counts[f"{side}_order"] = counts[f"{side}_code"].map(segments.orders)
    else:
        segments = as_table(segments)
        start = _period_index(segments, from_period) if from_period else None
        stop = _period_index(segments, to_period) if to_period else None
        start = stop - 1 if start is None else start
        stop = start + 1 if stop is None else stop
        if stop <= start:
            raise ConfigError(f"to_period must come after from_period ({from_period} -> {to_period})")
        before = segments.filter(segments.period_index == start).select(
            "customer_id", from_segment="segment", from_order="segment_order")
        after = segments.filter(segments.period_index == stop).select(
            "customer_id", to_segment="segment", to_order="segment_order")
        pairs = before.inner_join(after, "customer_id")
        counts = pairs.group_by("from_segment", "from_order", "to_segment", "to_order").aggregate(
            customers=pairs.count()
        ).execute()
    counts["share"] = counts["customers"] / counts.groupby("from_segment")["customers"].transform("sum")
    counts["churn"] = (counts["from_segment"] != INACTIVE) & (counts["to_segment"] == INACTIVE)
    counts = counts.sort_values(
        ["from_order", "from_segment", "to_order", "to_segment"], ascending=[False, True, False, True]
    )
    columns = ["from_segment", "to_segment", "customers", "share", "churn"]
    return counts[columns].astype({"customers": "int64"}).reset_index(drop=True)


def transition_matrix(table: pd.DataFrame, values: str = "customers") -> pd.DataFrame:
    """Pivot a ``transitions`` table into a from x to matrix of ``customers`` or ``share``."""
    order = list(dict.fromkeys([*table["from_segment"], *table["to_segment"]]))
    matrix = table.pivot(index="from_segment", columns="to_segment", values=values)
    rows = [s for s in order if s in matrix.index]
    return matrix.reindex(index=rows, columns=order).fillna(0)


def retention(segments: ir.Table | pd.DataFrame | Coded, periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per period: active, new, retained, reactivated, churned, rate, purchases, revenue, per-day rates.

    ``retention_rate`` = retained / customers active in the previous period (empty for the first).
    With ``periods`` (the story's, with coverage) each row also carries ``covered_days``,
    ``coverage`` and ``note``, and ``purchases_per_day`` / ``revenue_per_day`` are over the covered
    days, so a partial period compares fairly with full ones.
    """
    rows_coded = segments if isinstance(segments, Coded) else coded(segments)
    marked = rows_coded.rows
    per_period = marked.group_by("period_index").aggregate(
        active=marked.active.sum(),
        new=(marked.active & marked.previous.isnull()).sum(),
        retained=(marked.active & marked.previous.fill_null(False)).sum(),
        reactivated=(marked.active & ~marked.previous.fill_null(True)).sum(),
        previous_active=marked.previous.fill_null(False).sum(),
        purchases=marked.frequency.sum(),
        # summed exactly: a float sum of 400k period totals near 1e8 is off by ~1e-6 in an order-dependent
        # way, enough to move a per-day rate at a half cent
        revenue=money_total(marked.monetary),
    ).order_by("period_index").execute()
    names = dict(zip(rows_coded.periods["period_index"], rows_coded.periods["period"], strict=True))
    return _retention_frame(per_period, names, periods)


def retention_from_counts(counts: pd.DataFrame, periods: pd.DataFrame, first: int) -> pd.DataFrame:
    """:func:`retention` from per-period counts of the active rows (:func:`segmint.story_features.activity_retention`).

    ``counts``: period_index, active, new, retained, purchases, revenue for the periods with lines;
    every period from ``first`` (the story's first active period) on gets a row, the inactive rows of
    a customer-period without lines adding nothing but being there.
    """
    every = periods.loc[periods["period_index"] >= first, ["period_index"]].astype("int64")
    table = every.merge(counts.astype({"period_index": "int64"}), on="period_index", how="left")
    table = table.fillna({"active": 0, "new": 0, "retained": 0, "purchases": 0, "revenue": 0.0})
    table = table.sort_values("period_index", ignore_index=True)
    active = table["active"].astype("int64")
    # every customer active in the period before has a row in this one (rows run to the last period)
    previous = active.shift(1, fill_value=0)
    table["reactivated"] = active - table["new"].astype("int64") - table["retained"].astype("int64")
    table["previous_active"] = previous
    table = table[["period_index", "active", "new", "retained", "reactivated", "previous_active", "purchases",
                   "revenue"]]
    names = dict(zip(periods["period_index"], periods["period"], strict=True))
    return _retention_frame(table, names, periods)


def _retention_frame(per_period: pd.DataFrame, names: dict[Any, str], periods: pd.DataFrame | None) -> pd.DataFrame:
    """The retention table from its per-period counts (period_index, active, new, ..., revenue)."""
    per_period.insert(1, "period", per_period["period_index"].map(names))
    counts = ["active", "new", "retained", "reactivated", "previous_active", "purchases"]
    per_period[counts] = per_period[counts].astype("int64")
    per_period["revenue"] = per_period["revenue"].astype("float64")
    per_period["churned"] = per_period["previous_active"] - per_period["retained"]
    rate = per_period["retained"] / per_period["previous_active"].where(per_period["previous_active"] > 0)
    per_period["retention_rate"] = rate.where(per_period["period_index"] > per_period["period_index"].min())
    if periods is not None:
        days = periods.set_index("period_index")
        per_period["covered_days"] = per_period["period_index"].map(days["covered_days"]).astype("int64")
        per_period["coverage"] = per_period["period_index"].map(days["coverage"])
        per_period["note"] = per_period["period_index"].map(days["note"]).fillna("")
        per_period["purchases_per_day"] = per_period["purchases"] / per_period["covered_days"]
        per_period["revenue_per_day"] = per_period["revenue"] / per_period["covered_days"]
    return per_period.drop(columns="period_index")


# --- cohorts ------------------------------------------------------------------------------------


def cohort_table(grid: ir.Table, periods: pd.DataFrame) -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition: active customers and net revenue (n and %).

    ``grid`` is :func:`segmint.story_features.period_grid`; a customer's cohort is their first active
    period. ``retained_pct`` is the share of the cohort active in that period; ``revenue_pct`` is
    revenue relative to the cohort's revenue in its first period (both in percent). ``note`` marks
    a partial period.
    """
    tagged = grid.filter(grid.first_active_index.notnull())
    tagged = tagged.mutate(offset=tagged.period_index - tagged.first_active_index).filter(
        lambda t: t.offset >= 0
    )
    table = tagged.group_by(cohort_index=tagged.first_active_index, offset=tagged.offset).aggregate(
        customers=tagged.active.sum(), revenue=money_sum(tagged.net)
    ).execute()
    # Every cohort gets a row for each period up to the last one, zero when nobody came back.
    last = int(periods["period_index"].max())
    full = pd.DataFrame(
        [(c, o) for c in table["cohort_index"].unique() for o in range(last - int(c) + 1)],
        columns=["cohort_index", "offset"],
    )
    table = full.merge(table, on=["cohort_index", "offset"], how="left").fillna(
        {"customers": 0, "revenue": 0.0}
    )
    labels = periods.set_index("period_index")["period"]
    notes = periods.set_index("period_index")["note"] if "note" in periods else None
    table["cohort"] = table["cohort_index"].map(labels)
    table["period"] = (table["cohort_index"] + table["offset"]).map(labels)
    table["note"] = (table["cohort_index"] + table["offset"]).map(notes).fillna("") if notes is not None else ""
    table = table.sort_values(["cohort_index", "offset"], ignore_index=True)
    first = table[table["offset"] == 0].set_index("cohort_index")
    table["cohort_size"] = table["cohort_index"].map(first["customers"]).astype("int64")
    table["customers"] = table["customers"].astype("int64")
    table["retained_pct"] = 100 * table["customers"] / table["cohort_size"]
    base = table["cohort_index"].map(first["revenue"])
    table["revenue_pct"] = 100 * table["revenue"] / base.where(base != 0)
    columns = [
        "cohort", "offset", "period", "note", "cohort_size", "customers", "retained_pct", "revenue",
        "revenue_pct",
    ]
    return table[columns].rename(columns={"offset": "periods_since"})
