"""Small pandas frames as Ibis in-memory tables named by their content, so the SQL that reads them is cached.

Ibis names a memtable at random, and its SQL names the table, so :mod:`segmint.sql_cache` cannot keep
the SQL of a query that reads one: the story's two largest queries (its stored rows and its text
table, read with the periods and the R/F/M cuts) were compiled again at every run. A name derived from
the frame's columns, types and values is the same at every run and never names other data; the same
frame gives the same table, so an expression that reads it twice holds one table (Ibis refuses two
in-memory tables of one name).
"""

from __future__ import annotations

import hashlib
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd
    import pyarrow as pa

__all__ = ["CONTENT_PREFIX", "frame_table"]

CONTENT_PREFIX = "segmint_frame_"
MAX_ROWS = 100_000  # larger frames get Ibis' own random name: hashing them would cost more than compiling
_TABLES: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()  # name -> its op, while in use


def frame_table(frame: pd.DataFrame | pa.Table) -> ir.Table:
    """``ibis.memtable(frame)`` (pandas or Arrow), named by the frame's content when it is small."""
    import ibis

    if len(frame) > MAX_ROWS:
        return ibis.memtable(frame)
    name = CONTENT_PREFIX + _digest(frame)
    op = _TABLES.get(name)
    if op is None:
        op = ibis.memtable(frame).op().copy(name=name)  # Ibis' own table, under the content's name
        _TABLES[name] = op
    return op.to_expr()


def _digest(frame: pd.DataFrame | pa.Table) -> str:
    """A hash of the column names, types and values (row order included; a pandas index left out)."""
    digest = hashlib.sha256(f"{len(frame)}".encode())
    if hasattr(frame, "column_names"):  # Arrow: nulls as None, not as a value a column may hold
        columns = [(name, column.type, column.to_pylist()) for name, column in zip(frame.column_names, frame.columns)]
    else:
        columns = [(name, column.dtype, column.to_numpy()) for name, column in frame.items()]
    for name, kind, values in columns:
        digest.update(f"\x1e{name!r}\x1f{kind}\x1f".encode())
        numbers = getattr(values, "dtype", None) is not None and values.dtype.kind in "biufcmM"
        digest.update(values.tobytes() if numbers else repr(list(values)).encode())
    return digest.hexdigest()[:40]
