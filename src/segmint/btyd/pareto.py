"""Pareto/NBD (Schmittlein, Morrison & Colombo 1987), in the form of Fader & Hardie (2005),
"A Note on Deriving the Pareto/NBD Model and Related Expressions" (FH05 below).

Purchases are Poisson(lambda) while alive, lifetimes exponential(mu); lambda ~ Gamma(r, alpha),
mu ~ Gamma(s, beta). The likelihood (FH05 eqs. 22-23) is written as two positive tail integrals

    L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [ s K(r+x, s+1; t_x) + (r+x) K(r+x+1, s; T) ]

with K(p, q; Y) = integral_Y^inf (alpha+tau)^-p (beta+tau)^-q d tau, evaluated by
``special.log_tail_integral`` (the 2F1 of FH05 eq. 20 without its overflow and cancellation).
"""

from __future__ import annotations

import numpy as np
from scipy.special import exprel, gammaln

from segmint.btyd.models import BTYDModel, SummaryArrays, _arrays
from segmint.btyd.special import log_tail_integral

__all__ = ["ParetoNBD"]

NUMERICAL_STEP = 1e-5  # central differences in log-parameters for the gradient


class ParetoNBD(BTYDModel):
    """Pareto/NBD: customers can drop out at any time (not only after a purchase)."""

    name = "pnbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")
    time_params = ("alpha", "beta")
    citation = "Schmittlein, Morrison & Colombo (1987), Management Science 33(1); Fader & Hardie (2005) note"

    def _fixed_starts(self) -> list[list[float]]:
        return [[1.0, 1.0, 1.0, 1.0], [0.5, 0.3, 0.5, 0.3], [2.0, 5.0, 0.5, 2.0]]

    @staticmethod
    def _log_terms(theta, x, t_x, T) -> tuple[np.ndarray, np.ndarray]:
        """log of s K(r+x, s+1; t_x) and of (r+x) K(r+x+1, s; T)."""
        r, alpha, s, beta = theta
        died = np.log(s) + log_tail_integral(r + x, s + 1.0, alpha, beta, t_x)
        alive = np.log(r + x) + log_tail_integral(r + x + 1.0, s, alpha, beta, T)
        return died, alive

    def _loglik(self, log_params: np.ndarray, data: SummaryArrays) -> np.ndarray:
        """Log-likelihood at every row of ``log_params`` (points x 4): the tail integrals' series run
        once for all points, as a numerical gradient needs nine of them."""
        theta = np.exp(np.atleast_2d(log_params))
        r, alpha, s, beta = (theta[:, [i]] for i in range(4))  # columns: one point per row
        (died_rows, died_at), (alive_rows, alive_at) = data.by_recency, data.by_age
        x_died, x_alive = data.x[died_rows][None, :], data.x[alive_rows][None, :]
        died = np.log(s) + log_tail_integral(r + x_died, s + 1.0, alpha, beta, data.t_x[died_rows][None, :])
        alive = np.log(r + x_alive) + log_tail_integral(r + x_alive + 1.0, s, alpha, beta, data.T[alive_rows][None, :])
        per_x = gammaln(r + data.unique_x[None, :]) - gammaln(r)
        constant = (r * np.log(alpha) + s * np.log(beta)).ravel() * data.weight.sum()
        return per_x @ data.weight_x + constant + np.logaddexp(died[:, died_at], alive[:, alive_at]) @ data.weight

    def _objective(self, log_params, data):
        def negative(points: np.ndarray) -> np.ndarray:
            with np.errstate(all="ignore"):
                try:
                    values = -self._loglik(points, data)
                except FloatingPointError:  # a series failed for some point: find which, one by one
                    if len(points) == 1:
                        return np.array([np.inf])
                    values = np.concatenate([negative(point[None, :]) for point in points])
            return np.where(np.isfinite(values), values, np.inf)

        k = log_params.size
        shifts = NUMERICAL_STEP * np.eye(k)
        values = negative(np.vstack([log_params, log_params + shifts, log_params - shifts]))
        if not np.isfinite(values[0]):
            return float(values[0]), np.zeros_like(log_params)
        return float(values[0]), (values[1 : k + 1] - values[k + 1 :]) / (2 * NUMERICAL_STEP)

    # --- scoring (FH05 section 4) ---------------------------------------------------------------
    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T) (FH05 eq. 24): the alive term's share of the likelihood."""
        x, t_x, age = _arrays(frequency, recency, T)
        r, alpha, s, beta = theta = self.params
        died, alive = self._log_terms(theta, x, t_x, age)
        log_first = -(r + x) * np.log(alpha + age) - s * np.log(beta + age)
        return np.minimum(np.exp(log_first - np.logaddexp(died, alive)), 1.0)  # a share: rounding can pass 1

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] (FH05 eq. 27): P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]."""
        t, x, t_x, age = _arrays(t, frequency, recency, T)
        r, alpha, s, beta = self.params
        horizon = np.log1p(t / (beta + age))
        # [1 - (1+t/(beta+T))^-(s-1)] / (s-1), stable also at s = 1
        factor = horizon * exprel(-(s - 1.0) * horizon)
        return self.p_alive(x, t_x, age) * (r + x) * (beta + age) / (alpha + age) * factor

    def expected_purchases_curve(self, times, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] for every t of ``times`` (customers x len(times)), P(alive) computed once."""
        x, t_x, age = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
        r, alpha, s, beta = self.params
        t = np.atleast_1d(np.asarray(times, dtype=float))[None, :]
        horizon = np.log1p(t / (beta + age[:, None]))
        factor = horizon * exprel(-(s - 1.0) * horizon)
        scale = self.p_alive(x, t_x, age) * (r + x) * (beta + age) / (alpha + age)
        return scale[:, None] * factor

    def expected_purchases_population(self, t) -> np.ndarray:
        """E[X(t)] (FH05 eq. 17): r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]."""
        r, alpha, s, beta = self.params
        horizon = np.log1p(np.atleast_1d(np.asarray(t, dtype=float)) / beta)
        return r * beta / alpha * horizon * exprel(-(s - 1.0) * horizon)

    def p_repurchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(at least one purchase in (T, T+t] | x, t_x, T).

        Given alive at T with posterior Gamma(r+x, alpha+T) x Gamma(s, beta+T), the first purchase
        comes before death and before T+t with probability E[lambda int_0^t e^-(lambda+mu)u du], i.e.
        (r+x)(alpha+T)^(r+x)(beta+T)^s [K(r+x+1, s; T) - K(r+x+1, s; T+t)].
        """
        t, x, t_x, age = _arrays(t, frequency, recency, T)
        r, alpha, s, beta = self.params
        now = log_tail_integral(r + x + 1.0, s, alpha, beta, age)
        later = log_tail_integral(r + x + 1.0, s, alpha, beta, age + t)
        log_within = np.log(r + x) + (r + x) * np.log(alpha + age) + s * np.log(beta + age) + now
        with np.errstate(divide="ignore"):
            log_within = log_within + np.log(-np.expm1(later - now))
        return self.p_alive(x, t_x, age) * np.exp(log_within)
