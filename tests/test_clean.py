"""Cleaning: every parse case against hand-written expected values, drop counts, the report."""

from __future__ import annotations

from decimal import Decimal

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmint.clean import CleanOptions, clean_transactions
from segmint.errors import DataError, MappingError
from segmint.quality import DataQualityReport
from segmint.schema import CANONICAL_DTYPES, ColumnMapping


@pytest.fixture(scope="module")
def con():
    return ibis.duckdb.connect()


def mapped_table(columns: dict[str, list], source: str = "sales.csv") -> ibis.Table:
    frame = pd.DataFrame(columns)
    frame["_source"] = source
    frame["_row"] = pd.Series(range(2, len(frame) + 2), dtype="int64")  # header is row 1
    return ibis.memtable(frame)


def clean(con, columns: dict[str, list], mapping: ColumnMapping | None = None, **kwargs):
    table = mapped_table(columns)
    fields = {c: c for c in columns}
    return clean_transactions(table, mapping or ColumnMapping(fields=fields), con=con, source="sales.csv", **kwargs)


def rows(result) -> pd.DataFrame:
    frame = result.table.execute()
    return frame.sort_values(["invoice_id", *frame.columns.drop("invoice_id")]).reset_index(drop=True)


def basic(n: int, **columns) -> dict[str, list]:
    base = {
        "invoice_id": [f"I{i}" for i in range(n)],
        "customer_id": ["C1"] * n,
        "invoice_date": ["2023-04-01"] * n,
        "amount": ["10"] * n,
    }
    base.update(columns)
    return base


def dropped_examples(report: DataQualityReport, reason: str) -> list[tuple]:
    """(row, field, value) of each example of the lines dropped for ``reason``."""
    return [(e["_row"], e["field"], e["value"]) for e in report.dropped[reason].examples]


def by_invoice(result, column: str) -> list:
    frame = result.table.execute().sort_values("invoice_id")
    return frame[column].tolist()


def test_schema_is_canonical(con):
    result = clean(con, basic(2))
    schema = result.table.schema()
    assert list(schema.names) == list(CANONICAL_DTYPES)
    for name, dtype in CANONICAL_DTYPES.items():
        kind = str(schema[name]).split("(")[0]
        assert kind == dtype, name


def test_date_layouts_day_first_by_evidence(con):
    dates = ["2023-04-01", "2023-04-01 10:30:15", "45017", "45017.5", "20230401", "1-Apr-2023",
             "01-Apr-23", "Apr 1, 2023", "13/04/2023", "02/03/2023 08:26", "2023-04-01T10:30:00Z"]
    expected = ["2023-04-01", "2023-04-01 10:30:15", "2023-04-01", "2023-04-01 12:00", "2023-04-01",
                "2023-04-01", "2023-04-01", "2023-04-01", "2023-04-13", "2023-03-02 08:26",
                "2023-04-01 10:30"]
    result = clean(con, basic(len(dates), invoice_date=dates))
    got = by_invoice(result, "invoice_date")
    order = sorted(range(len(dates)), key=lambda i: f"I{i}")
    assert got == [pd.Timestamp(expected[i]) for i in order]
    info = result.report.date_formats["invoice_date"]
    assert info.dayfirst is True
    assert info.formats == {"iso": 3, "numeric": 2, "compact": 1, "day_month_name": 2,
                            "month_name_day": 1, "excel_serial": 2}
    assert "first part > 12" in info.evidence


def test_month_first_by_evidence(con):
    result = clean(con, basic(2, invoice_date=["04/13/2023", "02/03/2023"]))
    assert by_invoice(result, "invoice_date") == [pd.Timestamp("2023-04-13"), pd.Timestamp("2023-02-03")]
    assert result.report.date_formats["invoice_date"].dayfirst is False


def test_date_order_evidence_quotes_a_date_of_the_data(con):
    """The example of a day/month-order decision is a value of the column, never a made-up date."""
    month_first = clean(con, basic(3, invoice_date=["12/25/2012", "03/04/2012", "01/13/2013"]))
    # second part > 12: 12/25/2012 and 01/13/2013; the example is the first of them in text order
    assert month_first.report.date_formats["invoice_date"].evidence == (
        "month first: 2 values have a second part > 12 (e.g. 01/13/2013)")
    day_first = clean(con, basic(3, invoice_date=["25/12/2012", "03/04/2012", "13/01/2013"]))
    assert day_first.report.date_formats["invoice_date"].evidence == (
        "day first: 2 values have a first part > 12 (e.g. 13/01/2013)")
    assert "e.g. 13/01/2013" in day_first.report.summary()


def test_the_report_says_how_dates_are_written_in_words(con):
    """Groceries' report read "Date column 'Date': numeric 38,765. day first: ...": a pattern's code name."""
    day_first = clean(con, basic(3, invoice_date=["25/12/2012", "03/04/2012", "13/01/2013"]))
    assert ("Date column 'invoice_date': 3 values written in numbers as dd-mm-yyyy or mm-dd-yyyy. Day first: 2 "
            "values have a first part > 12 (e.g. 13/01/2013)") in day_first.report.summary()
    mixed = clean(con, basic(2, invoice_date=["2023-04-01", "20230402"]))
    assert ("1 value written year first (2023-04-01), 1 value written as yyyymmdd (20230401)"
            in mixed.report.summary())


def test_ambiguous_dates_assume_month_first_and_warn(con):
    result = clean(con, basic(1, invoice_date=["02/03/2023"]))
    assert by_invoice(result, "invoice_date") == [pd.Timestamp("2023-02-03")]
    assert any("ambiguous" in w for w in result.report.warnings)
    forced = clean(con, basic(1, invoice_date=["02/03/2023"]),
                   ColumnMapping(fields={c: c for c in basic(1)}, dayfirst=True))
    assert by_invoice(forced, "invoice_date") == [pd.Timestamp("2023-03-02")]
    option = clean(con, basic(1, invoice_date=["02/03/2023"]), options=CleanOptions(dayfirst=True))
    assert by_invoice(option, "invoice_date") == [pd.Timestamp("2023-03-02")]


def test_dotted_dates_are_day_first_without_a_day_over_12(con):
    # 05.01.2023 is 5 January wherever dates are written with dots (a German export: Datum, 10,50)
    result = clean(con, basic(3, invoice_date=["05.01.2023", "06.02.2023", "07.03.2023"]))
    assert by_invoice(result, "invoice_date") == [pd.Timestamp("2023-01-05"), pd.Timestamp("2023-02-06"),
                                                  pd.Timestamp("2023-03-07")]
    assert result.report.date_formats["invoice_date"].dayfirst is True
    assert not any("ambiguous" in w for w in result.report.warnings)
    # evidence still wins: a second part > 12 makes dotted dates month first
    result = clean(con, basic(2, invoice_date=["05.13.2023", "06.02.2023"]))
    assert by_invoice(result, "invoice_date") == [pd.Timestamp("2023-05-13"), pd.Timestamp("2023-06-02")]
    # slashes and dots mixed, nothing over 12: still ambiguous, month first assumed with the warning
    result = clean(con, basic(2, invoice_date=["05.01.2023", "06/02/2023"]))
    assert by_invoice(result, "invoice_date") == [pd.Timestamp("2023-05-01"), pd.Timestamp("2023-06-02")]
    assert any("ambiguous" in w for w in result.report.warnings)


def test_contradictory_day_order_names_column_and_rows(con):
    table = mapped_table(basic(3, invoice_date=["13/04/2023", "01/01/2023", "04/14/2023"]))
    mapping = ColumnMapping(fields={"invoice_id": "Inv", "customer_id": "Cust",
                                    "invoice_date": "Date", "amount": "Amt"})
    with pytest.raises(DataError, match=r"'Date'.*rows 2 .*rows 4"):
        clean_transactions(table, mapping, con=con, source="sales.csv")


def test_date_format_option_and_native_timestamps(con):
    forced = clean(con, basic(2, invoice_date=["01.04.2023", "2023-04-01"]),
                   options=CleanOptions(date_format="%d.%m.%Y"))
    assert by_invoice(forced, "invoice_date") == [pd.Timestamp("2023-04-01")]
    assert forced.report.dropped["bad_date"].count == 1
    native = clean(con, basic(1, invoice_date=[pd.Timestamp("2023-04-01 09:15")]))
    assert by_invoice(native, "invoice_date") == [pd.Timestamp("2023-04-01 09:15")]


def test_bad_and_missing_dates_are_dropped_with_examples(con):
    result = clean(con, basic(4, invoice_date=["31/02/2023", "", "2023-04-01", "soon"]))
    report = result.report
    assert report.rows_kept == 1
    assert report.dropped["bad_date"].count == 2
    assert report.dropped["missing_date"].count == 1
    examples = report.dropped["bad_date"].examples
    assert [(e["_row"], e["value"]) for e in examples] == [(2, "31/02/2023"), (5, "soon")]
    assert examples[0]["_source"] == "sales.csv"


def test_money_strings(con):
    amounts = ["Rs. 1,23,456.50", "₹1,234", "$1,234.50", "(120.00)", "1,234.50 Dr", "1,234.50 Cr",
               "-5", "£0.99"]
    expected = [123456.5, 1234.0, 1234.5, -120.0, 1234.5, -1234.5, -5.0, 0.99]
    result = clean(con, basic(len(amounts), invoice_id=[f"I{i}" for i in range(len(amounts))],
                              amount=amounts))
    frame = result.table.execute().set_index("invoice_id").loc[[f"I{i}" for i in range(len(amounts))]]
    assert frame["amount"].tolist() == pytest.approx(expected)
    assert frame["is_return"].tolist() == [False, False, False, True, False, True, True, False]
    parsed = result.report.parsed
    assert parsed["money_strings_amount"] == 7  # all but "-5"
    assert parsed["dr_cr_markers_amount"] == 2
    assert parsed["parentheses_negative_amount"] == 1
    assert result.report.returns == 3
    assert result.report.returns_value == pytest.approx(-120.0 - 1234.5 - 5.0)


def test_mixed_currencies_are_named_with_their_rows(con):
    """$1,234.56, EUR 99.99, GBP 0.10 and USD 12 were summed to 1,346.65 as one currency, with no word."""
    amounts = ["$1,234.56", "€ 99.99", "£0.10", "USD 12", "12.00"]
    result = clean(con, basic(len(amounts), invoice_id=[f"I{i}" for i in range(len(amounts))], amount=amounts))
    mixed = [w for w in result.report.warnings if "mixes currencies" in w]
    # by hand: the dollar sign and USD are one currency (2 rows); the plain 12.00 names none
    assert len(mixed) == 1 and "($ in 2 row(s), € in 1 row(s), £ in 1 row(s))" in mixed[0]
    assert result.report.total_amount == pytest.approx(1234.56 + 99.99 + 0.10 + 12 + 12)  # still read as written
    rupees = ["Rs. 1,23,456.50", "₹1,234", "INR 12", "1,234.50 Dr", "-5"]
    one = clean(con, basic(len(rupees), invoice_id=[f"I{i}" for i in range(len(rupees))], amount=rupees))
    assert not [w for w in one.report.warnings if "currenc" in w]


def test_decimal_comma_decided_from_evidence(con):
    result = clean(con, basic(3, amount=["€1.234,50", "1.234", "12,5"]))
    assert by_invoice(result, "amount") == pytest.approx([1234.5, 1234.0, 12.5])
    assert result.report.decimal_comma == {"amount": True}
    point = clean(con, basic(2, amount=["1,234.50", "1,234"]))
    assert by_invoice(point, "amount") == pytest.approx([1234.5, 1234.0])


def test_blank_and_dash_amounts_fall_back_to_price(con):
    result = clean(con, basic(3, amount=["-", "", "7"], quantity=["2", "3", "1"],
                              unit_price=["4", "", "7"]))
    assert result.report.rows_kept == 2
    assert result.report.dropped["missing_amount"].count == 1
    assert by_invoice(result, "amount") == pytest.approx([8.0, 7.0])


def test_derived_quantity_amount_price_and_cost(con):
    no_qty = clean(con, basic(1, amount=["30"]))
    assert by_invoice(no_qty, "quantity") == [1.0]
    assert by_invoice(no_qty, "unit_price") == [30.0]
    price_only = clean(con, {"customer_id": ["a", "a"], "invoice_date": ["2023-04-01"] * 2,
                             "quantity": ["3", "-2"], "unit_price": ["2.50", "2.50"],
                             "unit_cost": ["1.5", "1.5"]})
    frame = rows(price_only)
    assert frame["amount"].tolist() == pytest.approx([7.5, -5.0])
    assert frame["cost"].tolist() == pytest.approx([4.5, -3.0])
    assert frame["invoice_id"].tolist() == ["sales.csv:2", "sales.csv:3"]
    assert price_only.report.parsed["invoice_ids_synthesised"] == 2
    amount_only = clean(con, basic(1, amount=["12"], quantity=["4"]))
    assert by_invoice(amount_only, "unit_price") == [3.0]


def test_debit_credit_column(con):
    result = clean(con, basic(3, amount=["100", "40", "15"], debit_credit=["Dr", "Cr", "Credit"],
                              quantity=["2", "1", "1"]))
    assert by_invoice(result, "amount") == pytest.approx([100.0, -40.0, -15.0])
    assert by_invoice(result, "quantity") == pytest.approx([2.0, -1.0, -1.0])
    assert by_invoice(result, "is_return") == [False, True, True]
    assert result.report.parsed["credit_entries"] == 2


def test_customer_ids(con):
    result = clean(con, basic(5, customer_id=["12345.0", " 00042 ", "A-7", "", "nan"]))
    assert sorted(by_invoice(result, "customer_id")) == ["00042", "12345", "A-7"]
    assert result.report.dropped["missing_customer"].count == 2
    assert result.report.parsed["customer_ids_fixed"] == 1
    native = clean(con, basic(2, customer_id=[12345.0, 7.0]))
    assert sorted(by_invoice(native, "customer_id")) == ["12345", "7"]


def test_invoice_lines_and_cancellation_prefix(con):
    result = clean(con, basic(4, invoice_id=["536365", "536365", "C536379", "536366"],
                              quantity=["6", "2", "-1", "1"], amount=["15.30", "4", "-2", "1"]))
    frame = rows(result)
    assert frame[["invoice_id", "amount"]].values.tolist() == [
        ["536365", 4.0], ["536365", 15.3], ["536366", 1.0], ["C536379", -2.0]]
    assert frame["is_return"].tolist() == [False, False, False, True]
    assert result.report.invoices == 3


def test_returns_net_or_drop(con):
    data = basic(4, invoice_id=["1", "C2", "3", "4"], quantity=["2", "2", "-1", "1"],
                 amount=["10", "10", "5", "5"])
    net = clean(con, data)
    assert net.report.total_amount == pytest.approx(10 - 10 - 5 + 5)
    assert net.report.returns == 2
    dropped = clean(con, data, options=CleanOptions(returns="drop"))
    assert dropped.report.dropped["return"].count == 2
    assert dropped.report.rows_kept == 2
    assert dropped.report.total_amount == pytest.approx(15.0)


def test_duplicates_with_and_without_invoice_column(con):
    data = basic(4, invoice_id=["1", "1", "1", "2"], amount=["10", "10", "10.00", "10"])
    with_invoice = clean(con, data)
    assert with_invoice.report.dropped["duplicate"].count == 2  # '10.00' is the same value
    assert with_invoice.report.duplicates == 2 and with_invoice.report.duplicates_dropped
    no_invoice = {k: v for k, v in data.items() if k != "invoice_id"}
    kept = clean(con, no_invoice)
    assert kept.report.rows_kept == 4
    assert kept.report.duplicates == 3 and not kept.report.duplicates_dropped
    assert any("repeat purchases" in w for w in kept.report.warnings)


@pytest.mark.parametrize("staging", ["materialize", "stream"])
def test_duplicates_hashed_on_the_probe_key_are_told_apart_exactly(staging, monkeypatch):
    """Stored lines carry the hash of invoice, product and quantity (kept lines only): lines agreeing on
    those alone are candidates the exact numbering tells apart. By hand (rows 2-7): rows 3 and 5 repeat
    row 2, row 4 too but it has no customer (dropped for that), row 6 differs from row 2 in its price
    only, row 7 in its quantity only: 2 duplicates, 3 lines kept, stored or streamed alike."""
    from segmint import engine

    monkeypatch.setenv("SEGMINT_STAGING", staging)
    data = basic(
        6, invoice_id=["1"] * 6, customer_id=["C1", "C1", "", "C1", "C1", "C1"], product_id=["P"] * 6,
        quantity=["2", "2", "2", "2", "2", "3"], unit_price=["5", "5", "5", "5", "6", "5"],
        amount=["10", "10", "10", "10", "12", "15"],
    )  # fmt: skip
    result = clean(engine.connect(), data)
    report = result.report
    assert report.dropped["missing_customer"].count == 1
    assert report.duplicates == 2 and report.dropped["duplicate"].count == 2
    assert report.rows_kept == 3
    assert sorted(result.table.amount.to_pyarrow().to_pylist()) == [10.0, 12.0, 15.0]
    assert [e["_row"] for e in report.dropped["duplicate"].examples] == [3, 5]


def test_duplicates_of_two_files_are_marked_by_file_and_row():
    """Stored lines of two files (their ``_source`` stored): duplicates are marked in place by file and
    row. By hand: a.csv row 3 repeats a.csv row 2, b.csv rows 2 and 4 repeat it and a.csv row 4; b.csv
    row 3 shares its row number with a.csv row 3 but is a line of its own: 3 duplicates, 3 lines kept."""
    from segmint import engine

    first = basic(3, invoice_id=["1", "1", "2"], customer_id=["C1", "C1", "C2"], amount=["10", "10", "4"])
    second = basic(3, invoice_id=["1", "4", "2"], customer_id=["C1", "C3", "C2"], amount=["10", "6", "4"])
    table = ibis.union(mapped_table(first, "a.csv"), mapped_table(second, "b.csv"))
    result = clean_transactions(table, ColumnMapping(fields={c: c for c in first}), con=engine.connect(),
                                source="a.csv, b.csv")  # fmt: skip
    report = result.report
    assert report.duplicates == 3 and report.dropped["duplicate"].count == 3 and report.rows_kept == 3
    assert [(e["_source"], e["_row"]) for e in report.dropped["duplicate"].examples] == [
        ("a.csv", 3), ("b.csv", 2), ("b.csv", 4)]
    assert {e["field"] for e in report.dropped["duplicate"].examples} == {"invoice_id"}
    assert sorted(result.table.amount.to_pyarrow().to_pylist()) == [4.0, 6.0, 10.0]
    assert report.total_amount == pytest.approx(20.0)


def test_on_duckdb_the_cleaned_lines_are_a_view_later_queries_name():
    """Queries over the cleaned lines (features, duplicates, counters) compile the name of one view,
    not the parsing and drop-reason expressions again; the rows are the same as through the expression."""
    from segmint import engine

    duck = engine.connect()
    data = basic(3, invoice_id=["1", "2", "3"], amount=["10", "x", "7.5"])
    result = clean(duck, data)
    sql = duck.compile(result.table.aggregate(n=result.table.count()))
    assert "CASE" not in sql and "segmint_v_" in sql  # one view named, nothing re-derived
    assert sorted(result.table.amount.to_pyarrow().to_pylist()) == [7.5, 10.0]  # 'x' dropped as bad_amount
    assert result.report.dropped["bad_amount"].count == 1


def test_a_flag_set_to_false_layers_earlier_is_known_never_set(con):
    """A typed number column's money/Dr-Cr/parenthesis flags are the literal False a few layers down:
    seen through the layers they are not stored (the report counts them as 0); a computed flag is."""
    from segmint.clean_stage import _never

    t = ibis.table({"amount": "float64", "text": "string"}, name="t")
    layered = t.mutate(flag=ibis.literal(False), real=t.text.contains("x")).mutate(other=t.amount + 1)
    layered = layered.mutate(more=layered.other * 2)
    assert _never(layered.flag, through_layers=True) and not _never(layered.flag)
    assert not _never(layered.real, through_layers=True) and not _never(layered.other, through_layers=True)
    typed = clean(con, basic(3, amount=[10.0, 2.5, 4.0]))  # a float amount: nothing written as money
    assert typed.report.parsed["money_strings_amount"] == 0 and typed.report.rows_kept == 3


def test_columns_the_input_makes_constant_are_not_stored_per_row():
    """A canonical field the file lacks (cost, org, product) and a repair that cannot happen are
    constants of the staged view, not columns of the stored copy; the cleaned lines still have them."""
    from segmint import engine

    duck = engine.connect()
    result = clean(duck, basic(3))  # invoice, customer, date, amount: no cost, org, product or quantity
    stored = duck.con.execute(
        "SELECT table_name, list(column_name) FROM duckdb_columns() WHERE table_name IN "
        "(SELECT table_name FROM duckdb_tables() WHERE database_name = 'temp') GROUP BY 1"  # tables, not views
    ).fetchall()
    staged = [columns for _, columns in stored if "_reason" in columns]
    assert len(staged) == 1 and not {"cost", "org_id", "product_id", "_fix_invoice"} & set(staged[0])
    rows = result.table.select("cost", "org_id", "product_id", "amount").to_pyarrow().to_pylist()
    assert sorted(r["amount"] for r in rows) == [10.0] * 3 and {(r["cost"], r["org_id"], r["product_id"]) for r in rows} == {(None, None, None)}
    assert result.report.parsed["invoice_ids_synthesised"] == 0  # counted as before, over the constant


def test_value_dictionaries_are_dropped_once_the_rows_are_staged():
    """The distinct-value dictionaries cleaning parses through (text dates, money texts) are temporary
    tables dropped when the staged rows no longer need them; only the staged copy and the parsed
    dictionaries' results remain."""
    from segmint import engine

    duck = engine.connect()
    before = {name for (name,) in duck.con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    result = clean(duck, basic(3, invoice_date=["01/04/2023", "02/04/2023", "03/04/2023"], amount=["$10", "$2.50", "$4"]))
    assert result.report.rows_kept == 3
    tables = duck.con.execute("SELECT table_name, list(column_name) FROM duckdb_columns() WHERE table_name IN "
                              "(SELECT table_name FROM duckdb_tables()) GROUP BY 1").fetchall()  # fmt: skip
    left = {name: columns for name, columns in tables if name not in before}
    assert not [name for name, columns in left.items() if columns[:2] == ["value", "n"]]  # no grouped dictionary


def test_partial_periods_and_gaps_by_the_shared_coverage_rule(con):
    # trading every day from 1 January to 7 March 2023: the usual gap is 1 day
    days = pd.date_range("2023-01-01", "2023-03-07").strftime("%Y-%m-%d").tolist()
    result = clean(con, basic(len(days), invoice_date=days))
    assert [(p.period, p.covered_days, p.days, p.coverage) for p in result.report.partial_periods] == [
        ("2023-03", 7, 31, round(7 / 31, 4)), ("2023-Q1", 66, 90, round(66 / 90, 4))  # the story's quarter too
    ]
    assert "Partial period: 2023-03 is partial: data cover 2023-03-01 to 2023-03-07, 7 of its 31 days (23%)" \
        in result.report.summary()
    quarter = clean(con, basic(len(days), invoice_date=days), options=CleanOptions(trailing_period="quarter"))
    assert [(p.period, p.covered_days, p.days) for p in quarter.report.partial_periods] == [("2023-Q1", 66, 90)]
    two_months = clean(con, basic(len(days[:59]), invoice_date=days[:59]))  # 1 January .. 28 February
    assert [(p.period, p.covered_days) for p in two_months.report.partial_periods] == [("2023-Q1", 59)]
    quarter_days = pd.date_range("2023-01-01", "2023-03-31").strftime("%Y-%m-%d").tolist()
    full = clean(con, basic(len(quarter_days), invoice_date=quarter_days))
    assert full.report.partial_periods == [] and full.report.gaps == []
    # a month inside the range with 3 trading days against 28-31 around it is a gap, named
    year = pd.date_range("2023-01-01", "2023-07-31")
    kept = [d for d in year if d.month != 4 or d.day <= 3]
    gappy = clean(con, basic(len(kept), invoice_date=[d.strftime("%Y-%m-%d") for d in kept]))
    assert [(g.month, g.trading_days, g.neighbour_trading_days) for g in gappy.report.gaps] == [("2023-04", 3, 30.5)]
    assert "2023-04: 3 trading days and 3 rows, against a median of 30.5 days" in gappy.report.summary()


def test_reader_skips_count_as_rows_in(con):
    result = clean(con, basic(3, customer_id=["a", "", "b"]), reader_skipped={"total_rows": 2})
    report = result.report
    assert (report.rows_in, report.rows_kept) == (5, 2)
    assert report.dropped["total_rows"].count == 2


def test_mapping_and_empty_errors(con):
    with pytest.raises(MappingError, match="customer_id"):
        clean(con, {"invoice_date": ["2023-01-01"], "amount": ["1"]})
    with pytest.raises(MappingError, match="amount"):
        clean(con, {"customer_id": ["a"], "invoice_date": ["2023-01-01"]})
    with pytest.raises(DataError, match="no usable sales lines"):
        clean(con, basic(2, invoice_date=["x", "y"]))


def test_nothing_kept_names_the_first_bad_row_column_and_value(con):
    # every date unreadable: the error showed only "(3 date not understood); check the column mapping"
    columns = basic(3, invoice_date=["2023-01-06 10:00:00 XYZ", "2023-01-07 10:00:00 XYZ", "soon"])
    mapping = ColumnMapping(fields={"invoice_id": "Bill", "customer_id": "Party", "invoice_date": "Order Date",
                                    "amount": "Total"})  # fmt: skip
    with pytest.raises(DataError) as caught:
        clean(con, columns, mapping)
    error = caught.value
    assert error.message.startswith(
        "sales.csv: no usable sales lines (3 date not understood); e.g. sales.csv row 2, column 'Order Date': "
        "'2023-01-06 10:00:00 XYZ'. The dates in column 'Order Date' such as '2023-01-06 10:00:00 XYZ' end in "
        "'XYZ', which is no time zone segmint reads (it reads Z, offsets such as +05:30"
    )  # the word is named, with the zones read and the fixes (date_hint.zone_word_hint)
    assert error.message.endswith("or read it as literal text with date_format '%Y-%m-%d %H:%M:%S XYZ'")
    assert (error.field, error.value) == ("Order Date", "2023-01-06 10:00:00 XYZ")
    # the fix is the date_format parameter, with the layout of the value shown (the column is the field)
    assert (error.fix.option, error.fix.example) == ("date_format", "%Y-%m-%d %H:%M:%S XYZ")
    # the claim: that layout reads both XYZ dates (2023-01-06 and 2023-01-07 10:00), and only 'soon' is dropped
    fixed = clean(con, columns, mapping.model_copy(update={"date_format": error.fix.example}))
    assert sorted(rows(fixed)["invoice_date"].astype(str)) == ["2023-01-06 10:00:00", "2023-01-07 10:00:00"]
    # the largest reason is shown: 2 blank customers against 1 bad date; no date fix then
    with pytest.raises(DataError) as caught:
        clean(con, basic(3, customer_id=["", "C2", " "], invoice_date=["2023-01-01", "x", "2023-01-02"]))
    assert "e.g. sales.csv row 2, column 'customer_id': (blank)" in caught.value.message
    assert caught.value.fix is None


def test_report_json_round_trip_and_summary(con, tmp_path):
    result = clean(con, basic(4, customer_id=["a", "", "b", "b"], amount=["1,000.50", "2", "3", "4"]))
    path = tmp_path / "quality.json"
    result.report.to_json(path)
    loaded = DataQualityReport.from_json(path)
    assert loaded == result.report
    text = loaded.summary()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    assert "Rows read 4" in lines and "Rows kept 3 75.0%" in lines
    # counts before the description: only the description wraps on a narrow terminal
    assert "missing_customer 1 25.0% no customer id" in lines
    assert "1,007.50" in text  # total amount 1000.50 + 3 + 4
    assert "sales.csv row 3" in text
    # no line repeats another: nothing to see in the warnings (it said "0 kept (see the warnings)")
    assert "Exact duplicate lines: none" in lines and not loaded.warnings


def test_summary_claims_no_invoice_numbers_a_file_does_not_have(con):
    # a purchase log without invoices (CDNOW): the report said "Invoice numbers: 69,659", one per line
    columns = basic(3, customer_id=["a", "a", "b"])
    del columns["invoice_id"]
    text = clean(con, columns).report.summary()
    assert "Invoice numbers: none in the data (a customer's lines on one day count as one visit)" in text
    assert "Invoice numbers (returns included)" not in text
    # with an invoice column (one blank cell made up) the count stays
    text = clean(con, basic(3, invoice_id=["I1", "", "I2"])).report.summary()
    assert "Invoice numbers (returns included): 3" in text


def test_summary_shows_a_null_cell_as_blank(con):
    result = clean(con, basic(3, customer_id=["a", None, "b"]))
    text = result.report.summary()
    assert "missing_customer: sales.csv row 3 value (blank)" in text  # header is row 1
    assert "value None" not in text


def test_report_rejects_rows_that_do_not_add_up():
    with pytest.raises(ValueError, match="rows_in"):
        DataQualityReport(source="x", rows_in=3, rows_kept=1)


MESSY_DATES = ["2023-04-01", "13/04/2023", "45017", "junk", "", None, "1-Apr-2023", "31/02/2023"]
MESSY_AMOUNTS = ["10", "(5)", "Rs. 1,000", "abc", "", "-", "1,234.50 Cr", None]
MESSY_CUSTOMERS = ["1", "2.0", "", " 3 ", None, "nan"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.sampled_from(["1", "2", "C3"]), st.sampled_from(MESSY_CUSTOMERS),
                          st.sampled_from(MESSY_DATES), st.sampled_from(MESSY_AMOUNTS),
                          st.sampled_from(["1", "-1", "x", ""])), min_size=1, max_size=30),
       st.sampled_from(["net", "drop"]))
def test_rows_always_add_up(con, lines, returns):
    data = dict(zip(["invoice_id", "customer_id", "invoice_date", "amount", "quantity"], map(list, zip(*lines))))
    try:
        result = clean(con, data, options=CleanOptions(returns=returns))
    except DataError as exc:  # every row unusable
        assert "no usable" in str(exc)
        return
    report = result.report
    assert report.rows_in == len(lines)
    assert report.rows_in == report.rows_kept + sum(d.count for d in report.dropped.values())
    assert result.table.count().execute() == report.rows_kept
    assert all(len(d.examples) <= 5 for d in report.dropped.values())
    blank_customers = sum(c is None or c.strip() in ("", "nan") for _, c, *_ in lines)
    missing = report.dropped["missing_customer"].count if "missing_customer" in report.dropped else 0
    assert missing == blank_customers


def test_debit_credit_columns_net_into_one_amount(con):
    """A Tally register: sales in the Debit column, a credit note in the Credit column."""
    mapping = ColumnMapping(fields={"invoice_id": "invoice_id", "customer_id": "customer_id",
                                    "invoice_date": "invoice_date", "amount": "amount", "credit": "credit"})
    result = clean(con, {
        "invoice_id": ["1", "2", "3", "4"],
        "customer_id": ["Ram Traders", "Shyam & Co", "Ram Traders", "Gopal"],
        "invoice_date": ["2023-04-01", "2023-04-02", "2023-04-03", "2023-04-03"],
        "amount": ["1,23,456.00 Dr", "12,500.50 Dr", None, "500"],
        "credit": [None, None, "1,000.00 Cr", "200"],
    }, mapping=mapping)
    assert by_invoice(result, "amount") == [123456.0, 12500.5, -1000.0, 300.0]
    assert by_invoice(result, "is_return") == [False, False, True, False]
    report = result.report
    assert report.rows_kept == 4 and not report.dropped
    assert report.returns == 1 and report.returns_value == -1000.0
    assert report.total_amount == 123456.0 + 12500.5 - 1000.0 + 300.0
    assert report.parsed.get("amount_computed", 0) == 0  # the credit note's amount came from Credit


def test_placeholder_dates_are_out_of_range(con):
    """1900-01-01 (Excel's day 1, SQL Server's default) and Excel's day 0 stand for a missing date: one such
    line was kept and stretched a 2023 log back to 1900 (a story of 494 quarters)."""
    dates = ["1900-01-01", "1899-12-30", "1900-01-02", "2023-04-01"]
    result = clean(con, basic(4, invoice_date=dates, amount=["1", "2", "4", "8"]))
    out = result.report.dropped["date_out_of_range"]
    assert out.count == 2 and "1900-01-01 and Excel's day 0 stand for a missing date" in out.description
    assert result.report.total_amount == 12.0  # 4 + 8: the two placeholders (1 + 2) left out
    assert f"{result.report.first_date:%Y-%m-%d}" == "1900-01-02"  # the day after is a date like any other


def _sub_cent(result) -> list[str]:
    return [w for w in result.report.warnings if "more than 2 decimals" in w]


@pytest.mark.parametrize(("amounts", "read", "warned"), [
    # plain numbers (cast directly): 2 x (1.23 - 1.234) + (0.01 - 0.007) = -0.005; 12.000 is whole cents
    (["1.234", "1.234", "0.007", "12.000", "5.50"], [1.234, 1.234, 0.007, 12.0, 5.5], "3 value(s)", ),
    # parsed through the dictionary (1,000.126 says '.' is the decimal mark): +0.004 - 0.004 - 0.003
    (["1,000.126", "1.234", "3.333", "2.50"], [1000.126, 1.234, 3.333, 2.5], "3 value(s)"),
    # '.' groups thousands here (1.234,50): 1.234 is 1234, whole cents, no warning
    (["1.234", "1.234,50", "2.000,25"], [1234.0, 1234.5, 2000.25], None),
    (["12.34", "0.10", "12.000", "-3.5"], [12.34, 0.1, 12.0, -3.5], None),
    # 'inf' is no number (dropped): its cast (inf) has no cents to round, and did not stop the count
    (["1.234", "inf", "2.50"], [1.234, 2.5], "1 value(s)"),
])  # fmt: skip
def test_amounts_with_more_than_two_decimals_are_kept_and_their_rounding_named(con, amounts, read, warned):
    """A 3-decimal currency (1.234 KWD) was rounded to the cent with no word: the report names the values
    and how much rounding each to the cent changes their total; the amounts themselves keep every decimal."""
    result = clean(con, basic(len(amounts), invoice_id=[f"I{i}" for i in range(len(amounts))], amount=amounts))
    assert rows(result).amount.tolist() == pytest.approx(read, abs=1e-12)
    warnings = _sub_cent(result)
    if warned is None:
        assert warnings == []
    else:
        change = {5: "-0.005", 4: "-0.003", 3: "-0.004"}[len(amounts)]
        assert len(warnings) == 1 and warnings[0].startswith(f"{warned} in column 'amount' have more than 2 decimals")
        assert warnings[0].endswith(f"changes their total by {change}")


@pytest.mark.parametrize(("column", "warned"), [
    # a Parquet double: 2 x (1.23 - 1.234) + (0.01 - 0.007) = -0.005, as for the same values written as text
    (pa.array([1.234, 1.234, 0.007, 12.0, 5.5]), "3 value(s) in column 'amount' have more than 2 decimals"),
    # a decimal of 3 places: the same values and change (12.000 and 5.500 are whole cents)
    (pa.array([Decimal("1.234"), Decimal("1.234"), Decimal("0.007"), Decimal("12.000"), Decimal("5.500")],
              pa.decimal128(10, 3)), "3 value(s) in column 'amount' have more than 2 decimals"),
    (pa.array([Decimal("1.23"), Decimal("1.23"), Decimal("0.01"), Decimal("12.00"), Decimal("5.50")],
              pa.decimal128(10, 2)), None),  # 2 places: nothing to round
    (pa.array([1, 2, 3, 12, 5]), None),
])  # fmt: skip
def test_typed_amounts_with_more_than_two_decimals_are_named_too(tmp_path, column, warned):
    """Only text amount columns were checked: a Parquet file of 1.234 KWD amounts was rounded to the cent
    with no word. A typed amount column is counted in the counters' aggregate (no pass of its own)."""
    import pyarrow.parquet as pq

    from segmint.reading import read_transactions

    path = tmp_path / "kwd.parquet"
    pq.write_table(pa.table({"customer": list("abcde"), "date": ["2024-01-01"] * 5, "amount": column}), path)
    warnings = [w for w in read_transactions(path).report.warnings if "more than 2 decimals" in w]
    if warned is None:
        assert warnings == []
    else:
        assert len(warnings) == 1 and warnings[0].startswith(warned)
        assert warnings[0].endswith("changes their total by -0.005")


@pytest.mark.parametrize("staging", ["materialize", "stream"])
def test_an_amount_beyond_what_money_holds_is_dropped_with_its_row(con, monkeypatch, staging):
    # /tmp/lead/big.csv: 1e17 is beyond DECIMAL(18, 2) and int64 cents; it was a ConversionException
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    result = clean(con, {
        "customer_id": ["A", "B", "C", "D"],
        "invoice_date": ["2021-01-02", "2021-02-03", "2021-02-05", "2021-02-06"],
        "amount": ["100000000000000000", "5.25", "7.00", "-2000000000000000"],
    })  # fmt: skip
    report = result.report
    assert (report.rows_in, report.rows_kept) == (4, 2)
    assert report.dropped["amount_too_large"].count == 2  # the sale of 1e17 and the return of -2e15
    assert dropped_examples(report, "amount_too_large") == [
        (2, "amount", "100000000000000000"), (5, "amount", "-2000000000000000"),
    ]  # fmt: skip
    assert report.total_amount == 12.25 and report.customers == 2
    assert "2 lines dropped for an amount beyond 1,000,000,000,000,000 (e.g. sales.csv row 2, column " \
        "'amount': '100000000000000000')" in " ".join(report.warnings)


@pytest.mark.parametrize("staging", ["materialize", "stream"])
def test_lines_within_the_limit_that_add_up_beyond_it_are_one_error(con, monkeypatch, staging):
    # each line fits, net 1e14 fits, but sales 6e14 + returns 5e14 = 1.1e15 is beyond 1e15: the
    # customer's sales before returns could not be held exactly
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    with pytest.raises(DataError) as caught:
        clean(con, {
            "customer_id": ["A", "A", "B"],
            "invoice_date": ["2021-01-02", "2021-02-03", "2021-02-05"],
            "amount": ["600000000000000", "-500000000000000", "1"],
        })  # fmt: skip
    error = caught.value
    assert "add up to 1,100,000,000,000,001 (sales plus returns), beyond 1,000,000,000,000,000" in error.message
    assert (error.field, error.value, error.fix.option) == ("amount", "1,100,000,000,000,001", "mapping")


def test_amounts_up_to_the_limit_are_kept_as_they_are(con):
    result = clean(con, basic(2, amount=["999999999999999", "1"]))
    assert "amount_too_large" not in result.report.dropped
    assert result.report.total_amount == 1e15 and by_invoice(result, "amount") == [999999999999999.0, 1.0]


def test_without_prices_a_quantity_beyond_the_limit_is_dropped_naming_the_quantity(con):
    result = clean(con, {
        "customer_id": ["A", "B"], "invoice_date": ["2021-01-02", "2021-01-03"], "quantity": ["3", "2e15"],
    }, options=CleanOptions(unpriced="units"))  # fmt: skip
    dropped = result.report.dropped["amount_too_large"]
    assert [(e["_row"], e["field"], e["value"]) for e in dropped.examples] == [(3, "quantity", "2e15")]
    assert result.report.total_amount == 3.0


@pytest.mark.parametrize("staging", ["materialize", "stream"])
def test_a_cost_beyond_what_money_holds_is_dropped_with_its_row(con, monkeypatch, staging):
    # a cost of 1e17 was kept: the customer's profit read -99,999,999,999,999,952 (float noise and all)
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    costs = ["60", "100000000000000000", "-3000000000000000", "10.5"]
    report = (result := clean(con, basic(4, amount=["100", "50", "70", "20"], cost=costs))).report
    assert (report.rows_in, report.rows_kept, set(report.dropped)) == (4, 2, {"cost_too_large"})
    assert dropped_examples(report, "cost_too_large") == [
        (3, "cost", "100000000000000000"), (4, "cost", "-3000000000000000"),
    ]  # fmt: skip
    assert report.total_amount == 120.0 and report.customers == 1
    assert sorted(by_invoice(result, "cost")) == [10.5, 60.0]
    assert "2 lines dropped for a cost beyond 1,000,000,000,000,000 (e.g. sales.csv row 3, column 'cost': " \
        "'100000000000000000'): correct the value in the file, or map the column that holds each line's cost" \
        in report.warnings


def test_a_unit_cost_whose_line_cost_is_beyond_the_limit_names_the_unit_cost(con):
    # 2,000,000 x 1e9 = 2e15: each value fits, the line's cost does not
    result = clean(con, basic(2, quantity=["2000000", "3"], unit_cost=["1000000000", "2.5"]))
    assert dropped_examples(result.report, "cost_too_large") == [(2, "unit_cost", "1000000000")]
    assert by_invoice(result, "cost") == [7.5]


@pytest.mark.parametrize("staging", ["materialize", "stream"])
def test_costs_within_the_limit_that_add_up_beyond_it_are_one_error(con, monkeypatch, staging):
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    with pytest.raises(DataError) as caught:
        clean(con, basic(3, cost=["600000000000000", "-500000000000000", "1"]))
    error = caught.value
    assert "the costs in column 'cost' add up to 1,100,000,000,000,001 (sales plus returns)" in error.message
    assert (error.field, error.value, error.fix.option) == ("cost", "1,100,000,000,000,001", "mapping")


def test_costs_up_to_the_limit_are_kept_as_they_are(con):
    result = clean(con, basic(2, cost=["999999999999990", "10"]))
    assert result.report.dropped == {} and by_invoice(result, "cost") == [999999999999990.0, 10.0]


def test_the_report_says_in_words_what_was_repaired_computed_or_read():
    """The counters are named in words under what they are: a unit price computed from amount / quantity
    on lines without a price column is not a repair, and invoice numbers made up for every line (there
    are none in the data, as the summary says) are not listed as repaired."""
    parsed = {"invoice_ids_synthesised": 2, "quantity_filled": 1, "unit_price_computed": 3, "credit_entries": 1,
              "cost_unreadable": 0, "customer_ids_fixed": 1}
    text = " ".join(DataQualityReport(source="x", rows_in=3, rows_kept=3, parsed=parsed).summary().split())
    assert ("Values repaired: customer ids written as decimals made whole (12345.0 -> 12345) on 1 line; blank "
            "invoice numbers (each such line its own purchase) on 2 lines; blank quantities taken as 1 on 1 line") in text
    assert "Values computed: unit prices as amount / quantity on 3 lines" in text
    assert "Values read: credit (Cr) entries, counted as returns on 1 line" in text and "unreadable costs" not in text
    every = DataQualityReport(source="x", rows_in=3, rows_kept=3, parsed={"invoice_ids_synthesised": 3}).summary()
    assert "Invoice numbers: none in the data" in every and "Values repaired" not in every
