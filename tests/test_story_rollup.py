"""The workspace's story rollup (per customer-month totals): exact through appends, rebuilt for old workspaces."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import segmint.story as story_module
from segmint import api
from segmint.story import build_story
from segmint.workspace import Workspace
from tests.test_workspace import canonical

D = dt.date

FIRST = [  # invoice, line, customer, date, amount
    ("I1", 1, "c1", "2024-01-05", -10.0),  # a credit alone: no purchase yet
    ("I2", 1, "c1", "2024-01-20", 25.0),
    ("I3", 1, "c2", "2024-01-07", 40.0),
    ("I3", 2, "c2", "2024-01-07", 2.5),
    ("I4", 1, "c2", "2024-03-30", 15.0),
]
SECOND = [
    ("I1", 2, "c1", "2024-02-03", 30.0),  # more of invoice I1: now +20, a purchase dated 2024-01-05
    ("I3", 1, "c2", "2024-01-07", 40.0),  # already stored: not added again
    ("I5", 1, "c3", "2024-04-02", 12.0),
]


def months(path: Path) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute("SELECT * FROM story_months ORDER BY customer_id, month").df()


def workspace(tmp_path: Path) -> Path:
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(canonical(FIRST), source="first")
        ws.append(canonical(SECOND), source="second")
    return path


def test_appends_keep_the_rollup_exact(tmp_path):
    path = workspace(tmp_path)
    got = months(path)
    c1 = got[got.customer_id == "c1"].reset_index(drop=True)
    # by hand: January holds the credit (-10) and I2 (25); February the +30 line of I1. I1 as a whole
    # (+20) is a purchase dated by its first line, 2024-01-05; by days, 2024-01-05 (-10) is not one
    assert list(c1.net) == [15.0, 30.0]
    assert list(c1.invoices.fillna(0)) == [2, 0]
    assert c1.invoice_first[0].date() == D(2024, 1, 5) and c1.invoice_last[0].date() == D(2024, 1, 20)
    assert list(c1.days.fillna(0)) == [1, 1]
    assert c1.day_first[0].date() == D(2024, 1, 20) and c1.day_first[1].date() == D(2024, 2, 3)
    c2 = got[got.customer_id == "c2"].reset_index(drop=True)
    assert list(c2.net) == [42.5, 15.0] and list(c2.invoices) == [1, 1]  # I3 counted once
    assert list(got[got.customer_id == "c3"].net) == [12.0]
    with duckdb.connect(str(path), read_only=True) as db:
        assert db.execute("SELECT sum(lines) FROM story_days").fetchone()[0] == 7
        assert db.execute("SELECT max(lines) FROM story_rollup_state").fetchone()[0] == 7


def test_story_from_the_rollup_equals_the_story_from_the_lines(tmp_path, monkeypatch):
    path = workspace(tmp_path)
    ws = Workspace(path, create=False)
    lines = ws.transactions()
    for scheme in ("rfm", "value"):
        expected = build_story(lines, scheme=scheme, period="month")
        monkeypatch.setattr(story_module, "period_activity", lambda *a, **k: pytest.fail("read the lines"))
        got = api.story(api.read_transactions(str(path), con=ws.con), scheme=scheme, period="month")
        monkeypatch.undo()
        pd.testing.assert_frame_equal(got.story, expected.story)
        pd.testing.assert_frame_equal(got.period_segments.execute(), expected.period_segments.execute())
        pd.testing.assert_frame_equal(got.retention, expected.retention)


def test_an_older_workspace_builds_its_rollup_on_first_use(tmp_path):
    path = workspace(tmp_path)
    expected = months(path)
    with duckdb.connect(str(path)) as db:  # as written before rollups existed, then appended to
        db.execute("DROP TABLE story_months; DROP TABLE story_days; DROP TABLE story_rollup_state")
    with Workspace(path) as ws:
        ws.append(canonical([("I6", 1, "c4", "2024-05-01", 8.0)]), source="third")
        assert "story_months" not in ws.con.list_tables()  # no partial rollup from one import
        ws.rollup()
    got = months(path)
    assert len(got) == len(expected) + 1
    pd.testing.assert_frame_equal(got[got.customer_id != "c4"].reset_index(drop=True), expected)
    with duckdb.connect(str(path)) as db:  # lines written behind segmint's back: the rollup is stale
        db.execute("INSERT INTO transactions (customer_id, invoice_id, invoice_date, amount) "
                   "VALUES ('c5', 'I7', TIMESTAMP '2024-06-01', 5.0)")
    with Workspace(path) as ws:
        assert ws.rollup().months.filter(lambda t: t.customer_id == "c5").count().execute() == 1
