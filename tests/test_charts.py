"""Figure builders: figure type, trace count, and plotted values equal to the input tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from segmint import charts as figures


@pytest.fixture
def summary() -> pd.DataFrame:
    return pd.DataFrame({"segment": ["Lost", "Champions", "Average"], "segment_order": [0, 2, 1],
                         "customers": [50, 10, 40], "revenue": [500.0, 4000.0, 1500.0]})


def test_segment_colors_run_red_to_green_and_outliers_grey() -> None:
    table = pd.DataFrame({"segment": ["Low", "High", "Mid", "Outlier"], "segment_order": [0, 2, 1, -1]})
    colors = figures.segment_colors(table)
    red_low = [int(v) for v in colors["Low"][4:-1].split(",")]
    green_high = [int(v) for v in colors["High"][4:-1].split(",")]
    assert red_low[0] > red_low[1] and green_high[1] > green_high[0]
    assert colors["Outlier"] == figures.OUTLIER_COLOR


def test_segment_share_treemap_values(summary: pd.DataFrame) -> None:
    fig = figures.segment_share(summary)
    assert len(fig.data) == 1 and fig.data[0].type == "treemap"
    trace = fig.data[0]
    assert list(trace.labels) == ["Champions", "Average", "Lost"]  # most valuable first
    assert list(trace.values) == [10, 40, 50]
    shares = [row[2] for row in trace.customdata]
    assert shares == pytest.approx([0.10, 0.40, 0.50])
    by_revenue = figures.segment_share(summary, value="revenue").data[0]
    assert list(by_revenue.values) == [4000.0, 1500.0, 500.0]


def test_rf_heatmap_cells_and_hover() -> None:
    grid = pd.DataFrame({"r_score": [1, 1, 2], "f_score": [1, 2, 2], "customers": [5, 3, 7],
                         "avg_monetary": [10.0, 20.0, 35.5]})
    fig = figures.rf_heatmap(grid)
    assert len(fig.data) == 1 and fig.data[0].type == "heatmap"
    z = np.asarray(fig.data[0].z, dtype=float)
    assert list(fig.data[0].y) == ["R1", "R2"] and list(fig.data[0].x) == ["F1", "F2"]
    assert z[0, 0] == 5 and z[0, 1] == 3 and z[1, 1] == 7 and math.isnan(z[1, 0])
    assert fig.data[0].text[1][1] == "7<br>avg 36"  # 35.5 rounds half to even on format -> 36
    assert np.asarray(fig.data[0].customdata, dtype=float)[0, 1] == 20.0


def test_rf_heatmap_keeps_empty_score_levels() -> None:
    """Ties can leave F2 empty; with the bins the grid still has its F2 column (empty), not F1, F3, F4."""
    grid = pd.DataFrame({"r_score": [1, 2, 3], "f_score": [1, 3, 4], "customers": [5, 3, 7],
                         "avg_monetary": [10.0, 20.0, 30.0]})
    fig = figures.rf_heatmap(grid, bins=4)
    assert list(fig.data[0].x) == ["F1", "F2", "F3", "F4"] and list(fig.data[0].y) == ["R1", "R2", "R3", "R4"]
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[:, 1]).all() and np.isnan(z[3]).all() and z[1, 2] == 3


def test_revenue_by_country_sorted_and_rest_summed() -> None:
    table = pd.DataFrame({"country": ["A", "B", "C", "D"], "revenue": [10.0, 40.0, 30.0, 20.0],
                          "customers": [1, 4, 3, 2]})
    fig = figures.revenue_by_country(table, top=2)
    bar = fig.data[0]
    assert bar.type == "bar" and bar.orientation == "h"
    # plotted bottom-up: the largest is last
    assert list(bar.y) == ["2 other countries", "C", "B"]
    assert list(bar.x) == [30.0, 30.0, 40.0]  # A + D = 10 + 20
    assert list(bar.customdata) == [3, 3, 4]


def test_histogram_linear_and_log_axes() -> None:
    bins = pd.DataFrame({"bin_start": [0.0, 1.0, 2.0], "bin_end": [1.0, 2.0, 3.0], "customers": [4, 9, 1]})
    fig = figures.histogram(bins, "monetary", log_x=True, log_y=True)
    bar = fig.data[0]
    assert bar.type == "bar" and list(bar.y) == [4, 9, 1] and list(bar.x) == [0.5, 1.5, 2.5]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2, 3]
    assert list(fig.layout.xaxis.ticktext) == ["1", "10", "100", "1,000"]
    assert fig.layout.yaxis.type == "log"
    assert bar.customdata[1] == pytest.approx((10.0, 100.0))


def test_segment_scatter_one_trace_per_segment_and_sample_title() -> None:
    points = pd.DataFrame({"customer_id": ["a", "b", "c"], "recency_days": [1, 5, 9],
                           "frequency": [3, 1, 1], "monetary": [30.0, 10.0, 5.0],
                           "segment": ["Top", "Low", "Low"], "segment_order": [1, 0, 0]})
    fig = figures.segment_scatter(points, "recency_days", "frequency", total=300)
    assert [t.name for t in fig.data] == ["Top", "Low"]
    assert list(fig.data[1].x) == [5, 9] and list(fig.data[1].y) == [1, 1]
    assert "random sample of 3 of 300" in fig.layout.title.text
    assert "sample" not in figures.segment_scatter(points, "frequency", "monetary", total=3).layout.title.text


def test_empty_tables_give_a_message_not_an_error(summary: pd.DataFrame) -> None:
    fig = figures.segment_share(summary.iloc[0:0])
    assert len(fig.data) == 0 and "No customers" in fig.layout.annotations[0].text


def test_segment_pie_values_and_colours(summary: pd.DataFrame) -> None:
    fig = figures.segment_pie(summary, "revenue")
    trace = fig.data[0]
    assert trace.type == "pie" and list(trace.labels) == ["Champions", "Average", "Lost"]
    assert list(trace.values) == [4000.0, 1500.0, 500.0]
    colors = figures.segment_colors(summary)
    assert list(trace.marker.colors) == [colors[s] for s in trace.labels]
    assert "revenue" in fig.layout.title.text


def test_rfm_score_bars_show_every_total_including_empty_ones() -> None:
    totals = pd.DataFrame({"total_score": [3, 5, 6], "customers": [2, 4, 1], "avg_monetary": [1.0, 2.0, 3.0]})
    bar = figures.rfm_score_bars(totals).data[0]
    assert list(bar.x) == [3, 4, 5, 6] and list(bar.y) == [2, 0, 4, 1]


def test_bucket_bars_colour_by_tier() -> None:
    table = pd.DataFrame({"bucket": [2, 1, 3], "tier": ["Mid", "Low", "High"], "customers": [5, 5, 10],
                          "sales": [20.0, 10.0, 70.0], "share_of_sales": [0.2, 0.1, 0.7]})
    fig = figures.bucket_bars(table, "value")
    bars, customers = fig.data
    assert list(bars.x) == ["1", "2", "3"] and list(bars.y) == [0.1, 0.2, 0.7]
    assert list(bars.marker.color) == [figures.TIER_COLORS[t] for t in ("Low", "Mid", "High")]
    assert list(customers.y) == pytest.approx([0.25, 0.25, 0.5])


def test_titles_use_words_not_column_names_and_empty_charts_have_no_toolbar() -> None:
    bins = pd.DataFrame({"bin_start": [0.0], "bin_end": [1.0], "customers": [3]})
    fig = figures.histogram(bins, "recency_days")
    assert fig.layout.title.text == "Recency" and "days since last purchase" in fig.layout.xaxis.title.text
    points = pd.DataFrame({"customer_id": ["a"], "recency_days": [1], "frequency": [2], "monetary": [3.0],
                           "segment": ["S"], "segment_order": [0]})
    scatter = figures.segment_scatter(points, "recency_days", "frequency", legend=False)
    assert "_" not in scatter.layout.title.text and scatter.layout.showlegend is False
    empty = figures.empty_figure("nothing")
    assert "toImage" in empty.layout.modebar.remove and "zoom2d" in empty.layout.modebar.remove


def test_timeline_bars_are_wide_enough_to_see() -> None:
    dates = pd.Series(pd.to_datetime(["2022-01-01", "2024-12-31"]))
    width_days = figures.bar_width_ms(dates) / 86_400_000
    assert 8 < width_days < 10  # 1/120 of ~3 years
    assert figures.bar_width_ms(pd.Series(pd.to_datetime(["2024-01-01"]))) / 86_400_000 == 4


def test_long_titles_put_their_parenthesis_on_a_second_line():
    """Plotly never wraps a title: at 900 px the R x F grid read "Recency x frequency scores (customers, average"."""
    from segmint.charts import title_lines

    assert title_lines("Recency x frequency scores (customers, average monetary)") == (
        "Recency x frequency scores<br><sup>(customers, average monetary)</sup>", True)
    assert title_lines("Segment share (customers)") == ("Segment share (customers)", False)  # short: one line
    assert title_lines("Customers vs predicted value by segment, all of them") == (
        "Customers vs predicted value by segment, all of them", False)  # nothing to move
    grid = pd.DataFrame({"r_score": [1, 5], "f_score": [1, 5], "customers": [2, 3], "avg_monetary": [10.0, 20.0]})
    fig = figures.rf_heatmap(grid)
    assert fig.layout.title.text.startswith("Recency x frequency scores<br>") and fig.layout.margin.t == 72
