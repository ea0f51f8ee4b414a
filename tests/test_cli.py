"""CLI shell: options reach the library, errors exit 2 with a message, the demo job writes everything."""

from __future__ import annotations

import pandas as pd
from typer.testing import CliRunner

from segmint.cli import app

SALES = """InvoiceNo,InvoiceDate,CustomerID,Quantity,UnitPrice
A1,2023-01-02,c1,1,10
A2,2023-01-02,c1,1,30
A3,2023-01-09,c1,2,5
B1,2023-01-05,c2,1,8
"""


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_frequency_days_and_mean_monetary_reach_the_features(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    result = run("analyze", str(tmp_path / "sales.csv"), "--scheme", "rfm", "--frequency", "days",
                 "--monetary", "mean", "--out", str(tmp_path / "out"))  # fmt: skip
    assert result.exit_code == 0, result.output
    features = pd.read_csv(tmp_path / "out" / "features.csv").set_index("customer_id")
    # c1 bought on 2 distinct days (3 invoices) for 10 + 30 + 10 = 50 -> mean 25 per purchase day
    assert features.loc["c1", "frequency"] == 2
    assert features.loc["c1", "monetary"] == 25.0
    assert features.loc["c2", "frequency"] == 1
    assert features.loc["c2", "monetary"] == 8.0
    # snapshot 2023-01-10 (day after the last sale): c1 last bought 2023-01-09
    assert features.loc["c1", "recency_days"] == 1


def test_bad_options_and_missing_input_exit_2_with_a_message(tmp_path):
    (tmp_path / "sales.csv").write_text(SALES)
    bad_frequency = run("analyze", str(tmp_path / "sales.csv"), "--frequency", "weeks")
    assert bad_frequency.exit_code == 2
    assert "choose 'invoices' or 'days'" in bad_frequency.output
    nothing = run("analyze")
    assert nothing.exit_code == 2
    assert "--source postgresql://" in nothing.output
    engine = run("story", str(tmp_path / "sales.csv"), "--engine", "flink")
    assert engine.exit_code == 2
    assert "choose duckdb or spark" in engine.output
    bad_map = run("analyze", str(tmp_path / "sales.csv"), "--map", "CustomerID=client")
    assert bad_map.exit_code == 2
    assert "COLUMN=FIELD" in bad_map.output


def test_demo_job_prints_quality_segments_and_where_things_are(tmp_path):
    out = tmp_path / "demo"
    result = run("demo", "--out", str(out), "--customers", "80", "--years", "1", "--seed", "3")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Data quality report: demo_sales.csv" in text
    assert "rfm segments" in text and "levels segments" in text and "tiers segments" in text
    assert "segmint dashboard --workspace" in text
    raw_rows = len(pd.read_csv(out / "demo_sales.csv"))
    quality = pd.read_json(out / "results" / "data_quality.json", typ="series")
    assert quality["rows_in"] == raw_rows  # every generated row is accounted for
    for name in ("features", "segments_rfm", "summary_tiers", "story", "story_cohorts"):
        assert (out / "results" / f"{name}.csv").stat().st_size > 0
    assert (out / "workspace.duckdb").exists()
