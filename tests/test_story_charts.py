"""Story charts: values equal the input tables; Sankey order, hidden Inactive flows, partial marks."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from segmint import charts as figures
from segmint import story_charts as sf

ORDER = {"Top": 2, "Mid": 1, "Low": 0, "Inactive": -1}
FLOWS = pd.DataFrame({
    "from_segment": ["Top", "Top", "Low", "Inactive", "Inactive", "Mid"],
    "to_segment": ["Top", "Inactive", "Top", "Inactive", "Mid", "Low"],
    "customers": [5, 2, 1, 40, 3, 1],
})


def test_customer_timeline_two_rows_and_partial_period_marked() -> None:
    purchases = pd.DataFrame({"invoice_id": ["i1", "i2"], "invoice_date": pd.to_datetime(["2023-01-05", "2023-05-01"]),
                              "amount": [12.5, 30.0]})
    periods = pd.DataFrame({"period": ["2023-Q1", "2023-Q2"],
                            "period_start": pd.to_datetime(["2023-01-01", "2023-04-01"]),
                            "period_end": pd.to_datetime(["2023-03-31", "2023-06-30"]),
                            "segment": ["New", "Inactive"], "segment_order": [3, -1]})
    fig = sf.customer_timeline(periods, purchases, "C1", labels={"2023-Q2": "2023-Q2 (partial, 44% of days)"})
    assert [t.type for t in fig.data] == ["bar", "scatter"]
    assert list(fig.data[0].y) == [12.5, 30.0] and list(fig.data[1].y) == ["New", "Inactive"]
    assert [a.text for a in fig.layout.annotations] == ["partial, 44% of days"]
    assert len(fig.layout.shapes) == 2  # the partial quarter is shaded on both rows
    assert list(fig.data[1].customdata) == ["2023-Q1", "2023-Q2 (partial, 44% of days)"]


def test_customer_timeline_keeps_the_schemes_colours() -> None:
    scheme = pd.DataFrame({"segment": ["Lost", "Hibernating", "Loyal", "Champions", "Inactive"],
                           "segment_order": [0, 1, 2, 3, -1]})
    palette = figures.segment_colors(scheme)
    periods = pd.DataFrame({"period": ["2023-Q1", "2023-Q2"], "period_start": pd.to_datetime(["2023-01-01", "2023-04-01"]),
                            "segment": ["Hibernating", "Lost"], "segment_order": [1, 0]})
    purchases = pd.DataFrame({"invoice_id": ["i1"], "invoice_date": pd.to_datetime(["2023-01-05"]), "amount": [10.0]})
    fig = sf.customer_timeline(periods, purchases, "C1", palette)
    assert list(fig.data[1].marker.color) == [palette["Hibernating"], palette["Lost"]]


def test_sankey_hides_inactive_to_inactive_by_default_and_keeps_one_order() -> None:
    fig = sf.transitions_sankey(FLOWS, ORDER, "Q1", "Q2")
    sankey = fig.data[0]
    # one order on both sides: most valuable first, Inactive last
    assert list(sankey.node.label) == ["Top 7", "Mid 1", "Low 1", "Inactive 3", "Top 6", "Mid 3", "Low 1",
                                       "Inactive 2"]
    assert sum(sankey.link.value) == 12  # 40 customers inactive in both periods are not drawn
    assert "40 customers inactive in both periods are hidden" in fig.layout.title.text
    shown = sf.transitions_sankey(FLOWS, ORDER, "Q1", "Q2", show_inactive=True).data[0]
    assert sum(shown.link.value) == 52 and list(shown.node.label)[3] == "Inactive 43"
    # labels never overlap: neighbouring node centres are at least one label height apart
    for side in (list(sankey.node.y)[:4], list(sankey.node.y)[4:]):
        assert side == sorted(side)
        assert min(np.diff(side)) >= sf.LABEL_SPACE - 1e-9
    assert set(sankey.node.x) == {0.001, 0.999}


def test_sankey_with_nothing_but_inactive() -> None:
    only = FLOWS[(FLOWS.from_segment == "Inactive") & (FLOWS.to_segment == "Inactive")]
    fig = sf.transitions_sankey(only, ORDER, "Q1", "Q2")
    assert len(fig.data) == 0 and "Only Inactive" in fig.layout.annotations[0].text


def test_migration_matrix_counts_and_row_shares() -> None:
    fig = sf.migration_matrix(FLOWS, ORDER, "Q1", "Q2", labels={"Q2": "Q2 (partial, 50% of days)"})
    heat = fig.data[0]
    assert list(heat.y) == ["Top", "Mid", "Low", "Inactive"] and list(heat.x) == ["Top", "Mid", "Low", "Inactive"]
    counts = np.asarray(heat.customdata)
    assert counts[0].tolist() == [5, 0, 0, 2] and counts[3].tolist() == [0, 3, 0, 40]
    assert np.asarray(heat.z)[0, 0] == pytest.approx(5 / 7)
    assert heat.text[0][0] == "5<br>71%" and heat.text[0][1] == ""
    assert fig.layout.xaxis.title.text == "to Q2 (partial, 50% of days)"


def test_cohort_heatmap_percentages_and_partial_cohorts() -> None:
    cohorts = pd.DataFrame({"cohort": ["Q1", "Q1", "Q2"], "periods_since": [0, 1, 0],
                            "cohort_size": [10, 10, 4], "retained_pct": [100.0, 30.0, 100.0]})
    fig = sf.cohort_heatmap(cohorts, labels={"Q1": "Q1 (partial, 50% of days)"})
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z[0, 0] == 100 and z[0, 1] == 30 and z[1, 0] == 100 and math.isnan(z[1, 1])
    assert list(fig.data[0].y) == ["Q1 (partial, 50% of days) (n=10)", "Q2 (n=4)"]


def test_period_labels_mark_only_partial_periods() -> None:
    periods = pd.DataFrame({"period": ["Q1", "Q2"], "partial": [True, False], "coverage": [0.4396, 1.0]})
    assert sf.period_labels(periods) == {"Q1": "Q1 (partial, 44% of days)"}


def test_period_activity_hatches_partial_periods() -> None:
    retention = pd.DataFrame({"period": ["Q1", "Q2", "Q3"], "active": [10, 12, 4],
                              "revenue_per_day": [5.0, 6.0, 5.5], "note": ["", "", "partial (30% of days)"]})
    fig = sf.period_activity(retention)
    bars, line = fig.data
    assert list(bars.y) == [10, 12, 4] and list(line.y) == [5.0, 6.0, 5.5]
    assert list(bars.marker.pattern.shape) == ["", "", "/"]
    assert list(bars.x) == ["Q1", "Q2", "Q3*"] and list(bars.customdata)[2] == "partial (30% of days)"
    assert "hatched: partial period" in fig.layout.title.text


def test_migration_shares_never_round_a_move_to_0_percent() -> None:
    # CDNOW's value story, 1998-Q1 -> 1998-Q2: 15 of 3,157 Low Value customers moved to Average (0.48%),
    # shown as "15 / 0%"; the report's pooled table showed "0%" with no count beside it
    flows = pd.DataFrame({"from_segment": ["Low", "Low", "Low"], "to_segment": ["Top", "Low", "Inactive"],
                          "customers": [15, 1_256, 1_886]})
    heat = sf.migration_matrix(flows, ORDER, "Q1", "Q2").data[0]
    row = heat.text[list(heat.y).index("Low")]
    assert row[list(heat.x).index("Top")] == "15<br><1%"  # 15 / 3,157 = 0.48%
    assert row[list(heat.x).index("Low")] == "1,256<br>40%" and row[list(heat.x).index("Inactive")] == "1,886<br>60%"
    from segmint.util import whole_percent

    assert [whole_percent(v) for v in (0.0, 0.0048, 0.012, 0.994, 0.996, 1.0, float("nan"))] == [
        "0%", "<1%", "1%", "99%", ">99%", "100%", ""]



def test_report_migration_table_never_rounds_a_move_to_0_percent() -> None:
    # 300 customers buy once for 10.00 in 2023-Q1 (one segment: all alike); in Q2 only customer C000
    # buys again: the pooled row has one move of 1/300 = 0.33%, printed "0%", and 299/300 printed "100%"
    import ibis

    import segmint
    from segmint.report_html import html_report
    from tests.app.conftest import hand_frame

    template = hand_frame().iloc[:1]
    rows = [template.assign(invoice_id=f"I{i}", customer_id=f"C{i:03d}", invoice_date=pd.Timestamp("2023-01-02")
                            + pd.Timedelta(days=i % 80), amount=10.0, unit_price=10.0) for i in range(300)]
    rows.append(template.assign(invoice_id="J0", customer_id="C000", invoice_date=pd.Timestamp("2023-05-02")))
    table = ibis.duckdb.connect().create_table("tx", pd.concat(rows, ignore_index=True))
    page = html_report(segmint.analyze(table, scheme=["rfm"], story_period="quarter"))
    pooled = page.split("Migration: where each segment")[1].split("</table>")[0]
    body = pooled.split("<tbody>")[1]
    assert body.count("<tr>") == 1  # one segment in Q1
    cells = re.findall(r'<td class="num">([^<]*)</td>', body)
    assert sorted(c for c in cells if c != "0%") == ["&gt;99%", "&lt;1%"], cells
