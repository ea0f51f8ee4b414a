"""analyze / read_transactions: hand-checked results on the 12-row fixture, workspace, CSV and CLI."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from test_features import ROW_COLUMNS, ROWS, canonical  # the 12-row fixture (same tests/ folder)

from segmint.api import Transactions, analyze, load_analysis_config, read_transactions
from segmint.errors import ConfigError, DataError

SCHEMES = ["rfm", "levels", "tiers"]


@pytest.fixture()
def tx():
    return canonical(pd.DataFrame(ROWS, columns=ROW_COLUMNS))


def test_analyze_fixture_by_hand(tx):
    result = analyze(tx, scheme=SCHEMES)
    assert result.snapshot_date == dt.date(2023, 7, 1)
    rfm = result.segments["rfm"].execute().set_index("customer_id")
    # n=3 < 5 bins: the ranks spread over 1..5, 1 + floor(4k/2) for k strictly worse: recency A 108, D 42,
    # B 1 -> R 1, 3, 5; frequency A 2, D 2, B 3 -> F 1, 1, 5; monetary D 6, A 15, B 190 -> M 1, 3, 5
    assert rfm.rfm_cell.to_dict() == {"A": "113", "B": "555", "D": "311"}
    # D's first purchase (2023-05-05) is in the snapshot's quarter: New Customers whatever its cell; B, the most
    # recent, frequent and spending of the three, is a Champion (was Loyal Customers at 444: the top unreachable)
    assert rfm.segment.to_dict() == {"A": "Lost", "B": "Champions", "D": "New Customers"}
    levels = result.segments["levels"].execute().set_index("customer_id")
    # R+F+M: A 1+1+3 = 5, B 15, D 3+1+1 = 5 (Needs Attention from 5; was 4 and 4, Require Activation)
    assert levels.segment.to_dict() == {"A": "Needs Attention", "B": "Top Customers", "D": "Needs Attention"}
    summary = result.summaries["rfm"].set_index("segment")
    assert summary.index.tolist() == ["Champions", "New Customers", "Lost"]
    assert summary.revenue.to_dict() == {"Champions": 190.0, "New Customers": 6.0, "Lost": 15.0}
    excluded = result.tables["excluded_customers"].execute()
    assert excluded.customer_id.tolist() == ["C"]
    assert set(result.tables) >= {"tiers_buckets_value", "tiers_buckets_frequency", "tiers_kpis"}


def test_analyze_window_and_config(tx, tmp_path):
    path = tmp_path / "analysis.yaml"
    path.write_text("rfm:\n  bins: 3\nlevels:\n  bins: 3\n")
    result = analyze(tx, scheme="rfm", start="2023-05-01", config=path)
    rfm = result.segments["rfm"].execute().set_index("customer_id")
    # May..June: B (one purchase, 40, recency 1) and D (two purchases, net 6, recency 42); with
    # n=2 and 3 bins the better customer scores 1+floor(2*1/1)=3 (was 1+floor(3*1/2)=2, never the top):
    # R B=3 D=1, F D=3 B=1, M B=3 D=1
    assert rfm.rfm_cell.to_dict() == {"B": "313", "D": "131"}
    assert list(result.segments) == ["rfm"]
    with pytest.raises(ConfigError, match="unknown section"):
        load_analysis_config({"rfmm": {}})
    with pytest.raises(ConfigError, match="unknown scheme"):
        analyze(tx, scheme="abc")
    with pytest.raises(DataError, match="no transactions"):
        analyze(tx, start="2030-01-01")


def test_export_all(tx, tmp_path):
    written = analyze(tx, scheme=SCHEMES).export(tmp_path / "out")
    assert {"features", "segments_rfm", "summary_tiers", "tiers_kpis", "excluded_customers"} <= set(written)
    features = pd.read_csv(written["features"])
    assert features.set_index("customer_id").recency_days.to_dict() == {"A": 108, "B": 1, "D": 42}
    summary = pd.read_csv(written["summary_rfm"])
    assert summary.segment.tolist() == ["Champions", "New Customers", "Lost"]


def test_workspace_source(tx, tmp_path):
    from segmint.workspace import Workspace

    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(tx, source="fixture")
    loaded = read_transactions(path)
    assert isinstance(loaded, Transactions) and loaded.report is None
    result = analyze(loaded, scheme="rfm")
    assert result.features.execute().set_index("customer_id").frequency.to_dict() == {"A": 2, "B": 3, "D": 2}
    loaded.con.disconnect()


def test_not_canonical_table(tx):
    with pytest.raises(DataError, match="missing column"):
        read_transactions(tx.drop("is_return"))


CSV = """InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,6,2010-12-01 08:26,2.55,17850,United Kingdom
536365,71053,6,2010-12-01 08:26,3.40,17850,United Kingdom
536366,22633,6,2010-12-02 08:28,1.85,17850,United Kingdom
C536379,22633,-2,2010-12-03 09:41,1.85,17850,United Kingdom
536367,84879,32,2010-12-05 08:34,1.50,13047,France
536368,22960,6,2010-12-20 08:34,4.25,13047,France
"""


def _pipeline_available() -> bool:
    try:
        import segmint.clean  # noqa: F401
        import segmint.io  # noqa: F401
        from segmint.schema import apply_mapping, resolve_mapping  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _pipeline_available(), reason="readers/cleaning modules not importable yet")
def test_csv_end_to_end_and_cli(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    path = tmp_path / "sales.csv"
    path.write_text(CSV)
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm", "--out", str(out)])
    assert run.exit_code == 0, run.output
    assert "rfm segments" in run.output and (out / "summary_rfm.csv").exists()
    features = pd.read_csv(out / "features.csv", dtype={"customer_id": str}).set_index("customer_id")
    # 17850: 15.3 + 20.4 + 11.1 - 3.7 = 43.1 over 2 invoices, last 2010-12-02; snapshot 2010-12-21
    # 13047: 48 + 25.5 = 73.5 over 2 invoices, last 2010-12-20
    assert features.monetary.to_dict() == pytest.approx({"17850": 43.1, "13047": 73.5})
    assert features.recency_days.to_dict() == {"17850": 19, "13047": 1}
    assert json.loads((out / "data_quality.json").read_text())["rows_in"] == 6
    bad = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "nope"])
    assert bad.exit_code == 2 and "unknown scheme" in bad.output


def test_all_skips_a_scheme_the_data_cannot_support(tmp_path):
    # two customers: k-means cannot choose k in 3..8, so "all" runs the other schemes and says why it
    # skipped clusters; naming clusters explicitly still fails with that reason
    from typer.testing import CliRunner

    from segmint.cli import app

    path = tmp_path / "sales.csv"
    path.write_text(CSV)
    result = analyze(read_transactions(path), scheme="all")
    assert "clusters" not in result.segments and "cannot choose k" in result.skipped["clusters"]
    assert {"rfm", "levels", "tiers"} <= set(result.segments)
    run = CliRunner().invoke(app, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert run.exit_code == 0, run.output
    assert "skipped clusters" in run.output and "rfm segments" in run.output
    with pytest.raises(DataError, match="cannot choose k"):
        analyze(read_transactions(path), scheme="clusters")


def _threads(con) -> int:
    return int(con.con.execute("SELECT current_setting('threads')").fetchone()[0])


def test_small_files_are_read_on_one_thread(tmp_path, monkeypatch):
    """A CSV under SMALL_TEXT_BYTES and a Parquet file whose footer counts fewer than SMALL_INPUT_ROWS
    lines are read with one DuckDB thread; a Parquet file over it keeps the default for its read."""
    import segmint.io
    from segmint import api, engine
    from segmint.io import size

    seen = {}
    real = segmint.io.read_raw

    def spy(source, *, con, mapping=None, **options):
        seen[str(source)] = _threads(con)
        return real(source, con=con, mapping=mapping, **options)

    monkeypatch.setattr(segmint.io, "read_raw", spy)
    csv = tmp_path / "sales.csv"
    csv.write_text("InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice\nA1,c1,2024-01-05,2,10.50\n")
    tx = read_transactions(csv)
    assert seen[str(csv)] == 1 and _threads(tx.con) == 1
    parquet = tmp_path / "sales.parquet"
    tx.table.to_parquet(parquet)
    read_transactions(parquet)
    assert seen[str(parquet)] == 1
    default = _threads(engine.connect())
    monkeypatch.setattr(size, "SMALL_INPUT_ROWS", 1)  # the file's one line is now not "fewer"
    read_transactions(parquet)
    assert seen[str(parquet)] == default


def test_small_input_by_kind_size_and_footer_count(tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from segmint.io import size
    from segmint.io.size import SMALL_TEXT_BYTES, small_input

    small, big, fake, parquet = tmp_path / "a.csv", tmp_path / "b.txt", tmp_path / "c.parquet", tmp_path / "d.parquet"
    small.write_text("x,y\n1,2\n")
    with big.open("wb") as handle:  # a sparse file: its size is what counts
        handle.truncate(SMALL_TEXT_BYTES + 1)
    fake.write_bytes(b"PAR1")
    pq.write_table(pa.table({"x": list(range(10))}), parquet)
    assert small_input(small) and small_input([small, str(small)])
    assert not small_input(big) and not small_input([small, big])
    assert small_input(parquet) and small_input([parquet, parquet])
    monkeypatch.setattr(size, "SMALL_INPUT_ROWS", 20)  # two copies of the 10-line file: 20 lines, not fewer
    assert small_input(parquet) and not small_input([parquet, parquet])
    assert not small_input(fake) and not small_input([small, parquet])
    assert not small_input(tmp_path / "missing.csv") and not small_input(tmp_path) and not small_input([])
    assert not small_input("postgresql://user@host/db?table=sales")
