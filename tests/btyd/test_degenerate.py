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
    finally:
        state.close()
