"""Small query results (a sample, a few counts, a summary) as plain Python values, without Arrow on DuckDB.

Ibis hands results over as Arrow tables; importing pyarrow (and numpy with it) was about a tenth of a
small ``segmint analyze``, whose every other result goes from DuckDB to disk by ``COPY``. On DuckDB the
rows come from the engine's cursor when every column is of a type the cursor returns as Arrow's
``as_py`` would (integers, floats, text, booleans, dates, timestamps in microseconds without a zone,
decimals)
and DuckDB's result types are the ones Ibis' schema names; anything else, and every other engine,
goes through Arrow as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["Columns", "columns", "rows"]

# DuckDB result types the cursor returns as the Python values Arrow would, per Ibis type family
_INTEGERS = frozenset(
    ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")
)


def _cursor_types(dtype: dt.DataType) -> frozenset[str] | tuple[str, ...]:
    """The DuckDB result types whose cursor values equal Arrow's for a column Ibis types ``dtype``."""
    if dtype.is_integer():
        return _INTEGERS
    if dtype.is_floating():
        return ("DOUBLE", "FLOAT")
    if dtype.is_string():
        return ("VARCHAR",)
    if dtype.is_boolean():
        return ("BOOLEAN",)
    if dtype.is_date():
        return ("DATE",)
    if dtype.is_timestamp() and dtype.timezone is None and (dtype.scale is None or dtype.scale == 6):
        return ("TIMESTAMP",)
    if dtype.is_decimal() and dtype.precision is not None and dtype.scale is not None:
        return (f"DECIMAL({dtype.precision},{dtype.scale})",)  # Decimal values of the same digits and exponent
    return ()


def _from_cursor(table: ibis.Table) -> tuple[list[str], list[tuple]] | None:
    """(column names, rows) of ``table`` from DuckDB's cursor; None when Arrow must give them."""
    con = table._find_backend(use_default=True)
    if getattr(con, "name", "") != "duckdb":
        return None
    schema = table.schema()
    expected = [_cursor_types(dtype) for dtype in schema.types]
    if not all(expected):
        return None
    from segmint.engine import out_of_memory_error

    con._run_pre_execute_hooks(table)  # registers in-memory tables (pandas/Arrow) the query names
    try:
        cursor = con.con.execute(con.compile(table))
        if any(str(d[1]) not in types for d, types in zip(cursor.description, expected, strict=True)):
            return None  # DuckDB typed a column otherwise (a DECIMAL Ibis calls float64): Arrow casts it
        return list(schema.names), cursor.fetchall()
    except Exception as exc:
        error = out_of_memory_error(exc, con)
        if error is None:
            raise
        raise error from exc


def rows(table: ibis.Table) -> list[dict[str, Any]]:
    """Every row of ``table`` as ``{column: Python value}`` (Arrow's ``to_pylist()``), for small results."""
    found = _from_cursor(table)
    if found is None:
        from segmint.util import arrow_result

        return arrow_result(table).to_pylist()
    names, values = found
    return [dict(zip(names, row, strict=True)) for row in values]


def columns(table: ibis.Table) -> dict[str, list[Any]]:
    """Every column of ``table`` as ``{column: [Python values]}`` (Arrow's ``to_pydict()``), for small results."""
    found = _from_cursor(table)
    if found is None:
        from segmint.util import arrow_result

        return arrow_result(table).to_pydict()
    names, values = found
    if not values:
        return {name: [] for name in names}
    return {name: list(column) for name, column in zip(names, zip(*values, strict=True), strict=True)}


@dataclass(frozen=True)
class Columns:
    """A small table as Python lists per column with their Ibis types (a KPI summary): what the CLI
    prints and writes as CSV, turned into Arrow (``to_arrow``) or pandas only when asked."""

    schema: ibis.Schema
    values: dict[str, list[Any]]

    @property
    def column_names(self) -> list[str]:
        return list(self.schema.names)

    @property
    def num_rows(self) -> int:
        return len(next(iter(self.values.values()), ()))

    @property
    def num_columns(self) -> int:
        return len(self.schema)

    def to_pylist(self) -> list[dict[str, Any]]:
        """One ``{column: value}`` per row, as Arrow's ``Table.to_pylist``."""
        names = self.column_names
        return [dict(zip(names, row, strict=True)) for row in zip(*(self.values[n] for n in names), strict=True)]

    def to_arrow(self) -> pa.Table:
        """The Arrow table of these columns, typed by the schema (columns without NULLs built from their
        buffers: ``pa.array`` of a Python list imports pandas)."""
        import pyarrow as pa

        from segmint.arrays import column

        arrays = []
        for name, dtype in self.schema.items():
            kind, values = dtype.to_pyarrow(), self.values[name]
            plain = None not in values and (
                pa.types.is_string(kind) or pa.types.is_boolean(kind) or pa.types.is_integer(kind)
                or (pa.types.is_floating(kind) and kind.bit_width in (32, 64))
            )  # fmt: skip
            arrays.append(column(values, kind) if plain else pa.array(values, kind))
        return pa.Table.from_arrays(arrays, names=self.column_names)

    def to_pandas(self) -> pd.DataFrame:
        return self.to_arrow().to_pandas()
