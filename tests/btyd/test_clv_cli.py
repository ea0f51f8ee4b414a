"""`segmint clv` on the real CDNOW sample: published parameters in clv_model.json, forecasts in clv.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.btyd.models import BGNBD
from segmint.cli import app

SAMPLE = Path(__file__).parents[2] / ".." / "shared" / "data" / "cdnow" / "CDNOW_sample.txt"
pytestmark = pytest.mark.skipif(not SAMPLE.is_file(), reason="../shared/data/cdnow is not present")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clv")
    args = ["clv", str(SAMPLE), "--calibration-end", "1997-09-30", "--time-unit", "week", "--horizon", "39",
            "--discount", "1%/month", "--out", str(out), "--customer", "00004"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return result.output, out


def test_model_json_has_the_published_parameters(run):
    _, out = run
    info = json.loads((out / "clv_model.json").read_text())
    assert info["model"] == "bgnbd" and info["time_unit"] == "week"
    assert list(info["params"]) == ["r", "alpha", "a", "b"]
    assert [round(info["params"][k], 3) for k in ("r", "alpha", "a", "b")] == [0.243, 4.414, 0.793, 2.426]
    assert info["loglik"] == pytest.approx(-9582.4, abs=0.05)
    assert set(info["standard_errors"]) == {"r", "alpha", "a", "b"}
    assert [round(info["gamma_gamma"][k], 2) for k in ("p", "q", "v")] == [6.25, 3.74, 15.44]
    assert info["discount"]["per_week"] == pytest.approx(1.01 ** (7 / (365.25 / 12)) - 1)
    assert "weeks" in info["columns"]["recency"]


def test_every_customer_forecast_equals_the_closed_forms(run):
    _, out = run
    info = json.loads((out / "clv_model.json").read_text())
    table = pd.read_csv(out / "clv.csv", dtype={"customer_id": str})
    assert list(table.columns[:8]) == ["customer_id", "frequency", "recency", "T", "p_alive",
                                       "expected_purchases", "expected_avg_value", "clv"]
    # 8 of the 2,357 customers bought only free ($0) orders by 1997-09-30 (counted from the raw file): in the
    # fit, not valued
    assert len(table) == 2357 - 8 and (table.time_unit == "week").all()
    r, alpha, a, b = (info["params"][k] for k in ("r", "alpha", "a", "b"))
    # recency and T in weeks from the dates (exports round them to 4 places)
    first, last = pd.to_datetime(table.first_purchase), pd.to_datetime(table.last_purchase)
    end = pd.Timestamp(info["calibration"]["end"])
    x, t_x, T = table.frequency.to_numpy(float), ((last - first).dt.days / 7).to_numpy(), ((end - first).dt.days / 7).to_numpy()
    assert (table.recency == t_x.round(4)).all() and (table["T"] == T.round(4)).all()
    odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-12) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    # exports write probabilities and expected purchases to 4 places: equal to that rounding
    np.testing.assert_allclose(table.p_alive, 1 / (1 + odds), rtol=0, atol=0.5e-4 + 1e-9)
    reference = BGNBD().with_params(r=r, alpha=alpha, a=a, b=b)
    expected = reference.expected_purchases(39.0, x, t_x, T)
    np.testing.assert_allclose(table.expected_purchases, expected, rtol=0, atol=0.5e-4 + 1e-9)
    p, q, v = (info["gamma_gamma"][k] for k in ("p", "q", "v"))
    m = table.monetary_value.fillna(0).to_numpy()
    value = p * (v + x * m) / (p * x + q - 1)
    np.testing.assert_allclose(table.expected_avg_value, value, atol=0.006)  # money to the cent
    assert (table.value_rank == table.clv.rank(ascending=False, method="min").astype(int)).all()
    # the holdout check: customer 00004 of FHL 2005 (x=2, t_x=30.43, T=38.86) expects 1.226 in 39 weeks
    row = table.set_index("customer_id").loc["00004"]
    assert row.predicted_holdout_purchases == pytest.approx(1.226, abs=1e-3)


def test_holdout_tables_and_output(run):
    output, out = run
    by_frequency = pd.read_csv(out / "clv_holdout_by_frequency.csv", dtype={"frequency": str})
    assert by_frequency.frequency.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert by_frequency.customers.sum() == 2357
    tracking = pd.read_csv(out / "clv_tracking.csv")
    assert len(tracking) == 78 and tracking.in_holdout.sum() == 39
    models = pd.read_csv(out / "clv_models.csv")
    assert set(models.model) == {"bgnbd", "pnbd", "mbgnbd"}
    assert "week" in output and "Champions" in output and "customer 00004" in output


def test_the_holdout_means_are_exported_as_printed(run):
    """clv_holdout_by_frequency.csv wrote the group means to 2 places (0.25) while the screen showed 3
    (0.251): both now 3, every row with its 3 decimals."""
    output, out = run
    lines = (out / "clv_holdout_by_frequency.csv").read_text().splitlines()
    assert lines[0] == "frequency,customers,actual_mean,predicted_mean"
    for line in lines[1:]:
        group, customers, actual, predicted = line.split(",")
        assert len(actual.split(".")[1]) == 3 and len(predicted.split(".")[1]) == 3, line
        shown = [row for row in output.splitlines() if row.startswith(f"│ {group} ") and f" {int(customers):,} " in row]
        assert len(shown) == 1 and f" {actual} " in shown[0] and f" {predicted} " in shown[0], (line, shown)


def test_churn_risk_band_claims_hold_on_the_holdout(run):
    """'high churn risk' must mean fewer come back: the share who bought in the 39-week holdout falls
    with the band, and the predicted probability of buying matches what happened within 0.1."""
    _, out = run
    table = pd.read_csv(out / "clv.csv", dtype={"customer_id": str})
    came_back = table.assign(bought=table.holdout_frequency > 0).groupby("churn_risk")
    share = came_back.bought.mean()
    assert share["high"] < share["medium"] < share["low"]
    predicted = came_back.p_repurchase.mean()
    assert (abs(predicted - share) < 0.1).all()


def test_one_time_buyers_alive_by_assumption_is_said(run):
    """BG/NBD gives every customer without a repeat purchase P(alive) = 1 ("Lost: mean P(alive) 1.00");
    the output says so. 1,411 of the 2,357 sample customers made no repeat purchase in the 39 weeks
    (Fader, Hardie & Lee 2005: 946 repeat buyers); 8 of them bought one free ($0) order only and are not
    valued, so 1,403 of the 2,349 valued customers are meant (both counted from the raw file)."""
    output, out = run
    text = " ".join(output.split())
    assert "the 1,403 customers (60%) who never bought again have P(alive) = 1 by assumption" in text
    assert "8 customers whose only purchases up to the calibration end were free ($0) orders are not valued" in text
    table = pd.read_csv(out / "clv.csv", dtype={"customer_id": str})
    never = table[table.frequency == 0]
    assert len(never) == 1403 and (never.p_alive == 1).all()


def test_a_sliver_of_value_reads_below_a_tenth_of_a_percent(run):
    """'share of CLV' showed 0.0% for Can't Lose Them (9 customers, 22 of 57,218 on the sample). Since lapsed
    customers left the presence labels (segment.lapse) the sliver is Promising: 2 customers, 20 of 57,218
    (it held 115, 113 of them lapsed, 98% at high churn risk); Can't Lose Them holds 27 and 0.3%."""
    _, out = run
    clv = pd.read_csv(out / "clv.csv", dtype={"customer_id": str})
    by_hand = clv.groupby("segment").clv.sum() / clv.clv.sum()
    assert 0 < by_hand["Promising"] < 0.001
    args = ["clv", str(SAMPLE), "--calibration-end", "1997-09-30", "--horizon", "39", "--discount", "1%/month"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    row = next(line for line in result.output.splitlines() if line.startswith("│ Promising"))
    assert "<0.1%" in row and "0.0%" not in row
