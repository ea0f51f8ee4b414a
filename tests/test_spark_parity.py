"""Spark backend parity: features and RFM computed by Spark equal DuckDB's (and a pandas reference)."""

from __future__ import annotations

import pytest
from _backends import WINDOW_OPTIONS, assert_same_rows, check_lapse_parity, check_rfm_parity, load_both, to_pandas

from segmint.features import customer_features
from segmint.periods import period_features
from segmint.schema import CANONICAL_COLUMNS

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def both(spark_con, canonical_tx):
    """The same 10k canonical rows as a DuckDB table and a Spark table."""
    return load_both(spark_con, canonical_tx, "tx_parity")


def test_spark_table_keeps_canonical_columns_and_types(both, canonical_tx):
    duck_tx, spark_tx = both
    kinds = {name: type(dtype) for name, dtype in duck_tx.schema().items()}
    assert {name: type(dtype) for name, dtype in spark_tx.schema().items()} == kinds
    assert list(spark_tx.columns) == list(CANONICAL_COLUMNS)
    assert spark_tx.count().execute() == len(canonical_tx)


def test_rfm_on_spark_equals_duckdb_and_pandas_reference(both, canonical_tx):
    on_spark = check_rfm_parity(both[1], both[0], canonical_tx)
    assert "REFUND_ONLY" not in set(on_spark["customer_id"])


def test_windowed_day_frequency_features_equal_duckdb(both):
    duck_tx, spark_tx = both
    assert_same_rows(
        to_pandas(customer_features(spark_tx, **WINDOW_OPTIONS)),
        to_pandas(customer_features(duck_tx, **WINDOW_OPTIONS)),
        ["customer_id"],
    )


def test_period_features_equal_duckdb(both):
    duck_tx, spark_tx = both
    assert_same_rows(
        to_pandas(period_features(spark_tx, period="quarter")),
        to_pandas(period_features(duck_tx, period="quarter")),
        ["customer_id", "period_start"],
    )


def test_cli_engine_spark_reads_cleans_and_segments_like_duckdb(spark_con, tmp_path):
    """`segmint analyze FILE --engine spark`: Spark reads the raw Parquet itself, cleans and scores it."""
    import json

    import pandas as pd
    from typer.testing import CliRunner

    from segmint.cli import app
    from segmint.datasets import make_transactions

    raw = make_transactions(n_customers=60, years=1, seed=5, messy=True)
    raw.astype(str).to_parquet(tmp_path / "raw.parquet")  # text columns, as an export would hold them
    runner = CliRunner()
    outputs = {}
    for engine in ("duckdb", "spark"):
        out = tmp_path / engine
        args = ["analyze", str(tmp_path / "raw.parquet"), "--scheme", "rfm", "--out", str(out), "--engine", engine]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outputs[engine] = out
    quality = {e: json.loads((o / "data_quality.json").read_text()) for e, o in outputs.items()}
    for key in ("rows_in", "rows_kept", "customers", "invoices", "returns"):
        assert quality["spark"][key] == quality["duckdb"][key], key
    assert {k: v["count"] for k, v in quality["spark"]["dropped"].items()} == {
        k: v["count"] for k, v in quality["duckdb"]["dropped"].items()
    }
    assert quality["duckdb"]["rows_in"] == len(raw)
    frames = {
        e: pd.read_csv(o / "segments_rfm.csv", dtype={"customer_id": str}).sort_values("customer_id", ignore_index=True)
        for e, o in outputs.items()
    }
    exact = ["customer_id", "recency_days", "frequency", "r_score", "f_score", "m_score", "segment"]
    pd.testing.assert_frame_equal(frames["spark"][exact], frames["duckdb"][exact])
    assert (frames["spark"].monetary - frames["duckdb"].monetary).abs().max() < 1e-9


def test_lapsed_customers_are_the_same_as_in_duckdb(spark_con, canonical_tx):
    # rfm only: levels reads the same threshold expression (segment.lapse), and each Spark job costs ~12 s
    check_lapse_parity(spark_con, canonical_tx, schemes=("rfm",))
