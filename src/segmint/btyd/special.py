"""Special functions the BTYD models need, evaluated so they neither overflow nor lose digits.

The Pareto/NBD likelihood and P(alive) are sums of *tail integrals*

    K(p, q; A, B; Y) = integral from Y to infinity of (A + tau)^-p (B + tau)^-q d tau

(Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model and Related Expressions",
eqs. 20-23: the two terms of the likelihood written so that both are positive). In hypergeometric
form K = (M + Y)^-n / n * 2F1(n, o; n + 1; z) with n = p + q - 1, M = max(A, B), o the exponent of
the factor with the smaller offset and z = |A - B| / (M + Y) in [0, 1). ``scipy.special.hyp2f1``
overflows there for large n and o (many purchases) and returns nan or loses digits near z = 1, so
``log_tail_integral`` uses two series, each with positive or bounded terms in its own region:

* z <= 0.6, or many purchases: Euler's transformation 2F1(n, o; n+1; z) =
  (1-z)^(1-o) 2F1(1, e; e+o; z) (Abramowitz & Stegun 15.3.3), a series of positive terms that
  shrink by at least a factor z each, summed to double precision;
* z > 0.6 (the rates of purchase and of dropout differ a lot): the 1/x connection formula
  (A&S 15.3.7) applied to 2F1(e, n; n+1; -rho), rho = z / (1-z), a series in 1/rho. Its Gamma
  pole at an integer o (A&S 15.3.14's degenerate case) is removed analytically: the pole term and
  the Gamma term are combined into one difference quotient computed without cancellation.
"""

from __future__ import annotations

import numpy as np
from scipy.special import exprel, gammaln, gammasgn, hyp2f1, polygamma, psi

__all__ = ["log_tail_integral", "lgamma_quotient"]

_TOL = 1e-17
_SWITCH_Z = 0.6  # below: Euler series (ratio <= z); above: 1/x series (ratio ~ (1-z)/z)
_MAX_CANCELLATION = 1e8  # largest term / result allowed in the 1/x series before falling back
_POLE_WIDTH = 0.1  # |o - integer| below which the pole is removed analytically


def lgamma_quotient(x: np.ndarray, delta: np.ndarray) -> np.ndarray:
    """(lnGamma(x + delta) - lnGamma(x)) / delta, accurate also for tiny ``delta`` (-> digamma(x))."""
    x, delta = np.broadcast_arrays(np.asarray(x, float), np.asarray(delta, float))
    small = np.abs(delta) < 1e-3
    out = np.empty_like(x)
    big = ~small
    out[big] = (gammaln(x[big] + delta[big]) - gammaln(x[big])) / delta[big]
    xs, ds = x[small], delta[small]
    term = psi(xs)
    for k in range(1, 5):  # Taylor series of lnGamma around x
        term = term + polygamma(k, xs) * ds**k / np.prod(np.arange(2, k + 2))
    out[small] = term
    return out


def _euler_series(e: np.ndarray, o: np.ndarray, z: np.ndarray, max_terms: int) -> tuple[np.ndarray, np.ndarray]:
    """(log 2F1(1, e; e+o; z), converged) for e, o > 0, 0 <= z < 1; positive terms, ratio < z.

    The rows still summing are kept in compact arrays (converged rows leave them) instead of being
    indexed out of the full arrays at every step: the same operations per row, so the same bits.
    """
    total = np.ones_like(z)
    active = np.flatnonzero(z > 0)
    z_a, e_a, eo_a = z[active], e[active], e[active] + o[active]
    bound_a = z_a / np.maximum(1.0 - z_a, 1e-300)
    term_a, total_a = np.ones_like(z_a), np.ones_like(z_a)
    k = 0
    while active.size and k < max_terms:
        for _ in range(8):  # a few steps between the (costlier) convergence checks
            term_a *= z_a * (e_a + k) / (eo_a + k)
            total_a += term_a
            k += 1
        done = term_a * bound_a < _TOL * total_a
        if done.any():
            total[active[done]] = total_a[done]
            keep = ~done
            active, z_a, e_a, eo_a, bound_a, term_a, total_a = (
                v[keep] for v in (active, z_a, e_a, eo_a, bound_a, term_a, total_a)
            )
    total[active] = total_a
    converged = np.ones(z.shape, bool)
    converged[active] = False
    return np.log(total), converged


def _connection_series(n: np.ndarray, e: np.ndarray, o: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log H, ok) with Phi * rho^e = H, Phi = int_0^1 u^(n-1) (1 + rho u)^-e du, w = 1/rho < 1.

    A&S 15.3.7 gives Phi = Gamma(n) Gamma(d) / Gamma(e) rho^-n - rho^-e sum_k (e)_k / k! (-w)^k / (d+k)
    with d = e - n = 1 - o. Multiplying by rho^e: H = G w^-d - sum_k c_k / (d + k).
    """
    d = e - n
    k0 = np.maximum(np.rint(-d), 0.0)
    delta = d + k0
    pole = (np.abs(delta) < _POLE_WIDTH) & (d < 0.5)
    log_w = np.log(w)
    # Gamma term G w^-d (kept apart from the pole term where |delta| is small)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        gamma_term = gammasgn(d) * np.exp(gammaln(n) - gammaln(e) + gammaln(d) - d * log_w)
    # the pole pair, combined: (-1)^k0 rho^d Gamma(n) / (Gamma(e) k0!) * (e^A - e^B) / delta
    A_minus_B = lgamma_quotient(np.ones_like(delta), delta) - lgamma_quotient(n, delta) - log_w
    j_max = int(k0[pole].max()) if pole.any() else 0
    for j in range(1, j_max + 1):
        use = k0 >= j
        safe = np.where(delta == 0, 1.0, delta)
        quotient = np.where(delta == 0, -1.0 / j, np.log1p(-delta / j) / safe)
        A_minus_B = A_minus_B - np.where(use, quotient, 0.0)
    B = (gammaln(n + delta) - gammaln(n)) + delta * log_w
    with np.errstate(over="ignore", invalid="ignore"):
        pair = (
            (-1.0) ** k0 * np.exp(-d * log_w + gammaln(n) - gammaln(e) - gammaln(k0 + 1) + B)
            * A_minus_B * exprel(delta * A_minus_B)
        )
    total = np.where(pole, pair, gamma_term)
    largest = np.abs(total)
    # the series over the rows still summing, kept compact as in _euler_series (same bits)
    active = np.arange(w.size)
    d_a, pole_a, k0_a, e_a, w_a, ew_a = d, pole, k0, e, w, e * w
    coef_a = np.ones_like(w)  # (e)_k / k! (-w)^k
    total_a, largest_a = total.copy(), largest.copy()
    k = 0
    while active.size and k < 400:
        skip = pole_a & (k0_a == k)
        contribution = np.where(skip, 0.0, coef_a / np.where(skip, 1.0, d_a + k))
        total_a -= contribution
        largest_a = np.maximum(largest_a, np.abs(contribution))
        coef_a *= -(e_a + k) / (k + 1) * w_a
        k += 1
        done = (k > k0_a) & (k > ew_a) & (np.abs(coef_a) < _TOL * np.abs(total_a))  # past the peak, small
        if done.any():
            total[active[done]], largest[active[done]] = total_a[done], largest_a[done]
            keep = ~done
            active, d_a, pole_a, k0_a, e_a, w_a, ew_a, coef_a, total_a, largest_a = (
                v[keep] for v in (active, d_a, pole_a, k0_a, e_a, w_a, ew_a, coef_a, total_a, largest_a)
            )
    total[active], largest[active] = total_a, largest_a
    ok = (total > 0) & (largest < _MAX_CANCELLATION * total) & np.isfinite(total)
    ok[active] = False
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(ok, total, 1.0)), ok


def log_tail_integral(p, q, A, B, Y) -> np.ndarray:
    """log of the integral from Y to infinity of (A + tau)^-p (B + tau)^-q d tau (p, q, A, B > 0, p + q > 1).

    Arrays broadcast against each other. See the module docstring for the method.
    """
    p, q, A, B, Y = (np.asarray(v, float) for v in np.broadcast_arrays(p, q, A, B, Y))
    shape = p.shape
    p, q, A, B, Y = (v.ravel() for v in (p, q, A, B, Y))
    a_larger = A >= B
    e = np.where(a_larger, p, q)  # exponent of the factor with the larger offset
    o = np.where(a_larger, q, p)
    n = p + q - 1.0
    M = np.maximum(A, B) + Y
    m0 = np.minimum(A, B) + Y
    delta = np.abs(A - B)
    z = delta / M
    out = np.empty_like(z)
    with np.errstate(divide="ignore"):
        w = m0 / delta  # = (1 - z) / z
    second = (z > _SWITCH_Z) & (e * w <= 5.0)
    if second.any():
        idx = np.flatnonzero(second)
        log_h, ok = _connection_series(n[idx], e[idx], o[idx], w[idx])
        # K = m0^-n Phi and Phi rho^e = H  =>  log K = -n log(delta) + d log(w) + log H, d = 1 - o
        out[idx] = -n[idx] * np.log(delta[idx]) + (1.0 - o[idx]) * np.log(w[idx]) + log_h
        second[idx[~ok]] = False
    first = np.flatnonzero(~second)
    if first.size:
        zi = z[first]
        log_s, converged = _euler_series(e[first], o[first], zi, max_terms=20_000)
        if not converged.all():
            # far outside fitted parameter ranges (z within ~1e-3 of 1 and thousands of purchases):
            # scipy's 2F1 on the bounded Euler form, or a clear failure the optimiser backs off from
            slow = np.flatnonzero(~converged)
            with np.errstate(all="ignore"):
                fallback = np.log(hyp2f1(1.0, e[first][slow], e[first][slow] + o[first][slow], zi[slow]))
            if not np.all(np.isfinite(fallback)):
                raise FloatingPointError("hypergeometric series did not converge (z too close to 1)")
            log_s[slow] = fallback
        out[first] = (
            -n[first] * np.log(M[first]) - np.log(n[first]) + (1.0 - o[first]) * np.log1p(-zi) + log_s
        )
    return out.reshape(shape)
