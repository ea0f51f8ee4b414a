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
  system outage or a lost export, named so a person can check it.
"""

from __future__ import annotations

import datetime as dt
import statistics

import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel

from segmint.errors import DataError
from segmint.features import Period, period_bounds, period_label, period_starts

MIN_COVERAGE = 0.9
GAP_DAYS_SHARE = 0.5  # a month with under half its neighbours' trading days is a gap
GAP_ROWS_SHARE = 0.25  # ... or under a quarter of their rows
GAP_NEIGHBOURS = 2  # months on each side a month is compared with

__all__ = [
    "DataSpan",
    "MonthGap",
    "PeriodCoverage",
    "data_span",
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


def data_span(tx: ir.Table) -> DataSpan:
    """First/last day, trading days and the usual gap of ``tx`` (DataError when it is empty)."""
    days = tx.select(day=tx.invoice_date.date()).distinct()
    gap = days.day.delta(days.day.lag().over(order_by=days.day), unit="day")
    stats = days.mutate(gap=gap).aggregate(
        first=lambda t: t.day.min(), last=lambda t: t.day.max(), n=lambda t: t.count(),
        gap_p95=lambda t: t.gap.quantile(0.95),
    ).execute()
    if stats.empty or pd.isna(stats.loc[0, "last"]):
        raise DataError("no transactions in the selected window (check the input and the date/org filters)")
    gap_p95 = stats.loc[0, "gap_p95"]
    return DataSpan(
        first_day=pd.Timestamp(stats.loc[0, "first"]).date(),
        last_day=pd.Timestamp(stats.loc[0, "last"]).date(),
        trading_days=int(stats.loc[0, "n"]),
        usual_gap=0 if pd.isna(gap_p95) else int(round(float(gap_p95))),
    )


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
    day = tx.invoice_date.date()
    per_month = tx.group_by(month=day.truncate("M")).aggregate(
        rows=tx.count(), trading_days=day.nunique()
    ).execute()
    if per_month.empty:
        return []
    per_month["month"] = pd.to_datetime(per_month["month"]).dt.date
    counts = per_month.set_index("month")
    months = period_starts(counts.index.min(), counts.index.max(), "month")
    rows = [int(counts["rows"].get(m, 0)) for m in months]
    trading = [int(counts["trading_days"].get(m, 0)) for m in months]
    gaps = []
    for i in range(1, len(months) - 1):  # the first and last month are coverage questions
        around = [j for j in range(i - GAP_NEIGHBOURS, i + GAP_NEIGHBOURS + 1)
                  if 0 < j < len(months) - 1 and j != i]
        if not around:
            continue
        usual_days = statistics.median(trading[j] for j in around)
        usual_rows = statistics.median(rows[j] for j in around)
        if trading[i] < GAP_DAYS_SHARE * usual_days or rows[i] < GAP_ROWS_SHARE * usual_rows:
            gaps.append(MonthGap(
                month=period_label(months[i], "month"), trading_days=trading[i], rows=rows[i],
                neighbour_trading_days=float(usual_days), neighbour_rows=float(usual_rows),
            ))
    return gaps


def as_frame(coverage: list[PeriodCoverage]) -> pd.DataFrame:
    """The coverage list as a table (period_index first), for exports and charts."""
    frame = pd.DataFrame([c.model_dump() for c in coverage])
    frame.insert(0, "period_index", range(len(frame)))
    frame["note"] = [c.note for c in coverage]
    return frame
