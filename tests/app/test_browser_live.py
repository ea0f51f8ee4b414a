"""Live data in the browser: `segmint ingest` appends to the served workspace; the open page follows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.app.test_browser import ARGS, CHROMIUM, SHOTS

pytestmark = pytest.mark.browser

NEW_SALES = """InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country
LIVE1,LIVE-CUSTOMER-1,{day},1,10.00,France
LIVE2,LIVE-CUSTOMER-2,{day},2,5.00,Spain
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ingest_while_serving_shows_new_customers(tmp_path: Path) -> None:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright
    from waitress import create_server

    from segmint.api import read_transactions
    from segmint.app import create_app
    from segmint.datasets import make_transactions
    from segmint.engine import Workspace

    raw = tmp_path / "first.csv"
    frame = make_transactions(n_customers=150, years=1, seed=5)
    frame.to_csv(raw, index=False)
    workspace = tmp_path / "shop.duckdb"
    with Workspace(workspace) as ws:
        tx = read_transactions(str(raw), con=ws.con)
        ws.append(tx.table, source=raw.name)
        before = int(tx.table.customer_id.nunique().execute())
        last_day = tx.table.invoice_date.max().execute()
    app = create_app(workspace=workspace, refresh_seconds=1)
    port = _free_port()
    server = create_server(app.server, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_function(
                f"document.querySelector('#kpi-customers')?.innerText.replace(/,/g, '') === '{before}'",
                timeout=90_000)
            assert "data updated" in page.locator("#live-status").inner_text()
            # the real CLI, in its own process, appends while the dashboard serves the same file
            new = tmp_path / "new_sales.csv"
            new.write_text(NEW_SALES.format(day=f"{last_day:%Y-%m-%d}"))
            done = subprocess.run([sys.executable, "-m", "segmint.cli", "ingest", str(new), "--workspace",
                                   str(workspace)], capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stderr
            assert "2 new rows added" in done.stdout
            page.wait_for_function(
                f"document.querySelector('#kpi-customers')?.innerText.replace(/,/g, '') === '{before + 2}'",
                timeout=90_000)
            page.wait_for_function(
                "document.querySelector('#live-status').innerText.includes('new_sales.csv (+2 rows)')",
                timeout=30_000)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "live.png"))
            browser.close()
    finally:
        server.close()
        app.segmint_live.stop()
        app.segmint_state.close()
