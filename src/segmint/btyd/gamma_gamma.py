"""Gamma-Gamma model of spend per transaction (Fader & Hardie 2013, "The Gamma-Gamma Model of
Monetary Value"; Colombo & Jiang 1999).

A customer's spends are Gamma(p, nu) with nu ~ Gamma(q, v) across customers; fitted on customers
with at least one repeat purchase, from their number of repeat purchases x and mean repeat spend m_x
(FH13 eq. 1). It assumes spend is independent of purchase frequency: ``independence_check`` reports
the correlation between the two, as FH13 section 3 does (0.11 on CDNOW).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, psi

from segmint.btyd.fitting import FitReport, hessian_errors, maximise
from segmint.btyd.models import distinct_rows
from segmint.errors import DataError

__all__ = ["GammaGamma", "INDEPENDENCE_LIMIT"]

INDEPENDENCE_LIMIT = 0.3  # |Pearson r| above this: spend moves with frequency; the model's premise fails


class GammaGamma:
    """Gamma-Gamma spend model: ``fit(frequency, monetary_value)``, then ``expected_value(...)``."""

    name = "gamma_gamma"
    label = "Gamma-Gamma"
    param_names = ("p", "q", "v")
    citation = "Fader & Hardie (2013), The Gamma-Gamma Model of Monetary Value"

    def __init__(self, *, n_starts: int = 3, random_state: int = 0) -> None:
        self.n_starts = n_starts
        self.random_state = random_state

    @staticmethod
    def _usable(frequency, monetary_value) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary_value, dtype=float)
        keep = (x > 0) & np.isfinite(m) & (m > 0)
        return x[keep], m[keep]

    @staticmethod
    def _constants(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> dict:
        """The parts of the likelihood that do not depend on the parameters (computed once per fit)."""
        ux, idx = np.unique(x, return_inverse=True)
        wx = w * x
        return {"x": x, "m": m, "w": w, "wx": wx, "ux": ux, "weight_x": np.bincount(idx.ravel(), weights=w),
                "customers": w.sum(), "wx_log_m": wx @ np.log(m), "w_log_m": w @ np.log(m),
                "wx_log_x": wx @ np.log(x)}

    def _objective(self, log_params: np.ndarray, c: dict):
        """Negative log-likelihood (FH13 eq. 1 summed) and its gradient in log-parameters."""
        p, q, v = np.exp(log_params)
        ux, weight_x, customers = c["ux"], c["weight_x"], c["customers"]
        log_total = np.log(c["x"] * c["m"] + v)
        wx_log_total, w_log_total = c["wx"] @ log_total, c["w"] @ log_total
        pux = p * ux
        ll = (weight_x @ (gammaln(pux + q) - gammaln(pux) - gammaln(q)) + customers * q * np.log(v)
              + p * c["wx_log_m"] - c["w_log_m"] + p * c["wx_log_x"] - p * wx_log_total - q * w_log_total)
        d_p = (weight_x @ (ux * (psi(pux + q) - psi(pux))) + c["wx_log_m"] + c["wx_log_x"] - wx_log_total)
        d_q = weight_x @ (psi(pux + q) - psi(q)) + customers * np.log(v) - w_log_total
        d_v = customers * q / v - ((p * c["wx"] + q * c["w"]) @ (1.0 / (c["x"] * c["m"] + v)))
        return -float(ll), -np.array([d_p * p, d_q * q, d_v * v])

    def fit(self, frequency, monetary_value) -> GammaGamma:
        """Fit on customers with frequency > 0 and a positive mean repeat spend (others are left out)."""
        x, m = self._usable(frequency, monetary_value)
        if x.size < 3:
            raise DataError(
                f"Gamma-Gamma needs customers with repeat purchases of positive value; found {x.size}"
            )
        first, inverse = distinct_rows(x, m)
        ux, um, w = x[first], m[first], np.bincount(inverse, minlength=first.size).astype(float)
        scale = float(np.average(um, weights=w))  # spends ~ 1 while fitting
        scaled = um / scale
        mean, var = np.average(scaled, weights=w), np.average((scaled - np.average(scaled, weights=w)) ** 2, weights=w)
        rng = np.random.default_rng(self.random_state)
        starts = [np.log([1.0, 2.0, 1.0]), np.log([max(mean**2 / max(var, 1e-9), 0.1), 3.0, 2.0])]
        while len(starts) < self.n_starts:
            starts.append(rng.normal(0.0, 1.0, 3))
        constants = self._constants(ux, scaled, w)
        objective = lambda lp: self._objective(lp, constants)  # noqa: E731
        report = maximise(objective, starts, model=self.label, names=self.param_names, scale=scale)
        errors, _ = hessian_errors(objective, report.log_params)
        p, q, v = np.exp(report.log_params)
        self.params_ = {"p": float(p), "q": float(q), "v": float(v * scale)}
        self.standard_errors_ = {"p": float(errors[0]), "q": float(errors[1]), "v": float(errors[2] * scale)}
        self.loglik_ = -self._objective(np.log([p, q, v * scale]), self._constants(ux, um, w))[0]
        self.n_customers_ = int(w.sum())
        self.fit_report_: FitReport = report
        self.independence_ = self.independence_check(frequency, monetary_value)
        return self

    def with_params(self, p: float, q: float, v: float) -> GammaGamma:
        """This model with given (e.g. published) parameters."""
        self.params_ = {"p": float(p), "q": float(q), "v": float(v)}
        self.standard_errors_ = {name: float("nan") for name in self.param_names}
        return self

    @staticmethod
    def independence_check(frequency, monetary_value) -> dict:
        """Correlation of repeat frequency and mean repeat spend (FH13 section 3), with a verdict."""
        x, m = GammaGamma._usable(frequency, monetary_value)
        if x.size < 3 or np.ptp(x) == 0 or np.ptp(m) == 0:
            return {"pearson": None, "spearman": None, "n": int(x.size), "independent": None,
                    "note": "too few repeat customers to check"}
        # the coefficients only (no p-values): importing scipy.stats for them took 2.4 s of the Value page's first load
        pearson = _pearson(x, m)
        spearman = _pearson(_average_ranks(x), _average_ranks(m))
        independent = abs(pearson) <= INDEPENDENCE_LIMIT
        note = (
            f"spend and frequency are nearly uncorrelated (|r| <= {INDEPENDENCE_LIMIT}): the model applies"
            if independent else
            f"spend moves with frequency (|r| > {INDEPENDENCE_LIMIT}): Gamma-Gamma values are biased"
        )
        return {"pearson": pearson, "spearman": spearman, "n": int(x.size), "independent": independent,
                "note": note}

    def expected_value(self, frequency, monetary_value) -> np.ndarray:
        """E[M | x, m_x] = p (v + x m_x) / (p x + q - 1) (FH13 eq. 5); the mean p v / (q - 1) when x = 0.

        A mean repeat spend below zero (returns) counts as 0 spend on those purchases.
        """
        p, q, v = (self.params_[name] for name in self.param_names)
        x = np.asarray(frequency, dtype=float)
        m = np.nan_to_num(np.asarray(monetary_value, dtype=float), nan=0.0)
        m = np.where(x > 0, np.maximum(m, 0.0), 0.0)
        if q <= 1:
            raise DataError(
                f"Gamma-Gamma q = {q:.3g} <= 1: the population mean spend is infinite on these data "
                "(a few enormous spends dominate); expected values cannot be computed"
            )
        return p * (v + x * m) / (p * x + q - 1.0)

    def describe(self) -> dict:
        """Parameters, standard errors, log-likelihood and the independence check as plain data."""
        return {
            "model": self.name,
            "citation": self.citation,
            "params": self.params_,
            "standard_errors": self.standard_errors_,
            "loglik": getattr(self, "loglik_", None),
            "n_customers": getattr(self, "n_customers_", None),
            "independence": getattr(self, "independence_", None),
        }


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r, computed as scipy.stats.pearsonr does (centred, each scaled by its largest value
    before the norm, then the dot product), so the value is the same to the last digit."""
    xm, ym = x - x.mean(), y - y.mean()
    xmax, ymax = np.abs(xm).max(), np.abs(ym).max()
    xnorm, ynorm = xmax * np.linalg.norm(xm / xmax), ymax * np.linalg.norm(ym / ymax)
    return float(np.clip(np.sum((xm / xnorm) * (ym / ynorm)), -1.0, 1.0))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their mean rank (scipy.stats.rankdata's "average"), for Spearman's rho."""
    order = np.argsort(values, kind="mergesort")
    where = np.empty(order.size, dtype=np.intp)
    where[order] = np.arange(order.size)
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = starts.cumsum()[where]
    bounds = np.r_[np.nonzero(starts)[0], starts.size]
    return 0.5 * (bounds[dense] + bounds[dense - 1] + 1)
