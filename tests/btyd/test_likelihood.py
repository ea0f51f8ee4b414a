"""The (M)BG/NBD and Gamma-Gamma likelihoods as summed internally equal the papers' per-customer
formulas written out directly, and their analytic gradients equal numerical differences."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln, gammaln

from segmint.btyd.fitting import numerical_gradient
from segmint.btyd.gamma_gamma import GammaGamma
from segmint.btyd.models import BGNBD, MBGNBD, SummaryArrays, distinct_rows

rng = np.random.default_rng(7)
N = 2000
X = rng.integers(0, 9, N).astype(float)
T = rng.uniform(1, 40, N).round(1)
T_X = np.where(X > 0, (T * rng.uniform(0, 1, N)).round(1), 0.0)


@pytest.mark.parametrize("model", [BGNBD(), MBGNBD()])
def test_bg_likelihood_equals_the_paper_formula(model):
    """FHL 2005 eq. 6 (BG/NBD) and Batislam et al. 2007 (MBG/NBD), one customer at a time."""
    log_params = np.log([0.5, 3.0, 0.8, 2.0])
    r, alpha, a, b = np.exp(log_params)
    k = model._shift
    head = gammaln(r + X) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    first = head + betaln(a, b + X + k) - (r + X) * np.log(alpha + T)
    second = head + betaln(a + 1, b + X + k - 1) - (r + X) * np.log(alpha + T_X)
    exists = X > 0 if k == 0 else np.ones(N, bool)
    expected = np.where(exists, np.logaddexp(first, np.where(exists, second, -np.inf)), first).sum()
    data = SummaryArrays.build(X, T_X, T)
    value, gradient = model._objective(log_params, data)
    assert -value == pytest.approx(expected, rel=1e-12)
    numeric = numerical_gradient(lambda lp: model._objective(lp, data)[0], log_params)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_gamma_gamma_likelihood_equals_the_paper_formula():
    """FH13 eq. 1 per customer (x repeat purchases with mean spend m)."""
    x, m = X[X > 0], rng.gamma(3.0, 10.0, int((X > 0).sum())).round(2)
    log_params = np.log([4.0, 3.0, 12.0])
    p, q, v = np.exp(log_params)
    expected = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v) + (p * x - 1) * np.log(m)
                + p * x * np.log(x) - (p * x + q) * np.log(x * m + v)).sum()
    constants = GammaGamma._constants(x, m, np.ones(x.size))
    value, gradient = GammaGamma()._objective(log_params, constants)
    assert -value == pytest.approx(expected, rel=1e-12)
    numeric = numerical_gradient(lambda lp: GammaGamma()._objective(lp, constants)[0], log_params)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-6)


def test_distinct_rows_match_numpy_unique():
    rows = np.column_stack([X, T_X, T])
    first, inverse = distinct_rows(X, T_X, T)
    expected, expected_inverse = np.unique(rows, axis=0, return_inverse=True)
    np.testing.assert_array_equal(rows[first], expected)
    np.testing.assert_array_equal(inverse, expected_inverse.ravel())


def test_no_converging_start_is_a_clear_error():
    from segmint.btyd.fitting import ConvergenceError, maximise

    def nowhere(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        return float("nan"), np.zeros_like(log_params)

    with pytest.raises(ConvergenceError, match="did not converge from any of 2 starting points"):
        maximise(nowhere, [np.zeros(2), np.ones(2)], model="BG/NBD", names=("r", "alpha"), scale=1.0)


def _simulate_bgnbd(n, seed=3, r=0.25, alpha=4.0, a=0.8, b=2.4):
    """BG/NBD customers (Fader, Hardie & Lee 2005): Poisson(lambda) purchases, dropping out after each
    purchase with probability p; lambda ~ Gamma(r, alpha), p ~ Beta(a, b); ages 27-78 weeks."""
    rng = np.random.default_rng(seed)
    lam, p = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.integers(27, 79, n).astype(float)
    x, t_x = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i], t_x[i] = x[i] + 1, np.floor(t * 7) / 7  # purchase days
            if rng.random() < p[i]:
                break
    return x, t_x, T


def test_the_fit_is_the_same_whatever_blas_threads_the_machine_has():
    """40,000 simulated customers: the fit recovers the true parameters, to the last digit with one or two
    BLAS threads (the old code's sums followed OpenBLAS' thread count: r 0.2478510090 vs 0.2478510135)."""
    from threadpoolctl import threadpool_limits

    x, t_x, T = _simulate_bgnbd(40_000)
    fits = []
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="blas"):
            fits.append(BGNBD().fit(x, t_x, T).params_)
    assert fits[0] == fits[1]
    assert fits[0] == pytest.approx({"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.4}, rel=0.05)  # the truth
