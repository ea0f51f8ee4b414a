"""Delimited text before it is read: its encoding, delimiter, header and column names from its first
lines, and the DuckDB SQL that loads it (see :mod:`segmint.io.csv`, which reads it).

Imports no Ibis: the ``segmint`` command sniffs a small text file and starts DuckDB's read with this
while Ibis is still being imported (see :mod:`segmint.io.early`).
"""

from __future__ import annotations

import codecs
import csv
import mmap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from segmint.errors import InputError
from segmint.io.csv_rows import WHITESPACE, refuse_shifted_rows
from segmint.io.header_rows import header_lines, merged_header, unique_names
from segmint.schema import detect_header_row
from segmint.util import sql_identifier, sql_string

HEAD_BYTES = 256 * 1024
HEAD_LINES = 200
DELIMITERS = ("\t", ";", "|", ",")  # tie-break order: ',' also appears in decimals and amounts


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
TOO_WIDE = "segmint: a line has more space-separated fields than the header"


@dataclass
class Sniffed:
    """What a delimited file's first ``HEAD_LINES`` lines tell: how to read it and its columns."""

    encoding: str
    nul: int  # NUL bytes in the file (removed before reading)
    delimiter: str
    rows: list[list[str]]  # the sample's lines split into cells
    header: int  # the header's row in ``rows``, -1 for none
    lines_of_header: list[list[str]]  # two for a header split over two rows
    cells: list[str]  # the header's cells (merged from two lines)
    body: list[tuple[int, list[str]]]  # the sample's records below the header, with their row numbers
    usual: int  # the fields a record usually has (see csv_rows.refuse_shifted_rows)
    named: int | None  # the fields the header names, None without a header
    names: list[str]  # the column names
    skip: int  # lines before the first record
    whole: bool  # the sample is the whole file


def sniff(path: Path, header_row: int | None = None) -> Sniffed:
    """Sniff ``path`` from its first ``HEAD_BYTES`` (``header_row``: the header's row, given by a mapping)."""
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
        raise InputError(f"{path}: the file is empty (no rows to read)")
    header = header_row if header_row is not None else detect_header_row(rows)
    if header >= len(rows) and rows:
        raise InputError(f"{path}: header row {header} is past the end of the file sample")
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
    whole = len(head) < HEAD_BYTES and len(text.splitlines()) <= HEAD_LINES
    return Sniffed(encoding, nul, delimiter, rows, header, lines_of_header, cells, body, usual, named, names, skip, whole)


def load_sql(path: Path, delimiter: str, names: list[str], skip: int, longest: int | None = None) -> tuple[str, str | None]:
    """The ``SELECT`` loading a UTF-8 file's records as text columns, and for a space-aligned file the count
    of lines with more fields than the header (the load stops at the first one: the count says how many)."""
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
        sql = f"SELECT * FROM {read_csv_sql(path, delimiter, names, skip, longest)}"
        too_wide = None
    return sql, too_wide


def read_csv_sql(
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
