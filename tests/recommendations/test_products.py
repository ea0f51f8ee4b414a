"""Segment favourites, the single view and product sales, against hand counts."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from segmint.recommendations import products

LINES = [  # customer, day, product, units, revenue, country
    ("C1", "2024-03-01", "A", 1, 10.0, "UK"), ("C2", "2024-03-02", "A", 2, 20.0, "UK"),
    ("C2", "2024-03-02", "B", 1, 5.0, "UK"), ("C3", "2024-03-03", "B", 3, 15.0, "FR"),
    ("C4", "2024-03-04", "C", 1, 7.0, "FR"), ("C4", "2024-01-01", "A", 5, 50.0, "FR"),  # before the window
]  # fmt: skip


@pytest.fixture
def lines() -> ibis.Table:
    frame = pd.DataFrame(LINES, columns=["customer_id", "day", "product", "units", "revenue", "country"])
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    frame["product_name"] = "name " + frame["product"]
    return ibis.memtable(frame)


SEGMENTS = ibis.memtable({"customer_id": ["C1", "C2", "C3", "C4", "C5"], "segment": ["S1", "S1", "S2", "S2", "S2"],
                          "segment_order": [1, 1, 0, 0, 0]})  # fmt: skip


def test_segment_favourites_by_hand(lines):
    names = ibis.memtable({"product": ["A", "B", "C"], "product_name": ["name A", "name B", "name C"]})
    table = products.segment_favourites(lines, SEGMENTS, dt.date(2024, 2, 1), dt.date(2024, 4, 1), names,
                                        min_buyers=1)  # fmt: skip
    got = {(r.segment, r.product_id): r for r in table.itertuples()}
    # shoppers in the window: S1 {C1, C2}, S2 {C3, C4} (C5 bought nothing); 4 in all
    a = got[("S1", "A")]
    assert (a.customers, a.units, a.revenue, a.segment_customers, a.segment_shoppers) == (2, 3.0, 30.0, 2, 2)
    assert (a.share_of_segment, a.share_of_all, a.lift) == (1.0, 0.5, 2.0)
    # Wilson 95% lower bound of 2 in 2 with z = 1.96: (1 + z²/4 - z * z/4) / (1 + z²/2) = 0.34238, / 0.5
    assert a.lift_low == pytest.approx(0.6848, abs=1e-4)
    c = got[("S2", "C")]
    assert (c.share_of_segment, c.share_of_all, c.lift, c.segment_customers) == (0.5, 0.25, 2.0, 3)
    b = got[("S2", "B")]
    assert (b.lift, b.units) == (1.0, 3.0)
    s2 = table[table.segment == "S2"].set_index("product_id")
    assert s2.loc["C", "rank_by_lift"] == 1 and s2.loc["B", "rank_by_volume"] == 1
    assert table.segment.tolist()[0] == "S1"  # most valuable segment first
    assert str(table["rank_by_lift"].dtype) == "Int64"  # written as 1, never 1.0


def test_single_view_caps_columns_and_keeps_totals(lines):
    view, note = products.single_view(lines, {"rfm": SEGMENTS}, products=2, values="spend")
    # by revenue: A 80, B 20, C 7 -> columns A and B, C in 'other products'
    assert list(view.columns) == ["customer_id", "segment_rfm", "spend: name A (A)", "spend: name B (B)",
                                  "spend: other products", "spend: all products", "products bought"]  # fmt: skip
    c4 = view.set_index("customer_id").loc["C4"]
    assert (c4["spend: name A (A)"], c4["spend: other products"], c4["spend: all products"]) == (50.0, 7.0, 57.0)
    assert note.startswith("single view: 2 of 3 products as columns")


def test_product_sales_by_region_and_top_products(lines):
    by_region = products.product_sales(lines, "country", period="month", products=3)
    march_uk_a = by_region[(by_region.period == "2024-03") & (by_region.country == "UK") & (by_region.product_id == "A")]
    assert march_uk_a[["units", "revenue", "customers"]].values.tolist() == [[3.0, 30.0, 2]]
    by_segment = products.product_sales(lines, SEGMENTS, period="quarter", products=3)
    assert set(by_segment.segment) == {"S1", "S2"} and set(by_segment.period) == {"2024-Q1"}
    top = products.top_products_by_period(lines, period="month", top=2)
    assert top[top.period == "2024-03"].product_id.tolist() == ["A", "B"]  # revenue 30, 20
    assert top[top.period == "2024-01"].product_id.tolist() == ["A"]


def test_single_view_by_category_by_hand(lines):
    # A and B are Fruit, C Bakery; C4's January line has no category (kept in the totals, under 'other')
    category = {"A": "Fruit", "B": "Fruit", "C": "Bakery"}
    tagged = lines.mutate(category=lines["product"].substitute(category))
    tagged = tagged.mutate(category=ibis.cases((tagged.day < dt.date(2024, 2, 1), ibis.null("string")),
                                               else_=tagged.category))  # fmt: skip
    view, note = products.single_view(tagged, {"rfm": SEGMENTS}, products=1, values="units", by="category")
    # units by category: Fruit 1+2+1+3 = 7, Bakery 1 -> one column (Fruit); Bakery and the blank in 'other'
    assert list(view.columns) == ["customer_id", "segment_rfm", "units: Fruit", "units: other categories",
                                  "units: all products", "categories bought"]  # fmt: skip
    got = view.set_index("customer_id")
    assert got.loc["C2", ["units: Fruit", "units: other categories", "units: all products"]].tolist() == [3.0, 0.0, 3.0]
    assert got.loc["C4", ["units: Fruit", "units: other categories", "units: all products"]].tolist() == [0.0, 6.0, 6.0]
    assert got.loc["C4", "categories bought"] == 1  # the blank category is not a category
    assert note.startswith("single view by category: 1 of 2 categories as columns")


def _champions_and_others(buyers: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Favourites of 499 Champions and 4,491 Others, all of whom buy bread in the window;
    ``buyers``: product -> (Champions who buy it, Others who buy it)."""
    rows, shoppers = [], [f"S{i}" for i in range(499)] + [f"O{i}" for i in range(4_491)]
    for product, (champions, others) in buyers.items():
        rows += [(c, "2024-03-01", product, 1, 1.0) for c in shoppers[:champions] + shoppers[499:499 + others]]
    rows += [(c, "2024-03-02", "bread", 1, 1.0) for c in shoppers]  # everyone shops
    frame = pd.DataFrame(rows, columns=["customer_id", "day", "product", "units", "revenue"])
    frame["day"], frame["product_name"] = pd.to_datetime(frame["day"]).dt.date, frame["product"]
    segments = ibis.memtable({"customer_id": shoppers, "segment": ["Champions"] * 499 + ["Others"] * 4_491,
                              "segment_order": [1] * 499 + [0] * 4_491})  # fmt: skip
    names = ibis.memtable({"product": [*buyers, "bread"], "product_name": [*buyers, "bread"]})
    return products.segment_favourites(ibis.memtable(frame), segments, dt.date(2024, 2, 1), dt.date(2024, 4, 1), names)


def test_lift_ranking_needs_buyers_to_vouch_for_it():
    """3 buyers of 499 at lift 2.0 ranked first by lift before (groceries' Champions: zwieback, mustard,
    dish cleaner); 60 of 499 at lift 1.8 is the favourite a marketer can act on. Wilson bounds by hand:
    3/499 -> 0.002047 (lift low end 0.68), 60/499 -> 0.09457 (1.42)."""
    table = _champions_and_others({"niche": (3, 12), "staple": (60, 273)})  # 3/499 vs 15/4990, 60 vs 333
    champions = table[table.segment == "Champions"].set_index("product_id")
    assert champions.loc["niche", "lift"] == pytest.approx((3 / 499) / (15 / 4_990), abs=1e-4)  # 2.0
    assert champions.loc["staple", "lift"] == pytest.approx((60 / 499) / (333 / 4_990), abs=1e-4)  # 1.80
    assert champions.loc["niche", "lift_low"] == pytest.approx(0.002047 / (15 / 4_990), abs=2e-3)
    assert champions.loc["staple", "lift_low"] == pytest.approx(0.09457 / (333 / 4_990), abs=2e-3)
    assert champions.loc["staple", "rank_by_lift"] == 1 and champions.loc["niche", "rank_by_lift"] > 1


def test_only_products_bought_more_than_by_everyone_have_a_rank_by_lift():
    """Ranked by lift's low end alone, milk (200 of 499 Champions = 40.1% vs 2,200 of 4,990 = 44.1%:
    lift 0.91, low end 0.81) came 2nd, above niche (lift 2.0, low end 0.68), and bread (everyone: lift
    1) had a rank too: a column named rank_by_lift said Champions favour them. Lifts by hand."""
    table = _champions_and_others({"niche": (3, 12), "staple": (60, 273), "milk": (200, 2_000)})
    ranks = {(r.segment, r.product_id): r.rank_by_lift for r in table.itertuples()}
    assert table.set_index(["segment", "product_id"]).loc[("Champions", "milk"), "lift"] == pytest.approx(
        (200 / 499) / (2_200 / 4_990), abs=1e-4)  # 0.909
    assert ranks[("Champions", "staple")] == 1 and ranks[("Champions", "niche")] == 2
    assert pd.isna(ranks[("Champions", "milk")]) and pd.isna(ranks[("Champions", "bread")])
    # Others: milk 2,000 of 4,491 = 44.5% vs 44.1% (lift 1.01) is their one favourite; staple 6.1% vs 6.7%,
    # niche 0.27% vs 0.30%, bread 1.0
    assert ranks[("Others", "milk")] == 1
    assert all(pd.isna(ranks[("Others", p)]) for p in ("staple", "niche", "bread"))
    ranked = table[table.rank_by_lift.notna()]
    assert (ranked.lift > 1).all() and (ranked.customers >= 3).all()


def test_too_few_buyers_tells_apart_why_a_segment_has_no_favourite():
    favourites = pd.DataFrame({"segment": ["P", "P", "Q"], "customers": [2, 1, 5],
                               "rank_by_lift": pd.array([None, None, None], dtype="Int64")})  # fmt: skip
    assert products.too_few_buyers(favourites, "P", 3)  # no product has 3 buyers in P
    assert not products.too_few_buyers(favourites, "Q", 3)  # 5 buyers, yet bought less than by everyone


def test_bought_more_names_only_products_the_segment_buys_more_than_everyone():
    """The groceries log's Potential Loyalists: whole milk at 20.1% of them vs 21.7% of all has no rank by
    lift; "buys more than others" names the ranked products, best first."""
    favourites = pd.DataFrame({
        "segment": ["P"] * 4 + ["Q"],
        "product_name": ["pork", "tropical fruit", "whole milk", "semi-finished bread", "tea"],
        "rank_by_lift": [1.0, 2.0, None, 3.0, None],
        "lift": [1.0737, 1.0129, 0.9266, 1.4075, 3.0],
        "share_of_segment": [0.0865, 0.112, 0.201, 0.0204, 0.3],
        "share_of_all": [0.0806, 0.1105, 0.2169, 0.0145, 0.1],
        "lift_established": [True, True, False, True, False],
    })  # fmt: skip
    assert products.bought_more(favourites, "P", 3)["product_name"].tolist() == [
        "pork", "tropical fruit", "semi-finished bread"]
    assert products.bought_more(favourites, "Q", 3).empty  # too few buyers to rank


def test_only_an_established_lift_says_the_segment_buys_more_than_others():
    """Groceries' Champions: mustard at lift 2.03 with its 95% low end 0.93 was named among what they "buy
    more than others". By hand: niche 3 of 499 -> low end 0.68, staple 60 of 499 -> 1.42; both are ranked
    by lift (above 1), only staple's lift is established."""
    table = _champions_and_others({"niche": (3, 12), "staple": (60, 273)})
    champions = table[table.segment == "Champions"].set_index("product_id")
    assert champions.loc["niche", "rank_by_lift"] == 2 and not champions.loc["niche", "lift_established"]
    assert champions.loc["staple", "lift_established"]
    assert (table["lift_established"] == (table["lift_low"] > 1)).all()  # the rule, on the written values
    assert products.bought_more(table, "Champions", 10)["product_id"].tolist() == ["staple"]
    assert products.unestablished(table, "Champions") == 1
