"""segment_summary KPIs by hand, export round trips and formula-injection neutralising."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmint.errors import ConfigError
from segmint.report import export_table, neutralise_formulas, rfm_strategies, segment_summary

LABELLED = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "recency_days": [10, 30, 200, 400],
        "frequency": [4, 2, 1, 1],
        "monetary": [400.0, 100.0, 50.0, 10.0],
        "revenue": [400.0, 100.0, 50.0, 10.0],
        "avg_order_value": [100.0, 50.0, 50.0, 10.0],
        "segment": ["Champions", "Champions", "Lost", "Lost"],
        "segment_order": [10, 10, 0, 0],
    }
)


@pytest.mark.parametrize("as_ibis", [False, True])
def test_segment_summary_by_hand(as_ibis):
    source = ibis.memtable(LABELLED) if as_ibis else LABELLED
    summary = segment_summary(source).set_index("segment")
    assert summary.index.tolist() == ["Champions", "Lost"]
    champions, lost = summary.loc["Champions"], summary.loc["Lost"]
    assert (champions.customers, champions.share_of_customers) == (2, 0.5)
    assert champions.revenue == 500.0 and champions.share_of_revenue == pytest.approx(500 / 560)
    assert champions.mean_recency_days == 20.0 and champions.mean_frequency == 3.0
    assert champions.mean_monetary == 250.0 and champions.aov == pytest.approx(500 / 6)
    assert lost.revenue == 60.0 and lost.aov == 30.0 and lost.mean_recency_days == 300.0
    assert champions.strategy == rfm_strategies()["Champions"]


def test_segment_money_is_summed_without_float_noise():
    """0.1 + 0.2 + 0.3 is 0.6000000000000001 in floats and its mean 0.20000000000000004: a segment's revenue
    and mean monetary are the exact 0.6 and 0.2, so shares do not follow the summation order."""
    labelled = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d"], "recency_days": [1, 2, 3, 4], "frequency": [1, 1, 1, 1],
        "monetary": [0.1, 0.2, 0.3, 0.4], "revenue": [0.1, 0.2, 0.3, 0.4],
        "segment": ["A", "A", "A", "B"], "segment_order": [1, 1, 1, 0],
    })  # fmt: skip
    summary = segment_summary(ibis.memtable(labelled)).set_index("segment")
    assert summary.loc["A", "revenue"] == 0.6 and summary.loc["A", "mean_monetary"] == 0.2
    assert summary.loc["A", "share_of_revenue"] == 0.6 / (0.6 + 0.4)


def test_every_rfm_segment_has_a_strategy():
    from segmint.segment.rfm import RFMConfig

    assert {s.name for s in RFMConfig().segments} | {"Inactive"} == set(rfm_strategies())  # + the story's


def test_levels_summary_carries_strategies():
    from segmint.report import segment_strategies
    from segmint.segment.levels import LevelsConfig

    labelled = pd.DataFrame({"customer_id": ["a", "b"], "segment": ["Loyal", "Require Activation"],
                             "segment_order": [4, 0], "recency_days": [5, 90], "frequency": [3, 1],
                             "monetary": [30.0, 5.0], "revenue": [30.0, 5.0],
                             "avg_order_value": [10.0, 5.0]})  # fmt: skip
    summary = segment_summary(labelled, segment_strategies(LevelsConfig())).set_index("segment")
    assert summary.loc["Loyal", "strategy"].startswith("Recognise and reward")
    assert summary.loc["Require Activation", "strategy"].startswith("Cheap reactivation")
    assert segment_strategies(scheme="levels") == segment_strategies(LevelsConfig())


TRICKY = pd.DataFrame(
    {
        "customer_id": ["=HYPERLINK(\"http://x\")", "+1-2", "-3+cmd|' /C calc'!A0", "@SUM(A1)", "ok", None],
        "amount": [1.5, -2.0, 3.0, 4.25, 0.0, 7.0],
        "when": pd.to_datetime(["2023-01-02"] * 6),
    }
)


def test_neutralise_formulas():
    safe = neutralise_formulas(TRICKY)
    assert safe.customer_id.tolist()[:5] == [
        "'=HYPERLINK(\"http://x\")", "'+1-2", "'-3+cmd|' /C calc'!A0", "'@SUM(A1)", "ok",
    ]  # fmt: skip
    assert pd.isna(safe.customer_id.iloc[5])
    assert safe.amount.tolist() == TRICKY.amount.tolist()  # numbers untouched (negative stays numeric)
    assert TRICKY.customer_id.iloc[0].startswith("=")  # input not modified


def test_csv_round_trip_is_neutralised(tmp_path):
    path = export_table(TRICKY, tmp_path / "out.csv")
    back = pd.read_csv(path)
    assert back.customer_id.tolist()[:4] == ["'=HYPERLINK(\"http://x\")", "'+1-2", "'-3+cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert back.amount.tolist()[:2] == [1.5, -2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]  # no temp file left behind


def test_xlsx_round_trip_has_no_formulas(tmp_path):
    import openpyxl

    path = export_table(ibis.memtable(TRICKY), tmp_path / "out.xlsx")
    sheet = openpyxl.load_workbook(path).active
    cells = [c.value for c in sheet["A"]]
    assert cells[:5] == ["customer_id", "'=HYPERLINK(\"http://x\")", "'+1-2", "'-3+cmd|' /C calc'!A0", "'@SUM(A1)"]
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert [c.value for c in sheet["B"]][1:3] == [1.5, -2.0]


@pytest.mark.parametrize("as_ibis", [False, True])
def test_parquet_round_trip_keeps_values(tmp_path, as_ibis):
    source = ibis.memtable(TRICKY) if as_ibis else TRICKY
    back = pd.read_parquet(export_table(source, tmp_path / "out.parquet"))
    assert back.customer_id.tolist()[:4] == TRICKY.customer_id.tolist()[:4]  # raw values, not a sheet
    assert back.amount.tolist() == TRICKY.amount.tolist()
    assert back.when.tolist() == TRICKY.when.tolist()


def test_unknown_extension(tmp_path):
    with pytest.raises(ConfigError, match=r"\.pdf.*use \.csv, \.json, \.xlsx or \.parquet"):
        export_table(TRICKY, tmp_path / "out.pdf")


EDGES = pd.DataFrame(
    {
        "customer_id": ["=1+1", "+49 30", "plain, with comma", 'say "hi"', "line\nbreak", "", None, "-5", "@x", "\tTab"],
        # half-cent ties (exact and inexact), float-sum noise, -0, missing, huge, infinite
        "revenue": [0.125, 2.675, 1.005, 2566.74 / 4, -0.0, 0.1 + 0.2, float("nan"), 1e17, float("inf"), -2.5],
        "unit_price": [0.012499999999, 1 / 3, 2.5, 0.00005, 1.23456789, 0.0, 99.99995, -0.00015, 7.0, None],
        "share_of_revenue": [1 / 3, 2 / 3, 0.0, -0.0, 1e-7, 1e20, float("-inf"), 0.5, None, 0.1 + 0.2],
        "frequency": list(range(10)),
        "is_new": [True, False] * 5,
        "first_purchase": [dt.date(1997, 1, d) for d in range(1, 11)],
        "last_seen": pd.to_datetime(["2011-12-09 12:50:00"] * 9 + ["2011-12-09 00:00:00"]),
    }
)


def test_csv_writers_write_what_pandas_writes(tmp_path):
    """DuckDB's COPY (engine tables) and the row writer (small Arrow tables) write the same text as the
    pandas path: money by the same rounding rule, the same neutralised text, floats, booleans and dates."""
    import pyarrow as pa

    by_pandas = export_table(EDGES, tmp_path / "pandas.csv").read_text()
    con = ibis.duckdb.connect()
    by_duckdb = export_table(con.create_table("edges", EDGES), tmp_path / "duckdb.csv").read_text()
    by_rows = export_table(pa.Table.from_pandas(EDGES, preserve_index=False), tmp_path / "rows.csv").read_text()
    assert by_duckdb == by_pandas
    assert by_rows == by_pandas
    lines = by_pandas.splitlines()
    assert lines[1].startswith("'=1+1,0.12,0.0125,")  # half to even of 12.5 cents; a formula neutralised
    # by hand: 2.675 x 100 = 267.5 in floating point (even: 268), 1.005 x 100 = 100.49999999999999
    assert ",2.68," in lines[2] and ",1.00," in lines[3] and ",641.68," in lines[4]
    # money shows every decimal (unit prices 2 to 4); a share is rounded to 4 places and shows them: 1/3 ->
    # 0.3333, 0.0 -> 0.0000
    assert lines[3].startswith('"plain, with comma",1.00,2.50,0.0000,') and lines[2].startswith("'+49 30,2.68,0.3333,0.6667,")


def test_money_total_is_exact_in_any_order() -> None:
    # 1e15 + 0.01 loses the cent in float64 (a unit in the last place of 1e15 is 0.125); by hand the
    # total is 0.02 in every order
    import ibis

    from segmint.features import money_total

    values = [1e15, 0.01, -1e15, 0.01]
    for order in (values, values[::-1], [0.01, 0.01, 1e15, -1e15]):
        table = ibis.memtable({"revenue": order})
        assert ibis.duckdb.connect().execute(table.aggregate(total=money_total(table.revenue)))["total"][0] == 0.02


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from([0.0, -0.0, 3.0]), st.floats(-1e9, 1e9).map(lambda v: round(v, 2))),
             max_size=24),  # fmt: skip
    st.floats(-1e6, 1e6),
)
def test_summary_shares_are_arrows_to_the_bit(values, scale):
    """The summary's sums and divisions, done without ``pyarrow.compute`` for a segment-sized column,
    give exactly what ``pyarrow.compute`` gives (checked against it: Arrow's block-wise float sum, IEEE
    division with x/0 = inf or NaN, NULLs kept)."""
    import math

    import pyarrow as pa
    import pyarrow.compute as pc

    import ibis

    from segmint.report import _arrow_sum, _divided
    from segmint.results import Columns

    def same(a, b):
        return (a is None and b is None) or (a is not None and b is not None and (
            (a != a and b != b) or (a == b and math.copysign(1, a) == math.copysign(1, b))))  # fmt: skip

    column = pa.array(values, pa.float64())
    total = _arrow_sum(values)
    assert same(pc.sum(column).as_py(), total)
    denominators = [None if v is None else round(v * scale, 1) for v in values]
    expected = pc.divide(column, pa.array(denominators, pa.float64())).to_pylist()
    assert all(same(a, b) for a, b in zip(expected, _divided(values, denominators), strict=True))
    if total is not None:
        assert all(same(a, b) for a, b in zip(pc.divide(column, total).to_pylist(), _divided(values, total), strict=True))
    as_arrow = Columns(ibis.schema({"x": "float64"}), {"x": values}).to_arrow()["x"]
    assert as_arrow.type == pa.float64()
    assert all(same(a, b) for a, b in zip(as_arrow.to_pylist(), values, strict=True))


NUMBER_LIKE = pd.DataFrame({"customer_id": ["-5", "+3", "-12.50", "=SUM(A1)", "-2+3", "@cmd", "-", "\t5", "-1e5"]})
NUMBER_LIKE_WRITTEN = ["-5", "+3", "-12.50", "'=SUM(A1)", "'-2+3", "'@cmd", "'-", "'\t5", "'-1e5"]


@pytest.mark.parametrize("source", ["pandas", "duckdb", "arrow"])
def test_a_plain_number_is_not_a_formula(tmp_path, source):
    """A customer id ``-5`` is exported as ``-5`` (not ``'-5``) by every CSV writer; formulas stay neutralised."""
    import pyarrow as pa

    table = {"pandas": NUMBER_LIKE, "duckdb": ibis.duckdb.connect().create_table("t", NUMBER_LIKE),
             "arrow": pa.Table.from_pandas(NUMBER_LIKE)}[source]  # fmt: skip
    path = export_table(table, tmp_path / "out.csv")
    assert pd.read_csv(path, dtype=str, keep_default_na=False).customer_id.tolist() == NUMBER_LIKE_WRITTEN
    assert neutralise_formulas(NUMBER_LIKE).customer_id.tolist() == NUMBER_LIKE_WRITTEN


def test_a_plain_number_is_not_a_formula_in_excel(tmp_path):
    import openpyxl

    sheet = openpyxl.load_workbook(export_table(NUMBER_LIKE, tmp_path / "out.xlsx")).active
    assert [c.value for c in sheet["A"]][1:] == NUMBER_LIKE_WRITTEN
