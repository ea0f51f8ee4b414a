"""PostgreSQL backend: features and RFM run inside PostgreSQL and equal DuckDB's (and a pandas reference)."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from _backends import WINDOW_OPTIONS, assert_same_rows, check_lapse_parity, check_rfm_parity, load_both, to_pandas

from segmint import engine
from segmint.errors import BackendError
from segmint.features import customer_features
from segmint.periods import period_features
from segmint.segment import rfm

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def both(postgres_con, canonical_tx):
    """The same 10k canonical rows as a DuckDB table and a PostgreSQL table."""
    return load_both(postgres_con, canonical_tx, "tx")


def test_rfm_in_postgres_equals_duckdb_and_pandas_reference(both, canonical_tx):
    check_rfm_parity(both[1], both[0], canonical_tx)


def test_windowed_and_period_features_equal_duckdb(both):
    duck_tx, pg_tx = both
    assert_same_rows(
        to_pandas(customer_features(pg_tx, **WINDOW_OPTIONS)),
        to_pandas(customer_features(duck_tx, **WINDOW_OPTIONS)),
        ["customer_id"],
    )
    for period in ("month", "year"):
        assert_same_rows(
            to_pandas(period_features(pg_tx, period=period)),
            to_pandas(period_features(duck_tx, period=period)),
            ["customer_id", "period_start"],
        )


def test_aggregation_is_pushed_down_to_postgres(both, postgres_con, canonical_tx):
    _, pg_tx = both
    expr = rfm.assign(customer_features(pg_tx))
    assert expr._find_backend() is postgres_con  # one backend: no data copied out to compute
    sql = ibis.to_sql(expr, dialect="postgres")
    plan = "\n".join(row[0] for row in postgres_con.raw_sql(f"EXPLAIN {sql}").fetchall())
    assert "Aggregate" in plan and "Seq Scan on tx" in plan
    # only per-customer rows leave the server
    positive_net = int((canonical_tx.groupby("customer_id")["amount"].sum() > 0).sum())
    assert int(expr.count().execute()) == positive_net


def test_bad_postgres_url_raises_backend_error_without_password():
    with pytest.raises(BackendError) as caught:
        engine.connect("postgres", url="postgresql://analyst:s3cret@127.0.0.1:1/sales")
    message = str(caught.value)
    assert "s3cret" not in message and "analyst:***@127.0.0.1:1/sales" in message


def test_analyze_a_postgres_table_runs_in_postgres_and_equals_duckdb(postgres_url, postgres_con, tmp_path):
    from segmint import datasets
    from segmint.api import analyze

    raw = datasets.make_transactions(300, seed=5, messy=False)
    postgres_con.create_table("shop_sales", pa.Table.from_pandas(raw, preserve_index=False), overwrite=True)
    raw.to_parquet(tmp_path / "shop_sales.parquet", index=False)
    before = set(postgres_con.list_tables())

    in_postgres = analyze(f"{postgres_url}?table=shop_sales", scheme="rfm")
    in_duckdb = analyze(str(tmp_path / "shop_sales.parquet"), scheme="rfm")

    assert in_postgres.transactions.con.name == "postgres"
    assert in_postgres.features._find_backend().name == "postgres"  # aggregation ran in the database
    assert in_postgres.report.rows_in == in_duckdb.report.rows_in == len(raw)
    assert in_postgres.report.rows_kept == in_duckdb.report.rows_kept
    assert_same_rows(
        to_pandas(in_postgres.segments["rfm"]),
        to_pandas(in_duckdb.segments["rfm"]),
        ["customer_id"],
    )
    assert set(postgres_con.list_tables()) == before  # only temporary tables were created


def test_postgres_url_without_table_says_how_to_name_it(postgres_url):
    from segmint.api import read_transactions

    with pytest.raises(BackendError, match=r"\?table=sales"):
        read_transactions(postgres_url)


def test_cli_source_option_reads_a_postgres_table(postgres_url, postgres_con, tmp_path):
    """`segmint analyze --source postgresql://...?table=T`: features equal pandas on the same rows."""
    import pandas as pd
    from typer.testing import CliRunner

    from segmint.cli import app

    sales = pd.DataFrame({
        "InvoiceNo": ["1", "2", "3", "C4"],
        "CustomerID": ["a", "a", "b", "a"],
        "InvoiceDate": pd.to_datetime(["2023-01-02", "2023-02-03", "2023-02-04", "2023-02-05"]),
        "Quantity": [2, 1, 3, -1],
        "UnitPrice": [10.0, 4.0, 2.5, 4.0],
    })  # fmt: skip
    postgres_con.create_table("cli_sales", pa.Table.from_pandas(sales, preserve_index=False), overwrite=True)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["analyze", "--source", f"{postgres_url}?table=cli_sales", "--scheme", "rfm", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    features = pd.read_csv(out / "features.csv").set_index("customer_id")
    # by hand: a bought 2*10 + 4, returned 4 -> 20 over 2 purchases (the return invoice is no purchase)
    assert features.loc["a", "monetary"] == 20.0 and features.loc["a", "frequency"] == 2
    assert features.loc["b", "monetary"] == 7.5 and features.loc["b", "recency_days"] == 2


def test_lapsed_customers_are_the_same_as_in_duckdb(postgres_con, canonical_tx):
    check_lapse_parity(postgres_con, canonical_tx)
