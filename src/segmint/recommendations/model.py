"""Product recommendations per customer and per segment, with the evidence that they work.

How a customer's top N is chosen (see :mod:`segmint.recommendations.signals` for each signal):

1. Candidates: the customer's own products, products often bought by customers who bought theirs
   (item-to-item co-purchase, computed in the engine), and the recent favourites of their segment
   and of everyone (the last ``window``, 2 months by default, before the as-of date).
2. Each candidate gets a score = the estimated chance that the customer buys it in the next
   ``window``: a logistic blend of the signals. The blend is **learned by measurement** on the
   customer's own data: it is fitted on an inner time split (signals as of ``window`` before the
   as-of date, labels = what each customer bought in that last ``window``), then applied to the
   signals as of the as-of date. With too little history for that split a default blend is used
   (fitted the same way on generated data; see benchmarks/RESULTS.md) and the result says so.
3. The reason names what lifted the product most: the customer's own repeat purchases ("bought 4
   times, last 20 days ago"), a product they bought ("often bought with X"), their segment ("popular
   with At Risk customers in the last 2 months") or everyone.

``evaluate=True`` scores the recommendations against what customers bought after the as-of date,
next to two baselines on the same split (global popularity of the last window, each customer's own
most-bought products); see :mod:`segmint.recommendations.evaluation`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segmint.recommendations import signals as sig
from segmint.merchandise import MerchandiseRules, NonMerchandiseValues
from segmint import engine
from segmint.errors import ConfigError, DataError, Fix

log = logging.getLogger(__name__)

SIGNALS: dict[str, tuple[str, ...]] = {
    "own": (*sig.OWN_FEATURES, "f_own_irep", "f_own_trend"),
    "copurchase": ("f_cf",),
    "segment": ("f_seg",),
    "popular": ("f_pop", "f_trend", "f_newp"),
}
STORY_SCHEMES = ("value",)  # segments of the latest story period (see segments_as_of)
MIN_FIT_CUSTOMERS = 30  # fewer customers on the inner split -> the default blend
_UNITS = {"D": "day", "W": "week", "M": "month", "Y": "year"}

# The feature sets the inner split chooses between (by cross-validated precision@N; see choose_features)
COMPACT_FEATURES = ("f_own", "f_log_n", "f_share", "f_rec30", "f_rec180", "f_dec90", "f_cf", "f_seg", "f_pop")
REGULARISED = {"all signals, regularised": 0.1, "all signals, strongly regularised": 0.01}  # label -> C
CV_FOLDS = 3  # customer folds of the inner split
CV_CUSTOMERS = 1500  # customers of the inner split used to choose (the chosen blend is fitted on all)

# Fitted on generated data with segment affinities (benchmarks/recommend.py --fit-default); used
# only when a log is too short for its own inner split.
DEFAULT_BLEND: dict[str, float] = {
    "intercept": -4.6, "f_own": 1.2, "f_log_n": 0.55, "f_share": 1.4, "f_rec30": 0.6, "f_rec180": 0.6,
    "f_dec90": 0.3, "f_cf": 2.0, "f_seg": 0.35, "f_pop": 0.3,
}  # fmt: skip


_CREATED: ContextVar[list[str] | None] = ContextVar("segmint_recommend_tables", default=None)


def materialize(con: Any, expr: ir.Table) -> ir.Table:
    """:func:`segmint.engine.materialize`, remembered so the job drops its scratch tables when done."""
    table = engine.materialize(con, expr)
    created = _CREATED.get()
    if created is not None:
        created.append(table.op().name)
    return table


@contextmanager
def scratch_tables(con: Any) -> Iterator[set[str]]:
    """Tables materialised inside are dropped on exit, except the names the caller adds to the yielded set.

    A long-running dashboard computes many recommendations on one connection: without this, every
    run's candidate tables (millions of rows) would stay in memory for the life of the process.
    """
    created: list[str] = []
    token = _CREATED.set(created)
    keep: set[str] = set()
    try:
        yield keep
    finally:
        _CREATED.reset(token)
        outer = _CREATED.get()
        for name in created:
            if name in keep:
                if outer is not None:
                    outer.append(name)  # now the enclosing scope's table
                continue
            try:
                con.drop_table(name, force=True)
            except Exception:  # noqa: BLE001 - a scratch table that cannot be dropped only costs memory
                log.debug("could not drop scratch table %s", name, exc_info=True)


@dataclass(frozen=True)
class Window:
    """A length of time such as 2 months ('2M'), 8 weeks ('8W'), 60 days ('60D') or 1 year ('1Y')."""

    count: int
    unit: str  # D, W, M or Y

    @classmethod
    def parse(cls, text: str | Window) -> Window:
        """Read '2M', '8W', '60D', '1Y' (case-insensitive, spaces allowed)."""
        if isinstance(text, Window):
            return text
        match = re.fullmatch(r"\s*(\d+)\s*([dwmyDWMY])\s*", str(text))
        if not match or int(match.group(1)) == 0:
            raise ConfigError(
                f"window {text!r} is not a length of time; write a number and a unit: "
                "60D (days), 8W (weeks), 2M (months) or 1Y (year)",
                field="window", value=text, fix=Fix(option="window", example="2M"),
            )
        return cls(int(match.group(1)), match.group(2).upper())

    def start(self, end: dt.date) -> dt.date:
        """The first day of the window that ends the day before ``end``."""
        if self.unit == "D":
            return end - dt.timedelta(days=self.count)
        if self.unit == "W":
            return end - dt.timedelta(weeks=self.count)
        months = self.count * (12 if self.unit == "Y" else 1)
        index = end.year * 12 + end.month - 1 - months
        year, month = divmod(index, 12)
        last_day = (dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1) - dt.timedelta(days=1)).day
        return dt.date(year, month + 1, min(end.day, last_day))

    @property
    def label(self) -> str:
        """'2 months', '1 week', ..."""
        return f"{self.count} {_UNITS[self.unit]}{'s' if self.count != 1 else ''}"

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"


class RecommendConfig(BaseModel):
    """What to recommend and how (defaults live here; loadable from YAML like every config)."""

    model_config = ConfigDict(extra="forbid")

    top: int = Field(10, ge=1, le=1000)  # products per customer
    window: str = "2M"  # the recent window of favourites and of the inner split
    scheme: str = "rfm"  # segments whose favourites are a signal and a table
    new_only: bool = False  # leave out what the customer already bought
    signals: tuple[str, ...] = ("own", "copurchase", "segment", "popular")
    neighbours: int = Field(20, ge=1)  # co-purchase neighbours kept per product
    per_customer: int = Field(20, ge=1)  # a customer's products used for co-purchase
    own_limit: int = Field(50, ge=1)  # own products considered per customer
    popular_limit: int = Field(20, ge=1)  # segment / overall favourites considered per customer
    copurchase_limit: int = Field(30, ge=1)  # co-purchase candidates per customer
    fit_customers: int = Field(4000, ge=MIN_FIT_CUSTOMERS)  # customers sampled to learn the blend
    favourites: int = Field(20, ge=1)  # products per segment in segment_products
    min_buyers: int = Field(3, ge=1)  # buyers a product needs in a segment to be ranked by lift
    single_view_products: int = Field(20, ge=1, le=200)  # product (category) columns of the single view
    single_view_values: Literal["units", "spend"] = "units"
    # items (product code or name, any case) to treat as products whatever non_merchandise.yaml says,
    # and items to treat as non-merchandise (postage, fees, ...: kept for sales, left out of product analyses)
    treat_as_products: tuple[str, ...] = ()
    treat_as_services: tuple[str, ...] = ()

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        return str(Window.parse(value))

    @field_validator("scheme")
    @classmethod
    def _scheme(cls, value: str) -> str:
        value = "value" if value == "story" else value
        if value not in segment_schemes():
            raise ValueError(f"unknown scheme {value!r}; choose one of {', '.join(segment_schemes())}")
        return value

    @field_validator("treat_as_products", "treat_as_services", mode="before")
    @classmethod
    def _items(cls, value: Any) -> Any:
        if value is None:
            return ()
        return (value,) if isinstance(value, str) else value

    @field_validator("signals")
    @classmethod
    def _signals(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [s for s in value if s not in SIGNALS]
        if unknown or not value:
            raise ValueError(f"signals {list(value)}: choose from {', '.join(SIGNALS)}")
        return tuple(value)

    @classmethod
    def build(cls, config: RecommendConfig | dict | None = None, **overrides: Any) -> RecommendConfig:
        """A config from another config or a dict, with keyword overrides (None = keep)."""
        base = config.model_dump() if isinstance(config, RecommendConfig) else dict(config or {})
        base.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(base)
        except ValidationError as exc:  # a plain message naming the setting, its value and a working one
            errors = exc.errors(include_url=False)
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'settings'} = {e.get('input')!r}: {e['msg'].removeprefix('Value error, ')}"
                for e in errors
            )
            name = ".".join(map(str, errors[0]["loc"])) if errors else ""
            known = cls.model_fields.get(name)
            raise ConfigError(
                f"invalid recommendation settings: {problems}", field=name or "config",
                value=errors[0].get("input") if errors else None,
                fix=Fix(option=name, example=known.default) if known is not None and known.default is not None
                else Fix(option="config", example={"top": 10, "window": "2M", "scheme": "rfm"}),
            ) from exc


def segment_schemes() -> tuple[str, ...]:
    """Schemes whose segments recommendations can use: every registered scheme, and story value."""
    from segmint.segment import scheme_names

    return (*scheme_names(), *STORY_SCHEMES)


@dataclass(frozen=True)
class Blend:
    """Logistic weights of the signals: linear = intercept + sum(weight x feature)."""

    weights: dict[str, float]
    intercept: float
    means: dict[str, float]  # typical candidate's feature values (reasons compare against them)
    source: str  # "fitted on ..." or "default"
    fit: dict[str, Any] = field(default_factory=dict)

    def linear(self, table: ir.Table) -> ir.NumericValue:
        """The blend as an engine expression over a candidates table."""
        total = ibis.literal(self.intercept)
        for name, weight in self.weights.items():
            total = total + table[name] * weight
        return total

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly description (evaluation.json)."""
        return {"source": self.source, "intercept": round(self.intercept, 4),
                "weights": {k: round(v, 4) for k, v in self.weights.items()}, **self.fit}  # fmt: skip


def features_for(config: RecommendConfig) -> list[str]:
    """Feature columns the blend uses for these settings (own signals are moot with new_only)."""
    names = [f for s in config.signals for f in SIGNALS[s] if not (config.new_only and s == "own")]
    if not names:
        raise ConfigError("with new_only the 'own' signal alone recommends nothing; add another signal")
    return names


def default_blend(config: RecommendConfig) -> Blend:
    """The measured default weights restricted to the features in use."""
    names = features_for(config)
    means = dict.fromkeys(names, 0.0)
    means.update({"f_seg": math.log(sig.SMOOTH), "f_pop": math.log(sig.SMOOTH)})
    return Blend({n: DEFAULT_BLEND.get(n, 0.0) for n in names}, DEFAULT_BLEND["intercept"],
                 {n: means[n] for n in names}, "default (too little history for an inner time split)")  # fmt: skip


def fit_blend(frame: pd.DataFrame, names: list[str], source: str, strength: float = 1.0) -> Blend:
    """Logistic regression of 'bought in the next window' on the features (standardised, L2).

    ``strength`` is the inverse of the L2 penalty (scikit-learn's ``C``): smaller shrinks the
    weights more (chosen by cross-validation with the feature set, see :func:`feature_sets`).

    Newton's method (a few Cholesky solves of a features x features system) converges to the
    optimum in ~5 iterations where L-BFGS took ~60 and stopped short on correlated features.
    """
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    x = frame[names].to_numpy(dtype="float64")
    y = frame["label"].to_numpy(dtype="int8")
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    with threadpool_limits(1):  # a features x features system: BLAS threads only contend on a busy machine
        model = LogisticRegression(C=strength, solver="newton-cholesky", max_iter=100).fit((x - mean) / std, y)
    weights = model.coef_[0] / std
    intercept = float(model.intercept_[0] - (model.coef_[0] * mean / std).sum())
    return Blend(dict(zip(names, map(float, weights), strict=True)), intercept,
                 dict(zip(names, map(float, mean), strict=True)), source)  # fmt: skip


def feature_sets(names: list[str]) -> dict[str, tuple[list[str], float]]:
    """The candidate blends, label -> (features, strength): every signal (with three L2 penalties),
    the compact set, and popularity alone (when in use). Richer, less penalised blends come first."""
    sets = {"all signals": (list(names), 1.0)}
    if len(names) > 1:
        sets.update({label: (list(names), strength) for label, strength in REGULARISED.items()})
    compact = [n for n in names if n in COMPACT_FEATURES]
    if compact and len(compact) < len(names):
        sets["compact signals"] = (compact, 1.0)
    if "f_pop" in names and len(names) > 1:
        sets["popularity"] = (["f_pop"], 1.0)
    return sets


def customer_hits_at(frame: pd.DataFrame, linear: Any, top: int) -> pd.Series:
    """Hits in each customer's ``top`` by ``linear``, per customer with a positive (a labelled frame)."""
    ranked = frame.assign(_linear=linear).sort_values(
        ["customer_id", "_linear", "share_all", "product"], ascending=[True, False, False, True]
    )
    hits = ranked.groupby("customer_id", sort=False).head(top).groupby("customer_id")["label"].sum()
    return hits[frame.loc[frame["label"] > 0, "customer_id"].unique()]


def hits_at(frame: pd.DataFrame, linear: Any, top: int) -> tuple[int, int]:
    """(hits in each customer's ``top`` by ``linear``, customers with a positive) of a labelled frame."""
    hits = customer_hits_at(frame, linear, top)
    return int(hits.sum()), len(hits)


def choose_features(frame: pd.DataFrame, names: list[str], top: int) -> tuple[str, dict[str, float]]:
    """The feature set (and L2 penalty) whose blend ranks best for customers it was not fitted on.

    Customers of the inner split (up to CV_CUSTOMERS) are dealt into CV_FOLDS folds; each set's
    blend is fitted on the other folds and scored by precision@``top`` on the held-out fold.
    Returns the chosen set's name and every set's cross-validated precision (ties keep the
    earlier, richer set). Popularity alone is kept unless the best blend beats it by more than one
    standard error of the paired per-customer difference (the one-standard-error rule): where
    personal signals add nothing measurable (a basket log like groceries), a blend that won the
    cross-validation by noise lost to popularity on the months after.
    """
    import numpy as np

    sets = feature_sets(names)
    customers = np.sort(frame["customer_id"].unique())
    customers = np.random.default_rng(0).permutation(customers)[:CV_CUSTOMERS]
    fold_of = pd.Series(np.arange(len(customers)) % CV_FOLDS, index=customers)
    part = frame[frame["customer_id"].isin(customers)]
    folds = part["customer_id"].map(fold_of).to_numpy()
    scores: dict[str, float] = {}
    per_customer: dict[str, pd.Series] = {}
    for label, (features, strength) in sets.items():
        found = []
        for k in range(CV_FOLDS):
            train, test = part[folds != k], part[folds == k]
            if train["label"].nunique() < 2 or test.empty:
                continue
            blend = fit_blend(train, features, "", strength)
            linear = test[features].to_numpy(dtype="float64") @ np.array([blend.weights[f] for f in features])
            found.append(customer_hits_at(test, linear, top))
        per_customer[label] = pd.concat(found) if found else pd.Series(dtype="float64")
        evaluated = len(per_customer[label])
        scores[label] = round(per_customer[label].sum() / (top * evaluated), 4) if evaluated else 0.0
    best = max(scores, key=lambda name: scores[name])
    if best != "popularity" and "popularity" in per_customer and len(per_customer[best]) > 1:
        difference = (per_customer[best] - per_customer["popularity"].reindex(per_customer[best].index)) / top
        if difference.mean() <= difference.std(ddof=1) / len(difference) ** 0.5:
            best = "popularity"
    return best, scores


# --- segments ------------------------------------------------------------------------------------


def segments_as_of(
    tx: ir.Table, scheme: str, as_of: dt.date, config: Any = None, left_out: NonMerchandiseValues | None = None
) -> ir.Table:
    """customer_id, segment, segment_order of every segmented customer, from lines before ``as_of``.

    rfm/levels/tiers/clusters segment the whole history; ``value`` is each customer's segment in
    the latest complete quarter of their story (value quartiles). ``left_out``: the non-merchandise
    codes and names already found (the features need not look for them again).
    """
    from segmint import features as feat

    if scheme == "value":
        from segmint.story import period_segments

        window = feat.filter_window(tx, before=as_of)
        per = period_segments(window, period="quarter", scheme="value")
        latest = per.filter(per.period_index == per.period_index.max())
        return latest.select("customer_id", "segment", "segment_order")
    from segmint.segment import get_scheme

    stats = feat.customer_line_stats(tx, snapshot_date=as_of, non_merchandise=left_out)
    features = feat.customer_features(tx, snapshot_date=as_of, line_stats=stats)
    labelled = get_scheme(scheme).assign(features, config)
    return labelled.select("customer_id", "segment", labelled.segment_order.cast("int64"))


def _targets(con: Any, lines: ir.Table, segments: ir.Table) -> ir.Table:
    """Every customer with purchase lines, with their segment (NO_SEGMENT when unsegmented)."""
    customers = lines.select("customer_id").distinct()
    joined = customers.left_join(segments, "customer_id")
    return materialize(con, joined.select(
        customer_id=joined.customer_id, segment=joined.segment.fill_null(sig.NO_SEGMENT)))  # fmt: skip


# --- the model -----------------------------------------------------------------------------------


@dataclass
class Signals:
    """Everything computed as of one date: targets, own items, shares, candidates with features."""

    as_of: dt.date
    targets: ir.Table
    items: ir.Table
    segment_share: ir.Table
    all_share: ir.Table
    candidates: ir.Table
    top_items: ir.Table | None = None  # co-purchase inputs (None without that signal)
    neighbours: ir.Table | None = None


def build_signals(
    con: Any, tx: ir.Table, lines: ir.Table, segments: ir.Table, as_of: dt.date, config: RecommendConfig,
    only: ir.Table | None = None,
) -> Signals:
    """All signals as of ``as_of`` (lines before it) and the candidates of ``only`` (default everyone)."""
    window = Window.parse(config.window)
    before = lines.filter(lines.day < as_of)
    items = materialize(con, sig.customer_items(before, as_of, window.start(as_of)))
    targets = _targets(con, before, segments)
    wanted = targets if only is None else targets.semi_join(only, "customer_id")
    seg_share, all_share = sig.segment_shares(before, targets, window.start(as_of), as_of)
    seg_share, all_share = materialize(con, seg_share), materialize(con, all_share)
    copurchase = top = neighbours = None
    if "copurchase" in config.signals:
        top = materialize(con, sig.top_customer_items(items, config.per_customer))
        neighbours = materialize(con, sig.item_neighbours(top, neighbours=config.neighbours))
        chosen = top.semi_join(wanted.select("customer_id"), "customer_id")
        copurchase = sig.copurchase_scores(chosen, neighbours, config.copurchase_limit)
    unwanted = sig.returned_products(tx, before=as_of)
    product_features = materialize(con, sig.product_signals(before, all_share, window.start(as_of), as_of))
    cands = sig.candidates(
        wanted, items, copurchase, seg_share, all_share, unwanted,
        own_limit=config.own_limit, popular_limit=config.popular_limit, new_only=config.new_only,
        product_features=product_features,
    )  # fmt: skip
    return Signals(as_of, targets, items, seg_share, all_share, materialize(con, cands), top, neighbours)


def learn_blend(
    con: Any, tx: ir.Table, lines: ir.Table, as_of: dt.date, config: RecommendConfig,
    segment_fn: Callable[[dt.date], ir.Table],
) -> Blend:
    """Fit the blend on the inner split: signals as of ``window`` before ``as_of``, labels after it."""
    names = features_for(config)
    inner = Window.parse(config.window).start(as_of)
    history = lines.filter(lines.day < inner).select("customer_id").distinct()
    later = lines.filter(lines.day >= inner, lines.day < as_of)
    eligible = later.select("customer_id").distinct().semi_join(history, "customer_id")
    sample = eligible.order_by(eligible.customer_id.hash(), "customer_id").limit(config.fit_customers)
    sample = materialize(con, sample)
    n_customers = int(sample.count().execute())
    if n_customers < MIN_FIT_CUSTOMERS:
        log.info("only %d customers on the inner split: default blend", n_customers)
        return default_blend(config)
    signals = build_signals(con, tx, lines, segment_fn(inner), inner, config, only=sample)
    bought = later.select("customer_id", "product").distinct().mutate(label=ibis.literal(1, "int8"))
    labelled = signals.candidates.left_join(bought, ["customer_id", "product"])
    frame = labelled.select("customer_id", "product", "share_all", *names,
                            label=labelled.label.fill_null(0)).to_pandas()  # fmt: skip
    positives = int(frame["label"].sum())
    if positives < MIN_FIT_CUSTOMERS or positives == len(frame):
        return default_blend(config)
    chosen, cv = choose_features(frame, names, config.top)
    features, strength = feature_sets(names)[chosen]
    blend = fit_blend(frame, features, f"{chosen}, fitted on {n_customers:,} customers: signals "
                      f"before {inner}, purchases {inner} to {as_of - dt.timedelta(days=1)}", strength)  # fmt: skip
    blend.fit.update(chosen=chosen, l2_strength=strength, **{f"cv_precision@{config.top}": cv})
    blend.fit.update(fit_customers=n_customers, fit_candidates=len(frame), fit_positives=positives,
                     fit_recall_of_candidates=_candidate_recall(later, sample, frame))  # fmt: skip
    return blend


def _candidate_recall(later: ir.Table, sample: ir.Table, frame: pd.DataFrame) -> float:
    """Share of the sample's next-window products that were among the candidates at all."""
    wanted = later.semi_join(sample, "customer_id").select("customer_id", "product").distinct()
    total = int(wanted.count().execute())
    return round(float(frame["label"].sum()) / total, 4) if total else 0.0


def rank(signals: Signals, blend: Blend, names: ir.Table, config: RecommendConfig) -> ir.Table:
    """Top ``config.top`` per customer with score (0..1) and reason; product names attached."""
    window = Window.parse(config.window)
    cands = signals.candidates
    scored = cands.mutate(_linear=blend.linear(cands))
    order = ibis.row_number().over(
        group_by=scored.customer_id,
        order_by=[ibis.desc(scored._linear), ibis.desc(scored.share_all), scored.product],
    )
    top = scored.mutate(rank=order + 1).filter(lambda t: t.rank <= config.top)
    if signals.top_items is not None and signals.neighbours is not None:
        linked = top.filter(top.f_cf > 0).select("customer_id", "product")
        found = sig.copurchase_because(linked, signals.top_items, signals.neighbours)
        top = top.left_join(found, ["customer_id", "product"]).drop("customer_id_right", "product_right")
    else:
        top = top.mutate(because=ibis.null("string"))
    because = names.select(because="product", because_name="product_name")
    top = top.left_join(because, "because").drop("because_right")
    top = top.left_join(names, "product").drop("product_right")
    return top.select(
        customer_id=top.customer_id,
        product_id=top.product,
        product_name=top.product_name.fill_null(top.product),
        rank=top.rank.cast("int64"),
        score=(1.0 / (1.0 + (-top._linear).exp())).round(4),
        reason=_reason(top, blend, window),
        segment=top.segment,
    ).order_by("customer_id", "rank")


def _reason(t: ir.Table, blend: Blend, window: Window) -> ir.StringValue:
    """What lifted the product most above a typical candidate, in words."""
    def lift(name: str) -> ir.NumericValue:
        if name not in blend.weights:
            return ibis.literal(-math.inf)
        return (t[name] - blend.means.get(name, 0.0)) * blend.weights[name]

    times = ibis.cases((t.n == 1, "once"), (t.n == 2, "twice"), else_=t.n.cast("string") + " times")
    since = ibis.cases((t.days_since == 0, "today"), (t.days_since == 1, "yesterday"),
                       else_=t.days_since.cast("string") + " days ago")  # fmt: skip
    own = "bought " + times + ", last " + since
    cf = "often bought with " + t.because_name.fill_null(t.because)
    in_window = f" in the last {window.label}"
    seg_pct = _percent(t.seg_share)
    seg = "popular with " + t.segment + " customers" + in_window + " (bought by " + seg_pct + " of those who shopped)"
    pop = "popular with all customers" + in_window + " (bought by " + _percent(t.share_all) + " of shoppers)"
    cf_lift = ibis.cases((t.because.notnull() & (t.f_cf > 0), lift("f_cf")), else_=-math.inf)
    seg_lift = ibis.cases(
        ((t.segment != sig.NO_SEGMENT) & (t.seg_share > t.share_all), lift("f_seg")), else_=-math.inf
    )
    pop_lift = lift("f_pop")
    own_used = any(name in blend.weights for name in SIGNALS["own"])  # not so for popularity alone
    return ibis.cases(
        ((t.n > 0) & own_used, own),
        ((cf_lift >= seg_lift) & (cf_lift >= pop_lift) & (cf_lift > -math.inf), cf),
        ((seg_lift >= pop_lift) & (seg_lift > -math.inf), seg),
        else_=pop,
    )


def _percent(share: ir.NumericValue) -> ir.StringValue:
    pct = share * 100
    return ibis.cases((pct >= 10, pct.round(0).cast("int64").cast("string")),
                      else_=pct.round(1).cast("string")) + "%"  # fmt: skip


# --- the whole job -------------------------------------------------------------------------------


@dataclass
class RecommendResult:
    """Recommendations, segment favourites, single view, product views and (optionally) evaluation."""

    recommendations: ir.Table  # customer_id, product_id, product_name, rank, score, reason, segment
    segment_products: pd.DataFrame
    single_view: pd.DataFrame
    product_sales_by_segment: pd.DataFrame
    product_sales_by_region: pd.DataFrame
    top_products_by_period: pd.DataFrame
    segments: ir.Table  # customer_id, segment (the scheme's, as of ``until``)
    config: RecommendConfig
    until: dt.date  # last day of the lines used
    blend: Blend
    evaluation: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    single_view_by_category: pd.DataFrame | None = None  # when the data name each product's category
    # product_id, product_name, lines, amount of the items left out as non-merchandise (postage, fees, ...)
    non_merchandise: pd.DataFrame | None = None

    def tables(self) -> dict[str, ir.Table | pd.DataFrame]:
        """Name -> table, what ``--out`` writes (evaluation.json is written beside them)."""
        recs = self.recommendations.select("customer_id", "product_id", "product_name", "rank", "score", "reason")
        return {
            "recommendations": recs,
            "segment_products": self.segment_products,
            "single_view": self.single_view,
            "product_sales_by_segment": self.product_sales_by_segment,
            "product_sales_by_region": self.product_sales_by_region,
            "top_products_by_period": self.top_products_by_period,
        } | ({} if self.single_view_by_category is None else {"single_view_by_category": self.single_view_by_category}) \
          | ({} if self.non_merchandise is None or self.non_merchandise.empty else {"non_merchandise": self.non_merchandise})

    def customer(self, customer_id: str) -> dict[str, Any]:
        """One customer's segment and ranked recommendations (JSON-friendly)."""
        recs = self.recommendations
        rows = recs.filter(recs.customer_id == str(customer_id)).order_by("rank").to_pandas()
        if rows.empty:
            raise DataError(
                f"customer {customer_id!r} has no product purchase before {self.until + dt.timedelta(days=1)}; "
                "check the id (ids are text, leading zeros count)", field="customer_id", value=customer_id,
            )
        items = rows[["rank", "product_id", "product_name", "score", "reason"]]
        return {
            "customer_id": str(customer_id),
            "segment": str(rows["segment"].iloc[0]),
            "scheme": self.config.scheme,
            "until": str(self.until),
            "recommendations": [
                {k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()} for r in items.to_dict("records")
            ],
        }

    def summary(self) -> dict[str, Any]:
        """Settings, counts, the blend and the evaluation (what evaluation.json holds)."""
        return {
            "until": str(self.until),
            "window": Window.parse(self.config.window).label,
            "scheme": self.config.scheme,
            "top": self.config.top,
            "new_only": self.config.new_only,
            "signals": list(self.config.signals),
            "counts": self.counts,
            "non_merchandise": self.non_merchandise_summary(),
            "blend": self.blend.to_dict(),
            "notes": self.notes,
            "evaluation": self.evaluation,
        }

    def non_merchandise_summary(self, limit: int = 50) -> list[dict[str, Any]]:
        """The non-merchandise items left out of product analyses (most lines first, up to ``limit``)."""
        if self.non_merchandise is None:
            return []
        rows = self.non_merchandise.head(limit).astype(object).where(self.non_merchandise.head(limit).notna(), None)
        return rows.to_dict("records")

    def write_summary(self, path: Any) -> Any:
        """Write :meth:`summary` as JSON atomically; returns the path."""
        import json

        from segmint.util import write_text_atomic

        return write_text_atomic(path, json.dumps(self.summary(), indent=2, default=str) + "\n")


def recommend_products(tx: ir.Table, con: Any, config: RecommendConfig, **options: Any) -> RecommendResult:
    """The whole recommendation job on cleaned canonical transactions (see the module doc).

    ``options``: ``until``, ``evaluate``, ``priced``, ``segment_config``, ``progress`` (see
    :func:`segmint.recommend`). Scratch tables are dropped; the result keeps only its own.
    """
    with scratch_tables(con) as keep:
        result = _recommend_products(tx, con, config, **options)
        keep.update({result.recommendations.op().name, result.segments.op().name})
    return result


def _recommend_products(
    tx: ir.Table,
    con: Any,
    config: RecommendConfig,
    *,
    until: dt.date | str | None = None,
    evaluate: bool = False,
    priced: bool = True,
    segment_config: Any = None,
    progress: Callable[[str], None] | None = None,
) -> RecommendResult:
    from segmint.recommendations import products
    from segmint.features import _as_date
    from segmint.recommendations.evaluation import evaluate as run_evaluation

    step = progress or (lambda message: log.info(message))
    window = Window.parse(config.window)
    step("finding purchase lines")
    left_out = MerchandiseRules.default(config.treat_as_products, config.treat_as_services).find(tx)
    lines = materialize(con, sig.purchase_lines(tx, left_out=left_out))
    services = left_out.items
    stats = tx.aggregate(
        lines=tx.count(), no_product=sig.product_key(tx).isnull().sum(), returns=tx.is_return.fill_null(False).sum(),
        last=tx.invoice_date.max(),
    ).execute().iloc[0]  # fmt: skip
    n_lines = int(lines.count().execute())
    if n_lines == 0:
        raise DataError(
            "recommendations need products: no line has a product id or name (map a product column)"
            + (f", or every product is non-merchandise ({left_out.note}; name the real products in "
               "treat_as_products)" if left_out.note else "")
            + "; segments work without one",
            field="product_id", fix=Fix(option="mapping", example={"product_id": "StockCode"}),
        )
    last_day = pd.Timestamp(stats["last"]).date()
    until_day = _as_date(until, "until")
    notes: list[str] = []
    if until_day is None:
        until_day = window.start(last_day + dt.timedelta(days=1)) - dt.timedelta(days=1) if evaluate else last_day
        if evaluate:
            notes.append(f"no 'until' date given: trained on lines up to {until_day} and evaluated on the "
                         f"last {window.label} of the data")  # fmt: skip
    as_of = until_day + dt.timedelta(days=1)
    if evaluate and as_of > last_day:
        raise ConfigError(
            f"until {until_day} leaves no purchase after it to evaluate on (the data end {last_day}); "
            "choose an earlier date",
            field="until", value=str(until_day), fix=Fix(option="until", example=str(window.start(last_day))),
        )
    no_product = int(stats["no_product"] or 0)
    if no_product:
        notes.append(f"{no_product:,} lines without a product (e.g. a blank product_json) are kept for sales "
                     "but left out of product analyses")  # fmt: skip
    if left_out.note:
        notes.append(left_out.note)
    counts = {"lines": int(stats["lines"]), "purchase_lines": n_lines, "lines_without_product": no_product,
              "return_lines": int(stats["returns"] or 0), "non_merchandise_lines": int(services["lines"].sum()),
              "non_merchandise_items": len(services)}  # fmt: skip

    def segment_fn(day: dt.date) -> ir.Table:
        return materialize(con, segments_as_of(tx, config.scheme, day, segment_config, left_out))

    step("learning the blend on an inner time split")
    with scratch_tables(con):  # the inner split's tables are not needed once the blend is fitted
        blend = learn_blend(con, tx, lines, as_of, config, segment_fn)
    step("scoring candidates")
    segments = segment_fn(as_of)
    signals = build_signals(con, tx, lines, segments, as_of, config)
    names = materialize(con, sig.product_names(lines.filter(lines.day < as_of)))
    recs = materialize(con, rank(signals, blend, names, config))
    counts.update(customers=int(signals.targets.count().execute()),
                  products=int(names.count().execute()), recommendations=int(recs.count().execute()))  # fmt: skip
    evaluation = None
    if evaluate:
        step("evaluating against later purchases")
        evaluation = run_evaluation(
            recs.select("customer_id", product="product_id", rank="rank"), lines, signals.items,
            signals.all_share, as_of=as_of, top=config.top, new_only=config.new_only,
        )  # fmt: skip
    step("building product views")
    before = lines.filter(lines.day < as_of)
    labelled = segments.select("customer_id", "segment", "segment_order")
    everyone = signals.targets.left_join(labelled, "customer_id").drop("customer_id_right", "segment_right")
    everyone = everyone.mutate(segment_order=everyone.segment_order.fill_null(-1))
    favourites = products.segment_favourites(
        before, everyone, window.start(as_of), as_of, names, favourites=config.favourites,
        min_buyers=config.min_buyers,
    )  # fmt: skip
    view, note = products.single_view(
        before, {config.scheme: signals.targets}, products=config.single_view_products,
        values=config.single_view_values, priced=priced,
    )  # fmt: skip
    notes.append(note)
    by_category = None
    if "category" in tx.columns:  # a mapped category column (or product_json items with a category)
        with_category = before.filter(before.category.notnull())
        if int(with_category.count().execute()):
            by_category, note = products.single_view(
                before, {config.scheme: signals.targets}, products=config.single_view_products,
                values=config.single_view_values, priced=priced, by="category",
            )  # fmt: skip
            notes.append(note)
    period = _view_period(before)
    if not priced:
        notes.append("no prices in the data: revenue columns count items")
    return RecommendResult(
        recommendations=recs,
        segment_products=favourites,
        single_view=view,
        product_sales_by_segment=products.product_sales(before, signals.targets, period=period, priced=priced),
        product_sales_by_region=products.product_sales(before, "country", period=period, priced=priced),
        top_products_by_period=products.top_products_by_period(before, period=period, priced=priced),
        segments=signals.targets,
        config=config,
        until=until_day,
        blend=blend,
        evaluation=evaluation,
        notes=notes,
        counts=counts,
        single_view_by_category=by_category,
        non_merchandise=services,
    )


def _view_period(lines: ir.Table) -> str:
    """Months for up to three years of data, quarters beyond."""
    span = lines.aggregate(first=lines.day.min(), last=lines.day.max()).execute().iloc[0]
    days = (pd.Timestamp(span["last"]) - pd.Timestamp(span["first"])).days
    return "month" if days <= 3 * 366 else "quarter"
