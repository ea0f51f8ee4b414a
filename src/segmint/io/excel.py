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
from segmint.io.excel_guard import check_workbook
from segmint.schema import ColumnMapping, cell_kind, detect_header_row, detect_mapping

log = logging.getLogger(__name__)

SAMPLE_ROWS = 200
_DATA = {"date", "int", "number"}


def read_excel(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read one sheet (``mapping.sheet`` or the first holding a transaction table) as text columns.

    The workbook is checked against ``ExcelLimits`` first (expansion bombs are refused unparsed); the
    sheet is parsed once and its cells stay in Arrow columns (only the first rows become Python
    values, to find the header).
    """
    import fastexcel

    check_workbook(path)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt/encrypted files
        raise InputError(f"{path.name}: cannot open as an Excel workbook: {_calamine_message(exc)}; "
                         "open it in Excel and save it as .xlsx (or as CSV)",
                         field="file", value=path.name) from exc  # fmt: skip
    sheet, cells = _pick_sheet(path, reader, mapping)
    top = _python_rows(cells.slice(0, SAMPLE_ROWS + 22))
    header = detect_header_row(top[:SAMPLE_ROWS])
    if mapping and mapping.header_row is not None:
        header = mapping.header_row
        top = _python_rows(cells.slice(0, header + 22))
    names, first_data = _header_names(top, header)
    body = cells.slice(first_data)
    data = {name: body.column(i) if i < body.num_columns else pa.nulls(body.num_rows, pa.string())
            for i, name in enumerate(names)}  # fmt: skip
    data[SOURCE_COL] = pa.repeat(pa.scalar(path.name), body.num_rows)
    data[ROW_COL] = pa.array(range(first_data + 1, first_data + 1 + body.num_rows), pa.int64())  # Excel rows
    raw = RawTable(
        table=register_arrow(con, pa.table(data)),
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
    titles = [" ".join(c for c in r if c) for r in top[: max(header, 0)] if any(r)]
    if titles:
        raw.notes.append("title rows above the header: " + " | ".join(titles))
        raw.titles = titles
    return drop_total_and_blank_rows(raw)


def _pick_sheet(path: Path, reader, mapping: ColumnMapping | None) -> tuple[str, pa.Table]:
    """The sheet to read and its cells (each sheet is parsed once)."""
    names = list(reader.sheet_names)
    if not names:
        raise InputError(f"{path.name}: the workbook has no sheets", field="file", value=path.name)
    if mapping and mapping.sheet is not None:
        if isinstance(mapping.sheet, int) or str(mapping.sheet).isdigit():
            index = int(mapping.sheet)
            if 0 <= index < len(names):
                return names[index], _load_cells(path, reader, names[index])
        elif mapping.sheet in names:
            return str(mapping.sheet), _load_cells(path, reader, str(mapping.sheet))
        raise InputError(f"{path.name}: no sheet {mapping.sheet!r}; sheets are: {', '.join(names)}",
                         field="sheet", value=mapping.sheet)  # fmt: skip
    first_with_data: tuple[str, pa.Table] | None = None
    for name in names:
        cells = _load_cells(path, reader, name)
        rows = _python_rows(cells.slice(0, SAMPLE_ROWS))
        if not any(any(c is not None for c in r) for r in rows):
            continue
        first_with_data = first_with_data or (name, cells)
        header = detect_header_row(rows)
        cols, start = _header_names(rows, header)
        sample = {c: [r[i] if i < len(r) else None for r in rows[start:]] for i, c in enumerate(cols)}
        found = detect_mapping(cols, pd.DataFrame(sample, columns=cols)).mapping.fields
        if {"customer_id", "invoice_date"} <= set(found):
            return name, cells
    if first_with_data is None:
        raise InputError(f"{path.name}: every sheet is empty", field="file", value=path.name)
    log.info("%s: no sheet looks like a transaction table; using %r", path, first_with_data[0])
    return first_with_data


def _load_cells(path: Path, reader, sheet: str) -> pa.Table:
    """Every cell of a sheet as trimmed text (blank -> null); row i is spreadsheet row i + 1."""
    import pyarrow.compute as pc

    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string", skip_rows=0)
        table = loaded.to_arrow()
    except Exception as exc:
        raise InputError(f"{path.name}: sheet {sheet!r} cannot be read: {_calamine_message(exc)}",
                         field="sheet", value=sheet) from exc  # fmt: skip
    columns = []
    for column in table.columns:
        text = pc.utf8_trim_whitespace(column.cast(pa.string()))
        columns.append(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text))
    return pa.table(columns, names=[f"c{i}" for i in range(len(columns))])


def _python_rows(cells: pa.Table) -> list[list[str | None]]:
    """A few rows of cells as Python lists (header detection works on these)."""
    columns = [column.to_pylist() for column in cells.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _calamine_message(exc: Exception) -> str:
    """The first line of a calamine error (its 'Context:' lines repeat the path)."""
    return str(exc).split("\n", 1)[0].strip() or type(exc).__name__


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
