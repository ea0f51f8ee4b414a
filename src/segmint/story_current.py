"""What ``segmint story`` prints, counted without the story's tables: the overview and the retention table.

The story's tables (every customer-period scored and stored, the story text) are built when one is
first read (:class:`segmint.story.StoryResult`). The overview needs each customer's *current*
segment only, and the retention table each period's counts: :func:`current_story` scores the last
period shown alone (:func:`segmint.story_features.current_grid`: one row per customer) and counts
retention from the periods with lines (:func:`segmint.story_features.activity_retention`). That is
exact for schemes that segment each period on its own (:func:`counted_without_tables`); the
labelling helpers here are the full story's too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint import features as feat
from segmint.engine import materialize
from segmint.segment import get_scheme
from segmint.segment.value import LABELS as VALUE_LABELS
from segmint.story_features import activity_retention, as_of_rows, current_grid, within_features
from segmint.story_narrative import overview_counts
from segmint.story_rows import INACTIVE
from segmint.story_scores import scores_by_order
from segmint.story_tables import retention_from_counts
from segmint.story_value import ENGINE_METHODS, value_labels

__all__ = ["Current", "active_rows", "any_active", "counted_without_tables", "current_story", "from_first_active",
           "kept_periods", "names_of", "ranked_labels"]


@dataclass
class Current:
    """What the story's overview shows, computed without the story's tables (see :func:`current_story`)."""

    retention: pd.DataFrame
    overview: pd.DataFrame | None  # None: count it from the story's rows


def ranked_labels(grid: ir.Table, periods: pd.DataFrame, scheme: str, config: Any) -> tuple[ir.Table, ir.Table]:
    """(the grid's rows with as-of features and ``known``, the same rows scored and labelled by ``scheme``)."""
    rows = as_of_rows(grid, periods)
    scored = scores_by_order(rows, config.bins)  # row by row: read by the stored rows and the reasons
    # each period's lapse threshold from the customers known at its end, as analyze finds it for all of them
    return rows, get_scheme(scheme).load().label_scores(scored, config, by="period_index", known="known")


def from_first_active(table: ir.Table) -> ir.Table:
    """The rows of a story: from the customer's first active period on."""
    return table.filter(table.first_active_index.notnull() & (table.period_index >= table.first_active_index))


def names_of(scheme: str, config: Any) -> dict[int, str]:
    """Segment code -> name of a scheme stored as integer codes (-1 = Inactive)."""
    if scheme == "value":
        return dict(enumerate(VALUE_LABELS)) | {-1: INACTIVE}
    return {order: name for name, order in config.segment_order().items()} | {-1: INACTIVE}


def kept_periods(per_period: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """The retention rows of the periods shown (``kept``)."""
    return per_period[per_period["period"].isin(kept["period"])].reset_index(drop=True)


def counted_without_tables(scheme: str, kind: str, config: Any) -> bool:
    """Whether the overview can be counted from the last period's segments alone.

    True for schemes that segment each period on its own: as-of scores (rfm, levels) and the value
    story's within-period clusters in the engine. Not for k-means clusters (one model over every
    period) or pandas labelling.
    """
    if kind == "as_of":
        return hasattr(get_scheme(scheme).load(), "label_scores")
    return scheme == "value" and config.method in ENGINE_METHODS


def active_rows(activity: ir.Table) -> ir.Table:
    """The customer-periods with a purchase and positive net spend."""
    return activity.filter((activity.purchases > 0) & feat.is_positive(activity.net))


def any_active(activity: ir.Table) -> bool:
    """Whether any customer-period is active (else the full story raises its error, or finds the odd one known)."""
    return bool(active_rows(activity).count().execute())


def current_story(
    activity: ir.Table, periods: pd.DataFrame, kept: pd.DataFrame, scheme: str, config: Any,
    on_profit: list[int] | None,
) -> Current:
    """The overview and retention table ``segmint story`` prints, without building the story's tables.

    Retention counts come from the periods with lines (:func:`activity_retention`). Each customer's
    current segment is their segment in the last period shown, scored as the full story scores it
    but on that period's rows alone (:func:`current_grid`: one row per customer, 1/8 of a 12-period
    story's rows), which is exact for schemes that segment each period on its own
    (:func:`counted_without_tables`); the flags come from the same row. When nobody is known in that
    period the overview is left to the story's rows.
    """
    con = ibis.get_backend(activity)
    counts = activity_retention(activity).execute()
    per_period = retention_from_counts(counts, periods, int(counts["period_index"].min()))
    per_period = kept_periods(per_period, kept)
    last, first_shown = int(kept["period_index"].max()), int(kept["period_index"].min())
    grid = materialize(con, current_grid(activity, last, first_shown))
    names = names_of(scheme, config)
    if scheme == "value":
        features = within_features(grid, periods)
        if not int(features.count().execute()):
            return Current(retention=per_period, overview=None)
        labels, _ = value_labels(features, periods, config, [], on_profit)
        rows = from_first_active(grid)
        rows = rows.left_join(labels.select("customer_id", "segment_order"), "customer_id")
        code = rows.segment_order
    else:
        scored, labels = ranked_labels(grid, periods, scheme, config)
        if not int(scored.known.sum().execute() or 0):
            return Current(retention=per_period, overview=None)
        rows = from_first_active(labels)
        code = rows.known.ifelse(rows.segment_order, ibis.null("int64"))
    start = pd.Timestamp(kept["period_start"].max()).date()
    lowest = ibis.greatest(rows.first_active_index, first_shown)
    back = rows.last_active_index.notnull() & (rows.active_periods < rows.last_active_index - lowest + 1)
    per = rows.select(
        customer_id=rows.customer_id, code=code.fill_null(-1).cast("int64"), recent=rows.active.cast("int64"),
        new=(rows.first_purchase >= start).fill_null(False).cast("int64"), back=back.fill_null(False).cast("int64"),
    )
    return Current(retention=per_period, overview=overview_counts(per, names))
