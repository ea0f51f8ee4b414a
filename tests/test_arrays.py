"""Arrow columns to and from numpy without pyarrow importing pandas."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pyarrow as pa
import pytest

from segmint.arrays import column, distinct, distinct_rows, numbers, reordered, rendered


def test_columns_round_trip_with_their_types() -> None:
    assert column(np.array([3, -1], dtype=np.int64)).type == pa.int64()
    assert column(np.array([3, -1], dtype=np.int64)).to_pylist() == [3, -1]
    assert column(np.array([0.1, 2.5])).to_pylist() == [0.1, 2.5]
    assert column(np.array([True, False, True] * 5)).to_pylist() == [True, False, True] * 5  # over a byte of bits
    assert column(["a", "", "Köln €"]).to_pylist() == ["a", "", "Köln €"]  # multi-byte text keeps its offsets
    assert column(np.array(["x", "y"], dtype=object)).type == pa.string()
    assert column([7, 8], pa.int32()).to_pylist() == [7, 8] and column([7, 8], pa.int32()).type == pa.int32()
    with pytest.raises(TypeError, match="no numpy layout"):
        column([1], pa.date32())


def test_numbers_turn_nulls_into_nan_and_reordered_moves_whole_rows() -> None:
    values = numbers(pa.chunked_array([pa.array([1, None]), pa.array([3])], type=pa.int64()))
    assert np.isnan(values[1]) and values[[0, 2]].tolist() == [1.0, 3.0]
    assert numbers(pa.array([True, False])).tolist() == [1.0, 0.0]
    table = pa.table({"id": ["a", "b", "c"], "n": [1, 2, 3], "x": [0.5, 1.5, 2.5]})
    moved = reordered(table, [2, 0, 1])
    assert moved.schema == table.schema
    assert moved.to_pydict() == {"id": ["c", "a", "b"], "n": [3, 1, 2], "x": [2.5, 0.5, 1.5]}


def test_nothing_here_imports_pandas() -> None:
    code = (
        "import sys, numpy as np, pyarrow as pa\n"
        "from segmint.arrays import column, numbers, reordered\n"
        "t = pa.Table.from_arrays([column(np.arange(3)), column(['a', 'b', 'c'])], names=['n', 's'])\n"
        "numbers(t['n']); reordered(t, [1, 0, 2]); column([True], pa.bool_())\n"
        "print('pandas' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_distinct_and_distinct_rows_are_np_unique_without_numpy_ma() -> None:
    cases = [np.array([3, 1, 2, 3, 1]), np.array([2.5, np.nan, -0.0, 0.0, np.nan, 2.5, -1.0]),
             np.array([], dtype=float), np.array([7], dtype=np.uint8), np.array([[2, 1], [1, 2]])]  # fmt: skip
    for values in cases:
        expected = np.unique(values)
        got = distinct(values)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        assert np.array_equal(got, expected, equal_nan=True)
    assert distinct([0.5, 0.25, 0.5]).tolist() == [0.25, 0.5]  # a list, as k-means++ collects centres
    rows = np.array([[1.0, 2.0], [0.0, 2.0], [1.0, 2.0], [-0.0, 2.0], [1.0, 3.0]])
    assert distinct_rows(rows) == len(np.unique(rows, axis=0)) == 3  # -0.0 and 0.0 are one value
    assert distinct_rows(np.empty((0, 3))) == 0
    code = ("import sys, numpy as np\nfrom segmint.arrays import distinct, distinct_rows\n"
            "distinct(np.array([2.0, 1.0, 2.0])); distinct_rows(np.ones((3, 2)))\nprint('numpy.ma' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_rendered_renders_each_value_once_and_keeps_what_sets_values_apart() -> None:
    calls: list[object] = []

    def render(value: object) -> str:
        calls.append(value)
        return repr(value)

    values = [2.5, -0.0, 0.0, 1, 1.0, 2.5, float("nan"), 1, None, 2.5]
    assert rendered(values, render) == [repr(v) for v in values]  # '-0.0' and '0.0', '1' and '1.0' stay apart
    assert calls.count(2.5) == 1 and calls.count(1) == 2  # 2.5 once; 1 once as an int, once as a float
    assert rendered([3, 1, 3], str) == ["3", "1", "3"]
