"""How much of each calendar period the data cover: partial first/last periods and gaps inside.

One rule, used by the quality report, the story, the CLI and the dashboard:

* *Trading days* are the distinct days with a transaction; the *usual gap* is the 95th percentile of
  the gaps between consecutive trading days (1 for a shop open every day, 3 over a weekend, weeks for
  a sparse log).
* A period's *coverage* is the share of its calendar days the data span. Only the first and the last
  period can fall short: days before the first transaction (first period) or after the last one
  (last period) are missing, unless that stretch is no longer than the usual gap (a shop closed on
  Sunday the 31st has not lost a day).
* A period is *partial* when its coverage is below ``min_coverage`` (default 90%); it is kept and
  labelled ``partial (76% of days)`` unless the caller chooses to leave it out.
* A *gap* is a month inside the range (not the first or last) with under half the trading days of
  the months around it (two before, two after; their median), or under a quarter of their rows: a
  system outage or a lost export, named so a person can check it. Months around it that trade on
  under one day (median) make no month a gap: in a sparse log an empty month is usual.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from typing import TYPE_CHECKING

import ibis.expr.types as ir
from pydantic import BaseModel

from segmint.errors import DataError
from segmint.features import Period
from segmint.periods import period_bounds, period_label, period_starts
from segmint.results import columns as result_columns

MIN_COVERAGE = 0.9
GAP_DAYS_SHARE = 0.5  # a month with under half its neighbours' trading days is a gap
GAP_ROWS_SHARE = 0.25  # ... or under a quarter of their rows
GAP_NEIGHBOURS = 2  # months on each side a month is compared with

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DataSpan",
    "MonthGap",
    "PeriodCoverage",
    "data_span",
    "day_counts",
    "listed_days",
    "month_gaps",
    "period_coverage",
]


class DataSpan(BaseModel):
    """First and last transaction day and the usual gap between trading days."""

    first_day: dt.date
    last_day: dt.date
    trading_days: int
    usual_gap: int  # days; 95th percentile of gaps between consecutive trading days (0: one day)


class PeriodCoverage(BaseModel):
    """One calendar period and the share of its days the data span."""

    period: str
    period_start: dt.date
    period_end: dt.date  # last day
    days: int  # calendar days in the period
    first_day: dt.date  # first day counted as covered
    last_day: dt.date  # last day counted as covered
    covered_days: int
    coverage: float  # covered_days / days, rounded to 4 places
    partial: bool

    @property
    def note(self) -> str:
        """``"partial (76% of days)"`` for a partial period, else ``""``."""
        return f"partial ({self.coverage:.0%} of days)" if self.partial else ""

    @property
    def label(self) -> str:
        """The period name with its note: ``"2011-Q4 (partial, 76% of days)"``."""
        return f"{self.period} (partial, {self.coverage:.0%} of days)" if self.partial else self.period

    def describe(self) -> str:
        """One line for reports: which days of the period the data cover."""
        return (
            f"{self.period} is partial: data cover {self.first_day} to {self.last_day}, "
            f"{self.covered_days} of its {self.days} days ({self.coverage:.0%})"
        )


class MonthGap(BaseModel):
    """A month inside the data's range with far fewer trading days or rows than its neighbours."""

    month: str  # "2023-04"
    trading_days: int
    rows: int
    neighbour_trading_days: float  # median over the months compared with
    neighbour_rows: float

    def describe(self) -> str:
        """One line naming the month and what it lacks."""
        return (
            f"{self.month}: {self.trading_days} trading days and {self.rows:,} rows, against a median "
            f"of {self.neighbour_trading_days:g} days and {self.neighbour_rows:,.0f} rows in the months "
            "around it (an outage or a missing export?)"
        )


def day_counts(tx: ir.Table, totals: ir.Table | None = None) -> list[tuple[dt.date, int]]:
    """(day, rows) for every day with a transaction, in date order: one small query that both
    :func:`data_span` and :func:`month_gaps` can be computed from (see :func:`span_and_gaps`).
    ``totals``: :func:`segmint.invoices.invoice_totals` of ``tx``, summed instead of reading the lines."""
    if totals is not None:
        return listed_days(totals.group_by("day").aggregate(rows=totals.lines.sum()))
    day = tx.invoice_date.date()
    return listed_days(tx.group_by(day=day).aggregate(rows=tx.count()))


def listed_days(counted: ir.Table) -> list[tuple[dt.date, int]]:
    """(day, rows) in date order from a table of ``day`` and ``rows`` (rows without a day left out)."""
    columns = result_columns(counted)
    return sorted((d, int(n)) for d, n in zip(columns["day"], columns["rows"], strict=True) if d is not None)


def data_span(tx: ir.Table) -> DataSpan:
    """First/last day, trading days and the usual gap of ``tx`` (DataError when it is empty)."""
    return span_of_days(day_counts(tx))


def span_of_days(days: list[tuple[dt.date, int]]) -> DataSpan:
    """:func:`data_span` from :func:`day_counts`: the usual gap is the 95th percentile (linear, as SQL's
    ``percentile_cont``) of the gaps between consecutive trading days."""
    if not days:
        raise DataError("no transactions in the selected window (check the input and the date/org filters)")
    gaps = sorted((b[0] - a[0]).days for a, b in zip(days, days[1:]))
    return DataSpan(
        first_day=days[0][0], last_day=days[-1][0], trading_days=len(days),
        usual_gap=0 if not gaps else int(round(_percentile(gaps, 0.95))),
    )


def _percentile(ordered: list[int], q: float) -> float:
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def span_and_gaps(tx: ir.Table, totals: ir.Table | None = None) -> tuple[DataSpan, list[MonthGap]]:
    """:func:`data_span` and :func:`month_gaps` of ``tx`` from one query (of its ``totals`` when given)."""
    days = day_counts(tx, totals)
    return span_of_days(days), gaps_of_days(days)


def period_coverage(
    span: DataSpan, period: Period = "quarter", *, min_coverage: float = MIN_COVERAGE
) -> list[PeriodCoverage]:
    """Coverage of every calendar period from the one holding the first day to the last day's."""
    out = []
    for start in period_starts(span.first_day, span.last_day, period):
        _, next_start = period_bounds(start, period)
        end = next_start - dt.timedelta(days=1)
        first, last = max(start, span.first_day), min(end, span.last_day)
        # Missing days at either edge count only when longer than the usual gap between trading days.
        if (first - start).days <= span.usual_gap:
            first = start
        if (end - last).days <= span.usual_gap:
            last = end
        days = (next_start - start).days
        covered = (last - first).days + 1
        coverage = round(covered / days, 4)
        out.append(PeriodCoverage(
            period=period_label(start, period), period_start=start, period_end=end, days=days,
            first_day=first, last_day=last, covered_days=covered, coverage=coverage,
            partial=coverage < min_coverage,
        ))
    return out


def month_gaps(tx: ir.Table) -> list[MonthGap]:
    """Months inside the range with far fewer trading days or rows than the months around them."""
    return gaps_of_days(day_counts(tx))


def gaps_of_days(days: list[tuple[dt.date, int]]) -> list[MonthGap]:
    """:func:`month_gaps` from :func:`day_counts`."""
    if not days:
        return []
    per_month: dict[dt.date, list[int]] = {}  # month -> [rows, trading days]
    for day, n in days:
        counts = per_month.setdefault(day.replace(day=1), [0, 0])
        counts[0] += n
        counts[1] += 1
    months = period_starts(min(per_month), max(per_month), "month")
    rows = [per_month.get(m, [0, 0])[0] for m in months]
    trading = [per_month.get(m, [0, 0])[1] for m in months]
    gaps = []
    for i in range(1, len(months) - 1):  # the first and last month are coverage questions
        around = [j for j in range(i - GAP_NEIGHBOURS, i + GAP_NEIGHBOURS + 1)
                  if 0 < j < len(months) - 1 and j != i]
        if not around:
            continue
        usual_days = statistics.median(trading[j] for j in around)
        usual_rows = statistics.median(rows[j] for j in around)
        if usual_days < 1:  # the months around trade on under a day (a sparse log): nothing usual to lack
            continue
        if trading[i] < GAP_DAYS_SHARE * usual_days or rows[i] < GAP_ROWS_SHARE * usual_rows:
            gaps.append(MonthGap(
                month=period_label(months[i], "month"), trading_days=trading[i], rows=rows[i],
                neighbour_trading_days=float(usual_days), neighbour_rows=float(usual_rows),
            ))
    return gaps


def as_frame(coverage: list[PeriodCoverage]) -> pd.DataFrame:
    """The coverage list as a table (period_index first), for exports and charts."""
    import pandas as pd

    frame = pd.DataFrame([c.model_dump() for c in coverage])
    frame.insert(0, "period_index", range(len(frame)))
    frame["note"] = [c.note for c in coverage]
    return frame
