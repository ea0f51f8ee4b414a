"""Customer stories over periods, checked against a hand-built 5-customer, 6-quarter fixture.

Spend per customer and quarter (net; '-' = no purchase, 'r' = only a return of 20):

            2022-Q1 2022-Q2 2022-Q3 2022-Q4 2023-Q1 2023-Q2
    A         1000    1000   10000   10000   10000      -
    B           10      -       -      100     100    1000     (Q4: 150 bought, 50 returned)
    C            .     100     100       r      10      10
    D            .       .       .   10000    1000   10000
    E            .       .       .       .       .     100

The 17 active customer-quarters spend 10 (x3), 100 (x5), 1000 (x4), 10000 (x5): on log spend these
are four exact clusters, so the clusters scheme (k=4 on monetary, one model for every quarter,
within-period) labels them 10 -> Low Value, 100 -> Below Average, 1000 -> Average, 10000 -> High
Value. These within-period labels test the story's structure (paths, narratives, transitions,
retention, cohorts); tests/test_story_asof.py tests the as-of (lifecycle) kind on the same data.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from segmint import story
from segmint.errors import ConfigError, DataError
from segmint.schema import CANONICAL_DTYPES
from segmint.segment.clusters import ClusterConfig
from segmint.story_tables import transition_matrix

D = dt.date
LINES = [  # customer, timestamp, amount
    ("A", "2022-01-15 10:00", 400.0),
    ("A", "2022-03-31 23:59", 600.0),  # still Q1
    ("A", "2022-04-01 00:00", 1000.0),  # already Q2
    ("A", "2022-08-10 12:00", 10000.0),
    ("A", "2022-11-15 12:00", 10000.0),
    ("A", "2023-02-20 12:00", 10000.0),
    ("B", "2022-02-10 09:00", 10.0),
    ("B", "2022-10-05 09:00", 150.0),
    ("B", "2022-10-20 09:00", -50.0),
    ("B", "2023-01-10 09:00", 100.0),
    ("B", "2023-05-05 09:00", 1000.0),
    ("C", "2022-05-20 09:00", 100.0),
    ("C", "2022-09-30 09:00", 100.0),
    ("C", "2022-12-01 09:00", -20.0),
    ("C", "2023-03-15 09:00", 10.0),
    ("C", "2023-06-01 09:00", 10.0),
    ("D", "2022-12-24 09:00", 10000.0),
    ("D", "2023-03-01 09:00", 1000.0),
    ("D", "2023-04-15 09:00", 10000.0),
    ("E", "2023-06-28 09:00", 100.0),
]
PANDAS_DTYPES = {
    "string": "string", "int64": "int64", "timestamp": "datetime64[us]",
    "float64": "float64", "boolean": "boolean",
}


def _tx(lines=LINES) -> ibis.Table:
    rows = [
        {
            "invoice_id": f"{'C' if amount < 0 else ''}{i}", "customer_id": customer,
            "invoice_date": pd.Timestamp(when), "product_id": "p", "product_name": None,
            "quantity": 1.0 if amount > 0 else -1.0, "unit_price": abs(amount), "amount": amount,
            "cost": None, "country": None, "org_id": None, "is_return": amount < 0,
        }
        for i, (customer, when, amount) in enumerate(lines)
    ]
    frame = pd.DataFrame(rows).astype({c: PANDAS_DTYPES[t] for c, t in CANONICAL_DTYPES.items()})
    return ibis.duckdb.connect().create_table("tx", frame)


CLUSTERS = ClusterConfig(k=4, features=["monetary"])


@pytest.fixture(scope="module")
def result() -> story.StoryResult:
    return story.build_story(_tx(), period="quarter", scheme="clusters", config=CLUSTERS)


L, BA, AV, H, I = "Low Value", "Below Average", "Average", "High Value", "Inactive"
PATHS = {
    "A": [AV, AV, H, H, H, I],
    "B": [L, I, I, BA, BA, AV],
    "C": [BA, BA, I, L, L],
    "D": [H, AV, H],
    "E": [BA],
}


def test_period_segments_hand_values(result: story.StoryResult) -> None:
    assert result.kind == "within_period"
    table = result.period_segments.execute()
    got = table.groupby("customer_id")["segment"].agg(list).to_dict()
    assert got == PATHS
    a = table[table.customer_id == "A"].set_index("period")
    assert a.loc["2022-Q1", ["frequency", "monetary"]].tolist() == [2, 1000.0]
    assert a.loc["2022-Q1", "last_purchase"] == pd.Timestamp("2022-03-31")
    assert a.loc["2022-Q2", "monetary"] == 1000.0
    assert a.loc["2022-Q3", ["frequency_to_date", "monetary_to_date"]].tolist() == [4, 12000.0]
    assert a.loc["2022-Q1", "recency_days"] == 1  # last purchase 31 March, scored on 1 April
    b_q4 = table[(table.customer_id == "B") & (table.period == "2022-Q4")].iloc[0]
    assert (b_q4.frequency, b_q4.monetary) == (1, 100.0)  # the return invoice is no purchase
    c_q4 = table[(table.customer_id == "C") & (table.period == "2022-Q4")].iloc[0]
    assert (c_q4.active, c_q4.segment, c_q4.monetary, c_q4.segment_order) == (False, I, -20.0, -1)
    assert c_q4.reason == "no purchase in 2022-Q4"
    assert b_q4.reason.startswith("monetary 100 (top ") and b_q4.reason.endswith("-> Below Average")
    assert list(result.periods["period"]) == [
        "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2"
    ]
    # data end 2023-06-28: two days short of the quarter, within the usual gap of this sparse log
    assert not result.periods["partial"].any() and result.dropped == []
    assert result.periods["as_of"].iloc[-1] == D(2023, 6, 28)  # scored on the last day with data


def test_story_table(result: story.StoryResult) -> None:
    s = result.story.set_index("customer_id")
    assert s.loc["A", "path"] == " > ".join(PATHS["A"])
    assert s["narrative"].to_dict() == {
        "A": "First purchase 2022-Q1 as Average (2 quarters); High Value for 3 quarters; inactive since 2023-Q2",
        "B": "First purchase 2022-Q1 as Low Value; inactive for 2 quarters; back in 2022-Q4 as Below Average "
        "(2 quarters); Average since 2023-Q2",
        "C": "First purchase 2022-Q2 as Below Average (2 quarters); inactive in 2022-Q4; "
        "back in 2023-Q1 as Low Value (2 quarters)",
        "D": "First purchase 2022-Q4 as High Value; Average in 2023-Q1; High Value since 2023-Q2",
        "E": "First purchase 2023-Q2 as Below Average",
    }
    assert s["is_recent"].to_dict() == {"A": False, "B": True, "C": True, "D": True, "E": True}
    assert s["is_new"].to_dict() == {"A": False, "B": False, "C": False, "D": False, "E": True}
    assert s["returned_after_gap"].to_dict() == {
        "A": False, "B": True, "C": True, "D": False, "E": False
    }
    assert s["periods"].to_dict() == {"A": 6, "B": 6, "C": 5, "D": 3, "E": 1}
    assert s["active_periods"].to_dict() == {"A": 5, "B": 4, "C": 4, "D": 3, "E": 1}
    assert s["total_spend"].to_dict() == {"A": 32000, "B": 1210, "C": 200, "D": 21000, "E": 100}
    assert s["current_segment"].to_dict() == {"A": I, "B": AV, "C": L, "D": H, "E": BA}
    # Klaviyo-style: the segment before the current run and the as-of date the current run began
    assert s["previous_segment"].fillna("-").to_dict() == {"A": H, "B": BA, "C": I, "D": AV, "E": "-"}
    changed = {c: (None if pd.isna(v) else pd.Timestamp(v).date()) for c, v in s["segment_changed_on"].items()}
    assert changed == {"A": D(2023, 6, 28), "B": D(2023, 6, 28), "C": D(2023, 3, 31), "D": D(2023, 6, 28),
                       "E": None}
    assert s.loc["C", "current_reason"].endswith("-> Low Value")
    assert s["first_period"].to_dict() == {
        "A": "2022-Q1", "B": "2022-Q1", "C": "2022-Q2", "D": "2022-Q4", "E": "2023-Q2"
    }
    assert pd.Timestamp(s.loc["A", "first_purchase"]) == pd.Timestamp("2022-01-15")
    assert pd.Timestamp(s.loc["C", "last_purchase"]) == pd.Timestamp("2023-06-01")
    assert pd.Timestamp(s.loc["B", "last_purchase"]) == pd.Timestamp("2023-05-05")
    record = result.customer("D")
    assert record["path"] == "High Value > Average > High Value"
    assert [p["segment"] for p in record["timeline"]] == PATHS["D"]
    assert record["first_purchase"] == "2022-12-24" and record["kind"] == "within_period"


def test_overview_without_reading_the_whole_story() -> None:
    """The CLI's counts come from the integer rows, before (and without) the story table; then from it."""
    fresh = story.build_story(_tx(), period="quarter", scheme="clusters", config=CLUSTERS)
    overview = fresh.overview()
    assert "story" not in fresh.__dict__  # counted without building the story's text
    # current segments (PATHS' last entries), each held by one customer: in customer order A..E
    assert overview["current_segment"].tolist() == [I, AV, L, H, BA]
    assert overview["customers"].tolist() == [1, 1, 1, 1, 1]
    # active in 2023-Q2: all but A; new in it: E; back after a gap: B (2022-Q2..Q3) and C (2022-Q4)
    assert overview.set_index("current_segment")[["recent", "new", "returned_after_gap"]].sum().tolist() == [4, 1, 2]
    row = fresh.story_row("C")
    assert row["narrative"] == ("First purchase 2022-Q2 as Below Average (2 quarters); inactive in 2022-Q4; "
                                "back in 2023-Q1 as Low Value (2 quarters)")
    assert (row["periods"], row["previous_segment"], row["returned_after_gap"]) == (5, I, True)
    assert fresh.story["current_segment"].tolist() == [I, AV, L, H, BA]
    assert fresh.overview().equals(overview)  # counted from the story table once it was read
    with pytest.raises(DataError, match="no purchase in the story window"):
        fresh.story_row("Z")


def test_a_page_puts_together_the_stories_it_lists() -> None:
    """The dashboard's load() read the whole story table, a narrative per customer, to list 20: now it
    builds the tables only, and the listed customers' stories come from their rows alone, the same rows
    as the whole table's; the Customers page's change dates come without any text."""
    fresh = story.build_story(_tx(), period="quarter", scheme="clusters", config=CLUSTERS).load()
    listed = fresh.stories(["D", "Z", "B"])  # Z: no such customer
    changes = fresh.segment_changes
    assert "story" not in fresh.__dict__
    assert listed["customer_id"].tolist() == ["B", "D"]  # in story order
    assert listed["narrative"].tolist() == [
        "First purchase 2022-Q1 as Low Value; inactive for 2 quarters; back in 2022-Q4 as Below Average "
        "(2 quarters); Average since 2023-Q2",
        "First purchase 2022-Q4 as High Value; Average in 2023-Q1; High Value since 2023-Q2",
    ]
    assert fresh.stories([]).empty
    whole = fresh.story
    pd.testing.assert_frame_equal(listed, whole[whole["customer_id"].isin(["B", "D"])].reset_index(drop=True))
    pd.testing.assert_frame_equal(changes, whole[list(changes.columns)])
    pd.testing.assert_frame_equal(fresh.stories(["D", "B"]), listed)  # from the whole table once read


def _counts(table: pd.DataFrame) -> dict[tuple[str, str], tuple[int, float]]:
    return {
        (r.from_segment, r.to_segment): (r.customers, round(r.share, 4))
        for r in table.itertuples()
    }


def test_transitions_pooled_over_consecutive_quarters(result: story.StoryResult) -> None:
    third, quarter = round(1 / 3, 4), 0.25
    assert _counts(result.transitions) == {
        (AV, AV): (1, third), (AV, H): (2, round(2 / 3, 4)),
        (H, H): (2, 0.5), (H, I): (1, quarter), (H, AV): (1, quarter),
        (L, I): (1, 0.5), (L, L): (1, 0.5),
        (I, I): (1, third), (I, BA): (1, third), (I, L): (1, third),
        (BA, BA): (2, 0.5), (BA, AV): (1, quarter), (BA, I): (1, quarter),
    }
    churn = result.transitions[result.transitions.churn]
    assert set(zip(churn.from_segment, churn.to_segment)) == {(H, I), (L, I), (BA, I)}
    assert result.transitions["customers"].sum() == 16


def test_transitions_between_chosen_periods(result: story.StoryResult) -> None:
    segments = result.period_segments
    assert _counts(story.transitions(segments, "2022-Q4", "2023-Q1")) == {
        (H, H): (1, 0.5), (H, AV): (1, 0.5), (BA, BA): (1, 1.0), (I, L): (1, 1.0)
    }
    assert _counts(story.transitions(segments, from_period="2022-Q4")) == _counts(
        story.transitions(segments, to_period="2023-Q1")
    )
    assert _counts(story.transitions(segments, "2022-Q1", "2023-Q2")) == {
        (AV, I): (1, 1.0), (L, AV): (1, 1.0)
    }
    matrix = transition_matrix(story.transitions(segments, "2022-Q4", "2023-Q1"))
    assert matrix.loc[H, AV] == 1 and matrix.loc[I, H] == 0
    with pytest.raises(ConfigError, match="2021-Q1.*2022-Q1"):
        story.transitions(segments, "2021-Q1")
    # the integer rows (what the dashboard passes: no text join) give the same table
    for pair in (("2022-Q4", "2023-Q1"), ("2022-Q1", "2023-Q2"), ("2022-Q4", None), (None, "2023-Q1")):
        pd.testing.assert_frame_equal(story.transitions(result.rows, *pair), story.transitions(segments, *pair))
    with pytest.raises(ConfigError, match="2021-Q1.*2022-Q1"):
        story.transitions(result.rows, "2021-Q1")


def test_retention(result: story.StoryResult) -> None:
    r = result.retention.set_index("period")
    expected = {  # active, new, retained, reactivated, previous_active, churned, purchases, revenue
        "2022-Q1": (2, 2, 0, 0, 0, 0, 3, 1010),
        "2022-Q2": (2, 1, 1, 0, 2, 1, 2, 1100),
        "2022-Q3": (2, 0, 2, 0, 2, 0, 2, 10100),
        "2022-Q4": (3, 1, 1, 1, 2, 1, 3, 20080),  # C's return (-20) nets into revenue
        "2023-Q1": (4, 0, 3, 1, 3, 0, 4, 11110),
        "2023-Q2": (4, 1, 3, 0, 4, 1, 4, 11110),
    }
    cols = ["active", "new", "retained", "reactivated", "previous_active", "churned", "purchases", "revenue"]
    assert {p: tuple(int(v) for v in row) for p, row in r[cols].iterrows()} == expected
    rates = r["retention_rate"].tolist()
    assert math.isnan(rates[0]) and rates[1:] == [0.5, 1.0, 0.5, 1.0, 0.75]
    # per-day rates over the covered days (Q1 2022 has 90 days, Q3 92)
    assert r.loc["2022-Q1", "revenue_per_day"] == pytest.approx(1010 / 90)
    assert r.loc["2022-Q3", "purchases_per_day"] == pytest.approx(2 / 92)
    assert set(r["note"]) == {""}


def test_cohorts(result: story.StoryResult) -> None:
    table = result.cohorts
    got = {
        (r.cohort, r.periods_since): (r.period, r.cohort_size, r.customers, r.revenue)
        for r in table.itertuples()
    }
    assert got == {
        ("2022-Q1", 0): ("2022-Q1", 2, 2, 1010.0),
        ("2022-Q1", 1): ("2022-Q2", 2, 1, 1000.0),
        ("2022-Q1", 2): ("2022-Q3", 2, 1, 10000.0),
        ("2022-Q1", 3): ("2022-Q4", 2, 2, 10100.0),
        ("2022-Q1", 4): ("2023-Q1", 2, 2, 10100.0),
        ("2022-Q1", 5): ("2023-Q2", 2, 1, 1000.0),
        ("2022-Q2", 0): ("2022-Q2", 1, 1, 100.0),
        ("2022-Q2", 1): ("2022-Q3", 1, 1, 100.0),
        ("2022-Q2", 2): ("2022-Q4", 1, 0, -20.0),
        ("2022-Q2", 3): ("2023-Q1", 1, 1, 10.0),
        ("2022-Q2", 4): ("2023-Q2", 1, 1, 10.0),
        ("2022-Q4", 0): ("2022-Q4", 1, 1, 10000.0),
        ("2022-Q4", 1): ("2023-Q1", 1, 1, 1000.0),
        ("2022-Q4", 2): ("2023-Q2", 1, 1, 10000.0),
        ("2023-Q2", 0): ("2023-Q2", 1, 1, 100.0),
    }
    row = table[(table.cohort == "2022-Q1") & (table.periods_since == 1)].iloc[0]
    assert row.retained_pct == 50.0
    assert row.revenue_pct == pytest.approx(100 * 1000 / 1010)
    assert story.cohorts(_tx(), "quarter").equals(table)


def test_year_and_month_periods() -> None:
    tx = _tx()
    # 2023 ends on 28 June: a partial year (1 Jan to 28 June = 179 of 365 days), kept and marked
    years = story.build_story(tx, period="year", scheme="clusters", config=CLUSTERS)
    assert years.periods[["period", "partial", "note"]].values.tolist() == [
        ["2022", False, ""], ["2023", True, "partial (49% of days)"]
    ]
    assert years.retention.set_index("period").loc["2023", "revenue_per_day"] == pytest.approx(11110 * 2 / 179)
    assert "2023 (partial, 49% of days)" in years.story.set_index("customer_id").loc["E", "narrative"]
    spend = years.period_segments.execute().set_index(["customer_id", "period"])["monetary"].to_dict()
    assert spend == {("A", "2022"): 22000, ("A", "2023"): 10000, ("B", "2022"): 110, ("B", "2023"): 1100,
                     ("C", "2022"): 180, ("C", "2023"): 20, ("D", "2022"): 10000, ("D", "2023"): 11000,
                     ("E", "2023"): 100}
    dropped = story.build_story(tx, period="year", scheme="clusters", config=CLUSTERS, drop_partial=True)
    assert dropped.periods["period"].tolist() == ["2022"] and dropped.dropped[0].period == "2023"
    assert set(dropped.period_segments.execute().period) == {"2022"}
    assert "E" not in set(dropped.story.customer_id)  # E's only purchase is in the dropped year
    months = story.build_story(tx, period="month", scheme="clusters", config=CLUSTERS).period_segments.execute()
    a = months[months.customer_id == "A"]
    assert len(a) == 18  # 2022-01 .. 2023-06
    assert a[a.active].period.tolist() == ["2022-01", "2022-03", "2022-04", "2022-08", "2022-11",
                                           "2023-02"]
    assert a.set_index("period").loc["2022-03", "monetary"] == 600.0


def test_unknown_scheme_kind_and_lifecycle_names_within_a_period() -> None:
    with pytest.raises(ConfigError, match="scheme='bogus'"):
        story.build_story(_tx(), scheme="bogus")
    with pytest.raises(ConfigError, match="kind='sideways'"):
        story.build_story(_tx(), scheme="value", kind="sideways")
    with pytest.raises(ConfigError, match="rfm names claim tenure and lifecycle"):
        story.build_story(_tx(), scheme="rfm", kind="within_period")


def _write_csv(path) -> None:
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Amount"]
    lines += [
        f"{'C' if amount < 0 else ''}{1000 + i},{customer},{when},{amount}"
        for i, (customer, when, amount) in enumerate(LINES)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_cli_prints_one_story_and_writes_tables(tmp_path) -> None:
    from typer.testing import CliRunner

    from segmint.cli import app

    source = tmp_path / "sales.csv"
    _write_csv(source)
    config = tmp_path / "story.yaml"
    config.write_text("clusters:\n  k: 4\n  features: [monetary]\n")
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["story", str(source), "--scheme", "clusters", "--config", str(config),
                                   "--customer", "B", "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert "clusters segments, within-period (activity/value)" in text
    assert "First purchase 2022-Q1 as Low Value; inactive for 2 quarters" in text
    assert "current segment: Average; before: Below Average, changed on 2023-06-28" in text
    assert "first purchase 2022-02-10, last purchase 2023-05-05" in text
    written = pd.read_csv(out / "story.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert written.loc["C", "path"] == " > ".join(PATHS["C"])
    assert sorted(p.name for p in out.iterdir()) == [
        "cohorts.csv", "period_segments.csv", "periods.csv", "retention.csv", "story.csv", "transitions.csv"
    ]
    overview = CliRunner().invoke(app, ["story", str(source), "--period", "year", "--scheme", "tiers"])
    assert overview.exit_code == 0, overview.output
    assert "partial (49% of days)" in " ".join(overview.output.split())
    dropped = CliRunner().invoke(app, ["story", str(source), "--period", "year", "--drop-partial"])
    assert "left out: 2023 is partial" in " ".join(dropped.output.split())
    bad = CliRunner().invoke(app, ["story", str(source), "--customer", "Z"])
    assert bad.exit_code == 2 and "'Z'" in bad.output
    bad_kind = CliRunner().invoke(app, ["story", str(source), "--scheme", "levels", "--kind", "within-period"])
    assert bad_kind.exit_code == 2 and "levels names claim tenure" in " ".join(bad_kind.output.split())


def test_analyze_can_include_the_story() -> None:
    from segmint.api import analyze

    result = analyze(_tx(), scheme=["levels"], story_period="quarter", story_scheme="clusters",
                     config={"clusters": {"k": 4, "features": ["monetary"]}})
    assert result.story.story.set_index("customer_id")["path"].to_dict() == {
        c: " > ".join(p) for c, p in PATHS.items()
    }
    assert {"story", "story_period_segments", "story_transitions", "story_retention",
            "story_cohorts", "story_periods"} <= set(result.tables)
