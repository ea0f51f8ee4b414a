"""Recommendations: signals by hand, the evaluation protocol by hand, the whole job on small shops."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import ibis
import pandas as pd
import pytest

import segmint
from segmint.clean_options import CleanOptions
from segmint.recommendations import signals as sig
from segmint.errors import ConfigError, DataError
from segmint.recommendations.settings import RecommendConfig, Window
from segmint.recommendations.evaluation import lift_interval, metrics, own_most_bought

GROCERIES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "groceries" / "Groceries_dataset.csv"


def lines_table(rows: list[tuple], returns: tuple = ()) -> ibis.Table:
    """Canonical transactions from (customer, date, product, quantity[, amount]) rows."""
    records = []
    for i, row in enumerate(rows):
        customer, day, product, quantity = row[:4]
        amount = row[4] if len(row) > 4 else 2.0 * quantity
        records.append({
            "invoice_id": f"I{i}", "line_no": 1, "customer_id": customer, "invoice_date": pd.Timestamp(day),
            "product_id": product, "product_name": None if product is None else f"name {product}",
            "quantity": float(quantity), "unit_price": 2.0, "amount": float(amount), "cost": None,
            "country": "UK" if customer < "C5" else "India", "org_id": None, "is_return": i in returns,
        })  # fmt: skip
    frame = pd.DataFrame(records).astype({"cost": "float64", "org_id": "string"})
    return ibis.duckdb.connect().create_table("tx", frame)


def test_window_parsing_and_month_arithmetic():
    assert Window.parse("2M").start(dt.date(2024, 3, 31)) == dt.date(2024, 1, 31)
    assert Window.parse("3m").start(dt.date(2024, 5, 31)) == dt.date(2024, 2, 29)  # clipped to month end
    assert Window.parse("8W").start(dt.date(2024, 3, 1)) == dt.date(2024, 1, 5)
    assert Window.parse(" 60D ").start(dt.date(2024, 3, 1)) == dt.date(2024, 1, 1)
    assert Window.parse("1Y").start(dt.date(2024, 2, 29)) == dt.date(2023, 2, 28)
    assert Window.parse("2M").label == "2 months" and Window.parse("1W").label == "1 week"
    for bad in ("2", "M", "0M", "2Q", "two months"):
        with pytest.raises(ConfigError, match="60D"):
            Window.parse(bad)
    with pytest.raises(ConfigError, match="scheme"):
        RecommendConfig.build(scheme="nope")


def test_purchase_lines_leave_out_returns_and_lines_without_product():
    tx = lines_table([
        ("C1", "2024-01-01", "A", 2), ("C1", "2024-01-05", "A", -2), ("C1", "2024-01-02", None, 1),
        ("C2", "2024-01-03", "B", 1), ("C2", "2024-01-04", "B", -1),
    ], returns=(1, 4))  # fmt: skip
    lines = sig.purchase_lines(tx).order_by("customer_id", "day").execute()
    assert list(zip(lines.customer_id, lines["product"], lines.units)) == [("C1", "A", 2.0), ("C2", "B", 1.0)]
    # both returned in full -> neither is a product the customer wants
    returned = sig.returned_products(tx).order_by("customer_id").execute()
    assert list(zip(returned.customer_id, returned["product"])) == [("C1", "A"), ("C2", "B")]


def test_customer_item_features_by_hand():
    tx = lines_table([
        ("C1", "2024-01-01", "A", 1), ("C1", "2024-01-01", "A", 2), ("C1", "2024-02-01", "A", 1),
        ("C1", "2024-02-01", "B", 1), ("C1", "2024-03-01", "C", 1),
    ])  # fmt: skip
    as_of = dt.date(2024, 3, 11)
    items = sig.customer_items(sig.purchase_lines(tx), as_of).order_by("product").execute()
    a = items.iloc[0]
    assert (a["n"], a["units"], a["visits"], a["days_since"]) == (2, 4.0, 3, 39)  # 2 visit days of 3; Feb 1 -> Mar 11 (leap year)
    assert a["f_share"] == pytest.approx(2 / 3)
    assert a["f_rec30"] == pytest.approx(math.exp(-39 / 30))
    ages = [(as_of - dt.date(2024, 1, 1)).days, 39]
    assert a["f_dec90"] == pytest.approx(math.log(1 + sum(math.exp(-x / 90) for x in ages)))
    assert items["days_since"].tolist() == [39, 39, 10]


def test_item_similarity_is_the_cosine_over_customers():
    # A bought by C1,C2,C3; B by C1,C2; C by C3,C4 -> cos(A,B) = 2/sqrt(3*2), cos(A,C) = 1/sqrt(3*2)
    top = ibis.memtable({"customer_id": ["C1", "C1", "C2", "C2", "C3", "C3", "C4"],
                         "product": ["A", "B", "A", "B", "A", "C", "C"]})  # fmt: skip
    sims = sig.item_neighbours(top, neighbours=5, min_common=1).execute()
    got = {(r.product, r.neighbour): r.similarity for r in sims.itertuples()}
    assert got[("A", "B")] == pytest.approx(2 / math.sqrt(6))
    assert got[("A", "C")] == pytest.approx(1 / math.sqrt(6))
    assert ("B", "C") not in got  # no common buyer
    strong = sig.item_neighbours(top, neighbours=5, min_common=2).execute()
    assert sorted(zip(strong["product"], strong["neighbour"])) == [("A", "B"), ("B", "A")]


def test_metrics_by_hand():
    recs = ibis.memtable({"customer_id": ["C1", "C1", "C2", "C2", "C3"], "product": ["A", "B", "A", "C", "D"]})
    relevant = ibis.memtable({"customer_id": ["C1", "C1", "C1", "C2", "C3"], "product": ["A", "B", "E", "B", "X"]})
    customers = ibis.memtable({"customer_id": ["C1", "C2", "C3"]})
    got = metrics(recs, relevant, customers, top=2)
    # hits: C1 2 (of 3 relevant), C2 0, C3 0
    assert got == {"customers": 3, "precision@2": round((2 / 2) / 3, 4), "recall@2": round((2 / 3) / 3, 4),
                   "hit_rate": round(1 / 3, 4)}  # fmt: skip


def test_lift_interval_is_paired_by_customer():
    relevant = ibis.memtable({"customer_id": ["C1", "C1", "C1", "C2", "C3", "C4"],
                              "product": ["A", "B", "E", "B", "X", "Y"]})  # fmt: skip
    customers = ibis.memtable({"customer_id": ["C1", "C2", "C3", "C4"]})
    ours = ibis.memtable({"customer_id": ["C1", "C1", "C2", "C2", "C3", "C4"], "product": ["A", "B", "A", "C", "D", "Y"]})
    theirs = ibis.memtable({"customer_id": ["C1", "C1", "C2"], "product": ["A", "F", "B"]})
    # hits at 2: ours C1 2, C2 0, C3 0, C4 1; theirs 1, 1, 0, 0 -> differences / 2: 0.5, -0.5, 0, 0.5
    differences = [0.5, -0.5, 0.0, 0.5]
    mean = sum(differences) / 4
    sd = math.sqrt(sum((d - mean) ** 2 for d in differences) / 3)
    half, base = 1.96 * sd / 2, (1 + 1) / 2 / 4  # theirs: precision 0.25
    assert lift_interval(ours, theirs, relevant, customers, top=2) == [round((mean - half) / base, 4),
                                                                        round((mean + half) / base, 4)]  # fmt: skip
    assert lift_interval(ours, theirs.filter(theirs.product == "F"), relevant, customers, top=2) is None  # no hit


def test_own_most_bought_orders_by_visits_then_recency_then_units():
    items = ibis.memtable({
        "customer_id": ["C1"] * 6, "product": ["A", "B", "C", "D", "E", "F"], "n": [3, 3, 5, 1, 3, 2],
        "units": [1.0, 9.0, 1.0, 1.0, 2.0, 50.0],
        "last_day": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01", "2024-03-01", "2024-02-01",
                                    "2024-03-01"]).date,
    })  # fmt: skip
    ranked = own_most_bought(items, ibis.memtable({"customer_id": ["C1"]}), top=5).order_by("rank").execute()
    # 5 visits first; of the three bought on 3 visits, E most recently, then B (9 units) before A (1)
    assert ranked["product"].tolist() == ["C", "E", "B", "A", "F"]


def shop_rows() -> list[tuple]:
    """A shop where C1..C4 re-buy their staple monthly; some also buy a complement."""
    rows = []
    for month in range(1, 7):
        day = f"2024-{month:02d}-10"
        rows += [("C1", day, "A", 1), ("C2", day, "A", 2), ("C3", day, "B", 1), ("C4", day, "B", 1)]
        rows += [("C5", day, "E", 1)] if month % 2 else []
        if month <= 3:
            rows += [("C1", day, "C", 1), ("C3", day, "C", 1)]
    rows += [("C6", "2024-06-01", "A", 1), ("C2", "2024-07-05", "A", 1), ("C6", "2024-07-06", "C", 1)]
    return rows


@pytest.fixture(scope="module")
def shop():
    return segmint.recommend(lines_table(shop_rows()), until="2024-06-30", top=3, evaluate=True)


def test_a_staple_is_recommended_first_with_its_reason(shop):
    card = shop.customer("C1")
    first = card["recommendations"][0]
    assert (first["product_id"], first["rank"]) == ("A", 1)
    assert first["reason"] == "bought 6 times, last 21 days ago"  # 2024-06-10 .. day after 2024-06-30
    assert first["product_name"] == "name A"
    assert card["until"] == "2024-06-30" and shop.blend.source.startswith("default")
    assert [r["rank"] for r in card["recommendations"]] == [1, 2, 3]
    scores = [r["score"] for r in card["recommendations"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    with pytest.raises(DataError, match="leading zeros"):
        shop.customer("nobody")


def test_evaluation_counts_only_purchases_after_until(shop):
    evaluation = shop.evaluation
    # after 2024-06-30: C2 bought A (own staple), C6 bought C; both bought before
    assert evaluation["customers_evaluated"] == 2
    assert evaluation["test_period"] == {"first": "2024-07-05", "last": "2024-07-06"}
    own = evaluation["methods"]["own_most_bought"]
    # own most-bought: C2 -> [A] (hit), C6 -> [A] (miss): precision (1/3 + 0) / 2
    assert own["precision@3"] == round((1 / 3) / 2, 4) and own["hit_rate"] == 0.5
    assert set(evaluation["methods"]) == {"segmint", "popular", "own_most_bought", "own_then_popular"}


def test_tables_have_the_documented_columns(shop):
    tables = shop.tables()
    recs = tables["recommendations"].execute()
    assert list(recs.columns) == ["customer_id", "product_id", "product_name", "rank", "score", "reason"]
    assert recs.groupby("customer_id").size().max() == 3
    view = tables["single_view"]
    assert view.columns[:2].tolist() == ["customer_id", "segment_rfm"]
    c1 = view.set_index("customer_id").loc["C1"]
    assert c1["units: all products"] == 9.0 and c1["products bought"] == 2  # 6 x A + 3 x C


def test_new_only_leaves_out_what_was_bought_and_returns_never_count():
    rows = shop_rows() + [("C5", "2024-06-20", "A", 1), ("C5", "2024-06-25", "A", -1)]
    tx = lines_table(rows, returns=(len(rows) - 1,))
    result = segmint.recommend(tx, until="2024-06-30", top=5, new_only=True)
    recs = result.recommendations.execute()
    bought = {(c, p) for c, _, p, q in shop_rows()}
    assert not {(c, p) for c, p in zip(recs.customer_id, recs.product_id)} & bought
    # C5 returned the A it bought: A is not recommended to C5 although A is the most popular product
    assert "A" not in recs[recs.customer_id == "C5"].product_id.tolist()
    assert result.evaluation is None


def test_no_product_column_says_recommendations_need_products(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("customer,date,amount\nC1,2024-01-01,10\nC2,2024-01-02,5\n")
    with pytest.raises(DataError, match="recommendations need products"):
        segmint.recommend(path)
    assert segmint.analyze(path, scheme="rfm").summaries["rfm"]["customers"].sum() == 2  # segments still work


def test_data_without_any_product_column_say_so_plainly(tmp_path):
    """CDNOW: every column is used (customer, date, CDs, dollars) and none names a product; the Products page
    told the user to choose '<product column>' on the Upload page for a file given on the command line."""
    from segmint.app.messages import describe

    path = tmp_path / "cdnow.txt"
    path.write_text("customer_id date number_of_cds dollar_value\n00001 19970101 1 11.77\n00002 19970112 2 20.76\n")
    with pytest.raises(DataError) as caught:
        segmint.recommend(path)
    text = describe(caught.value)
    assert "these data have no products: none of their columns (customer_id, date, number_of_cds, dollar_value)" in text
    assert "Upload page" not in text and "<product column>" not in text
    spare = tmp_path / "sales.csv"  # a column no field uses (cohort) might name the products: the mapping is the fix
    spare.write_text("customer,cohort,date,amount\nC1,Q1,2024-01-01,10\nC2,Q1,2024-01-02,5\n")
    with pytest.raises(DataError, match="recommendations need products") as caught:
        segmint.recommend(spare)
    assert "choose the column that holds product_id" in describe(caught.value)


def test_blank_product_rows_are_counted_and_kept_for_sales(tmp_path):
    path = tmp_path / "baskets.csv"
    path.write_text('member_id,payment_date,total_amt,product_json\n'
                    'M1,2024-01-05,30,"{""D"": 2, ""A"": 1}"\nM2,2024-01-06,12,\nM1,2024-02-01,7,"[""A""]"\n')
    result = segmint.recommend(path, top=2)
    assert result.counts["lines_without_product"] == 1
    assert any("1 lines without a product" in note for note in result.notes)
    recs = result.recommendations.execute()
    assert set(recs.customer_id) == {"M1"}  # M2 bought no product


def test_product_json_items_with_a_category_give_a_single_view_by_category(tmp_path):
    path = tmp_path / "baskets.csv"
    path.write_text('member_id,payment_date,total_amt,product_json\n'
                    'M1,2024-01-05,30,"[{""sku"": ""A"", ""qty"": 2, ""category"": ""Tea""}, {""sku"": ""B"", ""qty"": 1, ""category"": ""Cake""}]"\n'
                    'M2,2024-01-06,12,"[{""sku"": ""C"", ""qty"": 4, ""category"": ""Tea""}]"\n')  # fmt: skip
    result = segmint.recommend(path, top=2)
    view = result.tables()["single_view_by_category"].set_index("customer_id")
    # units per category, by hand: M1 Tea 2, Cake 1; M2 Tea 4 (Tea sells more units, so it comes first)
    assert view.loc["M1", ["units: Tea", "units: Cake", "units: all products"]].tolist() == [2.0, 1.0, 3.0]
    assert view.loc["M2", ["units: Tea", "units: Cake", "categories bought"]].tolist() == [4.0, 0.0, 1]
    plain = segmint.read_transactions(plain_basket_log(tmp_path), options=CleanOptions(unpriced="units"))
    assert "single_view_by_category" not in segmint.recommend(plain, top=1).tables()


def plain_basket_log(tmp_path: Path) -> Path:
    """A small basket log without categories."""
    path = tmp_path / "plain.csv"
    path.write_text("Member_number,Date,itemDescription\n1,01-01-2015,milk\n2,02-01-2015,bread\n1,03-01-2015,bread\n")
    return path


@pytest.mark.skipif(not GROCERIES.exists(), reason="../shared/data is not present")
def test_groceries_basket_log_beats_own_most_bought(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["recommend", str(GROCERIES), "--unpriced", "units", "--until", "2015-10-31",
                                   "--evaluate", "--out", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    summary = json.loads((out / "evaluation.json").read_text())
    assert summary["counts"]["lines"] == 38_765  # the 759 exact duplicate rows are kept
    # no grocery item is non-merchandise ("shopping bags", "newspapers", "bags" are products)
    assert summary["counts"]["non_merchandise_lines"] == 0 and summary["non_merchandise"] == []
    assert not (out / "non_merchandise.csv").exists()
    methods = summary["evaluation"]["methods"]
    ours, own = methods["segmint"]["precision@10"], methods["own_most_bought"]["precision@10"]
    assert ours >= 1.15 * own
    assert ours >= 0.95 * methods["popular"]["precision@10"]
    recs = pd.read_csv(out / "recommendations.csv")
    assert list(recs.columns) == ["customer_id", "product_id", "product_name", "rank", "score", "reason"]


def test_cli_writes_the_three_files_and_prints_the_evaluation(tmp_path):
    from typer.testing import CliRunner

    from segmint.cli import app

    path = tmp_path / "shop.csv"
    pd.DataFrame(shop_rows(), columns=["Customer", "Date", "StockCode", "Quantity"]).assign(Price=2.0).to_csv(
        path, index=False
    )
    out = tmp_path / "out"
    run = CliRunner().invoke(app, ["recommend", str(path), "--until", "2024-06-30", "--top", "2", "--evaluate",
                                   "--customer", "C1", "--out", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "bought 6 times, last 21 days ago" in run.output and "precision@2" in run.output
    recs = pd.read_csv(out / "recommendations.csv", dtype={"customer_id": str})
    assert recs.groupby("customer_id").size().max() == 2
    assert {"segment_products.csv", "evaluation.json", "single_view.csv"} <= {p.name for p in out.iterdir()}
    # --from/--to/--org narrow the lines used, like every other command
    narrowed = out / "narrowed"
    run = CliRunner().invoke(app, ["recommend", str(path), "--from", "2024-03-01", "--to", "2024-06-30", "--evaluate",
                                   "--out", str(narrowed)])  # fmt: skip
    assert run.exit_code == 0, run.output
    counts = json.loads((narrowed / "evaluation.json").read_text())["counts"]
    assert counts["lines"] == sum("2024-03-01" <= row[1] <= "2024-06-30" for row in shop_rows())  # 19
    run = CliRunner().invoke(app, ["recommend", str(path), "--org", "nowhere"])
    assert run.exit_code != 0 and "no line has organisation 'nowhere': the data name no organisation" in run.output
    assert "Traceback" not in run.output
    bad = CliRunner().invoke(app, ["recommend", str(path), "--window", "2Q"])
    assert bad.exit_code == 2 and "60D" in bad.output and "Traceback" not in bad.output


def test_hits_at_counts_each_customers_top_by_hand():
    from segmint.recommendations.blend import hits_at

    frame = pd.DataFrame({"customer_id": ["A", "A", "A", "B", "B"], "product": ["p1", "p2", "p3", "p1", "p2"],
                          "share_all": 0.1, "label": [1, 0, 1, 0, 0]})  # fmt: skip
    # A's top 2 by score: p1 (hit), p2 (miss); B has no later purchase, so it is not evaluated
    assert hits_at(frame, [3.0, 2.0, 1.0, 5.0, 4.0], top=2) == (1, 1)
    assert hits_at(frame, [3.0, 1.0, 2.0, 5.0, 4.0], top=2) == (2, 1)


def random_candidates(seed: int, decisive: str) -> tuple[pd.DataFrame, list[str]]:
    """90 customers x 12 candidates with random features; each buys the 3 highest on ``decisive``."""
    import numpy as np

    from segmint.recommendations.blend import features_for

    names = features_for(RecommendConfig())
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(90 * 12, len(names))), columns=names)
    frame["customer_id"] = np.repeat([f"C{i}" for i in range(90)], 12)
    frame["product"] = np.tile([f"P{j}" for j in range(12)], 90)
    frame["share_all"] = 0.1
    frame["label"] = (frame.groupby("customer_id")[decisive].rank(ascending=False) <= 3).astype("int8")
    return frame, names


def test_the_blend_is_chosen_by_precision_on_held_out_customers():
    """Only f_due (in 'all signals', not in the compact set) tells what each customer buys next."""
    from segmint.recommendations.blend import choose_features

    frame, names = random_candidates(1, "f_due")
    chosen, scores = choose_features(frame, names, top=3)
    assert chosen.startswith("all signals") and scores[chosen] >= 0.9  # 3 of 3 found for nearly everyone
    assert set(scores) == {"all signals", "all signals, regularised", "all signals, strongly regularised",
                           "compact signals", "popularity"}  # fmt: skip
    assert max(scores["compact signals"], scores["popularity"]) < 0.5  # chance: 3 / 12 = 0.25


def test_popularity_is_kept_when_a_richer_blend_only_ties_it():
    """Each customer buys their 3 most popular candidates: every blend with f_pop finds them all."""
    from segmint.recommendations.blend import choose_features

    frame, names = random_candidates(2, "f_pop")
    chosen, scores = choose_features(frame, names, top=3)
    assert scores["popularity"] == 1.0 and scores["all signals"] <= 1.0  # nothing to gain over popularity
    assert chosen == "popularity"



def test_with_the_popularity_blend_every_reason_is_popularity():
    """When cross-validation picks popularity alone, 'bought 6 times' is no longer why a product is first."""
    from segmint.engine import materialize
    from segmint.recommendations import blend, scoring

    tx = lines_table(shop_rows())
    con = tx._find_backend()
    config = RecommendConfig(top=3)
    lines = materialize(con, sig.purchase_lines(tx))
    as_of = dt.date(2024, 7, 1)
    signals = scoring.build_signals(con, tx, lines, scoring.segments_as_of(tx, "rfm", as_of), as_of, config)
    popularity = blend.Blend({"f_pop": 1.0}, 0.0, {"f_pop": 0.0}, "popularity")
    recs = scoring.rank(signals, popularity, sig.product_names(lines), config).execute()
    c1 = recs[recs.customer_id == "C1"]
    # shoppers of 2024-05-01 .. 06-30: C1..C6; A bought by C1, C2, C6 (3 of 6), B by C3, C4, E by C5
    assert c1.product_id.tolist() == ["A", "B", "E"]
    assert c1.reason.iloc[0] == "popular with all customers in the last 2 months (bought by 50% of shoppers)"
    assert c1.reason.str.startswith("popular with all customers").all()


def test_the_job_drops_its_scratch_tables_and_keeps_its_result():
    """A dashboard recommends many times on one connection: only each result's own tables stay."""
    tx = lines_table(shop_rows())
    con = tx._find_backend()
    before = set(con.list_tables())
    result = segmint.recommend(tx, until="2024-06-30", top=2, evaluate=True)
    left = set(con.list_tables()) - before
    assert left == {result.recommendations.op().name, result.segments.op().name}
    assert result.customer("C1")["recommendations"][0]["product_id"] == "A"  # still readable


def test_product_views_without_picks_fit_no_blend_and_match(shop, monkeypatch):
    """picks=False: the same favourites, single view and sales, and no blend learned (the slow part)."""
    from segmint.recommendations import model

    monkeypatch.setattr(model, "learn_blend", lambda *a, **k: pytest.fail("the blend was learned"))
    views = segmint.recommend(lines_table(shop_rows()), until="2024-06-30", top=3, picks=False)
    assert views.recommendations is None and views.blend is None and "recommendations" not in views.tables()
    for name in ("segment_products", "single_view", "product_sales_by_segment", "product_sales_by_region",
                 "top_products_by_period"):
        pd.testing.assert_frame_equal(views.tables()[name], shop.tables()[name])
    assert views.segments.execute().sort_values("customer_id").reset_index(drop=True).equals(
        shop.segments.execute().sort_values("customer_id").reset_index(drop=True))
    with pytest.raises(ConfigError, match="product views only"):
        views.customer("C1")
    with pytest.raises(ConfigError, match="picks"):
        segmint.recommend(lines_table(shop_rows()), picks=False, evaluate=True)


def test_product_revenue_of_unpriced_baskets_is_an_allocation_that_adds_up(tmp_path):
    # no item prices: each basket's total spread by quantity (M1: A 2 -> 20, B 1 -> 10; M3: 10 over 3 items)
    path = tmp_path / "baskets.csv"
    path.write_text('member_id,payment_date,total_amt,product_json\n'
                    'M1,2024-01-05,30,"[{""sku"": ""A"", ""qty"": 2}, {""sku"": ""B"", ""qty"": 1}]"\n'
                    'M2,2024-01-06,12,"[{""sku"": ""C"", ""qty"": 4}]"\n'
                    'M3,2024-02-01,10,"[{""sku"": ""B"", ""qty"": 1}, {""sku"": ""A"", ""qty"": 1}, {""sku"": ""C"", ""qty"": 1}]"\n'
                    'M1,2024-02-03,5,"[{""sku"": ""C"", ""qty"": 1}]"\n')  # fmt: skip
    result = segmint.recommend(path, top=2, picks=False)
    top = result.tables()["top_products_by_period"]
    revenue = {(r.period, r.product_id): r.revenue for r in top.itertuples()}
    # the first item held the whole basket: Jan A 30, B 0; Feb B 10, A 0
    assert revenue == pytest.approx({("2024-01", "A"): 20.0, ("2024-01", "B"): 10.0, ("2024-01", "C"): 12.0,
                                     ("2024-02", "A"): 3.33, ("2024-02", "B"): 3.34, ("2024-02", "C"): 8.33})
    assert sum(revenue.values()) == pytest.approx(57.0)  # the sales total
    favourites = result.segment_products
    assert favourites["revenue"].sum() == pytest.approx(57.0)
    assert any("per-product revenue is an allocation" in note for note in result.notes)


def _visits_baskets(tmp_path: Path) -> Path:
    """A basket log without invoices: A 2 visits (1 item, then 6 items on 2024-03-01: 7 lines), B 4 visits
    of one item, C and D 2 visits, E and F 1 (C, D, E, F first bought in Feb, Apr, Jun, Aug 2023)."""
    rows = ["Member_number,Date,itemDescription", "A,2023-01-02,milk"] + [f"A,2024-03-01,item{i}" for i in range(6)]
    rows += ["B,2023-01-05,milk", "B,2024-01-10,milk", "B,2024-02-10,bread", "B,2024-03-02,eggs"]
    rows += [f"{c},2023-0{m}-05,milk" for c, m in zip("CDEF", (2, 4, 6, 8), strict=True)]
    rows += ["C,2024-02-20,bread", "D,2023-11-20,eggs"]
    path = tmp_path / "baskets.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_segments_count_visits_as_analyze_does_when_the_data_have_no_invoice_column(tmp_path):
    """A basket log without invoices: a customer's lines on one day are one visit (analyze, story, the
    dashboard). The recommender's segments counted every line as a purchase, so on the groceries log its
    Champions were 629 where the segment tables have 701 (At Risk 349 vs 385, ...)."""
    # by hand: A 2 visits (1 item, then 6 items on one day: 7 lines), B 4 visits of one item, C and D 2,
    # E and F 1. By visits B is the most frequent; by lines A was (7 > 4), which made A a Champion.
    path = _visits_baskets(tmp_path)
    tx = segmint.read_transactions(str(path), options=CleanOptions(unpriced="units"))
    result = segmint.recommend(tx, scheme="rfm", top=2)
    mine = result.segments.to_pandas().set_index("customer_id")["segment"].to_dict()
    table = segmint.analyze(tx, scheme="rfm").segments["rfm"].execute().set_index("customer_id")
    assert table["frequency"].to_dict() == {"A": 2, "B": 4, "C": 2, "D": 2, "E": 1, "F": 1}
    assert mine == table["segment"].to_dict()
    assert mine["A"] == "Loyal Customers" and mine["B"] == "Champions"


def test_cli_names_the_segments_with_no_shopper_in_the_window(tmp_path):
    """The groceries log's favourites table listed 5 of 11 segments and said nothing of the other 6 (At
    Risk, Hibernating, Lost, ...): none of their customers bought in the last 2 months."""
    from typer.testing import CliRunner

    from segmint.cli import app

    path = _visits_baskets(tmp_path)
    run = CliRunner().invoke(app, ["recommend", str(path), "--unpriced", "units", "--top", "2"], terminal_width=250)
    assert run.exit_code == 0, run.output
    # by hand: the window is 2024-01-03 to 2024-03-02; A, B and C bought in it; D (Hibernating: 2 visits,
    # last 2023-11-20) and E, F (Lost: one visit in 2023) did not
    assert "(no shopper: none of its 2 customers bought in the window, 2024-01-03 to 2024-03-02)" in run.output
    assert "(no shopper: none of its 1 customer bought in the window, 2024-01-03 to 2024-03-02)" in run.output
    lines = [line for line in run.output.splitlines() if "no shopper" in line]
    assert [line.split()[1] for line in lines] == ["Lost", "Hibernating"]
