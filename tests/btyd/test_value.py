"""CLV arithmetic: time units, discounting, horizons, bands -- by hand and by invariance."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.btyd.models import BGNBD, MBGNBD
from segmint.btyd.pareto import ParetoNBD
from segmint.btyd.value import (
    churn_risk,
    discount_factors,
    discounted_purchases,
    parse_discount,
    parse_horizon,
    schedule,
)
from segmint.errors import ConfigError

MONTH = 365.25 / 12


def test_monthly_rate_with_a_weekly_model():
    # 1% a month: money 12 months (= 12 * 30.4375 / 7 weeks) out is worth 1.01^-12
    weeks = 12 * MONTH / 7
    assert discount_factors(np.array([weeks]), 0.01, "month", "week")[0] == pytest.approx(1.01**-12, rel=1e-12)
    # one week is 7 / 30.4375 of a month
    assert discount_factors(np.array([1.0]), 0.01, "month", "week")[0] == pytest.approx(1.01 ** (-7 / MONTH))
    # 10% a year over 6 months with a daily model
    assert discount_factors(np.array([6 * MONTH]), 0.10, "year", "day")[0] == pytest.approx(1.1**-0.5)


def test_parsing_rates_and_horizons():
    assert parse_discount("1%/month") == (0.01, "month")
    assert parse_discount("0.1") == (0.1, "year")
    assert parse_discount("10% per year") == (0.1, "year")
    assert parse_discount(None) == (0.10, "year")
    assert parse_horizon(None, "week") == pytest.approx(12 * MONTH / 7)
    assert parse_horizon("12 months", "day") == pytest.approx(365.25)
    assert parse_horizon(26, "week") == 26
    assert parse_horizon("1 year", "month") == pytest.approx(12)
    with pytest.raises(ConfigError):
        parse_discount("ten percent")
    with pytest.raises(ConfigError):
        parse_horizon("-3", "week")


def test_schedule_is_monthly_and_ends_at_the_horizon():
    ends = schedule(10.0, "week")
    step = MONTH / 7
    assert ends[0] == pytest.approx(step) and ends[-1] == 10.0
    assert np.allclose(np.diff(ends[:-1]), step)


def test_discounted_purchases_by_hand():
    model = BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, t_x, T = np.array([2.0]), np.array([30.43]), np.array([38.86])
    horizon = 3 * MONTH / 7  # three months in weeks
    total, discounted = discounted_purchases(model, horizon, 0.01, "month", "week", x, t_x, T)
    ends = np.array([1, 2, 3]) * MONTH / 7
    cumulative = np.array([model.expected_purchases(e, x, t_x, T)[0] for e in ends])
    by_hand = sum(np.diff(cumulative, prepend=0) * 1.01 ** -np.array([1, 2, 3]))
    assert total[0] == pytest.approx(cumulative[-1], rel=1e-12)
    assert discounted[0] == pytest.approx(by_hand, rel=1e-12)


def test_clv_does_not_depend_on_the_time_unit():
    """The same customers modelled in weeks and in months (parameters rescaled) get the same CLV."""
    weekly = BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    factor = 7 / MONTH  # weeks -> months
    monthly = BGNBD().with_params(r=0.243, alpha=4.414 * factor, a=0.793, b=2.426)
    x, t_x, T = np.array([0.0, 2.0, 9.0]), np.array([0.0, 30.43, 20.0]), np.array([38.86, 38.86, 38.0])
    in_weeks = discounted_purchases(weekly, parse_horizon("12 months", "week"), 0.01, "month", "week", x, t_x, T)
    in_months = discounted_purchases(monthly, parse_horizon("12 months", "month"), 0.01, "month", "month",
                                     x, t_x * factor, T * factor)
    np.testing.assert_allclose(in_weeks, in_months, rtol=1e-10)


def test_churn_risk_bands():
    assert list(churn_risk(np.array([0.0, 0.29, 0.3, 0.69, 0.7, 1.0]))) == [
        "high", "high", "medium", "medium", "low", "low"]


MODELS = [
    BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426),
    MBGNBD().with_params(r=0.525, alpha=6.183, a=0.891, b=1.614),
    ParetoNBD().with_params(r=0.553, alpha=10.58, s=0.606, beta=11.67),
]
customers = st.tuples(
    st.integers(0, 60), st.floats(0, 1), st.floats(0.01, 200), st.floats(0.1, 100), st.floats(0.1, 100)
)


@settings(max_examples=60, deadline=None)
@given(customers)
def test_probabilities_and_expectations_are_sane(customer):
    x, share, T, t1, extra = customer
    t_x = 0.0 if x == 0 else share * T
    for model in MODELS:
        alive = model.p_alive(x, t_x, T)
        assert 0.0 <= alive <= 1.0
        if isinstance(model, BGNBD) and not isinstance(model, MBGNBD) and x == 0:
            assert alive == 1.0
        near, far = model.expected_purchases(t1, x, t_x, T), model.expected_purchases(t1 + extra, x, t_x, T)
        assert 0.0 <= near <= far
        buy = model.p_repurchase(t1, x, t_x, T)
        assert 0.0 <= buy <= alive + 1e-12


def test_independence_check_matches_scipy_without_importing_scipy_stats():
    """The coefficients are scipy's (ties ranked by their mean), and the check no longer imports scipy.stats
    (2.4 s of the dashboard's first Value page)."""
    import subprocess
    import sys

    from scipy.stats import pearsonr, spearmanr

    from segmint.btyd.gamma_gamma import GammaGamma

    rng = np.random.default_rng(5)
    x = rng.integers(1, 6, 300).astype(float)  # many ties
    m = np.round(rng.gamma(2.0, 20.0, 300) + 3 * x, 0)
    check = GammaGamma.independence_check(x, m)
    assert check["pearson"] == pytest.approx(pearsonr(x, m)[0], rel=1e-12)
    assert check["spearman"] == pytest.approx(spearmanr(x, m)[0], rel=1e-12)
    code = ("import sys, numpy as np; from segmint.btyd.gamma_gamma import GammaGamma; "
            "GammaGamma.independence_check(np.arange(1.0, 9.0), np.arange(8.0) ** 2); "
            "print('scipy.stats' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"
