"""Delimited text (CSV/TSV/TXT, any delimiter or whitespace, any common encoding) via DuckDB."""

from __future__ import annotations

import csv
import logging
import os
import sys
import tempfile
from pathlib import Path

from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io import early
from segmint.io.base import (
    ROW_COL,
    RawTable,
    drop_total_and_blank_rows,
    duckdb_to_con,
    is_duckdb,
    repeated_headers,
    sql_identifier,
    sql_string,
)
from segmint.io.csv_rows import (
    MAX_SHORT_ROWS,
    WHITESPACE,
    ShortRows,
    check_swallowed_lines,
    too_wide_error,
)
from segmint.io.csv_sniff import (  # noqa: F401 - sniffing's names, read here before it moved
    BINARY_CONTROL_SHARE,
    BINARY_NUL_SHARE,
    CONTROL_BYTES,
    DELIMITERS,
    HEAD_BYTES,
    HEAD_LINES,
    SIGNATURES,
    TOO_WIDE,
    count_nul_bytes,
    load_sql,
    read_csv_sql,
    sniff,
    sniff_delimiter,
    sniff_encoding,
    split_rows,
)
from segmint.results import rows as result_rows
from segmint.schema import ColumnMapping

log = logging.getLogger(__name__)

NO_NULL = "\x01"  # a text no field holds: read as NULL in its place, so that only a missing field is NULL


def read_delimited(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a delimited text file into ``con`` with every column as text (nothing is parsed)."""
    header_row = mapping.header_row if mapping else None
    sniffed = early.sniffed(path, header_row) or sniff(path, header_row)
    encoding, nul, delimiter, names, skip = sniffed.encoding, sniffed.nul, sniffed.delimiter, sniffed.names, sniffed.skip
    rows, header, lines_of_header, cells, body = (
        sniffed.rows, sniffed.header, sniffed.lines_of_header, sniffed.cells, sniffed.body
    )
    # rows with fewer fields than the header: every row's when the normaliser reads them, else the sample's
    short = ShortRows(sniffed.usual, headed=sniffed.named is not None)
    raw = _load(path, con, encoding, delimiter, names, skip, first_row=skip + 1, nul=nul, short=short)
    if not short.complete:  # DuckDB's reader read the file
        for number, (_, record) in enumerate(body, start=skip + 1):  # numbered as the rows read (_row)
            short.add(number, record)
        short.complete = sniffed.whole
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
            f"{counted} AS fields FROM {read_csv_sql(path, delimiter, names, skip, nullstr=NO_NULL)}"
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
    source: str, longest: int | None = None,
):
    sql, too_wide = load_sql(path, delimiter, names, skip, longest)
    spool = _should_spool(path, con, names)
    # read while Ibis was imported (not when spooled: the early read's table is then dropped)
    loaded = early.take(con.con, None if spool else sql) if is_duckdb(con) else None
    try:
        return duckdb_to_con(con, sql, source=source, first_row=first_row, spool=spool, loaded=loaded)
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


def _should_spool(path: Path, con: BaseBackend, names: list[str]) -> bool:
    """Spool the rows to a temporary Parquet file (see ``io.base.duckdb_to_con``) when the file is large:
    as a table of text columns it would take over about half of DuckDB's memory limit (about 1.4 bytes
    a byte of CSV)."""
    from segmint.engine import memory_limit_bytes

    limit = memory_limit_bytes(con) if is_duckdb(con) else None
    if limit is None or any(n.lower() == "file_row_number" for n in names):  # the spool's own row column
        return False
    return path.stat().st_size > limit / 3


def _transcode(path: Path, encoding: str) -> Path:
    """Copy ``path`` to a temporary UTF-8 file, streaming (large files never sit in memory)."""
    fd, name = tempfile.mkstemp(prefix="segmint-utf8-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, path.open(
        "r", encoding=encoding, errors="replace", newline=""
    ) as src:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return Path(name)
