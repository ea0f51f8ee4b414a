"""CLI, Python API and dashboard run one pipeline: same filters, same customers, segments and numbers."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint import api
from segmint.app import queries
from segmint.app.state import AppState, Filters
from segmint.cli import app
from segmint.datasets import make_transactions

WINDOW = dict(start="2022-04-01", end="2023-09-30", country=["United Kingdom", "Germany"])


@pytest.fixture(scope="module")
def sales(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("one") / "sales.csv"
    make_transactions(n_customers=400, years=2, seed=11).to_csv(path, index=False)
    return str(path)


def _by_customer(table) -> pd.DataFrame:
    frame = table.execute() if isinstance(table, ibis.Table) else table
    return frame.astype({"customer_id": str}).set_index("customer_id").sort_index()


def test_cli_python_and_dashboard_agree(sales, tmp_path) -> None:
    # Python API
    python = api.analyze(sales, scheme=["rfm", "tiers"], **WINDOW)
    # CLI, the same filters as flags
    out = tmp_path / "cli"
    args = ["analyze", sales, "--scheme", "rfm,tiers", "--from", WINDOW["start"], "--to", WINDOW["end"],
            "--country", "United Kingdom", "--country", "Germany", "--out", str(out)]
    ran = CliRunner().invoke(app, args)
    assert ran.exit_code == 0, ran.output
    # dashboard: the same file loaded as a dataset, the same filters from the filter bar
    state = AppState()
    dataset = state.add_dataset(api.read_transactions(sales, con=ibis.duckdb.connect()), "sales.csv")
    filters = Filters.from_inputs(WINDOW["start"], WINDOW["end"], WINDOW["country"], None, "rfm", "quarter")
    board = state.analysis(dataset, filters)
    board_tiers = state.analysis(dataset, Filters.from_inputs(WINDOW["start"], WINDOW["end"], WINDOW["country"],
                                                              None, "tiers", "quarter"))

    want = _by_customer(python.segments["rfm"])
    cli = pd.read_csv(out / "segments_rfm.csv", dtype={"customer_id": str, "rfm_cell": str}).set_index("customer_id").sort_index()
    dash = _by_customer(board.customers)
    assert len(want) > 100 and list(cli.index) == list(want.index) == list(dash.index)
    for column in ("segment", "rfm_cell", "frequency", "recency_days"):
        assert cli[column].tolist() == want[column].tolist() == dash[column].tolist(), column
    for column in ("revenue", "monetary"):
        assert cli[column].tolist() == pytest.approx(want[column].tolist())
        assert dash[column].tolist() == pytest.approx(want[column].tolist())
    tiers = _by_customer(python.segments["tiers"])
    assert _by_customer(board_tiers.customers).segment.tolist() == tiers.segment.tolist()

    # every customer in the window bought in one of the two countries; none from elsewhere
    lines = api.read_transactions(sales).table
    elsewhere = lines.filter(~lines.country.isin(WINDOW["country"])).customer_id.execute().unique()
    only_elsewhere = set(elsewhere) - set(lines.filter(lines.country.isin(WINDOW["country"])).customer_id.execute())
    assert not only_elsewhere & set(want.index)

    # the same summary and KPIs
    summary = python.summaries["rfm"].set_index("segment")
    cli_summary = pd.read_csv(out / "summary_rfm.csv").set_index("segment")
    board_summary = state.query(dataset, board.summary).set_index("segment")
    assert cli_summary.customers.to_dict() == summary.customers.to_dict() == board_summary.customers.to_dict()
    assert board_summary.revenue.to_dict() == pytest.approx(summary.revenue.to_dict())
    kpis = state.query(dataset, queries.kpis, board.customers)
    assert kpis["customers"] == python.n_customers == len(want)
    assert kpis["revenue"] == pytest.approx(want.revenue.sum())
    # orders: one definition (purchases with a positive net value), the same in the CLI's summary line
    assert kpis["orders"] == want.frequency.sum()
    assert f"orders: {int(kpis['orders']):,} (purchases with a positive net value)" in " ".join(ran.output.split())
    # the R x F grid: the rfm segments themselves, not a second computation
    assert board.rfm is board.customers
    state.close()


def test_story_goes_through_the_api_with_the_dashboards_filters(sales, tmp_path) -> None:
    state = AppState()
    dataset = state.add_dataset(api.read_transactions(sales, con=ibis.duckdb.connect()), "sales.csv")
    filters = Filters.from_inputs(WINDOW["start"], WINDOW["end"], WINDOW["country"], None, "rfm", "quarter")
    board = state.story(dataset, filters)
    python = api.story(sales, period="quarter", scheme="rfm", **WINDOW)
    assert board.story.customer_id.tolist() == python.story.customer_id.tolist()
    assert board.retention.active.tolist() == python.retention.active.tolist()
    state.close()
    # segmint story takes the same filters as flags
    args = ["story", sales, "--scheme", "rfm", "--from", WINDOW["start"], "--to", WINDOW["end"],
            "--country", "United Kingdom", "--country", "Germany", "--out", str(tmp_path / "story")]
    ran = CliRunner().invoke(app, args)
    assert ran.exit_code == 0, ran.output
    cli = pd.read_csv(tmp_path / "story" / "story.csv", dtype={"customer_id": str})
    assert cli.customer_id.tolist() == python.story.customer_id.tolist()


def test_value_and_products_pages_go_through_api_clv_and_recommend(sales, monkeypatch) -> None:
    """The Value and Products pages show what segmint.clv / segmint.recommend give for the same filters."""
    from segmint.app.pages import value

    calls: list[str] = []
    for name in ("clv", "recommend"):
        original = getattr(api, name)
        monkeypatch.setattr(api, name, lambda *a, _f=original, _n=name, **k: calls.append(_n) or _f(*a, **k))
    state = AppState()
    tx = api.read_transactions(sales, con=ibis.duckdb.connect())  # one read: both sides get the same lines
    dataset = state.add_dataset(tx, "sales.csv")
    filters = Filters.from_inputs(WINDOW["start"], WINDOW["end"], WINDOW["country"], None, "rfm", "quarter")
    settings = value.settings_from(None, None, None, None, None)
    board = state.clv(dataset, filters, settings)
    python = api.clv(tx, **WINDOW, **settings)
    mine = board.customers.set_index("customer_id").sort_index()
    want = python.customers.set_index("customer_id").sort_index()
    assert len(want) > 100 and list(mine.index) == list(want.index)
    for column in ("frequency", "recency", "T", "p_alive", "clv"):
        assert mine[column].tolist() == pytest.approx(want[column].tolist()), column
    # its segments are the dashboard's cached RFM analysis's (no second pass), the same as segmint.clv's
    assert mine.segment.tolist() == want.segment.tolist() and board.by_segment.equals(python.by_segment)
    analysed = _by_customer(state.analysis(dataset, filters).customers)
    assert (mine.segment[analysed.index] == analysed.segment).all()
    # only customers with lines in the window's countries and dates; none bought only elsewhere or later
    lines = tx.table.execute()
    inside = lines[lines.country.isin(WINDOW["country"]) & (lines.invoice_date >= WINDOW["start"])
                   & (lines.invoice_date < "2023-10-01")]
    assert set(want.index) <= set(inside.customer_id.astype(str))
    assert str(board.window.calibration_end) == str(inside.invoice_date.max().date())
    # the page's KPI tile is the API's total, formatted
    inputs = ({"dataset_id": dataset}, WINDOW["start"], WINDOW["end"], WINDOW["country"], None, "rfm",
              "quarter", {})
    content = value.value_content(state, None, None, None, None, None, *inputs)
    tiles = {card.children.children.children[0].children: card.children.children.children[1].children
             for card in content[1]}
    # (n/a when the fit is degenerate: parameters the data do not pin down give no value)
    assert tiles["Predicted value"] == ("n/a" if python.degenerate else f"{want['clv'].sum():,.0f}")
    assert tiles["Customers"] == f"{len(want):,}"

    board_recs = state.recommendations(dataset, filters)
    python_recs = api.recommend(tx, until=WINDOW["end"], start=WINDOW["start"], country=WINDOW["country"],
                                scheme="rfm", window="2M", segment_config={"new_within": "quarter"})
    key = ["customer_id", "rank"]
    got = board_recs.recommendations.execute().sort_values(key, ignore_index=True)
    expected = python_recs.recommendations.execute().sort_values(key, ignore_index=True)
    assert len(expected) > 100
    pd.testing.assert_frame_equal(got[[*key, "product_id", "segment"]], expected[[*key, "product_id", "segment"]])
    assert got.score.tolist() == pytest.approx(expected.score.tolist())
    assert set(got.customer_id) <= set(inside.customer_id.astype(str))
    assert calls.count("clv") == 2 and calls.count("recommend") == 2  # the dashboard called the API too
    state.close()
