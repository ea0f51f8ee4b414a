"""Value page: figures from a CLV result without a browser, and the page callback on demo data."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest

from segmint.app import value_figures
from segmint.app.pages import value
from segmint.app.state import AppState
from segmint.btyd.models import BGNBD
from segmint.datasets import make_transactions
from tests.btyd._spend import without_spend_model

from .conftest import inputs


@pytest.fixture(scope="module")
def demo_state(tmp_path_factory):
    from segmint.api import read_transactions

    folder = tmp_path_factory.mktemp("value")
    make_transactions(n_customers=400, years=2, seed=11).to_csv(folder / "demo.csv", index=False)
    tx = read_transactions(str(folder / "demo.csv"), con=ibis.duckdb.connect())
    state = AppState()
    state.add_dataset(tx, "demo")
    yield state
    state.close()


def test_p_alive_grid_is_the_model_formula():
    model = BGNBD().with_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    grid = value_figures.p_alive_grid(model, max_frequency=3, T=38.86, cells=5)
    row = grid[(grid.frequency == 2) & np.isclose(grid.recency, 38.86 * 3 / 4)].iloc[0]
    by_hand = 1 / (1 + 0.793 / (2.426 + 2 - 1) * ((4.414 + 38.86) / (4.414 + 38.86 * 0.75)) ** (0.243 + 2))
    assert row.p_alive == pytest.approx(by_hand, rel=1e-12)
    figure = value_figures.p_alive_matrix(grid, "week", 38.86)
    assert "weeks" in figure.layout.xaxis.title.text


def test_clv_histogram_counts_every_positive_customer():
    clv = pd.Series([0.0, 1.0, 10.0, 10.0, 100.0, np.nan])
    figure = value_figures.clv_histogram(clv, "12 months", bins=4)
    assert sum(figure.data[0].y) == 4
    assert "1 at 0" in figure.layout.title.text


def test_segment_bars_without_a_spend_model_are_a_message():
    """No spend model (items without prices, Gamma-Gamma not converged): every share of value is missing and
    the chart showed a 'share of predicted value' legend with no bars."""
    by_segment = pd.DataFrame({"segment": ["Champions", "Lost"], "segment_order": [0, 1], "customers": [3, 1],
                               "share_of_clv": [np.nan, np.nan]})
    figure = value_figures.segment_value_bars(by_segment)
    assert figure.data == () and "no spend model" in figure.layout.annotations[0].text
    shared = value_figures.segment_value_bars(by_segment.assign(share_of_clv=[0.9, 0.1]))
    assert [list(trace.x) for trace in shared.data] == [[0.75, 0.25], [0.9, 0.1]]


def test_page_shows_the_library_numbers(demo_state):
    controls = ("bgnbd", "month", 6, 8, None)
    line, cards, _, _, tracking, _, top, _, _ = value.value_content(demo_state, *controls, *inputs(demo_state))
    import segmint

    dataset = demo_state.dataset(demo_state.default_dataset_id)
    result = segmint.clv(dataset.table, time_unit="month", horizon="6 months", discount="8%/year", compare=False)
    assert f"{result.customers['clv'].sum():,.0f}" in str(cards[1])
    assert "times in months" in line and "6 months" in str(cards[1])
    assert [trace.name for trace in tracking.data] == ["actual", "model"]  # in-sample without a holdout
    assert tracking.data[0].y[-1] == result.tracking["cumulative_actual"].iloc[-1]
    assert len(top.children[1].children) == value.TOP


def test_bad_settings_fall_back_to_defaults():
    got = value.settings_from(None, None, "", -3, "2023-06-30T00:00:00")
    assert got == {"model": "bgnbd", "time_unit": "week", "horizon": "12 months", "discount": "10%/year",
                   "calibration_end": "2023-06-30", "compare": False}


def test_too_little_data_is_a_message_not_a_crash(state):
    from segmint.app.callbacks import user_error
    from segmint.errors import SegmintError

    with pytest.raises(SegmintError, match="repeat purchases"):
        value.value_content(state, "bgnbd", "week", 12, 10, None, *inputs(state))
    assert "repeat purchases" in str(user_error(SegmintError("needs at least 10 customers with repeat purchases")))


def test_story_card_and_customer_api_carry_the_value(demo_state):
    from segmint.app.pages.story import story_card

    dataset_id = demo_state.default_dataset_id
    filters = value.context(*inputs(demo_state))[1]
    result = demo_state.clv(dataset_id, filters, value.settings_from(None, None, None, None, None))
    best = result.customers.nsmallest(1, "value_rank").iloc[0]
    line = value.value_summary(demo_state, dataset_id, filters, best.customer_id)
    assert f"P(alive) {best.p_alive:.2f}" in line and f"12-month CLV {best.clv:,.0f}" in line
    row = pd.Series({"customer_id": best.customer_id, "is_recent": True, "first_purchase": "2023-01-01",
                     "last_purchase": "2023-02-01", "current_segment": "x", "active_periods": 1, "periods": 2,
                     "total_spend": 1.0, "first_period": "2023-Q1", "first_segment": "x", "narrative": "n",
                     "current_reason": "why"})
    assert line in str(story_card(row, "quarter", value=line))
    assert value.value_summary(demo_state, dataset_id, filters, "no-such-customer") is None


def test_customer_api_has_the_value_section(demo_state):
    """/api/customers/<id> carries the same P(alive), CLV and band as segmint.clv on the same data."""
    import segmint
    from segmint.app import create_app

    dataset = demo_state.dataset(demo_state.default_dataset_id)
    result = segmint.clv(dataset.table, compare=False)  # the page's defaults: BG/NBD, weeks, 12 months, 10%/year
    best = result.customers.nsmallest(1, "value_rank").iloc[0]
    dash_app = create_app(transactions=dataset.table)
    try:
        body = dash_app.server.test_client().get(f"/api/customers/{best.customer_id}").get_json()
    finally:
        dash_app.segmint_state.close()
    got = body["value"]
    assert got["p_alive"] == round(best.p_alive, 4)  # a probability to 4 places, as exports write it
    assert got["clv"] == pytest.approx(best.clv, abs=0.005) and got["churn_risk"] == best.churn_risk
    assert got["value_rank"] == 1 and got["time_unit"] == "week"


def test_tables_stack_below_1200_px():
    """At 900 px the two tables side by side cut their columns: each takes the full width below xl."""
    def find(node, wanted):
        if getattr(node, "id", None) == wanted:
            return node
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children] if children is not None else []:
            found = find(child, wanted)
            if found is not None:
                return found
        return None

    page = value.layout()
    for table_id in ("value-top", "value-by-segment"):
        column = next(c for c in _columns(page) if find(c, table_id) is not None)
        assert column.width == 12 and column.xl in (5, 7) and getattr(column, "md", None) is None


def _columns(node):
    import dash_bootstrap_components as dbc

    if isinstance(node, dbc.Col):
        yield node
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        yield from _columns(child)


def test_without_a_spend_model_the_page_says_why_and_shows_purchases_expected(tmp_path, monkeypatch):
    """Groceries (items, no prices): Gamma-Gamma does not converge; the Value page showed a blank 'No positive
    CLV' chart and a segment table with three blank columns, and never said why."""
    import segmint

    path = without_spend_model(monkeypatch, tmp_path)
    result = segmint.clv(str(path), horizon="6 months", compare=False)
    assert not result.degenerate
    figure = value.value_histogram(result)
    assert sum(figure.data[0].y) == (result.customers.expected_purchases > 0).sum()
    assert figure.layout.title.text.startswith("Purchases expected over") and "no spend model" in figure.layout.title.text
    table = str(value.segment_table(result))
    assert "No CLV: no spend model" in table and "CLV'" not in table and "share" not in table
    first = result.by_segment.iloc[0]
    assert f"{first.expected_purchases / first.customers:.2f}" in table
    top = str(value.top_customers(result))
    assert "value / purchase" not in top and "'CLV'" not in top
    # a degenerate fit without a spend model: a message, not a histogram of forecasts not to be used
    result.degenerate = "the BG/NBD fit is degenerate"
    assert "degenerate" in value.value_histogram(result).layout.annotations[0].text


def test_a_sliver_of_value_reads_below_a_tenth_of_a_percent(demo_state):
    """CDNOW's 7 Promising customers hold 53 of 789,528 of predicted value: the page said '0.0%' (the CLI
    '<0.1%')."""
    result = demo_state.clv(demo_state.default_dataset_id, value.context(*inputs(demo_state))[1],
                            value.settings_from(None, None, None, None, None))
    by_segment = result.by_segment.copy()
    total = by_segment["total_clv"].sum()
    by_segment.loc[0, "share_of_clv"] = 0.0004
    shown = str(value.segment_table(type(result)(**{**result.__dict__, "by_segment": by_segment})))
    assert "<0.1%" in shown and "0.0%" not in shown and total > 0


def test_story_card_gives_no_prediction_from_a_degenerate_fit(demo_state, monkeypatch):
    """Groceries: every model's fit is degenerate, the Value page says not to target anyone by it, and the
    story card still read 'Predicted value (BG/NBD ...): Champions, P(alive) 0.98, 1.83 purchases expected'."""
    dataset_id = demo_state.default_dataset_id
    filters = value.context(*inputs(demo_state))[1]
    result = demo_state.clv(dataset_id, filters, value.settings_from(None, None, None, None, None))
    customer = result.customers.customer_id.iloc[0]
    assert "P(alive)" in value.value_summary(demo_state, dataset_id, filters, customer)
    monkeypatch.setattr(result, "degenerate", "the BG/NBD fit is degenerate")
    line = value.value_summary(demo_state, dataset_id, filters, customer)
    assert "degenerate" in line and "P(alive)" not in line


def test_clv_axis_ticks_do_not_run_together_over_many_decades():
    """A Tally day book's CLV spans 1,000 to 50 million: Plotly's 1-2-5 ticks printed '1,000,0002,000,000'."""
    clv = pd.Series(np.geomspace(1_000, 50_000_000, 200))
    axis = value_figures.clv_histogram(clv, "12 months").layout.xaxis
    assert list(axis.ticktext) == ["1,000", "10,000", "100,000", "1,000,000", "10,000,000"]
    narrow = value_figures.clv_histogram(pd.Series([0.5, 3.0, 40.0]), "12 months").layout.xaxis
    assert list(narrow.ticktext) == ["0.5", "1", "2", "5", "10", "20", "50"]  # 1-2-5 over under 2.5 decades


def test_a_degenerate_fit_gives_no_p_alive_churn_risk_or_value(demo_state, monkeypatch):
    """Groceries: the Value page's red banner said the fit was not reliable while the KPIs read 'Mean P(alive)
    0.98', 'High churn risk 0.4%' and the P(alive) heatmap was coloured from the same parameters."""
    controls = ("bgnbd", "month", 6, 8, None)
    result = demo_state.clv(demo_state.default_dataset_id, value.context(*inputs(demo_state))[1],
                            value.settings_from(*controls))
    _, cards, matrix, *_ = value.value_content(demo_state, *controls, *inputs(demo_state))
    assert f"{result.customers['p_alive'].mean():.2f}" in str(cards[2]) and matrix.data  # a sound fit has them
    monkeypatch.setattr(result, "degenerate", "the BG/NBD fit is degenerate")
    _, cards, matrix, _, _, _, _, segments, notes = value.value_content(demo_state, *controls, *inputs(demo_state))
    assert f"{len(result.customers):,}" in str(cards[0])  # customers are still counted
    for card in cards[1:]:  # predicted value, mean P(alive), high churn risk
        assert "'n/a'" in str(card) and "degenerate" in str(card)
    assert not matrix.data and "degenerate" in matrix.layout.annotations[0].text
    assert "P(alive)" not in str(segments).replace("No P(alive)", "") and "degenerate" in str(segments)
    assert "Not reliable" in str(notes[0])
