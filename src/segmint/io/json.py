"""JSON arrays and JSON lines via DuckDB; scalars become text, nested values JSON text."""

from __future__ import annotations

from pathlib import Path

import duckdb
from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io.base import RawTable, drop_total_and_blank_rows, duckdb_to_con, sql_identifier, sql_string
from segmint.schema import ColumnMapping


def read_json(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a JSON array of records or JSON lines; ``_row`` is the record number (line in JSONL)."""
    source = "read_json(?, format='auto', sample_size=-1)"
    try:
        described = raw_duckdb().execute(f"DESCRIBE SELECT * FROM {source}", [str(path)]).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: not valid JSON records (an array of objects or JSON lines): {exc}") from exc
    names = [row[0] for row in described]
    if not names or names == ["json"]:
        raise InputError(f"{path.name}: expected JSON objects (records), found plain values")
    # Reading every field as JSON keeps numbers exactly as written ('3', not '3.0').
    columns = "{" + ", ".join(f"{sql_string(n)}: 'JSON'" for n in names) + "}"
    source = f"read_json(?, format='auto', columns={columns})"
    select = ", ".join(f"({sql_identifier(n)} ->> '$') AS {sql_identifier(n)}" for n in names)
    try:
        table = duckdb_to_con(con, f"SELECT {select} FROM {source}", source=path.name, first_row=1, params=[str(path)])
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot read JSON: {exc}") from exc
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="json")
    return drop_total_and_blank_rows(raw)
