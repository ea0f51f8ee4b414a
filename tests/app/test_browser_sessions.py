"""Two browsers on one dashboard started without data: an upload is its session's only, and survives a reload."""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import serve
from .test_browser import ARGS, CHROMIUM, SHOTS, UPLOAD_CSV

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def empty_server() -> Iterator[tuple[str, object]]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    pytest.importorskip("playwright")
    from segmint.app import create_app

    app = create_app(max_upload_mb=5)  # no files, no workspace: every session starts empty
    with serve(app) as url:
        yield url, app.segmint_state


def _customers_shown(page, expected: str) -> None:
    page.wait_for_function(
        f"document.querySelector('#kpi-customers') && document.querySelector('#kpi-customers').innerText === '{expected}'",
        timeout=120_000,
    )


def test_an_upload_is_invisible_to_another_session(empty_server, tmp_path) -> None:
    from playwright.sync_api import sync_playwright

    server, state = empty_server
    path = tmp_path / "private shop.csv"
    path.write_text(UPLOAD_CSV)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        alice = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        alice.goto(server + "/upload", timeout=120_000)
        alice.wait_for_selector("#upload-input", state="attached", timeout=90_000)
        alice.set_input_files("#upload-input", str(path))
        alice.wait_for_function("document.querySelector('#upload-report').innerText.includes('Rows read')",
                                timeout=120_000)
        assert str(state.upload_root) not in alice.content()  # no server path in what the page got
        alice.click("#upload-run")
        # Run's own answer (the upload's note before it also names the file)
        alice.wait_for_function(
            "document.querySelector('#upload-message').innerText.includes('private_shop.csv loaded')",
            timeout=120_000)
        alice.screenshot(path=str(SHOTS / "upload-run.png"), full_page=True)
        alice.click("a.nav-link:has-text('Overview')")
        _customers_shown(alice, "3")  # by hand: A, B, C (U4 has no customer)

        # the Segments page's Export CSV writes numbers (not "1,234" or "33.3%")
        alice.click("a.nav-link:has-text('Segments')")
        alice.wait_for_selector("#segments-grid .ag-row", timeout=120_000)
        with alice.expect_download() as download:
            alice.click("#segments-export")
        exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
        rows = list(csv.DictReader(io.StringIO(exported)))
        body = exported.split("\n", 1)[1]
        assert rows and "%" not in body and not any("," in value for r in rows for value in r.values())
        assert sum(float(r["Customers"]) for r in rows) == 3
        assert sum(float(r["Revenue"]) for r in rows) == 53.0  # by hand: A 25, B 25, C 3
        assert all(0 < float(r["% customers"]) <= 1 for r in rows)

        # a second browser (its own cookies) opens the same server: it sees nothing of Alice's
        bob = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        bob.goto(server + "/", timeout=120_000)
        bob.wait_for_function("document.querySelector('#dataset-label') && "
                              "document.querySelector('#dataset-label').innerText.includes('no data loaded')",
                              timeout=120_000)
        bob.wait_for_timeout(1500)
        assert "private_shop" not in bob.content()
        assert bob.locator("#kpi-customers").count() == 0 or bob.locator("#kpi-customers").inner_text() != "3"
        bob.screenshot(path=str(SHOTS / "second-session-empty.png"), full_page=True)
        bob.goto(server + "/customers", timeout=120_000)
        bob.wait_for_timeout(2000)
        assert "private_shop" not in bob.content()

        # Alice reloads the Overview: her upload is still her data
        alice.click("a.nav-link:has-text('Overview')")
        _customers_shown(alice, "3")
        alice.reload(timeout=120_000)
        _customers_shown(alice, "3")
        assert "private_shop.csv" in alice.locator("#dataset-label").inner_text()
        browser.close()
    sessions = [s for s in (state.sessions.get(i) for i in list(state.sessions._sessions)) if s and s.uploads]
    assert len(sessions) == 1  # only Alice's session holds an upload
