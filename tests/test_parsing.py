"""parsing.py: numbers, dates and blanks against hand-written values (each case read by a person)."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from segmint.errors import ConfigError
from segmint.parsing import (
    DATE_PATTERNS,
    EXCEL_SERIAL,
    add_parsed_dates,
    add_parsed_number,
    is_blank,
    normalised,
    pattern_from_strptime,
)

NUMBERS = [  # text, value, flag that must be set (besides none)
    ("12", 12.0, None),
    ("-3.50", -3.5, None),
    ("1,234.50", 1234.5, "money"),
    ("Rs. 1,23,456.50", 123456.5, "money"),
    ("(120.00)", -120.0, "paren"),
    ("1,234.50 Cr", -1234.5, "credit"),
    ("500 Dr", 500.0, "drcr"),
    ("€1.234,50", 1234.5, "money"),
    ("1\u202f234,50\u00a0€", 1234.5, "money"),  # French grouping by narrow no-break space (was invalid)
    ("12\u202f000,00\u202f€", 12000.0, "money"),
    ("1\u2009234.50", 1234.5, "money"),  # thin-space grouping (was invalid)
    ("1.5E+03", 1500.0, "money"),
    ("2e2", 200.0, "money"),
    ("-2.5e-1", -0.25, "money"),
    ("-0", 0.0, None),
    ("\u201312.00", -12.0, "money"),  # en dash as the minus sign (was invalid: a dropped return)
    ("\u221212.00", -12.0, "money"),  # U+2212 minus
    ("\u2013 €1.234,50", -1234.5, "money"),
    ("12.00\u2013", -12.0, "money"),  # trailing minus, typeset
    ("nan", None, "blank"),
    ("  N/A ", None, "blank"),
    ("-", None, "blank"),
    ("", None, "blank"),
    ("inf", None, "invalid"),
    ("1e309", None, "invalid"),
    ("abc", None, "invalid"),
    ("12 apples", None, "invalid"),
]


@pytest.fixture(scope="module")
def numbers() -> pd.DataFrame:
    table = ibis.memtable({"text": [t for t, _, _ in NUMBERS], "i": list(range(len(NUMBERS)))})
    return add_parsed_number(table, "text", "n").order_by("i").execute()


@pytest.mark.parametrize("index", range(len(NUMBERS)), ids=[repr(t) for t, _, _ in NUMBERS])
def test_number_values_and_flags(numbers, index):
    text, value, flag = NUMBERS[index]
    row = numbers.iloc[index]
    if value is None:
        assert row["n"] is None or math.isnan(row["n"])
    else:
        assert row["n"] == pytest.approx(value)
        assert math.copysign(1.0, row["n"]) == math.copysign(1.0, value)  # '-0' is +0, not -0
    flags = {f for f in ("blank", "invalid", "money", "credit", "drcr", "paren") if row[f"n_{f}"]}
    expected = {flag} if flag else set()
    if flag == "credit":
        expected |= {"drcr", "money"}
    if flag in ("paren", "drcr"):
        expected |= {"money"}
    assert flags == expected


def test_decimal_comma_follows_the_columns_evidence_when_ambiguous():
    table = ibis.memtable({"text": ["1.234", "1,5", "1.234,5"], "i": [0, 1, 2]})
    point = add_parsed_number(table, "text", "n").order_by("i").execute()["n"].tolist()
    comma = add_parsed_number(table, "text", "n", decimal_comma=True).order_by("i").execute()["n"].tolist()
    assert point == [1.234, 1.5, 1234.5]  # '1,5' and '1.234,5' carry their own signature
    assert comma == [1234.0, 1.5, 1234.5]


def test_typed_float_column_nan_is_blank_and_inf_invalid():
    frame = pd.DataFrame({"x": [1.5, float("nan"), float("inf"), -0.0, None]})
    out = add_parsed_number(ibis.memtable(frame), "x", "n").execute()
    assert out["n"].iloc[0] == 1.5 and math.copysign(1.0, out["n"].iloc[3]) == 1.0
    assert out["n_blank"].tolist() == [False, True, False, False, True]
    assert out["n_invalid"].tolist() == [False, False, True, False, False]


def dates(values: list[str], patterns=DATE_PATTERNS, dayfirst: bool = False) -> list:
    table = ibis.memtable({"raw": values, "i": list(range(len(values)))})
    table = table.mutate(text=normalised(table.raw))
    out = add_parsed_dates(table, "text", "when", patterns, dayfirst=dayfirst).order_by("i").execute()
    return [None if pd.isna(v) else v.to_pydatetime() for v in out["when"]]


def test_date_layouts():
    got = dates(["2023-04-01", "2023/4/1 10:30", "20230401", "1-Apr-2023", "Apr 1, 2023", "04/01/2023 10:30 pm"])
    assert got[:5] == [dt.datetime(2023, 4, 1)] + [dt.datetime(2023, 4, 1, 10, 30)] + [dt.datetime(2023, 4, 1)] * 3
    assert got[5] == dt.datetime(2023, 4, 1, 22, 30)  # month first: 04/01 is 1 April


def test_day_first_and_two_digit_years():
    assert dates(["01/02/23", "13/02/1999", "01/02/69", "01/02/70"], dayfirst=True) == [
        dt.datetime(2023, 2, 1), dt.datetime(1999, 2, 13), dt.datetime(2069, 2, 1), dt.datetime(1970, 2, 1)]


def test_four_digit_year_0001_is_not_2001():
    assert dates(["01/02/0001", "0001-01-01"]) == [dt.datetime(1, 1, 2), dt.datetime(1, 1, 1)]


def test_impossible_dates_are_none():
    assert dates(["2023-02-30", "2024-02-30", "2023-13-01", "2023-04-01 25:00", "yesterday"]) == [None] * 5
    assert dates(["2024-02-29"]) == [dt.datetime(2024, 2, 29)]  # a leap day


def test_excel_serial_days():
    assert dates(["45017", "45017.5"], patterns=(EXCEL_SERIAL,)) == [
        dt.datetime(2023, 4, 1), dt.datetime(2023, 4, 1, 12)]


def test_strptime_formats():
    pattern = pattern_from_strptime("%d.%m.%Y %H:%M")
    assert dates(["01.04.2023 09:15", "1.4.2023 9:15"], patterns=(pattern,)) == [dt.datetime(2023, 4, 1, 9, 15)] * 2
    with pytest.raises(ConfigError, match="not supported"):
        pattern_from_strptime("%j/%Y")
    with pytest.raises(ConfigError, match="needs a year"):
        pattern_from_strptime("%d.%m")


def test_blank_tokens_and_near_misses():
    values = ["", "  ", "nan", " N/A", "null ", "#n/a", "\u00a0-\u00a0", None, "nana", "product", "n/a x", "0"]
    table = ibis.memtable({"v": values, "i": list(range(len(values)))})
    blank = table.mutate(b=is_blank(table.v)).order_by("i").execute()["b"].tolist()
    assert blank == [True] * 8 + [False] * 4


def test_every_currency_the_number_reader_accepts_is_counted_by_one_marker():
    """A currency NUMBER_REGEX reads as a plain amount but no CURRENCY_MARKERS entry finds would never be
    named in the mixed-currencies warning."""
    import re

    from segmint.parsing import _CURRENCY, CURRENCY_MARKERS

    for written in ("rs.", "rs", "inr", "usd", "eur", "gbp", "aud", "cad", "$", "€", "£", "₹", "¥"):
        assert re.fullmatch(_CURRENCY, written)
        assert sum(bool(re.search(marker, f"{written} 12")) for marker in CURRENCY_MARKERS.values()) == 1, written


def test_zone_names_two_digit_offsets_and_weekdays_keep_the_written_date_and_time():
    # BigQuery's CSV export ('... UTC'), PostgreSQL's timestamptz text ('+00'), RFC 2822 and Excel's
    # long date: each was NULL (a dropped line) before; the date and time are read as written
    got = dates([
        "2023-01-06 10:00:00 UTC", "2023-01-06 23:30:00.123 UTC", "2023-01-06 10:00:00+00", "2023-01-06 10:00:00-08",
        "Fri, 06 Jan 2023 10:00:00 GMT", "Fri, 06 Jan 2023 10:00:00 +0000", "Friday, January 6, 2023",
        "01/06/2023 10:00 UTC", "2023-01-06T01:30:00+05:30",
    ])
    assert got == [dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 23, 30), dt.datetime(2023, 1, 6, 10),
                   dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 10),
                   dt.datetime(2023, 1, 6), dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 1, 30)]
    # a weekday or zone is no licence for anything else
    assert dates(["Fri, 06 Jan", "2023-01-06 10:00:00 EST5", "Funday 6 January 2023", "2023-01-06 utcx"]) == [None] * 4


def test_two_or_more_group_separators_are_whole_numbers_whatever_the_columns_decimal_mark():
    # a German '1.234.567' in a decimal-point column (and a US '1,234,567' in a decimal-comma one) was
    # 'amount is not a number'; a single separator still follows the column (test above)
    values = ["1.234.567", "1.234.567,5", "1,234,567", "1,23,456", "1,23,45,678", "1.234.567.89", "1,234,567,89"]
    table = ibis.memtable({"text": values, "i": list(range(len(values)))})
    for decimal_comma in (False, True):
        out = add_parsed_number(table, "text", "n", decimal_comma=decimal_comma).order_by("i").execute()
        read = [None if math.isnan(v) else v for v in out["n"]]
        assert read == [1234567.0, 1234567.5, 1234567.0, 123456.0, 12345678.0, None, None]
        assert out["n_invalid"].tolist() == [False] * 5 + [True] * 2


def test_typeset_minus_signs_read_the_same_on_the_dictionary_path_and_the_direct_one(tmp_path):
    """A CSV's returns written with an en dash or U+2212 (a word processor's '-12.00') are returns of 12,
    not 'amount is not a number': read file -> dictionary -> join, as add_parsed_number reads them."""
    from segmint.reading import read_transactions

    path = tmp_path / "sales.csv"
    path.write_text("customer_id,date,amount\n1,2023-01-02,20.00\n1,2023-01-03,\u201312.00\n"
                    "2,2023-01-05,30.00\n2,2023-01-06,\u221212.50\n", encoding="utf-8")
    tx = read_transactions(path)
    amounts = tx.table.order_by(["customer_id", "invoice_date"]).execute()["amount"].tolist()
    assert amounts == [20.0, -12.0, 30.0, -12.5]
    assert tx.report.rows_kept == 4 and tx.report.returns == 2 and tx.report.total_amount == 25.5
    direct = add_parsed_number(ibis.memtable({"t": ["\u201312.00", "\u221212.50"]}), "t", "n").execute()["n"]
    assert direct.tolist() == [-12.0, -12.5]


def test_zone_abbreviations_keep_the_written_date_and_time_like_offsets():
    # each was NULL (a dropped line, 'date not understood') before; 23:30 EST stays 6 January (in UTC it
    # is the 7th), as 23:30-05:00 always did
    got = dates([
        "2023-01-06 23:30:00 EST", "2023-07-06 10:00 EDT", "06/01/2023 10:00 CET", "2023-07-06 10:00:00 CEST",
        "Fri, 06 Jan 2023 10:00:00 PST", "Jan 6, 2023 10:00 pm PDT", "2023-01-06 10:00 IST", "2023-01-06 10:00 cst",
        "2023-01-06T10:00:00 AEDT", "2023-01-06 23:30:00-05:00",
    ], dayfirst=True)
    assert got == [dt.datetime(2023, 1, 6, 23, 30), dt.datetime(2023, 7, 6, 10), dt.datetime(2023, 1, 6, 10),
                   dt.datetime(2023, 7, 6, 10), dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 22),
                   dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 10), dt.datetime(2023, 1, 6, 10),
                   dt.datetime(2023, 1, 6, 23, 30)]
    # no zone name: still no date
    assert dates(["2023-01-06 10:00 XYZ", "2023-01-06 10:00 ESTX", "2023-01-06 10:00 E"]) == [None] * 3


def test_date_format_zone_directives_read_the_zone_past():
    named = pattern_from_strptime("%d.%m.%Y %H:%M %Z")
    offset = pattern_from_strptime("%Y-%m-%dT%H:%M:%S%z")
    assert dates(["06.01.2023 23:30 EST", "06.01.2023 23:30 utc", "06.01.2023 23:30 XYZ"], (named,)) == [
        dt.datetime(2023, 1, 6, 23, 30), dt.datetime(2023, 1, 6, 23, 30), None]
    assert dates(["2023-01-06T23:30:00+0530", "2023-01-06T23:30:00-05:00", "2023-01-06T23:30:00Z"], (offset,)) == [
        dt.datetime(2023, 1, 6, 23, 30)] * 3


def test_a_csv_of_dates_with_zone_names_is_detected_and_read(tmp_path):
    from segmint.reading import read_transactions

    path = tmp_path / "tz.csv"
    path.write_text("customer,when,amount\na,2024-01-05 23:30 EST,10\nb,2024-07-05 10:00 CEST,5\n"
                    "c,2024-07-05 10:00 IST,2\n")
    tx = read_transactions(path)
    assert tx.mapping.fields["invoice_date"] == "when"  # by content: each value looks like a date
    report = tx.report
    assert (report.rows_kept, report.first_date, report.last_date) == (3, dt.datetime(2024, 1, 5, 23, 30),
                                                                       dt.datetime(2024, 7, 5, 10))
