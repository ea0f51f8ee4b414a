"""Without prices the sentences and labels that spoke of money count items: the RFM reasons, the value story's
note, the Value page's predicted-value card, the Segments grid's average and the Distributions page; priced
data read as before."""

from __future__ import annotations

import pandas as pd
import pytest

from segmint.api import analyze, read_transactions, story
from segmint.clean_options import CleanOptions

# 3 customers: 1 on Jan 5 (2 items) and Mar 1 (3), 2 on Feb 1 (1), 3 on Mar 2 (1); snapshot Mar 3
BASKETS = ("Member_number,Date,itemDescription\n1,2024-01-05,milk\n1,2024-01-05,bread\n2,2024-02-01,milk\n"
           "1,2024-03-01,eggs\n1,2024-03-01,milk\n1,2024-03-01,tea\n3,2024-03-02,milk\n")
# the same purchases with prices: one line per visit, the amount equal to the items
PRICED = "customer,date,amount\n1,2024-01-05,2\n2,2024-02-01,1\n1,2024-03-01,3\n3,2024-03-02,1\n"
MONTH = {"rfm": {"new_within": "month"}}  # only customer 3 (first purchase Mar 2) is new


@pytest.fixture
def baskets(tmp_path):
    path = tmp_path / "baskets.csv"
    path.write_text(BASKETS)
    return read_transactions(str(path), options=CleanOptions(unpriced="units"))


@pytest.fixture
def priced(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(PRICED)
    return read_transactions(str(path))


def _reasons(result) -> dict[str, str]:
    frame = result.segments["rfm"].select("customer_id", "reason").execute()
    return dict(zip(frame["customer_id"], frame["reason"], strict=True))


def test_rfm_reasons_count_items_without_prices(baskets, priced):
    # 3 customers, ranks spread over 1..5 (1 + floor(4k / 2)): customer 1 second most recent (R=3), most visits
    # and items (F=M=5) -> Loyal Customers; customer 2: lowest everything
    reasons = _reasons(analyze(baskets, scheme="rfm", config=MONTH))
    assert reasons["1"] == "R=3 F=5 M=5 -> Loyal Customers: returns regularly and has bought many items"
    assert reasons["2"] == "R=1 F=1 M=1 -> Lost: lowest recency, frequency and item count"
    assert not any("spen" in r for r in reasons.values())
    reasons = _reasons(analyze(priced, scheme="rfm", config=MONTH))
    assert reasons["1"] == "R=3 F=5 M=5 -> Loyal Customers: buys regularly and spends well"
    assert reasons["2"] == "R=1 F=1 M=1 -> Lost: lowest recency, frequency and spend"
    # the story's reasons too
    rows = story(baskets, scheme="rfm", period="month").tables()["story"].set_index("customer_id")
    assert rows.loc["2", "current_reason"] == "R=1 F=1 M=1 -> Lost: lowest recency, frequency and item count"


def test_unpriced_descriptions_repeat_no_word():
    # "buys regularly and buys many items" (Loyal Customers), "used to buy often and buy many items", "few items
    # and few orders": the money phrases were swapped one by one and met the words beside them
    from segmint.segment.rfm import RFMConfig
    from segmint.units import item_config

    worded = {s.name: s.description for s in item_config(RFMConfig(), priced=False).segments}
    assert worded["Loyal Customers"] == "returns regularly and has bought many items"
    for name, text in worded.items():
        words = [w.strip(",") for w in text.split() if w.strip(",") not in ("a", "and", "the")]
        assert len(words) == len(set(words)), f"{name}: {text}"
        assert not any(w.startswith("spen") for w in words), f"{name}: {text}"
    assert worded["New Customers"] == "first purchase in the current period"  # no money in it: unchanged


def test_own_descriptions_are_never_rewritten(baskets, priced):
    # a user's rule table: customer 3 is new (Own), 2 has R=1 (Best), 1 falls to the catch-all (Rest)
    config = {"rfm": {"new_within": "month", "segments": [
        {"name": "Own", "description": "big spenders", "unpriced_description": "big baskets"},
        {"name": "Best", "description": "low spenders who spend well on weekends"},
        {"name": "Rest", "description": "buys regularly and spends well"},  # the packaged Loyal Customers text
    ], "rules": [{"segment": "Own", "new": True}, {"segment": "Best", "r": [1, 1]}, {"segment": "Rest"}]}}
    reasons = {k: v.split(": ", 1)[1] for k, v in _reasons(analyze(baskets, scheme="rfm", config=config)).items()}
    # the own text kept as written (was "few itemsers who spend well on weekends"), the own unpriced wording
    # used, the packaged text worded for items as the packaged table is
    assert reasons == {"2": "low spenders who spend well on weekends", "3": "big baskets",
                       "1": "returns regularly and has bought many items"}
    reasons = {k: v.split(": ", 1)[1] for k, v in _reasons(analyze(priced, scheme="rfm", config=config)).items()}
    assert reasons == {"2": "low spenders who spend well on weekends", "3": "big spenders",
                       "1": "buys regularly and spends well"}


def test_value_story_note_ranks_items_without_prices(baskets, priced):
    notes = story(baskets, scheme="value", period="month").notes
    assert ("the data have no cost: the value story ranks items bought (no prices) where profit (amount - cost) "
            "would be") in notes
    assert not any("revenue" in n for n in notes)
    notes = story(priced, scheme="value", period="month").notes
    assert ("the data have no cost: the value story ranks revenue (net spend) where profit (amount - cost) "
            "would be") in notes


def test_value_reasons_count_items_without_prices(baskets, priced):
    # customer 1 bought 2 + 3 = 5 items on 2 visits; the reason said "revenue 5.00 (cluster ...)" in a basket log,
    # then "items 5.00" (items written as money; the clusters scheme says "items 5")
    def reasons(tx, **kwargs):
        frame = analyze(tx, scheme="value", **kwargs).segments["value"].select("customer_id", "reason").execute()
        return dict(zip(frame["customer_id"], frame["reason"], strict=True))

    unpriced = reasons(baskets)
    assert unpriced["1"].startswith("items 5 (cluster ") and ", frequency 2 (cluster " in unpriced["1"]
    # what the ranking was based on: items, not the "revenue" the column claimed in a basket log
    for tx, basis in ((baskets, "items"), (priced, "revenue")):
        labelled = analyze(tx, scheme="value").segments["value"].select("value_basis").execute()
        assert set(labelled["value_basis"]) == {basis}
    assert unpriced["2"].startswith("items 1 (cluster ")
    assert reasons(priced)["1"].startswith("revenue 5.00 (cluster ")
    # the story's reasons: customer 1's March (3 items), as-is per period and current
    tables = story(baskets, scheme="value", period="month").tables()
    periods = tables["period_segments"].execute()  # an Ibis table (every customer-period)
    march = periods.query("customer_id == '1' and period == '2024-03'")
    assert march["reason"].iloc[0].startswith("items 3 (cluster ")
    current = tables["story"].set_index("customer_id").loc["1", "current_reason"]
    assert current.startswith("items 3 (cluster ")
    assert not periods["reason"].str.contains("revenue").any()


def test_dashboard_labels_count_items_without_prices():
    from types import SimpleNamespace

    from segmint.app import figures
    from segmint.app.pages import segments, value

    headers = {c["field"]: c["headerName"] for c in segments.column_defs(segments.KPI_COLUMNS, priced=False)}
    assert headers["mean_monetary"] == "Avg items"
    headers = {c["field"]: c["headerName"] for c in segments.column_defs(segments.KPI_COLUMNS)}
    assert headers["mean_monetary"] == "Avg monetary"
    customers = pd.DataFrame({"clv": [1.5, 2.5], "p_alive": [0.5, 1.0], "churn_risk": ["high", "low"]})
    result = SimpleNamespace(customers=customers, window=SimpleNamespace(calibration_end="2024-03-01"),
                             horizon_label=lambda: "12 months", degenerate=None)
    titles = [str(card) for card in value.kpis(result, priced=False)]
    assert "Predicted items" in titles[1] and "Predicted value" not in titles[1] and "'4'" in titles[1]
    assert "Predicted value" in str(value.kpis(result)[1])
    bins = pd.DataFrame({"bin_start": [1.0, 2.0], "bin_end": [2.0, 3.0], "customers": [2, 1]})
    figure = figures.histogram(bins, "monetary", priced=False)
    assert figure.layout.title.text == "Items" and figure.layout.xaxis.title.text == "Items bought (net)"
    figure = figures.histogram(bins, "monetary")
    assert figure.layout.title.text == "Monetary" and figure.layout.xaxis.title.text == "Monetary (net spend)"
    points = pd.DataFrame({"customer_id": ["1", "2"], "recency_days": [2, 31], "frequency": [2, 1],
                           "monetary": [5.0, 1.0], "segment": ["A", "B"], "segment_order": [1, 0]})
    figure = figures.segment_scatter(points, "frequency", "monetary", priced=False)
    assert figure.layout.title.text == "Frequency vs items" and figure.layout.yaxis.title.text == "Items bought (net)"
    assert figures.segment_scatter(points, "frequency", "monetary").layout.title.text == "Frequency vs monetary"


def _scheme_reasons(tx, scheme: str, **kwargs) -> dict[str, str]:
    frame = analyze(tx, scheme=scheme, **kwargs).segments[scheme].select("customer_id", "reason").execute()
    return dict(zip(frame["customer_id"], frame["reason"], strict=True))


def test_tiers_reasons_count_items_without_prices(baskets, priced):
    # ATV: 1 bought 5 items on 2 visits (2.50), 2 and 3 one item on one visit (1.00). Bucket 1 + floor(10 k / 3):
    # 1 -> 7 (k=2), 2 and 3 -> 1. Index: bucket items per customer / 7/3 x100: 5 -> 214, 1 -> 43; cut-offs
    # 157 and 71 make bucket 7 High and bucket 1 Low. Visits rank the same way (2 against 1, 1).
    top = ("in bucket 7 of 10 (index 214) -> High Value; 2 visits in bucket 7 of 10 (index 214) -> High Frequency")
    low = ("in bucket 1 of 10 (index 43) -> Low Value; 1 visit in bucket 1 of 10 (index 43) -> Low Frequency")
    reasons = _scheme_reasons(baskets, "tiers")
    assert reasons["1"] == "items/visit 2.50 " + top  # was "ATV 2.50 ..." in a basket log
    assert reasons["2"] == "items/visit 1.00 " + low
    reasons = _scheme_reasons(priced, "tiers")
    assert reasons["1"] == "ATV 2.50 " + top
    assert reasons["2"] == "ATV 1.00 " + low


def test_cluster_reasons_count_items_without_prices(baskets, priced):
    # 1: 5 items, the only customer with at least 5 of 3 -> top ceil(100/3) = 34%; 2: 1 item, all 3 have >= 1 -> 100%.
    # Recency from Mar 3 (the day after the last purchase): 1 bought Mar 1 (2 days), 2 Feb 1 (31 days, 2024 leaps)
    config = {"clusters": {"k": 2}}
    reasons = {k: v.split(" -> ")[0] for k, v in _scheme_reasons(baskets, "clusters", config=config).items()}
    assert reasons["1"] == "items 5 (top 34%), frequency 2, last purchase 2 days ago"  # was "monetary 5 (top 34%)"
    assert reasons["2"] == "items 1 (top 100%), frequency 1, last purchase 31 days ago"
    reasons = {k: v.split(" -> ")[0] for k, v in _scheme_reasons(priced, "clusters", config=config).items()}
    assert reasons["1"] == "monetary 5 (top 34%), frequency 2, last purchase 2 days ago"


def test_dashboard_api_names_item_counts_items(baskets, priced):
    # the JSON API's "revenue" and "aov" carried item counts: without prices they are named as the exported
    # tables name them (items, share_of_items, items_per_order) and "amounts" says which
    from segmint.app import create_app

    for tx, expected in ((baskets, "items"), (priced, "money")):
        dash_app = create_app(transactions=tx)
        client = dash_app.server.test_client()
        try:
            body = client.get("/api/summary?scheme=tiers").get_json()
            rows = client.get("/api/segments/tiers").get_json()["rows"]
            one = client.get("/api/customers/1").get_json()
            features = one["features"]
        finally:
            dash_app.segmint_state.close()
        assert body["amounts"] == expected
        top = next(s for s in body["segments"] if s["segment"] == "High Value / High Frequency")
        if expected == "items":
            # 7 items on 4 visits (1.75 per visit); customer 1: 5 of the 7 items, 2.5 per visit
            assert (body["items"], body["orders"], body["items_per_order"]) == (7.0, 4, 1.75)
            assert "revenue" not in body and "aov" not in body
            assert (top["items"], top["share_of_items"], top["items_per_order"]) == (5.0, 0.7143, 2.5)
            assert not {"revenue", "share_of_revenue", "aov"} & set(top)
            assert (features["items"], features["items_per_order"]) == (5.0, 2.5)
            assert rows[0]["items_per_visit"] == 2.5 and "atv" not in rows[0]
            # tiers' copy of revenue ("sales") is no second column: customer 1's 5 items once, as items
            assert rows[0]["items"] == 5.0 and not {"revenue", "sales"} & set(rows[0])
            assert one["segments"]["tiers"]["items_per_visit"] == 2.5
            assert not {"sales", "atv", "items"} & set(one["segments"]["tiers"])
            assert one["story"]["total_items"] == 5.0 and "total_spend" not in one["story"]
        else:
            assert (body["revenue"], body["orders"], body["aov"]) == (7.0, 4, 1.75)
            assert (top["revenue"], top["share_of_revenue"], top["aov"]) == (5.0, 0.7143, 2.5)
            assert (features["revenue"], features["avg_order_value"]) == (5.0, 2.5)
            assert (one["segments"]["tiers"]["sales"], one["segments"]["tiers"]["atv"]) == (5.0, 2.5)
            assert rows[0]["revenue"] == rows[0]["sales"] == 5.0 and one["story"]["total_spend"] == 5.0


def test_tie_notes_count_items_without_prices(tmp_path):
    """The schemes' notes on tied values said 'the same spend' and 'the same average order value' of item counts."""
    lines = "".join(f"{c},2024-01-0{c},milk\n" for c in range(1, 7))  # 6 customers, 1 item each on 1 visit
    baskets = tmp_path / "baskets.csv"
    baskets.write_text("Member_number,Date,itemDescription\n" + lines)
    priced = tmp_path / "sales.csv"
    priced.write_text("customer,date,amount\n" + "".join(f"{c},2024-01-0{c},1\n" for c in range(1, 7)))
    for tx, spend, order in ((read_transactions(str(baskets), options=CleanOptions(unpriced="units")),
                              "number of items", "average items per order"),
                             (read_transactions(str(priced)), "spend", "average order value")):
        notes = analyze(tx, scheme=["rfm", "tiers"]).notes()
        # all 6 tie at 1 (item or money unit) and at 1 per visit (a score that ranks no one: segment.notes)
        assert any(f"all 6 customers have the same {spend} (1)" in n for n in notes), notes
        assert any(f"all 6 customers have the same {order} (1)" in n for n in notes), notes


def test_rfm_grid_and_score_bars_say_items_without_prices():
    """The R x F grid's title and both charts' hovers said 'average monetary' of item counts (dashboard, report)."""
    from segmint import charts

    grid = pd.DataFrame({"r_score": [1], "f_score": [1], "customers": [2], "avg_monetary": [3.5]})
    totals = pd.DataFrame({"total_score": [3], "customers": [2], "avg_monetary": [3.5]})
    for priced, word in ((False, "items"), (True, "monetary")):
        heatmap, bars = charts.rf_heatmap(grid, 1, priced), charts.rfm_score_bars(totals, priced)
        assert heatmap.layout.title.text.startswith(f"Recency x frequency scores<br><sup>(customers, average {word})")
        assert f"<br>avg {word} %{{customdata:,.2f}}" in heatmap.data[0].hovertemplate
        assert f"<br>avg {word} %{{customdata:,.0f}}" in bars.data[0].hovertemplate


def test_value_page_tables_name_predicted_items_without_prices():
    """The Value page's top-customers and by-segment tables headed a basket log's Gamma-Gamma figures
    'value / purchase', 'CLV' and 'mean CLV': they count items."""
    from types import SimpleNamespace

    from segmint.app.pages import value

    customers = pd.DataFrame({"value_rank": [1, 2], "customer_id": ["1", "2"], "p_alive": [0.9, 0.5],
                              "expected_purchases": [2.0, 1.0], "expected_avg_value": [3.0, 2.0], "clv": [6.0, 2.0],
                              "churn_risk": ["low", "high"], "recency": [4.0, 1.0]})
    by_segment = pd.DataFrame({"segment": ["A"], "customers": [2], "mean_p_alive": [0.7], "total_clv": [8.0],
                               "mean_clv": [4.0], "share_of_clv": [1.0]})
    for priced, words in ((False, ["items / purchase", "predicted items"]), (True, ["value / purchase", "CLV"])):
        result = SimpleNamespace(customers=customers, by_segment=by_segment, time_unit="week", degenerate=None,
                                 has_clv=True, priced=priced)
        top = str(value.top_customers(result))
        assert all(f"'{word}'" in top for word in words), top
        table = str(value.segment_table(result))
        assert ("'mean predicted items'" in table) is (not priced) and ("'mean CLV'" in table) is priced


def test_tiers_bucket_chart_counts_items_without_prices():
    """The tiers bucket chart of a basket log read 'Spend buckets: sales and customers' over an x axis of
    'spend (average transaction value)': items per visit and items."""
    from segmint import charts

    table = pd.DataFrame({"bucket": [1, 2], "customers": [3, 1], "sales": [3.0, 5.0], "share_of_sales": [0.375, 0.625],
                          "tier": ["Low", "High"]})
    figure = charts.bucket_bars(table, "value", priced=False)
    assert figure.layout.title.text.startswith("Items per visit buckets: items and customers")
    assert figure.layout.xaxis.title.text == "items per visit bucket, 1 = lowest"
    assert figure.data[0].name == "% of items" and "of items (" in figure.data[0].hovertemplate
    assert charts.bucket_bars(table, "value").layout.title.text.startswith("Spend buckets: sales and customers")
