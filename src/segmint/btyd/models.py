"""BTYD purchase models fitted by maximum likelihood: BG/NBD and MBG/NBD here, Pareto/NBD in pareto.py.

Every model follows the scikit-learn shape: settings in ``__init__``, ``fit(frequency, recency, T)``
learns ``params_``, ``standard_errors_`` and ``loglik_``; the scoring methods are vectorised over
customers and take times in the unit of the summary they were fitted on.

BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2) -- likelihood eq. 6, E[X(t)] eq. 7, P(alive) eq. 8 (via
the likelihood's two terms), conditional expectation eq. 10.
MBG/NBD: Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models for
customer base analysis", IJRM 24(3) -- a customer may also drop out right after the first purchase.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit, gammaln, psi, roots_jacobi

from segmint.btyd.fitting import FitReport, hessian_errors, maximise
from segmint.errors import DataError

__all__ = ["BGNBD", "BTYDModel", "MBGNBD", "SummaryArrays"]

QUADRATURE_NODES = 64
MIN_REPEAT_CUSTOMERS = 10  # fewer repeat buyers than this cannot pin down four parameters
SEARCH_SAMPLE = 50_000  # customers the starting points are explored on; the best is polished on all


def distinct_rows(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index of one row per distinct combination, inverse) in lexicographic order of ``columns``.

    Equivalent to ``np.unique(np.column_stack(columns), axis=0)`` but sorts integer codes, not rows
    (an order of magnitude faster on a million customers).
    """
    coded = [np.unique(column, return_inverse=True) for column in columns]
    if np.prod([float(max(values.size, 1)) for values, _ in coded]) >= 2.0**62:  # codes would overflow
        _, first, inverse = np.unique(np.column_stack(columns), axis=0, return_index=True, return_inverse=True)
        return first, inverse.ravel()
    key = np.zeros(columns[0].size, dtype=np.int64)
    for values, codes in coded:
        key = key * values.size + codes.ravel()
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return first, inverse.ravel()


@dataclass
class SummaryArrays:
    """Distinct (frequency, recency, T) rows with their counts, sorted by frequency, with the distinct
    frequencies and ages (so per-frequency and per-age terms are computed once per likelihood call)."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    weight: np.ndarray
    unique_x: np.ndarray
    x_index: np.ndarray  # x == unique_x[x_index]
    unique_T: np.ndarray
    T_index: np.ndarray  # T == unique_T[T_index]
    unique_t_x: np.ndarray
    t_x_index: np.ndarray  # t_x == unique_t_x[t_x_index]
    first_repeat: int  # rows from here on have x > 0 (rows are sorted by x)

    def __post_init__(self) -> None:
        # customers per distinct frequency and per distinct age, and their purchases per distinct age
        self.weight_x = np.bincount(self.x_index, weights=self.weight, minlength=self.unique_x.size)
        self.weight_T = np.bincount(self.T_index, weights=self.weight, minlength=self.unique_T.size)
        self.weight_xT = np.bincount(self.T_index, weights=self.weight * self.x, minlength=self.unique_T.size)

    @cached_property
    def by_recency(self) -> tuple[np.ndarray, np.ndarray]:
        """(one row per distinct (x, t_x), inverse): terms of x and t_x only are computed once per pair."""
        return distinct_rows(self.x, self.t_x)

    @cached_property
    def by_age(self) -> tuple[np.ndarray, np.ndarray]:
        """(one row per distinct (x, T), inverse)."""
        return distinct_rows(self.x, self.T)

    @property
    def repeat(self) -> slice:
        """Rows with repeat purchases (x > 0)."""
        return slice(self.first_repeat, None)

    @classmethod
    def from_rows(cls, x: np.ndarray, t_x: np.ndarray, age: np.ndarray, weight: np.ndarray) -> SummaryArrays:
        """Compress rows (identical customers counted once, with their summed weight)."""
        first, inverse = distinct_rows(x, t_x, age)
        counts = np.bincount(inverse, weights=weight, minlength=first.size)
        keep = counts > 0
        ux, ut, uT, counts = x[first][keep], t_x[first][keep], age[first][keep], counts[keep]
        unique_x, x_index = np.unique(ux, return_inverse=True)
        unique_T, T_index = np.unique(uT, return_inverse=True)
        unique_t_x, t_x_index = np.unique(ut, return_inverse=True)
        return cls(ux, ut, uT, counts.astype(float), unique_x, x_index.ravel(), unique_T, T_index.ravel(),
                   unique_t_x, t_x_index.ravel(), int(np.searchsorted(ux, 0.5)))

    @classmethod
    def build(cls, frequency, recency, T) -> SummaryArrays:
        """Validate and compress a summary (identical customers are counted once, with a weight)."""
        x = np.asarray(frequency, dtype=float).ravel()
        t_x = np.asarray(recency, dtype=float).ravel()
        age = np.asarray(T, dtype=float).ravel()
        if not (x.size == t_x.size == age.size):
            raise DataError(f"frequency, recency and T differ in length ({x.size}, {t_x.size}, {age.size})")
        if x.size == 0:
            raise DataError("no customers to fit: the summary is empty")
        bad = ~np.isfinite(x) | ~np.isfinite(t_x) | ~np.isfinite(age) | (x < 0) | (x != np.round(x))
        bad |= (t_x < 0) | (t_x > age * (1 + 1e-9) + 1e-9)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"summary row {i}: frequency={x[i]}, recency={t_x[i]}, T={age[i]} is impossible "
                "(need a whole frequency >= 0 and 0 <= recency <= T)"
            )
        return cls.from_rows(x, t_x, age, np.ones(x.size))

    def sample(self, customers: int, rng: np.random.Generator) -> SummaryArrays:
        """A random sample of ``customers`` customers (without replacement), compressed again."""
        rows = np.repeat(np.arange(self.x.size), self.weight.astype(np.int64))
        chosen = rng.choice(rows, size=customers, replace=False)
        counts = np.bincount(chosen, minlength=self.x.size).astype(float)
        return SummaryArrays.from_rows(self.x, self.t_x, self.T, counts)

    def scaled(self, scale: float) -> SummaryArrays:
        """The same summary with times divided by ``scale``."""
        return SummaryArrays(self.x, self.t_x / scale, self.T / scale, self.weight, self.unique_x, self.x_index,
                             self.unique_T / scale, self.T_index, self.unique_t_x / scale, self.t_x_index,
                             self.first_repeat)


def _arrays(*values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in np.broadcast_arrays(*values)]


def beta_expectation(a: float, b: np.ndarray, function) -> np.ndarray:
    """E[function(p)] for p ~ Beta(a, b) by Gauss-Jacobi quadrature, one rule per distinct ``b``.

    ``function(p, index)`` gets nodes shaped (len(b), nodes) and must broadcast over them.
    """
    b = np.asarray(b, dtype=float)
    distinct, inverse = np.unique(b, return_inverse=True)
    nodes = np.empty((distinct.size, QUADRATURE_NODES))
    weights = np.empty_like(nodes)
    for i, value in enumerate(distinct):
        if value > 1e5:  # p is then concentrated at a / (a + b): the rule degenerates to that point
            nodes[i], weights[i] = a / (a + value), 1.0 / QUADRATURE_NODES
            continue
        xi, wi = roots_jacobi(QUADRATURE_NODES, value - 1.0, a - 1.0)
        nodes[i], weights[i] = (1.0 + xi) / 2.0, wi / wi.sum()
    return (weights[inverse] * function(nodes[inverse])).sum(axis=1)


class BTYDModel:
    """Shared fitting, validation and reporting for the purchase models."""

    name = ""
    label = ""
    param_names: tuple[str, ...] = ()
    time_params: tuple[str, ...] = ()  # parameters measured in time units (rescaled while fitting)
    citation = ""

    def __init__(self, *, n_starts: int = 4, random_state: int = 0) -> None:
        self.n_starts = n_starts
        self.random_state = random_state

    # --- to implement per model -----------------------------------------------------------------
    def _objective(self, log_params: np.ndarray, data: SummaryArrays) -> tuple[float, np.ndarray]:
        """Negative log-likelihood and its gradient in log-parameters."""
        raise NotImplementedError

    def _fixed_starts(self) -> list[list[float]]:
        raise NotImplementedError

    # --- fitting ------------------------------------------------------------------------------
    def fit(self, frequency, recency, T) -> BTYDModel:
        """Maximum-likelihood fit on a BTYD summary; sets params_, standard_errors_, loglik_."""
        data = SummaryArrays.build(frequency, recency, T)
        repeaters = int(data.weight[data.x > 0].sum())
        if repeaters < MIN_REPEAT_CUSTOMERS:
            raise DataError(
                f"{self.label} needs at least {MIN_REPEAT_CUSTOMERS} customers with repeat purchases; "
                f"{repeaters} of the {int(data.weight.sum()):,} customers bought on more than one day in the "
                "calibration period (use a longer calibration period or more data)"
            )
        scale = float(np.average(data.T, weights=data.weight)) or 1.0
        scaled = data.scaled(scale)
        rng = np.random.default_rng(self.random_state)
        starts = [np.log(np.asarray(s, float)) for s in self._fixed_starts()]
        while len(starts) < self.n_starts:
            starts.append(rng.normal(0.0, 1.0, len(self.param_names)))
        starts = starts[: max(self.n_starts, 1)]
        if data.weight.sum() > 4 * SEARCH_SAMPLE:
            # explore every start on a random sample, then polish the best optimum on everyone
            sample = data.sample(SEARCH_SAMPLE, rng).scaled(scale)
            search = maximise(lambda lp: self._objective(lp, sample), starts, model=self.label,
                              names=self.param_names, scale=scale)
            report = maximise(lambda lp: self._objective(lp, scaled), [search.log_params], model=self.label,
                              names=self.param_names, scale=scale)
            report.starts, report.starts_converged = search.starts, search.starts_converged
            report.messages = search.messages + report.messages
        else:
            report = maximise(lambda lp: self._objective(lp, scaled), starts, model=self.label,
                              names=self.param_names, scale=scale)
        errors, _ = hessian_errors(lambda lp: self._objective(lp, scaled), report.log_params)
        params = np.exp(report.log_params)
        for name in self.time_params:
            i = self.param_names.index(name)
            params[i] *= scale
            errors[i] *= scale
        self.params_ = dict(zip(self.param_names, params.tolist(), strict=True))
        self.standard_errors_ = dict(zip(self.param_names, errors.tolist(), strict=True))
        self.loglik_ = -self._objective(np.log(params), data)[0]
        self.n_customers_ = int(data.weight.sum())
        self.fit_report_: FitReport = report
        return self

    @property
    def params(self) -> np.ndarray:
        """Fitted parameters in ``param_names`` order (raises when not fitted)."""
        if not hasattr(self, "params_"):
            raise DataError(f"{self.label} is not fitted yet: call fit() first")
        return np.array([self.params_[name] for name in self.param_names])

    def with_params(self, **params: float) -> BTYDModel:
        """This model with given parameters (e.g. published ones), as if fitted."""
        missing = set(self.param_names) - set(params)
        if missing:
            raise DataError(f"{self.label}: missing parameter(s) {sorted(missing)}")
        self.params_ = {name: float(params[name]) for name in self.param_names}
        self.standard_errors_ = {name: float("nan") for name in self.param_names}
        return self

    def loglik(self, frequency, recency, T) -> float:
        """Log-likelihood of a summary under the fitted parameters."""
        data = SummaryArrays.build(frequency, recency, T)
        return -self._objective(np.log(self.params), data)[0]

    def expected_purchases_curve(self, times, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] for every t of ``times``: customers x len(times)."""
        x, t_x, age = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
        return np.column_stack([self.expected_purchases(t, x, t_x, age) for t in np.atleast_1d(times)])

    def at_limit(self) -> set[str]:
        """Parameters the optimiser ran to the limit of their range (the data cannot hold them back)."""
        report = getattr(self, "fit_report_", None)
        limited: set[str] = set()
        for message in report.messages if report is not None else []:
            if " reached the limit" in message:  # "b reached ...", "r, alpha reached ..."
                limited.update(message.split(" reached the limit")[0].split(", "))
        return limited

    def unidentified(self) -> dict[str, tuple[float, float]]:
        """Parameters the data do not pin down: name -> (estimate, standard error) where the standard error
        exceeds the estimate (its 95% interval spans zero to double it and more), cannot be computed from a
        fit (the likelihood is flat or not a maximum in that direction: groceries' Pareto/NBD beta), or the
        optimiser ran to the parameter's range limit (a degenerate fit: e.g. groceries' BG/NBD r = 1,458,
        std. error 16,713). Hand-set parameters (:meth:`with_params`) have no errors and are not judged."""
        fitted = getattr(self, "fit_report_", None) is not None
        limited = self.at_limit()
        errors = self.standard_errors_ or {}
        loose = {}
        for name, value in self.params_.items():
            error = float(errors.get(name, float("nan")))
            if name in limited or (math.isfinite(error) and error > abs(value)) or (fitted and not math.isfinite(error)):
                loose[name] = (float(value), error)
        return loose

    def describe(self) -> dict:
        """Parameters, standard errors, log-likelihood and fit diagnostics as plain data."""
        report = getattr(self, "fit_report_", None)
        return {
            "model": self.name,
            "label": self.label,
            "citation": self.citation,
            "params": self.params_,
            "standard_errors": self.standard_errors_,
            "loglik": getattr(self, "loglik_", None),
            "n_customers": getattr(self, "n_customers_", None),
            "starts": None if report is None else report.starts,
            "starts_converged": None if report is None else report.starts_converged,
            "warnings": [] if report is None else [m for m in report.messages if "limit" in m],
        }


class BGNBD(BTYDModel):
    """BG/NBD (Fader, Hardie & Lee 2005): Poisson purchases while alive; after each repeat purchase the
    customer drops out with probability p. lambda ~ Gamma(r, alpha), p ~ Beta(a, b)."""

    name = "bgnbd"
    label = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")
    time_params = ("alpha",)
    citation = "Fader, Hardie & Lee (2005), Marketing Science 24(2):275-284"
    _shift = 0  # MBG/NBD: 1 (a dropout chance also after the first purchase)

    def _fixed_starts(self) -> list[list[float]]:
        return [[1.0, 1.0, 1.0, 1.0], [0.3, 0.2, 0.8, 2.5], [2.0, 5.0, 0.5, 5.0]]

    def _odds(self, theta, x, t_x, T):
        """log of (second likelihood term / first), -inf where the second term is absent."""
        r, alpha, a, b = theta
        present = x > 0 if self._shift == 0 else np.ones(np.shape(x), bool)
        denominator = np.where(present, b + x + self._shift - 1.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            odds = np.log(a) - np.log(denominator) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return np.where(present, odds, -np.inf), denominator

    def _objective(self, log_params, data):
        r, alpha, a, b = np.exp(log_params)
        k = self._shift
        ux, wx, uT = data.unique_x, data.weight_x, data.unique_T
        customers = wx.sum()
        # first likelihood term: summed per distinct frequency and per distinct age
        per_x = gammaln(r + ux) - gammaln(r) + gammaln(b + ux + k) - gammaln(a + b + ux + k)
        per_x += gammaln(a + b) - gammaln(b)
        log_aT = np.log(alpha + uT)
        inv_aT = 1.0 / (alpha + uT)
        rate_weight = r * data.weight_T + data.weight_xT  # sum of w (r + x) per distinct T
        ll = wx @ per_x + customers * r * np.log(alpha) - rate_weight @ log_aT
        g_r = wx @ (psi(r + ux) - psi(r)) + customers * np.log(alpha) - data.weight_T @ log_aT
        g_alpha = customers * r / alpha - rate_weight @ inv_aT
        g_a = wx @ (psi(a + b) - psi(a + b + ux + k))
        g_b = wx @ (psi(b + ux + k) - psi(a + b + ux + k) + psi(a + b) - psi(b))
        # the second term, only where it exists (x > 0 for BG/NBD): log(1 + e^odds), odds per row
        two = slice(None) if k else data.repeat
        xs, ws, x_i = data.x[two], data.weight[two], data.x_index[two]
        T_i, t_i = data.T_index[two], data.t_x_index[two]
        inv_den = 1.0 / (b + ux + k - 1.0)
        gap = log_aT[T_i] - np.log(alpha + data.unique_t_x)[t_i]
        odds = np.log(a) + np.log(inv_den)[x_i] + (r + xs) * gap
        small = np.exp(-np.abs(odds))
        ll += ws @ (np.maximum(odds, 0.0) + np.log1p(small))
        share = ws * np.where(odds > 0, 1.0, small) / (1.0 + small)  # weighted share of the second term
        g_r += share @ gap
        g_alpha += share @ ((r + xs) * (inv_aT[T_i] - (1.0 / (alpha + data.unique_t_x))[t_i]))
        g_a += share.sum() / a
        g_b -= share @ inv_den[x_i]
        grad = np.array([g_r * r, g_alpha * alpha, g_a * a, g_b * b])
        return -float(ll), -grad

    # --- scoring --------------------------------------------------------------------------------
    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(alive at T | x, t_x, T): eq. (8) of Fader, Hardie & Lee (2005); 1 for x = 0 under BG/NBD."""
        x, t_x, age = _arrays(frequency, recency, T)
        odds, _ = self._odds(self.params, x, t_x, age)
        return expit(-odds)

    def _future(self, t, x, age) -> np.ndarray:
        """E[purchases in (T, T + t] | alive at T] = E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p], p ~ Beta(a, b+x+k)."""
        r, alpha, a, b = self.params
        kappa = t / (alpha + age)
        x, kappa = np.broadcast_arrays(np.asarray(x, float).ravel(), np.asarray(kappa, float).ravel())
        first, inverse = distinct_rows(x, kappa)
        ux, uk = x[first], kappa[first]

        def given_p(p: np.ndarray) -> np.ndarray:
            return -np.expm1(-(r + ux[:, None]) * np.log1p(p * uk[:, None])) / p

        return beta_expectation(a, b + ux + self._shift, given_p)[inverse]

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units (eq. 10)."""
        t, x, t_x, age = _arrays(t, frequency, recency, T)
        shape = x.shape
        future = self._future(t.ravel(), x.ravel(), age.ravel()).reshape(shape)
        return self.p_alive(x, t_x, age) * future

    def expected_purchases_curve(self, times, frequency, recency, T) -> np.ndarray:
        """E[Y(t) | x, t_x, T] for every t of ``times`` (customers x len(times)): P(alive) and the distinct
        (x, T) pairs are computed once, the quadrature once per pair and time."""
        x, t_x, age = (np.asarray(v, dtype=float).ravel() for v in (frequency, recency, T))
        first, inverse = distinct_rows(x, age)
        times = np.atleast_1d(np.asarray(times, dtype=float))
        ux = np.repeat(x[first], times.size)
        ut = np.repeat(age[first], times.size)
        future = self._future(np.tile(times, first.size), ux, ut).reshape(first.size, times.size)
        return self.p_alive(x, t_x, age)[:, None] * future[inverse]

    def expected_purchases_population(self, t) -> np.ndarray:
        """E[X(t)]: expected repeat purchases of a new customer in ``t`` time units (eq. 7)."""
        r, alpha, a, b = self.params
        t = np.atleast_1d(np.asarray(t, dtype=float))

        def given_p(p: np.ndarray) -> np.ndarray:
            return -np.expm1(-r * np.log1p(p * (t[:, None] / alpha))) / p

        # MBG/NBD: the customer is still there after the first purchase with probability 1 - p
        factor = b / (a + b) if self._shift else 1.0
        return factor * beta_expectation(a, np.full(t.size, b + self._shift), given_p)

    def p_repurchase(self, t, frequency, recency, T) -> np.ndarray:
        """P(at least one purchase in the next ``t`` | x, t_x, T) = P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x))."""
        t, x, t_x, age = _arrays(t, frequency, recency, T)
        r, alpha = self.params[:2]
        return self.p_alive(x, t_x, age) * -np.expm1(-(r + x) * np.log1p(t / (alpha + age)))


class MBGNBD(BGNBD):
    """MBG/NBD (Batislam et al. 2007): as BG/NBD, but a customer may drop out right after the first
    purchase too, so P(alive) < 1 also for customers with no repeat purchase."""

    name = "mbgnbd"
    label = "MBG/NBD"
    citation = "Batislam, Denizel & Filiztekin (2007), IJRM 24(3):201-209"
    _shift = 1
