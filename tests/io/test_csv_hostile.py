"""Odd and hostile delimited files: each is read right or ends in one clear error (issue 9).

Until the shared corpus under tests/fixtures/hostile/ lands, the cases are built here in code. The
property test writes random CSVs (delimiters, encodings incl. UTF-16 without a byte-order mark, mixed
line endings, quoting, embedded line breaks) and checks that every row is accounted for and that
customers and amounts come back exactly.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import ibis
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from segmint.api import read_transactions
from segmint.cli import app
from segmint.errors import InputError

HEADER = b"customer,date,amount\n"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read(path: Path):
    return read_transactions(path, con=ibis.duckdb.connect())


def kept(tx) -> dict[str, float]:
    frame = tx.table.execute()
    return dict(zip(frame.customer_id, frame.amount))


CASES = {  # name -> (file bytes, customer -> amount kept)
    "header_lf_body_crlf.csv": (HEADER + b"a,2023-01-01,10\r\nb,2023-01-02,20\r\n", {"a": 10.0, "b": 20.0}),
    "quoted_cr_crlf.csv": (
        b'customer,date,amount,note\na,2023-01-01,10,"x\ry"\nb,2023-01-02,20,"p\r\nq"\n', {"a": 10.0, "b": 20.0}
    ),
    "no_final_newline.csv": (HEADER + b"a,2023-01-01,10\nb,2023-01-02,20", {"a": 10.0, "b": 20.0}),
    # a quoted bare CR between semicolons on the only data line: the delimiter is sniffed from records,
    # not from lines cut at the CR (which made ';' look as consistent as ',', and won the tie)
    "quoted_cr_semicolons.csv": (b'customer,invoice,date,amount,note\nA0,INV0,2022-01-01,7.00,";\r;"\n', {"A0": 7.0}),
    "duplicate_names.csv": (
        b"customer,date,amount,amount\na,2023-01-01,10,11\nb,2023-01-02,20,21\n", {"a": 10.0, "b": 20.0}
    ),
    "utf16_no_bom.csv": ("customer,date,amount\nä,2023-01-01,10\nb,2023-01-02,20\n".encode("utf-16-le"),
                         {"ä": 10.0, "b": 20.0}),
    "nul_early.csv": (HEADER + b"a\x00,2023-01-01,10\nb,2023-01-02,20\n", {"a": 10.0, "b": 20.0}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_odd_files_are_read_right(tmp_path, name):
    data, expected = CASES[name]
    tx = read(write(tmp_path, name, data))
    assert kept(tx) == expected
    assert tx.report.rows_in == tx.report.rows_kept == len(expected)


def test_nul_bytes_late_in_a_large_file_are_removed_and_noted(tmp_path):
    body = b"".join(b"c%d,2023-01-01,1\n" % i for i in range(20_000))
    tx = read(write(tmp_path, "late.csv", HEADER + body + b"z\x00z,2023-01-02,5\n"))
    assert tx.report.rows_kept == 20_001
    assert kept(tx)["zz"] == 5.0


def test_a_50_mb_line(tmp_path):
    data = b"customer,date,amount,note\na,2023-01-01,10," + b"x" * (50 * 2**20) + b"\nb,2023-01-02,20,y\n"
    assert kept(read(write(tmp_path, "long.csv", data))) == {"a": 10.0, "b": 20.0}


def test_1200_columns(tmp_path):
    names = ["customer", "date", "amount", *[f"c{i}" for i in range(1200)]]
    rows = [",".join([f"k{r}", "2023-01-01", "10", *["1"] * 1200]) for r in range(3)]
    path = write(tmp_path, "wide.csv", (",".join(names) + "\n" + "\n".join(rows) + "\n").encode())
    assert kept(read(path)) == {"k0": 10.0, "k1": 10.0, "k2": 10.0}


def test_numbers_and_dates_at_the_edges(tmp_path):
    body = ("customer,date,amount\na,2023-01-01,1.5E+03\nb,2023-01-02,2e2\nc,2023-01-03,NaN\n"
            "d,2023-01-04,inf\ne,2023-01-05,1e309\nf,2023-01-06,-0\ng,0001-01-01,5\nh,1850-03-01,5\n")  # fmt: skip
    tx = read(write(tmp_path, "edges.csv", body.encode()))
    assert kept(tx) == {"a": 1500.0, "b": 200.0, "f": 0.0}
    dropped = tx.report.dropped
    assert (dropped["bad_amount"].count, dropped["missing_amount"].count) == (2, 1)  # inf, 1e309; NaN
    assert dropped["date_out_of_range"].count == 2
    assert [e["value"] for e in dropped["date_out_of_range"].examples] == ["0001-01-01", "1850-03-01"]
    assert tx.report.rows_in == tx.report.rows_kept + sum(d.count for d in dropped.values())


def test_two_layouts_in_one_folder_is_one_clear_error(tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write(folder, "a.csv", HEADER + b"a,2023-01-01,10\n")
    write(folder, "b.txt", b"00001 1 19970101 1 11.77\n00002 1 19970112 1 12.00\n")
    with pytest.raises(InputError, match="different layouts"):
        read(folder)


def test_cli_errors_are_one_screen_without_engine_options(tmp_path):
    path = write(tmp_path, "binary.csv", b"PK\x03\x04" + b"\x00" * 4000)
    result = CliRunner().invoke(app, ["analyze", str(path)])
    assert result.exit_code == 2
    assert "binary.csv" in result.output and "Traceback" not in result.output
    assert "strict_mode" not in result.output and "parallel" not in result.output


# --- property test -------------------------------------------------------------------------------
ENCODINGS = ("utf-8", "utf-8-sig", "cp1252", "utf-16-le", "utf-16")
NOTE = st.text(alphabet=st.sampled_from(list("abc xyz,;|\t\"\r\n'é")), max_size=8)


@st.composite
def csv_files(draw):
    n = draw(st.integers(1, 12))
    customers = draw(st.lists(st.from_regex(r"[A-Z][0-9]{1,4}", fullmatch=True), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-99_999, 999_999), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 900), min_size=n, max_size=n))
    notes = draw(st.lists(NOTE, min_size=n, max_size=n))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    # a quoted line break followed by a line holding a whole record's delimiters and more is refused on purpose
    # as a quote that swallowed rows (io.csv_rows.check_swallowed_lines; test_an_unclosed_quote_is_refused_* below): not
    # a round trip; a line of delimiters alone ('\n;;;;') in a value quoted right is read
    assume(not any(piece.count(delimiter) >= 4 and piece.replace(delimiter, "").strip()
                   for note in notes for piece in re.split("\r\n|\r|\n", note)[1:]))
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=n + 1, max_size=n + 1))
    encoding = draw(st.sampled_from(ENCODINGS))

    def cell(text: str) -> str:
        special = (delimiter, '"', "\r", "\n")
        return '"' + text.replace('"', '""') + '"' if any(c in text for c in special) else text

    lines = [delimiter.join(["customer", "invoice", "date", "amount", "note"])]
    for i in range(n):
        when = dt.date(2022, 1, 1) + dt.timedelta(days=days[i])
        amount = f"{Decimal(cents[i]) / 100:.2f}"
        lines.append(delimiter.join([customers[i], f"INV{i}", when.isoformat(), amount, cell(notes[i])]))
    text = "".join(line + end for line, end in zip(lines, endings, strict=True))
    rows = {f"INV{i}": (customers[i], cents[i] / 100) for i in range(n)}
    return text.encode(encoding), rows


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(csv_files())
def test_random_csv_files_round_trip(tmp_path, case):
    data, rows = case
    tx = read(write(tmp_path, "random.csv", data))
    report = tx.report
    assert report.rows_in == len(rows) == report.rows_kept + sum(d.count for d in report.dropped.values())
    frame = tx.table.execute()
    got = {i: (c, round(a, 2)) for i, c, a in zip(frame.invoice_id, frame.customer_id, frame.amount)}
    assert got == {i: (c, round(a, 2)) for i, (c, a) in rows.items()}


def _unclosed_quote_file(encoding: str = "utf-8") -> bytes:
    """20 invoices; row 4's note spans two lines (a real quoted line break); row 9 opens a quote it never
    closes, so the 12 rows after it would read as one value of row 9."""
    rows = ["invoice,customer,date,amount,note"]
    for i in range(1, 21):
        note = '"Mug, blue' if i == 8 else ('"Bag\nlarge"' if i == 3 else "Cup")
        rows.append(f"A{i},c{i % 5},2024-01-{i:02d},{i}.50,{note}")
    return ("\n".join(rows) + "\n").encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])  # DuckDB's reader refuses it first / Python's reads it
def test_an_unclosed_quote_is_refused_with_its_row_and_column(tmp_path, encoding):
    data = _unclosed_quote_file(encoding)
    if encoding == "cp1252":
        data = data.replace(b"Cup", "Caf\u00e9".encode("cp1252"))  # not UTF-8: read by Python's csv module directly
    path = write(tmp_path, "sales.csv", data)
    with pytest.raises(InputError) as caught:
        read(path)
    # row 9 of the file as a spreadsheet numbers it (header = row 1; the two-line note is one record);
    # 12 lines follow it, every one a whole record (A9..A20)
    assert "sales.csv: row 9, column 'note'" in caught.value.message
    assert "next 12 line(s), 12 of them whole rows" in caught.value.message
    assert (caught.value.field, caught.value.value) == ("note", 9)
    result = CliRunner().invoke(app, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and "row 9, column 'note'" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("first", [True, False])  # the note as the last column / inside the row
def test_a_quoted_note_of_delimiters_is_read_and_a_stray_quote_still_refused(tmp_path, first):
    # Python's csv module reads a cp1252 file; '"Caf\u00e9<line break>;;;;"' is one valid value, which was refused as a
    # quote that swallowed a row; a stray quote closed lines later, right before the line's end, is still refused
    def file(notes: list[str]) -> bytes:
        rows = ["invoice;customer;date;amount;note" if first else "invoice;note;customer;date;amount"]
        for i, note in enumerate(notes, start=1):
            cells = [f"A{i}", f"c{i}", f"2024-01-0{i}", f"{i},50"]
            rows.append(";".join([*cells, note] if first else [cells[0], note, *cells[1:]]))
        return ("\n".join(rows) + "\n").encode("cp1252")

    note = read(write(tmp_path, "note.csv", file(['"Caf\u00e9\n;;;;"', "x", "y"]))).table.execute()
    assert sorted(note.amount) == [1.5, 2.5, 3.5]
    stray = file(['"Caf\u00e9', "x", 'y"'] if first else ['"Caf\u00e9\n;;;;', 'x"', "y"])
    with pytest.raises(InputError) as caught:
        read(write(tmp_path, "stray.csv", stray))
    assert caught.value.message.startswith("stray.csv: row 2, column 'note' (line 2 of the file), opens a double quote")
    assert "if those lines are rows, the quote is stray" in caught.value.message
    assert "if they belong to the value, remove its line breaks" in caught.value.message


def test_a_quoted_line_break_in_text_is_still_read(tmp_path):
    """Without the unclosed quote every row is kept, row 3's note with its line break."""
    data = _unclosed_quote_file().replace(b'"Mug, blue', b'"Mug, blue"')
    tx = read(write(tmp_path, "sales.csv", data))
    frame = tx.table.execute()
    assert len(frame) == 20
    assert sorted(frame.amount) == [i + 0.5 for i in range(1, 21)]


@pytest.mark.parametrize(("head", "says"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "it is a PNG image"),
    (b"PK\x03\x04\x14\x00\x06\x00" + b"xl/workbook.xml" + bytes(range(256)) * 4, "give it the .xlsx extension"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512), "an old Excel workbook (.xls)"),
    (b"PAR1\x15\x04\x15" + bytes(range(256)) * 4 + b"PAR1", "give it the .parquet extension"),
    (b"\x1f\x8b\x08\x00" + bytes(range(1, 256)) * 4, "unzip it (gunzip)"),
    # no known signature: 1,020 bytes, 4 x 26 of them control bytes (1-8, 11, 14-26, 28-31: 8 + 1 + 13 + 4)
    (bytes(range(1, 256)) * 4, "looks like a binary file, not delimited text (104 control bytes in its first 1,020)"),
])
def test_a_binary_file_named_csv_is_one_clear_error(tmp_path, head, says):
    path = write(tmp_path, "sales.csv", head)
    with pytest.raises(InputError) as caught:
        read(path)
    assert caught.value.message.startswith("sales.csv") and says in caught.value.message
    result = CliRunner().invoke(app, ["analyze", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0 and says in result.output.replace("\n", " ") and "Traceback" not in result.output


def test_text_with_a_few_control_bytes_is_still_read(tmp_path):
    """A stray form feed or bell in a note is not a binary file: 1 control byte in a few hundred."""
    data = HEADER.replace(b"\n", b",note\n") + b"a,2023-01-01,10,bell\x07\nb,2023-01-02,20,page\x0cbreak\n" + b"c,2023-01-03,30,x\n" * 5
    assert kept(read(write(tmp_path, "sales.csv", data))) == {"a": 10.0, "b": 20.0, "c": 30.0}


def test_an_unquoted_delimiter_in_the_first_rows_is_refused_like_one_further_down(tmp_path):
    # "Pack, 12" unquoted: read as product "Pack" and amount 12, the real 20.00 lost without a word
    # (the same row past the 200-line sample was already refused)
    head = b"invoice,customer,date,product,amount\n"
    shifted = b"I1,C1,2023-01-05,Pack, 12,20.00\n"
    body = b"I2,C2,2023-02-06,Nut,5.00\n"
    for name, data, row in (("early.csv", head + shifted + body, 2), ("late.csv", head + body * 300 + shifted, 302)):
        with pytest.raises(InputError, match=rf"{name}: row {row} has 6 fields but the header names 5.*quote values"):
            read(write(tmp_path, name, data))


def test_trailing_delimiters_and_an_unnamed_last_column_are_still_read(tmp_path):
    trailing = read(write(tmp_path, "trailing.csv", HEADER + b"a,2023-01-01,10,\nb,2023-01-02,20,,\n"))
    assert kept(trailing) == {"a": 10.0, "b": 20.0}
    unnamed = read(write(tmp_path, "unnamed.csv", HEADER + b"a,2023-01-01,10,x\nb,2023-01-02,20,y\n"))
    assert kept(unnamed) == {"a": 10.0, "b": 20.0}


def test_a_row_with_too_few_fields_is_reported_as_short_on_its_drop(tmp_path):
    # row 3 lacks its last field (amount): it used to be dropped as missing_amount, "value (blank)",
    # with no word that the line itself is short
    data = b"invoice,customer,date,product,amount\nI1,C1,2023-01-05,Pen,10.00\nI2,C2,2023-01-06,Ink\n" \
           b"I3,C1,2023-02-05,Pad,20.00\nI4,C3,2023-03-05,Pen,5.00\n"
    report = read(write(tmp_path, "short.csv", data)).report
    assert (report.rows_in, report.rows_kept, report.dropped["missing_amount"].count) == (4, 3, 1)
    example = report.dropped["missing_amount"].examples[0]
    assert (example["_row"], example["fields"], example["fields_expected"]) == (3, 4, 5)
    assert "short.csv row 3 value (blank) (a short row: 4 of 5 fields)" in report.summary()
    assert report.warnings == [
        "1 row has fewer fields than the header names (5): row 3 (4 fields); the fields a row lacks read as blank, "
        "so a row that lacks its amount, customer or date is dropped for that; check that line for a value cut "
        "off or a missing delimiter"
    ]


def test_short_rows_past_the_first_lines_are_counted_where_every_row_is_parsed(tmp_path):
    # a cp1252 file is rewritten record by record: every short row is counted, not only the first lines'
    head = b"invoice,customer,date,product,amount\n"
    body = b"".join(b"I%d,C%d,2023-01-05,Caf\xe9,5.00\n" % (i, i % 7) for i in range(300))
    data = head + body + b"X1,C1,2023-01-06,Tea\nX2,C2,2023-01-06\n"  # rows 302 (4 fields) and 303 (3)
    report = read(write(tmp_path, "late.csv", data)).report
    assert (report.rows_in, report.rows_kept, report.dropped["missing_amount"].count) == (302, 300, 2)
    examples = {e["_row"]: (e["fields"], e["fields_expected"]) for e in report.dropped["missing_amount"].examples}
    assert examples == {302: (4, 5), 303: (3, 5)}
    assert report.warnings[0].startswith("2 rows have fewer fields than the header names (5): row 302 (4 fields), "
                                         "row 303 (3 fields); ")


def test_short_rows_past_the_first_lines_of_a_file_duckdb_reads_are_named(tmp_path):
    # a UTF-8 file is read by DuckDB, which pads a short row with blanks: rows past the 200-line sample
    # were dropped for their blank amount with no word that they are short; an empty last field is no short row
    head = b"invoice,customer,date,product,amount\n"
    body = b"".join(b"I%d,C%d,2023-01-05,Pen,5.00\n" % (i, i % 7) for i in range(300))
    data = head + body + b"X1,C1,2023-01-06,Tea\nX2,C2,2023-01-06\nX3,C3,2023-01-07,Pad,\n"  # rows 302, 303; 304 has 5
    report = read_transactions(write(tmp_path, "late.csv", data), con=ibis.duckdb.connect()).report
    assert (report.rows_in, report.rows_kept, report.dropped["missing_amount"].count) == (303, 300, 3)
    examples = {e["_row"]: (e.get("fields"), e.get("fields_expected")) for e in report.dropped["missing_amount"].examples}
    assert examples == {302: (4, 5), 303: (3, 5), 304: (None, None)}
    assert "late.csv row 303 value (blank) (a short row: 3 of 5 fields)" in report.summary()
    assert report.warnings[0].startswith("2 rows have fewer fields than the header names (5): row 302 (4 fields), "
                                         "row 303 (3 fields); ")
    blank_last = read_transactions(write(tmp_path, "blank.csv", head + body + b"X3,C3,2023-01-07,Pad,\n"),
                                   con=ibis.duckdb.connect()).report
    assert blank_last.warnings == []  # a blank amount past the sample, no short row: nothing to name


def test_short_rows_past_the_first_lines_of_a_space_aligned_file_are_named(tmp_path):
    # a space-aligned file (CDNOW's layout) has no empty field: a missing one is a short row, told by the rows read
    head = b"customer_id date number_of_cds dollar_value\n"
    body = b"".join(b"%05d 19970101 1 %d.00\n" % (i, i % 50) for i in range(300))
    data = head + body + b"00999 19970102 2\n00998 19970103\n"  # rows 302 (3 fields) and 303 (2)
    report = read_transactions(write(tmp_path, "late.txt", data), con=ibis.duckdb.connect()).report
    examples = {e["_row"]: (e.get("fields"), e.get("fields_expected")) for e in report.dropped["missing_amount"].examples}
    assert examples == {302: (3, 4), 303: (2, 4)}
    assert report.warnings[0].startswith("2 rows have fewer fields than the header names (4): row 302 (3 fields), "
                                         "row 303 (2 fields); ")


def test_an_unquoted_delimiter_in_a_file_without_a_header_is_refused(tmp_path):
    # no header row: "Pack, 12" widened the table to 6 columns and the row's amount read 3 (its quantity),
    # kept without a word; the same row past the 200-line sample was refused as if a header named 5 fields
    lines = [b"%d,2023-01-%02d,Pen,%d,%d.00\n" % (100 + i % 9, 1 + i % 28, 1 + i % 3, 10 + i % 5) for i in range(20)]
    shifted = b"18,2023-01-06,Pack, 12,3,20.00\n"
    early, late = b"".join(lines[:2]) + shifted + b"".join(lines[2:]), b"".join(lines) * 20 + shifted
    for name, data, row in (("early.csv", early, 3), ("late.csv", late, 401)):
        with pytest.raises(InputError, match=rf"{name}: row {row} has 6 fields but most rows have 5 \(the file has no "
                                             r"header row\), so its values .* quote values that contain the delimiter"):
            read(write(tmp_path, name, data))
    short = b"".join(lines[:2]) + b"18,2023-01-06,Pack,3\n" + b"".join(lines[2:])  # row 3 lacks its amount
    report = read_transactions(write(tmp_path, "short.csv", short), con=ibis.duckdb.connect(),
                               mapping={"fields": {"amount": "column_5"}}).report
    assert (report.rows_in, report.rows_kept, report.dropped["missing_amount"].count) == (21, 20, 1)
    assert report.warnings[0].startswith("1 row has fewer fields than most rows have (5): row 3 (4 fields); ")


def test_a_file_without_a_header_and_without_a_usual_width_reads_as_before(tmp_path):
    # widths 3, 4, 2, 5: no width most rows share, so no row is refused or named short; the widest sets the columns
    from segmint.io import read_raw

    raw = read_raw(write(tmp_path, "ragged.csv", b"1,2023-01-01,5\n2,2023-01-02,6,x\n3,2023-01-03\n4,2023-01-04,7,y,z\n"),
                   con=ibis.duckdb.connect())
    assert raw.columns == [f"column_{i}" for i in range(1, 6)]
    assert (raw.short_rows, raw.report_notes) == ({}, [])


def test_an_empty_file_is_named_as_every_other_read_error_names_it(tmp_path):
    """The hostile fuzz of session 17: an empty file's error showed its whole path where every other read
    error shows the file's name; it now names the file and the field at fault as data."""
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "empty.csv").write_bytes(b"")
    with pytest.raises(InputError) as caught:
        read_transactions(str(folder / "empty.csv"))
    assert caught.value.message == "empty.csv: the file is empty (no rows to read)"
    assert (caught.value.field, caught.value.value) == ("source", "empty.csv")
