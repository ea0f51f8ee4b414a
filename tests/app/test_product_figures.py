"""Product charts keep two products apart when they share a name (a categorical axis merges equal labels)."""

from __future__ import annotations

import pandas as pd

from segmint.app.product_figures import favourites_bars, product_labels, region_heatmap, region_trend


def test_labels_add_the_code_only_where_names_are_shared():
    assert product_labels(["1", "2", "3", "4"], ["WHITE LUNCH BAG", "RED MUG", "WHITE LUNCH BAG", None]) == [
        "WHITE LUNCH BAG (1)", "RED MUG", "WHITE LUNCH BAG (3)", "4",
    ]
    # names cut to the width first, so the code is never the part cut off
    assert product_labels(["a", "b"], ["X" * 50, "X" * 50], width=10) == ["XXXXXXXXXX (a)", "XXXXXXXXXX (b)"]


def test_favourites_chart_draws_one_row_per_product_even_when_two_share_a_name():
    favourites = pd.DataFrame({
        "segment": ["Champions"] * 3, "product_id": ["85001", "85002", "85003"],
        "product_name": ["WHITE LUNCH BAG", "WHITE LUNCH BAG", "BLUE DOORMAT"],
        "rank_by_lift": [1, 2, 3], "share_of_segment": [0.12, 0.06, 0.05], "share_of_all": [0.06, 0.03, 0.04],
        "lift": [2.0, 2.0, 1.25], "lift_established": [True] * 3, "customers": [12, 6, 5], "units": [40, 20, 9],
        "window_start": ["2024-11-01"] * 3, "window_end": ["2024-12-31"] * 3,
    })  # fmt: skip
    figure = favourites_bars(favourites, "Champions", min_buyers=3)
    rows = list(figure.data[0].y)
    assert sorted(rows) == ["BLUE DOORMAT", "WHITE LUNCH BAG (85001)", "WHITE LUNCH BAG (85002)"]
    assert len(set(rows)) == 3  # three bars on three rows
    by_row = dict(zip(figure.data[0].y, figure.data[0].x, strict=True))
    assert by_row["WHITE LUNCH BAG (85001)"] == 0.12 and by_row["WHITE LUNCH BAG (85002)"] == 0.06


def test_favourites_chart_shows_only_what_the_segment_buys_more_than_others():
    favourites = pd.DataFrame({
        "segment": ["Champions"] * 3, "product_id": ["1", "2", "3"], "product_name": ["A", "B", "C"],
        "rank_by_lift": pd.array([1, None, 2], dtype="Int64"), "share_of_segment": [0.12, 0.2, 0.05],
        "share_of_all": [0.06, 0.22, 0.04], "lift": [2.0, 0.9091, 1.25], "lift_established": [True, False, True],
        "customers": [12, 20, 5],
        "units": [40, 30, 9], "window_start": ["2024-11-01"] * 3, "window_end": ["2024-12-31"] * 3,
    })  # fmt: skip
    assert list(favourites_bars(favourites, "Champions", 3).data[0].y) == ["C", "A"]  # B: 20% of them, 22% of all
    below = favourites.assign(lift=[0.5, 0.9, 0.8], rank_by_lift=pd.array([None] * 3, dtype="Int64"))
    figure = favourites_bars(below, "Champions", 3)
    assert not figure.data and "bought more by Champions" in figure.layout.annotations[0].text
    # mustard-like: C ranked by lift (2.03) but its low end is 0.93: not what Champions "buy more than others"
    doubtful = favourites.assign(lift_established=[True, False, False])
    figure = favourites_bars(doubtful, "Champions", 3)
    assert list(figure.data[0].y) == ["A"] and "1 product with a lift not established" in figure.layout.title.text
    figure = favourites_bars(favourites.assign(lift_established=False), "Champions", 3)
    text = figure.layout.annotations[0].text.replace("<br>", " ")
    assert not figure.data and "No product is established" in text and "2 products with a lift above 1" in text
    few = below.assign(customers=[2, 1, 2])  # no product has 3 Champions buyers
    figure = favourites_bars(few, "Champions", 3)
    assert not figure.data and "No product has 3 Champions buyers" in figure.layout.annotations[0].text


def test_region_heatmap_keeps_products_with_one_name_on_separate_rows():
    sales = pd.DataFrame({
        "product_id": ["1", "2", "1", "3"], "product_name": ["MUG", "MUG", "MUG", "LAMP"],
        "country": ["France", "France", "Spain", "Spain"], "revenue": [10.0, 7.0, 5.0, 1.0],
    })  # fmt: skip
    figure = region_heatmap(sales)
    assert list(figure.data[0].y) == ["MUG (1)", "MUG (2)", "LAMP"]  # by total: 15, 7, 1
    assert [list(r) for r in figure.data[0].z] == [[10.0, 5.0], [7.0, 0.0], [0.0, 1.0]]  # France, Spain


def test_a_cards_recommended_list_adds_the_code_where_two_picks_share_a_name():
    from segmint.app.pages.products import recommendation_list

    card = {"recommendations": [
        {"product_id": "85000", "product_name": "WHITE MUG", "score": 0.5, "reason": "bought twice"},
        {"product_id": "85037", "product_name": "WHITE MUG", "score": 0.4, "reason": "popular"},
        {"product_id": "85111", "product_name": "RED MUG", "score": 0.3, "reason": "popular"},
    ]}  # fmt: skip
    items = recommendation_list(card).children[1].children
    assert [li.children[0].children for li in items] == ["WHITE MUG (85000)", "WHITE MUG (85037)", "RED MUG"]


def test_without_a_country_column_the_region_charts_say_so():
    """Groceries_dataset.csv has no country: the heatmap showed one column headed "(unknown)"."""
    sales = pd.DataFrame({
        "product_id": ["1", "2", "1"], "product_name": ["milk", "bread", "milk"],
        "period": ["2015-01", "2015-01", "2015-02"],
        "country": ["(unknown)"] * 3, "revenue": [3.0, 2.0, 4.0],
    })  # fmt: skip
    figure = region_heatmap(sales)
    assert figure.data == () and "No country/region column" in figure.layout.annotations[0].text
    trend = region_trend(sales, "1")
    assert list(trend.data[0].y) == [3.0, 4.0] and trend.layout.showlegend is False
    assert "no country/region column" in trend.layout.title.text


def test_segment_trend_uses_the_segment_colours_and_order():
    """The stacked bars took Plotly's colours (Champions purple, Lost cyan): now the dashboard's, lowest
    segment first, with every segment named in the legend."""
    from segmint.app.product_figures import segment_trend
    from segmint.charts import segment_colors

    sales = pd.DataFrame({"period": ["2024-01", "2024-01", "2024-02"], "segment": ["Lost", "Champions", "Lost"],
                          "product_id": "p", "product_name": "milk", "revenue": [1.0, 2.0, 3.0]})
    colors = segment_colors(pd.DataFrame({"segment": ["Champions", "Lost", "At Risk"], "segment_order": [10, 0, 3]}))
    figure = segment_trend(sales, "p", "revenue", colors)
    assert [trace.name for trace in figure.data] == ["Lost", "Champions"]
    assert [trace.marker.color for trace in figure.data] == [colors["Lost"], colors["Champions"]]
    assert figure.layout.legend.orientation == "h"


def test_a_long_empty_message_wraps():
    from segmint.charts import EMPTY_MESSAGE_WIDTH, empty_figure

    text = empty_figure("No country/region column in the data: sales by region need one").layout.annotations[0].text
    assert text == "No country/region column in the data:<br>sales by region need one"
    assert all(len(line) <= EMPTY_MESSAGE_WIDTH for line in text.split("<br>"))
    assert empty_figure("Pick a product").layout.annotations[0].text == "Pick a product"
