"""Maximum-likelihood machinery shared by the BTYD models: several starts, bounds, Hessian errors.

Parameters are fitted on the log scale (all are positive), with times rescaled so the typical T is
about 1 (the fit is then the same in days, weeks or months, up to the scale of alpha and beta).
Each start runs L-BFGS-B; the best optimum wins, and the fit fails with ``ConvergenceError`` when no
start converges. Standard errors come from the inverse Hessian of the negative log-likelihood at the
optimum (numerical differences of the gradient), transformed from log to natural parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from segmint.errors import SegmintError

log = logging.getLogger(__name__)

LOG_BOUND = 12.0  # parameters stay within exp(+-12) (after time rescaling)

__all__ = ["ConvergenceError", "FitReport", "maximise", "numerical_gradient", "one_blas_thread"]


def one_blas_thread() -> threadpool_limits:
    """BLAS on one thread while BTYD models are fitted and scored.

    Their dot products are over a few thousand distinct summary rows: OpenBLAS' threads only add
    hand-offs (and spin against other work on the machine: ``segmint clv`` of CDNOW took 13.8-14.6 CPU s
    with the default threads, 4.5-4.8 on one), and a thread count that varies by machine changed
    the order of the sums, so the fitted parameters' last digits (and a few exported cents) too.
    """
    return threadpool_limits(1, user_api="blas")


class ConvergenceError(SegmintError):
    """A model could not be fitted: no start reached a maximum of the likelihood."""


@dataclass
class FitReport:
    """Outcome of one maximisation (log-parameters, negative log-likelihood, diagnostics)."""

    log_params: np.ndarray
    neg_loglik: float
    converged: bool
    starts: int
    starts_converged: int
    iterations: int
    messages: list[str] = field(default_factory=list)


def numerical_gradient(function: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central-difference gradient of ``function`` at ``x``."""
    grad = np.empty_like(x)
    for i in range(x.size):
        shift = np.zeros_like(x)
        shift[i] = step
        grad[i] = (function(x + shift) - function(x - shift)) / (2 * step)
    return grad


def maximise(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    starts: list[np.ndarray],
    *,
    model: str,
    names: tuple[str, ...],
    scale: float,
) -> FitReport:
    """Minimise ``objective`` (negative log-likelihood and gradient in log-parameters) from each start."""
    best = None
    converged = 0
    iterations = 0
    messages: list[str] = []
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)

    def safe(x: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, grad = objective(x)
        if not np.isfinite(value) or not np.all(np.isfinite(grad)):
            return 1e300, np.zeros_like(x)
        return value, grad

    for start in starts:
        with one_blas_thread():
            result = minimize(safe, start, jac=True, method="L-BFGS-B", bounds=bounds,
                              options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-7})
        iterations += int(result.nit)
        # a line search that fails on a flat ridge running to the range limit (groceries' BG/NBD: r -> e^12)
        # stopped at the best point it can reach: kept, and the limit reported below
        finite = result.fun < 1e299
        converged += bool(result.success) and finite
        ok = (bool(result.success) or _at_limit(result.x)) and finite
        if not (result.success and finite):
            messages.append(f"start {np.round(np.exp(start), 3).tolist()}: {result.message}")
        if ok and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        log.info("%s did not converge: %s", model, "; ".join(messages))  # the optimiser's words ("ABNORMAL: ")
        raise ConvergenceError(
            f"{model}: the likelihood maximisation did not converge from any of {len(starts)} starting "
            "points. The data may not fit this model: try another model, a longer calibration period, or "
            "check that customers have repeat purchases"
        )
    report = FitReport(best.x, float(best.fun), True, len(starts), converged, iterations, messages)
    at_bound = [names[i] for i in range(len(names)) if _at_limit(best.x[i : i + 1])]
    if at_bound:
        report.messages.append(
            f"{', '.join(at_bound)} reached the limit of its range ({model} cannot pin it down on these "
            "data: e.g. almost nobody drops out, or purchase rates barely differ)"
        )
    log.info("%s fitted: %d/%d starts converged, %d iterations (time scale %.4g)",
             model, converged, len(starts), iterations, scale)
    return report


def _at_limit(log_params: np.ndarray) -> bool:
    """Whether a log-parameter is within 1 of the range limit (the optimiser ran it out of the data's reach)."""
    return bool(np.any(np.abs(log_params) > LOG_BOUND - 1.0))


def hessian_errors(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], log_params: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(standard errors of the natural parameters, covariance of the log-parameters) from the Hessian."""
    with one_blas_thread():
        return _hessian_errors(objective, log_params)


def _hessian_errors(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]], log_params: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    k = log_params.size
    hessian = np.empty((k, k))
    for i in range(k):
        step = 1e-4 * max(1.0, abs(log_params[i]))
        shift = np.zeros(k)
        shift[i] = step
        hessian[i] = (objective(log_params + shift)[1] - objective(log_params - shift)[1]) / (2 * step)
    hessian = (hessian + hessian.T) / 2
    try:
        cov_log = np.linalg.inv(hessian)
    except np.linalg.LinAlgError:
        return np.full(k, np.nan), np.full((k, k), np.nan)
    variances = np.diag(cov_log)
    theta = np.exp(log_params)
    with np.errstate(invalid="ignore"):
        errors = np.where(variances > 0, theta * np.sqrt(np.abs(variances)), np.nan)
    return errors, cov_log
