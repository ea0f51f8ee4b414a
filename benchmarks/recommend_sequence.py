"""Session 7: a next-basket (sequential) signal, measured against the shipped blend.

    python -m benchmarks.recommend_sequence [--datasets retail,affinity,groceries] [--splits 3]

Every signal tried in sessions 2-6 looks at a customer's history as a bag of visits (counts, recency,
cycles) or at customers alike (co-purchase over whole histories, segments, popularity). None asks what
people buy in the basket *after* one like the customer's last: a first-order Markov chain over
baskets, the transition half of FPMC (Rendle, Freudenthaler & Schmidt-Thieme 2010, "Factorizing
personalized Markov chains for next-basket recommendation", WWW), estimated by counting:

* ``P(j | i)``: over every customer's consecutive visits (calendar days with a purchase) before the
  split date, the share of visits holding product i whose next visit holds product j;
* ``f_seq``: for a customer and candidate j, the mean of ``P(j | i)`` over the products i of the
  customer's last visit (log, floored at 1e-3); ``f_seq3``: the same over the last three visits,
  weighted 1, 1/2, 1/4 (most recent first).

On the candidates of ``benchmarks.recommend_lab`` (the pipeline's own; inner split = fit and choice,
held-out split = score only) each is added to the shipped blend's features and the blend is chosen
and fitted exactly as shipped; printed per split: held-out precision@10 of the shipped blend and of
the blend with the signal, the paired per-customer difference and its standard error.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from benchmarks.recommend_lab import frames
from benchmarks.recommend_signals import against_shipped, lab_main, per_customer

TOP = 10
SMOOTH = 1e-3
NEW = {"next basket (last visit)": ["f_seq"], "next basket (last 3 visits)": ["f_seq3"]}

TRANSITIONS = """
with days as (
    select customer_id, day, dense_rank() over (partition by customer_id order by day) as k
    from (select distinct customer_id, day from visits)),
lines as (select v.customer_id, v.product, d.k from visits v join days d using (customer_id, day)),
last_k as (select customer_id, max(k) as last from days group by 1),
moved as (select l.product as i, count(*) as n_i from lines l join last_k m using (customer_id) where l.k < m.last group by 1),
pairs as (select a.product as i, b.product as j, count(*) as n from lines a
          join lines b on a.customer_id = b.customer_id and b.k = a.k + 1 group by 1, 2),
p as (select i, j, n / n_i as p from pairs join moved using (i)),
recent as (select l.customer_id, l.product as i, power(0.5, m.last - l.k) as w
           from lines l join last_k m using (customer_id) where l.k > m.last - {visits}),
weight as (select customer_id, sum(w) as total from recent group by 1)
select r.customer_id, p.j as product, sum(r.w * p.p) / any_value(t.total) as score
from recent r join p using (i) join weight t using (customer_id)
group by 1, 2
"""


def sequence_signal(frame: pd.DataFrame, visits: pd.DataFrame, last_visits: int) -> np.ndarray:
    """log(mean P(candidate | a product of the customer's last ``last_visits`` visits) + SMOOTH)."""
    con = duckdb.connect()
    con.register("visits", visits[["customer_id", "product", "day"]])
    wanted = frame["customer_id"].unique()
    con.register("wanted", pd.DataFrame({"customer_id": wanted}))
    scores = con.sql(f"select s.* from ({TRANSITIONS.format(visits=last_visits)}) s "
                     "semi join wanted using (customer_id)").df()  # fmt: skip
    con.close()
    score = scores.set_index(["customer_id", "product"])["score"]
    found = score.reindex(pd.MultiIndex.from_frame(frame[["customer_id", "product"]])).fillna(0).to_numpy()
    return np.log(found + SMOOTH)


def add_signals(part: dict) -> pd.DataFrame:
    frame = part["frame"].copy()
    frame["f_seq"] = sequence_signal(frame, part["visits"], 1)
    frame["f_seq3"] = sequence_signal(frame, part["visits"], 3)
    return frame


def experiments(name: str, shift: int) -> dict[str, tuple[float, float, float]]:
    """name -> (precision@10, difference from the shipped blend, its standard error) on one split."""
    d = frames(name, shift)
    fit, ev = add_signals(d["fit"]), add_signals(d["eval"])
    out, base = against_shipped(d, fit, ev, {**NEW, "both": [f for v in NEW.values() for f in v]})
    seq_alone = per_customer(d["eval"], ev, ev["f_seq3"].to_numpy())
    out["f_seq3 alone as the scorer"] = (seq_alone.mean() / TOP, (seq_alone - base).mean() / TOP, 0.0)
    return out


if __name__ == "__main__":
    lab_main(__doc__, experiments)
