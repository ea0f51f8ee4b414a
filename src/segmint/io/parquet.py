"""Parquet files via DuckDB ``read_parquet`` (native column types are kept)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import ibis
from ibis.backends import BaseBackend

from segmint.engine import raw_duckdb, session_name
from segmint.errors import InputError
from segmint.io.base import (
    ROW_COL,
    SOURCE_COL,
    RawTable,
    drop_total_and_blank_rows,
    duckdb_to_con,
    is_duckdb,
    sql_identifier,
    sql_string,
    temp_name,
)
from segmint.schema import ColumnMapping


def read_parquet(path: Path, *, con: BaseBackend, mapping: ColumnMapping | None = None) -> RawTable:
    """Read a Parquet file; ``_row`` is the 1-based row position in the file."""
    try:
        # the path as a literal: binding a parameter makes DuckDB import pandas; a DuckDB ``con`` describes
        # it itself (a private connection costs about 10 ms to open)
        describer = con.con if is_duckdb(con) else raw_duckdb()
        described = describer.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_string(str(path))})").fetchall()
        names = [row[0] for row in described if row[0] not in (SOURCE_COL, ROW_COL)]
        columns = ", ".join(sql_identifier(n) for n in names)
        if getattr(con, "name", "") == "pyspark":
            table = _spark_parquet(con, path, names)
        elif is_duckdb(con):
            # a view over the file: rows stream from Parquet, nothing is copied into the database
            view = session_name("segmint_raw")
            con.con.execute(
                f'CREATE TEMP VIEW "{view}" AS SELECT {columns}, '
                f'CAST({sql_string(path.name)} AS VARCHAR) AS "{SOURCE_COL}", '
                f'CAST(file_row_number + 1 AS BIGINT) AS "{ROW_COL}" '
                f"FROM read_parquet({sql_string(str(path))}, file_row_number = true)"
            )
            table = con.table(view)
        else:
            table = duckdb_to_con(
                con, f"SELECT {columns} FROM read_parquet({sql_string(str(path))})", source=path.name, first_row=1,
            )  # fmt: skip
    except duckdb.Error as exc:
        raise InputError(f"{path.name}: cannot read as Parquet: {exc}") from exc
    raw = RawTable(table=table, source=path.name, columns=names, header_row=None, format="parquet")
    return drop_total_and_blank_rows(raw)


def _spark_parquet(con: BaseBackend, path: Path, names: list[str]) -> ibis.Table:
    """Let Spark read the file itself (nothing passes through Python).

    Spark has no file row number: ``_row`` is Spark's unique, increasing row id (1-based within the
    first partition), so example rows in reports are identified but not numbered like the file.
    """
    from pyspark.sql import functions as F

    frame = con._session.read.parquet(str(path)).select(*[F.col(f"`{n}`") for n in names])
    frame = frame.withColumn(SOURCE_COL, F.lit(path.name)).withColumn(
        ROW_COL, (F.monotonically_increasing_id() + 1).cast("bigint")
    )
    view = temp_name()
    frame.createOrReplaceTempView(view)
    return con.table(view)
