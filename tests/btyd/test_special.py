"""The Pareto/NBD tail integral against adaptive quadrature of its definition (an independent method)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.integrate import quad

from segmint.btyd.special import lgamma_quotient, log_tail_integral


def quadrature(p, q, A, B, Y) -> float:
    """log of int_Y^inf (A+t)^-p (B+t)^-q dt by scipy.integrate.quad in u = log(min(A,B) + t)."""
    low = min(A, B)
    u0 = np.log(low + Y)

    def log_f(u):
        return u - p * np.log(A - low + np.exp(u)) - q * np.log(B - low + np.exp(u))

    shift = log_f(u0)
    edges = [u0 + k for k in (0, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 300)]
    total = sum(quad(lambda u: np.exp(log_f(u) - shift), a, b, epsabs=0, epsrel=1e-13, limit=400)[0]
                for a, b in zip(edges[:-1], edges[1:]))
    return float(np.log(total) + shift)


# exponents near integers (the Gamma pole), rates that differ by 5 orders of magnitude, many purchases
P = [0.24, 1.0, 2.00001, 3.7, 40.2]
Q = [0.3, 0.999999, 1.0, 2.0, 3.0000001, 12.5]
A = [0.01, 4.4, 300.0]
B = [0.02, 10.58, 1000.0]
Y = [0.0, 3.0, 38.9]
GRID = [c for c in itertools.product(P, Q, A, B, Y) if c[0] + c[1] > 1.05]
CASES = [GRID[i] for i in np.random.default_rng(12).choice(len(GRID), 160, replace=False)]


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_tail_integral_matches_quadrature_everywhere_on_the_grid():
    p, q, a, b, y = map(np.array, zip(*CASES, strict=True))
    got = log_tail_integral(p, q, a, b, y)
    expected = np.array([quadrature(*case) for case in CASES])
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11)


def test_equal_offsets_are_the_closed_form():
    # A == B: int_Y^inf (A+t)^-(p+q) dt = (A+Y)^(1-p-q) / (p+q-1)
    got = log_tail_integral(2.5, 1.5, 3.0, 3.0, 2.0)
    assert got == pytest.approx(np.log(5.0 ** (-3.0) / 3.0), rel=1e-14)


def test_no_overflow_where_scipy_hyp2f1_gives_inf_or_nan():
    from scipy.special import hyp2f1

    # scipy: 2F1(300.7, 250.2; 301.7; 0.99) = inf; the integral itself is finite and positive
    assert not np.isfinite(hyp2f1(300.7, 250.2, 301.7, 0.99))
    value = log_tail_integral(50.5, 250.2, 100.0, 1.0, 0.0)
    assert np.isfinite(value)
    assert value == pytest.approx(quadrature(50.5, 250.2, 100.0, 1.0, 0.0), rel=1e-11)


def test_lgamma_quotient_is_the_digamma_limit():
    from scipy.special import psi

    assert lgamma_quotient(np.array([0.3]), np.array([0.0]))[0] == pytest.approx(psi(0.3), rel=1e-12)
    assert lgamma_quotient(np.array([2.5]), np.array([1e-7]))[0] == pytest.approx(psi(2.5), rel=1e-6)
