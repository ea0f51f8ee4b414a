"""The HTML report: every section with hand-checked numbers; opened in Chromium with the network blocked."""

from __future__ import annotations

import os
import re

import ibis
import pytest
from typer.testing import CliRunner

import segmint
from segmint.cli import app
from segmint.report_html import html_report, write_html_report
from tests.app.conftest import hand_frame

# By hand: A 150 (2 orders), B 200 (1), C 60 (3), E 5 (1); D nets to zero -> 4 customers, 415, 7 orders.


@pytest.fixture(scope="module")
def result():
    table = ibis.duckdb.connect().create_table("tx", hand_frame())
    return segmint.analyze(table, scheme=["rfm", "levels", "tiers"], story_period="quarter")


def test_report_has_every_section_and_the_hand_numbers(result) -> None:
    page = html_report(result, title="Shop <1>", source="hand.csv")
    assert "<title>Shop &lt;1&gt;</title>" in page  # escaped
    kpis = dict(re.findall(r'<div class="t">([^<]+)</div><div class="v">([^<]+)</div>', page))
    assert kpis == {"Customers": "4", "Revenue": "415.00", "Orders": "7", "Avg order value": f"{415 / 7:,.2f}",
                    "Recent": "75.0%"}
    assert "1 customer(s) whose purchases net to zero" in page  # D
    # orders are purchases (invoices, or customer-days without an invoice column), not always invoices
    assert "purchases with a positive net value" in page and "invoices with a positive" not in page
    for anchor in ("quality", "rfm", "levels", "tiers", "story"):
        assert f'id="{anchor}"' in page or f"id='{anchor}'" in page
    assert "Migration: where each segment" in page and "Retention per period" in page
    assert "<script src" not in page and "<link" not in page  # nothing to fetch: plotly.js is inline
    assert page.count("Plotly.newPlot") == page.count('class="chart"') >= 8
    # the RFM table's customers add up to 4, revenue to 415.00
    rfm = page.split('id="rfm"')[1].split("<h2")[0]
    rows = re.findall(r"<tr><td[^>]*>[^<]+</td><td class=\"num\">([\d,]+)</td><td class=\"num\">[^<]+</td>"
                      r"<td class=\"num\">([\d,.]+)</td>", rfm)
    assert sum(int(c) for c, _ in rows) == 4
    assert sum(float(r.replace(",", "")) for _, r in rows) == pytest.approx(415.0)


def test_cli_report_writes_one_file(tmp_path) -> None:
    sales = tmp_path / "sales.csv"
    hand_frame().rename(columns={"invoice_id": "InvoiceNo", "customer_id": "CustomerID",
                                 "invoice_date": "InvoiceDate", "amount": "Amount"})[
        ["InvoiceNo", "CustomerID", "InvoiceDate", "Amount"]].to_csv(sales, index=False)
    out = tmp_path / "report.html"
    done = CliRunner().invoke(app, ["report", str(sales), "--out", str(out), "--scheme", "rfm"])
    assert done.exit_code == 0, done.output
    assert "opens offline" in done.output
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="rfm"' in text and 'id="tiers"' not in text


@pytest.mark.browser
def test_report_renders_in_chromium_with_the_network_blocked(result, tmp_path) -> None:
    chromium = "/usr/bin/chromium"
    if not os.path.exists(chromium):
        pytest.skip(f"{chromium} not installed")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    from tests.app.test_browser import ARGS, SHOTS

    path = write_html_report(result, tmp_path / "report.html")
    n_charts = path.read_text().count('class="chart"')
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        context = browser.new_context(offline=True, viewport={"width": 1300, "height": 900})
        requested: list[str] = []

        def only_the_file(route) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                requested.append(route.request.url)
                route.abort()

        context.route("**/*", only_the_file)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(path.as_uri())
        page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_charts}",
                               timeout=90_000)
        assert page.evaluate("typeof Plotly") == "object"
        assert page.locator("h1").inner_text() == "Customer segments"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "report.png"))
        # a phone: the tables (CDNOW's 995 px) and 480 px chart columns made the page scroll sideways
        phone = context.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(path.as_uri())
        phone.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_charts}",
                                timeout=90_000)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=str(SHOTS / "report_390.png"), full_page=True)
        browser.close()
    assert requested == [] and errors == []


def test_summary_shares_read_as_the_cli_shows_them() -> None:
    """CDNOW's 7 Promising customers of 23,502 (89.97 of 2,500,315.63) read '0.0%' in the report where
    the CLI and the dashboard show '<0.1%'; zero stays 0.0%."""
    import pandas as pd

    from segmint.report_html import SUMMARY_COLUMNS, _table

    frame = pd.DataFrame({"segment": ["Promising", "Champions", "None"], "customers": [7, 5870, 0],
                          "share_of_customers": [7 / 23502, 5870 / 23502, 0.0],
                          "revenue": [89.97, 1710059.53, 0.0],
                          "share_of_revenue": [89.97 / 2500315.63, 1710059.53 / 2500315.63, 0.0]})
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", _table(frame, SUMMARY_COLUMNS))
    assert cells == ["Promising", "7", "&lt;0.1%", "89.97", "&lt;0.1%",  # escaped "<0.1%"
                     "Champions", "5,870", "25.0%", "1,710,059.53", "68.4%",
                     "None", "0", "0.0%", "0.00", "0.0%"]


def test_the_value_section_is_titled_by_what_it_ranked() -> None:
    """The hand data have no cost: the value story ranks revenue, yet the report titled it 'Value story
    (profit x frequency)'."""
    frame = hand_frame()
    assert frame["cost"].isna().all()
    page = html_report(segmint.analyze(ibis.duckdb.connect().create_table("tx", frame), scheme="value"))
    assert '<h2 id="value">Value story (revenue x frequency)</h2>' in page and "profit x frequency" not in page
