"""Excel expansion checks: exact limits, columns by letters, settings from the environment."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from segmint.errors import InputError
from segmint.io.excel_guard import ExcelLimits, _scan_extent, check_workbook

sys.path.insert(0, str(Path(__file__).parents[1] / "fixtures" / "hostile"))
import _generate  # noqa: E402


def test_column_letters():
    columns = [_scan_extent(f'<c r="{c}1"/>'.encode()).max_column for c in ("A", "Z", "AA", "AZ", "BA", "XFD")]
    assert columns == [1, 26, 27, 52, 53, 16384]


def test_references_however_the_xml_spells_them():
    """Quotes, white space and prefixes a parser accepts cannot hide a far cell from the scan."""
    spelled = [
        b'<row r="7"><c r="B3"><v>1</v></c></row>',  # row 7 from the row element, column B
        b"<row r='7'><c r='B3'><v>1</v></c></row>",
        b'<row\tr = "7"><c\nr=\n"b3"><v>1</v></c></row>',
        b'<x:row spans="1:2" r="7"><x:c t="n" r="B3"><x:v>1</x:v></x:c></x:row>',
    ]
    for xml in spelled:
        assert _scan_extent(xml)[:] == (7, 2, 1, 1), xml
    assert _scan_extent(b'<c r="A12345678901234"/>').max_row >= 10**12  # more digits than any sheet
    # text that merely looks like a reference is not one: no white space before r=, or not an element
    assert _scan_extent(b'<c r="A1"><is><t>for="ZZ99" <c</t></is></c>')[:] == (1, 1, 0, 1)
    assert _scan_extent(b':c <')[:] == (0, 0, 0, 0)  # a prefix-like ':c ' with no tag before it


def test_cell_limit_is_exact(tmp_path):
    path = tmp_path / "sales.xlsx"
    _generate.excel_sales(path, rows=3)  # header + 3 rows, 3 columns = 12 cells
    check_workbook(path, ExcelLimits(max_cells=12))
    with pytest.raises(InputError, match=r"spans 4 rows x 3 columns = 12 cells.*\(11 cells\)"):
        check_workbook(path, ExcelLimits(max_cells=11))


def test_far_cell_counts_its_whole_span(tmp_path):
    path = tmp_path / "far.xlsx"
    _generate.excel_far_cell(path, cell="C5000")
    check_workbook(path, ExcelLimits(max_cells=15_000))
    with pytest.raises(InputError, match="5,000 rows x 3 columns"):
        check_workbook(path, ExcelLimits(max_cells=14_999))


def test_expanded_size_and_ratio_limits(tmp_path):
    path = tmp_path / "bomb.xlsx"
    _generate.excel_bomb(path, megabytes=12)
    with pytest.raises(InputError, match="expands to 12 MB"):
        check_workbook(path, ExcelLimits(max_expanded_mb=11))
    with pytest.raises(InputError, match=r"expands \d+ times"):
        check_workbook(path, ExcelLimits(max_ratio=50, max_cells=10**9))
    check_workbook(path, ExcelLimits(max_ratio=1000, max_cells=10**9))


def test_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("SEGMINT_EXCEL_MAX_CELLS", "2_000_000")
    monkeypatch.setenv("SEGMINT_EXCEL_MAX_MB", "64")
    assert ExcelLimits.from_env() == ExcelLimits(max_cells=2_000_000, max_expanded_mb=64)
    monkeypatch.setenv("SEGMINT_EXCEL_MAX_RATIO", "lots")
    with pytest.raises(InputError, match="SEGMINT_EXCEL_MAX_RATIO"):
        ExcelLimits.from_env()
