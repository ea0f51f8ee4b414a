"""The date_format suggested for a value the built-in layouts did not read: it must read that value."""

from __future__ import annotations

import pytest

from segmint.api import read_transactions
from segmint.date_hint import suggest_date_format, unknown_zone_word, zone_word_hint
from segmint.errors import DataError, MappingError
from segmint.schema import ColumnMapping


@pytest.mark.parametrize(("value", "layout"), [
    ("05.01.2023 10:00 Uhr", "%d.%m.%Y %H:%M Uhr"),  # dotted: day first
    ("2023-01-06 10:00:00 EST", "%Y-%m-%d %H:%M:%S EST"),
    ("31/12/2023 5:00PM CET", "%d/%m/%Y %I:%M%p CET"),  # 31 can only be the day
    ("12/31/23 5:00 pm", "%m/%d/%y %I:%M %p"),  # 31 can only be the day: month first
    ("1.5.2023 50% off", "%d.%m.%Y 50%% off"),  # a literal % is escaped
    ("2023-01-06T10:00 local", "%Y-%m-%dT%H:%M local"),
])
def test_suggests_the_layout_of_the_value(value: str, layout: str) -> None:
    assert suggest_date_format(value) == layout


@pytest.mark.parametrize("value", [
    "soon", "", None,
    "01/02/2023 x",  # day and month either way round: no guess
    "2023-02-30 x",  # no such day
    "31.13.2023 x",  # no month 13
])
def test_no_suggestion_when_unsure(value: object) -> None:
    assert suggest_date_format(value) is None


# A date that ends in a word that is no time zone segmint reads: the word is named, with the zones read
# and the two fixes (remove it, or read it as literal text with a date_format).

@pytest.mark.parametrize(("value", "word"), [
    ("2021-03-04 10:00 XYZ", "XYZ"), ("2021-03-04 10:00 EST5", "EST5"), ("04/03/2021 XYZ", "XYZ"),
    ("2021-03-04 10:00 EST", None), ("2021-03-04 10:00 pm", None), ("2021-03-04T10:00Z", None),  # read already
    ("hello XYZ", None), ("2021-03-04", None), (None, None),
])
def test_unknown_zone_word(value: object, word: str | None) -> None:
    assert unknown_zone_word(value) == word


def test_zone_word_hint_names_the_word_the_zones_read_and_the_fixes() -> None:
    hint = zone_word_hint("2021-03-04 10:00 XYZ", "Posted")
    assert "column 'Posted'" in hint and "end in 'XYZ', which is no time zone segmint reads" in hint
    assert "EST, EDT" in hint and "CEST" in hint and "+05:30" in hint
    assert "remove 'XYZ' from the values" in hint and "date_format '%Y-%m-%d %H:%M XYZ'" in hint
    assert zone_word_hint("2021-03-04 10:00 UTC", "Posted") is None


def test_a_file_of_dates_with_an_unknown_zone_says_so(tmp_path) -> None:
    path = tmp_path / "zones.csv"
    path.write_text("customer,date,amount\na,2021-03-04 10:00 EST,5\nb,2021-03-05 10:00 XYZ,6\n")
    report = read_transactions(path).report
    assert report.dropped["bad_date"].count == 1
    assert any("end in 'XYZ', which is no time zone" in w for w in report.warnings)
    every = tmp_path / "every.csv"
    every.write_text("customer,date,amount\na,2021-03-04 10:00 XYZ,5\nb,2021-03-05 10:00 XYZ,6\n")
    with pytest.raises(MappingError, match="end in 'XYZ', which is no time zone"):  # not taken for dates
        read_transactions(every)
    with pytest.raises(DataError, match="end in 'XYZ'") as caught:  # mapped: nothing kept, the word named
        read_transactions(every, mapping={"invoice_date": "date"})
    assert caught.value.fix.example == "%Y-%m-%d %H:%M XYZ"
    read = read_transactions(every, mapping=ColumnMapping(
        fields={"customer_id": "customer", "invoice_date": "date", "amount": "amount"}, date_format=caught.value.fix.example))
    assert (read.report.rows_kept, read.report.total_amount) == (2, 11.0)  # the suggested fix reads them
