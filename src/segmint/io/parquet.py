"""Parquet files via DuckDB ``read_parquet`` (native column types are kept)."""

from __future__ import annotations

from pathlib import Path

import duckdb
from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb
from segmint.errors import InputError
from segmint.io.base import ROW_COL, SOURCE_COL, RawTable, drop_total_and_blank_rows, duckdb_to_con
from segmint.schema import ColumnMapping


def read_parquet(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a Parquet file; ``_row`` is the 1-based row position in the file."""
    try:
        described = raw_duckdb().execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        names = [row[0] for row in described if row[0] not in (SOURCE_COL, ROW_COL)]
        table = duckdb_to_con(
            con,
            "SELECT " + ", ".join('"' + n.replace('"', '""') + '"' for n in names) + " FROM read_parquet(?)",
            source=path.name,
            first_row=1,
            params=[str(path)],
        )
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot read as Parquet: {exc}") from exc
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="parquet")
    return drop_total_and_blank_rows(raw)
