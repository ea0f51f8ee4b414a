"""Uploads and browser sessions without a browser: private, streamed to disk once, deleted when idle."""

from __future__ import annotations

import io
from contextlib import contextmanager
from pathlib import Path

import flask
import pytest

from segmint.app import create_app
from segmint.app.pages import overview, upload
from segmint.app.sessions import COOKIE, Sessions
from segmint.app.state import AppState
from segmint.app.uploads import receive, scrub
from segmint.errors import DataError, InputError

from .conftest import BASKETS as BASKET_LOG
from .conftest import hand_frame

CSV = (b"InvoiceNo,CustomerID,InvoiceDate,Amount,Country\n1,A,2023-01-10,100,UK\n"
       b"2,A,2023-03-01,50,UK\n3,B,2023-02-15,200,France\n4,C,not a date,30,UK\n")  # fmt: skip
_FLASK = flask.Flask(__name__)


@contextmanager
def as_session(session_id: str | None):
    """Run code as if serving a request of browser session ``session_id``."""
    with _FLASK.test_request_context():
        flask.g.segmint_session = session_id
        yield


class Source(io.BytesIO):
    """A request body that counts how much was read from it."""


def test_receive_streams_blocks_to_a_private_folder(tmp_path):
    body = Source(CSV)
    saved = receive(body, len(CSV), tmp_path, "../../etc/passwd", max_mb=1)
    assert saved.path.parent.parent == tmp_path and saved.path.name == "passwd"
    assert saved.path.read_bytes() == CSV and saved.size == len(CSV)
    assert len(saved.token) == 16


def test_receive_refuses_oversize_files_and_keeps_nothing(tmp_path):
    big = b"x" * 3000
    with pytest.raises(InputError, match="limit is 0.001 MB"):
        receive(Source(big), len(big), tmp_path, "big.csv", max_mb=0.001)  # declared length
    with pytest.raises(InputError, match="limit is 0.001 MB"):
        receive(Source(big), None, tmp_path, "big.csv", max_mb=0.001)  # counted while writing
    with pytest.raises(InputError, match="empty"):
        receive(Source(b""), 0, tmp_path, "none.csv", max_mb=1)
    assert list(tmp_path.iterdir()) == []


def _uploaded(state: AppState, body: bytes, name: str):
    """``body`` received as session s1's upload ``name`` (call inside ``as_session("s1")``)."""
    session = state.sessions.touch("s1")
    saved = receive(Source(body), len(body), session.folder, name, max_mb=1)
    session.uploads[saved.token] = saved
    return saved


def test_upload_is_read_once_and_private_to_its_session(tmp_path):
    state = AppState(upload_root=tmp_path / "uploads")
    with as_session("s1"):
        saved = _uploaded(state, CSV, "sales.csv")
        editor, report = upload.inspect_upload(upload.find_upload(state, saved.token))
        dropdowns = {row.children[1].children.id["field"]: row.children[1].children.value
                     for row in editor.children}  # fmt: skip
        assert dropdowns["customer_id"] == "CustomerID" and dropdowns["invoice_date"] == "InvoiceDate"
        assert "Rows kept" in report and "bad_date" in report and str(tmp_path) not in report
        saved.path.unlink()  # Run must not read the file again
        store, _, label = upload.run_upload(state, {}, saved.token, dropdowns)
        assert label == "sales.csv"
        cards, *_, country, _, _ = overview.overview_content(state, "customers", store, None, None, None, None,
                                                             "rfm", "quarter", {})  # fmt: skip
        assert cards[0].children.children.children[1].children == "2"  # A and B; C's row has no date
        assert dict(zip(country.data[0].y, country.data[0].x, strict=True)) == {"France": 200.0, "UK": 150.0}
        assert state.start_dataset_id() == store["dataset_id"]  # a reload of s1 shows its upload
    with as_session("s2"):
        assert state.start_dataset_id() is None  # a new session starts empty
        with pytest.raises(DataError, match="no data loaded"):
            state.dataset(store["dataset_id"])  # even knowing the id
        with pytest.raises(InputError, match="upload the file again"):
            upload.find_upload(state, saved.token)
    assert state.default_dataset_id is None


LEDGER = (b"Date,Particulars,Vch Type,Vch No.,Debit Amount,Credit Amount\n"
          b"2024-01-05,Acme,Sales,S-1,100.00,\n2024-01-20,Acme,Receipt,R-1,,100.00\n"
          b"2024-02-05,Beta,Sales,S-2,250.00,\n2024-02-10,Beta,Credit Note,CN-1,,50.00\n"
          b"2024-02-11,HDFC Bank,Contra,C-1,,1000.00\n")  # fmt: skip


def test_an_uploaded_ledger_counts_only_its_sales_like_the_cli(tmp_path):
    """A Day Book upload: sales 100 + 250 less the 50 credit note = 300 from Acme and Beta (by hand);
    the receipt is a payment and the bank a counter-ledger, as `segmint analyze` reads the same file."""
    from segmint.api import read_transactions

    saved = receive(Source(LEDGER), len(LEDGER), tmp_path, "daybook.csv", max_mb=1)
    saved.read()
    report = saved.cleaned.report
    assert (report.rows_in, report.rows_kept, report.total_amount, report.customers) == (5, 3, 300.0, 2)
    assert {name: d.count for name, d in report.dropped.items()} == {"receipt_vouchers": 1, "counter_ledger": 1}
    assert saved.ledger is not None
    again = saved.clean(dict(saved.cleaned.mapping.fields) | {"product_id": "Vch No."})  # an edited mapping
    assert again.report.total_amount == 300.0 and again.report.rows_kept == 3
    cli = read_transactions(saved.path).report
    assert (cli.rows_kept, cli.total_amount, cli.customers) == (report.rows_kept, report.total_amount, report.customers)


BASKETS = BASKET_LOG.encode()


def test_a_basket_log_upload_can_count_items(tmp_path):
    """Groceries uploaded on the Upload page: no amount column, and the page said 'Choose error, units in the
    unpriced setting', a setting only the command line has; the page's switch reads it as items, as
    `segmint dashboard --unpriced units` does."""
    from segmint.app.messages import UNPRICED, describe
    from segmint.errors import SegmintError

    state = AppState(upload_root=tmp_path / "uploads")
    with as_session("s1"):
        saved = _uploaded(state, BASKETS, "baskets.csv")
        _, report = upload.inspect_upload(upload.find_upload(state, saved.token))
        assert f"Switch on '{UNPRICED}'" in report and "unpriced setting" not in report
        fields = dict(saved.detected.mapping.fields)
        with pytest.raises(SegmintError) as refused:
            upload.run_upload(state, {}, saved.token, fields)
        assert UNPRICED in describe(refused.value)
        store, _, _ = upload.run_upload(state, {}, saved.token, fields, unpriced=True)
        assert not state.priced(store["dataset_id"])
        cards = overview.overview_content(state, "customers", store, None, None, None, None, "rfm", "quarter", {})[0]
        tiles = {card.children.children.children[0].children: card.children.children.children[1].children
                 for card in cards}
        assert tiles["Customers"] == "2" and tiles["Items"] == "4"  # 4 lines, one item each
    state.close()


def test_new_sessions_start_on_the_servers_own_data(tmp_path):
    import ibis

    state = AppState(upload_root=tmp_path / "uploads")
    server_data = state.add_dataset(ibis.duckdb.connect().create_table("tx", hand_frame()), "server.csv")
    with as_session("s1"):
        mine = state.add_dataset(ibis.duckdb.connect().create_table("tx", hand_frame()), "mine.csv", owner="s1")
        assert state.start_dataset_id() == mine
    with as_session("s2"):
        assert state.start_dataset_id() == server_data
        assert state.dataset(server_data).label == "server.csv"
    assert state.default_dataset_id == server_data


def test_idle_sessions_and_shutdown_delete_uploads(tmp_path):
    import ibis

    now = [1000.0]
    state = AppState(upload_root=tmp_path / "uploads")
    state.sessions = Sessions(tmp_path / "uploads", idle_minutes=60, clock=lambda: now[0])
    for name in ("idle", "busy"):
        session = state.sessions.touch(name)
        session.uploads["t"] = receive(Source(CSV), len(CSV), session.folder, f"{name}.csv", max_mb=1)
    idle_data = state.add_dataset(ibis.duckdb.connect().create_table("tx", hand_frame()), "idle.csv", owner="idle")
    now[0] += 59 * 60
    state.sessions.touch("busy")
    assert state.sessions.expire() == []
    now[0] += 2 * 60  # idle: 61 minutes without a request; busy: 2 minutes
    expired = state.sessions.expire()
    state.forget_sessions(expired)
    assert [s.session_id for s in expired] == ["idle"]
    assert not (tmp_path / "uploads" / "idle").exists() and (tmp_path / "uploads" / "busy").exists()
    with as_session(None), pytest.raises(DataError):
        state.dataset(idle_data)
    state.close()
    assert not (tmp_path / "uploads").exists()


def test_upload_route_sets_a_session_cookie_and_answers_without_paths(tmp_path):
    app = create_app(max_upload_mb=1, state=AppState(upload_root=tmp_path / "uploads"))
    client = app.server.test_client()
    answer = client.post("/_segmint/upload?name=../shop%20sales.csv", data=CSV)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["filename"] == "shop_sales.csv" and body["size"] == len(CSV)
    assert str(tmp_path) not in answer.get_data(as_text=True)
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None and cookie.http_only
    session = app.segmint_state.sessions.get(cookie.value)
    assert list(session.uploads) == [body["token"]]
    refused = client.post("/_segmint/upload?name=big.csv", data=b"x" * (2 * 2**20 + 10))
    assert refused.status_code == 413
    other = app.server.test_client()  # another browser: a different session
    other.get("/")
    assert other.get_cookie(COOKIE).value != cookie.value
    app.segmint_state.close()


def test_scrub_removes_server_folders(tmp_path):
    saved = receive(Source(CSV), len(CSV), tmp_path, "sales.csv", max_mb=1)
    text = f"{saved.path}: bad row; see {saved.path.parent}/other"
    assert scrub(text, saved) == "sales.csv: bad row; see other"
    assert str(tmp_path) not in scrub(f"cannot read {saved.path}", saved)
    assert Path(saved.path).exists()


def test_an_excel_bomb_upload_is_refused_and_the_server_carries_on(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures" / "hostile"))
    import _generate

    bomb = tmp_path / "bomb.xlsx"
    _generate.excel_far_cell(bomb, cell="XFD1048576")
    state = AppState(upload_root=tmp_path / "uploads")
    with as_session("s1"):
        session = state.sessions.touch("s1")
        saved = receive(bomb.open("rb"), bomb.stat().st_size, session.folder, "bomb.xlsx", max_mb=1)
        session.uploads[saved.token] = saved
        with pytest.raises(InputError, match="refused: sheet1.xml spans 1,048,576 rows"):
            upload.inspect_upload(upload.find_upload(state, saved.token))
        good = receive(Source(CSV), len(CSV), session.folder, "sales.csv", max_mb=1)
        session.uploads[good.token] = good
        _, report = upload.inspect_upload(upload.find_upload(state, good.token))
        assert "Rows kept" in report


def test_an_uploaded_ledger_fills_the_credit_page(tmp_path):
    """A Day Book uploaded in the dashboard is its own credit view (the Credit page said 'No ledger' and
    named command-line flags): by hand, Acme billed 100 and paid 100 (owes 0); Beta billed 250 and got a
    50 credit note (owes 200); the bank's contra voucher is no customer."""
    from segmint.app.pages import credit

    state = AppState(upload_root=tmp_path / "uploads")
    with as_session("s1"):
        session = state.sessions.touch("s1")
        saved = receive(Source(LEDGER), len(LEDGER), session.folder, "daybook.csv", max_mb=1)
        session.uploads[saved.token] = saved
        upload.inspect_upload(upload.find_upload(state, saved.token))
        store, _, _ = upload.run_upload(state, {}, saved.token, dict(saved.cleaned.mapping.fields))
        details = state.credit.result(state, store["dataset_id"]).details
        assert dict(zip(details["customer_id"], details["outstanding"])) == {"Acme": 0.0, "Beta": 200.0}
        inputs = (store, None, None, None, None, "rfm", "quarter", {})
        kpis, *_, message = credit.overview_content(state, *inputs)
        assert message is None and kpis[0].children.children.children[1].children == "2"
        plain = state.add_dataset(hand_frame_table(), "sales.csv", owner="s1")  # sales alone: no ledger
        *_, message = credit.overview_content(state, {**store, "dataset_id": plain}, *inputs[1:])
        assert "Upload page" in message.children and "--" not in message.children


def hand_frame_table():
    import ibis

    return ibis.duckdb.connect().create_table("tx", hand_frame())


def test_the_credit_timeline_leaves_the_no_ledger_message_alone(tmp_path):
    """Both Credit callbacks write the page message: with no customer picked the timeline has nothing to say
    and must not clear the overview's 'No ledger ... Upload page' (in the browser the later one won: blank)."""
    from dash import no_update

    from segmint.app.pages import credit

    state = AppState(upload_root=tmp_path / "uploads")
    plain = state.add_dataset(hand_frame_table(), "sales.csv")
    inputs = ({"dataset_id": plain}, None, None, None, None, "rfm", "quarter", {})
    *_, message = credit.overview_content(state, *inputs)
    assert "Upload page" in message.children
    assert credit.timeline_content(state, None, *inputs)[2] is no_update


def test_an_uploaded_ledger_is_read_once_for_sales_and_credit(tmp_path, monkeypatch):
    """The upload read its Day Book for the sales view, then read_ledger read it again for the Credit page."""
    import segmint.io

    reads = []
    read_raw = segmint.io.read_raw
    monkeypatch.setattr(segmint.io, "read_raw", lambda *a, **k: reads.append(a[0]) or read_raw(*a, **k))
    saved = receive(Source(LEDGER), len(LEDGER), tmp_path, "daybook.csv", max_mb=1)
    saved.read()
    assert len(reads) == 1 and saved.ledger is not None
    entries = saved.credit_ledger.entries  # Acme 100 - 100, Beta 250 - 50 (by hand); the bank is no customer
    totals = entries.group_by("party").aggregate(cents=entries.amount_cents.sum()).execute()
    assert dict(zip(totals["party"], totals["cents"], strict=True))["Beta"] == 20_000


DOTTED = (b"InvoiceNo,CustomerID,InvoiceDate,Quantity,UnitPrice,Country\n"
          b"D1,A,05.01.2023 10:00 Uhr,2,10.00,France\nD2,B,06.01.2023 11:00 Uhr,1,25.00,Spain\n"
          b"D3,A,01.02.2023 09:30 Uhr,1,5.00,France\n")  # fmt: skip


def test_unread_dates_fill_the_date_format_box_with_the_suggested_layout(tmp_path):
    """Every date unread ('05.01.2023 10:00 Uhr'): the error's fix carries a layout that reads them, yet the
    Date format box stayed blank for the user to type it; the upload and a failed Run now fill it in, and
    Run with the filled box reads the file (by hand: A 2 x 10.00 + 5.00 = 25.00, B 25.00)."""
    state = AppState(upload_root=tmp_path / "uploads")
    with as_session("s1"):
        saved = _uploaded(state, DOTTED, "dotted.csv")
        editor, report, disabled, _, box = upload.inspect_accepted(state, {"token": saved.token})
        assert "no usable sales lines" in report and not disabled
        assert box == "%d.%m.%Y %H:%M Uhr"
        ids = [row.children[1].children.id for row in editor.children]
        values = [row.children[1].children.value for row in editor.children]
        failed = upload.run_clicked(state, 1, {"token": saved.token}, {}, values, ids, None, [])
        assert "no usable sales lines" in str(failed[2].children) and failed[3] == "%d.%m.%Y %H:%M Uhr"
        store, _, message, untouched = upload.run_clicked(state, 1, {"token": saved.token}, {}, values, ids, box, [])
        assert "loaded" in str(message.children) and untouched is not None  # no_update: the box keeps its layout
        totals = state.dataset(store["dataset_id"]).table.group_by("customer_id").aggregate(
            total=lambda t: t.amount.sum()).order_by("customer_id").execute()
        assert dict(zip(totals["customer_id"], totals["total"], strict=True)) == {"A": 25.0, "B": 25.0}
        fine = _uploaded(state, CSV, "sales.csv")  # a file whose dates are read clears the box
        assert upload.inspect_accepted(state, {"token": fine.token})[4] == ""
    state.close()
