"""Session 8: "is this product still in the customer's repertoire?" as a buy-till-you-die model per
(customer, product), measured against the shipped blend.

    python -m benchmarks.recommend_item_btyd [--datasets retail,retail_4300,affinity,groceries] [--splits 3]

Session 5 found the retail-like log's gap to be which products stuck in a customer's repertoire (a
product tried sticks with probability 1/2; interest then fades after an exponential span) -- the
story of the MBG/NBD model (Batislam, Denizel & Filiztekin 2007: a customer may drop out right after
the first purchase, or after any later one) and of the Pareto/NBD (Schmittlein, Morrison & Colombo
1987: exponential lifetimes), told here of a product in a customer's basket instead of a customer in a
shop. Sessions 4-5 tried Bhagat et al.'s Poisson-Gamma repeat rate and an Erlang hazard (no dropout);
none of these dropout models. For every (customer, product) bought before the split date:
frequency x = visits with the product - 1, recency t_x = days from its first to its last visit,
T = days from its first visit to the split; each model is fitted (segmint.btyd, maximum likelihood)
on every such pair of the log before the split, pooled over products, and gives

* ``f_<m>_p``: P(at least one purchase of it in the window | x, t_x, T);
* ``f_<m>_alive``: P(still in the repertoire | x, t_x, T);
* ``f_<m>_e``: log(E[visits with it in the window] + 1e-3);

(0, 0 and log 1e-3 for products the customer never bought). Each set is added to the shipped blend,
chosen and fitted as shipped on the inner split; the held-out months only score.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.recommend_lab import frames
from benchmarks.recommend_signals import against_shipped, lab_main, paired, per_customer

SMOOTH = 1e-3
MODELS = {"mbg": "MBG/NBD", "pnbd": "Pareto/NBD"}


def pair_summary(visits: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """customer_id, product, x, t_x, T (days) of every pair bought before ``at``."""
    per = visits.groupby(["customer_id", "product"])["day"].agg(["min", "max", "nunique"]).reset_index()
    return per.assign(x=per["nunique"] - 1.0, t_x=(per["max"] - per["min"]).dt.days.astype(float),
                      T=(at - per["min"]).dt.days.astype(float))[["customer_id", "product", "x", "t_x", "T"]]  # fmt: skip


def model_signals(part: dict, window: float) -> tuple[pd.DataFrame, dict]:
    from segmint.btyd.fitting import ConvergenceError
    from segmint.btyd.models import MBGNBD
    from segmint.btyd.pareto import ParetoNBD

    at = pd.Timestamp(part["at"])
    pairs = pair_summary(part["visits"], at)
    frame = part["frame"]
    mine = frame[["customer_id", "product"]].merge(pairs, how="left")
    own = mine["x"].notna().to_numpy()
    out, params = {}, {}
    for key, cls in (("mbg", MBGNBD), ("pnbd", ParetoNBD)):
        try:
            model = cls(n_starts=4).fit(pairs["x"], pairs["t_x"], pairs["T"])
        except ConvergenceError:
            continue
        params[key] = {k: round(v, 4) for k, v in model.params_.items()}
        x, t_x, T = (mine.loc[own, c].to_numpy() for c in ("x", "t_x", "T"))
        p, alive = np.zeros(len(frame)), np.zeros(len(frame))
        e = np.full(len(frame), np.log(SMOOTH))
        p[own] = model.p_repurchase(window, x, t_x, T)
        alive[own] = model.p_alive(x, t_x, T)
        e[own] = np.log(model.expected_purchases(window, x, t_x, T) + SMOOTH)
        if not all(np.isfinite(v).all() for v in (p, alive, e)):  # the fit's extreme parameters overflow
            continue
        out.update({f"f_{key}_p": p, f"f_{key}_alive": alive, f"f_{key}_e": e})
    return frame.assign(**out), params


def experiments(name: str, shift: int) -> dict[str, tuple[float, float, float]]:
    """name -> (precision@10, difference from the shipped blend, its standard error) on one split."""
    d = frames(name, shift)
    fit, fit_params = model_signals(d["fit"], float((d["as_of"] - d["inner"]).days))
    ev, ev_params = model_signals(d["eval"], float((d["end"] - d["as_of"]).days))
    print(name, shift, "fitted on the inner split's history:", fit_params, "on the split's:", ev_params, flush=True)
    fitted = {key: [f"f_{key}_p", f"f_{key}_alive", f"f_{key}_e"] for key in MODELS}
    fitted = {key: added for key, added in fitted.items() if added[0] in fit and added[0] in ev}  # converged
    out, base = against_shipped(d, fit, ev, {MODELS[key]: added for key, added in fitted.items()})
    for key, label in MODELS.items():
        if key in fitted:
            alone = ev[f"f_{key}_e"].to_numpy() + 1e-6 * ev["share_all"].to_numpy()
            out[f"{label} E[visits] alone"] = paired(per_customer(d["eval"], ev, alone), base)
        else:  # the model did not converge (or overflowed) on this log
            out[f"+ {label}"] = out[f"{label} E[visits] alone"] = (float("nan"),) * 3
    return out


if __name__ == "__main__":
    lab_main(__doc__, experiments)
