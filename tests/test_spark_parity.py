"""Spark backend parity: features and RFM computed by Spark equal DuckDB's (and a pandas reference)."""

from __future__ import annotations

import pytest
from _backends import WINDOW_OPTIONS, assert_same_rows, check_rfm_parity, load_both, to_pandas

from segmint.features import customer_features, period_features
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
