"""The real CDNOW log through `segmint story`: lifecycle labels true to the data, counts from the raw text.

Every CDNOW customer has a first line in 1997-Q1 (data README); two of them paid nothing on it and
first paid in 1997-Q4. "New Customers" may only appear in each customer's first active (paid) quarter. Active customers
per quarter and cohort sizes are counted straight from the raw text with str.split. Skipped when
../shared/data is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from segmint.cli import app

MASTER = Path(__file__).parents[1] / ".." / "shared" / "data" / "cdnow" / "CDNOW_master.txt"

pytestmark = pytest.mark.skipif(not MASTER.is_file(), reason="../shared/data/cdnow is not present")


def raw_quarters() -> pd.DataFrame:
    """customer_id, quarter, dollars per line, parsed with str.split (no segmint code)."""
    rows = [line.split() for line in MASTER.read_text().splitlines()[1:] if line.strip()]
    frame = pd.DataFrame([(r[0], r[1], float(r[3])) for r in rows], columns=["customer_id", "date", "dollars"])
    date = pd.to_datetime(frame["date"], format="%Y%m%d")
    frame["quarter"] = date.dt.year.astype(str) + "-Q" + date.dt.quarter.astype(str)
    return frame


@pytest.fixture(scope="module")
def story_out(tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("cdnow_story")
    run = CliRunner().invoke(app, ["story", str(MASTER), "--scheme", "rfm", "--out", str(out)])
    assert run.exit_code == 0, run.output
    return out, " ".join(run.output.split())


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / f"{name}.csv", dtype={"customer_id": str})


def test_newness_only_in_first_periods(story_out) -> None:
    out, text = story_out
    assert "rfm segments, as-of (lifecycle)" in text
    assert "one customer's purchases on one day count as one visit" in text
    segments, story = read(out, "period_segments"), read(out, "story").set_index("customer_id")
    new = segments[segments.segment == "New Customers"]
    assert len(new) == len(story)  # every customer is new exactly once ...
    assert (new.set_index("customer_id")["period"] == story.loc[new.customer_id, "first_period"]).all()
    assert set(new.period) <= {"1997-Q1", "1997-Q2", "1997-Q3", "1997-Q4"}  # ... when they first bought
    assert (new.period == "1997-Q1").sum() > 23_000
    assert story.loc["00001", "first_segment"] == "New Customers"  # not "Lost" in the quarter they bought
    later = segments[(segments.period == "1998-Q2")]
    assert "New Customers" not in set(later.segment)
    # the retention table's new customers are exactly the customers labelled new, period by period
    labelled_new = new.groupby("period").size()
    retention = read(out, "retention").set_index("period")
    assert retention["new"].to_dict() == labelled_new.reindex(retention.index, fill_value=0).to_dict()
    # a customer who bought in a quarter is never called Lost in it (as-of scoring at the quarter's end)
    assert not (segments.active & segments.segment.isin(["Lost", "Hibernating", "Can't Lose Them"])).any()


def test_no_label_claims_presence_past_each_quarters_lapse_threshold(story_out) -> None:
    """Each quarter is scored as of its end, with its own lapse threshold from the customers known then:
    the 95th percentile of repeat customers' average gap, recomputed here from the raw lines before
    each quarter's end in SQL (1997-Q2 on: 121, 184, 258, 318, 358 days; in 1997-Q1 everyone bought in the
    quarter scored, so nobody lapses). No customer-quarter beyond it is Champions, Loyal Customers, Potential
    Loyalist, Promising, About To Sleep or Need Attention, and the last quarter's labels are analyze's."""
    from test_real_data import raw_lines, reference_lapse_days

    import segmint

    out, _ = story_out
    segments = read(out, "period_segments")
    lines = raw_lines("CDNOW_master.txt", True)
    presence = {"Champions", "Loyal Customers", "Potential Loyalist", "Promising", "About To Sleep", "Need Attention"}
    thresholds = {}
    for period, rows in segments.groupby("period"):
        snapshot = pd.Timestamp(rows.as_of.iloc[0]) + pd.Timedelta(days=1)
        thresholds[period] = lapse = reference_lapse_days(lines, before=snapshot)
        present = rows[rows.segment.isin(presence)]
        assert (present.recency_days <= lapse).all(), period
        moved = rows[rows.reason.str.contains(", no purchase for ", regex=False, na=False)]
        assert (moved.recency_days > lapse).all() and moved.reason.str.contains(f"({lapse} days)", regex=False).all()
    assert list(thresholds.values())[1:] == [121, 184, 258, 318, 358]
    moved = segments[segments.reason.str.contains(", no purchase for ", regex=False, na=False)]
    assert len(moved) == 26_037 and moved.groupby("period").size().to_dict() == {
        "1997-Q2": 2_344, "1997-Q3": 6_606, "1997-Q4": 5_900, "1998-Q1": 5_512, "1998-Q2": 5_675}
    # one rule: the story's last quarter is what analyze labels (its features are as of the same day)
    analyzed = segmint.analyze(MASTER, scheme="rfm").segments["rfm"]
    analyzed = (analyzed.execute() if hasattr(analyzed, "execute") else analyzed).set_index("customer_id")
    last = segments[segments.period == "1998-Q2"].set_index("customer_id")
    assert len(last) == len(analyzed) and (last.segment == analyzed.segment.reindex(last.index)).all()


def test_active_counts_and_cohorts_equal_the_raw_text(story_out) -> None:
    out, _ = story_out
    raw = raw_quarters()
    bought = raw[raw.dollars > 0]
    active = bought.groupby("quarter")["customer_id"].nunique()
    retention = read(out, "retention").set_index("period")
    assert retention["active"].to_dict() == active.to_dict()
    first = bought.groupby("customer_id")["quarter"].min()
    cohorts = read(out, "cohorts")
    sizes = cohorts[cohorts.periods_since == 0].set_index("cohort")["cohort_size"]
    assert sizes.to_dict() == first.value_counts().to_dict()
    # customers of each cohort active in each later quarter
    tagged = bought.assign(cohort=bought.customer_id.map(first))
    want = tagged.groupby(["cohort", "quarter"])["customer_id"].nunique()
    got = cohorts[cohorts.customers > 0].set_index(["cohort", "period"])["customers"]
    assert got.to_dict() == want.to_dict()
    assert retention.loc["1998-Q2", "note"] != retention.loc["1998-Q2", "note"]  # NaN: no partial period
    periods = read(out, "periods")
    assert not periods.partial.any() and periods.period.tolist() == [
        "1997-Q1", "1997-Q2", "1997-Q3", "1997-Q4", "1998-Q1", "1998-Q2"
    ]


def test_partial_last_quarter_is_kept_and_named_alike_by_story_and_quality_report(tmp_path) -> None:
    """The real log cut on 8 June 1998 (customers 00001-03000): 1998-Q2 is partial, kept and marked."""
    from segmint.api import read_transactions

    lines = MASTER.read_text().splitlines()
    kept = [lines[0]] + [row for row in lines[1:] if row.split() and row.split()[0] <= "03000"
                         and row.split()[1] <= "19980608"]
    cut = tmp_path / "cdnow_cut.txt"
    cut.write_text("\n".join(kept) + "\n")
    last_day = max(pd.Timestamp(row.split()[1]) for row in kept[1:])
    covered = (last_day - pd.Timestamp("1998-04-01")).days + 1  # 1998-Q2 has 91 days
    share = f"{covered / 91:.0%}"
    run = CliRunner().invoke(
        app, ["story", str(cut), "--scheme", "rfm", "--customer", "00003", "--out", str(tmp_path / "out")]
    )
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    assert f"1998-Q2 is partial ({share} of days)" in text
    assert f"1998-Q2 (partial, {share} of days)" in text  # the customer's timeline row (bought on 1998-05-28)
    periods = read(tmp_path / "out", "periods").set_index("period")
    assert periods.loc["1998-Q2", "covered_days"] == covered and bool(periods.loc["1998-Q2", "partial"])
    assert not periods.drop(index="1998-Q2").partial.any()
    retention = read(tmp_path / "out", "retention").set_index("period")
    assert retention.loc["1998-Q2", "note"] == f"partial ({share} of days)"
    raw = raw_quarters()
    in_cut = raw[(raw.customer_id <= "03000") & (raw.date <= "19980608") & (raw.dollars > 0)]
    assert retention.loc["1998-Q2", "active"] == in_cut[in_cut.quarter == "1998-Q2"].customer_id.nunique()
    # the quality report names the same quarter with the same days (one coverage rule)
    report = read_transactions(str(cut)).report
    quarters = [p for p in report.partial_periods if p.period.endswith("Q2")]
    assert [(p.period, p.covered_days, p.days) for p in quarters] == [("1998-Q2", covered, 91)]
    assert f"{covered} of its 91 days ({share})" in report.summary()


def test_a_free_first_line_starts_no_tenure_and_every_table_agrees(story_out, tmp_path) -> None:
    """Customers 10824 and 11378 got one CD at $0.00 in February 1997 and first paid in November. The story
    said "Joined 1997-Q4"; a $0.00 line is no purchase, so tenure, first period, cohort and "New Customers"
    all start at the first paid purchase, and the narrative says "First purchase". Dates from the raw text."""
    out, _ = story_out
    raw = raw_quarters()
    paid = raw[raw.dollars > 0]
    story = read(out, "story").set_index("customer_id")
    segments = read(out, "period_segments").set_index(["customer_id", "period"])
    run = CliRunner().invoke(app, ["analyze", str(MASTER), "--scheme", "rfm", "--out", str(tmp_path)])
    assert run.exit_code == 0, run.output
    features = read(tmp_path, "segments_rfm").set_index("customer_id")
    for customer, first_paid in (("10824", "19971121"), ("11378", "19971123")):
        lines = raw[raw.customer_id == customer]
        assert lines.iloc[0].dollars == 0.0 and lines.iloc[0].date.startswith("199702")  # the free line
        assert paid[paid.customer_id == customer].date.min() == first_paid
        day = f"{first_paid[:4]}-{first_paid[4:6]}-{first_paid[6:]}"
        assert story.loc[customer, "first_purchase"] == day and features.loc[customer, "first_purchase"] == day
        assert features.loc[customer, "tenure_days"] == (pd.Timestamp("1998-07-01") - pd.Timestamp(day)).days
        assert story.loc[customer, "first_period"] == "1997-Q4"
        assert story.loc[customer, "narrative"].startswith("First purchase 1997-Q4 as New Customers")
        assert segments.loc[(customer, "1997-Q4"), "segment"] == "New Customers"
        assert (customer, "1997-Q3") not in segments.index  # no row before the first purchase
    assert not story["narrative"].str.contains("Joined").any()


def test_clv_dates_the_free_first_order_customers_as_the_story_does(story_out, tmp_path) -> None:
    """The story's cohort of 10824 and 11378 is 1997-Q4 (first paid purchase), while clv.csv (and the Value
    page's per-customer facts) gave their first_purchase as the $0.00 February order. One definition: a free
    order is no purchase of the customer's, so clv.csv dates them as the story does; the model still counts
    it as a purchase occasion (T from February, as the published fits do) and a note says so. Every
    customer's first and last purchase agree between clv.csv and the story. Dates from the raw text."""
    out, _ = story_out
    raw = raw_quarters()
    paid = raw[raw.dollars > 0]
    story = read(out, "story").set_index("customer_id")
    run = CliRunner().invoke(app, ["clv", str(MASTER), "--no-compare", "--out", str(tmp_path)], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    clv = read(tmp_path, "clv").set_index("customer_id")
    for customer in ("10824", "11378"):
        first_paid = paid[paid.customer_id == customer].date.min()
        day = f"{first_paid[:4]}-{first_paid[4:6]}-{first_paid[6:]}"
        assert clv.loc[customer, "first_purchase"] == day == story.loc[customer, "first_purchase"]
        assert story.loc[customer, "first_period"] == "1997-Q4"
        first_order = pd.Timestamp(raw[raw.customer_id == customer].date.min())  # the $0.00 line
        assert clv.loc[customer, "T"] == pytest.approx((pd.Timestamp("1998-06-30") - first_order).days / 7, abs=1e-4)
    # 10824: the free order and one paid day -> one repeat occasion for the model
    assert clv.loc["10824", "frequency"] == 1
    shared = story.index.intersection(clv.index)
    assert len(shared) == len(clv) == len(story)
    assert (clv.loc[shared, "first_purchase"] == story.loc[shared, "first_purchase"]).all()
    assert (clv.loc[shared, "last_purchase"] == story.loc[shared, "last_purchase"]).all()
    flat = " ".join(run.output.split())
    assert "customers' first order was free ($0)" in flat
