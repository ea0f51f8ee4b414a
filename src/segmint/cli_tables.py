"""Tables that fit the terminal: a number is never cut, a column that does not fit is left out and named.

Rich shrinks a table wider than the console by cutting cells ("1,71…" for a revenue of 1,715,789.21).
Here every column is at least as wide as its widest value (and its header's longest word: headers wrap
at spaces); when that is wider than the console, the columns marked least needed are left out, last
first, and a caption names them. Text columns marked ``wrap`` take what width is left and wrap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.table import Table


@dataclass(frozen=True)
class Column:
    """A printed column: ``drop`` orders what goes first on a narrow terminal (1 first; 0 never goes);
    ``wrap``: long text that may wrap onto several lines (its minimum is ``wrap_width``)."""

    name: str
    justify: Literal["left", "right"] = "right"
    drop: int = 0
    wrap: bool = False
    wrap_width: int = 16


def _need(column: Column, cells: Sequence[str]) -> int:
    header = max((len(word) for word in column.name.split()), default=0)
    widest = max((len(cell) for cell in cells), default=0)
    return max(header, min(widest, column.wrap_width) if column.wrap else widest)


def fitted_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]], *, width: int,
                 elsewhere: str = "") -> Table:  # fmt: skip
    """A Rich table of ``rows`` (cell texts, already formatted) no wider than ``width`` (the console's).

    ``elsewhere`` says where the left-out columns can be seen (e.g. "--out writes them").
    """
    need = {c.name: _need(c, [row[i] for row in rows]) for i, c in enumerate(columns)}
    kept = list(columns)
    for column in sorted((c for c in columns if c.drop), key=lambda c: c.drop):
        if sum(need[c.name] for c in kept) + 3 * len(kept) + 1 <= width:
            break
        kept.remove(column)
    left_out = [c.name for c in columns if c not in kept]
    caption = ""
    if left_out:
        caption = f"left out at {width} columns: {', '.join(left_out)}" + (f"; {elsewhere}" if elsewhere else "")
    table = Table(title=title, title_justify="left", caption=caption or None, caption_justify="left")
    sizes = _widths(kept, need, {c.name: max((len(row[columns.index(c)]) for row in rows), default=0)
                                      for c in kept if c.wrap}, width)  # fmt: skip
    for column in kept:  # fixed widths: Rich wraps a header in its column, and never cuts a value
        table.add_column(column.name, justify=column.justify, overflow="fold", width=sizes[column.name])
    index = [columns.index(c) for c in kept]
    for row in rows:
        table.add_row(*(row[i] for i in index))
    return table


def _widths(kept: Sequence[Column], need: dict[str, int], natural: dict[str, int], width: int) -> dict[str, int]:
    """Every column's width: its need; the room left over goes first to headers (each on one line, when all
    fit), then to the wrapping columns in proportion to what they lack of their widest cell (Rich's own
    shrinking overshot the console by a column or two)."""
    sizes = {c.name: need[c.name] for c in kept}
    room = width - sum(sizes.values()) - 3 * len(kept) - 1
    headers = {c.name: max(len(c.name) - sizes[c.name], 0) for c in kept}
    if 0 < sum(headers.values()) <= room:  # room for every header on one line: take it first
        for name, more in headers.items():
            sizes[name] += more
        room -= sum(headers.values())
    lacking = {name: max(natural[name] - sizes[name], 0) for name in natural}
    total = sum(lacking.values())
    for name, short in lacking.items():
        if room > 0 and total:
            sizes[name] += min(short, room * short // total)
    return sizes
