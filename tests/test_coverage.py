"""Partial first/last periods: one coverage rule, kept and marked by default, left out on request.

Fixture: Z buys 1.00 every day from 2022-02-15 to 2023-05-10 (so the usual gap between trading days
is one day), and five customers buy now and then inside that range:

    A  2022-02-20 100, 2022-05-10 200, 2023-04-02 300     (joined in the partial first quarter)
    B  2022-03-30 50                                      (joined in the partial first quarter)
    C  2022-06-15 80, 2022-11-11 90
    D  2023-01-20 500
    E  2023-05-09 40                                      (joined in the partial last quarter)

2022-Q1 is covered from 15 February: 45 of its 90 days (50%); 2023-Q2 up to 10 May: 40 of 91 (44%).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_story import _tx

from segmint import coverage, story

D = dt.date
Z_DAYS = pd.date_range("2022-02-15", "2023-05-10")
LINES = [
    ("A", "2022-02-20 10:00", 100.0), ("A", "2022-05-10 10:00", 200.0), ("A", "2023-04-02 10:00", 300.0),
    ("B", "2022-03-30 10:00", 50.0),
    ("C", "2022-06-15 10:00", 80.0), ("C", "2022-11-11 10:00", 90.0),
    ("D", "2023-01-20 10:00", 500.0),
    ("E", "2023-05-09 10:00", 40.0),
    *[("Z", f"{day:%Y-%m-%d} 12:00", 1.0) for day in Z_DAYS],
]


@pytest.fixture(scope="module")
def tx():
    return _tx(LINES)


def test_coverage_rule_by_hand() -> None:
    span = coverage.DataSpan(first_day=D(2022, 2, 15), last_day=D(2023, 5, 10), trading_days=450, usual_gap=1)
    got = coverage.period_coverage(span, "quarter")
    assert [(c.period, c.covered_days, c.days, c.partial) for c in got] == [
        ("2022-Q1", 45, 90, True), ("2022-Q2", 91, 91, False), ("2022-Q3", 92, 92, False),
        ("2022-Q4", 92, 92, False), ("2023-Q1", 90, 90, False), ("2023-Q2", 40, 91, True),
    ]
    assert got[0].note == "partial (50% of days)" and got[-1].label == "2023-Q2 (partial, 44% of days)"
    # a stretch no longer than the usual gap is not missing: a weekly trader ending on 26 March
    weekly = coverage.DataSpan(first_day=D(2023, 1, 2), last_day=D(2023, 3, 27), trading_days=13, usual_gap=7)
    assert [c.partial for c in coverage.period_coverage(weekly, "quarter")] == [False]
    assert coverage.period_coverage(weekly, "month")[-1].covered_days == 31  # 4 days short <= 7
    # the threshold: 85 of 91 days is 93%, complete at the default 90% and partial at 95%
    late = coverage.DataSpan(first_day=D(2023, 4, 1), last_day=D(2023, 6, 24), trading_days=85, usual_gap=1)
    assert coverage.period_coverage(late, "quarter")[0].partial is False
    assert coverage.period_coverage(late, "quarter", min_coverage=0.95)[0].partial is True


def test_data_span_measures_the_usual_gap(tx) -> None:
    span = coverage.data_span(tx)
    assert (span.first_day, span.last_day, span.trading_days, span.usual_gap) == (
        D(2022, 2, 15), D(2023, 5, 10), len(Z_DAYS), 1
    )


def test_partial_periods_kept_and_marked(tx) -> None:
    result = story.build_story(tx, scheme="rfm")
    periods = result.periods.set_index("period")
    assert periods.loc["2022-Q1", "note"] == "partial (50% of days)"
    assert periods.loc["2023-Q2", "note"] == "partial (44% of days)"
    assert periods.loc["2023-Q2", "as_of"] == D(2023, 5, 10)  # scored on the last day with data
    assert not periods.loc["2022-Q2":"2023-Q1", "partial"].any()
    s = result.story.set_index("customer_id")
    assert s.loc["A", "narrative"].startswith("First purchase 2022-Q1 (partial, 50% of days) as New Customers")
    assert s.loc["E", "narrative"] == "First purchase 2023-Q2 (partial, 44% of days) as New Customers"
    r = result.retention.set_index("period")
    # 2022-Q1: A 100 + B 50 + Z 45 days x 1; 2023-Q2: A 300 + E 40 + Z 40 days x 1
    assert (r.loc["2022-Q1", "revenue"], r.loc["2022-Q1", "covered_days"]) == (195.0, 45)
    assert r.loc["2022-Q1", "revenue_per_day"] == pytest.approx(195 / 45)
    assert r.loc["2023-Q2", "revenue_per_day"] == pytest.approx(380 / 40)
    assert r.loc["2023-Q2", "note"] == "partial (44% of days)"
    rows = result.period_segments.execute()
    assert set(rows.loc[rows.period == "2022-Q1", "period_note"]) == {"partial (50% of days)"}
    assert any("2023-Q2 is partial (44% of days)" in note for note in result.notes)


def test_drop_partial_leaves_the_periods_out_but_not_the_history(tx) -> None:
    result = story.build_story(tx, scheme="rfm", drop_partial=True)
    assert result.periods["period"].tolist() == ["2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1"]
    assert [c.period for c in result.dropped] == ["2022-Q1", "2023-Q2"]
    rows = result.period_segments.execute()
    assert set(rows.period) == set(result.periods["period"])
    q2 = rows[rows.period == "2022-Q2"].set_index("customer_id")
    # A, B and Z joined in the dropped quarter: not new in the next one; C joined in 2022-Q2
    assert q2.segment.eq("New Customers").to_dict() == {"A": False, "B": False, "C": True, "Z": False}
    assert q2.loc["A", "frequency_to_date"] == 2  # the dropped quarter's purchase still counts
    s = result.story.set_index("customer_id")
    assert not s.loc["A", "narrative"].startswith("First purchase") and s.loc["C", "narrative"].startswith("First purchase 2022-Q2")
    assert "E" not in s.index  # E bought only in the dropped last quarter
    assert result.retention.set_index("period").loc["2022-Q2", "new"] == 1  # C; A and Z were active before
    assert set(result.cohorts["cohort"]) == {"2022-Q2", "2023-Q1"}
    assert set(result.cohorts["period"]) <= set(result.periods["period"])


def test_a_sparse_log_has_no_gaps_but_a_lost_month_of_a_monthly_trader_is_one() -> None:
    # one sale in January, March and May: February and April were 'gaps' against 'a median of 0.5 days
    # and 0 rows' (the empty months around them counted), on every sparse log
    sparse = [(D(2023, 1, 2), 1), (D(2023, 3, 4), 1), (D(2023, 5, 6), 1)]
    assert coverage.gaps_of_days(sparse) == []
    # a trader with one sale every month, June missing: June is a gap against 1 day a month around it
    monthly = [(D(2023, m, 15), 1) for m in (1, 2, 3, 4, 5, 7, 8, 9, 10)]
    assert [(g.month, g.trading_days, g.neighbour_trading_days) for g in coverage.gaps_of_days(monthly)] == [
        ("2023-06", 0, 1.0)
    ]
