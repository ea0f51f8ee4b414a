"""Each customer's story over calendar periods: segments per period, paths, migrations, cohorts.

Two kinds of per-period segment, each named for what it means:

* **as-of** (lifecycle; the default for rfm and levels): the segment as it stood at each period's
  end, on all the customer's history up to that date (recency to that date, frequency/monetary to
  date), scored against every customer known at that date. The last period's as-of segment is the
  customer's *current segment*, the same one ``analyze`` gives at the snapshot the day after the
  last transaction. A customer who bought nothing in a period keeps a segment (recency grows).
* **within-period** (activity/value; the default for value, tiers and clusters): how the customer
  fared inside the period, scored among the customers active in it; a period without a purchase is
  ``Inactive``. Its labels claim no tenure or lifecycle, so rfm and levels (whose names do: "New
  Customers", "Lost", "Can't Lose Them") are as-of only.

Rows run from the customer's first *active* period (a purchase and positive net spend in it) to the
last period. Periods are calendar months/quarters/years of the timezone-naive ``invoice_date``; each
is scored at its *as-of date*, its last day or, for the final period, the last day with data (so
the current segment is the one ``analyze`` reports). Partial first/last periods
(:mod:`segmint.coverage`) are kept and marked ``partial (76% of days)``, unless ``drop_partial``:
then their rows are left out of every table after the stories are computed on all the data (a
customer whose first purchase is in a dropped first period is not made "new" in the next one).

Without an invoice column a purchase is a calendar day (``frequency="auto"``), so one customer's
lines on one day are one visit; ``notes`` says so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint import coverage as cov
from segmint import features as feat
from segmint.engine import materialize
from segmint.errors import ConfigError, DataError, Fix
from segmint.segment import get_scheme, scheme_names
from segmint.story_current import (
    Current,
    active_rows,
    any_active,
    counted_without_tables,
    current_story,
    kept_periods,
)
from segmint.story_activity import Rollup, period_activity, rollup_activity
from segmint.story_features import customer_starts, period_grid
from segmint.story_result import Card, Parts, StoryResult
from segmint.story_narrative import story_query, story_table
from segmint.story_rows import INACTIVE, Coded, coded
from segmint.story_segments import NoPurchaseError, Segments, scheme_config, stored_segments, with_reasons
from segmint.story_tables import cohort_table, retention, transitions
from segmint.story_value import profit_basis

log = logging.getLogger(__name__)

Scheme: TypeAlias = str  # any registered scheme (SCHEMES)
Kind = Literal["as_of", "within_period"]
SCHEMES: tuple[str, ...] = scheme_names()  # the registry's schemes as at import
KINDS: tuple[str, ...] = ("as_of", "within_period")
def default_kind(scheme: str) -> str:
    """The registry's story kind of ``scheme``: as-of for lifecycle names (rfm, levels), else within-period."""
    return get_scheme(scheme).story_kind



def _lifecycle(scheme: str) -> bool:
    """Whether the scheme's names claim tenure/lifecycle, so its stories are as-of only."""
    return get_scheme(scheme).story_kind == "as_of"


__all__ = [
    "INACTIVE",
    "KINDS",
    "SCHEMES",
    "StoryResult",
    "build_story",
    "cohorts",
    "customer_story",
    "period_segments",
    "retention",
    "transitions",
]


# --- window and periods -------------------------------------------------------------------------


@dataclass
class _Window:
    tx: ir.Table
    periods: pd.DataFrame  # every period, with coverage
    coverage: list[cov.PeriodCoverage]
    frequency: str
    notes: list[str]
    rollup: ir.Table | None = None  # per customer-month totals of exactly these lines, when known
    filtered: bool = False  # a date or organisation filter chose the lines


def _periods_frame(coverage: list[cov.PeriodCoverage]) -> pd.DataFrame:
    frame = cov.as_frame(coverage)
    frame["as_of"] = frame["last_day"]  # scoring date: the period's last covered day
    columns = ["period_index", "period", "period_start", "period_end", "as_of", "days", "covered_days",
               "coverage", "partial", "note"]
    return frame[columns]


def _window(
    tx: Any, period: feat.Period, frequency: str, min_coverage: float,
    start: feat.DateLike = None, end: feat.DateLike = None, org: str | list[str] | None = None,
    rollup: Rollup | None = None,
) -> _Window:
    unit, note = feat.resolve_frequency(tx, frequency)
    table = getattr(tx, "table", tx)  # accept a Transactions bundle
    if start is not None or end is not None or org:
        rollup = None  # the rollup holds every line: a filtered story reads the lines
        whole, table = table, feat.filter_window(table, start=start, end=end, org=org)
        feat.default_snapshot_date(table, whole)  # an empty window says which dates the data cover
    span = cov.span_of_days(rollup.day_counts()) if rollup is not None else cov.data_span(table)
    coverage = cov.period_coverage(span, period, min_coverage=min_coverage)
    periods = _periods_frame(coverage)
    # the final period is scored on the last day with data (the snapshot analyze uses)
    periods.loc[periods.index[-1], "as_of"] = span.last_day
    notes = [note] if note else []
    return _Window(tx=table, periods=periods, coverage=coverage, frequency=unit, notes=notes,
                   rollup=rollup.months if rollup is not None else None, filtered=bool(start or end or org))


# --- scheme and kind -----------------------------------------------------------------------------


def _kind(scheme: str, kind: str | None) -> str:
    choices = scheme_names()
    if scheme not in choices:
        raise ConfigError(
            f"scheme={scheme!r}; choose one of {', '.join(choices)}",
            field="scheme", value=scheme, fix=Fix(option="scheme", choices=choices),
        )
    chosen = kind or default_kind(scheme)
    if chosen not in KINDS:
        raise ConfigError(f"kind={chosen!r}; choose as_of or within_period", field="kind", value=chosen,
                          fix=Fix(option="kind", choices=KINDS))
    if chosen == "within_period" and _lifecycle(scheme):
        activity = ", ".join(name for name in scheme_names() if not _lifecycle(name))
        raise ConfigError(
            f"{scheme} names claim tenure and lifecycle (New Customers, Lost, Can't Lose Them), which "
            f"one period's activity cannot show; use kind as_of, or one of these schemes for "
            f"within-period segments: {activity}",
            field="kind", value=chosen, fix=Fix(option="kind", choices=("as_of",)),
        )
    return chosen



def _before(periods: pd.DataFrame, first: dt.date) -> list[int]:
    """Indexes of the periods that end before ``first`` (a period holding ``first`` is shown whole)."""
    hidden = [int(i) for i in periods.loc[pd.to_datetime(periods["period_end"]).dt.date < first, "period_index"]]
    if len(hidden) == len(periods):
        raise DataError(f"no period of the story ends on or after {first}; choose an earlier start",
                        field="start", value=str(first), fix=Fix(option="start", note="choose an earlier start"))
    return hidden


def _drop_periods(periods: pd.DataFrame, drop_partial: bool) -> tuple[pd.DataFrame, list[int]]:
    """(periods kept, indexes dropped): partial first/last periods when ``drop_partial``."""
    if not drop_partial:
        return periods, []
    edges = {int(periods["period_index"].min()), int(periods["period_index"].max())}
    dropped = [int(i) for i in periods.loc[periods["partial"], "period_index"] if int(i) in edges]
    kept = periods[~periods["period_index"].isin(dropped)].reset_index(drop=True)
    if kept.empty:
        raise DataError("every period of the story is partial; keep them (do not drop partial periods)")
    return kept, dropped


def period_segments(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    kind: Kind | None = None,
    config: Any = None,
    frequency: str = "auto",
    min_coverage: float = cov.MIN_COVERAGE,
) -> ir.Table:
    """Per customer and period (from their first active one): activity, spend and segment."""
    return build_story(tx, period=period, scheme=scheme, kind=kind, config=config, frequency=frequency,
                       min_coverage=min_coverage).period_segments


def customer_story(segments: ir.Table, *, period: feat.Period = "quarter") -> pd.DataFrame:
    """One row per customer: path of period segments, key dates, flags and a one-line narrative."""
    return story_table(segments, period=period)


def cohorts(
    tx: Any, period: feat.Period = "quarter", *, frequency: str = "auto",
    min_coverage: float = cov.MIN_COVERAGE,
) -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition: retained customers and revenue (n and %)."""
    window = _window(tx, period, frequency, min_coverage)
    activity = period_activity(window.tx, window.periods, period, window.frequency)
    return cohort_table(period_grid(activity, window.periods), window.periods)


def build_story(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    kind: Kind | None = None,
    config: Any = None,
    drop_partial: bool = False,
    min_coverage: float = cov.MIN_COVERAGE,
    frequency: str = "auto",
    start: feat.DateLike = None,
    end: feat.DateLike = None,
    org: str | list[str] | None = None,
    rollup: Rollup | None = None,
) -> StoryResult:
    """Every story table at once (segments per period, story, transitions, retention, cohorts).

    ``rollup`` (a workspace's, :meth:`segmint.workspace.Workspace.rollup`) holds per customer-month
    totals of exactly the lines of ``tx``: the story then reads it instead of every line, unless an
    end date or organisation narrows the lines.
    """
    if period not in feat.PERIOD_MONTHS:
        raise ConfigError(f"period={period!r}; choose one of {', '.join(feat.PERIOD_MONTHS)}")
    kind = _kind(scheme, kind)
    # As-of (lifecycle) segments stand on all the history up to each period end, so a start date hides
    # the earlier periods but never the purchases before it: otherwise a customer who first bought before
    # the window would be called "New Customers" in it. Within-period segments need only the window.
    first_day = feat._as_date(start, "start")  # a bad start fails here, before any work
    keep_history = kind == "as_of" and first_day is not None
    window = _window(tx, period, frequency, min_coverage, None if keep_history else first_day, end, org, rollup)
    notes = list(window.notes)
    con = ibis.get_backend(window.tx)
    if window.rollup is not None:
        activity = rollup_activity(window.rollup, window.periods, period, window.frequency)
    else:
        activity = period_activity(window.tx, window.periods, period, window.frequency)
    activity = materialize(con, activity)
    kept, dropped = _drop_periods(window.periods, drop_partial)
    hidden = _before(kept, first_day) if keep_history else []
    if hidden:
        kept = kept[~kept["period_index"].isin(hidden)].reset_index(drop=True)
        dropped = sorted(set(dropped) | set(hidden))
    settings = scheme_config(scheme, config, period)

    def tables(label_notes: list[str]) -> Parts:
        return _tables(window, activity, period, scheme, kind, config, label_notes, kept, dropped)

    build: Callable[[], Parts]
    current: Callable[[], Current] | None = None
    card: Callable[[str], Card] | None = None
    if counted_without_tables(scheme, kind, settings) and any_active(activity):
        # the tables are built when first read; the overview is counted without them (notes said now)
        on_profit = profit_basis(active_rows(activity), window.periods, notes) if scheme == "value" else None
        build = lambda: tables([])  # noqa: E731 - the labelling notes were said above
        current = lambda: current_story(activity, window.periods, kept, scheme, settings, on_profit)  # noqa: E731

        def card(customer_id: str) -> Card:
            return _card(window, activity, period, scheme, kind, config, kept, dropped, customer_id)
    else:
        parts = tables(notes)
        build = lambda: parts  # noqa: E731
    if hidden:
        notes.append(f"segments as of each period end count the purchases before {first_day} too "
                     "(first purchase, to-date totals); earlier periods are not shown")
    for item in kept[kept["partial"]].itertuples():
        notes.append(f"{item.period} is {item.note}: totals are for part of the period; compare "
                     "per-day rates (retention table)")
    return StoryResult(
        period=period,
        scheme=scheme,
        kind=kind,
        periods=kept,
        dropped=[window.coverage[i] for i in dropped if i not in hidden],
        notes=notes,
        frequency=window.frequency,
        build=build,
        current=current,
        card=card,
    )


def _segments(
    window: _Window, grid: ir.Table, period: str, scheme: str, kind: str, config: Any, notes: list[str],
    only: int | None = None,
) -> Segments:
    """:func:`segmint.story_segments.stored_segments`; when no customer bought, what the lines hold
    (returns only, zero-value lines) and whether a filter chose them, as analyze says it."""
    try:
        return stored_segments(window.periods, grid, period, scheme, kind, config, notes, only=only)
    except NoPurchaseError:
        from segmint.no_buyers import no_buyers_error

        raise no_buyers_error(window.tx, filtered=window.filtered) from None


def _tables(
    window: _Window, activity: ir.Table, period: str, scheme: str, kind: str, config: Any, notes: list[str],
    kept: pd.DataFrame, dropped: list[int],
) -> Parts:
    """Every story table: keys, the grid, the stored segments, and what is read from them."""
    con = ibis.get_backend(activity)
    customers = materialize(con, customer_starts(activity))
    grid = materialize(con, period_grid(activity, window.periods, customers))
    labelled = _segments(window, grid, period, scheme, kind, config, notes)
    segments, labels = labelled.core, labelled.labels
    rows = labelled.rows if labelled.rows is not None else coded(segments, lambda table: materialize(con, table))
    per_period = retention(rows, window.periods)
    cohort = cohort_table(grid, window.periods)
    rows = rows.kept(dropped)
    if dropped:
        segments = segments.filter(~segments.period_index.isin(dropped))
        labels = labels.filter(~labels.period_index.isin(dropped))
        per_period = kept_periods(per_period, kept)
        cohort = cohort[cohort["cohort"].isin(kept["period"]) & cohort["period"].isin(kept["period"])]
        cohort = cohort.reset_index(drop=True)

    def some(customer_ids: list[str]) -> ir.Table:
        """The story query of some customers: their rows filtered by key before anything is aggregated
        (the paths and narratives of the customers a page lists, not of every customer)."""
        found = customers.filter(customers.customer_id.isin(customer_ids))
        keys = [int(key) for key in found.customer_key.to_pyarrow().to_pylist()]  # none: no row
        mine = Coded(rows=rows.rows.filter(rows.rows.customer_id.isin(keys)), names=rows.names, orders=rows.orders,
                     periods=rows.periods)
        return story_query(mine, period=period, periods=kept, customers=found,
                           reasons=(labels.filter(labels.customer_id.isin(keys)), labelled.no_label))

    return Parts(
        period_segments=with_reasons(segments, labels, customers, labelled.no_label),
        story_query=story_query(rows, period=period, periods=kept, customers=customers,
                                reasons=(labels, labelled.no_label)),
        transitions=transitions(rows),
        retention=per_period,
        cohorts=cohort,
        rows=rows,
        some=some,
    )


def _card(
    window: _Window, activity: ir.Table, period: str, scheme: str, kind: str, config: Any, kept: pd.DataFrame,
    dropped: list[int], customer_id: str,
) -> Card:
    """One customer's card without every customer's stored segments.

    The grid of every customer is built (each period is scored among everyone known in it), but only
    this customer's rows are scored, labelled and stored: no 7.9M-row table for one card.
    """
    con = ibis.get_backend(activity)
    customers = materialize(con, customer_starts(activity))
    found = customers.filter(customers.customer_id == customer_id)
    keys = found.customer_key.to_pyarrow().to_pylist()
    key = int(keys[0]) if keys else -1  # -1: no such customer, no row
    grid = materialize(con, period_grid(activity, window.periods, customers))
    labelled = _segments(window, grid, period, scheme, kind, config, [], only=key)
    assert labelled.rows is not None  # the stored paths (see counted_without_tables)
    rows, segments, labels = labelled.rows.kept(dropped), labelled.core, labelled.labels
    if dropped:
        segments = segments.filter(~segments.period_index.isin(dropped))
        labels = labels.filter(~labels.period_index.isin(dropped))
    return Card(story=story_query(rows, period=period, periods=kept, customers=found,
                                   reasons=(labels, labelled.no_label)),
                 period_segments=with_reasons(segments, labels, found, labelled.no_label))


