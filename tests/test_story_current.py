"""What ``segmint story`` prints, counted without the story's tables, equals what the tables give.

``StoryResult.overview()`` and ``.retention`` are counted from the last period's segments alone and from
each period's lines (``story_current.current_story``) until a table is read; these tests build the same story
twice and compare that with the counts of the full story's rows and of its story table (two other
methods), on random logs (returns, invoices spanning periods, customers without cost, gaps) and on the
hand-built fixture of test_story.py.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from test_story import PANDAS_DTYPES, _tx

from segmint import coverage as cov
from segmint import story
from segmint.schema import CANONICAL_DTYPES
from segmint.story import _periods_frame
from segmint.story_features import current_grid, period_activity, period_grid
from segmint.story_tables import story_overview


def _random_tx(seed: int, customers: int = 80) -> ibis.Table:
    """A log over 2022-02-10 .. 2024-11-20 (partial first and last quarters): purchases, returns, gaps."""
    rng = np.random.default_rng(seed)
    start, days = pd.Timestamp("2022-02-10"), 1014
    rows = []
    for c in range(customers):
        first = int(rng.integers(0, days))
        for k in range(int(rng.integers(1, 9))):
            day = min(days, first + int(rng.exponential(120)) * (k > 0) + 30 * k)
            when = start + pd.Timedelta(days=day, hours=int(rng.integers(0, 24)))
            amount = float(np.round(rng.choice([10.0, 100.0, rng.exponential(300)]), 2))
            invoice = f"I{c}-{k}"
            if rng.random() < 0.15:  # a return, sometimes larger than what was bought
                amount = -float(np.round(rng.exponential(150), 2))
                invoice = "C" + invoice
            cost = None if c % 7 == 0 else round(abs(amount) * 0.6, 2)
            rows.append((invoice, f"K{c:03d}", when, amount, cost))
            if rng.random() < 0.1:  # a second line of the invoice in the next quarter
                later = min(when + pd.Timedelta(days=95), start + pd.Timedelta(days=days))
                rows.append((invoice, f"K{c:03d}", later, 5.0, 3.0))
    frame = pd.DataFrame([{
        "invoice_id": inv, "customer_id": cust, "invoice_date": when, "product_id": "p", "product_name": None,
        "quantity": 1.0 if amount > 0 else -1.0, "unit_price": abs(amount), "amount": amount, "cost": cost,
        "country": None, "org_id": None, "is_return": amount < 0,
    } for inv, cust, when, amount, cost in rows])
    frame = frame.astype({c: PANDAS_DTYPES[t] for c, t in CANONICAL_DTYPES.items()})
    return ibis.duckdb.connect().create_table("tx", frame)


def _story_table_overview(result: story.StoryResult) -> pd.DataFrame:
    table = result.story
    flags = table.groupby("current_segment", sort=False).agg(
        recent=("is_recent", "sum"), new=("is_new", "sum"), returned_after_gap=("returned_after_gap", "sum"))
    return flags.astype("int64").sort_index()


CASES = [  # (scheme, options, also compared with the story table)
    ("rfm", {}, True),
    ("rfm", {"drop_partial": True, "start": "2023-02-01", "period": "month"}, False),
    ("levels", {"drop_partial": True}, False),
    ("value", {}, True),
    ("value", {"drop_partial": True, "start": "2023-02-01", "end": "2024-06-30"}, False),
]


@pytest.fixture(scope="module")
def log() -> ibis.Table:
    return _random_tx(0)


@pytest.mark.parametrize(("scheme", "options", "with_story"), CASES)
def test_overview_and_retention_without_the_tables_equal_the_tables(
    log: ibis.Table, scheme: str, options: dict, with_story: bool
) -> None:
    fresh = story.build_story(log, scheme=scheme, **options)
    overview, retention = fresh.overview(), fresh.retention
    assert "_parts" not in fresh.__dict__  # no table was built
    full = story.build_story(log, scheme=scheme, **options)
    pd.testing.assert_frame_equal(overview, story_overview(full.rows))
    pd.testing.assert_frame_equal(retention, full.retention)
    assert full.notes == fresh.notes
    assert overview["customers"].sum() > 40 and overview["returned_after_gap"].sum() > 0
    if with_story:
        by_story = _story_table_overview(full)
        counted = overview.set_index("current_segment")
        pd.testing.assert_frame_equal(counted[["recent", "new", "returned_after_gap"]].sort_index(), by_story,
                                      check_names=False)
        assert counted["customers"].to_dict() == full.story["current_segment"].value_counts().to_dict()


def test_the_hand_fixture_counted_without_the_tables() -> None:
    """test_story's 5 customers: active in 2023-Q2 all but A; new in it E; back after a gap B and C."""
    result = story.build_story(_tx(), scheme="rfm")
    overview = result.overview()
    assert "_parts" not in result.__dict__
    assert overview["customers"].sum() == 5
    assert overview[["recent", "new", "returned_after_gap"]].sum().tolist() == [4, 1, 2]
    # 2023-Q2: B, D, E bought (C's 10 on 06-01 too); A and C were active in 2023-Q1, B and D too
    row = result.retention.set_index("period").loc["2023-Q2"]
    assert (row["active"], row["new"], row["retained"], row["reactivated"], row["churned"]) == (4, 1, 3, 0, 1)
    assert row["revenue"] == 1000 + 10 + 10000 + 100
    result.period_segments  # noqa: B018 - a table read builds them all
    assert "_parts" in result.__dict__
    pd.testing.assert_frame_equal(result.overview(), overview)


def test_nobody_known_in_the_last_period_counts_from_the_rows() -> None:
    """Every customer's returns cancel their purchases by the last quarter: the overview comes from the rows."""
    lines = [("A", "2022-01-15 10:00", 100.0), ("A", "2022-05-15 10:00", -100.0),
             ("B", "2022-02-15 10:00", 50.0), ("B", "2022-04-20 10:00", -60.0)]
    result = story.build_story(_tx(lines), scheme="rfm")
    overview = result.overview()
    assert overview.set_index("current_segment")["customers"].to_dict() == {"Inactive": 2}
    assert "_parts" in result.__dict__  # counted from the story's rows


@pytest.mark.parametrize("seed", [0, 3])
def test_current_grid_is_the_period_grid_of_one_period(seed: int) -> None:
    tx = _random_tx(seed, customers=50)
    periods = _periods_frame(cov.period_coverage(cov.data_span(tx), "quarter"))
    activity = period_activity(tx, periods, "quarter", "invoices")
    grid = period_grid(activity, periods).execute()
    for index in (0, 5, int(periods["period_index"].max())):
        got = current_grid(activity, index).execute().drop(columns=["active_periods", "last_active_index"])
        want = grid[grid["period_index"] == index][got.columns]
        got, want = (t.sort_values("customer_id", ignore_index=True) for t in (got, want))
        pd.testing.assert_frame_equal(got, want, check_dtype=False)


def test_the_story_written_from_its_query_is_the_pandas_csv(tmp_path) -> None:
    """``segmint story --out`` writes the story table by DuckDB's COPY of its query: the same bytes as pandas'."""
    from test_story import LINES

    from segmint.report import export_tables

    tricky = [("=HYPERLINK(1)", "2022-03-01 10:00", 100.0), ("+4455", "2022-07-01 10:00", 50.5),
              ("@x", "2022-09-30 10:00", 1234.565), ("-1", "2022-01-02 10:00", 10.0)]
    result = story.build_story(_tx(LINES + tricky), scheme="rfm", period="month", drop_partial=True)
    query = result.tables(story_query=True)["story"]
    assert isinstance(query, ibis.Table)  # not read yet: its query
    export_tables({"story": query}, tmp_path / "query")
    export_tables({"story": result.story}, tmp_path / "pandas")
    assert isinstance(result.tables(story_query=True)["story"], pd.DataFrame)  # read: the frame
    written = (tmp_path / "query" / "story.csv").read_bytes()
    assert written == (tmp_path / "pandas" / "story.csv").read_bytes()
    assert written.count(b"\n") == len(result.story) + 1
    assert b"\n'=HYPERLINK(1)," in written and b"\n-1," in written  # formulas neutralised, numbers not, both ways


def test_a_clusters_story_does_not_depend_on_the_order_rows_are_read() -> None:
    """k-means draws its starts from the rows in order: the story reads its features in key order."""
    from segmint.segment.clusters import ClusterConfig

    frame = _random_tx(4, customers=300).execute()
    config = ClusterConfig(k=4, features=["monetary", "frequency"])
    segments = []
    for seed in (1, 2):
        shuffled = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)
        con = ibis.duckdb.connect()
        con.raw_sql("SET threads = 2")
        tx = con.create_table("tx", shuffled)
        result = story.build_story(tx, scheme="clusters", config=config)
        segments.append(result.period_segments.select("customer_id", "period_index", "segment").execute())
    pd.testing.assert_frame_equal(segments[0], segments[1])


@pytest.mark.parametrize("scheme", ["rfm", "value"])
def test_one_customers_story_row_without_the_story_table(scheme: str) -> None:
    """A card read before the tables: from the customer's own rows (scored among everyone's), as the tables give it."""
    result = story.build_story(_tx(), scheme=scheme, drop_partial=True)
    card = result.customer("C")  # the first card: C's rows alone (a return and a gap)
    assert "_parts" not in result.__dict__
    row = result.story_row("E")  # a second card: from the tables, without the story table (E: new)
    with pytest.raises(story.DataError, match="no purchase in the story window"):
        result.story_row("Z")
    assert "story" not in result.__dict__
    table = result.story.set_index("customer_id", drop=False)
    pd.testing.assert_series_equal(row, table.loc["E"], check_names=False)
    full = story.build_story(_tx(), scheme=scheme, drop_partial=True).load()
    assert card == full.customer("C")
    assert [p["segment"] for p in card["timeline"]] == card["path"].split(" > ")