"""The JSON/CSV API: hand-computed numbers, the CLI's numbers for the same file, errors as JSON."""

from __future__ import annotations

import io

import ibis
import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.app import api, create_app
from segmint.cli import app as cli

from .conftest import hand_frame

# By hand (snapshot 2023-03-27; D excluded: its return cancels its purchase):
# A: 2 orders, 150; B: 1, 200; C: 3, 60; E: 1, 5 -> 4 customers, 415 revenue, 7 orders.


@pytest.fixture(scope="module")
def client():
    """One app for the module's read-only requests: its state's cached analyses serve every test (each
    /api/customers answer computes every scheme, the story and the picks: about 6 s of CPU)."""
    con = ibis.duckdb.connect()
    dash_app = create_app(transactions=con.create_table("tx", hand_frame()))
    yield dash_app.server.test_client()
    dash_app.segmint_state.close()


def test_summary_by_hand(client) -> None:
    body = client.get("/api/summary?scheme=rfm").get_json()
    assert (body["customers"], body["revenue"], body["orders"]) == (4, 415.0, 7)
    assert sum(s["customers"] for s in body["segments"]) == 4
    assert sum(s["revenue"] for s in body["segments"]) == pytest.approx(415.0)
    assert body["data_as_of"]["last_transaction"] == "2023-03-26"
    uk = client.get("/api/summary?country=United Kingdom").get_json()
    assert (uk["customers"], uk["revenue"]) == (2, 210.0)  # A and C; D nets to zero
    assert uk["filters"]["country"] == ["United Kingdom"]
    window = client.get("/api/summary?start=2023-02-01&end=2023-03-31").get_json()
    assert (window["customers"], window["revenue"]) == (3, 300.0)  # A 50, B 200, C 20 + 30; D nets to 0


def test_segments_paged_and_csv(client) -> None:
    first = client.get("/api/segments/levels?page_size=3").get_json()
    assert (first["total"], first["pages"], first["next"], len(first["rows"])) == (4, 2, 2, 3)
    second = client.get("/api/segments/levels?page_size=3&page=2").get_json()
    ids = [r["customer_id"] for r in first["rows"] + second["rows"]]
    assert ids == ["A", "B", "C", "E"]
    assert all(r["segment"] for r in first["rows"])
    text = client.get("/api/segments/levels?format=csv").get_data(as_text=True)
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.customer_id) == ["A", "B", "C", "E"]
    assert frame.set_index("customer_id").loc["A", "monetary"] == 150.0
    one = client.get(f"/api/segments/levels?segment={first['rows'][0]['segment']}").get_json()
    assert {r["segment"] for r in one["rows"]} == {first["rows"][0]["segment"]}


def test_customer_has_features_every_scheme_and_story(client) -> None:
    body = client.get("/api/customers/C").get_json()
    assert body["features"]["frequency"] == 3 and body["features"]["monetary"] == 60.0
    assert body["features"]["last_purchase"] == "2023-03-20"
    assert set(body["segments"]) == {"rfm", "levels", "tiers", "clusters", "value"}
    assert body["segments"]["rfm"]["segment"]
    assert body["story"]["customer_id"] == "C" and body["story"]["total_spend"] == 60.0
    picks = body["recommendations"]
    assert picks["customer_id"] == "C" and picks["recommendations"][0]["rank"] == 1
    # one current segment: the as-of story's last period is the analysis's rfm segment
    assert body["story"]["current_segment"] == body["segments"]["rfm"]["segment"]
    assert [p["period"] for p in body["story"]["timeline"]] == ["2023-Q1"]


def test_registered_customer_results_are_added(client) -> None:
    class Scores:
        def customer(self, customer_id: str) -> dict:
            return {"score": {"A": 700}.get(customer_id)}

    api.register_customer_result("credit_test", lambda state, dataset_id, filters: Scores())
    api.register_customer_result("absent_test", lambda state, dataset_id, filters: None)
    try:
        body = client.get("/api/customers/A").get_json()
    finally:
        api.CUSTOMER_RESULTS.pop("credit_test")
        api.CUSTOMER_RESULTS.pop("absent_test")
    assert body["credit_test"] == {"score": 700}
    assert "absent_test" not in body  # the dataset has no such result: no section


def test_errors_are_json_with_the_fix(client) -> None:
    bad_date = client.get("/api/summary?start=2024-13-01")
    assert bad_date.status_code == 400 and "YYYY-MM-DD" in bad_date.get_json()["error"]
    bad_scheme = client.get("/api/segments/bogus")
    assert bad_scheme.status_code == 400 and "rfm" in bad_scheme.get_json()["error"]
    unknown = client.get("/api/customers/nobody")
    assert unknown.status_code == 404 and "nobody" in unknown.get_json()["error"]
    assert client.get("/api/segments/rfm?page=0").status_code == 400
    assert "/api/summary" in client.get("/api").get_json()["routes"]
    # a NUL in the id ended in DuckDB's 'unterminated quoted string' and a 500 Internal Server Error
    nul = client.get("/api/customers/A%00")
    assert nul.status_code == 404 and "no positive net purchase" in nul.get_json()["error"]


def test_a_search_with_a_nul_finds_what_the_rest_finds(state) -> None:
    from segmint.app import queries
    from segmint.app.filters import Filters

    customers = state.analysis(state.default_dataset_id, Filters()).customers
    assert queries.search_customers(customers, "a\x00").customer_id.tolist() == ["A"]


def test_api_agrees_with_the_cli(tmp_path) -> None:
    """Same file through `segmint analyze --out` and through the dashboard's API: same numbers."""
    from segmint.api import read_transactions
    from segmint.datasets import make_transactions

    raw = tmp_path / "sales.csv"
    make_transactions(n_customers=250, years=2, seed=11).to_csv(raw, index=False)
    done = CliRunner().invoke(cli, ["analyze", str(raw), "--scheme", "all", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    dash_app = create_app(transactions=read_transactions(str(raw)).table)
    client = dash_app.server.test_client()
    try:
        for scheme in ("rfm", "levels", "tiers"):
            summary = pd.read_csv(tmp_path / "out" / f"summary_{scheme}.csv")
            body = client.get(f"/api/summary?scheme={scheme}").get_json()
            assert body["customers"] == summary.customers.sum()
            assert body["revenue"] == pytest.approx(summary.revenue.sum(), abs=0.01)
            api_counts = {s["segment"]: (s["customers"], s["revenue"]) for s in body["segments"]}
            cli_counts = {r.segment: (r.customers, round(r.revenue, 2)) for r in summary.itertuples()}
            assert api_counts.keys() == cli_counts.keys()
            for name, (customers, revenue) in cli_counts.items():
                assert api_counts[name][0] == customers
                assert api_counts[name][1] == pytest.approx(revenue, abs=0.01)
            rows = pd.read_csv(io.StringIO(client.get(f"/api/segments/{scheme}?format=csv").get_data(as_text=True)),
                               dtype={"customer_id": str})
            cli_rows = pd.read_csv(tmp_path / "out" / f"segments_{scheme}.csv", dtype={"customer_id": str})
            merged = cli_rows.merge(rows, on="customer_id", suffixes=("_cli", "_api"))
            assert len(merged) == len(cli_rows) == len(rows)
            assert (merged.segment_cli == merged.segment_api).all()
            assert (merged.monetary_cli - merged.monetary_api).abs().max() <= 0.005
    finally:
        dash_app.segmint_state.close()


def test_numbers_are_rounded_by_the_one_export_rule() -> None:
    # float sums carry binary noise; the API rounds each number once, as exports round its column:
    # money to the cent, probabilities and shares to 4 places, means to 2 (12.345 is 12.3450000000000006...)
    payload = api.plain({"clv": 36.731234, "p_alive": 0.7266203, "segments": [{"revenue": 2500315.6300003813}],
                         "credit_limit": 1999.999999, "mean_recency_days": 12.345})
    assert payload == {"clv": 36.73, "p_alive": 0.7266, "segments": [{"revenue": 2500315.63}],
                       "credit_limit": 2000.0, "mean_recency_days": 12.35}
    frame = pd.DataFrame({"customer_id": ["=1+1", "c2"], "clv": [277.09999999999997, -0.001],
                          "expected_purchases": [1.2259944577615642, 0.5]})
    text = api.csv_response(frame, "x.csv").get_data(as_text=True)
    assert text.splitlines() == ["customer_id,clv,expected_purchases", "'=1+1,277.10,1.2260",
                                 "c2,0.00,0.5000"]  # fixed point, as exports write it


def test_customer_story_names_item_counts_without_prices(tmp_path):
    """Groceries' /api/customers/1000 gave the story's total_spend 13.0 for 13 items (features and story
    --out already say items): it is total_items now."""
    from segmint.app import create_app

    from .conftest import basket_state

    with basket_state(tmp_path) as board:
        body = create_app(state=board, warm=False).server.test_client().get("/api/customers/1").get_json()
    assert body["story"]["total_items"] == 3.0 and "total_spend" not in body["story"]
