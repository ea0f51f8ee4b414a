"""Without prices (a basket log read with unpriced='units') every amount counts items, and every place that
shows or exports one says items: the CLI, the exports, the HTML report and the dashboard."""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmint.cli import app
from segmint.units import has_prices, item_columns, measure_word

# 3 customers, 4 visits (customer, day), 7 items: 1 -> 2 + 1 (Jan), 3 (Mar); 2 -> 1 (Feb)
BASKETS = ("Member_number,Date,itemDescription\n1,2024-01-05,milk\n1,2024-01-05,bread\n2,2024-02-01,milk\n"
           "1,2024-03-01,eggs\n1,2024-03-01,milk\n1,2024-03-01,tea\n3,2024-03-02,milk\n")


@pytest.fixture
def baskets(tmp_path):
    path = tmp_path / "baskets.csv"
    path.write_text(BASKETS)
    return path


def test_item_columns_renames_every_kind_of_table():
    frame = pd.DataFrame({"segment": ["A"], "revenue": [7.0], "share_of_revenue": [1.0], "aov": [1.75]})
    assert list(item_columns(frame, priced=False).columns) == ["segment", "items", "share_of_items", "items_per_order"]
    assert item_columns(frame, priced=True) is frame
    assert ibis.memtable(frame).pipe(item_columns, False).columns == ("segment", "items", "share_of_items",
                                                                      "items_per_order")  # fmt: skip
    assert item_columns(pa.table(frame), False).column_names == ["segment", "items", "share_of_items", "items_per_order"]
    assert list(item_columns({"revenue": [1.0]}, False)) == ["items"]
    # a table with both: nothing renamed onto an existing column
    assert list(item_columns(pd.DataFrame({"revenue": [1], "items": [1]}), False).columns) == ["revenue", "items"]
    # one figure under two money names (tiers' sales is its copy of revenue): one items column, where revenue was
    both = pd.DataFrame({"revenue": [5.0], "atv_min": [2.5], "sales": [5.0], "atv": [2.5]})
    renamed = ["items", "items_per_visit_min", "items_per_visit"]
    assert list(item_columns(both, False).columns) == renamed
    assert item_columns(pa.table(both), False).column_names == renamed
    assert ibis.memtable(both).pipe(item_columns, False).columns == tuple(renamed)
    assert item_columns({"sales": 5.0, "revenue": 5.0}, False) == {"items": 5.0}
    assert measure_word("% revenue", False) == "% items" and measure_word("% revenue", True) == "% revenue"
    assert has_prices(None)


def test_cli_analyze_and_its_exports_say_items(baskets, tmp_path):
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(baskets), "--unpriced", "units", "--scheme", "rfm", "--out", str(out)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert run.exit_code == 0, run.output
    # 7 items in 4 visits (customer 1 on two days, 2 and 3 once; no invoice column): 1.75 per visit
    assert "items (no prices): 7" in run.output and "average items per visit: 1.75" in run.output
    assert "revenue" not in run.output.split("rfm segments")[1].split("note:")[0]
    assert "% items" in run.output and "items/order" in run.output
    flat = " ".join(run.output.split())
    assert "Total items (no prices): 7" in flat and "Total amount" not in flat  # the quality report
    # no amount or price was computed: each line's was made up from its quantity (the warning says so);
    # no invoice number was repaired either: there are none in the data, as the report says
    assert "Invoice numbers: none in the data" in flat
    assert "Values repaired" not in flat and "Values computed" not in flat and "amount_computed" not in flat
    summary = pd.read_csv(out / "summary_rfm.csv")
    assert "revenue" not in summary.columns and summary["items"].sum() == 7
    assert summary["share_of_items"].sum() == pytest.approx(1.0, abs=1e-3)
    features = pd.read_csv(out / "features.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert features.loc["1", "items"] == 5 and features.loc["1", "items_per_order"] == pytest.approx(2.5)


def test_tiers_exports_name_item_counts_items_once(baskets, tmp_path):
    """The tiers table kept a ``revenue`` column of item counts beside ``items`` (its ``sales`` copy), and the
    value buckets' ATV range (``atv_min``/``atv_max``) counted items per visit."""
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(baskets), "--unpriced", "units", "--scheme", "tiers", "--out", str(out)])
    assert run.exit_code == 0, run.output
    tiers = pd.read_csv(out / "segments_tiers.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert not {"revenue", "sales", "atv", "aov"} & set(tiers.columns) and list(tiers.columns).count("items") == 1
    # customer 1: 2 + 3 items on 2 visits; 2 and 3: 1 item on 1 visit
    assert tiers["items"].to_dict() == {"1": 5, "2": 1, "3": 1}
    assert tiers["items_per_visit"].to_dict() == {"1": 2.5, "2": 1, "3": 1}
    buckets = pd.read_csv(out / "tiers_buckets_value.csv").set_index("bucket")
    assert not {"atv_min", "atv_max", "sales", "revenue"} & set(buckets.columns)
    # 3 customers in 10 buckets: 1 (2.5 items per visit) in bucket 7, 2 and 3 (1 each) in bucket 1
    assert buckets[["items", "items_per_visit_min", "items_per_visit_max"]].to_dict("index") == {
        7: {"items": 5, "items_per_visit_min": 2.5, "items_per_visit_max": 2.5},
        1: {"items": 2, "items_per_visit_min": 1, "items_per_visit_max": 1},
    }


def test_cli_analyze_with_prices_keeps_revenue(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\nc1,2024-01-05,10.50\nc2,2024-02-01,4.00\n")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(path), "--scheme", "rfm", "--out", str(out)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert "revenue: 14.50" in run.output and "items" not in run.output
    assert "revenue" in pd.read_csv(out / "summary_rfm.csv").columns


def test_html_report_says_items(baskets, tmp_path):
    target = tmp_path / "report.html"
    run = CliRunner().invoke(app, ["report", str(baskets), "--unpriced", "units", "--out", str(target)])
    assert run.exit_code == 0, run.output
    page = target.read_text()
    assert '<div class="t">Items</div><div class="v">7</div>' in page
    assert "Avg items per visit" in page and "% items" in page and "Share of items by segment" in page
    for claim in ('<div class="t">Revenue', ">% revenue<", ">AOV<", "Share of revenue by segment", ">Revenue per day<",
                  "Spend x frequency tiers"):
        assert claim not in page, claim
    assert '<h2 id="tiers">Items x frequency tiers</h2>' in page and "profit x frequency" not in page


def test_recommend_exports_say_items(baskets, tmp_path):
    out = tmp_path / "rec"
    run = CliRunner().invoke(app, ["recommend", str(baskets), "--unpriced", "units", "--out", str(out)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert run.exit_code == 0, run.output
    # a line's value is its quantity: the items column repeated units (and named revenue before that)
    favourites = pd.read_csv(out / "segment_products.csv")
    assert not {"revenue", "items"} & set(favourites.columns) and "units" in favourites.columns
    top = pd.read_csv(out / "top_products_by_period.csv")
    march = top[top.period == "2024-03"].set_index("product_id")
    assert march.loc["milk", "units"] == 2 and not {"revenue", "items"} & set(top.columns)  # customers 1 and 3
    # no country column: every line's region was "(unknown)", a table of one region that is none
    assert not (out / "product_sales_by_region.csv").exists()
    assert "no country/region in the data: product sales by region are not written" in run.output


def test_recommend_counts_non_merchandise_in_items_without_prices(tmp_path):
    """The non-merchandise table's amount counted items in a basket log: two POSTAGE lines are 2 items."""
    path = tmp_path / "baskets.csv"
    path.write_text(BASKETS + "1,2024-03-01,POSTAGE\n3,2024-03-02,POSTAGE\n")
    out = tmp_path / "rec"
    run = CliRunner().invoke(app, ["recommend", str(path), "--unpriced", "units", "--out", str(out)])
    assert run.exit_code == 0, run.output
    left_out = pd.read_csv(out / "non_merchandise.csv")
    assert left_out.to_dict("records") == [{"product_id": "POSTAGE", "product_name": "POSTAGE", "lines": 2, "items": 2}]


def test_dashboard_pages_say_items(baskets):
    from segmint.api import read_transactions
    from segmint.app.pages import overview, products, segments
    from segmint.app.pages.story import story_card
    from segmint.app.state import AppState
    from segmint.clean_options import CleanOptions
    from tests.app.conftest import inputs

    board = AppState()
    board.add_dataset(read_transactions(str(baskets), options=CleanOptions(unpriced="units")), "baskets")
    try:
        session = inputs(board)
        assert [o["label"] for o in overview.share_options(board, *session)] == ["share of customers", "share of items"]
        _, share, pie, *_ = overview.overview_content(board, "revenue", *session)
        assert pie.layout.title.text.startswith("Share of items") and "items" in share.layout.title.text
        assert "revenue" not in pie.data[0].hovertemplate
        headers = [c["headerName"] for c in segments.column_defs(segments.KPI_COLUMNS, board.priced(session[0]["dataset_id"]))]
        assert "Items" in headers and "% items" in headers and "Revenue" not in headers and "AOV" not in headers
        options, measure, columns = products.measure_controls(board, *session)
        assert [o["value"] for o in options] == ["units"] and measure == "units"
        assert "revenue" not in [c["field"] for c in columns]
        regions = products.overview_content(board, "1Y", None, "revenue", *session)[5]
        assert "revenue" not in str(regions.layout.title.text)
        row = {"customer_id": "1", "is_recent": True, "current_segment": "S", "previous_segment": None,
               "segment_changed_on": None, "first_purchase": "2024-01-05", "last_purchase": "2024-03-01",
               "active_periods": 2, "periods": 2, "total_spend": 6.0, "first_period": "2024-Q1",
               "first_segment": "S", "current_reason": "", "path": "", "narrative": ""}  # fmt: skip
        assert "Total items" in str(story_card(row, "quarter", priced=False))
    finally:
        board.close()


def test_story_cli_exports_and_activity_chart_say_items(baskets, tmp_path):
    from segmint.story_charts import period_activity

    out = tmp_path / "story"
    run = CliRunner().invoke(app, ["story", str(baskets), "--unpriced", "units", "--period", "month", "--out", str(out)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "items/day" in run.output and "revenue/day" not in run.output
    retention = pd.read_csv(out / "retention.csv").set_index("period")
    assert "revenue" not in retention.columns and retention.loc["2024-03", "items"] == 4  # 3 by 1, 1 by 3
    story = pd.read_csv(out / "story.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert story.loc["1", "total_items"] == 5
    figure = period_activity(retention.reset_index().assign(revenue_per_day=1.0, note=""), priced=False)
    assert figure.layout.title.text.startswith("Active customers and items per day")


def test_clv_of_a_basket_log_says_its_value_counts_items(tmp_path):
    from segmint.api import clv, read_transactions
    from segmint.clean_options import CleanOptions
    from tests.btyd.test_degenerate import homogeneous_lines

    path = tmp_path / "baskets.csv"
    homogeneous_lines(n=200).drop(columns="amount").assign(item="milk").to_csv(path, index=False)
    result = clv(read_transactions(str(path), options=CleanOptions(unpriced="units")), compare=False, segments=False)
    assert result.notes[0] == "no prices in the data: value per purchase and CLV count items, not money"


def test_recommend_refuses_a_file_without_prices_as_analyze_does(baskets):
    """The same basket log, the same check: both commands stop and name --unpriced units (recommend read it
    as items silently, analyze asked); with the flag both run."""
    import segmint
    from segmint.errors import MappingError

    fixes = []
    for command in ("analyze", "recommend"):
        run = CliRunner().invoke(app, [command, str(baskets)], env={"COLUMNS": "200"})
        assert run.exit_code == 2, (command, run.output)  # a usage error: a flag is wanted
        assert "no column found for amount" in run.output
        fixes.append(run.output.rsplit("fix:", 1)[1].split())
    assert fixes[0] == fixes[1] and fixes[0][-2:] == ["--unpriced", "units"]
    for function in (segmint.analyze, segmint.recommend):
        with pytest.raises(MappingError) as refused:
            function(baskets)
        assert (refused.value.field, refused.value.fix.option, refused.value.fix.example) == ("amount", "unpriced", "units")
    run = CliRunner().invoke(app, ["recommend", str(baskets), "--unpriced", "units"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output


MONEY_NAMES = {"monetary", "mean_monetary", "monetary_to_date", "profit", "profit_to_date", "revenue", "net_value",
               "clv", "total_clv", "mean_clv", "share_of_clv", "expected_avg_value", "monetary_value"}


def test_every_export_without_prices_names_items_once_and_no_money(baskets, tmp_path):
    """Without prices every segments table kept ``monetary`` (item counts written as money, 5.00) beside
    ``items`` (5.0), an always-empty ``profit``, summaries' ``mean_monetary`` and the tiers notes'
    "Spend x frequency tiers". One items column, no money column, in every scheme's export and the API."""
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["analyze", str(baskets), "--unpriced", "units", "--scheme", "all", "--out", str(out)],
                             env={"COLUMNS": "200"})  # fmt: skip
    assert run.exit_code == 0, run.output
    flat = " ".join(run.output.split())
    assert "Items x frequency tiers" in flat and "Spend x" not in flat
    for path in sorted(out.glob("*.csv")):
        columns = pd.read_csv(path, nrows=0).columns
        assert not MONEY_NAMES & set(columns), (path.name, list(columns))
        assert list(columns).count("items") <= 1, path.name
    # by hand: customer 1 bought 2 + 3 items, customers 2 and 3 one each
    for scheme in ("rfm", "levels", "tiers", "value"):  # clusters: too few customers to choose k
        table = pd.read_csv(out / f"segments_{scheme}.csv", dtype={"customer_id": str}).set_index("customer_id")
        assert table["items"].to_dict() == {"1": 5, "2": 1, "3": 1}, scheme
        summary = pd.read_csv(out / f"summary_{scheme}.csv")
        members = table.groupby("segment")["items"].mean()
        assert summary.set_index("segment")["mean_items"].to_dict() == pytest.approx(members.to_dict(), abs=0.005), scheme
    assert pd.read_csv(out / "excluded_customers.csv", nrows=0).columns.tolist() == ["customer_id", "net_items", "lines"]


def test_clv_exports_without_prices_name_predicted_items(tmp_path):
    """clv.csv's clv, expected_avg_value and monetary_value (Gamma-Gamma's mean repeat value) counted items
    under money names; the by-segment table's total_clv and mean_clv too."""
    from segmint.api import clv, read_transactions
    from segmint.clean_options import CleanOptions
    from tests.btyd.test_degenerate import homogeneous_lines

    path = tmp_path / "baskets.csv"
    lines = homogeneous_lines(n=200).drop(columns="amount").assign(item="milk")
    lines.to_csv(path, index=False)
    result = clv(read_transactions(str(path), options=CleanOptions(unpriced="units")), compare=False, segments=False)
    written = result.export(tmp_path / "out")
    customers = pd.read_csv(written["clv"], dtype={"customer_id": str})
    assert not MONEY_NAMES & set(customers.columns)
    assert {"predicted_items", "expected_items_per_purchase", "items_per_repeat_purchase"} <= set(customers.columns)
    import json

    described = json.loads(written["clv_model"].read_text())["columns"]
    assert "predicted_items" in described and "clv" not in described
