"""Gamma-Gamma made to fail, as on a basket log's item counts, for the tests of what shows without a CLV."""

from __future__ import annotations

from pathlib import Path

from segmint.datasets import make_transactions


def without_spend_model(monkeypatch, folder: Path) -> Path:
    """Make every Gamma-Gamma fit fail; the demo sales file (300 customers, 2 years) to value."""
    from segmint.btyd import analysis
    from segmint.btyd.fitting import ConvergenceError

    def fail(self, *args, **kwargs):
        raise ConvergenceError("Gamma-Gamma: the likelihood maximisation did not converge")

    monkeypatch.setattr(analysis.GammaGamma, "fit", fail)
    path = folder / "sales.csv"
    make_transactions(n_customers=300, years=2, seed=3).to_csv(path, index=False)
    return path
