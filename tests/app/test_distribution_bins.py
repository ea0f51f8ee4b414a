"""The Distributions page's histograms: whole numbers (visits, days, items) binned at whole-number widths, on a
linear and on a log axis, and log axes labelled with the values they mark (20, not "2")."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from segmint.app import figures
from segmint.app.queries import histogram_bins


def _bins(values: list[float], feature: str = "monetary", **options) -> pd.DataFrame:
    return histogram_bins(ibis.memtable(pd.DataFrame({feature: values})), feature, **options)


def test_whole_numbers_get_whole_number_bins():
    # items counted without prices: 1, 2, 2, 3 -> one bar per whole number, 0.5 to 1.5, 1.5 to 2.5, 2.5 to 3.5
    bins = _bins([1, 2, 2, 3])
    assert list(bins["bin_start"]) == [0.5, 1.5, 2.5] and list(bins["bin_end"]) == [1.5, 2.5, 3.5]
    assert list(bins["customers"]) == [1, 2, 1]
    # 1..1000 in 4 bins: width ceil(1000 / 4) = 250 from 0.5
    bins = _bins([1, 1, 2, 3, 5, 100, 1000], "frequency", bins=4)
    assert list(bins["bin_start"]) == [0.5, 750.5] and list(bins["customers"]) == [6, 1]
    # money keeps equal fractional widths: 1.5 to 3 in 3 bins of 0.5
    bins = _bins([1.5, 2.0, 3.0], bins=3)
    assert list(bins["bin_start"]) == [1.5, 2.0, 2.5] and list(bins["customers"]) == [1, 1, 1]


def test_log_bins_of_whole_numbers_span_whole_numbers():
    # log10 of 1..1000 in 4 bins of 0.75: edges 1, 5.62, 31.6, 177.8, 1000 -> whole numbers 1-5, 6-31 (none
    # here), 32-177, 178-1000; each bar spans k - 0.5 to m + 0.5, so 1-5 is log10(0.5) to log10(5.5)
    bins = _bins([1, 1, 2, 3, 5, 100, 1000], "frequency", bins=4, log=True)
    assert list(bins["customers"]) == [5, 1, 1]
    assert [10 ** v for v in bins["bin_start"]] == pytest.approx([0.5, 31.5, 177.5])
    assert [10 ** v for v in bins["bin_end"]] == pytest.approx([5.5, 177.5, 1000.5])
    # 1, 2, 3 in 40 log bins: three touching bars, no fraction of a visit between them
    bins = _bins([1, 2, 3], "frequency", log=True)
    assert [10 ** v for v in bins["bin_start"]] == pytest.approx([0.5, 1.5, 2.5])
    assert [10 ** v for v in bins["bin_end"]] == pytest.approx([1.5, 2.5, 3.5])


def test_log_axes_label_the_values_they_mark():
    bins = pd.DataFrame({"bin_start": [0.0, 1.0], "bin_end": [1.0, 2.0], "customers": [15, 300]})
    axis = figures.histogram(bins, "frequency", log_y=True).layout.yaxis
    assert axis.type == "log" and list(axis.tickvals) == [10, 20, 50, 100, 200]
    assert list(axis.ticktext) == ["10", "20", "50", "100", "200"]
    # over more than 2.5 decades the powers of ten alone: 1 to 20,000 customers
    bins = bins.assign(customers=[1, 20_000])
    assert list(figures.histogram(bins, "frequency", log_y=True).layout.yaxis.ticktext) == [
        "1", "10", "100", "1,000", "10,000"]
    points = pd.DataFrame({"customer_id": ["a", "b"], "recency_days": [1, 5], "frequency": [3, 1],
                           "monetary": [30.0, 10.0], "segment": ["A", "B"], "segment_order": [1, 0]})
    axis = figures.segment_scatter(points, "frequency", "monetary").layout.yaxis
    assert axis.type == "log" and axis.tickformat == ",~r"  # d3: 20 -> "20", 20000 -> "20,000"


def _hover(bins: pd.DataFrame, feature: str = "frequency", **options) -> list[str]:
    """The hover text of each bar as the browser shows it (Plotly's template filled in)."""
    bar = figures.histogram(bins, feature, **options).data[0]
    assert bar.hovertemplate == "%{customdata}<br>customers %{y:,}<extra></extra>"
    return list(bar.customdata)


def test_whole_number_bars_are_hovered_as_the_numbers_they_hold():
    # 1, 2, 2, 3 visits: bars 0.5-1.5, 1.5-2.5, 2.5-3.5 read "1", "2", "3" (they read "0.5 to 1.5")
    assert _hover(_bins([1, 2, 2, 3], "frequency")) == ["1", "2", "3"]
    # 1..1000 in 4 bins of 250 from 0.5: "1 to 250" and "751 to 1,000"
    assert _hover(_bins([1, 1, 2, 3, 5, 100, 1000], "frequency", bins=4)) == ["1 to 250", "751 to 1,000"]
    # log bins of whole numbers: 1-5, 32-177, 178-1,000 (see the test above)
    log_bins = _bins([1, 1, 2, 3, 5, 100, 1000], "frequency", bins=4, log=True)
    assert _hover(log_bins, log_x=True) == ["1 to 5", "32 to 177", "178 to 1,000"]
    # money keeps its edges: 1.5 to 2, 2 to 2.5, 2.5 to 3
    bar = figures.histogram(_bins([1.5, 2.0, 3.0], bins=3), "monetary").data[0]
    assert "customdata[0]" in bar.hovertemplate and [tuple(c) for c in bar.customdata] == [(1.5, 2.0), (2.0, 2.5), (2.5, 3.0)]
