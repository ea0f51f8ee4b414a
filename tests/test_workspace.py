"""Workspace: canonical rows appended with de-duplication by (invoice_id, line_no)."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from segmint.engine import Workspace
from segmint.errors import BackendError
from segmint.schema import CANONICAL_COLUMNS, CANONICAL_DTYPES


def canonical(rows: list[tuple[str, int, str, str, float]]) -> ibis.Table:
    """Canonical table from (invoice, line, customer, ISO date, amount) tuples."""
    frame = pd.DataFrame(
        {
            "invoice_id": [r[0] for r in rows],
            "line_no": [r[1] for r in rows],
            "customer_id": [r[2] for r in rows],
            "invoice_date": pd.to_datetime([r[3] for r in rows]),
            "product_id": "P1",
            "product_name": None,
            "quantity": 1.0,
            "unit_price": [r[4] for r in rows],
            "amount": [r[4] for r in rows],
            "cost": None,
            "country": "India",
            "org_id": None,
            "is_return": False,
        }
    )
    return ibis.memtable(frame).cast(dict(CANONICAL_DTYPES)).select(*CANONICAL_COLUMNS)


def test_reimport_adds_nothing_and_overlap_adds_only_new_lines(tmp_path):
    path = tmp_path / "ws.duckdb"
    first = canonical([("A1", 1, "c1", "2023-01-02", 10.0), ("A1", 2, "c1", "2023-01-02", 5.0),
                       ("A2", 1, "c2", "2023-02-03", 7.5)])
    with Workspace(path) as ws:
        assert ws.append(first, source="jan.csv") == (3, 0)
        assert ws.append(first, source="jan.csv") == (0, 3)
    # a later export overlapping one invoice line, reopened from disk
    second = canonical([("A2", 1, "c2", "2023-02-03", 7.5), ("A3", 1, "c1", "2023-03-04", 2.0)])
    with Workspace(path) as ws:
        assert ws.append(second, source="feb.csv") == (1, 1)
        stored = ws.transactions().order_by(["invoice_id", "amount"]).execute()
        imports = ws.imports().execute()
    assert list(zip(stored.invoice_id, stored.amount)) == [("A1", 5.0), ("A1", 10.0), ("A2", 7.5), ("A3", 2.0)]
    assert stored.amount.sum() == pytest.approx(24.5)
    assert stored.invoice_date.iloc[3] == pd.Timestamp(dt.date(2023, 3, 4))
    assert list(imports.rows_added) == [3, 0, 1]
    assert list(imports.rows_offered) == [3, 3, 2]


def test_identical_lines_within_one_import_are_all_stored_and_reimport_adds_none(tmp_path):
    rows = canonical([("B1", 1, "c1", "2023-01-02", 10.0), ("B1", 1, "c1", "2023-01-02", 10.0)])
    with Workspace(tmp_path / "ws.duckdb") as ws:
        assert ws.append(rows) == (2, 0)
        assert ws.append(rows) == (0, 2)
        assert ws.transactions().count().execute() == 2


def test_empty_workspace_explains_how_to_fill_it(tmp_path):
    with Workspace(tmp_path / "empty.duckdb") as ws, pytest.raises(BackendError, match="segmint ingest"):
        ws.transactions()
