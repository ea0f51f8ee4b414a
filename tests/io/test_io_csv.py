"""Delimited-text reader: delimiters, encodings, header-less files, title rows, blank/total rows."""

from __future__ import annotations

import csv
import io

import ibis
import pytest

from segmint.errors import InputError
from segmint.io import read_raw
from segmint.io.csv import sniff_delimiter, sniff_encoding


@pytest.fixture
def con():
    return ibis.duckdb.connect()


def rows(raw):
    return raw.table.order_by("_row").execute()


def test_comma_csv_keeps_every_value_as_text(con, tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("InvoiceNo,CustomerID,Amount\n001,00042,12.50\n002,00042,7\n", encoding="utf-8")
    raw = read_raw(path, con=con)
    df = rows(raw)
    assert raw.columns == ["InvoiceNo", "CustomerID", "Amount"]
    assert df["CustomerID"].tolist() == ["00042", "00042"]  # leading zeros kept
    assert df["Amount"].tolist() == ["12.50", "7"]
    assert df["_row"].tolist() == [2, 3]  # header is line 1
    assert df["_source"].tolist() == ["sales.csv", "sales.csv"]
    assert raw.header_row == 0


def test_latin1_semicolon_with_decimal_commas(con, tmp_path):
    path = tmp_path / "ventes.csv"
    text = "Client;Date;Montant;Ville\nJosé;01/02/2023;1,5;Orléans\nRenée;02/02/2023;2,25;Besançon\n"
    path.write_bytes(text.encode("latin-1"))
    raw = read_raw(path, con=con)
    df = rows(raw)
    assert raw.columns == ["Client", "Date", "Montant", "Ville"]
    assert df["Client"].tolist() == ["José", "Renée"]
    assert df["Ville"].tolist() == ["Orléans", "Besançon"]
    assert df["Montant"].tolist() == ["1,5", "2,25"]


def test_cp1252_euro_sign_and_utf8_bom(con, tmp_path):
    cp = tmp_path / "cp.csv"
    cp.write_bytes("Customer,Price\nA,€5\n".encode("cp1252"))
    bom = tmp_path / "bom.csv"
    bom.write_bytes("Customer,Price\nB,£7\n".encode("utf-8-sig"))
    assert rows(read_raw(cp, con=con))["Price"].tolist() == ["€5"]
    raw = read_raw(bom, con=con)
    assert raw.columns == ["Customer", "Price"]  # BOM is not part of the first name
    assert rows(raw)["Price"].tolist() == ["£7"]


def test_non_utf8_bytes_after_the_sniffed_head_fall_back_to_cp1252(con, tmp_path):
    path = tmp_path / "late.csv"
    body = "".join(f"C{i},{i}.00,plain\n" for i in range(20_000))  # > 256 KiB of ASCII first
    path.write_bytes(("Customer,Amount,Note\n" + body).encode() + "Z,1.00,café\n".encode("cp1252"))
    df = rows(read_raw(path, con=con))
    assert len(df) == 20_001
    assert df["Note"].iloc[-1] == "café"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_every_common_delimiter_with_quoted_fields(con, tmp_path, delimiter):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    data = [["Customer", "Product", "Amount"], ["A", f"x{delimiter}y \"big\"", "1.5"], ["B", "z", "2"]]
    writer.writerows(data)
    path = tmp_path / "d.txt"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    df = rows(read_raw(path, con=con))
    assert df[["Customer", "Product", "Amount"]].values.tolist() == data[1:]


def test_whitespace_separated_without_header(con, tmp_path):
    path = tmp_path / "log.txt"
    path.write_text(" 00004 0001 19970101  2   29.33\r\n 00004 0001 19970118  2   29.73\r\n 00018 0002 19970102  1   11.77\r\n")
    raw = read_raw(path, con=con)
    df = rows(raw)
    assert raw.columns == ["column_1", "column_2", "column_3", "column_4", "column_5"]
    assert raw.header_row is None
    assert df["column_1"].tolist() == ["00004", "00004", "00018"]
    assert df["column_5"].tolist() == ["29.33", "29.73", "11.77"]
    assert df["_row"].tolist() == [1, 2, 3]


def test_whitespace_lines_of_spaces_alone_are_skipped(con, tmp_path):
    """A line of spaces, no-break spaces or ideographic spaces (Unicode space separators) is blank and
    skipped (the blank test reads a line up to its first other character); a line holding a tab reads
    as empty fields, a blank row, also left out; padded fields are read without their spaces."""
    path = tmp_path / "log.txt"
    path.write_text("a b\n1 2\n   \n\u00a0 \u3000\n \t\n  3   4  \n", encoding="utf-8")
    df = rows(read_raw(path, con=con))
    assert df["a"].tolist() == ["1", "3"]
    assert df["b"].tolist() == ["2", "4"]


def test_whitespace_line_with_extra_fields_is_an_error_naming_the_file(con, tmp_path):
    path = tmp_path / "ragged.txt"
    path.write_text("a b c\n" + "1 2 3\n" * 300 + "7 8 9 10\n")  # beyond the sniffed sample
    with pytest.raises(InputError, match="ragged.txt.*more than 3"):
        read_raw(path, con=con)


def test_title_rows_blank_lines_and_total_rows(con, tmp_path):
    path = tmp_path / "report.csv"
    path.write_text(
        "ACME Ltd\nSales report 2023\n\nInvoice,Customer,Amount\n1,A,10\n2,B,20\nGrand Total,,30\n"
    )
    raw = read_raw(path, con=con)
    df = rows(raw)
    assert raw.header_row == 3
    assert df["Invoice"].tolist() == ["1", "2"]
    assert df["_row"].tolist() == [5, 6]  # file line numbers
    assert raw.skipped == {"total_row": 1}
    assert raw.skipped_examples["total_row"][0]["_row"] == 7


def test_sniffers():
    assert sniff_encoding("é".encode()) == "utf-8"
    assert sniff_encoding("é".encode("latin-1") + b"\x81 ok") == "latin-1"  # 0x81 is undefined in cp1252
    assert sniff_encoding("€".encode("cp1252")) == "cp1252"
    assert sniff_delimiter(["a;b;c", "1;2,5;3"]) == ";"
    assert sniff_delimiter([" 1  2   3", "4 5 6"]) == "whitespace"
    assert sniff_delimiter(["a\tb", "1\t2"]) == "\t"


def test_empty_file_is_an_input_error(con, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(InputError, match="empty.csv"):
        read_raw(path, con=con)


@pytest.mark.parametrize("spool", [False, True], ids=["table", "parquet-spool"])
def test_large_files_spooled_to_parquet_read_the_same_rows(con, tmp_path, monkeypatch, spool):
    """A large CSV goes to a temporary Parquet file instead of a text table: same values, same
    file line numbers, the same total line found; the file is removed with the connection."""
    import gc

    import segmint.io.csv as csv_module

    monkeypatch.setattr(csv_module, "_should_spool", lambda *args: spool)
    spill = tmp_path / "spill"
    monkeypatch.setenv("SEGMINT_TEMP_DIR", str(spill))
    path = tmp_path / "report.csv"
    path.write_text("Title\n\nInvoice,Customer,Amount\n1, A ,10\n2,,\n,,\n3,B,-\nGrand Total,,30\n", encoding="utf-8")
    own = ibis.duckdb.connect()
    raw = read_raw(path, con=own)
    df = rows(raw)
    assert df["Invoice"].tolist() == ["1", "2", "3"]
    df = df.astype(object).where(df.notna(), None)
    assert df["Customer"].tolist() == [" A ", None, "B"]  # text kept as it was, blanks NULL
    assert df["Amount"].tolist() == ["10", None, "-"]
    assert df["_row"].tolist() == [4, 5, 7]  # file line numbers (the blank row 6 dropped)
    assert raw.skipped == {"blank": 1, "total_row": 1}
    assert raw.skipped_examples["total_row"][0]["_row"] == 8
    assert len(list(spill.glob("*.parquet"))) == (1 if spool else 0)
    del raw, df, own
    gc.collect()
    assert list(spill.glob("*.parquet")) == []


def test_only_files_too_large_for_a_text_table_are_spooled(con, tmp_path):
    from segmint import engine
    from segmint.io.csv import _should_spool

    path = tmp_path / "sales.csv"
    path.write_text("a,b\n" + "1,2\n" * 100_000, encoding="utf-8")  # 400,004 bytes
    small = engine.connect(memory_limit="1MB")
    assert _should_spool(path, small, ["a", "b"])  # over a third of the limit
    assert not _should_spool(path, con, ["a", "b"])
    assert not _should_spool(path, small, ["a", "File_Row_Number"])  # the spool's own row column


def test_quality_report_says_how_the_file_was_read(tmp_path):
    """A Windows-1252 file with ';', decimal commas, two title rows and a NUL byte: the quality report
    (text and JSON) says how it was read -- the encoding, delimiter and header line of the file as
    written here, its title rows and the byte removed -- not only the CLI's reading."""
    import json

    from segmint import read_transactions

    path = tmp_path / "lat.csv"
    path.write_bytes(
        "Sales export\nShop: Café Zürich\nKunde;Datum;Betrag\nMüller;2024-01-02;10,50\nc2;2024-01-05;20\x00,00\n"
        .encode("cp1252")
    )
    report = read_transactions(path).report
    assert report.read_as == [
        "encoding cp1252, delimiter ';', header on line 3",
        "title rows above the header: Sales export | Shop: Café Zürich",
        "1 NUL byte(s) removed (they are not text)",
    ]
    assert "Read as: encoding cp1252, delimiter ';', header on line 3" in report.summary()
    assert json.loads(report.model_dump_json())["read_as"][0].startswith("encoding cp1252")
    assert report.total_amount == 30.5  # 10,50 + 20,00 with the NUL byte removed
