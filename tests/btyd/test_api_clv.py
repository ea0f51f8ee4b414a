"""segmint.clv in Python: the shared result convention (.tables(), .customer()) and clear errors."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import segmint
from segmint.datasets import make_transactions
from segmint.errors import DataError, SegmintError
from tests.btyd._spend import without_spend_model


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    raw = make_transactions(n_customers=300, years=2, seed=3)
    path = tmp_path_factory.mktemp("demo") / "sales.csv"
    raw.to_csv(path, index=False)
    return segmint.clv(str(path), time_unit="month", horizon="6 months", discount="8%/year", compare=False)


def test_result_convention(result):
    tables = result.tables()
    assert set(tables) == {"clv", "clv_models", "clv_by_segment", "clv_tracking"}  # no holdout: in-sample tracking
    customers = tables["clv"]
    assert (customers.time_unit == "month").all() and customers.horizon.iloc[0] == pytest.approx(6.0)
    one = result.customer(customers.customer_id.iloc[0])
    assert one["time_unit"] == "month" and "6-month CLV" in one["summary"]
    assert 0 <= one["p_alive"] <= 1 and one["clv"] >= 0
    with pytest.raises(DataError, match="leading zeros"):
        result.customer("no-such-customer")


def test_segments_joined_and_value_sums(result):
    by_segment = result.tables()["clv_by_segment"]
    assert by_segment.customers.sum() == len(result.customers)
    assert by_segment.share_of_clv.sum() == pytest.approx(1.0)
    assert by_segment.total_clv.sum() == pytest.approx(result.customers.clv.sum(), abs=0.01 * len(by_segment))


def test_segments_are_the_analysis_segments_the_day_after_the_calibration_end(tmp_path, monkeypatch):
    """Without an invoice column a purchase is a day, for the segments as for ``analyze``: two lines of
    one day are one purchase (clv counted each line as a purchase before, and disagreed with the
    Segments page for 209 of CDNOW's 23,570 customers). A given analysis supplies them as they are."""
    days = {f"c{i:02d}": [f"2023-01-{1 + i % 20:02d}", f"2023-{2 + i % 9:02d}-{3 + i % 25:02d}"]
            + ([f"2023-11-{1 + i % 7:02d}"] if i % 3 == 0 else []) for i in range(40)}
    lines = [(customer, day, 10.0 + n + 3 * k) for n, (customer, dates) in enumerate(days.items())
             for k, day in enumerate(dates[:n % 2] + dates)]  # every other customer: two lines on one day
    day_rows = pd.DataFrame(lines, columns=["customer", "date", "amount"])
    path = tmp_path / "days.csv"
    day_rows.to_csv(path, index=False)
    tx = segmint.read_transactions(str(path))
    result = segmint.clv(tx, time_unit="week", compare=False)
    analysis = segmint.analyze(tx, scheme="rfm", snapshot_date=result.window.calibration_end + dt.timedelta(days=1))
    assert analysis.frequency == "days"
    expected = analysis.segments["rfm"].select("customer_id", "segment").execute().set_index("customer_id").segment
    got = result.customers.set_index("customer_id").segment
    assert len(got) == 40 and got.sort_index().tolist() == expected.sort_index().tolist()
    frequency = analysis.features.execute().set_index("customer_id").frequency
    assert frequency.to_dict() == {customer: len(dates) for customer, dates in days.items()}  # days, not lines

    calls = []
    monkeypatch.setattr(segmint.api, "analyze", lambda *a, **k: calls.append(1))
    reused = segmint.clv(tx, time_unit="week", compare=False, segments=analysis)
    assert calls == [] and reused.customers.equals(result.customers) and reused.by_segment.equals(result.by_segment)
    assert "segment" not in segmint.clv(tx, time_unit="week", compare=False, segments=False).customers


def test_too_few_repeat_buyers_is_a_clear_error():
    frame = make_transactions(n_customers=40, years=1, seed=1).drop_duplicates(subset=["CustomerID"])
    with pytest.raises(DataError, match="at least 10 customers with repeat purchases"):
        segmint.clv(frame_path(frame))


def frame_path(frame: pd.DataFrame) -> str:
    import tempfile

    path = tempfile.NamedTemporaryFile(suffix=".csv", delete=False).name
    frame.to_csv(path, index=False)
    return path


def test_unknown_model_names_the_choices():
    with pytest.raises(SegmintError, match="bgnbd, pnbd, mbgnbd"):
        segmint.clv(frame_path(make_transactions(n_customers=20, years=1, seed=2)), model="weibull")


def test_without_a_spend_model_customers_rank_by_expected_purchases(tmp_path, monkeypatch):
    """Gamma-Gamma can fail (item counts of a basket log as 'spend'): every CLV is then unknown, and the
    top-customers tables listed everybody at the last rank with a blank CLV and a total of 0."""

    path = without_spend_model(monkeypatch, tmp_path)
    result = segmint.clv(str(path), time_unit="week", horizon="6 months", discount=0, compare=False)
    customers = result.customers
    assert customers.clv.isna().all() and any("no expected value per purchase" in n for n in result.notes)
    # with no discount the ranking is that of the expected purchases, highest first
    expected_rank = customers.expected_purchases.rank(ascending=False, method="min").astype("int64")
    assert (customers.value_rank == expected_rank).all() and customers.value_rank.min() == 1
    assert result.by_segment.total_clv.isna().all()  # unknown, not 0
    # no "6-month CLV nan" / a "nan%" share: the purchases expected, and why there is no CLV
    described = result.describe_customer(customers.iloc[0])
    assert "(no CLV: no spend model)" in described and "nan" not in described
    from typer.testing import CliRunner

    from segmint.cli import app

    run = CliRunner().invoke(app, ["clv", str(path), "--time-unit", "week", "--horizon", "6 months", "--discount", "0",
                                   "--no-compare"], env={"COLUMNS": "250"})
    assert run.exit_code == 0, run.output
    assert "nan" not in run.output and "no CLV" in run.output.split("value by segment")[1]

    from segmint.app.pages import value

    card = value.kpis(result)[1].children.children.children
    assert card[1].children == "n/a" and "ranked by expected purchases" in card[2].children


def test_customers_who_bought_only_free_orders_are_not_valued(tmp_path):
    """A customer whose only purchases were $0 orders got P(alive) = 1 and the average customer's CLV (CDNOW:
    68 such customers, 5.36 each). Their orders stay purchase occasions in the fit (as in the published CDNOW
    fits), so the parameters are those of a fit on every customer's summary, but they are not valued."""
    from segmint.btyd.models import BGNBD

    raw = make_transactions(n_customers=300, years=2, seed=3)
    free = pd.DataFrame({
        "InvoiceNo": ["F1", "F2", "F3"], "StockCode": ["85123A"] * 3, "Description": ["FREE SAMPLE"] * 3,
        "Quantity": [1, 1, 1], "InvoiceDate": ["3/1/2022 10:00", "3/1/2022 11:00", "9/5/2022 12:00"],
        "UnitPrice": ["0.00"] * 3, "UnitCost": [0.0] * 3, "CustomerID": ["FREE-A", "FREE-B", "FREE-B"],
        "Country": ["Germany"] * 3, "Org": ["EU-RETAIL"] * 3,
    })  # FREE-A: one free order; FREE-B: two, on two days (a repeat purchase of $0)
    path = tmp_path / "sales.csv"
    pd.concat([raw, free]).to_csv(path, index=False)
    result = segmint.clv(str(path), time_unit="week", horizon="6 months", discount=0, compare=False)
    assert result.free_only == {"FREE-A", "FREE-B"}
    assert not result.customers.customer_id.isin(["FREE-A", "FREE-B"]).any()
    assert any(n.startswith("2 customers whose only purchases up to the calibration end were free ($0) orders")
               for n in result.notes)
    with pytest.raises(DataError, match="bought only free"):
        result.customer("FREE-B")
    # the fit still counts them: refit by hand on the paid customers' rows plus theirs, in weeks
    end = result.window.calibration_end
    paid = result.customers
    weeks = lambda day: (pd.Timestamp(end) - pd.Timestamp(day)).days / 7  # noqa: E731
    x = [*paid.frequency, 0, 1]
    t_x = [*paid.recency, 0.0, (pd.Timestamp("2022-09-05") - pd.Timestamp("2022-03-01")).days / 7]
    age = [*(weeks(d) for d in paid.first_purchase), weeks("2022-03-01"), weeks("2022-03-01")]
    by_hand = BGNBD().fit(pd.Series(x), pd.Series(t_x, dtype=float), pd.Series(age, dtype=float))
    for name, value in result.model.params_.items():
        assert value == pytest.approx(by_hand.params_[name], rel=1e-3), name
    assert by_hand.p_alive([0.0], [0.0], [weeks("2022-03-01")])[0] == 1.0  # what FREE-A was shown before


def test_without_a_spend_model_no_nan_is_printed_or_told(tmp_path, monkeypatch):
    """Groceries (items, no prices): Gamma-Gamma does not converge, and `segmint clv` printed columns of
    'nan' and 'nan%' by segment and the story card read '12-month CLV nan'; the purchases expected are shown."""
    from typer.testing import CliRunner

    from segmint.cli import app

    path = without_spend_model(monkeypatch, tmp_path)
    result = segmint.clv(str(path), horizon="6 months", compare=False)
    assert not result.has_clv
    first = result.customers.nsmallest(1, "value_rank").iloc[0]
    told = result.customer(first.customer_id)["summary"]
    assert "nan" not in told and f"{first.expected_purchases:.2f} purchases expected in" in told

    out = CliRunner().invoke(app, ["clv", str(path), "--horizon", "6 months", "--no-compare"],
                             env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    assert "nan" not in out.output and "no CLV (no spend model" in out.output
    champions = result.by_segment.iloc[0]  # the segment table's first row: its total purchases expected
    line = next(line for line in out.output.splitlines() if line.startswith(f"│ {champions.segment} "))
    assert f"{champions.expected_purchases:,.0f}" in line
    assert f"{champions.expected_purchases / champions.customers:.2f}" in line


def test_a_customers_facts_carry_the_degenerate_warning(result, monkeypatch):
    """/api/customers/<id> (value) and CLVResult.customer gave P(alive) and CLV from a degenerate fit
    (groceries) with no sign of the warning the Value page and segmint clv print in red."""
    customer = result.customers.customer_id.iloc[0]
    assert result.customer(customer)["degenerate"] is None
    monkeypatch.setattr(result, "degenerate", "the BG/NBD fit is degenerate: r = 1.5e+05 ...")
    assert result.customer(customer)["degenerate"].startswith("the BG/NBD fit is degenerate")
