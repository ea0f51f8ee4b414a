"""Drop reasons proved absent over dictionaries (``clean_counts.absent_reasons``): a streamed CSV file
whose dates are read by the cast and whose prices fill every line counts no test per line, and its
report equals the materialised input's and the values by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from segmint import engine, read_transactions
from segmint.clean_options import CleanOptions
from segmint.formats import Dictionaries

D = dt.datetime

HEADER = "InvoiceNo,CustomerID,InvoiceDate,StockCode,Quantity,UnitPrice\n"
LINES = (
    "536365,17850,2023-04-03 10:30:00,TEA,6,2.5\n"
    "536365,17850,2023-04-03 10:30:00,MUG,1,4.0\n"
    "C536367,17850,2023-05-14 09:00:00,TEA,2,2.5\n"  # a cancellation: a return
    "536368,13047,2023-04-04 13:30:00,CUP,-3,1.0\n"  # a return
)


def _reports(path, monkeypatch) -> tuple[list[dict], list[list[str]], int]:
    """The report streamed and materialised, the test columns each per-line count was asked for and
    how many times every line's values were aggregated (the materialised input: once)."""
    import segmint.clean as clean_module
    import segmint.clean_counts as counts_module

    asked: list[list[str]] = []
    real = counts_module._test_counts
    aggregated: list[int] = []
    full = clean_module._counters
    monkeypatch.setattr(clean_module, "_counters", lambda *a, **k: aggregated.append(1) or full(*a, **k))
    def spy(con, tests, columns, **options):
        asked.append(columns)
        return real(con, tests, columns, **options)

    monkeypatch.setattr(counts_module, "_test_counts", spy)
    reports = []
    for staging in ("stream", "materialize"):
        monkeypatch.setenv("SEGMINT_STAGING", staging)
        reports.append(read_transactions(path, con=engine.connect()).report.model_dump())
    return reports, asked, len(aggregated)


def test_a_csv_file_whose_dates_and_prices_prove_every_test_absent_counts_no_test_per_line(tmp_path, monkeypatch):
    path = tmp_path / "sales.csv"
    path.write_text(HEADER + LINES)
    reports, asked, aggregated = _reports(path, monkeypatch)
    assert asked == [] and aggregated == 1  # streamed: no per-line count, every test proved absent
    assert reports[0] == reports[1]
    report = reports[0]
    # by hand: 6*2.5 + 1*4 - 2*2.5 - 3*1 = 11; returns: the cancellation (-5) and the CUP line (-3)
    assert report["rows_in"] == report["rows_kept"] == 4 and report["dropped"] == {}
    assert report["parsed"]["quantity_filled"] == 0 and report["parsed"]["unit_price_computed"] == 0
    assert report["parsed"]["amount_computed"] == 4
    assert report["total_amount"] == 11.0 and report["returns"] == 2 and report["returns_value"] == -8.0
    assert report["first_date"] == D(2023, 4, 3, 10, 30) and report["last_date"] == D(2023, 5, 14, 9)
    assert report["customers"] == 2 and report["invoices"] == 3


@pytest.mark.parametrize(
    ("extra", "dropped"),
    [
        ("536369,13047,2023-02-30 09:00:00,CUP,1,1.0\n", {"bad_date": 1}),  # no such day
        ("536369,13047,1899-12-31 09:00:00,CUP,1,1.0\n", {"date_out_of_range": 1}),
        ("536369,13047,,CUP,1,1.0\n", {"missing_date": 1}),
        ("536369,13047,2023-04-05 09:00:00,CUP,1,\n", {"missing_amount": 1}),  # no price
        ("536369,13047,2023-04-05 09:00:00,CUP,,1.0\n", {}),  # no quantity: filled with 1
    ],
    ids=["bad-date", "out-of-range", "no-date", "no-price", "no-quantity"],
)
def test_a_test_some_line_may_meet_is_still_counted_per_line(tmp_path, monkeypatch, extra, dropped):
    """One line the dictionaries cannot rule out keeps its test per line; the report equals the
    materialised input's, with the line dropped (or repaired) as before."""
    path = tmp_path / "sales.csv"
    path.write_text(HEADER + LINES + extra)
    reports, asked, aggregated = _reports(path, monkeypatch)
    assert asked and aggregated == (2 if dropped else 1)  # a drop sends the streamed input to the full aggregate
    assert reports[0] == reports[1]
    report = reports[0]
    assert report["rows_in"] == 5
    assert {name: d["count"] for name, d in report["dropped"].items()} == dropped
    assert report["rows_kept"] == 5 - sum(dropped.values())
    assert report["parsed"]["quantity_filled"] == (0 if dropped else 1)


def test_absent_reasons_by_hand():
    """Over a date dictionary by hand: in-range ISO texts prove the three date tests absent and give
    the first and last date; one impossible date keeps them; a price column with a number in every
    line (and no amount column) proves missing_amount absent."""
    import ibis

    from segmint.clean_counts import absent_reasons
    from segmint.textshape import ANY

    con = engine.connect()
    options = CleanOptions(earliest_date=dt.date(2000, 1, 1), latest_date=dt.date(2030, 1, 1))

    def dicts(texts: list[str | None], filled: list[str]) -> Dictionaries:
        rows = ibis.memtable({"value": texts, "n": [3] * len(texts)}, schema={"value": "string", "n": "int64"})
        values = engine.materialize(con, rows)
        return Dictionaries(rows=3 * len(texts), tables={"invoice_date": values}, filled=filled, cast=["invoice_date"])

    in_range = dicts(["2023-04-03 10:30:00", "2021-01-02"], ["unit_price"])
    absent, dates = absent_reasons(in_range, ["unit_price"], ANY, options)
    assert absent == {"missing_date", "bad_date", "date_out_of_range", "missing_amount"}
    assert dates == (D(2021, 1, 2), D(2023, 4, 3, 10, 30))
    absent, dates = absent_reasons(dicts(["2023-04-03", "2023-02-30"], []), ["unit_price"], ANY, options)
    assert absent == set() and dates is None
    absent, dates = absent_reasons(dicts(["2023-04-03", None], ["unit_price"]), ["amount", "unit_price"], ANY, options)
    assert absent == set() and dates is None  # a NULL date is missing; an amount column may be blank
