"""Real CDNOW files from ../shared/data (skipped when the folder is absent)."""

from __future__ import annotations

from pathlib import Path

import ibis
import pytest

from segmint.io import read_raw
from segmint.schema import apply_mapping, resolve_mapping

CDNOW = Path(__file__).parents[2] / ".." / "shared" / "data" / "cdnow"


def cdnow(name: str) -> Path:
    path = CDNOW / name
    if not path.exists():
        pytest.skip(f"sample data {path} not available")
    return path


def reference_rows(path: Path, header: bool) -> list[list[str]]:
    """Independent split of the file: whitespace fields per non-blank line."""
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    return lines[1:] if header else lines


@pytest.mark.parametrize(
    "name,header,rows,customers,dollars",
    [("CDNOW_master.txt", True, 69_659, 23_570, 2_500_315.63), ("CDNOW_sample.txt", False, 6_919, 2_357, 244_091.94)],
)
def test_cdnow(name, header, rows, customers, dollars):
    path = cdnow(name)
    con = ibis.duckdb.connect()
    raw = read_raw(path, con=con)
    mapping = resolve_mapping(raw)
    mapped = apply_mapping(raw, mapping)
    assert mapped.count().execute() == rows
    assert mapped.customer_id.nunique().execute() == customers
    total = mapped.amount.cast("float64").sum().execute()
    assert total == pytest.approx(dollars, abs=0.005)
    reference = reference_rows(path, header)
    assert len(reference) == rows
    first = mapped.order_by("_row").limit(3).execute()
    assert first["customer_id"].tolist() == [r[0] for r in reference[:3]]  # '00001' stays a string
    assert first["customer_id"].str.len().eq(5).all()
    date_col = 1 if header else 2
    assert first["invoice_date"].tolist() == [r[date_col] for r in reference[:3]]
    assert raw.skipped == {}
