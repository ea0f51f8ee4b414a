"""Small frames as in-memory tables named by their content (segmint.memtables): the same frame, the same
table; other data, another name; and the SQL that reads them is cached like any other."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest

from segmint import engine, memtables, sql_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGMINT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("SEGMINT_SQL_CACHE", raising=False)
    return tmp_path / "sql"


def _periods(**changes) -> pd.DataFrame:
    frame = pd.DataFrame({"period_index": [0, 1], "period": ["2024-Q1", "2024-Q2"],
                          "start": [dt.date(2024, 1, 1), dt.date(2024, 4, 1)], "share": [0.5, 1.0]})
    return frame.assign(**changes)


def test_the_same_content_is_the_same_table_and_other_content_another_name():
    table = memtables.frame_table(_periods())
    name = table.op().name
    assert name.startswith(memtables.CONTENT_PREFIX)
    assert memtables.frame_table(_periods()).op() is table.op()  # a copy of the frame: the same table
    others = [
        _periods(share=[0.5, 1.0 + 1e-15]),  # a value
        _periods(period_index=[0.0, 1.0]),  # a type
        _periods().rename(columns={"share": "coverage"}),  # a column name
        _periods().iloc[::-1],  # the order of the rows
        _periods(period=["2024-Q1", None]),  # a missing value
    ]
    names = {memtables.frame_table(frame).op().name for frame in others}
    assert name not in names and len(names) == len(others)
    arrow = pa.table({"v": [1, 2, None]})
    assert memtables.frame_table(arrow).op().name == memtables.frame_table(pa.table({"v": [1, 2, None]})).op().name
    assert memtables.frame_table(arrow).op().name != memtables.frame_table(pa.table({"v": [1, 2, 0]})).op().name


def test_a_query_reading_one_frame_twice_runs(cache):
    con = engine.connect()
    left, right = memtables.frame_table(_periods()), memtables.frame_table(_periods())
    joined = left.join(right.select("period_index", later=right.share), "period_index")
    assert con.to_pyarrow(joined.order_by("period_index")).column("later").to_pylist() == [0.5, 1.0]


def test_queries_of_content_named_tables_are_cached_and_read_their_own_rows(cache):
    con = engine.connect()

    def total(frame):
        table = memtables.frame_table(frame)
        return table.share.sum()

    sql = con.compile(total(_periods()))
    assert len(list(cache.iterdir())) == 1
    calls = []
    assert sql_cache.compile_cached(con, total(_periods()), lambda: calls.append(1) or "", None) == sql
    assert calls == []
    expr = total(_periods(share=[2.0, 3.0]))  # other rows: another name, so another key
    assert sql_cache.expression_key(con, expr) != sql_cache.expression_key(con, total(_periods()))
    assert con.execute(expr) == pytest.approx(5.0) and con.execute(total(_periods())) == pytest.approx(1.5)


def test_large_frames_keep_ibis_own_names(monkeypatch):
    monkeypatch.setattr(memtables, "MAX_ROWS", 1)
    assert not memtables.frame_table(_periods()).op().name.startswith(memtables.CONTENT_PREFIX)
