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


def test_canonical_lines_are_the_raw_lines_mapped():
    raw, lines = next(generate.iter_chunks(3_000, seed=3))
    raw, frame = raw.to_pandas(), lines.to_pandas()
    assert tuple(frame.columns) == CANONICAL_COLUMNS and len(frame) == len(raw) > 2_000
    assert (frame["invoice_id"] == raw["InvoiceNo"]).all() and (frame["customer_id"] == raw["CustomerID"]).all()
    assert (frame["amount"] == raw["Quantity"] * raw["UnitPrice"]).all()
    assert (frame["cost"] == raw["Quantity"] * raw["UnitCost"]).all()
    returns = raw["InvoiceNo"].str.startswith("C")
    assert returns.any() and (frame["is_return"] == returns).all()
    assert (frame.loc[returns, "amount"] < 0).all() and (frame.loc[~returns, "amount"] > 0).all()
    again = next(generate.iter_chunks(3_000, seed=3))[1].to_pandas()
    pd.testing.assert_frame_equal(frame, again)


def test_write_parquet_and_csv_hold_the_same_rows(tmp_path):
    paths = generate.write(3_000, tmp_path, formats=("parquet", "csv"))
    names = [p.name for p in paths]
    assert names == ["raw_3000.parquet", "transactions_3000.parquet", "raw_3000.csv", "transactions_3000.csv"]
    raw, canonical, raw_csv, canonical_csv = paths
    from_parquet = pq.read_table(canonical).to_pandas()
    from_csv = pd.read_csv(canonical_csv)
    assert len(from_parquet) == len(from_csv) == len(pd.read_csv(raw_csv)) == pq.read_table(raw).num_rows
    assert from_csv["amount"].sum() == pytest.approx(from_parquet["amount"].sum(), rel=1e-12)
    assert set(tmp_path.iterdir()) == set(paths)  # no temp files left behind


def test_runner_times_cases_in_subprocesses_and_checks_they_agree(tmp_path):
    out = tmp_path / "RESULTS.md"
    run.main(["--rows", "2000", "--engines", "segmint,pandas,duckdb_sql", "--repeat", "1",
              "--data", str(tmp_path), "--out", str(out), "--memory-limit", "1GB", "--threads", "1"])  # fmt: skip
    text = out.read_text()
    data = pq.read_table(tmp_path / "transactions_2000.parquet").to_pandas()
    assert len(data) == pq.read_table(tmp_path / "raw_2000.parquet").num_rows
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


def test_merge_keeps_earlier_sizes_and_replaces_a_rerun_case(tmp_path):
    from benchmarks.report import load_results, write_results
    from benchmarks.run import CaseResult

    out = tmp_path / "RESULTS.md"
    run = {"seconds": 1.0, "peak_rss_bytes": 2**30, "startup_s": 0.1, "customers": 10,
           "sum_frequency": 20, "sum_monetary": 30.0}
    settings = {"memory_limit": "6GB", "spark_cores": 2, "spark_memory": "4g"}
    first = [CaseResult(1_000_000, "segmint", [run], lines=990_000),
             CaseResult(1_000_000, "duckdb_sql", [run], lines=990_000)]  # fmt: skip
    write_results(first, out, argv=["benchmarks.run", "--rows", "1e6"], settings=settings)
    rerun = {**run, "seconds": 3.0}
    second = [CaseResult(1_000_000, "segmint", [rerun], lines=990_000),
              CaseResult(50_000_000, "segmint", [rerun], lines=49_000_000)]  # fmt: skip
    write_results(second, out, argv=["benchmarks.run", "--rows", "5e7"], settings=settings, merge=True)

    merged, commands, _ = load_results(out)
    assert [(r.rows, r.case, r.seconds) for r in merged] == [
        (1_000_000, "segmint", [3.0]), (1_000_000, "duckdb_sql", [1.0]), (50_000_000, "segmint", [3.0]),
    ]
    assert commands == ["python -m benchmarks.run --rows 1e6", "python -m benchmarks.run --rows 5e7"]
    text = out.read_text()
    assert "49,000,000 invoice lines" in text and "990,000 invoice lines" in text


def test_whole_process_rerun_keeps_the_hand_written_sections(tmp_path):
    from benchmarks.whole import hand_written

    md = tmp_path / "RESULTS.md"
    assert hand_written(md) == ""
    md.write_text("# generated\n| a |\n\n## Machine\n- cores: 2\n\n## Why (written by hand, today)\nprose\n"
                  "<!-- clv:start -->\nclv\n<!-- clv:end -->\n")
    assert hand_written(md) == "\n## Why (written by hand, today)\nprose\n<!-- clv:start -->\nclv\n<!-- clv:end -->\n"
    md.write_text("# generated only\n## Machine\n")
    assert hand_written(md) == ""


def test_whole_compiles_the_segmint_package_it_times(tmp_path, monkeypatch):
    """benchmarks.whole writes the bytecode of the package the ``segmint`` case imports (found, not imported)."""
    import importlib.machinery
    import importlib.util

    from benchmarks import whole

    package = tmp_path / "segmint"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text("VALUE = 1\n")
    spec = importlib.machinery.ModuleSpec("segmint", None, is_package=True)
    spec.submodule_search_locations = [str(package)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "segmint" else None)
    whole.compile_segmint()
    tag = sys.implementation.cache_tag
    assert (package / "__pycache__" / f"api.{tag}.pyc").exists()
    assert (package / "__pycache__" / f"__init__.{tag}.pyc").exists()


def test_whole_times_the_default_command_when_asked(tmp_path):
    """``segmint_all`` is the command a user runs first (every scheme); its row has no peer ratio and
    the CDNOW target for it is checked from its median."""
    from benchmarks.whole import command, render

    rfm = command("segmint", Path("in.csv"), Path("out"))
    every = command("segmint_all", Path("in.csv"), Path("out"))
    assert rfm[1:] == ["analyze", "in.csv", "--scheme", "rfm", "--out", "out"]
    assert every[1:] == ["analyze", "in.csv", "--out", "out"]
    runs = [{"case": case, "seconds": seconds, "peak_rss_bytes": 2**20, "load": "0.5 0.5 0.5", "round": r,
             "cpu_seconds": seconds}
            for r, (case, seconds) in enumerate([("segmint", 1.0), ("segmint_all", 2.0), ("segmint", 1.2),
                                                 ("segmint_all", 2.8), ("segmint_all", 2.6)])]
    record = {"generated": "now", "argv": ["benchmarks.whole"], "note": "", "machine": {"cores": "2"},
              "inputs": [{"name": "cdnow", "path": "x", "lines": 10, "runs": runs}]}
    text = render(record)
    assert "| cdnow | 10 | segmint_all | 2.60 | 2.00-2.80 | 2.60 |  |" in text  # median of 2.0, 2.8, 2.6
    assert "| CDNOW, the default command (every scheme): under 2.5 s | 2.60 s | **not met** |" in text


def test_retail_xlsx_is_typed_like_the_uci_workbook(tmp_path):
    """Numbers and dates stay numbers and dates; cancellations and coded stock stay text; the peer reads it."""
    import datetime as dt

    import fastexcel
    import pyarrow as pa

    from benchmarks import peers

    lines = pa.table({
        "InvoiceNo": ["536365", "536365", "C536379"], "StockCode": ["85123A", "71053", "D"],
        "Description": ["WHITE HEART", None, "Discount"], "Quantity": [6, 2, -1],
        "InvoiceDate": pa.array([dt.datetime(2010, 12, 1, 8, 26), dt.datetime(2010, 12, 1, 8, 26),
                                 dt.datetime(2010, 12, 1, 9, 41)], pa.timestamp("ns")),
        "UnitPrice": [2.55, 3.39, 27.5], "CustomerID": [17850.0, 17850.0, None], "Country": ["United Kingdom"] * 3,
    }, schema=generate.RETAIL_SCHEMA)  # fmt: skip
    pq.write_table(lines, tmp_path / "online_retail_like.parquet")
    path = generate.write_retail_xlsx(tmp_path)
    sheet = fastexcel.read_excel(str(path)).load_sheet(0, schema_sample_rows=None).to_arrow()
    assert sheet.column_names == lines.column_names
    assert sheet.column("InvoiceNo").to_pylist() == ["536365", "536365", "C536379"]  # numbers and text
    assert str(sheet.schema.field("InvoiceDate").type).startswith("timestamp")
    assert sheet.column("InvoiceDate").to_pylist()[2] == dt.datetime(2010, 12, 1, 9, 41)
    assert sheet.column("Quantity").to_pylist() == [6, 2, -1] and sheet.column("CustomerID").to_pylist()[2] is None
    frame = peers._pandas_lines(path)  # the tutorial's pd.read_excel (openpyxl), rows without a customer dropped
    assert frame["TotalPrice"].round(2).tolist() == [15.30, 6.78]  # 6 x 2.55, 2 x 3.39
