"""Demo data: deterministic, Online-Retail shaped, realistic behaviour, and mess cleaning finds exactly."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.clean import clean_transactions
from segmint.datasets import COLUMNS, MESSY_KINDS, make_transactions, write_transactions
from segmint.schema import ColumnMapping

FIELDS = {
    "invoice_id": "InvoiceNo", "product_id": "StockCode", "product_name": "Description",
    "quantity": "Quantity", "invoice_date": "InvoiceDate", "unit_price": "UnitPrice",
    "unit_cost": "UnitCost", "customer_id": "CustomerID", "country": "Country", "org_id": "Org",
}


@pytest.fixture(scope="module")
def messy() -> pd.DataFrame:
    return make_transactions(300, years=2, seed=7)


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    return make_transactions(300, years=2, seed=7, messy=False)


def as_mapped(frame: pd.DataFrame) -> ibis.Table:
    mapped = frame.rename(columns={column: field for field, column in FIELDS.items()})
    mapped["_source"] = "demo.csv"
    mapped["_row"] = np.arange(2, len(frame) + 2, dtype="int64")
    return ibis.memtable(mapped)


def test_deterministic_for_a_seed(messy):
    again = make_transactions(300, years=2, seed=7)
    pd.testing.assert_frame_equal(messy, again)
    other = make_transactions(300, years=2, seed=8)
    assert not other["CustomerID"].equals(messy["CustomerID"].iloc[: len(other)])


def test_shape_and_types(tidy):
    assert tuple(tidy.columns) == COLUMNS
    assert tidy["InvoiceDate"].dtype.kind == "M"
    assert tidy["InvoiceDate"].min() >= pd.Timestamp("2022-01-01")
    assert tidy["InvoiceDate"].max() < pd.Timestamp("2024-01-01")
    assert tidy["CustomerID"].nunique() <= 300
    assert set(tidy["Org"]) <= {"UK-RETAIL", "EU-RETAIL", "INTL"} and tidy["Org"].nunique() >= 2
    assert (tidy["UnitCost"] < tidy["UnitPrice"]).all()  # positive margin on every product
    lines_per_invoice = tidy.groupby("InvoiceNo").size()
    assert lines_per_invoice.mean() > 2
    # products are distinct within an invoice, so no accidental exact duplicates
    assert not tidy.duplicated().any()


def test_returns_share_and_sign(tidy):
    cancelled = tidy["InvoiceNo"].str.startswith("C")
    assert 0.01 < cancelled.mean() < 0.03
    assert (tidy.loc[cancelled, "Quantity"] < 0).all()
    assert (tidy.loc[~cancelled, "Quantity"] > 0).all()


def test_seasonality_q4_beats_q2(tidy):
    revenue = tidy["Quantity"] * tidy["UnitPrice"]
    by_quarter = revenue.groupby(tidy["InvoiceDate"].dt.quarter).sum()
    assert by_quarter[4] > 1.3 * by_quarter[2]
    weekday = revenue.groupby(tidy["InvoiceDate"].dt.day_of_week).sum()
    assert weekday[6] < weekday[2]  # quieter Sundays


def test_churn_acquisition_and_heterogeneity(tidy):
    by_customer = tidy.groupby("CustomerID")["InvoiceDate"].agg(["min", "max"])
    end = pd.Timestamp("2024-01-01")
    lapsed = (end - by_customer["max"]).dt.days > 180
    assert 0.25 < lapsed.mean() < 0.9  # many customers stopped buying long before the end
    first_year = by_customer["min"].dt.year
    assert (first_year == 2022).mean() > 0.3 and (first_year == 2023).mean() > 0.2  # acquired over time
    spend = (tidy["Quantity"] * tidy["UnitPrice"]).groupby(tidy["CustomerID"]).sum()
    assert spend.std() / spend.mean() > 1.0  # heavy-tailed spend


def test_clean_finds_exactly_the_injected_mess(messy):
    injected = messy.attrs["messy"]
    assert set(injected) == set(MESSY_KINDS) and all(v >= 1 for v in injected.values())
    result = clean_transactions(as_mapped(messy), ColumnMapping(fields=FIELDS),
                                con=ibis.duckdb.connect(), source="demo.csv")
    report = result.report
    assert report.dropped["missing_customer"].count == injected["blank_customer"]
    assert report.dropped["bad_date"].count == injected["bad_date"]
    assert report.dropped["duplicate"].count == injected["duplicate"]
    assert set(report.dropped) == {"missing_customer", "bad_date", "duplicate"}
    assert report.parsed["money_strings_unit_price"] == injected["money_string"]
    assert report.parsed["customer_ids_fixed"] == injected["float_customer"]
    assert report.date_formats["invoice_date"].dayfirst is False  # m/d/yyyy like Online Retail
    # independent pandas computation over the rows a careful analyst would keep
    bad = (messy["CustomerID"] == "") | ~messy["InvoiceDate"].str.match(r"^\d+/\d+/\d{4} ")
    kept = messy[~bad & ~messy.duplicated()]
    price = kept["UnitPrice"].str.replace("£", "").str.replace(",", "").astype(float)
    assert report.rows_kept == len(kept)
    assert report.total_amount == pytest.approx((kept["Quantity"] * price).sum())
    assert report.returns == kept["InvoiceNo"].str.startswith("C").sum()
    assert report.customers == kept["CustomerID"].str.replace(".0", "", regex=False).nunique()


def test_tidy_data_cleans_without_drops(tidy):
    result = clean_transactions(as_mapped(tidy), ColumnMapping(fields=FIELDS),
                                con=ibis.duckdb.connect(), source="demo")
    assert result.report.rows_kept == len(tidy) and not result.report.dropped
    cost = (tidy["Quantity"] * tidy["UnitCost"]).sum()
    assert result.table.cost.sum().execute() == pytest.approx(cost)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_write_transactions_chunked(tmp_path, messy, suffix):
    path = tmp_path / f"demo{suffix}"
    totals = write_transactions(path, 300, years=2, seed=7)
    assert totals["rows"] == len(messy)
    assert {k: totals[k] for k in MESSY_KINDS} == messy.attrs["messy"]
    if suffix == ".parquet":
        back = pd.read_parquet(path)
        pd.testing.assert_frame_equal(back, messy, check_dtype=False)
    else:
        back = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert back["InvoiceNo"].tolist() == messy["InvoiceNo"].tolist()
        assert back["UnitPrice"].tolist() == messy["UnitPrice"].tolist()


def test_write_transactions_by_rows(tmp_path):
    totals = write_transactions(tmp_path / "rows.parquet", n_rows=5000, years=1, seed=1, messy=False)
    assert 2500 < totals["rows"] < 10000
