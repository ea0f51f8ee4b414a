"""Returns found by the quantity alone (``clean_counts.returns_by_quantity``): a streamed input whose
every return line has a negative quantity tests only the quantity in the passes after the grouping
pass; a return by its invoice id (C...) or by a negative price keeps the full test. Either way the
features and the report equal the materialised input's and the values by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmint import analyze, engine, read_transactions

DAY = dt.datetime(2023, 4, 3, 10, 30)
LINES = [
    ("536365", "17850", DAY, "TEA", 6, 2.5),
    ("536365", "17850", DAY, "MUG", 1, 4.0),
    ("536366", "17850", DAY + dt.timedelta(days=5), "JAR", -2, 3.0),  # a return by its quantity
    ("536368", "13047", DAY + dt.timedelta(days=1), "CUP", 3, 1.0),
    ("536369", "13047", DAY + dt.timedelta(days=2), "LID", 2, 1.5),
]
OTHER_RETURNS = {
    "cancelled": ("C536367", "17850", DAY + dt.timedelta(days=9), "BOWL", 2, 2.5),  # a return by its C
    "negative price": ("536370", "13047", DAY + dt.timedelta(days=3), "PLATE", 1, -2.0),
}


def _parquet(path, lines) -> None:
    columns = list(zip(*lines, strict=True))
    pq.write_table(pa.table({
        "InvoiceNo": pa.array(columns[0], pa.string()), "CustomerID": pa.array(columns[1], pa.string()),
        "InvoiceDate": pa.array(columns[2], pa.timestamp("us")), "StockCode": pa.array(columns[3], pa.string()),
        "Quantity": pa.array(columns[4], pa.int64()), "UnitPrice": pa.array(columns[5], pa.float64()),
    }), path)  # fmt: skip


def _analyze(path, staging: str, monkeypatch) -> tuple[pd.DataFrame, dict, list[bool]]:
    import segmint.clean as clean_module

    proved: list[bool] = []
    real = clean_module.returns_by_quantity
    monkeypatch.setattr(clean_module, "returns_by_quantity", lambda *a: proved.append(real(*a)) or proved[-1])
    monkeypatch.setenv("SEGMINT_STAGING", staging)
    tx = read_transactions(path, con=engine.connect())
    features = analyze(tx, scheme="rfm").features.execute()
    return features.sort_values("customer_id").set_index("customer_id"), tx.report.model_dump(), proved


def test_returns_all_of_negative_quantity_are_found_by_the_quantity_alone(tmp_path, monkeypatch):
    path = tmp_path / "sales.parquet"
    _parquet(path, LINES)
    features, report, proved = _analyze(path, "stream", monkeypatch)
    copied, copied_report, _ = _analyze(path, "materialize", monkeypatch)
    assert proved == [True]  # one return, of negative quantity
    pd.testing.assert_frame_equal(features, copied)
    assert report == copied_report
    # by hand: 17850 bought TEA and MUG (19.0) and returned 2 JARs (-6.0); the return is no product
    assert report["returns"] == 1 and report["returns_value"] == -6.0
    assert features.loc["17850", "revenue"] == 13.0 and features.loc["17850", "n_products"] == 2
    assert features.loc["13047", "revenue"] == 6.0 and features.loc["13047", "n_products"] == 2


@pytest.mark.parametrize("kind", sorted(OTHER_RETURNS))
def test_a_return_of_positive_quantity_keeps_the_full_return_test(tmp_path, monkeypatch, kind):
    path = tmp_path / "sales.parquet"
    _parquet(path, [*LINES, OTHER_RETURNS[kind]])
    features, report, proved = _analyze(path, "stream", monkeypatch)
    copied, copied_report, _ = _analyze(path, "materialize", monkeypatch)
    assert proved == [False]  # two returns, one of them of positive quantity
    pd.testing.assert_frame_equal(features, copied)
    assert report == copied_report
    assert report["returns"] == 2
    # by hand: the return of positive quantity is counted as a return, and its product is not bought
    if kind == "cancelled":  # C536367: 2 BOWLs at 2.5 returned
        assert report["returns_value"] == -11.0 and features.loc["17850", "revenue"] == 8.0
        assert features.loc["17850", "n_products"] == 2 and features.loc["13047", "n_products"] == 2
    else:  # one PLATE at -2.0: a return of 2.0
        assert report["returns_value"] == -8.0 and features.loc["13047", "revenue"] == 4.0
        assert features.loc["13047", "n_products"] == 2 and features.loc["17850", "n_products"] == 2
