"""Numbers at the edge: money to the cent, shares to 4 places, means to 2, in every export format."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from segmint.money import export_decimals, money_decimals, money_text
from segmint.report import export_tables

CDNOW = Path(__file__).parents[1] / ".." / "shared" / "data" / "cdnow" / "CDNOW_master.txt"


@pytest.mark.parametrize(
    ("name", "decimals"),
    [("revenue", 2), ("monetary", 2), ("avg_order_value", 2), ("aov", 2), ("mean_monetary", 2), ("amount", 2),
     ("clv", 2), ("predicted_clv", 2), ("sales", 2), ("atv_min", 2), ("credit_limit", 2), ("unit_price", 4),
     ("share_of_revenue", None), ("credit_score", None), ("mean_recency_days", None), ("frequency", None),
     ("p_alive", None), ("value_rate", None), ("quantity", None), ("index", None)],
)  # fmt: skip
def test_money_columns_by_name(name, decimals):
    assert money_decimals(name) == decimals


def noisy() -> pd.DataFrame:
    # sums as float addition leaves them, and a -0 return
    return pd.DataFrame({
        "customer_id": ["A", "B", "C"],
        "revenue": [0.1 + 0.2, 211.64 + 65.46, -0.0],  # 0.30000000000000004, 277.09999999999997
        "share_of_revenue": [1 / 3, 1 / 3, 1 / 3],
        "unit_price": [0.012499999999, 2.5, 1 / 3],
    })  # fmt: skip


def test_every_format_writes_cents(tmp_path):
    assert noisy().revenue[1] != 277.1  # the noise is real
    expected = [Decimal("0.30"), Decimal("277.10"), Decimal("0.00")]  # by hand
    written = {fmt: export_tables({"summary": noisy()}, tmp_path / fmt, fmt)["summary"]
               for fmt in ("csv", "json", "parquet", "xlsx")}  # fmt: skip
    text = written["csv"].read_text()
    # money with every decimal of the cent shown, as Excel displays it; a unit price with 2 to 4
    assert text.splitlines()[1:] == ["A,0.30,0.3333,0.0125", "B,277.10,0.3333,2.50", "C,0.00,0.3333,0.3333"]
    assert "277.09999" not in text and "-0.0" not in text
    records = json.loads(written["json"].read_text())
    parquet = pq.read_table(written["parquet"]).to_pylist()
    sheet = openpyxl.load_workbook(written["xlsx"]).active
    excel = [dict(zip([c.value for c in sheet[1]], [c.value for c in row], strict=True)) for row in sheet.iter_rows(2)]
    for rows in (records, parquet, excel):
        assert [Decimal(str(r["revenue"])).quantize(Decimal("0.01")) for r in rows] == expected
        assert [float(r["revenue"]) for r in rows] == [0.3, 277.1, 0.0]
        assert math.copysign(1.0, float(rows[2]["revenue"])) == 1.0  # -0 is written as 0
        assert [r["unit_price"] for r in rows] == [0.0125, 2.5, 0.3333]


@pytest.mark.skipif(not CDNOW.exists(), reason="../shared/data not present")
def test_cdnow_exports_are_exact_to_the_cent(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    result = CliRunner().invoke(app, ["analyze", str(CDNOW), "--scheme", "rfm", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    features = (tmp_path / "features.csv").read_text().splitlines()
    header = features[0].split(",")
    money = [i for i, name in enumerate(header) if money_decimals(name) is not None]
    assert {header[i] for i in money} >= {"monetary", "revenue", "avg_order_value"}
    too_long = [line for line in features[1:] for i in money if re.search(r"\.\d{3,}", line.split(",")[i])]
    assert too_long == []
    # the dollars of the raw file, added as decimals, equal the exported customer totals
    dollars = sum(Decimal(line.split()[3]) for line in CDNOW.read_text().splitlines()[1:])
    exported = sum(Decimal(line.split(",")[header.index("monetary")]) for line in features[1:])
    assert dollars == Decimal("2500315.63") == exported
    quality = json.loads((tmp_path / "data_quality.json").read_text())
    assert quality["total_amount"] == 2500315.63


def test_json_and_excel_read_as_the_csv_does(tmp_path):
    """JSON numbers in their shortest text (25.12, not 25.120000000000001), dates as dates; Excel shows
    money to the cent (100.50) and dates without a time of 00:00."""
    frame = pd.DataFrame({
        "customer_id": ["00004", "00018"],
        "avg_order_value": [100.5 / 4, 14.96],  # 25.125 rounds (half to even) to 25.12
        "revenue": [100.5, float("nan")],
        "share_of_revenue": [0.1, 1 / 3],
        "first_purchase": pd.to_datetime(["1997-01-01", "1997-01-04"]),
        "paid_at": pd.to_datetime(["2023-01-05 10:30", None]),
        "is_new": [False, True],
    })
    written = {fmt: export_tables({"segments": frame}, tmp_path / fmt, fmt)["segments"] for fmt in ("json", "xlsx")}
    text = written["json"].read_text()
    assert '"avg_order_value": 25.12,' in text and '"avg_order_value": 14.96,' in text
    assert re.search(r"\d\.\d*0000", text) is None  # no float noise anywhere
    records = json.loads(text)
    assert [r["first_purchase"] for r in records] == ["1997-01-01", "1997-01-04"]
    assert [r["paid_at"] for r in records] == ["2023-01-05T10:30:00", None]
    assert [r["revenue"] for r in records] == [100.5, None] and records[1]["share_of_revenue"] == 0.3333
    assert [r["customer_id"] for r in records] == ["00004", "00018"] and records[0]["is_new"] is False
    sheet = openpyxl.load_workbook(written["xlsx"]).active
    header = [c.value for c in sheet[1]]
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["revenue"].value == 100.5 and row["revenue"].number_format == "#,##0.00"  # shown as 100.50
    assert row["avg_order_value"].number_format == "#,##0.00"
    assert row["share_of_revenue"].number_format == "General"  # not money
    assert row["first_purchase"].is_date and row["first_purchase"].number_format == "yyyy-mm-dd"
    assert row["paid_at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert row["customer_id"].value == "00004"


@pytest.mark.parametrize(
    ("name", "decimals"),
    [("revenue", 2), ("unit_price", 4), ("aging_0_30", 2), ("owed", 2), ("share_of_customers", 4),
     ("retention_rate", 4), ("p_alive", 4), ("mean_p_alive", 4), ("lift", 4), ("overall_score", 4),
     ("mean_recency_days", 2), ("mean_frequency", 2), ("index", 2), ("visits_per_customer", 2),
     ("purchases_per_day", 2), ("retained_pct", 2), ("avg_days_late", 2), ("expected_purchases", 4),
     ("T", 4), ("period", 4), ("percentile", 4)],
)  # fmt: skip
def test_export_decimals_by_name(name, decimals):
    assert export_decimals(name) == decimals


def test_money_text_shows_every_decimal():
    assert [money_text(v, 2) for v in (101.5, 89.0, 0.0, 1234.56)] == ["101.50", "89.00", "0.00", "1234.56"]
    assert [money_text(v, 4) for v in (2.5, 0.0125, 3.0, 2.555)] == ["2.50", "0.0125", "3.00", "2.555"]


def summary_frame() -> pd.DataFrame:
    # the noisy values of CDNOW's summary_clusters / tiers_buckets_frequency (segmint 373e468)
    return pd.DataFrame({
        "segment": ["High Value", "Average"],
        "share_of_customers": [0.1435622500212748, 0.2866139051995575],
        "mean_recency_days": [54.67634854771784, 278.000148456057],
        "mean_frequency": [9.205097806757557, 3.176811163895487],
        "mean_monetary": [387.6911, 101.5],
        "visits_per_customer": [11.945429740791269, 5.3942542787286065],
        "index": [470.26551203639167, 185.571824962483],
    })  # fmt: skip


@pytest.mark.parametrize("engine", ["pandas", "arrow", "duckdb"])
def test_shares_and_means_are_rounded_in_every_writer(tmp_path, engine):
    """Shares to 4 places, means and indexes to 2, money to the cent, whichever writer runs (pandas,
    a small Arrow table row by row, DuckDB's COPY) and in CSV, JSON, Parquet and Excel alike; CSV in
    fixed point, every value of a column with its decimals (the summary read 278.0 beside 110.61)."""
    import ibis
    import pyarrow as pa

    frame = summary_frame()
    table = {"pandas": frame, "arrow": pa.Table.from_pandas(frame),
             "duckdb": ibis.duckdb.connect().create_table("summary", frame)}[engine]
    expected = {  # by hand
        "share_of_customers": [0.1436, 0.2866], "mean_recency_days": [54.68, 278.0], "mean_frequency": [9.21, 3.18],
        "mean_monetary": [387.69, 101.5], "visits_per_customer": [11.95, 5.39], "index": [470.27, 185.57],
    }  # fmt: skip
    csv_path = export_tables({"summary": table}, tmp_path / "csv", "csv")["summary"]
    assert csv_path.read_text().splitlines() == [
        "segment,share_of_customers,mean_recency_days,mean_frequency,mean_monetary,visits_per_customer,index",
        "High Value,0.1436,54.68,9.21,387.69,11.95,470.27",
        "Average,0.2866,278.00,3.18,101.50,5.39,185.57",  # 278.00 beside 54.68, not 278.0
    ]
    for fmt in ("json", "parquet", "xlsx"):
        path = export_tables({"summary": table}, tmp_path / fmt, fmt)["summary"]
        if fmt == "json":
            rows = json.loads(path.read_text())
        elif fmt == "parquet":
            rows = pq.read_table(path).to_pylist()
        else:
            sheet = openpyxl.load_workbook(path).active
            names = [c.value for c in sheet[1]]
            rows = [dict(zip(names, [c.value for c in row], strict=True)) for row in sheet.iter_rows(2)]
        assert {k: [r[k] for r in rows] for k in expected} == expected, fmt


@pytest.mark.skipif(not CDNOW.exists(), reason="../shared/data not present")
def test_cdnow_summaries_carry_no_float_noise(tmp_path):
    """Every float analyze writes has at most 4 decimals; a summary's shares and means equal its own
    counts and sums divided, rounded (shares to 4 places, means to 2)."""
    from typer.testing import CliRunner

    from segmint.cli import app

    result = CliRunner().invoke(app, ["analyze", str(CDNOW), "--scheme", "tiers", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for path in tmp_path.glob("*.csv"):
        assert re.search(r"(^|,)-?\d+\.\d{5,}(,|$)", path.read_text(), re.MULTILINE) is None, path.name
    summary = pd.read_csv(tmp_path / "summary_tiers.csv")
    customers, revenue = summary["customers"], summary["revenue"]
    assert (summary["share_of_customers"] == (customers / customers.sum()).round(4)).all()
    assert (summary["share_of_revenue"] == (revenue / revenue.sum()).round(4)).all()
    assert ((summary["mean_monetary"] - revenue / customers).abs() <= 0.005 + 1e-9).all()
    buckets = pd.read_csv(tmp_path / "tiers_buckets_frequency.csv")
    per_customer = buckets["visits"] / buckets["customers"]
    assert (buckets["visits_per_customer"] == per_customer.round(2)).all()
    assert buckets["visits_per_customer"].iloc[0] == 11.95  # 26,268 visits of 2,199 customers = 11.9454...


def test_duckdb_copy_writes_nan_infinities_and_halves_as_pandas_does(tmp_path):
    """DuckDB's COPY rounds each float once in a query of its own and formats the rounded value: NaN an
    empty cell, an infinity as itself, halves to even, -0 as 0; the same text as the pandas writer."""
    import ibis

    nan, inf = float("nan"), float("inf")
    frame = pd.DataFrame({
        "segment": ["a", "b", "c", "d", "e", "f"], "revenue": [0.125, 0.375, nan, inf, -inf, -0.001],
        "unit_price": [0.0125, 2.5, nan, inf, 3.0, 1e-9], "mean_frequency": [9.125, 1.0, nan, -inf, 2.0, -0.004],
    })  # fmt: skip
    expected = [  # by hand: 12.5 -> 12 and 37.5 -> 38 (half to even), 912.5 -> 912
        "segment,revenue,unit_price,mean_frequency",
        "a,0.12,0.0125,9.12", "b,0.38,2.50,1.00", "c,,,", "d,inf,inf,-inf", "e,-inf,3.00,2.00", "f,0.00,0.00,0.00",
    ]  # fmt: skip
    table = ibis.duckdb.connect().create_table("summary", frame)
    for name, source in (("duckdb", table), ("pandas", frame)):
        path = export_tables({"summary": source}, tmp_path / name, "csv")["summary"]
        assert path.read_text().splitlines() == expected, name


def test_duckdb_copy_writes_money_as_the_pandas_writer_at_every_size(tmp_path):
    """Money below 1e13 is written through a DECIMAL cast, larger values through printf: the same text
    as the pandas writer (money_text) for random cents, halves, negatives and values either side of 1e13."""
    import random

    import ibis

    rng = random.Random(7)
    values = [rng.randint(-10**15, 10**15) / 100 for _ in range(300)] + [rng.randint(-10**6, 10**6) / 1000 for _ in range(300)]
    values += [9_999_999_999_999.99, 10_000_000_000_000.01, -9_999_999_999_999.995, 0.005, -0.015, 1e20, 123.455]
    frame = pd.DataFrame({"customer": [f"c{i}" for i in range(len(values))], "revenue": values})
    table = ibis.duckdb.connect().create_table("money", frame)
    written = {}
    for name, source in (("duckdb", table), ("pandas", frame)):
        written[name] = export_tables({"money": source}, tmp_path / name, "csv")["money"].read_text()
    assert written["duckdb"] == written["pandas"]
    assert "\nc605,100000000000000000000.00\n" in written["duckdb"]  # 1e20: printf's digits


RECEIVABLES = CDNOW.parents[1] / "receivables" / "WA_Fn-UseC_-Accounts-Receivable.csv"


@pytest.mark.skipif(not RECEIVABLES.exists(), reason="../shared/data not present")
def test_receivables_exports_write_counts_whole_and_floats_in_fixed_point(tmp_path):
    """credit --out wrote whole days as 27.0 and summaries' means with 1 or 2 decimals (20.9 beside
    12.76): every CSV cell of a column that holds decimals has the same number of them, and days are
    written whole."""
    from typer.testing import CliRunner

    from segmint.cli import app

    result = CliRunner().invoke(app, ["credit", str(RECEIVABLES), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    allocations = (tmp_path / "allocations.csv").read_text().splitlines()
    header = allocations[0].split(",")
    days = [line.split(",")[header.index("days_to_pay")] for line in allocations[1:]]
    assert days[:3] == ["27", "13", "14"] and all(re.fullmatch(r"\d*", d) for d in days)  # DaysToSettle
    for path in tmp_path.glob("*.csv"):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            decimals = {len(v.split(".")[1]) for v in frame[column] if re.fullmatch(r"-?\d+\.\d+", v)}
            assert len(decimals) <= 1, (path.name, column, decimals)
