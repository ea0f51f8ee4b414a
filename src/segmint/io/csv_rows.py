"""Rows of delimited text checked against the header: rows with more fields (an unquoted delimiter would
shift their values), rows with fewer (named in the report) and quoted values that swallowed whole rows
(see :func:`segmint.io.csv.read_delimited`)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

from segmint.errors import InputError

WHITESPACE = "whitespace"  # the delimiter of files aligned with runs of spaces
MAX_SHORT_ROWS = 5  # rows with too few fields named in the report


def refuse_shifted_rows(source: str, body: list[tuple[int, list[str]]], named: int | None, delimiter: str) -> int:
    """Refuse a sample row with more filled fields than the header (``named``) and than most rows; return
    how many fields a row should have (0 when a file without a header has no width most rows share).

    Such a row holds the delimiter inside an unquoted value (``Pack, 12`` as a product): every value
    after it moves one column right, so the amount column reads ``12`` and the real amount is lost.
    Rows past the sample are refused the same way while they are read (see :func:`segmint.io.csv._read_normalised`);
    the sample's own rows used to widen the table instead, with no word. Trailing blank fields (a
    trailing delimiter) do not count; a header shorter than most rows names extra columns, as before.
    Without a header (``named`` None) the width most rows have stands for it; with no such majority the
    widest row's is taken, as before. ``body``: :func:`segmint.io.csv._sample_records` below the header.
    """
    filled = [(row, _filled_width(record)) for row, record in body if _filled_width(record)]
    if not filled:
        return named or 0
    modal, rows = Counter(width for _, width in filled).most_common(1)[0]
    majority = 2 * rows > len(filled)
    if named is None:
        usual = modal if majority else max(width for _, width in filled)
    else:
        usual = max(named, modal) if majority else named  # most rows wider: unnamed columns
    for row, width in filled:
        if width > usual:
            raise too_wide_error(source, row, width, usual, delimiter, headed=named is not None)
    return named if named is not None else usual if majority else 0


def _filled_width(record: list[str]) -> int:
    """Fields up to the last non-blank one (a trailing delimiter adds none)."""
    return next((i + 1 for i in range(len(record) - 1, -1, -1) if record[i].strip()), 0)


def too_wide_error(source: str, row: int, fields: int, width: int, delimiter: str, *, headed: bool = True) -> InputError:
    """The error for a row with more fields than the header names (``headed``; else than most rows
    have, in a file without a header): what happened and the fix."""
    fix = ("values containing spaces need a real delimiter (save the file as CSV)" if delimiter == WHITESPACE
           else f"quote values that contain the delimiter {delimiter!r}")
    usual = f"the header names {width}" if headed else f"most rows have {width} (the file has no header row)"
    return InputError(
        f"{source}: row {row} has {fields} fields but {usual}, so its values after the extra "
        f"one would shift into the wrong columns; {fix}",
        field="row", value=row,
    )


@dataclass
class ShortRows:
    """Rows with fewer fields than the header names: how many, and the first few (row -> fields).

    Their missing values read as blank, so such a row is dropped for a blank value (``missing_amount``
    when the amount is the missing last field): the report says the row is short, not only blank.
    ``complete``: every row of the file was looked at (else only the reader's first lines).
    """

    expected: int
    headed: bool = True  # the header names ``expected`` fields (else most rows have them)
    rows: dict[int, int] = field(default_factory=dict)
    count: int = 0
    complete: bool = False

    def add(self, row: int, record: list[str]) -> None:
        if len(record) < self.expected and any(cell.strip() for cell in record):
            self.count += 1
            if len(self.rows) < MAX_SHORT_ROWS:
                self.rows[row] = len(record)

    def note(self, sample_lines: int) -> list[str]:
        """The report's warning: which rows are short and how many fields each has."""
        if not self.count:
            return []
        listed = ", ".join(f"row {row} ({found} fields)" for row, found in self.rows.items())
        more = f" and {self.count - len(self.rows):,} more" if self.count > len(self.rows) else ""
        where = "" if self.complete else f" in the first {sample_lines} lines"
        one = self.count == 1
        return [
            f"{self.count:,} row{'' if one else 's'}{where} {'has' if one else 'have'} fewer fields than "
            + (f"the header names ({self.expected})" if self.headed else f"most rows have ({self.expected})")
            + f": {listed}{more}; the fields a row lacks read as blank, so a row that lacks "
            f"its amount, customer or date is dropped for that; check {'that line' if one else 'those lines'} for "
            "a value cut off or a missing delimiter"
        ]


def check_swallowed_lines(
    source: str, where: tuple[int, int], record: list[str], delimiter: str, names: list[str], lines: int, text: str
) -> None:
    """Refuse a record whose quoted value swallowed whole records: a double quote opened and never closed
    (or closed only by a stray quote lines later) makes every line up to there one value, and those rows
    would be lost without a word. A line inside a quoted value that holds as many delimiters as a record
    (one fewer than the columns) is such a record, unless it holds nothing else (a note such as
    ``"\n;;;;"``) and the value is quoted right: its quote closes before a delimiter or the line's end
    and the record has every column's field. A quoted value with line breaks in ordinary text is kept.
    ``where``: the record's row and the file line it starts on; ``text``: the record's lines as read."""
    width = len(names)
    if width < 3:  # a line of ordinary text may hold a delimiter or two: two columns say too little
        return
    for column, value in zip(names, record):
        whole = [piece for piece in value.split("\n")[1:] if piece.count(delimiter) >= width - 1]
        if not whole:
            continue
        blank = not any(piece.replace(delimiter, "").strip() for piece in whole)
        if blank and len(record) == width and _quoted_right(text, delimiter):
            continue
        row, line = where
        raise InputError(
            f'{source}: row {row}, column {column!r} (line {line:,} of the file), opens a double quote (") that is not '
            f"closed on its line, so the next {lines - 1:,} line(s), {len(whole):,} of them whole rows, read as part of "
            f"one value; if those lines are rows, the quote is stray: close it (or double it, \"\", inside a quoted "
            f"value) or remove it; if they belong to the value, remove its line breaks; then read the file again",
            field=column, value=row,
        )


def _quoted_right(text: str, delimiter: str) -> bool:
    """``text`` is one record whose every quoted value closes before a delimiter or its line's end."""
    try:
        return len(list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))) == 1
    except csv.Error:
        return False
