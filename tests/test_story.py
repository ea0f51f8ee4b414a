"""Customer stories over periods, checked against a hand-built 5-customer, 6-quarter fixture.

Spend per customer and quarter (net; '-' = no purchase, 'r' = only a return of 20):

            2022-Q1 2022-Q2 2022-Q3 2022-Q4 2023-Q1 2023-Q2
    A         1000    1000   10000   10000   10000      -
    B           10      -       -      100     100    1000     (Q4: 150 bought, 50 returned)
    C            .     100     100       r      10      10
    D            .       .       .   10000    1000   10000
    E            .       .       .       .       .     100

The 17 active customer-quarters spend 10 (x3), 100 (x5), 1000 (x4), 10000 (x5). Linear-interpolated
quartiles (positions 4, 8, 12 of 0..16) are exactly 100, 1000 and 10000, so under the "value" rule
(>= Q3 High, >= median Average, >= Q1 Below Average, else Low) the labels are
10 -> Low Value, 100 -> Below Average, 1000 -> Average, 10000 -> High Value.
"""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from segmint import story
from segmint.errors import ConfigError
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
            "invoice_id": f"{'C' if amount < 0 else ''}{i}", "line_no": 1, "customer_id": customer,
            "invoice_date": pd.Timestamp(when), "product_id": "p", "product_name": None,
            "quantity": 1.0 if amount > 0 else -1.0, "unit_price": abs(amount), "amount": amount,
            "cost": None, "country": None, "org_id": None, "is_return": amount < 0,
        }
        for i, (customer, when, amount) in enumerate(lines)
    ]
    frame = pd.DataFrame(rows).astype({c: PANDAS_DTYPES[t] for c, t in CANONICAL_DTYPES.items()})
    return ibis.duckdb.connect().create_table("tx", frame)


@pytest.fixture(scope="module")
def result() -> story.StoryResult:
    return story.build_story(_tx(), period="quarter", scheme="value")


L, BA, AV, H, I = "Low Value", "Below Average", "Average", "High Value", "Inactive"
PATHS = {
    "A": [AV, AV, H, H, H, I],
    "B": [L, I, I, BA, BA, AV],
    "C": [BA, BA, I, L, L],
    "D": [H, AV, H],
    "E": [BA],
}


def test_period_segments_hand_values(result: story.StoryResult) -> None:
    table = result.period_segments.execute()
    got = table.groupby("customer_id")["segment"].agg(list).to_dict()
    assert got == PATHS
    a = table[table.customer_id == "A"].set_index("period")
    assert a.loc["2022-Q1", ["frequency", "monetary"]].tolist() == [2, 1000.0]
    assert a.loc["2022-Q1", "last_purchase"] == pd.Timestamp("2022-03-31")
    assert a.loc["2022-Q2", "monetary"] == 1000.0
    b_q4 = table[(table.customer_id == "B") & (table.period == "2022-Q4")].iloc[0]
    assert (b_q4.frequency, b_q4.monetary) == (1, 100.0)  # the return invoice is no purchase
    c_q4 = table[(table.customer_id == "C") & (table.period == "2022-Q4")].iloc[0]
    assert (c_q4.active, c_q4.segment, c_q4.monetary, c_q4.segment_order) == (False, I, -20.0, -1)
    assert b_q4.reason == "spend 100 >= 100, frequency 1 -> Below Average"
    assert list(result.periods["period"]) == [
        "2022-Q1", "2022-Q2", "2022-Q3", "2022-Q4", "2023-Q1", "2023-Q2"
    ]
    assert result.excluded is None


def test_story_table(result: story.StoryResult) -> None:
    s = result.story.set_index("customer_id")
    assert s.loc["A", "path"] == " > ".join(PATHS["A"])
    assert s["narrative"].to_dict() == {
        "A": "Joined 2022-Q1 as Average (2 quarters); High Value for 3 quarters; inactive since 2023-Q2",
        "B": "Joined 2022-Q1 as Low Value; inactive for 2 quarters; back in 2022-Q4 as Below Average "
        "(2 quarters); Average since 2023-Q2",
        "C": "Joined 2022-Q2 as Below Average (2 quarters); inactive in 2022-Q4; "
        "back in 2023-Q1 as Low Value (2 quarters)",
        "D": "Joined 2022-Q4 as High Value; Average in 2023-Q1; High Value since 2023-Q2",
        "E": "Joined 2023-Q2 as Below Average",
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
    assert s["first_period"].to_dict() == {
        "A": "2022-Q1", "B": "2022-Q1", "C": "2022-Q2", "D": "2022-Q4", "E": "2023-Q2"
    }
    assert pd.Timestamp(s.loc["A", "first_purchase"]) == pd.Timestamp("2022-01-15")
    assert pd.Timestamp(s.loc["C", "last_purchase"]) == pd.Timestamp("2023-06-01")
    assert pd.Timestamp(s.loc["B", "last_purchase"]) == pd.Timestamp("2023-05-05")
    assert result.customer("D")["path"] == "High Value > Average > High Value"


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


def test_retention(result: story.StoryResult) -> None:
    r = result.retention.set_index("period")
    expected = {  # active, new, retained, reactivated, previous_active, churned
        "2022-Q1": (2, 2, 0, 0, 0, 0),
        "2022-Q2": (2, 1, 1, 0, 2, 1),
        "2022-Q3": (2, 0, 2, 0, 2, 0),
        "2022-Q4": (3, 1, 1, 1, 2, 1),
        "2023-Q1": (4, 0, 3, 1, 3, 0),
        "2023-Q2": (4, 1, 3, 0, 4, 1),
    }
    cols = ["active", "new", "retained", "reactivated", "previous_active", "churned"]
    assert {p: tuple(int(v) for v in row) for p, row in r[cols].iterrows()} == expected
    rates = r["retention_rate"].tolist()
    assert math.isnan(rates[0]) and rates[1:] == [0.5, 1.0, 0.5, 1.0, 0.75]


def test_cohorts() -> None:
    table = story.cohorts(_tx(), "quarter")
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


def test_year_and_month_periods() -> None:
    tx = _tx()
    # 2023 ends on 28 June: an incomplete year, left out unless asked for. 2022 alone spends
    # 22000, 110, 180, 10000 -> quartiles 162.5, 5090, 13000.
    only_2022 = story.period_segments(tx, period="year").execute()
    assert {(r.customer_id, r.period): r.segment for r in only_2022.itertuples()} == {
        ("A", "2022"): H, ("B", "2022"): L, ("C", "2022"): BA, ("D", "2022"): AV,
    }
    years = story.period_segments(tx, period="year", include_incomplete=True).execute()
    # Customer-years spend 20, 100, 110, 180, 1100, 10000, 10000, 11000, 22000:
    # quartiles at positions 2, 4, 6 -> 110, 1100, 10000.
    got = {(r.customer_id, r.period): r.segment for r in years.itertuples()}
    assert got == {
        ("A", "2022"): H, ("A", "2023"): H, ("B", "2022"): BA, ("B", "2023"): AV,
        ("C", "2022"): BA, ("C", "2023"): L, ("D", "2022"): H, ("D", "2023"): H,
        ("E", "2023"): L,
    }
    months = story.period_segments(tx, period="month").execute()
    a = months[months.customer_id == "A"]
    assert len(a) == 18  # 2022-01 .. 2023-06
    assert a[a.active].period.tolist() == ["2022-01", "2022-03", "2022-04", "2022-08", "2022-11",
                                           "2023-02"]
    assert a.set_index("period").loc["2022-03", "monetary"] == 600.0


def test_incomplete_last_quarter_excluded_by_default_and_kept_on_request() -> None:
    tx = _tx([*LINES, ("F", "2023-07-02 10:00", 100.0)])
    coverage = story.incomplete_trailing_period(tx, "quarter")
    assert coverage == story.PeriodCoverage(
        period="2023-Q3", period_start=D(2023, 7, 1), period_end=D(2023, 9, 30),
        last_transaction=D(2023, 7, 2), coverage=round(2 / 92, 4),
    )
    default = story.build_story(tx)
    assert default.excluded == coverage
    assert sorted(default.story.customer_id) == ["A", "B", "C", "D", "E"]
    assert default.period_segments.execute().groupby("customer_id")["segment"].agg(list).to_dict() \
        == PATHS
    kept = story.build_story(tx, include_incomplete=True)
    assert kept.excluded is None
    assert kept.periods["period"].iloc[-1] == "2023-Q3"
    assert kept.story.set_index("customer_id").loc["F", "is_new"]
    assert story.incomplete_trailing_period(_tx(), "quarter") is None  # ends 2023-06-28


def test_clusters_scheme_fits_once_across_periods() -> None:
    # On log spend alone the four spend levels are four exact clusters: same labels as "value".
    config = ClusterConfig(k=4, features=["monetary"])
    table = story.period_segments(_tx(), scheme="clusters", config=config).execute()
    assert table.groupby("customer_id")["segment"].agg(list).to_dict() == PATHS


def test_unknown_scheme_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="scheme='bogus'"):
        story.period_segments(_tx(), scheme="bogus")


def test_rfm_scheme_uses_features_within_each_period() -> None:
    from segmint.features import customer_features
    from segmint.segment import rfm

    tx = _tx()
    table = story.period_segments(tx, scheme="rfm").execute()
    q4 = table[table.period == "2022-Q4"].set_index("customer_id")
    # Same quarter scored alone, snapshot the day after it ends.
    alone = rfm.assign(
        customer_features(tx, start="2022-10-01", end="2022-12-31", snapshot_date="2023-01-01")
    ).execute().set_index("customer_id")
    assert sorted(q4.index) == ["A", "B", "C", "D"]
    assert q4.loc["C", "segment"] == I  # only a return in Q4
    for cid in ("A", "B", "D"):
        assert q4.loc[cid, "segment"] == alone.loc[cid, "segment"]
        assert q4.loc[cid, "reason"] == alone.loc[cid, "reason"]


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
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["story", str(source), "--customer", "B", "--out", str(out)])
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert "Joined 2022-Q1 as Low Value; inactive for 2 quarters" in text
    assert "first purchase 2022-02-10, last purchase 2023-05-05" in text
    written = pd.read_csv(out / "story.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert written.loc["C", "path"] == " > ".join(PATHS["C"])
    assert sorted(p.name for p in out.iterdir()) == [
        "cohorts.csv", "period_segments.csv", "retention.csv", "story.csv", "transitions.csv"
    ]
    overview = CliRunner().invoke(app, ["story", str(source), "--period", "year"])
    assert overview.exit_code == 0, overview.output
    assert "2023 excluded as incomplete" in " ".join(overview.output.split())
    bad = CliRunner().invoke(app, ["story", str(source), "--customer", "Z"])
    assert bad.exit_code == 2 and "'Z'" in bad.output


def test_analyze_can_include_the_story() -> None:
    from segmint.api import analyze

    result = analyze(_tx(), scheme=["levels"], story_period="quarter")
    assert result.story.story.set_index("customer_id")["path"].to_dict() == {
        c: " > ".join(p) for c, p in PATHS.items()
    }
    assert {"story", "story_period_segments", "story_transitions", "story_retention",
            "story_cohorts"} <= set(result.tables)
