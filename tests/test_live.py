"""segmint.live: change stamps, read-only peeks, snapshots, and retries around another process's lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from segmint.engine import Workspace
from segmint.live import (
    WorkspaceBusyError,
    file_stamp,
    is_lock_error,
    read_version,
    retry_locked,
    snapshot_into,
)
from tests.test_workspace import canonical


def _hold_lock(path, seconds: float, *, read_only: bool = False) -> subprocess.Popen:
    """Another process opens ``path`` for ``seconds``: read-write as `segmint ingest` does, or read-only
    as a dashboard copying it does."""
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r}, read_only={read_only})
        print("locked", flush=True)
        time.sleep({seconds})
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_version_and_snapshot_follow_appends(tmp_path):
    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "c1", "2023-01-02", 10.0), ("A2", 1, "c2", "2023-01-03", 5.0)]),
                  source="/data/jan.csv")
    first = read_version(path)
    assert (first.rows, first.imports) == (2, 1)
    assert first.describe_import() == "jan.csv (+2 rows)"
    copied = snapshot_into(path, tmp_path / "snap.duckdb")
    assert copied.same_data(first)
    snap = duckdb.connect(str(tmp_path / "snap.duckdb"))
    assert snap.execute("select sum(amount) from transactions").fetchone()[0] == pytest.approx(15.0)
    snap.close()
    with Workspace(path) as ws:
        ws.append(canonical([("A3", 1, "c3", "2023-02-01", 7.0)]), source="feb.csv")
    second = read_version(path)
    assert (second.rows, second.imports) == (3, 2)
    assert second.describe_import() == "feb.csv (+1 rows)"
    assert not second.same_data(first)
    # a writer is gone once the workspace is closed: a plain read-write open succeeds again
    duckdb.connect(str(path)).close()


def test_stamp_changes_when_the_file_is_replaced(tmp_path):
    path = tmp_path / "ws.duckdb"
    assert not file_stamp(path).exists
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "c1", "2023-01-02", 10.0)]), source="a.csv")
    before = file_stamp(path)
    assert file_stamp(path) == before  # nothing written, nothing changed
    path.rename(tmp_path / "old.duckdb")  # keep the inode alive so it cannot be reused
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "c1", "2023-01-02", 10.0)]), source="a.csv")
    assert file_stamp(path).identity != before.identity


def test_retry_waits_for_another_process_then_succeeds(tmp_path):
    path = tmp_path / "ws.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold_lock(path, 1.5)
    notes: list[str] = []
    started = time.monotonic()
    try:
        version = retry_locked(lambda: read_version(path, timeout=0), path, timeout=20, on_wait=notes.append)
    finally:
        holder.wait()
    assert time.monotonic() - started >= 0.5
    assert version.rows == -1  # no transactions table yet
    assert len(notes) == 1 and "busy" in notes[0] and str(path) in notes[0]


def test_retry_gives_up_with_a_clear_error(tmp_path):
    path = tmp_path / "ws.duckdb"
    duckdb.connect(str(path)).close()
    holder = _hold_lock(path, 3)
    try:
        with pytest.raises(WorkspaceBusyError, match="in use by another process"):
            read_version(path, timeout=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_only_lock_errors_are_retried():
    calls = []

    def broken():
        calls.append(1)
        raise ValueError("not a lock problem")

    with pytest.raises(ValueError):
        retry_locked(broken, "x.duckdb", timeout=5)
    assert calls == [1]
    assert is_lock_error(RuntimeError('IO Error: Could not set lock on file "x"'))
    assert not is_lock_error(RuntimeError("Catalog Error"))


def test_cli_ingest_waits_for_a_reading_dashboard(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "c1", "2023-01-02", 10.0)]), source="a.csv")
    sales = tmp_path / "more.csv"
    sales.write_text("InvoiceNo,CustomerID,InvoiceDate,Amount\nB1,c2,2023-01-05,4\n")
    reader = _hold_lock(path, 1.5, read_only=True)
    try:
        done = CliRunner().invoke(app, ["ingest", str(sales), "--workspace", str(path)])
    finally:
        reader.wait()
    assert done.exit_code == 0, done.output
    assert "busy" in done.output and "1 new rows added" in done.output
    assert read_version(path).rows == 2
