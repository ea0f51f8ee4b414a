"""Credit page: figure builders on hand tables, the page's content without a browser, and in Chromium."""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from segmint.app import credit_figures as cf

from .conftest import serve

sys.path.insert(0, str(Path(__file__).parents[1] / "credit"))
from ledgers import day_book_csv  # noqa: E402

SHOTS = Path(os.environ.get("SEGMINT_SCREENSHOTS") or Path(tempfile.gettempdir()) / "segmint-screenshots")
CHROMIUM = "/usr/bin/chromium"


def details() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a", "b", "c"], "credit_segment": ["Low", "Very High", "Very High"],
        "credit_score": [90, 20, 10], "outstanding": [100.0, 50.0, -5.0],
        "aging_0_30": [100.0, 10.0, 0.0], "aging_31_60": [0.0, 0.0, 0.0], "aging_61_90": [0.0, 15.0, 0.0],
        "aging_90_plus": [0.0, 25.0, 0.0],
    })


def test_aging_bars_stack_each_segments_buckets():
    fig = cf.aging_by_segment(details())
    assert [t.name for t in fig.data] == ["0-30 days", "31-60", "61-90", "90+"]
    by_bucket = {t.name: dict(zip(t.x, t.y)) for t in fig.data}
    assert by_bucket["0-30 days"]["Very High"] == 10.0 and by_bucket["90+"]["Very High"] == 25.0
    assert by_bucket["0-30 days"]["Low"] == 100.0 and by_bucket["90+"]["Medium"] == 0.0
    top = cf.aging_top_customers(details())
    assert list(top.data[0].y) == ["2. b (Very High)", "1. a (Low)"]  # c owes nothing; largest balance on top


def test_top_balances_cut_long_names_and_keep_two_alike_apart():
    """Party names of 40-50 characters left the bars a sliver at 390 px; cut to 24 characters, two names
    alike in their first 24 stay two bars (ranked) and the hover keeps each whole name."""
    long = details().assign(customer_id=["Cybernetik Technologies Pvt. Ltd.", "Cybernetik Technologies Pvt Ltd Unit-2",
                                         "c"])  # fmt: skip
    top = cf.aging_top_customers(long)
    assert list(top.data[0].y) == ["2. Cybernetik Technologies… (Very High)", "1. Cybernetik Technologies… (Low)"]
    assert list(top.data[0].customdata) == ["Cybernetik Technologies Pvt Ltd Unit-2", "Cybernetik Technologies Pvt. Ltd."]


def test_aging_says_so_when_nobody_owes():
    paid_up = details().assign(outstanding=[0.0, 0.0, -5.0], aging_0_30=0.0, aging_61_90=0.0, aging_90_plus=0.0)
    fig = cf.aging_by_segment(paid_up)
    assert fig.data == () and [a.text for a in fig.layout.annotations] == ["Nobody owes anything"]
    assert fig.layout.title.text == "Outstanding by risk and age"


def test_owed_kpi_names_what_was_paid_ahead():
    """The card said "Outstanding 85,640,414.86" where the CLI said outstanding 32,373,409.93 (owed
    85,640,414.86 less 53,267,004.93 paid ahead) on the same ledger."""
    from segmint.app.pages import credit

    table = details().assign(paid=[10.0, 0.0, 5.0], avg_days_to_pay=[20.0, None, 3.0], bills_paid_late=[0, 0, 0],
                             bills_paid=[1, 0, 1])
    card = credit.kpis(table)[1].children.children.children
    # owed 100 + 50 = 150 (c paid 5 ahead), 25 of it over 90 days
    assert [card[0].children, card[1].children] == ["Owed", "150.00"]
    assert card[2].children == "17% over 90 days; 5.00 paid ahead: net 145.00"


def test_score_histogram_and_value_risk_matrix():
    fig = cf.score_distribution(details())
    assert {t.name: len(t.x) for t in fig.data} == {"Low": 1, "Very High": 2}
    matrix = details().assign(value_segment=["High Value", "High Value", "No Sales"])
    heat = cf.value_risk_matrix(matrix).data[0]
    assert list(heat.y) == ["High Value", "No Sales"] and list(heat.x) == ["Low", "Medium", "High", "Very High"]
    assert heat.z[0][0] == 1 and heat.z[0][3] == 1 and heat.z[1][3] == 1
    assert "owed 50" in heat.text[0][3] and "owed 0" in heat.text[1][3]  # c paid 5 ahead: owes nothing, not -5
    # one customer is "1 customer" (it read "1 customers owe"); the hover gives the owed to the cent
    assert heat.text[0][0].startswith("1 customer<br>") and heat.customdata[0][3] == "1 customer, owed 50.00"


def test_ledger_timeline_bars_balance_and_days_to_pay():
    timeline = pd.DataFrame({
        "entry_date": [dt.date(2023, 1, 1), dt.date(2023, 1, 20), dt.date(2023, 2, 1)],
        "voucher_type": ["Sales", "Receipt", "Credit Note"], "base_type": ["Sales", "Receipt", "Credit Note"],
        "voucher_no": ["S1", "R1", "CN1"], "amount": [100.0, -60.0, -10.0], "balance": [100.0, 40.0, 30.0],
    })
    allocations = pd.DataFrame({"settled_by_date": [dt.date(2023, 1, 20)], "days_to_pay": [19.0], "bill_no": ["S1"],
                                "amount": [60.0]})
    fig = cf.ledger_timeline(timeline, allocations, "x", 30)
    names = [t.name for t in fig.data]
    assert names == ["bill", "payment", "credit note / adjustment", "balance", "days to pay"]
    assert list(fig.data[3].y) == [100.0, 40.0, 30.0] and list(fig.data[4].y) == [19.0]


def test_ledger_timeline_of_a_customer_who_never_paid_shows_its_dates():
    """No payment settled a bill: the empty 'days to pay' panel drew no date axis, and under shared axes the
    bills panel hid its own dates, so the timeline had no dates at all (Cubix's Very High risk customers)."""
    timeline = pd.DataFrame({
        "entry_date": [dt.date(2023, 1, 1), dt.date(2023, 2, 1)], "voucher_type": ["Sales", "Sales"],
        "base_type": ["Sales", "Sales"], "voucher_no": ["S1", "S2"], "amount": [100.0, 50.0], "balance": [100.0, 150.0],
    })
    allocations = pd.DataFrame(columns=["settled_by_date", "days_to_pay", "bill_no", "amount"])
    fig = cf.ledger_timeline(timeline, allocations, "x", 30)
    axes = [key for key in fig.layout.to_plotly_json() if key.startswith("xaxis")]
    assert axes == ["xaxis"] and fig.layout.xaxis.showticklabels is not False
    assert [t.name for t in fig.data] == ["bill", "balance"]
    assert any("no bill paid yet" in a.text for a in fig.layout.annotations)


@pytest.fixture(scope="module")
def app_with_ledger(tmp_path_factory):
    import ibis

    from segmint.api import read_transactions
    from segmint.app import create_app

    folder = tmp_path_factory.mktemp("credit")
    sales = folder / "sales.csv"
    sales.write_text("InvoiceNo,InvoiceDate,CustomerID,Amount\n" + "\n".join(
        f"{c}{i},2023-0{1 + i % 5}-1{i % 9},{c},{v}" for c, v in (("A", 900), ("B", 300), ("C", 40), ("D", 10))
        for i in range(1, 6)))  # fmt: skip
    tx = read_transactions(str(sales), con=ibis.duckdb.connect())
    app = create_app(transactions=tx.table, ledger=str(day_book_csv(folder / "daybook.csv")))
    yield app
    app.segmint_state.close()


def test_page_content_without_a_browser(app_with_ledger):
    from segmint.app.pages import credit

    state = app_with_ledger.segmint_state
    inputs = ({"session_id": "t", "dataset_id": state.default_dataset_id}, None, "2023-06-30", None, None, "rfm",
              "quarter", {})
    kpis, note, *figs, options, chosen, summary, message = credit.overview_content(state, *inputs)
    assert message is None and "2023-06-30" in note
    assert kpis[0].children.children.children[1].children == "4"  # A, B, C, D are customers
    # A (score 10: 49.9 days late incl. open, every paid bill late, 62% over 90 days, slower, 180 days of
    # history = 4 of 100 points... see tests/credit/ledgers.py) and C (3) are both Very High; A owes more
    assert chosen == "A"
    card, figure, _ = credit.timeline_content(state, "A", *inputs)
    assert "score" in str(card) and figure.data[-1].name == "days to pay"


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """The demo sales and ledger `make run` writes (fewer customers), as the dashboard shows them."""
    import ibis

    from segmint.api import read_transactions
    from segmint.app import create_app
    from segmint.credit.demo import make_ledger
    from segmint.datasets import make_transactions

    folder = tmp_path_factory.mktemp("credit_demo")
    make_transactions(n_customers=300, years=2, seed=3).to_csv(folder / "sales.csv", index=False)
    tx = read_transactions(str(folder / "sales.csv"), con=ibis.duckdb.connect())
    ledger = make_ledger(tx.table.select("invoice_id", "customer_id", "invoice_date", "amount").to_pandas(), seed=3)
    ledger.to_csv(folder / "ledger.csv", index=False)
    app = create_app(transactions=tx.table, ledger=str(folder / "ledger.csv"))
    yield app, ledger
    app.segmint_state.close()


@pytest.mark.browser
def test_credit_page_in_chromium(demo_app):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} not installed")
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    app, ledger = demo_app
    # customers: parties with a sales invoice, a credit note or an opening balance, counter-ledgers aside
    sales_side = ledger[ledger["Vch Type"].isin(["Sales", "Online Sales", "Credit Note", "Opening Balance"])]
    customers = sales_side.loc[sales_side["Particulars"] != "Cash", "Particulars"].nunique()
    with serve(app, close_state=False) as url:  # demo_app closes its state
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/credit")
            page.wait_for_selector("#credit-timeline .main-svg", timeout=120_000)
            page.wait_for_selector("#credit-kpi-customers", timeout=120_000)
            page.wait_for_function("!document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=120_000)
            assert page.locator("#credit-kpi-customers").inner_text().replace(",", "") == str(customers)
            assert "score" in page.locator("#credit-reason").inner_text()
            page.wait_for_timeout(500)
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "credit.png"), full_page=True)
            # a phone: the nine-column risk summary made the whole page 787 px wide (Tally day book)
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(f"{url}/credit")
            phone.wait_for_selector("#credit-summary table", timeout=120_000)
            phone.wait_for_function("!document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=120_000)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            phone.screenshot(path=str(SHOTS / "credit_390.png"), full_page=True)
            browser.close()


def test_a_workspace_ledger_reaches_the_live_snapshot(tmp_path):
    """`segmint demo` keeps the ledger in the workspace; the dashboard's snapshot copies it with the sales."""
    import duckdb

    from segmint.engine import Workspace
    from segmint.io.ledger import load_ledger, read_ledger, save_ledger
    from segmint.live import snapshot_into
    from tests.test_workspace import canonical

    path = tmp_path / "ws.duckdb"
    ledger = read_ledger(str(day_book_csv(tmp_path / "daybook.csv")))
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "A", "2023-01-02", 10.0)]), source="jan.csv")
        save_ledger(ws.con, ledger, terms=30)
    snapshot_into(path, tmp_path / "snap.duckdb")
    import ibis

    copy = load_ledger(ibis.duckdb.connect(str(tmp_path / "snap.duckdb")))
    assert copy is not None and copy.report.rows_in == ledger.report.rows_in == 20
    assert copy.report.terms == 30  # the dashboard scores it with the terms the command used
    assert int(copy.entries.amount_cents.sum().execute()) == int(ledger.entries.amount_cents.sum().execute())
    duckdb.connect(str(path)).close()


def test_the_note_names_the_due_dates_a_receivables_table_has(tmp_path):
    """A bill-wise table with due dates is aged by them; the page said "aging from bill dates" (the CLI did not)."""
    import ibis

    from segmint.api import read_transactions
    from segmint.app import create_app
    from segmint.app.pages import credit

    sales = tmp_path / "sales.csv"
    sales.write_text("InvoiceNo,InvoiceDate,CustomerID,Amount\nS1,2023-01-05,A,100\nS2,2023-02-05,B,50\n")
    receivables = tmp_path / "receivables.csv"
    receivables.write_text(
        "customerID,invoiceNumber,InvoiceDate,DueDate,InvoiceAmount,SettledDate\n"
        "A,1001,1/5/2023,2/4/2023,100.00,2/10/2023\n"
        "B,1002,2/5/2023,3/7/2023,50.00,3/1/2023\n"
        "A,1003,3/1/2023,3/31/2023,70.00,4/20/2023\n"
    )
    app = create_app(transactions=read_transactions(str(sales), con=ibis.duckdb.connect()).table,
                     ledger=str(receivables))
    try:
        state = app.segmint_state
        inputs = ({"session_id": "t", "dataset_id": state.default_dataset_id}, None, "2023-06-30", None, None,
                  "rfm", "quarter", {})
        _, note, *_ = credit.overview_content(state, *inputs)
        _, unfiltered, *_ = credit.overview_content(state, inputs[0], None, None, *inputs[3:])
    finally:
        app.segmint_state.close()
    # three bills, each with its due date in the file
    assert "from the data's due dates (3 entries)" in note and "no terms: aging from bill dates" not in note
    assert note.startswith("As of 2023-06-30 (the end of the Dates filter)")
    # no date filter: the as-of day is the ledger's last date (the last settlement, 4/20/2023), not the filter's
    assert unfiltered.startswith("As of 2023-04-20 (the ledger's last date; the end of the Dates filter sets another)")


def test_a_sliver_of_the_owed_reads_below_a_tenth_of_a_percent():
    """A segment owing 50 of 100,050 showed '0.0%' of the owed, as if it owed nothing."""
    import pandas as pd

    from segmint.app.pages import credit

    summary = pd.DataFrame({
        "credit_segment": ["Low", "Very High"], "customers": [9, 1], "owed": [100_000.0, 50.0],
        "share_of_owed": [100_000 / 100_050, 50 / 100_050], "paid_ahead": [0.0, 0.0], "aging_90_plus": [0.0, 50.0],
        "mean_score": [90.0, 5.0], "avg_days_to_pay": [10.0, float("nan")], "bills_paid_late": [1, 0],
        "bills_paid": [20, 0]})  # fmt: skip
    cells = [cell.children for row in credit.summary_table(summary).children[1].children for cell in row.children]
    assert "<0.1%" in cells and ">99.9%" in cells
