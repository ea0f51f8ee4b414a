"""Benchmark harness: the data generator's invariants and a tiny end-to-end run of the runner."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root holds benchmarks/

from benchmarks import generate, run  # noqa: E402

from segmint.schema import CANONICAL_COLUMNS  # noqa: E402


def test_rows_parsing_and_labels():
    assert generate.parse_rows("1e6") == 1_000_000
    assert generate.parse_rows("10_000") == 10_000
    assert [generate.rows_label(n) for n in (1_000_000, 50_000_000, 20_000, 1234)] == ["1e6", "5e7", "2e4", "1234"]
    with pytest.raises(Exception, match="positive whole number"):
        generate.parse_rows("2.5")


def test_chunks_are_canonical_invoices_and_deterministic():
    chunks = list(generate.iter_chunks(12_000, seed=3, chunk_rows=5_000))
    assert [c.num_rows for c in chunks] == [5_000, 5_000, 2_000]
    frame = pd.concat([c.to_pandas() for c in chunks], ignore_index=True)
    assert tuple(frame.columns) == CANONICAL_COLUMNS
    # no invoice spans two chunks, and each invoice has one customer and one timestamp
    chunk_of_row = pd.Series(range(len(frame))) // 5_000
    assert (chunk_of_row.groupby(frame["invoice_id"]).nunique() == 1).all()
    per_invoice = frame.groupby("invoice_id").agg(customers=("customer_id", "nunique"), stamps=("invoice_date", "nunique"))
    assert (per_invoice == 1).all().all()
    # line_no numbers each invoice's lines 1..n in order of appearance
    assert (frame["line_no"] == frame.groupby("invoice_id").cumcount() + 1).all()
    returns = frame["invoice_id"].str.startswith("C")
    assert (returns == frame["is_return"]).all() and (frame.loc[returns, "amount"] < 0).all()
    assert (frame.loc[~returns, "amount"] > 0).all()
    assert ((frame["quantity"] * frame["unit_price"]).round(2) == frame["amount"]).all()
    again = pd.concat([c.to_pandas() for c in generate.iter_chunks(12_000, seed=3, chunk_rows=5_000)])
    pd.testing.assert_frame_equal(frame, again.reset_index(drop=True))


def test_write_parquet_and_csv_hold_the_same_rows(tmp_path):
    parquet, csv = generate.write(3_000, tmp_path, formats=("parquet", "csv"), chunk_rows=1_000)
    assert parquet.name == "transactions_3000.parquet" and csv.name == "transactions_3000.csv"
    from_parquet = pq.read_table(parquet).to_pandas()
    from_csv = pd.read_csv(csv)
    assert len(from_parquet) == len(from_csv) == 3_000
    assert from_csv["amount"].sum() == pytest.approx(from_parquet["amount"].sum(), rel=1e-12)
    assert set(tmp_path.iterdir()) == {parquet, csv}  # no temp files left behind


def test_runner_times_cases_in_subprocesses_and_checks_they_agree(tmp_path):
    out = tmp_path / "RESULTS.md"
    run.main(["--rows", "2000", "--engines", "segmint,pandas,duckdb_sql", "--repeat", "1",
              "--data", str(tmp_path), "--out", str(out), "--memory-limit", "1GB", "--threads", "1"])  # fmt: skip
    text = out.read_text()
    data = pq.read_table(tmp_path / "transactions_2000.parquet").to_pandas()
    n_customers = data["customer_id"].nunique()
    n_invoices = data.groupby("customer_id")["invoice_id"].nunique().sum()
    for case in ("segmint", "pandas", "duckdb_sql"):
        assert f"| 2000 | {case} |" in text
    assert (
        f"pandas vs duckdb_sql agree — customers {n_customers:,} / {n_customers:,}, "
        f"Σfrequency {n_invoices:,} / {n_invoices:,}"
    ) in text
    raw = json.loads(out.with_suffix(".json").read_text())
    segmint_run = next(r for r in raw["results"] if r["case"] == "segmint")["runs"][0]
    net = data.groupby("customer_id")["amount"].sum()
    assert segmint_run["customers"] == int((net > 0).sum())
    assert segmint_run["peak_rss_bytes"] > 50 * 2**20 and segmint_run["seconds"] > 0
