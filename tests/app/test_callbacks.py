"""Page callbacks called directly (no browser) on a table whose numbers are computed by hand."""

from __future__ import annotations

import shutil

import pytest

from segmint.app.pages import customers, distributions, overview, segments, story
from segmint.errors import DataError

from .conftest import basket_state, hand_state, inputs

# One state for the module's callbacks: they only read it (settings and filters are inputs, cached apart),
# and its cached analyses and stories serve them all (a story alone is about 3 s of CPU). A test that
# needs the first computation itself takes ``fresh_state``.
state = pytest.fixture(hand_state, scope="module", name="state")
fresh_state = pytest.fixture(hand_state, name="fresh_state")

# By hand (snapshot 2023-03-27, D excluded: its return cancels its purchase):
# A: 2 orders, 150, last 2023-03-01 (26 days); B: 1, 200, 40 days; C: 3, 60, 7 days; E: 1, 5, 146 days.


def test_overview_kpis_and_country_revenue(state) -> None:
    cards, share, pie, rf, scores, country, country_style, note = overview.overview_content(
        state, "customers", *inputs(state))
    values = [card.children.children.children[1].children for card in cards]
    assert values == ["4", "415.00", f"{415 / 7:,.2f}", "75.0%"]  # E is the one not seen in 90 days; money to the cent
    assert sum(share.data[0].values) == 4
    assert pie.data[0].type == "pie" and sum(pie.data[0].values) == 4
    assert sum(scores.data[0].y) == 4  # every customer has one total RFM score
    assert country_style == {}
    revenue_pie = overview.overview_content(state, "revenue", *inputs(state))[2]
    assert sum(revenue_pie.data[0].values) == 415
    bars = dict(zip(country.data[0].y, country.data[0].x, strict=True))
    assert bars == {"United Kingdom": 210.0, "France": 200.0, "Germany": 5.0}
    assert sum(v for row in rf.data[0].z for v in row if v == v) == 4
    assert note is None


def test_country_filter_restricts_customers(state) -> None:
    cards, *_, country, _, _ = overview.overview_content(state, "customers",
                                                         *inputs(state, countries=["United Kingdom"]))
    assert cards[0].children.children.children[1].children == "2"  # A and C (D nets to zero)
    assert list(country.data[0].x) == [210.0]


def _counts(rows: list[dict]) -> dict[str, int]:
    return {row["segment"]: row["customers"] for row in rows}


def test_editing_level_thresholds_changes_segment_counts(state) -> None:
    # R/F/M scores (4 customers < 5 bins: 1 + floor(4 k / 3), k = customers strictly worse): A 3/3/3, B 2/1/5,
    # C 5/5/2, E 1/1/1 -> sums A 9, B 8, C 12, E 3.
    rows, strategies, _, _ = segments.segments_content(state, *inputs(state, "levels"))
    assert _counts(rows) == {"Top Customers": 1, "Loyal": 1, "Potential": 1, "Require Activation": 1}
    ids = [{"type": "cfg", "key": "bins"}] + [{"type": "cfg", "key": f"thresholds.{n}"} for n in (
        "Top Customers", "Champions", "Loyal", "Potential", "Promising", "Needs Attention",
        "Require Activation")]
    settings = segments.settings_from_inputs("levels", ids, [5, 11, 9, 8, 7, 6, 5, 3])
    rows, _, _, _ = segments.segments_content(state, *inputs(state, "levels", settings=settings))
    assert _counts(rows) == {"Top Customers": 1, "Champions": 1, "Loyal": 1, "Require Activation": 1}
    assert len(strategies.children) == 4


def test_invalid_thresholds_become_a_message(state) -> None:
    ids = [{"type": "cfg", "key": "thresholds.Champions"}, {"type": "cfg", "key": "thresholds.Loyal"}]
    settings = segments.settings_from_inputs("levels", ids, [5, 9])  # not decreasing
    with pytest.raises(Exception, match="decrease"):
        segments.segments_content(state, *inputs(state, "levels", settings=settings))


def test_tiers_show_bucket_tables(state) -> None:
    rows, _, buckets, _ = segments.segments_content(state, *inputs(state, "tiers"))
    assert sum(row["customers"] for row in rows) == 4
    grids = [c for c in buckets.children if getattr(c, "id", "").endswith("-grid")]
    assert [sum(r["customers"] for r in g.rowData) for g in grids] == [4, 4]
    bars = [c.figure for c in buckets.children if getattr(c, "id", "").endswith("-bars")]
    assert [round(sum(f.data[0].y), 6) for f in bars] == [1.0, 1.0]  # shares of sales add up
    assert [round(sum(f.data[1].y), 6) for f in bars] == [1.0, 1.0]  # shares of customers too


def test_distributions_bins_count_every_customer(state) -> None:
    result = distributions.distributions_content(state, [], *inputs(state))
    histograms, scatters, legend, note = result[:3], result[3:6], result[6], result[7]
    assert len(legend) == len({t.name for t in scatters[0].data})  # one chip per segment shown
    assert [sum(h.data[0].y) for h in histograms] == [4, 4, 4]
    assert sum(len(t.x) for t in scatters[0].data) == 4
    assert note == "Scatter plots show all 4 customers."


def test_story_search_and_customer(state) -> None:
    title, results, _ = story.search_content(state, "a", None, *inputs(state))
    assert "1 match" in title and results.children[0].id == {"type": "story-pick", "id": "A"}
    _, recent, _ = story.search_content(state, "", None, *inputs(state))
    ids = [item.id["id"] for item in recent.children]
    assert ids == ["C", "A", "B", "E"]  # most recent first
    assert [item.className for item in recent.children] == ["recent-customer"] * 3 + [""]
    card, timeline, _ = story.customer_content(state, "A", None, *inputs(state))
    text = str(card)
    assert "2023-01-10" in text and "2023-03-01" in text
    assert list(timeline.data[0].y) == [100.0, 50.0]


def test_one_current_segment_in_the_list_the_card_and_the_customers_grid(state) -> None:
    # rfm is as-of: the story's last period is the analysis's snapshot, so all three agree
    analysis = state.analysis(*story.context(*inputs(state))[:2])
    segments = analysis.customers.execute().set_index("customer_id")["segment"].to_dict()
    _, recent, _ = story.search_content(state, "", None, *inputs(state))
    for item in recent.children:
        customer = item.id["id"]
        assert f"current: {segments[customer]}," in str(item.children[2].children)
        card, _, _ = story.customer_content(state, customer, None, *inputs(state))
        assert f"'Current segment: ', className='text-muted'), Span('{segments[customer]}')" in str(card)
    # E (first purchase 2022-11-01, last quarter 2023-Q1) is not new; C/A/B joined in 2023-Q1 and are
    assert segments == {"A": "New Customers", "B": "New Customers", "C": "New Customers", "E": "Lost"}
    response = customers.rows_response(state, {"startRow": 0, "endRow": 10}, *inputs(state))
    rows = {r["customer_id"]: r for r in response["rowData"]}
    assert {c: r["segment"] for c, r in rows.items()} == segments
    assert rows["E"]["previous_segment"] == "New Customers" and rows["E"]["segment_changed_on"] == "2023-03-26"


def test_story_page_says_which_kind_it_shows(state) -> None:
    sentence, options, value, _ = story.kind_content(state, None, *inputs(state))
    assert value == "as_of" and "as-of (lifecycle)" in str(sentence)
    assert [o["disabled"] for o in options] == [False, True]  # rfm names claim lifecycle
    sentence, options, value, _ = story.kind_content(state, "within_period", *inputs(state, "value"))
    assert value == "within_period" and "within-period (activity/value)" in str(sentence)
    _, _, value, _ = story.kind_content(state, "as_of", *inputs(state, "value"))
    assert value == "as_of"
    flows = story.flows_content(state, None, None, [], None, *inputs(state, "value"))
    assert flows[1:3] == ("2022-Q4", "2023-Q1") and flows[3].data[0].type == "sankey"


def test_customers_grid_pages_sorts_and_filters(state) -> None:
    request = {"startRow": 0, "endRow": 2, "sortModel": [{"colId": "monetary", "sort": "desc"}]}
    response = customers.rows_response(state, request, *inputs(state))
    assert response["rowCount"] == 4
    assert [r["customer_id"] for r in response["rowData"]] == ["B", "A"]
    request["filterModel"] = {"frequency": {"filterType": "number", "type": "greaterThan", "filter": 1}}
    response = customers.rows_response(state, request, *inputs(state))
    assert response["rowCount"] == 2 and [r["customer_id"] for r in response["rowData"]] == ["A", "C"]


def test_customers_export_csv(state) -> None:
    path = customers.export_file(state, "csv", {"customer_id": {"filterType": "text", "type": "equals",
                                                                "filter": "b"}}, *inputs(state))
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and lines[1].startswith("B,")


def test_no_dataset_is_a_clear_error(state) -> None:
    session = ({"session_id": "x", "dataset_id": None}, None, None, None, None, "rfm", "quarter", {})
    with pytest.raises(DataError, match="upload"):
        overview.overview_content(state, "customers", *session)


def test_customers_grid_caps_rows_per_request(state, monkeypatch) -> None:
    monkeypatch.setattr(customers, "MAX_ROWS_PER_REQUEST", 3)
    response = customers.rows_response(state, {"startRow": 0, "endRow": 10**9}, *inputs(state))
    assert response["rowCount"] == 4 and len(response["rowData"]) == 3
    response = customers.rows_response(state, {"startRow": 3, "endRow": 1}, *inputs(state))
    assert response["rowData"] == []


def test_out_of_range_bins_are_a_plain_message_and_keep_the_settings() -> None:
    from segmint.app.state import scheme_config

    with pytest.raises(Exception) as raised:
        scheme_config("rfm", {"bins": 11})
    assert segments.plain_settings_error(raised.value) == "Score bins must be at most 10"
    with pytest.raises(Exception) as raised:
        scheme_config("rfm", {"bins": 2})
    assert segments.plain_settings_error(raised.value) == "Score bins must be at least 3"


def test_story_list_says_day_not_days() -> None:
    assert [story.days_ago(n) for n in (0, 1, 2, 1500)] == ["today", "1 day ago", "2 days ago", "1,500 days ago"]


def test_segments_page_explains_empty_score_levels(state) -> None:
    # F scores A 3, B 1, C 5, E 1: B and E bought equally often, so F 2 is empty (and 4: 4 customers, 5 bins)
    _, _, _, message = segments.segments_content(state, *inputs(state, "rfm"))
    text = message.children
    assert "no customer has F score 2 and 4 (of 1-5): 50% of customers (2 of 4)" in text
    assert "only 4 customers for 5 levels, so R score 4 stays empty" in text


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_grid_shares_show_a_sliver_as_less_than_a_tenth() -> None:
    """The Segments grid's % formatter (JavaScript, run by node with d3.format stubbed) agrees with util.share."""
    import json
    import subprocess

    from segmint.util import share

    values = [0.0, 2 / 23_502, 0.25, 82_750 / 82_791, 1.0]
    script = ("const d3 = {format: () => v => (100 * v).toFixed(1) + '%'};"
              f"const f = params => ({segments.FORMATS['pct']});"
              f"console.log(JSON.stringify({json.dumps(values)}.map(value => f({{value}}))));")
    shown = json.loads(subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True).stdout)
    assert shown == [share(v, 1) for v in values] == ["0.0%", "<0.1%", "25.0%", ">99.9%", "100.0%"]


def test_story_pages_read_the_story_from_many_threads_at_once(fresh_state) -> None:
    # the story's tables are built on demand; two request threads running queries on one DuckDB connection
    # at once hang, so the dashboard's state builds them under the dataset's lock before any page sees them,
    # and a page reads the stories it lists under that lock too (not every customer's story table)
    import threading

    state = fresh_state

    result = story._story(state, None, *inputs(state, period="month"))[0]
    assert "_parts" in vars(result) and "story" not in vars(result)  # built under the lock; no narratives
    done: list[str] = []

    def search() -> None:
        story.search_content(state, "", None, *inputs(state, period="year"))
        done.append("search")

    def flows() -> None:
        story.flows_content(state, None, None, None, None, *inputs(state, period="year"))
        done.append("flows")

    threads = [threading.Thread(target=f, daemon=True) for f in (search, flows) * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(done) == ["flows"] * 3 + ["search"] * 3


def test_overview_names_item_counts_when_the_data_have_no_prices(tmp_path) -> None:
    """A basket log read with unpriced='units' counts items: its tiles said "Revenue 38,765.00"."""
    with basket_state(tmp_path) as board:
        cards = overview.overview_content(board, "customers", *inputs(board))[0]
    tiles = {card.children.children.children[0].children: card.children.children.children[1].children
             for card in cards}
    # 4 items in 3 visits (customer 1 on two days, customer 2 once: no invoice column, so visits, not orders)
    assert tiles["Items"] == "4" and tiles["Avg items per visit"] == f"{4 / 3:,.2f}" and "Revenue" not in tiles


def test_customers_grid_and_download_name_item_counts_when_the_data_have_no_prices(tmp_path) -> None:
    """Groceries (--unpriced units): the Customers grid headed item counts 'Monetary' as money ('13.00') and
    its download wrote 'avg_order_value', where the Segments page says 'Items' and analyze --out
    'items_per_order'."""
    import pandas as pd

    from segmint.app.pages import customers

    with basket_state(tmp_path) as board:
        grid = customers.grid_setup(board, *inputs(board))[0]
        exported = pd.read_csv(customers.export_file(board, "csv", None, *inputs(board)))
    headers = {d["field"]: d for d in grid.columnDefs}
    assert headers["monetary"]["headerName"] == "Items" and headers["avg_order_value"]["headerName"] == "Average items per order"
    assert headers["monetary"]["valueFormatter"]["function"] == segments.ITEMS_FORMAT
    assert "items_per_order" in exported and "avg_order_value" not in exported
    # customer 1: 3 items in 2 orders
    assert exported.set_index("customer_id").loc[1, "items_per_order"] == 1.5


def test_segment_shares_show_as_the_cli_prints_them() -> None:
    # groceries (--unpriced units): Loyal Customers hold 6,337 of 38,765 items = 16.347%: the CLI prints
    # 16.3%; the grid formatted the exported 4-place share 0.1635 and showed 16.4%
    import pandas as pd

    table = pd.DataFrame({"segment": ["Loyal Customers", "Need Attention", "Tiny"], "revenue": [6337.0, 1607.0, 2.0],
                          "share_of_revenue": [6337 / 38765, 1607 / 38765, 2 / 38765]})
    rows = segments._records(table)
    assert [r["share_of_revenue"] for r in rows] == [0.1635, 0.0415, 0.0001]  # the Export CSV values, unchanged
    assert [r["share_of_revenue_shown"] for r in rows] == ["16.3%", "4.1%", "<0.1%"]  # 1,607/38,765 = 4.146%
    assert "_shown" in segments.FORMATS["pct"]


def test_segments_grid_is_emptied_by_an_error(state) -> None:
    # a window without lines (2021): the grid kept ag-grid's "Loading..." for ever on a first load, and the
    # previous filter's numbers otherwise, beside the error
    session, _, _, *rest = inputs(state)
    rows, strategies, buckets, message = segments.segments_or_message(state, session, "2021-01-01", "2021-12-31", *rest)
    assert (rows, strategies, buckets) == ([], [], None)
    assert "no transactions in the selected window" in str(message.children)
    rows, *_ = segments.segments_or_message(state, *inputs(state))
    assert sum(row["customers"] for row in rows) == 4  # A, B, C, E (D's return cancels its purchase)


def test_segments_grid_pins_a_name_column_a_phone_can_scroll_beside() -> None:
    """At 390 px the pinned Segment column took 190 of the grid's 366 px: two number columns showed, the
    second cut. It is 190 px wide where the grid fits (sizing to fit grows every column from its width,
    each number column's being its minimum) and may shrink to 120 on a phone: the grid's centre at 390 px
    went from 174 to 244 px (headless Chromium, groceries), three columns; at 1440 px the same widths."""
    from segmint.app.pages.segments import KPI_COLUMNS, column_defs

    defs = {d["field"]: d for d in column_defs(KPI_COLUMNS)}
    name = defs.pop("segment")
    assert (name["pinned"], name["width"], name["minWidth"]) == ("left", 190, 120) and name["wrapText"]
    assert all(d["width"] == d["minWidth"] and "pinned" not in d for d in defs.values())
    # the width a phone keeps for the numbers beside the pinned name: 366 px of grid less 120
    assert 366 - name["minWidth"] >= defs["customers"]["minWidth"] + defs["share_of_customers"]["minWidth"]


def test_segments_grid_shows_item_sums_as_counts_without_prices() -> None:
    """Without prices the grid's Items column holds counts: '11,554', not '11,554.00' (groceries' Champions);
    means (avg items, items per order) keep their decimals; priced data keep cents."""
    from segmint.app.pages.segments import FORMATS, KPI_COLUMNS, column_defs

    unpriced = {d["field"]: d for d in column_defs(KPI_COLUMNS, priced=False)}
    priced = {d["field"]: d for d in column_defs(KPI_COLUMNS, priced=True)}
    assert unpriced["revenue"]["headerName"] == "Items"
    assert ",.2f" not in unpriced["revenue"]["valueFormatter"]["function"]
    assert unpriced["aov"]["valueFormatter"]["function"] == FORMATS["money2"]
    # groceries' Avg items read 16.48, 9.8, 14.4 in one column: a mean shows two decimals on every row
    assert unpriced["mean_monetary"]["headerName"] == "Avg items"
    assert unpriced["mean_monetary"]["valueFormatter"]["function"] == "d3.format(',.2f')(params.value)"
    assert priced["revenue"]["valueFormatter"]["function"] == FORMATS["money"] == "d3.format(',.2f')(params.value)"


def test_story_page_computes_the_story_once_on_its_first_load(fresh_state, monkeypatch) -> None:
    # the page's first request has no kind yet (None: the scheme's default); the kind callback then
    # sets the radio to that kind and the other callbacks ask for it by name: the same story, computed
    # once (on CDNOW it was computed twice, 2.7 s of CPU each, before the list and charts appeared)
    from segmint import api

    state = fresh_state

    calls: list[tuple[str, str | None]] = []
    real = api.story

    def counted(*args, **kwargs):
        calls.append((kwargs["scheme"], kwargs["kind"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "story", counted)
    for scheme, default in (("rfm", "as_of"), ("value", "within_period")):
        _, _, chosen, _ = story.kind_content(state, None, *inputs(state, scheme))
        assert chosen == default
        story.search_content(state, "", chosen, *inputs(state, scheme))
        story.flows_content(state, None, None, None, chosen, *inputs(state, scheme))
        story.customer_content(state, "A", chosen, *inputs(state, scheme))
    assert len(calls) == 2 and [scheme for scheme, _ in calls] == ["rfm", "value"]
    # asking for the other kind is a different story, computed once more
    story.search_content(state, "", "as_of", *inputs(state, "value"))
    assert len(calls) == 3
