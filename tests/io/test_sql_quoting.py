"""Column names with quotes, apostrophes and spaces survive every reader that builds SQL (one quoting helper)."""

from __future__ import annotations

import json

import ibis
import pandas as pd
import pytest

from segmint.io import read_raw
from segmint.io.base import sql_identifier, sql_string

NAMES = ['Customer "id"', "Buyer's note", "Amount; net"]


def test_helpers_double_the_quote_characters() -> None:
    assert sql_identifier('a"b') == '"a""b"'
    assert sql_string("it's") == "'it''s'"
    con = ibis.duckdb.connect()
    row = con.raw_sql(f"SELECT {sql_string(NAMES[1])} AS {sql_identifier(NAMES[0])}").fetchall()
    assert row == [(NAMES[1],)]


@pytest.mark.parametrize("kind", ["csv", "json", "parquet"])
def test_readers_keep_awkward_column_names(kind, tmp_path) -> None:
    frame = pd.DataFrame({NAMES[0]: ["A", "B"], NAMES[1]: ["x", "y'z"], NAMES[2]: ["1.5", "2"]})
    path = tmp_path / f"sales.{kind}"
    if kind == "csv":
        frame.to_csv(path, index=False)
    elif kind == "json":
        path.write_text(json.dumps(frame.to_dict("records")))
    else:
        frame.to_parquet(path, index=False)
    raw = read_raw(path, con=ibis.duckdb.connect())
    assert raw.columns == NAMES
    got = raw.table.order_by("_row").execute()
    assert got[NAMES[1]].tolist() == ["x", "y'z"]
    assert [str(v) for v in got[NAMES[2]]] == ["1.5", "2"]
