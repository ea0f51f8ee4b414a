"""Products page callbacks on the hand-checkable dataset (no browser)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from segmint.app.pages import products
from tests.app.conftest import inputs


def test_products_page_content(state):
    options, segment, figure, rows, product_options, regions, note, table, message = products.overview_content(
        state, "1Y", None, "revenue", *inputs(state)
    )
    assert message is None and segment == options[0]["value"]
    assert all(row["segment"] == segment for row in rows)
    # every product was bought once (P0..P8, C8 is D's return): the heatmap lists each country it sold in
    assert {o["value"] for o in product_options} == {f"P{i}" for i in range(9) if i != 7}
    assert set(regions.data[0].x) == {"United Kingdom", "France", "Germany"}
    trend, by_segment = products.product_content(state, "1Y", "P0", "units", *inputs(state))
    assert list(trend.data[0].y) == [1.0]  # customer A's 2023-01 purchase of P0


def test_customer_card_shows_recommendations_or_the_error(state):
    card = products.customer_card(state, "A", *inputs(state))
    grid = card.children[1]
    assert grid.rowData[0]["rank"] == 1 and len(grid.rowData) <= 10
    hint = products.customer_card(state, "", *inputs(state))
    assert "Type a customer id" in hint.children


def test_a_live_refresh_recommends_from_the_new_lines(tmp_path):
    import pytest

    from segmint.app.live import LiveWorkspace
    from segmint.app.state import AppState, Filters
    from segmint.engine import Workspace
    from segmint.errors import DataError
    from tests.test_workspace import canonical

    path = tmp_path / "ws.duckdb"
    with Workspace(path) as ws:
        ws.append(canonical([("A1", 1, "c1", "2023-01-02", 10.0), ("A2", 1, "c2", "2023-01-03", 5.0)]), source="jan")
    state = AppState()
    live = LiveWorkspace(state, path, interval=60)
    first = live.load()
    try:
        with pytest.raises(DataError, match="no product purchase"):
            state.recommendations(first, Filters()).customer("c3")
        with Workspace(path) as ws:
            ws.append(canonical([("A3", 1, "c3", "2023-02-01", 7.0)]), source="feb")
        assert live.check() is True
        card = state.recommendations(live.status.dataset_id, Filters()).customer("c3")
        assert [r["product_id"] for r in card["recommendations"]] == ["P1"]  # the one product, bought once
        state.remove_dataset(first)  # a superseded snapshot: its cached results go with it
        assert len(state._recommendations) == 1
    finally:
        live.stop()
        state.close()


def test_single_view_on_the_page_shows_the_biggest_buyers_and_says_when_there_is_no_category(state):
    note, grid = products.single_view_content(state, "1Y", "product", *inputs(state)).children
    # units bought (one per purchase line; D's return is no purchase): C 3, A 2, B 1, D 1, E 1
    assert [(r["customer_id"], r["units: all products"]) for r in grid.rowData] == [
        ("C", 3.0), ("A", 2.0), ("B", 1.0), ("D", 1.0), ("E", 1.0)]
    assert note.children.startswith("5 customers; showing the 5 who bought most. single view: 8 of 8 products")
    assert "--" not in note.children and "segmint " not in note.children  # no command line on a dashboard page
    missing = products.single_view_content(state, "1Y", "category", *inputs(state))
    assert "no product category" in missing.children


def test_a_live_workspace_with_categories_fills_the_single_view_by_category(tmp_path):
    from segmint.app.live import LiveWorkspace
    from segmint.app.state import AppState
    from segmint.workspace import Workspace

    path = tmp_path / "sales.csv"
    path.write_text("invoice,customer,date,product,quantity,amount,category\n"
                    "1,c1,2024-01-05,P1,2,20,Tea\n2,c1,2024-02-10,P2,3,45,Cake\n3,c2,2024-02-11,P1,1,10,Tea\n")
    workspace = tmp_path / "ws.duckdb"
    with Workspace(workspace) as ws:
        ws.ingest(path)
    state = AppState()
    live = LiveWorkspace(state, workspace, interval=60)
    live.load()
    try:
        note, grid = products.single_view_content(state, "1Y", "category", *inputs(state)).children
        # units by category, by hand: c1 Cake 3, Tea 2; c2 Tea 1 (Cake's revenue 45 > Tea's 30: first column)
        rows = {r["customer_id"]: (r["units: Cake"], r["units: Tea"], r["units: all products"]) for r in grid.rowData}
        assert rows == {"c1": (3.0, 2.0, 5.0), "c2": (0.0, 1.0, 1.0)}
        assert "single view by category: 2 of 2 categories" in note.children
    finally:
        live.stop()
        state.close()


def test_the_page_leaves_out_postage_and_says_so():
    import ibis
    import pandas as pd

    from segmint.app.state import AppState
    from tests.app.conftest import hand_frame

    frame = hand_frame()
    postage = frame.iloc[[2]].assign(product_id="POST", product_name="POSTAGE", amount=18.0, unit_price=18.0)
    state = AppState()
    state.add_dataset(ibis.duckdb.connect().create_table("tx", pd.concat([frame, postage])), "hand")
    try:
        options, segment, figure, rows, product_options, regions, note, table, message = products.overview_content(
            state, "1Y", None, "revenue", *inputs(state)
        )
        assert message is None
        assert note.startswith("1 line of 1 non-merchandise item (POSTAGE) kept for sales, left out of product")
        assert {o["value"] for o in product_options} == {f"P{i}" for i in range(9) if i != 7}  # as without it
        assert "POST" not in {r["product_id"] for r in rows}
    finally:
        state.close()


def test_favourite_bars_label_small_shares_with_a_decimal():
    import pandas as pd

    from segmint.app import product_figures

    rows = pd.DataFrame({"segment": "Champions", "rank_by_lift": [1.0, 2.0], "product_name": ["A", "B"],
                         "share_of_segment": [0.021, 0.011], "share_of_all": [0.008, 0.004], "lift": [2.5, 2.5],
                         "customers": [5, 3], "units": [10.0, 4.0], "lift_established": True, "window_start": "2024-01-01",
                         "window_end": "2024-02-29"})  # fmt: skip
    assert product_figures.favourites_bars(rows, "Champions", 3).layout.xaxis.tickformat == ".1%"  # 2.1% top share
    wide = rows.assign(share_of_segment=[0.4, 0.2])
    assert product_figures.favourites_bars(wide, "Champions", 3).layout.xaxis.tickformat == ".0%"


def test_the_page_shows_without_learning_the_blend(state, monkeypatch):
    """The favourites, sales and single view need no per-customer ranking: only a typed customer fits it."""
    import pytest

    from segmint.recommendations import model

    learned = []
    real = model.learn_blend
    monkeypatch.setattr(model, "learn_blend", lambda *a, **k: learned.append(1) or real(*a, **k))
    assert products.overview_content(state, "1Y", None, "revenue", *inputs(state))[-1] is None
    products.product_content(state, "1Y", "P0", "units", *inputs(state))
    products.single_view_content(state, "1Y", "product", *inputs(state))
    assert learned == []
    products.customer_card(state, "A", *inputs(state))
    assert learned == [1]
    pytest.importorskip("dash")


def test_controls_take_half_a_row_below_1200_px():
    """Four controls in one row cut their values at 900 px ("favourites of the | l"): two a row below xl."""
    import dash_bootstrap_components as dbc

    controls = products.layout().children[1]
    assert isinstance(controls, dbc.Row)
    assert all(column.md == 6 and column.xl in (2, 3, 4) for column in controls.children)


GROCERIES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "groceries" / "Groceries_dataset.csv"


@pytest.fixture(scope="module")
def groceries_state():
    """The real basket log (no prices, no country), as the dashboard loads it."""
    if not GROCERIES.exists():
        pytest.skip("../shared/data is not present")
    import ibis

    from segmint.api import read_transactions
    from segmint.app.state import AppState
    from segmint.clean import CleanOptions

    tx = read_transactions(str(GROCERIES), con=ibis.duckdb.connect(), options=CleanOptions(unpriced="units"))
    state = AppState()
    state.add_dataset(tx, "groceries")
    yield state
    state.close()


def test_a_rank_by_lift_on_the_page_means_the_segment_buys_it_more(groceries_state):
    """On groceries the grid's 'rank (lift)' ranked whole milk 9th for Potential Loyalists (79 of their
    393 shoppers, 20.1%, vs 21.7% of all: lift 0.93). Shares rechecked from the row's own counts."""
    for segment in ("Champions", "Potential Loyalist", "Loyal Customers"):
        rows = products.overview_content(groceries_state, "2M", segment, "units", *inputs(groceries_state))[3]
        assert rows, segment
        for row in rows:
            share = row["customers"] / row["segment_shoppers"]
            assert share == pytest.approx(row["share_of_segment"], abs=1e-4)
            if abs(share - row["share_of_all"]) < 1e-4:
                continue  # too close to tell from the rounded share
            favoured = row["customers"] >= 3 and share > row["share_of_all"]
            assert (row["rank_by_lift"] is not None and not pd.isna(row["rank_by_lift"])) == favoured, row
        ranks = sorted(r["rank_by_lift"] for r in rows if not pd.isna(r["rank_by_lift"]) and r["rank_by_lift"] <= 20)
        assert ranks == list(range(1, len(ranks) + 1))  # the top 20 by lift, without gaps


def test_without_a_country_the_region_chart_is_left_out(state, groceries_state):
    """Groceries has no country column: the Products page showed an empty 'Top products by country/region'
    panel taking half the row; now the column is hidden, the trends take the row and a line says why."""
    style, width, note = products.region_layout(groceries_state, "2M", *inputs(groceries_state))
    assert style == {"display": "none"} and width == 12 and note.startswith("No country/region column")
    # the hand data name United Kingdom, France and Germany: the chart stays beside the trends
    assert products.region_layout(state, "1Y", *inputs(state)) == ({}, 6, None)


def test_chart_titles_say_revenue_was_allocated_from_basket_totals(tmp_path):
    """product_json baskets without item prices: each basket's total is spread over its items by quantity
    (ALLOCATION_NOTE), so the charts' 'revenue' is an allocation and their titles say so; priced data keep
    'revenue'. By hand: M1's 30.00 over D x2 and A x1 -> D 20.00, A 10.00; M2's 12.00 over A x1 -> A 12.00."""
    from segmint.api import read_transactions
    from segmint.app.state import AppState

    path = tmp_path / "baskets.csv"
    path.write_text('member_id,payment_date,country,total_amt,product_json\n'
                    'M1,2024-01-05,France,30,"{""D"": 2, ""A"": 1}"\nM2,2024-01-06,France,12,"[""A""]"\n')
    state = AppState()
    state.add_dataset(read_transactions(str(path)), "baskets")
    try:
        *_, regions, note, table, message = products.overview_content(state, "1Y", None, "revenue", *inputs(state))
        assert message is None and "spread over its items by quantity" in note
        assert "revenue allocated from basket totals over the whole period" in regions.layout.title.text
        assert regions.data[0].colorbar.title.text == "revenue<br>(allocated)"
        totals = dict(zip([label.split(" ")[0] for label in regions.data[0].y], regions.data[0].z[:, 0], strict=True))
        assert totals == {"A": 22.0, "D": 20.0}
        trend, by_segment = products.product_content(state, "1Y", "D", "revenue", *inputs(state))
        assert "revenue allocated from basket totals per period by country/region" in trend.layout.title.text
        assert "revenue allocated from basket totals per period by the buyers' current segment" in by_segment.layout.title.text
        assert list(trend.data[0].y) == [20.0]
        units, _ = products.product_content(state, "1Y", "D", "units", *inputs(state))
        assert "allocated" not in units.layout.title.text and list(units.data[0].y) == [2.0]
    finally:
        state.close()
    priced = products.product_figures.region_heatmap(
        pd.DataFrame({"product_id": ["A"], "product_name": ["A"], "country": ["France"], "revenue": [5.0]}))
    assert "<sup>revenue over the whole period</sup>" in priced.layout.title.text
    assert priced.data[0].colorbar.title.text == "revenue"


def test_without_products_the_single_view_does_not_repeat_the_pages_message():
    """CDNOW and a condensed Tally day book name no products: the page showed the same orange message at the
    top and again in place of the single view."""
    import ibis

    from segmint.app.state import AppState
    from segmint.errors import DataError
    from tests.app.conftest import hand_frame

    frame = hand_frame().assign(product_id=None, product_name=None)
    frame = frame.astype({"product_id": "string", "product_name": "string"})
    board = AppState()
    board.add_dataset(ibis.duckdb.connect().create_table("tx", frame), "no products")
    try:
        with pytest.raises(DataError, match="recommendations need products"):
            products.single_view_content(board, "1Y", "product", *inputs(board))
        note = products.single_view_section(board, "1Y", "product", *inputs(board))
    finally:
        board.close()
    assert type(note).__name__ == "Small" and "see the message at the top" in note.children
