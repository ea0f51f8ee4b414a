"""formats.py: evidence from dictionaries equals a row-by-row count; the reading plan; parsing through joins.

Expected values are counted by hand from the few rows below (each row read by a person).
"""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from segmint.errors import DataError
from segmint.formats import (
    date_plan,
    dictionaries,
    evidence,
    parse_columns,
    text_fields,
)

ROWS = pd.DataFrame({
    "_source": ["f.csv"] * 6,
    "_row": [2, 3, 4, 5, 6, 7],
    "invoice_date": ["13/04/2023", "13/04/2023", "13/04/2023", "04/05/2023", "04/05/2023", "2023-01-02"],
    "amount": ["12", "-3.50", "", "7", "7", "0.25"],  # plain numbers and a blank: cast directly
    "unit_price": ["1,234.50", "12", "1,234.50", "(5.00)", "12", "Rs. 1,23,456.50"],  # needs parsing
})
FIELDS = ["invoice_date", "amount", "unit_price"]


@pytest.fixture()
def con():
    return ibis.duckdb.connect()


@pytest.fixture()
def mapped(con):
    return con.create_table("mapped", ROWS)


def test_text_fields_skip_typed_columns(con) -> None:
    typed = con.create_table("typed", ROWS.assign(invoice_date=pd.Timestamp("2023-01-02"), amount=1.5))
    assert text_fields(typed, FIELDS) == ["unit_price"]


def test_dictionaries_hold_distinct_values_with_their_row_counts(con, mapped) -> None:
    dicts = dictionaries(con, mapped, FIELDS)
    assert dicts.rows == 6
    assert dicts.plain == ["amount"]  # every value a plain number or blank
    assert set(dicts.tables) == {"invoice_date", "unit_price"}
    dates = dict(dicts.tables["invoice_date"].execute()[["value", "n"]].itertuples(index=False))
    assert dates == {"13/04/2023": 3, "04/05/2023": 2, "2023-01-02": 1}
    prices = dict(dicts.tables["unit_price"].execute()[["value", "n"]].itertuples(index=False))
    assert prices == {"1,234.50": 2, "12": 2, "(5.00)": 1, "Rs. 1,23,456.50": 1}


def test_evidence_counts_rows_not_distinct_values(con, mapped) -> None:
    found = evidence(dictionaries(con, mapped, FIELDS))
    # dates: 5 rows dd/mm-or-mm/dd ("numeric"), 1 ISO; first part > 12 on the 3 rows of 13/04/2023
    assert found["date:numeric"] == 5 and found["date:iso"] == 1 and found["date:compact"] == 0
    assert found["date:first_gt12"] == 3 and found["date:second_gt12"] == 0
    # prices: plain "12" on 2 rows; a decimal point on 1,234.50 (2 rows), (5.00) and 1,23,456.50: 4 rows
    assert found["plain:unit_price"] == 2
    assert found["point:unit_price"] == 4 and found["comma:unit_price"] == 0
    assert found["plain:amount"] == 6


def _plan(mapped, found, **options):
    warnings: list[str] = []
    info, patterns, dayfirst = date_plan(
        mapped, "Date", date_format=options.get("date_format"), dayfirst=options.get("dayfirst"),
        evidence=found, source="f.csv", warnings=warnings,
    )
    return info, patterns, dayfirst, warnings


def test_date_plan_reads_day_first_from_the_evidence(con, mapped) -> None:
    info, patterns, dayfirst, warnings = _plan(mapped, evidence(dictionaries(con, mapped, FIELDS)))
    assert dayfirst is True and info.dayfirst is True and warnings == []
    assert info.evidence.startswith("day first: 3 values have a first part > 12")
    assert [p.name for p in patterns] == ["iso", "numeric"]
    assert info.formats["numeric"] == 5 and info.formats["iso"] == 1


def test_date_plan_refuses_mixed_orders_naming_rows(con) -> None:
    mixed = con.create_table("mixed", ROWS.assign(invoice_date=["13/04/2023", "04/13/2023"] * 3))
    found = evidence(dictionaries(con, mixed, FIELDS))
    with pytest.raises(DataError, match=r"mixes day-first and month-first dates: rows 2 \('13/04/2023'\)"):
        _plan(mixed, found)


def test_date_plan_warns_when_every_date_is_ambiguous(con) -> None:
    ambiguous = con.create_table("ambiguous", ROWS.assign(invoice_date="01/02/2023"))
    info, _, dayfirst, warnings = _plan(ambiguous, evidence(dictionaries(con, ambiguous, FIELDS)))
    assert dayfirst is False and "ASSUMED month first" in info.evidence
    assert len(warnings) == 1 and "01/02/2023 are ambiguous" in warnings[0]
    # a choice made in the mapping wins over the evidence and is said to be so
    info, _, dayfirst, warnings = _plan(ambiguous, evidence(dictionaries(con, ambiguous, FIELDS)), dayfirst=True)
    assert dayfirst is True and warnings == [] and "set in the options" in info.evidence


def test_parse_columns_gives_every_row_its_value(con, mapped) -> None:
    dicts = dictionaries(con, mapped, FIELDS)
    found = evidence(dicts)
    _, patterns, dayfirst, _ = _plan(mapped, found)
    parsed = parse_columns(con, mapped, FIELDS, dicts, found, patterns=patterns, dayfirst=dayfirst,
                           decimal={"unit_price": False})
    got = parsed.order_by("_row").execute()
    assert [d.date() for d in got["_invoice_date"]] == [dt.date(2023, 4, 13)] * 3 + [dt.date(2023, 5, 4)] * 2 + [
        dt.date(2023, 1, 2)
    ]
    amounts = got["_n_amount"].tolist()
    assert amounts[:2] == [12.0, -3.5] and pd.isna(amounts[2]) and amounts[3:] == [7.0, 7.0, 0.25]
    assert got["_n_amount_blank"].tolist() == [False, False, True, False, False, False]
    assert got["_n_unit_price"].tolist() == [1234.5, 12.0, 1234.5, -5.0, 12.0, 123456.5]
    assert got["_n_unit_price_paren"].tolist() == [False, False, False, True, False, False]
    assert got["_n_unit_price_money"].tolist() == [True, False, True, True, False, True]
    assert len(got) == 6  # the joins neither drop nor repeat a row


def _parsed_dates(con, dates: list, monkeypatch=None, exact=None):
    """(``_invoice_date`` per row in row order, columns read by a direct cast) for these date texts."""
    import segmint.formats as formats_module

    if exact is not None:
        monkeypatch.setattr(formats_module, "_cast_is_exact", lambda d: exact)
    frame = pd.DataFrame({"_source": "f.csv", "_row": range(2, len(dates) + 2), "invoice_date": dates,
                          "amount": ["1"] * len(dates)})  # fmt: skip
    table = ibis.memtable(frame)
    dicts = dictionaries(con, table, FIELDS[:2])
    found = evidence(dicts)
    _, patterns, dayfirst, _ = _plan(table, found)
    parsed = parse_columns(con, table, FIELDS[:2], dicts, found, patterns=patterns, dayfirst=dayfirst, decimal={})
    return parsed.order_by("_row").execute()["_invoice_date"].tolist(), dicts.cast


@pytest.mark.parametrize("dates, cast", [
    (["2023-04-01", "2023-04-01 10:30:00", "2023-04-01T10:30:00.000000", None, "2023-12-31", "2023-04-01"], True),
    (["2023-04-01", " 2023-04-02 ", "2023-02-30", "N/A", "2023-04-01"], None),  # cast and parser may differ
    (["2023-04-01", "13/04/2023", "04/05/2023"], False),  # day-first dates: only the parser reads them
    (["2023-04-01", "2023-04-01 10:30:00.250000"], False),  # the parser keeps whole seconds, the cast does not
])  # fmt: skip
def test_dates_a_direct_cast_reads_exactly_skip_the_dictionary_join(con, monkeypatch, dates, cast) -> None:
    """The cast is used only when it gives every distinct text the parser's date: same values either way."""
    direct, columns = _parsed_dates(con, dates)
    joined, _ = _parsed_dates(con, dates, monkeypatch, exact=False)
    assert [None if pd.isna(d) else d for d in direct] == [None if pd.isna(d) else d for d in joined]
    if cast is not None:
        assert columns == (["invoice_date"] if cast else [])
    if cast:
        assert direct[1] == dt.datetime(2023, 4, 1, 10, 30) and pd.isna(direct[3])


def test_plain_number_columns_test_blanks_per_row_only_when_a_placeholder_occurs(con) -> None:
    frame = pd.DataFrame({"_source": "f.csv", "_row": [2, 3, 4], "invoice_date": ["2023-04-01"] * 3,
                          "amount": ["12", None, "-"], "quantity": ["1", None, "2"]})  # fmt: skip
    dicts = dictionaries(con, ibis.memtable(frame), ["invoice_date", "amount", "quantity"])
    assert sorted(dicts.plain) == ["amount", "quantity"]  # '-' is a blank, so 'amount' is plain too
    assert dicts.nulls_only == ["quantity"]  # 'amount' holds a placeholder: its blanks are tested per row


ISO_TEXTS = [  # canonical ISO (the shortcut's) and every near miss, which is parsed value by value
    "2023-04-01", "2023-04-01 10:30:00", "2023-04-01 10:30:00.000000", "2024-02-29 23:59:59",
    "2023-4-1", "2023-04-01T10:30:00", "2023-04-01 10:30", "2023-04-01 10:30:00.5", "2023-04-01 10:30:00.500000",
    "2023-02-30 10:00:00", "2023-04-01 24:00:00", " 2023-04-01", "2023-04-01 10:30:00+02", "0000-01-01",
    "12023-04-01", "01/04/2023", "2023/04/01", None, "",
]


def test_canonical_iso_dates_skip_the_regexes_and_read_the_same(con, monkeypatch):
    import segmint.formats as formats

    frame = pd.DataFrame({"_source": "f.csv", "_row": range(2, 2 * len(ISO_TEXTS) + 2),
                          "invoice_date": ISO_TEXTS * 2})  # fmt: skip
    mapped = con.create_table("dates", frame, overwrite=True)

    def read(shortcut: bool):
        if not shortcut:  # the dictionary without the canonical marker: every text through the regexes
            real = formats._date_dictionary
            monkeypatch.setattr(formats, "_date_dictionary", lambda c, m: real(c, m).drop("iso"))
        dicts = dictionaries(con, mapped, ["invoice_date"])
        found = evidence(dicts)
        info, patterns, dayfirst = date_plan(
            mapped, "date", date_format=None, dayfirst=None, evidence=found, source="f.csv", warnings=[]
        )
        parsed = parse_columns(con, mapped, ["invoice_date"], dicts, found, patterns=patterns, dayfirst=dayfirst, decimal={})
        monkeypatch.undo()
        rows = parsed.select("_row", "_invoice_date").order_by("_row").to_pyarrow().to_pylist()
        return found, info.model_dump(), rows, "iso" in dicts.tables["invoice_date"].columns

    fast, slow = read(True), read(False)
    assert fast[3] and not slow[3]
    assert fast[:3] == slow[:3]
    readings = {text: row["_invoice_date"] for text, row in zip(ISO_TEXTS, fast[2], strict=False)}
    # by hand: the canonical texts and the parseable near misses; impossible dates are NULL
    assert readings["2023-04-01 10:30:00.000000"] == dt.datetime(2023, 4, 1, 10, 30)
    assert readings["2023-4-1"] == readings["2023-04-01"] == dt.datetime(2023, 4, 1)
    assert readings["2023-04-01 10:30:00.5"] == dt.datetime(2023, 4, 1, 10, 30)  # the iso layout drops fractions
    assert readings["2023-02-30 10:00:00"] is None and readings["12023-04-01"] is None
    assert readings["2023-04-01 10:30:00+02"] == dt.datetime(2023, 4, 1, 10, 30)  # a 2-digit zone, read past
    assert fast[0]["date:iso"] == 2 * 15  # 4 canonical + 11 iso-like near misses (both copies)
    marked = formats._date_dictionary(con, mapped)
    canonical = sorted(marked.filter(marked.iso).value.to_pyarrow().to_pylist())
    assert canonical == ["2023-04-01", "2023-04-01 10:30:00", "2023-04-01 10:30:00.000000", "2024-02-29 23:59:59"]


def test_a_forced_format_reads_canonical_iso_texts_its_own_way(con):
    frame = pd.DataFrame({"_source": "f.csv", "_row": [2, 3], "invoice_date": ["01.04.2023", "2023-04-01"]})
    mapped = con.create_table("forced", frame, overwrite=True)
    dicts = dictionaries(con, mapped, ["invoice_date"])
    found = evidence(dicts)
    _, patterns, dayfirst = date_plan(
        mapped, "date", date_format="%d.%m.%Y", dayfirst=None, evidence=found, source="f.csv", warnings=[]
    )
    parsed = parse_columns(con, mapped, ["invoice_date"], dicts, found, patterns=patterns, dayfirst=dayfirst, decimal={})
    rows = parsed.order_by("_row").to_pyarrow().column("_invoice_date").to_pylist()
    assert rows == [dt.datetime(2023, 4, 1), None]  # the ISO text does not fit %d.%m.%Y
    assert found["date:iso"] == 1


def test_sub_cent_metrics_one_definition_for_values_and_lines() -> None:
    # counted by hand: 1.234 (-0.004, twice), 2.5 and 3.10 on the cent, 0.125 (+0.005); NaN, infinity and
    # 1e17 have no cents to round; the line form (one row a value) counts the same as the value form
    from segmint.formats import line_sub_cent_metrics, sub_cent_metrics

    values = [1.234, 2.5, 3.10, 0.125, float("nan"), float("inf"), 1e17, None]
    counts = [2, 1, 1, 1, 1, 1, 1, 1]
    table = ibis.memtable({"v": values, "n": counts})
    by_value = table.aggregate(**sub_cent_metrics(table.v, table.n, "a")).execute().iloc[0].to_dict()
    assert by_value == {"sub_cent:a": 3, "sub_cent_change:a": -4000 * 2 + 5000}
    lines = ibis.memtable({"v": [v for v, n in zip(values, counts, strict=True) for _ in range(n)]})
    lines, metrics = line_sub_cent_metrics(lines, lines.v, "a")
    assert lines.aggregate(**metrics).execute().iloc[0].to_dict() == by_value  # 1e17 no longer overflows a cast
