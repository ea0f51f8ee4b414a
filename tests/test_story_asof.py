"""As-of (lifecycle) stories on the 5-customer x 6-quarter fixture of test_story.py.

Hand check of the as-of RFM scores at the end of 2022-Q4 (snapshot 2023-01-01), customers known then
(A, B, C, D), 5 bins, n=4, score = 1 + floor(5 * worse / 4):

    customer  last purchase  recency  purchases  net to date   R  F  M   first purchase
    A         2022-11-15       47        5         22000       3  4  4   2022-01-15
    B         2022-10-05       88        2           110       2  2  1   2022-02-10 (return on 10-20)
    C         2022-09-30       93        2           180       1  2  2   2022-05-20 (return on 12-01)
    D         2022-12-24        8        1         10000       4  1  3   2022-12-24 -> new in 2022-Q4

A: R3, FM 4 -> Loyal Customers; B: R2, FM 1.5 is the Hibernating cell, but B bought in 2022-Q4 (on
10-05), and absence labels need no purchase in the quarter -> About To Sleep (R3's label of FM 1-2);
C: R1, FM 2, last purchase 09-30 (2022-Q3) -> Lost; D joined in the quarter -> New Customers.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_story import _tx

from segmint import story
from segmint.features import customer_features
from segmint.segment import rfm
from segmint.story_features import as_of_features, period_activity, period_grid

FEATURE_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "avg_order_value", "profit",
                   "tenure_days", "first_purchase", "last_purchase"]


@pytest.fixture(scope="module")
def rfm_story() -> story.StoryResult:
    return story.build_story(_tx(), scheme="rfm")


def test_as_of_features_equal_customer_features_at_each_period_end() -> None:
    tx = _tx()
    window = story._window(tx, "quarter", "auto", 0.9)
    grid = period_grid(period_activity(window.tx, window.periods, "quarter", window.frequency), window.periods)
    as_of = as_of_features(grid, window.periods).execute()
    for item in window.periods.itertuples():
        snapshot = pd.Timestamp(item.as_of).date() + dt.timedelta(days=1)
        want = customer_features(tx, snapshot_date=snapshot).execute()[FEATURE_COLUMNS]
        got = as_of[as_of.period_index == item.period_index][FEATURE_COLUMNS].sort_values("customer_id")
        pd.testing.assert_frame_equal(got.reset_index(drop=True), want.reset_index(drop=True),
                                      check_dtype=False)


def test_as_of_scores_by_hand(rfm_story: story.StoryResult) -> None:
    assert rfm_story.kind == "as_of"
    table = rfm_story.period_segments.execute()
    q4 = table[table.period == "2022-Q4"].set_index("customer_id")
    # 4 customers < 5 bins: 1 + floor(4k/3) for k strictly worse; recency D 8, A 47, B 88, C 93 -> R 5, 3, 2, 1
    # (D scored 4 and A's F=M=4 before: the top score was out of reach of 4 customers)
    assert q4.rfm_cell.to_dict() == {"A": "355", "B": "221", "C": "122", "D": "513"}
    assert q4.recency_days.to_dict() == {"A": 47, "B": 88, "C": 93, "D": 8}
    assert q4.segment.to_dict() == {"A": "Loyal Customers", "B": "About To Sleep", "C": "Lost",
                                    "D": "New Customers"}
    assert "last purchase 2022-10-05 in the current quarter" in q4.loc["B", "reason"]
    # activity columns still describe the quarter itself: C only returned goods in 2022-Q4
    assert (q4.loc["C", "active"], q4.loc["C", "monetary"], q4.loc["C", "frequency_to_date"]) == (False, -20.0, 2)
    # as-of rows carry a segment whether or not the customer bought in the period
    assert "Inactive" not in set(table.segment)


def test_new_customers_only_in_each_customers_first_period(rfm_story: story.StoryResult) -> None:
    table = rfm_story.period_segments.execute()
    new = table[table.segment == "New Customers"]
    first = rfm_story.story.set_index("customer_id")["first_period"]
    assert sorted(zip(new.customer_id, new.period)) == sorted(first.items())
    assert new.reason.str.contains("in the current quarter").all()


def test_current_segment_is_the_one_analyze_gives() -> None:
    from segmint.api import analyze

    tx = _tx()
    result = analyze(tx, scheme=["rfm", "levels"], story_period="quarter", story_scheme="rfm")
    analysed = result.segments["rfm"].execute().set_index("customer_id")["segment"]
    current = result.story.story.set_index("customer_id")["current_segment"]
    assert current.to_dict() == analysed.to_dict()
    levels = story.build_story(tx, scheme="levels").story.set_index("customer_id")["current_segment"]
    assert levels.to_dict() == result.segments["levels"].execute().set_index("customer_id")["segment"].to_dict()
    # and equal to scoring the last day's customer_features directly
    direct = rfm.assign(customer_features(tx), rfm.RFMConfig()).execute().set_index("customer_id")
    assert current.to_dict() == direct.segment.to_dict()


def test_kind_sentence_and_klaviyo_fields(rfm_story: story.StoryResult) -> None:
    assert rfm_story.describe_kind() == (
        "rfm segments, as-of (lifecycle): each customer's segment as it stood at the end of each "
        "quarter, on all their history to that date"
    )
    s = rfm_story.story.set_index("customer_id")
    path = rfm_story.period_segments.execute().groupby("customer_id")["segment"].agg(list)
    for customer, segments in path.items():
        assert s.loc[customer, "current_segment"] == segments[-1]
        runs = [seg for i, seg in enumerate(segments) if i == 0 or seg != segments[i - 1]]
        previous = s.loc[customer, "previous_segment"]
        assert (runs[-2] if len(runs) > 1 else None) == (None if pd.isna(previous) else previous)


def test_a_start_date_hides_earlier_periods_but_not_the_history(rfm_story: story.StoryResult) -> None:
    # as-of segments stand on all history, so starting the story at 2022-07-01 must give the very same
    # labels for 2022-Q3 on as the whole story, and nobody who bought before July is "New Customers"
    windowed = story.build_story(_tx(), scheme="rfm", start="2022-07-01")
    got = windowed.period_segments.execute()
    full = rfm_story.period_segments.execute()
    want = full[full.period >= "2022-Q3"]
    assert sorted(got.period.unique()) == sorted(want.period.unique())
    key = ["customer_id", "period"]
    pd.testing.assert_frame_equal(
        got.sort_values(key)[key + ["segment", "rfm_cell"]].reset_index(drop=True),
        want.sort_values(key)[key + ["segment", "rfm_cell"]].reset_index(drop=True),
    )
    new = got[got.segment == "New Customers"]
    assert (pd.to_datetime(new.first_purchase) >= pd.to_datetime(new.period_start)).all()
    # D first bought on 2022-12-24 and E on 2023-06-28; A, B and C before July
    assert new.set_index("customer_id").period.to_dict() == {"D": "2022-Q4", "E": "2023-Q2"}
    assert any("before 2022-07-01" in note for note in windowed.notes)
    assert windowed.retention.set_index("period").loc["2022-Q4", "new"] == 1


def test_a_bad_start_date_is_a_config_error_naming_start() -> None:
    from segmint.errors import ConfigError

    with pytest.raises(ConfigError, match="start='2022-13-01' is not a date") as caught:
        story.build_story(_tx(), scheme="rfm", start="2022-13-01")
    assert caught.value.field == "start"
