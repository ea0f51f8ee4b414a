"""Delimited text (CSV/TSV/TXT, any delimiter or whitespace, any common encoding) via DuckDB."""

from __future__ import annotations

import codecs
import csv
import logging
import mmap
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io.base import (
    ROW_COL,
    SAMPLE_ROWS,
    RawTable,
    drop_total_and_blank_rows,
    duckdb_to_con,
    is_duckdb,
    repeated_headers,
    sql_identifier,
    sql_string,
    unique_names,
)
from segmint.io.csv_rows import (
    MAX_SHORT_ROWS,
    WHITESPACE,
    ShortRows,
    check_swallowed_lines,
    refuse_shifted_rows,
    too_wide_error,
)
from segmint.io.header_rows import header_lines, merged_header
from segmint.io.wide import WIDE_COLUMNS, project
from segmint.results import rows as result_rows
from segmint.schema import ColumnMapping, detect_header_row

if TYPE_CHECKING:
    import ibis

log = logging.getLogger(__name__)

HEAD_BYTES = 256 * 1024
HEAD_LINES = 200
SAMPLE_COLUMNS = 1000  # columns of a wide file's first rows read at a time (see _wide_sample)
DELIMITERS = ("\t", ";", "|", ",")  # tie-break order: ',' also appears in decimals and amounts
TOO_WIDE = "segmint: a line has more space-separated fields than the header"
NO_NULL = "\x01"  # a text no field holds: read as NULL in its place, so that only a missing field is NULL


BINARY_NUL_SHARE = 0.05  # more NUL bytes than this in the head (and not UTF-16): not a text file
BINARY_CONTROL_SHARE = 0.02  # more control bytes than this (not tab, CR, LF, FF): not a text file either
CONTROL_BYTES = bytes((*range(1, 9), 11, *range(14, 27), *range(28, 32)))  # counted by _refuse_binary

# The first bytes of files a user may save or rename as .csv by mistake: what the file is, what to do.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP archive (an .xlsx workbook is one): if it is a workbook, give it the .xlsx extension; "
                     "if it is a zip, unzip it and read the file inside"),
    (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): give it the .xls extension or save it as .xlsx or CSV"),
    (b"PAR1", "a Parquet file: give it the .parquet extension"),
    (b"\x1f\x8b", "a gzip-compressed file: unzip it (gunzip) and read the file inside"),
    (b"%PDF", "a PDF document, not a table: export the data as CSV or Excel from where the PDF came from"),
    (b"\x89PNG", "a PNG image, not a table"),
    (b"\xff\xd8\xff", "a JPEG image, not a table"),
    (b"GIF8", "a GIF image, not a table"),
    (b"SQLite format 3\x00", "an SQLite database: read its table with a sqlite:///FILE?table=NAME source"),
)


def sniff_encoding(head: bytes) -> str:
    """Encoding of a file from its first bytes: BOMs, UTF-16 by its NUL pattern, utf-8, cp1252, latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf16 = _utf16_without_bom(head)
    if utf16:
        return utf16
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def _utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when every other byte is mostly NUL (ASCII text in UTF-16)."""
    sample = head[:4096]
    half = len(sample) // 2
    if half < 4:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def count_nul_bytes(path: Path) -> int:
    """NUL bytes anywhere in the file (memchr over a memory map: about a second for 10 GB)."""
    if path.stat().st_size == 0:
        return 0
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        return 0 if data.find(b"\x00") < 0 else data[:].count(b"\x00")


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter splitting most non-blank lines into the same number (> 1) of fields.

    Returns ``"whitespace"`` for files aligned with runs of spaces (e.g. CDNOW_master.txt).
    """
    body = [line for line in lines if line.strip()]
    if not body:
        return ","
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        # records, not lines: a quoted field may hold a line break or a bare CR (which splitlines()
        # cut), and the record it belongs to counts once for the delimiter that quotes it right
        records = list(csv.reader(body, delimiter=delimiter))
        counts = [len(row) for row in records if len(row) > 1]
        if counts:
            width, hits = Counter(counts).most_common(1)[0]
            score = hits / len(records)
            if score > best_score:
                best, best_score = delimiter, score
    split_counts = [len(line.split()) for line in body if len(line.split()) > 1]
    if split_counts and best_score < 0.8:
        hits = Counter(split_counts).most_common(1)[0][1]
        if hits / len(body) > max(best_score, 0.5):
            return WHITESPACE
    return best


def split_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    """Split sample lines into cells the way the reader will (blank lines stay as empty rows)."""
    if delimiter == WHITESPACE:
        return [line.split() for line in lines]
    return [next(csv.reader([line], delimiter=delimiter), []) for line in lines]


def read_delimited(
    path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None, project: bool = False
) -> RawTable:
    """Read a delimited text file into ``con`` with every column as text (nothing is parsed).

    ``project``: a wide file keeps only the columns the job reads (see :mod:`segmint.io.wide`)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    encoding = sniff_encoding(head)
    _refuse_binary(path, head, encoding)
    nul = 0 if encoding.startswith("utf-16") else count_nul_bytes(path)
    if nul and head.count(0) > BINARY_NUL_SHARE * len(head):
        raise InputError(
            f"{path.name}: looks like a binary file, not delimited text (it is full of NUL bytes); "
            "if it is a spreadsheet, give it its real extension (.xlsx) or export it as CSV"
        )
    text = head.replace(b"\x00", b"").decode(encoding, errors="replace") if nul else head.decode(encoding, errors="replace")
    lines = text.splitlines()
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = lines[:HEAD_LINES]
    delimiter = sniff_delimiter(lines)
    rows = split_rows(lines, delimiter)
    if not any(rows):
        raise InputError(f"{path.name}: the file is empty (no rows to read)", field="source", value=path.name)
    header = mapping.header_row if mapping and mapping.header_row is not None else detect_header_row(rows)
    if header >= len(rows) and rows:
        raise InputError(f"{path.name}: header row {header} is past the end of the file sample", field="header_row",
                         value=header)
    lines_of_header = header_lines(rows, header) if header >= 0 else []  # two for a header split over two rows
    cells = merged_header(*lines_of_header) if len(lines_of_header) == 2 else list(rows[header]) if header >= 0 else []
    start = header + len(lines_of_header) if header >= 0 else next((i for i, r in enumerate(rows) if r), 0)
    # the sample's records from the header on (or from the first row when there is none), each checked
    # for fields a value's unquoted delimiter added and for fields the row lacks
    records = _sample_records(lines, header if header >= 0 else start, delimiter)
    named = len(records[0][1]) if header >= 0 and records else None
    body = records[len(lines_of_header):]
    usual = refuse_shifted_rows(path.name, body, named, delimiter)
    width = max((len(r) for r in rows[start:]), default=0)
    names = unique_names(cells)
    names += unique_names([None] * width)[len(names) :]
    skip = start
    # rows with fewer fields than the header: every row's when the normaliser reads them, else the sample's
    short = ShortRows(usual, headed=named is not None)
    wide = project and is_duckdb(con) and len(names) > WIDE_COLUMNS and encoding == "utf-8" and not nul
    sample = _wide_sample(path, con, delimiter, names, skip) if wide and delimiter != WHITESPACE else None
    if sample is not None:  # what the columns' choice reads of the header and titles (set on ``raw`` below)
        sample.header_cells, sample.header_cells_below = list(rows[header]) if header >= 0 else [], lines_of_header[1:]
        sample.titles = [" ".join(c.strip() for c in r if c.strip()) for r in rows[: max(header, 0)] if any(c.strip() for c in r)]
        raw = _project(sample, path, con, encoding, delimiter, names, skip, mapping, short)
    else:
        raw = _load(path, con, encoding, delimiter, names, skip, first_row=skip + 1, nul=nul, short=short)
    if not short.complete:  # DuckDB's reader read the file
        for number, (_, record) in enumerate(body, start=skip + 1):  # numbered as the rows read (_row)
            short.add(number, record)
        short.complete = len(head) < HEAD_BYTES and len(text.splitlines()) <= HEAD_LINES
        if not short.complete and (delimiter == WHITESPACE or encoding == "utf-8") and 0 < short.expected <= len(names):
            _short_rows_past_sample(path, raw.table, short, delimiter, names, skip, first_row=skip + len(body) + 1)
    raw.short_rows = {(path.name, row): (found, short.expected) for row, found in short.rows.items()}
    raw.report_notes += short.note(HEAD_LINES)
    raw.header_row = header if header >= 0 else None
    raw.header_cells = list(rows[header]) if header >= 0 else []
    raw.header_cells_below = lines_of_header[1:]
    above = rows[: max(header, 0)]
    raw.titles = [" ".join(c.strip() for c in r if c.strip()) for r in above if any(c.strip() for c in r)]
    raw.notes.insert(
        0,
        f"encoding {encoding}, delimiter {'whitespace' if delimiter == WHITESPACE else repr(delimiter)}, "
        + (f"header on line {header + 1}" if header >= 0 else "no header row (columns column_1..n)")
        + (f" merged with line {header + 2}" if len(lines_of_header) == 2 else "")
    )
    if raw.titles:
        raw.notes.insert(1, "title rows above the header: " + " | ".join(raw.titles))
    raw.report_notes += repeated_headers(cells)
    return drop_total_and_blank_rows(raw)


def _wide_sample(path: Path, con: BaseBackend, delimiter: str, names: list[str], skip: int) -> RawTable | None:
    """The first ``SAMPLE_ROWS`` rows of a wide file as the sample of a RawTable whose table is not loaded
    yet (None when DuckDB's reader refuses them: the file is then read as any other).

    Fetched ``SAMPLE_COLUMNS`` columns at a time straight from DuckDB: its reader holds a block of rows of
    every column it reads (past its memory limit at 10,000 columns), and an Ibis query of 10,000 columns
    took longer to build than to run."""
    import ibis

    source = _read_csv_sql(path, delimiter, names, skip)
    values: dict[str, list[Any]] = {}
    try:
        for first in range(0, len(names), SAMPLE_COLUMNS):
            part = names[first : first + SAMPLE_COLUMNS]
            rows = con.con.execute(f"SELECT {', '.join(map(sql_identifier, part))} FROM {source} LIMIT {SAMPLE_ROWS}").fetchall()
            values.update(zip(part, map(list, zip(*rows, strict=True)) if rows else [[] for _ in part], strict=True))
    except Exception as exc:  # duckdb.Error subclasses
        log.info("%s: no sample of its first rows (%s); reading every column", path, _first_line(exc))
        return None
    table = ibis.table({name: "string" for name in names}, name=path.name)  # a stand-in: only its sample is read
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="csv")
    raw._sample_values = (table, values, SAMPLE_ROWS)
    return raw


def _project(
    sample: RawTable, path: Path, con: BaseBackend, encoding: str, delimiter: str, names: list[str], skip: int,
    mapping: ColumnMapping | None, short: ShortRows,
) -> RawTable:
    """Every row of the columns the job reads of a wide file (see :mod:`segmint.io.wide`): all of them
    when the file needs them, or when DuckDB's reader refuses a later row (the file is then read as usual)."""
    keep = [names[short.expected - 1]] if 0 < short.expected <= len(names) else []  # the short-row test's column

    def load(columns: list[str] | None) -> ibis.Table:
        if columns is None:
            return _load(path, con, encoding, delimiter, names, skip, first_row=skip + 1, short=short).table
        try:
            return _duckdb_read(path, con, delimiter, names, skip, skip + 1, path.name, columns=columns)
        except InputError:
            return load(None)

    raw = project(sample, load, mapping, keep)
    raw.header_cells, raw.header_cells_below, raw.titles = [], [], []  # set again by the caller
    return raw


def _sample_records(lines: list[str], header: int, delimiter: str) -> list[tuple[int, list[str]]]:
    """The sample's records from the header on, each with the file row number it starts on."""
    body = lines[header:]
    if delimiter == WHITESPACE:
        return [(header + i + 1, line.split()) for i, line in enumerate(body)]
    reader = csv.reader(body, delimiter=delimiter)
    records, first = [], header + 1
    for record in reader:
        records.append((first, record))
        first = header + reader.line_num + 1
    return records


def _short_rows_past_sample(
    path: Path, table, short: ShortRows, delimiter: str, names: list[str], skip: int, first_row: int
) -> None:
    """Add to ``short`` the rows from ``first_row`` on (past the sample) that DuckDB's reader padded.

    A short row lacks the header's last field, which DuckDB reads as NULL; so does an empty last field of
    delimited text (a space-aligned file has none). One count on that column of the rows read tells whether
    any row can be short (most files: none, and a Parquet spool's statistics answer it unread). Only then
    is a delimited file read again, empty fields as '' and padded ones NULL, to find the short rows and how
    many fields each has; the rows read of a space-aligned file tell that themselves."""
    column = names[short.expected - 1]
    past = table.filter(table[column].isnull() & (table[ROW_COL] >= first_row))
    if not result_rows(past.aggregate(n=past.count()))[0]["n"]:
        short.complete = True
        return
    if delimiter == WHITESPACE:
        fields = sum(past[n].notnull().cast("int64") for n in names[: short.expected])
        found = past.select(row=past[ROW_COL], fields=fields, total=past.count().over()).order_by("row")
        listed = [(r["row"], r["fields"], r["total"]) for r in result_rows(found.limit(MAX_SHORT_ROWS))]
    else:
        cells = [sql_identifier(n) for n in names[: short.expected]]
        counted = f"len(list_filter([{', '.join(cells)}], cell -> cell IS NOT NULL))"
        filled = " OR ".join(f"trim({c}) <> ''" for c in cells)
        rows = (
            f"SELECT row_number() OVER () + {skip} AS row, {cells[-1]} IS NULL AND ({filled}) AS short, "
            f"{counted} AS fields FROM {_read_csv_sql(path, delimiter, names, skip, nullstr=NO_NULL)}"
        )
        # one read of the file: the first rows listed, each with the count of them all
        found = f"SELECT row, fields, count(*) OVER () FROM ({rows}) WHERE short AND row >= {first_row}"
        private = raw_duckdb()
        try:
            listed = private.execute(f"{found} ORDER BY row LIMIT {MAX_SHORT_ROWS}").fetchall()
        finally:
            private.close()
    short.count += int(listed[0][2]) if listed else 0
    for row, found_fields, _ in listed:
        if len(short.rows) < MAX_SHORT_ROWS:
            short.rows[int(row)] = int(found_fields)
    short.complete = True


def _refuse_binary(path: Path, head: bytes, encoding: str) -> None:
    """One clear error for a binary file named like text (a workbook, an image, an archive renamed .csv):
    read as text it gave garbage columns and a mapping error about them."""
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            raise InputError(f"{path.name} is not delimited text: it is {what}", field="source", value=path.name)
    if encoding.startswith("utf-16") or not head:
        return
    control = len(head) - len(head.translate(None, CONTROL_BYTES))  # one pass over the head, not one per byte
    if control > BINARY_CONTROL_SHARE * len(head):
        raise InputError(
            f"{path.name}: looks like a binary file, not delimited text ({control:,} control bytes in its first "
            f"{len(head):,}); export the data as CSV (UTF-8) or give the file its real extension",
            field="source", value=path.name,
        )


def _load(
    path: Path, con: BaseBackend, encoding: str, delimiter: str, names: list[str], skip: int,
    first_row: int, nul: int = 0, short: ShortRows | None = None,
) -> RawTable:
    """Load with DuckDB's reader; files it cannot take as they are are normalised first (see below).

    ``short``: the normaliser counts every short row in it (and marks it complete); DuckDB's reader does not."""
    notes: list[str] = []
    if nul or (encoding != "utf-8" and delimiter != WHITESPACE):
        table = _read_normalised(path, con, encoding, delimiter, names, skip, first_row, notes, short)
    else:
        utf8_path, cleanup = (path, False) if encoding == "utf-8" else (_transcode(path, encoding), True)
        try:
            table = _duckdb_read(utf8_path, con, delimiter, names, skip, first_row, path.name)
        except InputError as exc:
            unicode = "unicode" in str(exc.__cause__ or exc).lower()
            if delimiter == WHITESPACE and encoding == "utf-8" and unicode:
                encoding = "cp1252"
                log.info("%s: not valid UTF-8 after the first %d bytes; reading as cp1252", path, HEAD_BYTES)
                utf8_path, cleanup = _transcode(path, "cp1252"), True
                table = _duckdb_read(utf8_path, con, delimiter, names, skip, first_row, path.name)
            elif delimiter == WHITESPACE:
                raise
            else:
                log.info("%s: DuckDB's reader refused it (%s); normalising it first", path, _first_line(exc))
                if encoding == "utf-8" and unicode:
                    encoding = "cp1252"
                table = _read_normalised(path, con, encoding, delimiter, names, skip, first_row, notes, short)
        finally:
            if cleanup:
                os.unlink(utf8_path)
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="csv")
    raw.notes += notes
    return raw


def _read_normalised(
    path: Path, con: BaseBackend, encoding: str, delimiter: str, names: list[str], skip: int,
    first_row: int, notes: list[str], short: ShortRows | None = None,
):
    """Rewrite the records with Python's csv module, then load them.

    Python's reader takes what DuckDB's refuses: LF and CRLF mixed (files built by concatenation),
    quoted fields holding CR or CRLF, very long lines, any encoding (UTF-16 without a byte-order
    mark included); NUL bytes are removed and counted in the notes. Records keep their numbering.
    ``short``: every record with fewer fields than the header names is counted in it.
    """
    short = short or ShortRows(0)
    csv.field_size_limit(sys.maxsize)
    removed, longest, physical = 0, 0, 0  # physical: lines read so far (a quoted field may hold several)
    fd, name = tempfile.mkstemp(prefix="segmint-records-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, path.open(
            "r", encoding=encoding, errors="replace", newline=""
        ) as src:
            recent: list[str] = []  # the current record's lines

            def lines():
                nonlocal removed, physical
                for line in src:
                    physical += 1
                    if "\x00" in line:
                        removed += line.count("\x00")
                        line = line.replace("\x00", "")
                    recent.append(line)
                    yield line

            special = (delimiter, '"', "\r", "\n")

            def cell(text: str) -> str:
                return '"' + text.replace('"', '""') + '"' if any(c in text for c in special) else text

            width = len(names)
            before = 0  # physical lines read before the current record
            for number, record in enumerate(csv.reader(lines(), delimiter=delimiter, quotechar='"', strict=False)):
                line, spanned, before = before + 1, physical - before, physical
                text = "".join(recent) if spanned > 1 else ""
                recent.clear()
                if number < skip:
                    continue
                if spanned > 1:
                    row = first_row + number - skip
                    check_swallowed_lines(path.name, (row, line), record, delimiter, names, spanned, text)
                if len(record) > width and any(cell.strip() for cell in record[width:]):
                    raise too_wide_error(
                        path.name, first_row + number - skip, len(record), width, delimiter, headed=short.headed
                    )
                short.add(first_row + number - skip, record)
                start = out.tell()
                out.write(delimiter.join(cell(text) for text in (record + [""] * width)[:width]) + "\n")
                longest = max(longest, out.tell() - start)
        if removed:
            notes.append(f"{removed:,} NUL byte(s) removed (they are not text)")
        short.complete = True
        return _duckdb_read(Path(name), con, delimiter, names, 0, first_row, path.name, longest=longest)
    finally:
        os.unlink(name)


def _first_line(exc: BaseException) -> str:
    """DuckDB's own first line of an error, without its advice (engine options a user cannot pass)."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _duckdb_read(
    path: Path, con: BaseBackend, delimiter: str, names: list[str], skip: int, first_row: int,
    source: str, longest: int | None = None, columns: list[str] | None = None,
):
    """Load the file with DuckDB's reader (``columns``: only these)."""
    quoted = sql_string(str(path))  # a literal, not a parameter: binding parameters makes DuckDB import pandas
    if delimiter == WHITESPACE:
        lines = (
            f"SELECT regexp_split_to_array(trim(line), '\\s+') AS parts FROM read_csv({quoted}, "
            "columns={'line': 'VARCHAR'}, delim='\\x1f', quote='', escape='', header=false, "
            f"auto_detect=false, skip={skip}) WHERE line IS NOT NULL AND ltrim(line) <> ''"
        )  # ltrim stops at a line's first character that is not a space; trim walks every character
        cells = ", ".join(f"parts[{i + 1}] AS {sql_identifier(n)}" for i, n in enumerate(names))
        # a line with more fields than the header stops the load (no second pass over the file to look)
        checked = f"CASE WHEN len(parts) > {len(names)} THEN error({sql_string(TOO_WIDE)}) ELSE parts END AS parts"
        sql = f"SELECT {cells} FROM (SELECT {checked} FROM ({lines}))"
        too_wide = f"SELECT count(*) FROM ({lines}) WHERE len(parts) > {len(names)}"
    else:
        cells = ", ".join(map(sql_identifier, columns)) if columns is not None else "*"
        sql = f"SELECT {cells} FROM {_read_csv_sql(path, delimiter, names, skip, longest)}"
        too_wide = None
    share = len(columns) / len(names) if columns is not None else 1.0  # of the file a table would hold
    spool = _should_spool(path, con, names, share)
    try:
        return duckdb_to_con(con, sql, source=source, first_row=first_row, spool=spool)
    except Exception as exc:  # duckdb.Error subclasses: conversion, invalid unicode, ragged rows
        if too_wide is not None and TOO_WIDE in str(exc):
            extra = raw_duckdb().execute(too_wide).fetchone()[0]
            raise InputError(
                f"{source}: {extra} line(s) have more than {len(names)} space-separated fields; "
                "values containing spaces need a real delimiter (save the file as CSV)"
            ) from None
        raise InputError(
            f"{source}: cannot read as delimited text ({_first_line(exc)}); save it again as CSV (UTF-8, "
            "comma-separated, values with the delimiter or line breaks in double quotes)"
        ) from exc


def _read_csv_sql(
    path: Path, delimiter: str, names: list[str], skip: int, longest: int | None = None, nullstr: str | None = None
) -> str:
    """DuckDB's ``read_csv`` of a delimited file, every column text (``longest``: a normalised file's
    longest record; ``nullstr``: the text read as NULL instead of an empty field)."""
    columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
    sizes = ""
    if longest is not None:  # a normalised file: one reader thread, lines as long as the longest record
        line = max(2 * longest + 1024, 2_097_152)
        sizes = f", max_line_size={line}, buffer_size={max(line * 2, 33_554_432)}, parallel=false, new_line='\\n'"
    padding = "true" if longest is None else "false"  # normalised records are padded already
    nulls = "" if nullstr is None else f", nullstr={sql_string(nullstr)}"
    return (
        f"read_csv({sql_string(str(path))}, columns={columns}, delim={sql_string(delimiter)}, quote='\"', "
        f"escape='\"', header=false, auto_detect=false, skip={skip}, null_padding={padding}{sizes}{nulls})"
    )


def _should_spool(path: Path, con: BaseBackend, names: list[str], share: float = 1.0) -> bool:
    """Spool the rows to a temporary Parquet file (see ``io.base.duckdb_to_con``) when the file is large:
    as a table of text columns it would take over about half of DuckDB's memory limit (about 1.4 bytes
    a byte of CSV; ``share``: the part of its columns loaded)."""
    from segmint.engine import memory_limit_bytes

    limit = memory_limit_bytes(con) if is_duckdb(con) else None
    if limit is None or any(n.lower() == "file_row_number" for n in names):  # the spool's own row column
        return False
    return path.stat().st_size * share > limit / 3


def _transcode(path: Path, encoding: str) -> Path:
    """Copy ``path`` to a temporary UTF-8 file, streaming (large files never sit in memory)."""
    fd, name = tempfile.mkstemp(prefix="segmint-utf8-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, path.open(
        "r", encoding=encoding, errors="replace", newline=""
    ) as src:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return Path(name)
