"""A degenerate fit (parameters the data do not pin down) is said so, loudly, and ranks no customer.

Customers who all buy at one Poisson rate and never drop out leave BG/NBD's heterogeneity unidentified:
r and alpha run off together (r / alpha = the common rate), and a / (a + b) to the common drop-out chance
-- what the groceries log does (r = 1,458, standard error 16,713). On the CDNOW sample the published fit's
standard errors are small (r = 0.243 +- 0.0125, Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.btyd.models import BGNBD

SAMPLE = Path(__file__).parents[2] / ".." / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"


def homogeneous_lines(n: int = 600, weeks: int = 104, rate: float = 0.25, seed: int = 7) -> pd.DataFrame:
    """Purchase lines of ``n`` customers who all buy at ``rate`` per week from day 0 for ``weeks`` weeks."""
    rng = np.random.default_rng(seed)
    start = dt.date(2022, 1, 3)
    rows = []
    for customer in range(n):
        days = np.unique(rng.uniform(0, weeks * 7, max(rng.poisson(rate * weeks), 1)).astype(int))
        rows += [(f"c{customer}", start + dt.timedelta(days=int(day)), 10.0 + customer % 7) for day in days]
    return pd.DataFrame(rows, columns=["customer", "date", "amount"])


def test_homogeneous_buyers_leave_bgnbd_unidentified():
    lines = homogeneous_lines()
    per_customer = lines.groupby("customer")["date"].agg(["min", "max", "nunique"])
    end = lines["date"].max()
    frequency = per_customer["nunique"] - 1
    recency = (pd.to_datetime(per_customer["max"]) - pd.to_datetime(per_customer["min"])).dt.days / 7
    age = (pd.Timestamp(end) - pd.to_datetime(per_customer["min"])).dt.days / 7
    model = BGNBD().fit(frequency, recency, age)
    loose = model.unidentified()
    assert "r" in loose  # r's standard error exceeds r (or r ran to its range limit)
    value, error = loose["r"]
    assert value > 100 and (error != error or error > value)
    # the common rate survives: r / alpha = purchases per week, 0.25 by construction
    assert model.params_["r"] / model.params_["alpha"] == pytest.approx(0.25, rel=0.1)


def test_hand_set_parameters_are_not_called_degenerate():
    assert BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426).unidentified() == {}


@pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared/data/cdnow is not present")
def test_the_published_cdnow_fit_is_identified():
    from tests.btyd.test_published import reference_summary

    summary = reference_summary()
    model = BGNBD().fit(summary.frequency, summary.recency, summary["T"])
    assert model.unidentified() == {}
    assert model.standard_errors_["r"] < 0.05 * 1 and model.params_["r"] == pytest.approx(0.243, abs=1e-3)


@pytest.fixture(scope="module")
def homogeneous_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("flat") / "flat.csv"
    homogeneous_lines().to_csv(path, index=False)
    return path


def test_cli_warns_and_ranks_no_customer(homogeneous_csv, tmp_path):
    from segmint.cli import app

    run = CliRunner().invoke(app, ["clv", str(homogeneous_csv), "--no-compare", "--out", str(tmp_path)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert "warning: the BG/NBD fit is degenerate: r = " in text
    assert "Do not rank or target customers by P(alive)" in text
    assert "top customers by predicted value: not shown" in text and "top 10 customers" not in text
    import json

    model = json.loads((tmp_path / "clv_model.json").read_text())
    assert model["fit"]["degenerate"].startswith("the BG/NBD fit is degenerate")


def test_value_page_warns_first_and_shows_no_ranking(homogeneous_csv):
    from segmint.api import read_transactions
    from segmint.app.pages import value
    from segmint.app.state import AppState
    from tests.app.conftest import inputs

    state = AppState()
    state.add_dataset(read_transactions(str(homogeneous_csv), con=ibis.duckdb.connect()), "flat")
    try:
        out = value.value_content(state, "bgnbd", "week", 12, 10, None, *inputs(state))
        top, notes = out[6], out[8]
        assert notes[0].color == "danger" and "fit is degenerate" in str(notes[0].children)
        assert "No ranking of customers" in str(top.children)
        segments = out[5]  # no bars of a value the warning says not to use, and no legend over nothing
        assert segments.data == () and "fit is degenerate" in segments.layout.annotations[0].text
    finally:
        state.close()


def staggered_summary(n: int = 1000, weeks: float = 104.0, rate: float = 0.04, seed: int = 3):
    """BTYD summary (x, t_x, T in weeks) of ``n`` customers who all buy at ``rate`` per week and never drop out,
    their first purchases spread over the first year (groceries' shape: one rate, no drop-out, a short log)."""
    rng = np.random.default_rng(seed)
    x, recency, age = [], [], []
    for _ in range(n):
        first = rng.uniform(0, 52)
        times = np.cumsum(rng.exponential(1 / rate, 60))
        times = times[times < weeks - first]
        x.append(len(times))
        recency.append(float(times[-1]) if len(times) else 0.0)
        age.append(weeks - first)
    return np.array(x, float), np.array(recency), np.array(age)


def test_pareto_nbd_without_standard_errors_is_degenerate():
    # One purchase rate, nobody drops out: Pareto/NBD runs its Gamma shape r off to thousands (no heterogeneity)
    # and its Hessian gives r, alpha and s no standard error: not a maximum the data pin down; its forecasts lie
    # within 2% of one another. The old rule judged only finite standard errors, so this fit passed as sound.
    from segmint.btyd.analysis import degenerate_fit
    from segmint.btyd.pareto import ParetoNBD

    x, recency, age = staggered_summary()
    model = ParetoNBD().fit(x, recency, age)
    loose = model.unidentified()
    assert {"r", "alpha"} <= set(loose) and all(error != error for _, error in loose.values())
    assert model.params_["r"] > 1000 and model.params_["r"] / model.params_["alpha"] == pytest.approx(0.04, rel=0.1)
    expected = pd.Series(model.expected_purchases(52, x, recency, age))
    assert expected.quantile(0.95) - expected.quantile(0.05) < 0.1 * expected.median()
    text = degenerate_fit(model, expected, "52 weeks")
    assert text.startswith("the Pareto/NBD fit is degenerate: r = ")
    assert "(no standard error: the likelihood is flat there)" in text
    assert "so the forecasts are close to one average for everyone" in text and "Do not rank" in text


def test_forecasts_that_do_not_vary_are_degenerate():
    # groceries' Pareto/NBD: 90% of customers between 1.79 and 1.85 purchases, whatever they bought
    from segmint.btyd.analysis import degenerate_fit

    model = BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426)  # no loose parameter
    flat = pd.Series(np.linspace(1.79, 1.85, 101))
    text = degenerate_fit(model, flat, "52 weeks")
    assert text == ("the BG/NBD fit is degenerate: its forecasts do not vary: they are close to one average for "
                    "everyone (90% of customers between 1.79 and 1.85 purchases in 52 weeks). Do not rank or target "
                    "customers by P(alive), expected purchases or CLV from this fit; use recency and frequency (the "
                    "RFM segments) instead")
    # 0.5 to 3 purchases (CDNOW-like spread): a ranking
    assert degenerate_fit(model, pd.Series(np.linspace(0.5, 3.0, 101)), "52 weeks") is None


def test_a_line_search_stopped_at_the_range_limit_is_kept_and_reported(monkeypatch):
    # groceries' BG/NBD: every start ends 'ABNORMAL' (the line search fails on the flat ridge) with r at e^12;
    # the fit used to be an error ('did not converge'), now it is kept and said to be at the limit
    from scipy.optimize import OptimizeResult

    from segmint.btyd import fitting

    def stopped(function, start, **options):
        x = np.array([11.98, 0.5]) if start[0] > 0 else np.array([0.3, 0.5])
        return OptimizeResult(x=x, fun=-484.8, success=False, message="ABNORMAL: ", nit=50)

    monkeypatch.setattr(fitting, "minimize", stopped)
    report = fitting.maximise(lambda x: (0.0, np.zeros(2)), [np.array([1.0, 0.0])], model="BG/NBD",
                              names=("r", "a"), scale=1.0)  # fmt: skip
    assert report.starts_converged == 0 and list(report.log_params) == [11.98, 0.5]
    assert report.messages[-1].startswith("r reached the limit of its range")
    with pytest.raises(fitting.ConvergenceError):  # stopped short of the limit: no fit
        fitting.maximise(lambda x: (0.0, np.zeros(2)), [np.array([-1.0, 0.0])], model="BG/NBD",
                         names=("r", "a"), scale=1.0)  # fmt: skip


def test_the_model_comparison_marks_degenerate_fits(homogeneous_csv, tmp_path):
    # every BTYD model is degenerate on buyers of one rate who never drop out: the comparison says so per model
    from segmint.cli import app

    run = CliRunner().invoke(app, ["clv", str(homogeneous_csv), "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    models = pd.read_csv(tmp_path / "clv_models.csv").set_index("model")
    assert models["degenerate"].to_dict() == {"bgnbd": True, "pnbd": True, "mbgnbd": True}
    assert "BG/NBD (degenerate)" in run.output and "Pareto/NBD (degenerate)" in run.output
