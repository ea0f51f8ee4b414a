"""Invoice totals stand for the lines: features, excluded customers and the quality report computed from
them equal those computed from the lines, and the values are checked by hand."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmint import analyze, engine, read_transactions
from segmint.features import customer_features, customer_line_stats, excluded_customers
from segmint.invoices import invoice_totals, line_groups, one_row_per_invoice, totals_of_groups

D = dt.datetime


def _lines() -> pd.DataFrame:
    """Canonical lines where every grouping matters: an invoice over two days, a customer in two
    countries, a return, a fully returned purchase, lines without cost or country."""
    rows = [  # invoice, customer, date, product, amount, cost, country, is_return
        ("I1", "A", D(2023, 1, 5, 10), "p1", 10.0, 4.0, "UK", False),
        ("I1", "A", D(2023, 1, 5, 11), "p2", 5.0, None, "UK", False),
        ("I2", "A", D(2023, 2, 1, 9), "p1", 7.5, 3.0, "FR", False),
        ("I2", "A", D(2023, 2, 2, 9), "p3", 2.5, 1.0, "FR", False),  # the same invoice the next day
        ("I3", "A", D(2023, 3, 1, 9), "p1", -10.0, -4.0, "UK", True),  # a return
        ("I4", "B", D(2023, 1, 9, 9), "p2", 20.0, None, None, False),
        ("I5", "B", D(2023, 1, 9, 15), "p2", -20.0, None, None, True),  # returns B's purchase in full
        ("I6", "C", D(2023, 3, 3, 9), "p4", 3.0, 1.0, "DE", False),
        ("I6", "C", D(2023, 3, 3, 9), "p4", 3.0, 1.0, "DE", False),
        ("I7", "C", D(2023, 3, 20, 9), "p5", 1.0, None, "FR", False),
        ("I8", "D", D(2023, 1, 2, 9), "p1", 4.0, 1.0, "UK", False),
    ]
    columns = ["invoice_id", "customer_id", "invoice_date", "product_id", "amount", "cost", "country", "is_return"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["quantity"] = 1.0
    frame["org_id"] = "X"
    return frame


@pytest.fixture(scope="module")
def tx():
    con = ibis.duckdb.connect()
    return con.create_table("lines", _lines(), temp=True)


def _frame(table: ibis.Table) -> pd.DataFrame:
    return table.execute().sort_values("customer_id").reset_index(drop=True)


def test_totals_group_the_lines_by_customer_invoice_day_and_country(tx):
    totals = invoice_totals(tx).execute().sort_values(["invoice_id", "day"]).reset_index(drop=True)
    # by hand: I2 spans two days, I6's two lines are one group; I1's profit counts only the costed line
    assert list(totals.invoice_id) == ["I1", "I2", "I2", "I3", "I4", "I5", "I6", "I7", "I8"]
    assert list(totals.lines) == [2, 1, 1, 1, 1, 1, 2, 1, 1]
    assert totals.loc[0, "net"] == 15.0 and totals.loc[0, "profit"] == 6.0
    assert pd.isna(totals.loc[4, "profit"])  # no line of I4 has a cost
    assert int(totals.lines.sum()) == len(_lines())


@pytest.mark.parametrize("frequency", ["invoices", "days"])
@pytest.mark.parametrize(
    "window",
    [{}, {"start": "2023-01-09", "end": "2023-03-03"}, {"snapshot_date": "2023-03-02"}, {"start": "2023-02-02"}],
    ids=["all", "start-end", "snapshot", "start"],
)
def test_features_from_totals_equal_features_from_lines(tx, frequency, window):
    totals = invoice_totals(tx)
    snapshot = window.get("snapshot_date", "2023-04-01")
    bounds = {k: v for k, v in window.items() if k != "snapshot_date"}
    direct = customer_features(tx, snapshot_date=snapshot, frequency=frequency, **bounds)
    summed = customer_features(tx, snapshot_date=snapshot, frequency=frequency, totals=totals, **bounds)
    pd.testing.assert_frame_equal(_frame(direct), _frame(summed))
    stats = customer_line_stats(tx, snapshot_date=snapshot, totals=totals, **bounds)
    pd.testing.assert_frame_equal(
        _frame(excluded_customers(tx, snapshot_date=snapshot, **bounds)),
        _frame(excluded_customers(tx, snapshot_date=snapshot, line_stats=stats, **bounds)),
    )


def test_features_from_totals_by_hand(tx):
    features = _frame(customer_features(tx, snapshot_date="2023-04-01", totals=invoice_totals(tx))).set_index("customer_id")
    # A: I1 15, I2 10, I3 -10 (a return, not a purchase): 2 purchases, revenue 15; UK 3 lines vs FR 2
    assert features.loc["A", "frequency"] == 2 and features.loc["A", "revenue"] == 15.0
    assert features.loc["A", "country"] == "UK" and features.loc["A", "n_products"] == 3
    assert features.loc["A", "profit"] == (10 - 4) + (7.5 - 3) + (2.5 - 1) + (-10 + 4)
    assert pd.Timestamp(features.loc["A", "first_purchase"]) == pd.Timestamp(2023, 1, 5)
    assert pd.Timestamp(features.loc["A", "last_purchase"]) == pd.Timestamp(2023, 2, 1)
    # C: DE on 2 lines, FR on 1; B nets to zero and is excluded
    assert features.loc["C", "country"] == "DE" and features.loc["C", "frequency"] == 2
    assert "B" not in features.index


def test_one_row_per_invoice_only_when_no_invoice_fills_two_rows(tx):
    # by hand: 8 invoice ids in 9 rows (I2 over two days); without I2, 7 ids in 7 rows
    assert not one_row_per_invoice(invoice_totals(tx), 8)
    assert one_row_per_invoice(invoice_totals(tx.filter(tx.invoice_id != "I2")), 7)


def test_purchases_by_invoice_are_the_rows_of_totals_with_one_row_per_invoice(tx):
    lines = tx.filter(tx.invoice_id != "I2")
    totals = invoice_totals(lines)
    direct = _frame(customer_features(lines, snapshot_date="2023-04-01"))
    rows = _frame(customer_features(lines, snapshot_date="2023-04-01", totals=totals, totals_per_invoice=True))
    pd.testing.assert_frame_equal(direct, rows)
    by_customer = rows.set_index("customer_id")
    # by hand: A bought I1 (15 on Jan 5) and returned 10 (I3); C bought I6 (6, Mar 3) and I7 (1, Mar 20)
    assert by_customer.loc["A", "frequency"] == 1 and by_customer.loc["A", "revenue"] == 5.0
    assert by_customer.loc["C", "frequency"] == 2 and by_customer.loc["C", "revenue"] == 7.0
    assert pd.Timestamp(by_customer.loc["C", "first_purchase"]) == pd.Timestamp(2023, 3, 3)
    assert pd.Timestamp(by_customer.loc["C", "last_purchase"]) == pd.Timestamp(2023, 3, 20)


def test_an_organisation_filter_reads_the_lines(tx):
    """Organisations are not part of the totals' grain: with one, the lines are read (same result)."""
    totals = invoice_totals(tx)
    direct = customer_features(tx, snapshot_date="2023-04-01", org="X")
    summed = customer_features(tx, snapshot_date="2023-04-01", org="X", totals=totals.filter(totals.lines < 0))
    pd.testing.assert_frame_equal(_frame(direct), _frame(summed))  # the (empty) totals were not read


def _parquet(path, extra: tuple = ()) -> None:
    """A typed export with duplicates, a cancellation, drops and two countries for one customer
    (and the ``extra`` lines)."""
    day = D(2023, 4, 3, 10, 30)
    lines = [  # invoice, customer, date, product, qty, price, country
        ("536365", "17850", day, "TEA", 6, 2.5, "UK"),
        ("536365", "17850", day, "TEA", 6, 2.5, "UK"),  # exact copy
        ("536365", "17850", day, "MUG", 1, 4.0, "UK"),
        ("536366", "17850", day + dt.timedelta(days=40), "TEA", 2, 2.5, "FR"),
        ("C536367", "17850", day + dt.timedelta(days=41), "TEA", -2, 2.5, "FR"),  # cancellation
        ("536368", "13047", day + dt.timedelta(days=1), "CUP", 3, 1.0, "UK"),
        ("536369", None, day, "CUP", 1, 1.0, "UK"),  # no customer
        ("536370", "13047", day + dt.timedelta(days=70), "LID", 1, 3.0, None),
        *extra,
    ]
    columns = list(zip(*lines, strict=True))
    pq.write_table(pa.table({
        "InvoiceNo": pa.array(columns[0], pa.string()), "CustomerID": pa.array(columns[1], pa.string()),
        "InvoiceDate": pa.array(columns[2], pa.timestamp("us")), "StockCode": pa.array(columns[3], pa.string()),
        "Quantity": pa.array(columns[4], pa.int64()), "UnitPrice": pa.array(columns[5], pa.float64()),
        "Country": pa.array(columns[6], pa.string()),
    }), path)  # fmt: skip


def _analyze(path, staging: str, monkeypatch):
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    tx = read_transactions(path, con=engine.connect())
    result = analyze(tx, scheme="rfm")
    return tx, _frame(result.features), _frame(result.tables["excluded_customers"]), tx.report.model_dump()


def test_streamed_input_reports_and_analyses_from_its_totals(tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    _parquet(path)
    streamed, features, excluded, report = _analyze(path, "stream", monkeypatch)
    copied, copied_features, copied_excluded, copied_report = _analyze(path, "materialize", monkeypatch)
    assert streamed.totals is not None and copied.totals is None  # only a streamed (large) input has them
    assert streamed.totals_per_invoice and not copied.totals_per_invoice  # 5 invoices in 5 groups
    pd.testing.assert_frame_equal(features, copied_features)
    pd.testing.assert_frame_equal(excluded, copied_excluded)
    assert report == copied_report
    # by hand: 8 lines, 1 duplicate and 1 without a customer dropped; 2 customers, 5 invoice numbers
    assert report["rows_in"] == 8 and report["rows_kept"] == 6 and report["duplicates"] == 1
    assert report["customers"] == 2 and report["invoices"] == 5
    by_customer = features.set_index("customer_id")
    # 17850: 536365 (6*2.5 + 4 = 19), 536366 (5), C536367 (-5, a return): 2 purchases, revenue 19
    assert by_customer.loc["17850", "frequency"] == 2 and by_customer.loc["17850", "revenue"] == 19.0
    # 2 UK lines once the copy is dropped, 2 FR lines: the tie goes to the alphabetically first
    assert by_customer.loc["17850", "country"] == "FR" and by_customer.loc["17850", "n_products"] == 2
    assert by_customer.loc["13047", "frequency"] == 2 and by_customer.loc["13047", "revenue"] == 6.0


def test_an_invoice_over_two_days_is_one_purchase_of_a_streamed_input(tmp_path, monkeypatch):
    """An invoice in two groups (two days): purchases are regrouped by invoice, as from the lines."""
    path = tmp_path / "sales.parquet"
    _parquet(path, extra=[("536366", "17850", D(2023, 5, 14, 9), "MUG", 1, 4.0, "FR")])  # 536366's next day
    streamed, features, _, report = _analyze(path, "stream", monkeypatch)
    _, copied_features, _, copied_report = _analyze(path, "materialize", monkeypatch)
    assert streamed.totals is not None and not streamed.totals_per_invoice  # 5 invoices in 6 groups
    pd.testing.assert_frame_equal(features, copied_features)
    assert report == copied_report
    by_customer = features.set_index("customer_id")
    # by hand: 536365 (19), 536366 (5 on May 13 + 4 on May 14), C536367 (-5): 2 purchases, revenue 23
    assert by_customer.loc["17850", "frequency"] == 2 and by_customer.loc["17850", "revenue"] == 23.0
    assert pd.Timestamp(by_customer.loc["17850", "last_purchase"]) == pd.Timestamp(2023, 5, 13)


@pytest.mark.parametrize(
    "filters",
    [{"country": "UK"}, {"start": "2023-04-04", "end": "2023-06-30"}, {"snapshot_date": "2023-05-20"}],
    ids=["country", "start-end", "snapshot"],
)
def test_a_filtered_analysis_from_totals_equals_the_lines(tmp_path, monkeypatch, filters):
    path = tmp_path / "sales.parquet"
    _parquet(path)
    results = []
    for staging in ("stream", "materialize"):
        monkeypatch.setenv("SEGMINT_STAGING", staging)
        tx = read_transactions(path, con=engine.connect())
        result = analyze(tx, scheme="rfm", **filters)
        results.append((_frame(result.features), _frame(result.tables["excluded_customers"])))
    pd.testing.assert_frame_equal(results[0][0], results[1][0])
    pd.testing.assert_frame_equal(results[0][1], results[1][1])


def _kept_lines(con) -> ibis.Table:
    """The lines of ``_lines`` plus a line that repeats I6's p4 on product only (another quantity)."""
    frame = _lines()
    extra = frame.iloc[[7]].copy()
    extra.iloc[0, extra.columns.get_loc("quantity")] = 2.0  # I6's p4 at another quantity: not a repeat
    return con.create_table("kept", pd.concat([frame, extra], ignore_index=True), temp=True)


def test_line_groups_are_the_totals_and_find_repeats_by_hand():
    con = ibis.duckdb.connect()
    kept = _kept_lines(con)
    groups = line_groups(kept, probe=["invoice_id", "product_id", "quantity"]).execute()
    groups = groups.sort_values(["invoice_id", "day"]).reset_index(drop=True)
    # the groups are the invoice totals of the lines (I6 now has a third line)
    assert list(groups.invoice_id) == ["I1", "I2", "I2", "I3", "I4", "I5", "I6", "I7", "I8"]
    assert list(groups.lines) == [2, 1, 1, 1, 1, 1, 3, 1, 1]
    # by hand: I6 holds two equal p4 lines at quantity 1 (one repeat) and p4 at quantity 2 (none)
    assert list(groups.repeats) == [0, 0, 0, 0, 0, 0, 1, 0, 0]
    totals = totals_of_groups(line_groups(kept, probe=None))
    assert "repeats" not in totals.columns
    direct = invoice_totals(kept)
    order = ["invoice_id", "day"]
    pd.testing.assert_frame_equal(
        totals.execute().sort_values(order).reset_index(drop=True),
        direct.execute().sort_values(order).reset_index(drop=True),
    )


def test_repeats_of_groups_larger_than_the_hash_slots_are_counted_exactly():
    """The proof deduplicates a group's hashes only when they do not fall in as many of 63 slots as it
    has lines: 80 distinct lines (by pigeonhole two share a slot) hold no repeat, 80 lines with 3 copies
    of one line hold 2, 5 distinct lines none."""
    con = ibis.duckdb.connect()
    rows = [("I1", f"p{i}", 1.0) for i in range(80)]  # distinct products
    rows += [("I2", f"p{i}", float(i)) for i in range(78)] + [("I2", "p0", 0.0)] * 2  # p0 at 0.0 three times
    rows += [("I3", f"p{i}", 2.0) for i in range(5)]
    frame = pd.DataFrame(rows, columns=["invoice_id", "product_id", "quantity"])
    frame["customer_id"], frame["country"] = "A", "UK"
    frame["invoice_date"] = D(2023, 1, 5, 10)
    frame["amount"], frame["cost"] = 1.0, 0.5
    kept = con.create_table("many", frame, temp=True)
    groups = line_groups(kept, probe=["invoice_id", "product_id", "quantity"]).execute().sort_values("invoice_id")
    assert list(groups.lines) == [80, 80, 5]
    assert list(groups.repeats) == [0, 2, 0]


def test_a_streamed_input_with_copies_kept_reports_as_the_materialised_one(tmp_path, monkeypatch):
    from segmint.clean import CleanOptions

    path = tmp_path / "sales.parquet"
    _parquet(path)
    reports = []
    for staging in ("stream", "materialize"):
        monkeypatch.setenv("SEGMINT_STAGING", staging)
        tx = read_transactions(path, con=engine.connect(), options=CleanOptions(drop_duplicates=False))
        reports.append(tx.report.model_dump())
    assert reports[0] == reports[1]
    # by hand: the copy is kept (7 of 8 lines kept) and counted, with a warning
    assert reports[0]["rows_kept"] == 7 and reports[0]["duplicates"] == 1 and reports[0]["warnings"]


def test_lines_before_the_snapshot_need_no_test_when_the_last_date_is_earlier():
    from types import SimpleNamespace

    from segmint.api import _lines_before

    report = SimpleNamespace(last_date=D(2024, 12, 31, 17, 59))
    fresh = SimpleNamespace(totals=object(), report=report)  # lines fresh from cleaning, with totals
    assert _lines_before(fresh, dt.date(2025, 1, 1)) is None  # every line is before it
    assert _lines_before(fresh, dt.date(2024, 12, 31)) == dt.date(2024, 12, 31)  # the last day's lines are not
    assert _lines_before(fresh, "2025-01-01") == "2025-01-01"  # not a date: kept as given
    other = SimpleNamespace(totals=None, report=report)  # e.g. a workspace: its report may not describe them
    assert _lines_before(other, dt.date(2025, 1, 1)) == dt.date(2025, 1, 1)


@pytest.mark.parametrize("lists_fit", [True, False])
def test_a_streamed_input_without_drops_counts_its_report_from_filters_and_groups(tmp_path, monkeypatch, lists_fit):
    """No line dropped: the report's counts come from one filtered count per test and the groups' sums;
    they equal the materialised input's aggregate of every line, and the values by hand (with the
    no-repeat proof by lists per group, or by a distinct count when the lists would not fit)."""
    import segmint.clean_counts as counts_module

    if not lists_fit:
        monkeypatch.setattr(counts_module, "PROOF_BYTES_PER_LINE", 10**12)
    day = D(2023, 4, 3, 10, 30)
    lines = [  # invoice, customer, date, product, qty, price, cost
        ("536365", "17850", day, "TEA", 6, 2.5, 1.0),
        ("536365", "17850", day, "MUG", None, 4.0, 2.0),  # no quantity: filled with 1
        ("536366", "17850", day + dt.timedelta(days=40), "TEA", 2, 2.5, float("inf")),  # cost unreadable
        ("C536367", "17850", day + dt.timedelta(days=41), "TEA", 2, 2.5, 1.0),  # cancellation: a return
        ("536368", "13047", day + dt.timedelta(days=1, hours=3), "CUP", -3, 1.0, None),  # a return
    ]
    columns = list(zip(*lines, strict=True))
    path = tmp_path / "clean.parquet"
    pq.write_table(pa.table({
        "InvoiceNo": pa.array(columns[0], pa.string()), "CustomerID": pa.array(columns[1], pa.string()),
        "InvoiceDate": pa.array(columns[2], pa.timestamp("us")), "StockCode": pa.array(columns[3], pa.string()),
        "Quantity": pa.array(columns[4], pa.int64()), "UnitPrice": pa.array(columns[5], pa.float64()),
        "UnitCost": pa.array(columns[6], pa.float64()),
    }), path)  # fmt: skip
    import segmint.clean as clean_module

    reports, aggregated = [], []
    real = clean_module._counters
    monkeypatch.setattr(clean_module, "_counters", lambda *a, **k: aggregated.append(1) or real(*a, **k))
    for staging in ("stream", "materialize"):
        monkeypatch.setenv("SEGMINT_STAGING", staging)
        reports.append(read_transactions(path, con=engine.connect()).report.model_dump())
    assert aggregated == [1]  # only the materialised input aggregated every line
    assert reports[0] == reports[1]
    report = reports[0]
    assert report["rows_in"] == report["rows_kept"] == 5 and report["dropped"] == {}
    assert report["parsed"]["quantity_filled"] == 1 and report["parsed"]["cost_unreadable"] == 1
    assert report["parsed"]["amount_computed"] == 5
    # by hand: 15 + 4 + 5 - 5 - 3 = 16; returns: the cancellation (-5) and the negative line (-3)
    assert report["total_amount"] == 16.0 and report["returns"] == 2 and report["returns_value"] == -8.0
    assert report["first_date"] == day and report["last_date"] == day + dt.timedelta(days=41)
    assert report["customers"] == 2 and report["invoices"] == 4


CSV_LINES = (
    "InvoiceNo,CustomerID,InvoiceDate,StockCode,Quantity,UnitPrice\n"
    "536365,17850,2023-04-03 10:30:00,TEA,6,2.5\n"
    "536365,17850,2023-04-03 10:30:00,MUG,,4.0\n"  # no quantity: filled with 1
    "C536367,17850,2023-05-14 09:00:00,TEA,2,2.5\n"  # a cancellation: a return
    "536368,13047,2023-04-04 13:30:00,CUP,-3,1.0\n"  # a return
)


@pytest.mark.parametrize("bad_date", [False, True], ids=["no-drop", "bad-date"])
def test_a_streamed_csv_file_counts_its_tests_and_dates_in_one_pass(tmp_path, monkeypatch, bad_date):
    """A CSV file's dates and numbers are cast per line: every drop test, repair flag and the first and
    last date are counted in one aggregate (not one pass per test); the report equals the materialised
    input's, and the values by hand. A line met by a test sends cleaning to the full aggregate."""
    import segmint.clean as clean_module

    path = tmp_path / "sales.csv"
    path.write_text(CSV_LINES + ("536369,13047,2023-02-30 09:00:00,CUP,1,1.0\n" if bad_date else ""))
    passes: list[bool] = []
    real = clean_module._counters_without_drops
    monkeypatch.setattr(
        clean_module, "_counters_without_drops", lambda *a, **k: passes.append(k["one_pass"]) or real(*a, **k)
    )
    reports = []
    for staging in ("stream", "materialize"):
        monkeypatch.setenv("SEGMINT_STAGING", staging)
        reports.append(read_transactions(path, con=engine.connect()).report.model_dump())
    assert passes == [True]  # only the streamed input counts without drops, in one pass
    assert reports[0] == reports[1]
    report = reports[0]
    # by hand: 6*2.5 + 1*4 - 2*2.5 - 3*1 = 11; the returns are the cancellation (-5) and the CUP line (-3)
    assert report["rows_kept"] == 4 and report["parsed"]["quantity_filled"] == 1
    assert report["total_amount"] == 11.0 and report["returns"] == 2 and report["returns_value"] == -8.0
    assert report["first_date"] == D(2023, 4, 3, 10, 30) and report["last_date"] == D(2023, 5, 14, 9)
    assert report["customers"] == 2 and report["invoices"] == 3
    assert report["rows_in"] == (5 if bad_date else 4)
    assert list(report["dropped"]) == (["bad_date"] if bad_date else [])
