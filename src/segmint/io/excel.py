"""Excel workbooks (.xlsx/.xls/.xlsb/.ods) via fastexcel (calamine), report layouts included.

Business exports put a company name, report title and period above the header, split headers over
two merged rows and end with total lines. The reader finds the header, merges two-line headers, keeps
every value as text and drops blank and total rows, counting them in ``RawTable.skipped``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import ibis
import pyarrow as pa
from ibis.backends import BaseBackend

from segmint.errors import InputError
from segmint.io.base import (
    ROW_COL,
    SOURCE_COL,
    RawTable,
    drop_total_and_blank_rows,
    is_duckdb,
    register_arrow,
    repeated_headers,
    sql_identifier,
    sql_string,
    unique_names,
)
from segmint.io.excel_guard import check_workbook
from segmint.io.header_rows import header_key as _key
from segmint.io.header_rows import header_lines, merged_header
from segmint.schema import ColumnMapping, detect_header_row, detect_mapping

log = logging.getLogger(__name__)

SAMPLE_ROWS = 200


def read_excel(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read every transaction sheet of a workbook as one table of text columns (``mapping.sheet``: that one).

    The first sheet holding a transaction table (customer and date columns) sets the columns; every
    other sheet with the same column names is read too (a log split by year, as Online Retail II is),
    each row keeping its sheet in ``_source`` (``book.xlsx [2010]``) when more than one is read. The
    sheets left out and why are in ``RawTable.sheets``. The workbook is checked against ``ExcelLimits``
    first (expansion bombs are refused unparsed); each sheet is parsed once and its cells stay in Arrow
    columns (only the first rows become Python values, to find the header).
    """
    import fastexcel

    check_workbook(path)
    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # calamine raises its own error types for corrupt/encrypted files
        raise InputError(f"{path.name}: cannot open as an Excel workbook: {_calamine_message(exc)}; "
                         "open it in Excel and save it as .xlsx (or as CSV)",
                         field="file", value=path.name) from exc  # fmt: skip
    header = mapping.header_row if mapping else None
    names = list(reader.sheet_names)
    if not names:
        raise InputError(f"{path.name}: the workbook has no sheets", field="file", value=path.name)
    if mapping and mapping.sheet is not None:
        name = _named_sheet(path, names, mapping.sheet)
        sheets, seen = [_Sheet.of(name, _load_cells(path, reader, name), header)], []
        if sheets[0].is_empty():
            raise InputError(f"{path.name}: sheet {name!r} is empty; sheets are: {', '.join(names)}",
                             field="sheet", value=mapping.sheet)  # fmt: skip
    else:
        sheets, seen = _transaction_sheets(path, reader, names, header)
    first = sheets[0]
    keys = [_key(c) for c in first.names]
    parts, spans = [], []
    for sheet in sheets:
        where = {_key(c): i for i, c in enumerate(sheet.names)}
        body = sheet.body
        data = {name: body.column(where[key]) if where.get(key, body.num_columns) < body.num_columns
                else pa.nulls(body.num_rows, pa.string()) for name, key in zip(first.names, keys, strict=True)}  # fmt: skip
        parts.append(pa.table(data))
        label = path.name if len(sheets) == 1 else f"{path.name} [{sheet.name}]"
        spans.append(_Span(label, sheet.first_data + 1, body.num_rows))
    raw = RawTable(
        table=_store(con, pa.concat_tables(parts) if len(parts) > 1 else parts[0], spans),
        source=path.name,
        columns=first.names,
        header_row=first.header if first.header >= 0 and all(s.header == first.header for s in sheets) else None,
        format="excel",
        sheet=first.name if len(sheets) == 1 else None,
        sheets=seen,
    )
    for sheet in sheets:
        raw.notes.append(
            f"sheet {sheet.name!r}, "
            + (f"header on row {sheet.header + 1}" if sheet.header >= 0 else "no header row (columns column_1..n)")
            + (f" merged with row {sheet.header + 2}" if sheet.first_data == sheet.header + 2 else "")
        )
    raw.notes += [f"sheet {s['name']!r} not read: {s['why']}" for s in seen if not s["read"]]
    raw.report_notes += first.repeats
    if first.header >= 0:  # the header's lines, each dropped where it repeats (pages joined together)
        raw.header_cells = list(first.top[first.header])
        raw.header_cells_below = [list(r) for r in first.top[first.header + 1 : first.first_data]]
    titles = [" ".join(c for c in r if c) for r in first.top[: max(first.header, 0)] if any(r)]
    if titles:
        raw.notes.append("title rows above the header: " + " | ".join(titles))
        raw.titles = titles
    return drop_total_and_blank_rows(raw)


@dataclass
class _Sheet:
    """One sheet's table: its header (row index, -1 = none), column names and the cells below them."""

    name: str
    cells: pa.Table  # every cell; row i is spreadsheet row i + 1
    top: list[list[str | None]]  # the first rows as Python values (header detection reads these)
    header: int
    names: list[str]
    first_data: int
    repeats: list[str] = field(default_factory=list)  # notes on header cells that repeat

    @classmethod
    def of(cls, name: str, cells: pa.Table, header: int | None = None) -> _Sheet:
        """The table of a sheet's cells; ``header``: the header row index when the mapping gives one."""
        top = _python_rows(cells.slice(0, SAMPLE_ROWS + 22))
        if not any(any(c is not None for c in r) for r in top):
            return cls(name, cells, top, -1, [], 0)  # an empty sheet
        if header is None:
            header = detect_header_row(top[:SAMPLE_ROWS])
        else:
            top = _python_rows(cells.slice(0, header + 22))
        names, first_data, repeats = _header_names(top, header)
        return cls(name, cells, top, header, names, first_data, repeats)

    @property
    def body(self) -> pa.Table:
        """The cells below the header."""
        return self.cells.slice(self.first_data)

    def is_empty(self) -> bool:
        return not self.names

    def is_transactions(self) -> bool:
        """Detection finds a customer and a date column in its first rows."""
        rows = self.top[self.first_data : SAMPLE_ROWS]
        sample = {c: [r[i] if i < len(r) else None for r in rows] for i, c in enumerate(self.names)}
        found = detect_mapping(self.names, sample).mapping.fields
        return {"customer_id", "invoice_date"} <= set(found)


def _transaction_sheets(
    path: Path, reader, names: list[str], header: int | None
) -> tuple[list[_Sheet], list[dict[str, Any]]]:
    """The sheets to read (the first transaction sheet and those with its columns) and, when the
    workbook has more than one sheet, what became of each (name, rows, read, why)."""
    sheets: list[_Sheet] = []
    seen: list[dict[str, Any]] = []
    first_with_data: _Sheet | None = None
    for name in names:
        sheet = _Sheet.of(name, _load_cells(path, reader, name))
        if sheet.is_empty():
            seen.append({"name": name, "rows": 0, "read": False, "why": "empty"})
            continue
        first_with_data = first_with_data or sheet
        # columns without a header cell (a stray note beside the table) do not make another table
        missing = [c for c in _named(sheets[0]) if _key(c) not in {_key(n) for n in sheet.names}] if sheets else []
        extra = [c for c in _named(sheet) if _key(c) not in {_key(n) for n in sheets[0].names}] if sheets else []
        why = ""
        if (not sheets or missing or extra) and not sheet.is_transactions():
            why = "not a transaction table (no customer and date columns found)"
        elif missing or extra:
            why = (f"its columns differ from those of sheet {sheets[0].name!r}"
                   + (f"; it lacks {', '.join(map(repr, missing[:5]))}" if missing else "")
                   + (f"; it has {', '.join(map(repr, extra[:5]))}" if extra else ""))  # fmt: skip
        if why:  # rows: every row up to its last cell, header included
            seen.append({"name": name, "rows": sheet.cells.num_rows, "read": False, "why": why})
            continue
        if header is not None:
            sheet = _Sheet.of(name, sheet.cells, header)
        sheets.append(sheet)
        seen.append({"name": name, "rows": sheet.body.num_rows, "read": True, "why": ""})
    if not sheets:
        if first_with_data is None:
            raise InputError(f"{path.name}: every sheet is empty", field="file", value=path.name)
        log.info("%s: no sheet looks like a transaction table; using %r", path, first_with_data.name)
        sheet = first_with_data if header is None else _Sheet.of(first_with_data.name, first_with_data.cells, header)
        sheets = [sheet]
        seen = [dict(s, read=True, why="", rows=sheet.body.num_rows) if s["name"] == sheet.name else s for s in seen]
    return sheets, seen if len(names) > 1 else []


def _named_sheet(path: Path, names: list[str], wanted: str | int) -> str:
    """The sheet a mapping names (by name, or by 0-based position)."""
    if isinstance(wanted, int) or str(wanted).isdigit():
        if 0 <= int(wanted) < len(names):
            return names[int(wanted)]
    elif wanted in names:
        return str(wanted)
    raise InputError(f"{path.name}: no sheet {wanted!r}; sheets are: {', '.join(names)}",
                     field="sheet", value=wanted)  # fmt: skip


def _named(sheet: _Sheet) -> list[str]:
    """The sheet's column names that come from its header (not ``column_<position>`` for a blank cell)."""
    return [c for i, c in enumerate(sheet.names, start=1) if c != f"column_{i}"]


def _load_cells(path: Path, reader, sheet: str) -> pa.Table:
    """Every cell of a sheet as text, untrimmed (:func:`_store` trims them); row i is spreadsheet row i + 1."""
    try:
        loaded = reader.load_sheet(sheet, header_row=None, dtypes="string", skip_rows=0)
        table = loaded.to_arrow()
    except Exception as exc:
        raise InputError(f"{path.name}: sheet {sheet!r} cannot be read: {_calamine_message(exc)}",
                         field="sheet", value=sheet) from exc  # fmt: skip
    columns = [c if pa.types.is_string(c.type) else c.cast(pa.string()) for c in table.columns]
    return pa.table(columns, names=[f"c{i}" for i in range(len(columns))])


class _Span(NamedTuple):
    """The rows of one sheet in the stacked table: its ``_source`` label, first ``_row``, row count."""

    label: str
    first_row: int
    rows: int


def _store(con: BaseBackend, table: pa.Table, spans: list[_Span]) -> ibis.Table:
    """``table`` (text columns, sheet after sheet) in ``con``, trimmed of white space (``str.strip``'s set),
    blank -> NULL, with each row's ``_source`` and ``_row`` from ``spans``.

    Arrow trims (a kernel call on Arrow data). Any Python value made into Arrow data (a scalar ``""``, a
    ``range`` of row numbers) imports pandas, about 0.4 CPU s, and so do DuckDB's scans of Python objects:
    on DuckDB the rows go through a temporary Parquet file, and blanks, ``_source`` and ``_row`` are made
    in the one pass that stores them. (DuckDB's own ``trim`` with that character set cost 1.6 CPU s at
    541,909 lines x 8 columns; Arrow's about 0.2.)
    """
    import pyarrow.compute as pc

    columns = table.column_names
    for i, name in enumerate(columns):
        table = table.set_column(i, name, pc.utf8_trim_whitespace(table[name]))
    if not is_duckdb(con):
        for i, name in enumerate(columns):
            text = table[name]
            blank = pc.equal(pc.utf8_length(text), pa.scalar(0, pa.int32()))
            table = table.set_column(i, name, pc.if_else(blank, pa.scalar(None, pa.string()), text))
        table = table.append_column(SOURCE_COL, pa.array([s.label for s in spans for _ in range(s.rows)], pa.string()))
        rows = [s.first_row + i for s in spans for i in range(s.rows)]
        return register_arrow(con, table.append_column(ROW_COL, pa.array(rows, pa.int64())))
    import pyarrow.parquet as pq

    from segmint.engine import session_name, spool_file

    label, row, start = "CASE", "CASE", 0  # the sheet of file row n: the span whose rows hold n
    for span in spans:  # (no query parameters: DuckDB's conversion of Python values imports pandas)
        start += span.rows
        label += f" WHEN file_row_number < {start} THEN {sql_string(span.label)}"
        row += f" WHEN file_row_number < {start} THEN file_row_number + {span.first_row - start + span.rows}"
    values = [f"nullif({sql_identifier(c)}, '') AS {sql_identifier(c)}" for c in columns]
    values += [f"{label} END AS {SOURCE_COL}", f"CAST({row} END AS BIGINT) AS {ROW_COL}"]
    name, path = session_name("segmint_raw"), spool_file(con)
    try:
        pq.write_table(table, path, compression="none")
        con.con.execute(f"CREATE TEMPORARY TABLE {sql_identifier(name)} AS SELECT {', '.join(values)} "
                        f"FROM read_parquet({sql_string(str(path))}, file_row_number = true)")  # fmt: skip
    finally:
        path.unlink(missing_ok=True)
    return con.table(name)


def _python_rows(cells: pa.Table) -> list[list[str | None]]:
    """A few rows of cells as trimmed Python strings (None for blank); header detection works on these."""
    columns = [[v.strip() or None if v is not None else None for v in column.to_pylist()] for column in cells.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def _calamine_message(exc: Exception) -> str:
    """The first line of a calamine error (its 'Context:' lines repeat the path)."""
    return str(exc).split("\n", 1)[0].strip() or type(exc).__name__


def _header_names(rows: list[list[str | None]], header: int) -> tuple[list[str], int, list[str]]:
    """Column names, the index of the first data row and notes on repeated headers; merges a second
    header line when present."""
    if header < 0:
        width = max((len(r) for r in rows), default=0)
        start = next((i for i, r in enumerate(rows) if any(c is not None for c in r)), 0)
        return unique_names([None] * width), start, []
    lines = header_lines(rows, header)
    cells = merged_header(*lines) if len(lines) == 2 else lines[0]
    return unique_names(cells), header + len(lines), repeated_headers(cells)
