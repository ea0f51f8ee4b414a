"""The scorecard by hand: points per band, factors that do not apply left out, segments, reasons, YAML."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from segmint.credit.scorecard import ScorecardConfig, score
from segmint.errors import ConfigError


def measures(**columns) -> pd.DataFrame:
    base = {"days_late_incl_open": [0.0], "share_paid_late": [0.0], "share_90_plus": [0.0], "trend_days": [0.0],
            "history_days": [400], "utilisation": [math.nan]}
    base.update({k: [v] for k, v in columns.items()})
    return pd.DataFrame(base, index=["c"])


def test_points_by_hand_and_factors_that_do_not_apply():
    # on time, nothing late, nothing old, steady, a year of history, no credit limit: 100 of 100
    assert score(measures()).loc["c", "credit_score"] == 100
    # 20 days late (14 of 35), 30% paid late (10 of 25), 20% over 90 days (10 of 25), +10 days slower
    # (4 of 10), 100 days of history (2 of 5): 40 of 100
    out = score(measures(days_late_incl_open=20, share_paid_late=0.3, share_90_plus=0.2, trend_days=10,
                         history_days=100)).loc["c"]
    assert out["credit_score"] == 40 and out["credit_segment"] == "High"
    assert out["reason"].startswith("score 40: 20 days past due on average (paid and open bills) (-21 of 35); 30% of "
                                    "bills paid late (-15 of 25)")
    # never paid and no trend: those factors drop out of the possible points; a 95% used limit: 5 of 15
    out = score(measures(share_paid_late=math.nan, trend_days=math.nan, utilisation=0.95)).loc["c"]
    assert out["credit_score"] == round(100 * (35 + 25 + 5 + 5) / (35 + 25 + 5 + 15))  # 88


def test_yaml_scorecard_moves_the_thresholds(tmp_path):
    path = tmp_path / "card.yaml"
    path.write_text("segments:\n  - {min_score: 98, segment: Low}\n  - {min_score: 0, segment: Very High}\n")
    card = ScorecardConfig.load(path)  # factors stay the packaged ones
    assert score(measures(history_days=400), card).loc["c", "credit_segment"] == "Low"  # 100
    assert score(measures(history_days=100), card).loc["c", "credit_segment"] == "Very High"  # 97 (2 of 5 for history)
    assert score(measures(history_days=100)).loc["c", "credit_segment"] == "Low"  # the packaged thresholds: 75
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments:\n  - {min_score: 10, segment: Low}\n  - {min_score: 50, segment: High}\n")
    with pytest.raises(ConfigError, match="highest min_score"):
        ScorecardConfig.load(bad)


def test_a_customer_who_never_paid_is_not_called_late_on_average():
    """18 open bills 87 days past due, none paid ('Days to pay: never paid', '0 of 0 settled'): the reason
    said '87 days late on average', as if payments had come in late."""
    out = score(measures(days_late_incl_open=87, share_paid_late=math.nan, trend_days=math.nan)).loc["c"]
    assert "87 days past due on average (paid and open bills) (-35 of 35)" in out["reason"]
    assert "late on average" not in out["reason"]


def test_a_reason_never_shows_a_rounded_value_that_would_have_earned_full_points():
    """The receivables sample: 0.4 days past due on average (amount-weighted) earns 30 of 35 (the 0-day bin
    is max 0), but the reason said '0 days past due on average (-5 of 35)'; a trend of +0.3 days said
    'paying +0 days slower (-2 of 10)'. 88 customers of the receivables sample and the Cubix day book."""
    out = score(measures(days_late_incl_open=0.4, trend_days=0.3)).loc["c"]
    # by hand: timeliness 30 (0 < 0.4 <= 7), trend 8 (0 < 0.3 <= 7), the rest full: 25 + 25 + 5 -> 93 of 100
    assert out["credit_score"] == 93
    assert "0.4 days past due on average (paid and open bills) (-5 of 35)" in out["reason"]
    assert "paying +0.3 days slower than the 90 days before (-2 of 10)" in out["reason"]
    assert " 0 days past due" not in out["reason"] and "+0 days" not in out["reason"]
    # a value whose rounding stays in its bin keeps the scorecard's own format
    out = score(measures(days_late_incl_open=20.4)).loc["c"]
    assert "20 days past due on average" in out["reason"]
    # a share of 10.3% paid late is past the 10% bin (18 of 25, not 25): shown with a decimal, not as "10%"
    out = score(measures(share_paid_late=0.103)).loc["c"]
    assert "10.3% of bills paid late (-7 of 25)" in out["reason"]


def test_one_day_is_singular_in_a_reason():
    """The QA pass of session 17 read '1 days past due' in the credit reasons; a value shown as exactly 1 is
    one day ('+1 day slower'), 1.4 and 2 are days."""
    out = score(measures(days_late_incl_open=1.2, trend_days=1.0)).loc["c"]
    assert "1 day past due on average (paid and open bills)" in out["reason"]
    assert "paying +1 day slower than the 90 days before" in out["reason"]
    assert "1 days" not in out["reason"]
    out = score(measures(days_late_incl_open=2.0)).loc["c"]
    assert "2 days past due on average" in out["reason"]
