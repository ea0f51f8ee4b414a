"""Header rows: a header split over two rows (merged into one name a column), and header rows repeated
inside a table (pages of an export joined together): how a cell is matched to its header cell, and the
cheap test on one column that rules such rows out (see :func:`segmint.io.base.drop_total_and_blank_rows`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ibis

from segmint.schema import cell_kind

if TYPE_CHECKING:
    from segmint.io.base import RawTable

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))  # zero-width characters
# what header_key removes, as a pattern RE2, Python and Java read alike: white space (RE2's \s is ASCII's
# alone: the other spaces are listed) and the zero-width characters
_KEY_SPACE = "[\\s\\v\u00a0\u1680\u2000-\u200d\u2028\u2029\u202f\u205f\u2060\u3000\ufeff]+"


_DATA = {"date", "int", "number"}


def header_lines(rows: list[list[Any]], header: int) -> list[list[Any]]:
    """The header's lines: its row, and the one under it when that is a second header line (a title
    merged over two columns, ``Invoice`` over ``No``, the way report exports split a header)."""
    width = max((len(r) for r in rows), default=0)
    top = list(rows[header]) + [None] * (width - len(rows[header]))
    below = rows[header + 1] if header + 1 < len(rows) else []
    if not is_second_header(below, rows[header + 2 : header + 22]):
        return [top]
    return [top, list(below) + [None] * (width - len(below))]


def merged_header(top: list[Any], bottom: list[Any]) -> list[Any]:
    """One name a column from two header lines: the upper cell (or the merged cell spanning it) and the
    lower one (``Invoice`` over ``No`` -> ``Invoice No``)."""
    merged, group = [], None
    for upper, lower in zip(top, bottom, strict=True):
        upper, lower = _filled(upper), _filled(lower)
        if upper is not None:
            group = upper if lower is not None else None
        label = upper if upper is not None else (group if lower is not None else None)
        merged.append(" ".join(p for p in (label, lower) if p) or None)
    return merged


def is_second_header(row: list[Any], data: list[list[Any]]) -> bool:
    """A text-only row right under the header, above columns whose values are numbers or dates."""
    cells = [(i, c) for i, c in enumerate(row) if _filled(c) is not None]
    if len(cells) < 2 or any(cell_kind(c) != "text" for _, c in cells):
        return False
    for i, _ in cells:
        values = [r[i] for r in data if i < len(r) and _filled(r[i]) is not None]
        if values and sum(cell_kind(v) in _DATA for v in values) * 2 > len(values):
            return True
    return False


def _filled(cell: Any) -> Any:
    """A cell, None when blank (a text file's empty field is '')."""
    return None if cell is None or (isinstance(cell, str) and not cell.strip()) else cell


def header_key(cell: Any) -> str:
    """A header cell as header cells are matched: case, spaces, line breaks and zero-width characters
    aside ('Qty' line break '(units)' is 'qty(units)'; '' for a blank cell)."""
    return "".join(str(cell).translate(_INVISIBLE).split()).lower() if cell is not None else ""


def header_keys(raw: RawTable) -> list[dict[str, str]]:
    """For each line of the header (two for a header split over two rows): column -> its cell's
    :func:`header_key`, for the named columns of a text table whose header is known ([] else: typed
    columns cannot hold a header's text)."""
    if not raw.header_cells or any(not raw.table[c].type().is_string() for c in raw.columns):
        return []
    found = []
    for line in (raw.header_cells, *raw.header_cells_below):
        keys = {c: header_key(cell) for c, cell in zip(raw.columns, line, strict=False)}
        found.append({c: key for c, key in keys.items() if key})
    return [keys for keys in found if keys]


def header_witness(keys: dict[str, str], sample: dict[str, list[Any]] | None) -> str:
    """The column whose repeated header test is cheapest: the first whose sampled cells all start
    outside the test's byte range (Parquet statistics and zone maps then skip every row group, as the
    ids and dates that fill most columns do), else the one with fewest such cells."""
    def inside(column: str) -> int:
        low, high = _key_range(keys[column])
        return sum(isinstance(v, str) and (v < "!" or low <= v < high) for v in (sample or {}).get(column, []))

    return min(keys, key=inside)


def _key_range(key: str) -> tuple[str, str]:
    """The byte range of cells that start with ``key``'s first character in either case."""
    first = key[0]
    upper = first.upper() if len(first.upper()) == 1 else first  # 'ß'.upper() is 'SS'
    return min(upper, first), chr(ord(max(upper, first)) + 1)


def is_header_cell(column: ibis.Column, key: str, bytewise: bool = False) -> ibis.BooleanValue:
    """The cell repeats a header cell: its :func:`header_key` is ``key``. Only a cell starting with white
    space or ``key``'s first character (either case) can: the others are decided by that (``bytewise``:
    by comparing the whole value with byte ranges, which DuckDB pushes into the scan)."""
    matches = column.re_replace(_KEY_SPACE, "").lower() == key
    low, high = _key_range(key)
    if bytewise:  # a conjunction, not a CASE: a filter on it reaches the scan (see _is_total_label)
        return ((column < "!") | (column >= low)) & (column < high) & matches
    first = column.left(1)
    return ibis.cases(((first <= " ") | ((first >= low) & (first < high)), matches), else_=False)
