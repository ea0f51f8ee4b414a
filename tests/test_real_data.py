"""Acceptance on the real CDNOW files in ../shared/data: ingest and analyze through the CLI.

Expected values come from the data README (rows, customers, dollar sums) and from an independent
pandas computation straight from the raw text file. Skipped when ../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli import app

CDNOW = Path(__file__).parents[1] / ".." / "shared" / "data" / "cdnow"
# file -> (has header, rows, customers, sum of dollars) as listed in ../shared/data/README.md
FILES = {
    "CDNOW_master.txt": (True, 69_659, 23_570, 2_500_315.63),
    "CDNOW_sample.txt": (False, 6_919, 2_357, 244_091.94),
}

pytestmark = pytest.mark.skipif(not CDNOW.is_dir(), reason="../shared/data/cdnow is not present")


def raw_lines(name: str, has_header: bool) -> pd.DataFrame:
    """customer_id, date, dollars parsed with plain str.split (no segmint code)."""
    lines = (CDNOW / name).read_text().splitlines()[1 if has_header else 0 :]
    parts = [line.split() for line in lines if line.strip()]
    if has_header:
        rows = [(p[0], p[1], float(p[3])) for p in parts]
    else:  # customer_id cohort_id date cds dollars
        rows = [(p[0], p[2], float(p[4])) for p in parts]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "dollars"])
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d")
    return frame


def reference_features(lines: pd.DataFrame) -> pd.DataFrame:
    """CDNOW has no invoices: a customer's lines on one day are one visit, a purchase when they sum above 0.

    Customers with no positive spend are left out.
    """
    snapshot = lines["date"].max() + pd.Timedelta(days=1)
    days = lines.groupby(["customer_id", "date"], as_index=False)["dollars"].sum()
    positive = days[days.dollars > 0]
    grouped = positive.groupby("customer_id")
    ref = pd.DataFrame(
        {
            "frequency": grouped.size(),
            "last": grouped["date"].max(),
            "first": grouped["date"].min(),
        }
    )
    ref["monetary"] = lines.groupby("customer_id")["dollars"].sum()
    ref = ref[ref.monetary > 0]
    ref["recency_days"] = (snapshot - ref["last"]).dt.days
    ref["tenure_days"] = (snapshot - ref["first"]).dt.days
    return ref.sort_index()


def reference_lapse_days(lines: pd.DataFrame, before: pd.Timestamp | None = None) -> int:
    """The lapse threshold written from its definition in SQL on the raw lines (no segmint code): the 95th
    percentile (linear) of repeat customers' average gap between purchase days, up to whole days; purchase
    days sum above 0, counted before ``before`` (default: every line)."""
    import duckdb

    if before is not None:
        lines = lines[lines["date"] < before]
    con = duckdb.connect()
    con.register("lines", lines)
    return int(con.execute("""
        with days as (select customer_id, date from lines group by customer_id, date having sum(dollars) > 0),
        repeat as (select date_diff('day', min(date), max(date)) / (count(*) - 1) as gap
                   from days group by customer_id having count(*) >= 2)
        select ceil(quantile_cont(gap, 0.95)) from repeat
    """).fetchone()[0])


@pytest.mark.parametrize("name", sorted(FILES))
def test_ingest_then_reingest_adds_nothing(name, tmp_path):
    has_header, rows, customers, dollars = FILES[name]
    workspace = tmp_path / "ws.duckdb"
    runner = CliRunner()
    first = runner.invoke(app, ["ingest", str(CDNOW / name), "--workspace", str(workspace)])
    assert first.exit_code == 0, first.output
    assert f"{rows:,} rows, {rows:,} new rows added" in " ".join(first.output.split())
    again = runner.invoke(app, ["ingest", str(CDNOW / name), "--workspace", str(workspace)])
    assert again.exit_code == 0, again.output
    assert f"0 new rows added to {workspace}, {rows:,} already there" in " ".join(again.output.split())
    assert "already there: same content (sha256" in again.output

    from segmint.workspace import Workspace

    with Workspace(workspace) as ws:
        stored = ws.transactions()
        assert stored.count().execute() == rows
        assert stored.customer_id.nunique().execute() == customers
        assert stored.amount.sum().execute() == pytest.approx(dollars, abs=0.005)


@pytest.mark.parametrize("name", sorted(FILES))
def test_analyze_writes_all_outputs_matching_an_independent_computation(name, tmp_path):
    has_header, rows, customers, dollars = FILES[name]
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["analyze", str(CDNOW / name), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for scheme in ("rfm", "levels", "tiers", "clusters"):
        assert (out / f"segments_{scheme}.csv").stat().st_size > 0
        assert (out / f"summary_{scheme}.csv").stat().st_size > 0
    assert (out / "data_quality.json").exists()

    features = pd.read_csv(out / "features.csv", dtype={"customer_id": str}).set_index("customer_id")
    ref = reference_features(raw_lines(name, has_header))
    assert list(features.index) == list(ref.index)  # same customers, ids keep leading zeros
    assert (features.frequency == ref.frequency).all()
    assert (features.recency_days == ref.recency_days).all()
    assert (features.tenure_days == ref.tenure_days).all()
    assert (features.monetary - ref.monetary).abs().max() < 1e-6
    assert (pd.to_datetime(features.last_purchase) == ref["last"]).all()
    assert features.monetary.sum() == pytest.approx(dollars, abs=0.01)

    # every customer has exactly one segment per scheme, and the segment files list every customer
    for scheme in ("rfm", "levels", "tiers", "clusters"):
        labelled = pd.read_csv(out / f"segments_{scheme}.csv", dtype={"customer_id": str})
        assert labelled.customer_id.is_unique
        assert set(labelled.customer_id) == set(ref.index)
        assert labelled.segment.notna().all()
        assert labelled.n_products.isna().all()  # CDNOW names no products: how many is unknown, not 0
    assert features.n_products.isna().all()
    summary = pd.read_csv(out / "summary_rfm.csv")
    assert summary.customers.sum() == len(ref)
    assert summary.revenue.sum() == pytest.approx(ref.monetary.sum(), abs=0.01)
    assert "snapshot date: 1998-07-01" in result.output
    # no invoice column: customer 00002's two lines on 1997-01-12 are one visit, and the output says so
    if name == "CDNOW_master.txt":
        assert features.loc["00002", "frequency"] == 1
    assert "one customer's purchases on one day count as one visit" in " ".join(result.output.split())
