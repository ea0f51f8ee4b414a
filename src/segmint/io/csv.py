"""Delimited text (CSV/TSV/TXT, any delimiter or whitespace, any common encoding) via DuckDB."""

from __future__ import annotations

import codecs
import csv
import logging
import os
import tempfile
from collections import Counter
from pathlib import Path

from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io.base import (
    RawTable,
    drop_total_and_blank_rows,
    duckdb_to_con,
    sql_identifier,
    sql_string,
    unique_names,
)
from segmint.schema import ColumnMapping, detect_header_row

log = logging.getLogger(__name__)

HEAD_BYTES = 256 * 1024
HEAD_LINES = 200
DELIMITERS = ("\t", ";", "|", ",")  # tie-break order: ',' also appears in decimals and amounts
WHITESPACE = "whitespace"


def sniff_encoding(head: bytes) -> str:
    """Encoding of a file from its first bytes: BOMs, then utf-8, then cp1252, then latin-1."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    return "latin-1"


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter splitting most non-blank lines into the same number (> 1) of fields.

    Returns ``"whitespace"`` for files aligned with runs of spaces (e.g. CDNOW_master.txt).
    """
    body = [line for line in lines if line.strip()]
    if not body:
        return ","
    best, best_score = ",", 0.0
    for delimiter in DELIMITERS:
        counts = [len(row) for row in csv.reader(body, delimiter=delimiter) if len(row) > 1]
        if counts:
            width, hits = Counter(counts).most_common(1)[0]
            score = hits / len(body)
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


def read_delimited(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a delimited text file into ``con`` with every column as text (nothing is parsed)."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path}: looks like a binary file, not delimited text")
    encoding = sniff_encoding(head)
    text = head.decode(encoding, errors="replace")
    lines = text.splitlines()
    if len(head) == HEAD_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    lines = lines[:HEAD_LINES]
    delimiter = sniff_delimiter(lines)
    rows = split_rows(lines, delimiter)
    if not any(rows):
        raise InputError(f"{path}: the file is empty (no rows to read)")
    header = mapping.header_row if mapping and mapping.header_row is not None else detect_header_row(rows)
    if header >= len(rows) and rows:
        raise InputError(f"{path}: header row {header} is past the end of the file sample")
    start = header + 1 if header >= 0 else next((i for i, r in enumerate(rows) if r), 0)
    width = max((len(r) for r in rows[start:]), default=0)
    names = unique_names(list(rows[header]) if header >= 0 else [])
    names += unique_names([None] * width)[len(names) :]
    skip = header + 1 if header >= 0 else start
    raw = _load(path, con, encoding, delimiter, names, skip, first_row=skip + 1)
    raw.header_row = header if header >= 0 else None
    raw.notes.append(
        f"encoding {encoding}, delimiter {'whitespace' if delimiter == WHITESPACE else repr(delimiter)}, "
        + (f"header on line {header + 1}" if header >= 0 else "no header row (columns column_1..n)")
    )
    return drop_total_and_blank_rows(raw)


def _load(
    path: Path, con: BaseBackend, encoding: str, delimiter: str, names: list[str], skip: int,
    first_row: int,
) -> RawTable:
    utf8_path, cleanup = (path, False) if encoding == "utf-8" else (_transcode(path, encoding), True)
    try:
        try:
            table = _duckdb_read(utf8_path, con, delimiter, names, skip, first_row, path.name)
        except InputError as exc:
            if encoding != "utf-8" or "unicode" not in str(exc).lower():
                raise
            log.info("%s: not valid UTF-8 after the first %d bytes; reading as cp1252", path, HEAD_BYTES)
            encoding, utf8_path, cleanup = "cp1252", _transcode(path, "cp1252"), True
            table = _duckdb_read(utf8_path, con, delimiter, names, skip, first_row, path.name)
    finally:
        if cleanup:
            os.unlink(utf8_path)
    return RawTable(table=table, source=path.name, columns=names, header_row=None, format="csv")


def _duckdb_read(
    path: Path, con: BaseBackend, delimiter: str, names: list[str], skip: int, first_row: int,
    source: str,
):
    quoted = [str(path)]
    if delimiter == WHITESPACE:
        lines = (
            "SELECT regexp_split_to_array(trim(line), '\\s+') AS parts FROM read_csv(?, "
            "columns={'line': 'VARCHAR'}, delim='\\x1f', quote='', escape='', header=false, "
            f"auto_detect=false, skip={skip}) WHERE line IS NOT NULL AND trim(line) <> ''"
        )
        cells = ", ".join(f"parts[{i + 1}] AS {sql_identifier(n)}" for i, n in enumerate(names))
        sql = f"SELECT {cells} FROM ({lines})"
        too_wide = f"SELECT count(*) FROM ({lines}) WHERE len(parts) > {len(names)}"
    else:
        columns = "{" + ", ".join(f"{sql_string(n)}: 'VARCHAR'" for n in names) + "}"
        sql = (
            f"SELECT * FROM read_csv(?, columns={columns}, delim={sql_string(delimiter)}, quote='\"', "
            f"escape='\"', header=false, auto_detect=false, skip={skip}, null_padding=true)"
        )
        too_wide = None
    try:
        if too_wide is not None:

            extra = raw_duckdb().execute(too_wide, quoted).fetchone()[0]
            if extra:
                raise InputError(
                    f"{source}: {extra} line(s) have more than {len(names)} space-separated fields; "
                    "values containing spaces need a real delimiter (save the file as CSV)"
                )
        return duckdb_to_con(con, sql, source=source, first_row=first_row, params=quoted)
    except InputError:
        raise
    except Exception as exc:  # duckdb.Error subclasses: conversion, invalid unicode, ragged rows
        raise InputError(f"{source}: cannot read as delimited text: {exc}") from exc


def _transcode(path: Path, encoding: str) -> Path:
    """Copy ``path`` to a temporary UTF-8 file, streaming (large files never sit in memory)."""
    fd, name = tempfile.mkstemp(prefix="segmint-utf8-", suffix=".csv")
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out, path.open(
        "r", encoding=encoding, errors="replace", newline=""
    ) as src:
        while chunk := src.read(1 << 20):
            out.write(chunk)
    return Path(name)
