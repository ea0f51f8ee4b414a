"""Each customer's story over calendar periods: segments per period, paths, migrations, cohorts.

Rules (all periods are calendar months/quarters/years of the timezone-naive ``invoice_date``):

* A customer is *active* in a period when they made a purchase there (an invoice with positive net
  value) and their net spend in the period is positive. From the customer's first active period to
  the last period of the story every period is a row; periods without activity get the segment
  ``Inactive`` (``segment_order`` -1).
* The trailing period is *incomplete* when the data stop well before its end: more than
  ``max(10% of its days, the 95th percentile gap between consecutive trading days)`` days are
  missing. It is excluded by default (see ``StoryResult.excluded``) so a part-period does not look
  like a collapse in activity.
* Schemes: ``value`` (quartiles of profit, or of spend when cost is unknown, pooled over all active
  customer-periods: >= Q3 High Value, >= median Average, >= Q1 Below Average, else Low Value);
  ``rfm``/``levels``/``tiers`` (the scheme's ``assign`` on features computed within each period, the
  snapshot being the day after the period); ``clusters`` (one model fitted on all active
  customer-periods so labels mean the same in every period).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, TypeAlias

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint import features as feat
from segmint.engine import materialize
from segmint.errors import ConfigError, DataError, Fix
from segmint.segment import get_scheme, scheme_names
from segmint.story_tables import cohort_table, retention, story_table, transitions

log = logging.getLogger(__name__)

Scheme: TypeAlias = str  # "value" (the story's own value segments) or any registered scheme (SCHEMES)
SCHEMES: tuple[str, ...] = ("value", *scheme_names())  # the registry's schemes as at import
INACTIVE = "Inactive"
VALUE_LABELS = ("Low Value", "Below Average", "Average", "High Value")

__all__ = [
    "INACTIVE",
    "SCHEMES",
    "PeriodCoverage",
    "StoryResult",
    "build_story",
    "cohorts",
    "customer_story",
    "incomplete_trailing_period",
    "period_segments",
    "retention",
    "transitions",
]


@dataclass(frozen=True)
class PeriodCoverage:
    """A trailing period the data cover only partly (``coverage`` = share of its days covered)."""

    period: str
    period_start: dt.date
    period_end: dt.date  # last day of the period
    last_transaction: dt.date
    coverage: float

    def describe(self) -> str:
        """One line for reports: which period was left out and why."""
        return (
            f"{self.period} excluded as incomplete: data end {self.last_transaction} "
            f"({self.coverage:.0%} of the period, which ends {self.period_end})"
        )


@dataclass
class StoryResult:
    """All story tables for one period granularity and scheme, plus the excluded trailing period."""

    period: str
    scheme: str
    periods: pd.DataFrame  # period_index, period, period_start, period_end (last day)
    period_segments: ir.Table
    story: pd.DataFrame
    transitions: pd.DataFrame
    retention: pd.DataFrame
    cohorts: pd.DataFrame
    excluded: PeriodCoverage | None = None

    def customer(self, customer_id: str) -> pd.Series:
        """The story row of one customer; DataError when the id is not in the story."""
        rows = self.story[self.story["customer_id"] == str(customer_id)]
        if rows.empty:
            raise DataError(
                f"customer {customer_id!r} has no purchase in the story window; "
                "check the id (ids are text, leading zeros count)"
            )
        return rows.iloc[0]

    def tables(self) -> dict[str, pd.DataFrame | ir.Table]:
        """Name -> table, for exporting every story table at once."""
        return {
            "period_segments": self.period_segments,
            "story": self.story,
            "transitions": self.transitions,
            "retention": self.retention,
            "cohorts": self.cohorts,
        }


# --- periods ------------------------------------------------------------------------------------


def incomplete_trailing_period(
    tx: ir.Table, period: feat.Period = "quarter", *, min_coverage: float = 0.9
) -> PeriodCoverage | None:
    """The last calendar period when the data stop clearly before its end, else None."""
    days = tx.select(day=tx.invoice_date.date()).distinct()
    gap = days.day.delta(days.day.lag().over(order_by=days.day), unit="day")
    stats = days.mutate(gap=gap).aggregate(
        first=lambda t: t.day.min(), last=lambda t: t.day.max(), gap_p95=lambda t: t.gap.quantile(0.95)
    ).execute()
    if stats.empty or pd.isna(stats.loc[0, "last"]):
        raise DataError("no transactions to tell a story from (check the input and filters)")
    first, last = pd.Timestamp(stats.loc[0, "first"]).date(), pd.Timestamp(stats.loc[0, "last"]).date()
    start, next_start = feat.period_bounds(last, period)
    if start <= first:
        return None  # the data hold a single period; nothing would be left without it
    length = (next_start - start).days
    missing = (next_start - last).days - 1
    typical_gap = 0.0 if pd.isna(stats.loc[0, "gap_p95"]) else float(stats.loc[0, "gap_p95"])
    if missing <= max((1 - min_coverage) * length, typical_gap):
        return None
    return PeriodCoverage(
        period=feat.period_label(start, period),
        period_start=start,
        period_end=next_start - dt.timedelta(days=1),
        last_transaction=last,
        coverage=round((length - missing) / length, 4),
    )


def _periods_frame(first: dt.date, last: dt.date, period: feat.Period) -> pd.DataFrame:
    starts = feat.period_starts(first, last, period)
    rows = []
    for index, start in enumerate(starts):
        _, next_start = feat.period_bounds(start, period)
        rows.append(
            {
                "period_index": index,
                "period": feat.period_label(start, period),
                "period_start": start,
                "period_end": next_start - dt.timedelta(days=1),
            }
        )
    return pd.DataFrame(rows)


@dataclass
class _Window:
    tx: ir.Table  # transactions inside the story window
    periods: pd.DataFrame
    excluded: PeriodCoverage | None


def _window(
    tx: Any, period: feat.Period, include_incomplete: bool, min_coverage: float,
    start: feat.DateLike = None, end: feat.DateLike = None, org: str | list[str] | None = None,
) -> _Window:
    tx = getattr(tx, "table", tx)  # accept a Transactions bundle
    tx = feat.filter_window(tx, start=start, end=end, org=org)
    excluded = incomplete_trailing_period(tx, period, min_coverage=min_coverage)
    if excluded is not None:
        if include_incomplete:
            log.info("keeping incomplete trailing period %s (%.0f%% covered)",
                     excluded.period, 100 * excluded.coverage)
            excluded = None
        else:
            log.info(excluded.describe())
            tx = feat.filter_window(tx, before=excluded.period_start)
    bounds = tx.aggregate(first=tx.invoice_date.min(), last=tx.invoice_date.max()).execute()
    first, last = (pd.Timestamp(bounds.loc[0, c]).date() for c in ("first", "last"))
    return _Window(tx=tx, periods=_periods_frame(first, last, period), excluded=excluded)


# --- segments per period ------------------------------------------------------------------------


def _active_rows(window: _Window, period: feat.Period) -> tuple[ir.Table, ir.Table]:
    """(every customer-period with transactions, the active ones) with ``period_index``."""
    rows = feat.period_features(window.tx, period=period)
    index = ibis.memtable(window.periods[["period", "period_index"]])
    rows = rows.inner_join(index, "period")
    rows = materialize(ibis.get_backend(window.tx), rows)  # reused by every story table
    active = rows.filter(rows.active & feat.is_positive(rows.monetary))
    return rows, active


def _money(value: float) -> str:
    """Amounts as the value reasons show them: whole units from 100 up, else rounded to cents."""
    return f"{value:.0f}" if abs(value) >= 100 else str(round(value, 2))


def _value_segments(active: ir.Table) -> ir.Table:
    has_cost = active.aggregate(missing=active.profit.isnull().sum(), n=active.count()).execute()
    basis_name = "profit" if int(has_cost.loc[0, "missing"]) == 0 else "monetary"
    basis = active[basis_name]
    q = active.aggregate(
        q1=basis.quantile(0.25), q2=basis.quantile(0.5), q3=basis.quantile(0.75)
    ).execute().iloc[0]
    order = ibis.cases((basis >= q["q3"], 3), (basis >= q["q2"], 2), (basis >= q["q1"], 1), else_=0)
    shown = "spend" if basis_name == "monetary" else "profit"
    labelled = active.mutate(segment_order=order)
    label = labelled.segment_order.cases(*enumerate(VALUE_LABELS))
    q1, q2, q3 = (_money(float(q[name])) for name in ("q1", "q2", "q3"))
    bound = labelled.segment_order.cases(
        (3, f">= {q3} (top quarter)"), (2, f">= median {q2}"), (1, f">= {q1}"),
        else_=f"< {q1} (bottom quarter)",
    )
    column = labelled[basis_name]
    amount = (column.abs() >= 100).ifelse(
        column.round(0).cast("int64").cast("string"), column.round(2).cast("string")
    )
    reason = (
        shown + " " + amount + " " + bound + ", frequency "
        + labelled.frequency.cast("string") + " -> " + label
    )
    return labelled.mutate(segment=label, reason=reason)


def _scheme_segments(window: _Window, scheme: str, config: Any) -> ir.Table:
    """rfm/levels/tiers: the scheme's assign() on features computed within each period."""
    registered = get_scheme(scheme)
    config = registered.config(config)
    parts = []
    for row in window.periods.itertuples(index=False):
        snapshot = row.period_end + dt.timedelta(days=1)
        features = feat.customer_features(
            window.tx, snapshot_date=snapshot, start=row.period_start, end=row.period_end
        )
        labelled = registered.assign(features, config)
        parts.append(
            labelled.select(
                "customer_id", "segment", "segment_order", "reason",
            ).mutate(period_index=ibis.literal(int(row.period_index), type="int64"))
        )
    return ibis.union(*parts)


def _cluster_segments(active: ir.Table, config: Any) -> ir.Table:
    labelled = get_scheme("clusters").assign(active, config)
    return labelled.select(
        "customer_id", period_index=labelled.period_index.cast("int64"), segment="segment",
        segment_order=labelled.segment_order.cast("int64"), reason="reason",
    )


def _segments_in_window(
    window: _Window, period: feat.Period, scheme: str, config: Any,
    rows: ir.Table | None = None, active: ir.Table | None = None,
) -> ir.Table:
    choices = ("value", *scheme_names())
    if scheme not in choices:
        raise ConfigError(
            f"scheme={scheme!r}; choose one of {', '.join(choices)}",
            field="scheme", value=scheme, fix=Fix(option="scheme", choices=choices),
        )
    if rows is None or active is None:
        rows, active = _active_rows(window, period)
    if int(active.count().execute()) == 0:
        raise DataError(
            "no customer has a purchase with positive net value in the story window; "
            "check the amount column mapping and the date and organisation filters",
            field="start", fix=Fix(option="start", note="widen the date range or clear the organisation filter"),
        )
    if scheme == "value":
        labels = _value_segments(active).select(
            "customer_id", "period_index", "segment", "segment_order", "reason"
        )
    elif scheme == "clusters":
        labels = _cluster_segments(active, config)
    else:
        labels = _scheme_segments(window, scheme, config)
    # Scheme labels only count for active customer-periods (positive net spend with a purchase).
    keyed = active.select("customer_id", "period_index")
    labels = labels.inner_join(keyed, ["customer_id", "period_index"])

    periods = ibis.memtable(window.periods)
    joined_at = active.group_by("customer_id").aggregate(first_index=active.period_index.min())
    grid = joined_at.cross_join(periods).filter(lambda t: t.period_index >= t.first_index)
    months = feat.PERIOD_MONTHS[period]
    values = rows.select(
        "customer_id", "period_index", "frequency", "monetary", "profit",
        last_purchase=(rows.period_start + ibis.interval(months=months)).sub(
            rows.recency_days.cast("int32").as_interval("D")
        ),
    )
    out = grid.left_join(values, ["customer_id", "period_index"]).left_join(
        labels, ["customer_id", "period_index"]
    )
    active_now = out.segment.notnull()
    return out.select(
        customer_id=out.customer_id,
        period_index=out.period_index.cast("int64"),
        period=out.period,
        period_start=out.period_start.cast("date"),
        period_end=out.period_end.cast("date"),
        active=active_now,
        frequency=out.frequency.fill_null(0).cast("int64"),
        monetary=out.monetary.fill_null(0.0),
        profit=out.profit,
        last_purchase=active_now.ifelse(out.last_purchase.cast("date"), ibis.null("date")),
        segment=out.segment.fill_null(INACTIVE),
        segment_order=out.segment_order.fill_null(-1).cast("int64"),
        reason=out.reason.fill_null("no purchase in " + out.period),
    ).order_by("customer_id", "period_index")


def period_segments(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    config: Any = None,
    include_incomplete: bool = False,
    min_coverage: float = 0.9,
) -> ir.Table:
    """Per customer and period (from their first active one): activity, spend, profit and segment."""
    window = _window(tx, period, include_incomplete, min_coverage)
    return _segments_in_window(window, period, scheme, config)


def customer_story(segments: ir.Table, tx: Any, *, period: feat.Period = "quarter") -> pd.DataFrame:
    """One row per customer: path of period segments, key dates, flags and a one-line narrative."""
    return story_table(segments, getattr(tx, "table", tx), period=period)


def cohorts(
    tx: Any,
    period: feat.Period = "quarter",
    *,
    include_incomplete: bool = False,
    min_coverage: float = 0.9,
) -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition: retained customers and revenue (n and %)."""
    window = _window(tx, period, include_incomplete, min_coverage)
    rows, active = _active_rows(window, period)
    return cohort_table(rows, active, window.periods)


def build_story(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    config: Any = None,
    include_incomplete: bool = False,
    min_coverage: float = 0.9,
    start: feat.DateLike = None,
    end: feat.DateLike = None,
    org: str | list[str] | None = None,
) -> StoryResult:
    """Every story table at once (segments per period, story, transitions, retention, cohorts)."""
    window = _window(tx, period, include_incomplete, min_coverage, start, end, org)
    rows, active = _active_rows(window, period)
    segments = _segments_in_window(window, period, scheme, config, rows, active)
    segments = materialize(ibis.get_backend(segments), segments)
    return StoryResult(
        period=period,
        scheme=scheme,
        periods=window.periods,
        period_segments=segments,
        story=story_table(segments, window.tx, period=period),
        transitions=transitions(segments),
        retention=retention(segments),
        cohorts=cohort_table(rows, active, window.periods),
        excluded=window.excluded,
    )
