"""A hand-checkable canonical transactions table and a dashboard state holding it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import ibis
import pandas as pd
import pytest

from segmint.app.state import AppState
from segmint.schema import CANONICAL_COLUMNS

# (invoice, customer, date, amount, country). D's return cancels its purchase (net 0 -> excluded).
LINES = [
    ("I1", "A", "2023-01-10", 100.0, "United Kingdom"),
    ("I2", "A", "2023-03-01", 50.0, "United Kingdom"),
    ("I3", "B", "2023-02-15", 200.0, "France"),
    ("I4", "C", "2023-01-05", 10.0, "United Kingdom"),
    ("I5", "C", "2023-02-05", 20.0, "United Kingdom"),
    ("I6", "C", "2023-03-20", 30.0, "United Kingdom"),
    ("I7", "D", "2023-03-25", 40.0, "United Kingdom"),
    ("C8", "D", "2023-03-26", -40.0, "United Kingdom"),
    ("I9", "E", "2022-11-01", 5.0, "Germany"),
]


def hand_frame() -> pd.DataFrame:
    frame = pd.DataFrame(LINES, columns=["invoice_id", "customer_id", "invoice_date", "amount", "country"])
    frame["invoice_date"] = pd.to_datetime(frame["invoice_date"])
    frame["product_id"] = "P" + frame.index.astype(str)
    frame["product_name"] = None
    frame["quantity"] = frame["amount"].apply(lambda a: -1.0 if a < 0 else 1.0)
    frame["unit_price"] = frame["amount"].abs()
    frame["cost"] = float("nan")
    frame["org_id"] = "shop1"
    frame["is_return"] = frame["amount"] < 0
    frame = frame[list(CANONICAL_COLUMNS)]
    return frame.astype({"product_name": "string", "cost": "float64"})


def hand_state() -> Iterator[AppState]:
    """A dashboard state holding ``hand_frame()`` (closed afterwards)."""
    con = ibis.duckdb.connect()
    table = con.create_table("tx", hand_frame())
    app_state = AppState()
    app_state.add_dataset(table, "hand")
    yield app_state
    app_state.close()


state = pytest.fixture(hand_state, name="state")


# a basket log (no prices): customer 1 bought 3 items on 2 days, customer 2 one item
BASKETS = ("Member_number,Date,itemDescription\n1,2024-01-05,milk\n1,2024-01-05,bread\n"
           "2,2024-02-01,milk\n1,2024-03-01,eggs\n")


@contextmanager
def basket_state(folder) -> Iterator[AppState]:
    """A dashboard state holding ``BASKETS`` read as items (``unpriced="units"``); closed afterwards."""
    from segmint.api import read_transactions
    from segmint.clean_options import CleanOptions

    path = folder / "baskets.csv"
    path.write_text(BASKETS)
    board = AppState()
    board.add_dataset(read_transactions(str(path), options=CleanOptions(unpriced="units")), "baskets")
    try:
        yield board
    finally:
        board.close()


def inputs(state: AppState, scheme: str = "rfm", countries=None, settings=None, period: str = "quarter"):
    """Values of FILTER_INPUTS as the browser would send them."""
    session = {"session_id": "test", "dataset_id": state.default_dataset_id}
    return (session, None, None, countries, None, scheme, period, settings or {})


@contextmanager
def serve(app, close_state: bool = True) -> Iterator[str]:
    """Serve a Dash ``app`` in a thread on a free local port; yields its URL, then stops the server and
    closes the app's state unless ``close_state`` is False (the app's fixture closes it)."""
    from werkzeug.serving import make_server

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    httpd = make_server("127.0.0.1", port, app.server, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        if close_state:
            app.segmint_state.close()
