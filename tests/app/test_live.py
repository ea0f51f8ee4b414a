"""The dashboard follows a workspace: new imports become a new snapshot; tabs move to it."""

from __future__ import annotations

import pytest

from segmint.app.live import LiveWorkspace
from segmint.app.state import AppState
from segmint.engine import Workspace
from tests.test_live import _hold_lock
from tests.test_workspace import canonical

JAN = [("A1", 1, "c1", "2023-01-02", 10.0), ("A2", 1, "c2", "2023-01-03", 5.0)]
FEB = [("A3", 1, "c3", "2023-02-01", 7.0), ("A4", 1, "c1", "2023-02-02", 1.0)]


def _customers(state: AppState, dataset_id: str) -> int:
    table = state.dataset(dataset_id).table
    return int(table.customer_id.nunique().execute())


@pytest.fixture
def workspace(tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(canonical(JAN), source="jan.csv")
    return path


@pytest.fixture
def follower(workspace):
    state = AppState()
    live = LiveWorkspace(state, workspace, interval=60)
    live.load()
    yield live
    live.stop()
    state.close()


def test_new_import_becomes_the_default_dataset(follower, workspace):
    state, first = follower.state, follower.status.dataset_id
    assert _customers(state, first) == 2
    assert follower.check() is False  # nothing changed
    with Workspace(workspace) as ws:
        ws.append(canonical(FEB), source="feb.csv")
    assert follower.check() is True
    second = follower.status.dataset_id
    assert second != first and state.default_dataset_id == second
    assert _customers(state, second) == 3
    assert follower.newer_than(first) == second  # a tab still on the old snapshot moves
    assert follower.newer_than(second) is None
    assert follower.newer_than("an-uploaded-dataset") is None  # uploads are left alone
    text = follower.status.text()
    assert text.startswith("data updated ") and "feb.csv (+2 rows)" in text
    assert follower.status.as_dict()["rows"] == 4


def test_reimport_of_the_same_lines_keeps_the_snapshot(follower, workspace):
    first = follower.status.dataset_id
    with Workspace(workspace) as ws:
        ws.append(canonical(JAN), source="jan.csv")  # adds nothing, but the import log grows
    assert follower.check() is True  # a new import entry is news (shown in the status) ...
    assert _customers(follower.state, follower.status.dataset_id) == 2  # ... with the same customers
    assert follower.status.dataset_id != first


def test_replaced_file_is_followed_and_a_missing_one_is_reported(follower, workspace, tmp_path):
    workspace.rename(tmp_path / "old.duckdb")
    assert follower.check() is False
    assert "missing" in follower.status.text()
    with Workspace(workspace) as ws:
        ws.append(canonical(FEB[:1]), source="new.csv")
    assert follower.check() is True
    assert _customers(follower.state, follower.status.dataset_id) == 1
    assert "missing" not in follower.status.text()


def test_a_writer_holding_the_file_delays_the_refresh(follower, workspace):
    with Workspace(workspace) as ws:
        ws.append(canonical(FEB), source="feb.csv")
    holder = _hold_lock(workspace, 3)
    try:
        assert follower.check() is False
        assert "import is running" in follower.status.text()
        assert _customers(follower.state, follower.status.dataset_id) == 2  # still serving the old data
    finally:
        holder.kill()
        holder.wait()
    assert follower.check() is True
    assert _customers(follower.state, follower.status.dataset_id) == 3
    assert "import is running" not in follower.status.text()
