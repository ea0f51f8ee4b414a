"""Arrow columns to numpy and numpy/lists to Arrow columns without pyarrow importing pandas.

pyarrow probes for pandas (and imports it, about 0.3 CPU s) in ``pa.array(...)``, ``Array.to_numpy()``
and ``Table.to_pylist()``, even for plain numbers. The schemes that label customers in Python
(value, tiers, clusters) read and write their few columns through these two functions instead, so
``segmint analyze`` runs every scheme without pandas. Arrays are built from their buffers, which is
what ``pa.array`` does for these types.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa

__all__ = ["column", "distinct", "distinct_rows", "numbers", "reordered", "rendered"]


def numbers(values: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A numeric or boolean Arrow column as a float64 array, NaN where it is NULL."""
    listed = values.to_pylist()
    return np.array([np.nan if v is None else v for v in listed], dtype=float)


def column(values: Sequence | np.ndarray, kind: pa.DataType | None = None) -> pa.Array:
    """``values`` (no NULLs) as an Arrow array: strings, booleans, integers or floats of ``kind``
    (default: from ``values``: a list or object array is text, numpy numbers keep their type)."""
    if kind is None:
        array = np.asarray(values) if isinstance(values, np.ndarray) else None
        kind = (pa.string() if array is None or array.dtype == object else pa.bool_() if array.dtype == bool
                else pa.int64() if array.dtype.kind in "iu" else pa.float64())  # fmt: skip
    if pa.types.is_string(kind):
        encoded = [str(v).encode() for v in values]
        offsets = np.zeros(len(encoded) + 1, dtype=np.int32)
        np.cumsum([len(e) for e in encoded], out=offsets[1:])
        return pa.Array.from_buffers(kind, len(encoded), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])
    if pa.types.is_boolean(kind):
        bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
        return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(bits)])
    if pa.types.is_integer(kind):
        dtype = np.dtype(f"{'i' if pa.types.is_signed_integer(kind) else 'u'}{kind.bit_width // 8}")
    elif pa.types.is_floating(kind) and kind.bit_width in (32, 64):
        dtype = np.dtype(f"f{kind.bit_width // 8}")
    else:
        raise TypeError(f"no numpy layout for Arrow type {kind}")
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(np.ascontiguousarray(values, dtype=dtype))])


def reordered(table: pa.Table, order: Sequence[int]) -> pa.Table:
    """``table``'s rows in ``order`` (``Table.take``, without its pandas probe); columns without NULLs."""
    arrays = []
    for name in table.column_names:
        values = table[name].to_pylist()
        arrays.append(column([values[i] for i in order], table[name].type))
    return pa.Table.from_arrays(arrays, names=table.column_names)


def distinct(values: Sequence | np.ndarray) -> np.ndarray:
    """``np.unique(values)``: the sorted distinct values (NaNs as one), without the masked-array test
    ``np.unique`` makes when asked for values alone, which imports ``numpy.ma`` (10-20 ms) for the
    schemes' few clusters."""
    ordered = np.sort(np.asarray(values).ravel())
    keep = np.empty(len(ordered), dtype=bool)
    if len(ordered):
        keep[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
        if ordered.dtype.kind in "fc" and np.isnan(ordered[-1]):  # NaNs sort last: keep the first
            keep[int(np.argmax(np.isnan(ordered))) + 1 :] = False
    return ordered[keep]


def distinct_rows(values: np.ndarray) -> int:
    """``len(np.unique(values, axis=0))``: how many different rows (compared value by value) ``values`` has."""
    if len(values) == 0:
        return 0
    ordered = values[np.lexsort(values.T[::-1])]
    return 1 + int(np.count_nonzero((ordered[1:] != ordered[:-1]).any(axis=1)))


def rendered(values: Sequence, render: Callable[[object], str]) -> list[str]:
    """``[render(v) for v in values]``, each value rendered once: many customers share a day count, a visit
    count or an amount (CDNOW: 10,077 amounts for 23,502 customers). Ints and floats are looked up by
    value, each type on its own (1 and 1.0 may read differently); a float zero is rendered each time
    (0.0 and -0.0 are one key but two texts), as is anything else (a NaN is never found again)."""
    if all(type(v) is int for v in values):  # days, visits: one dict of the distinct values
        texts = {v: render(v) for v in set(values)}
        return [texts[v] for v in values]
    ints: dict[int, str] = {}
    floats: dict[float, str] = {}
    out = []
    for value in values:
        kind = type(value)
        texts = ints if kind is int else floats if kind is float and value != 0 else None
        if texts is None:
            out.append(render(value))
            continue
        text = texts.get(value)
        if text is None:
            text = texts[value] = render(value)
        out.append(text)
    return out
