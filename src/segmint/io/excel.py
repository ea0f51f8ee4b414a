"""Excel workbooks (.xlsx/.xls/.xlsb/.ods) via fastexcel (calamine), report layouts included.

Business exports put a company name, report title and period above the header, split headers over
two merged rows and end with total lines. The reader finds the header, merges two-line headers, keeps
every value as text and drops blank and total rows, counting them in ``RawTable.skipped``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pyarrow as pa
from ibis.backends import BaseBackend

from segmint.errors import InputError
from segmint.io.base import (
    ROW_COL,
    SOURCE_COL,
    RawTable,
    drop_total_and_blank_rows,
    register_arrow,
    unique_names,
)
from segmint.schema import ColumnMapping, cell_kind, detect_header_row, detect_mapping

log = logging.getLogger(__name__)

SAMPLE_ROWS = 200
_DATA = {"date", "int", "number"}


def read_excel(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read one sheet (``mapping.sheet`` or the first holding a transaction table) as text columns."""
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt/encrypted files
        raise InputError(f"{path}: cannot open as an Excel workbook: {exc}") from exc
    sheet = _pick_sheet(path, reader, mapping)
    rows = _load_rows(reader, sheet)
    header = detect_header_row(rows[:SAMPLE_ROWS])
    if mapping and mapping.header_row is not None:
        header = mapping.header_row
    names, first_data = _header_names(rows, header)
    body = rows[first_data:]
    columns = {name: [r[i] if i < len(r) else None for r in body] for i, name in enumerate(names)}
    columns[SOURCE_COL] = [path.name] * len(body)
    columns[ROW_COL] = list(range(first_data + 1, first_data + 1 + len(body)))  # Excel row numbers
    data = pa.table(
        {k: pa.array(v, type=pa.int64() if k == ROW_COL else pa.string()) for k, v in columns.items()}
    )
    raw = RawTable(
        table=register_arrow(con, data),
        source=path.name,
        columns=names,
        header_row=header if header >= 0 else None,
        format="excel",
        sheet=str(sheet),
    )
    raw.notes.append(
        f"sheet {sheet!r}, "
        + (f"header on row {header + 1}" if header >= 0 else "no header row (columns column_1..n)")
        + (f" merged with row {header + 2}" if first_data == header + 2 else "")
    )
    titles = [" ".join(c for c in r if c) for r in rows[: max(header, 0)] if any(r)]
    if titles:
        raw.notes.append("title rows above the header: " + " | ".join(titles))
    return drop_total_and_blank_rows(raw)


def _pick_sheet(path: Path, reader, mapping: ColumnMapping | None) -> str:
    names = list(reader.sheet_names)
    if not names:
        raise InputError(f"{path}: the workbook has no sheets")
    if mapping and mapping.sheet is not None:
        if isinstance(mapping.sheet, int) or str(mapping.sheet).isdigit():
            index = int(mapping.sheet)
            if 0 <= index < len(names):
                return names[index]
        elif mapping.sheet in names:
            return str(mapping.sheet)
        raise InputError(f"{path}: no sheet {mapping.sheet!r}; sheets are: {', '.join(names)}")
    first_with_data = None
    for name in names:
        rows = _load_rows(reader, name, SAMPLE_ROWS)
        if not any(any(c is not None for c in r) for r in rows):
            continue
        first_with_data = first_with_data or name
        header = detect_header_row(rows)
        cols, start = _header_names(rows, header)
        sample = {c: [r[i] if i < len(r) else None for r in rows[start:]] for i, c in enumerate(cols)}
        found = detect_mapping(cols, pd.DataFrame(sample, columns=cols)).mapping.fields
        if {"customer_id", "invoice_date"} <= set(found):
            return name
    if first_with_data is None:
        raise InputError(f"{path}: every sheet is empty")
    log.info("%s: no sheet looks like a transaction table; using %r", path, first_with_data)
    return first_with_data


def _load_rows(reader, sheet: str, n_rows: int | None = None) -> list[list[str | None]]:
    """Rows of a sheet as lists of text cells; index i is spreadsheet row i + 1."""
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string", skip_rows=0, n_rows=n_rows)
        columns = loaded.to_arrow().to_pydict()
    except Exception as exc:
        raise InputError(f"sheet {sheet!r}: cannot read: {exc}") from exc
    cells = list(columns.values())
    if not cells:
        return []
    return [[_text(col[i]) for col in cells] for i in range(len(cells[0]))]


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _header_names(rows: list[list[str | None]], header: int) -> tuple[list[str], int]:
    """Column names and the index of the first data row; merges a second header line when present."""
    width = max((len(r) for r in rows), default=0)
    if header < 0:
        start = next((i for i, r in enumerate(rows) if any(c is not None for c in r)), 0)
        return unique_names([None] * width), start
    top = list(rows[header]) + [None] * (width - len(rows[header]))
    below = rows[header + 1] if header + 1 < len(rows) else []
    if _is_second_header(below, rows[header + 2 : header + 22]):
        bottom = list(below) + [None] * (width - len(below))
        merged, group = [], None
        for upper, lower in zip(top, bottom, strict=True):
            if upper is not None:
                group = upper if lower is not None else None
            label = upper if upper is not None else (group if lower is not None else None)
            merged.append(" ".join(p for p in (label, lower) if p) or None)
        return unique_names(merged), header + 2
    return unique_names(top), header + 1


def _is_second_header(row: list[str | None], data: list[list[str | None]]) -> bool:
    """A text-only row right under the header, above columns whose values are numbers or dates."""
    cells = [(i, c) for i, c in enumerate(row) if c is not None]
    if len(cells) < 2 or any(cell_kind(c) != "text" for _, c in cells):
        return False
    for i, _ in cells:
        values = [r[i] for r in data if i < len(r) and r[i] is not None]
        if values and sum(cell_kind(v) in _DATA for v in values) * 2 > len(values):
            return True
    return False
