"""RFM scores (recency, frequency, monetary quantile scores) and the 11 named RFM segments.

Score rule (reproducible by any implementation): with ``n`` customers and ``bins`` scores, a
customer's score is ``1 + floor(bins * k / n)`` where ``k`` is the number of customers with a
strictly *worse* value: larger ``recency_days`` for R, smaller ``frequency`` for F, smaller
``monetary`` for M (pandas: ``k = s.rank(method="min") - 1``, on ``-recency_days`` for R). Equal
values always share a score, never split by row order; with distinct values each score holds
``n / bins`` customers, while a value shared by many customers leaves some scores above it empty.
With fewer customers than scores (``2 <= n < bins``) the ranks spread over the whole scale,
``1 + floor((bins - 1) * k / (n - 1))``: the best of 2 customers scores 5, not 3 (``About To Sleep``
for the one who bought yesterday), the worst 1. A score no customer rises above (one customer, or all
alike: no one is ranked below anyone) is no rank at all: everyone gets the middle score ``(bins + 1) // 2``
(3 of 5), not 1, which would call a lone customer who bought yesterday the least recent (``Lost``).

Segments come from an editable rule table (``rfm_segments.yaml``): rules are tried in order and the
first whose R / F / M / FM ranges (and tenure condition) contain the customer wins; the table must give
every cell a segment, for new and established customers alike (checked when the config is built).

Tenure: a rule with ``new: true`` matches only customers whose first purchase falls in the newness
window (``new_within``: the calendar month/quarter/year holding the scoring date, or a number of days
before it); ``new: false`` only the others. The scoring date is recovered per row as
``first_purchase + tenure_days`` (the snapshot), so the rule needs ``first_purchase`` and
``tenure_days`` columns; without them nobody is new.

Absence: a rule with ``bought: true`` matches only customers whose last purchase falls in that same
window (``first_purchase + tenure_days - recency_days``), ``bought: false`` only the others. Labels
that claim absence ("Lost", "Hibernating", "Can't Lose Them") are kept from a customer who bought
in the window: early in a young customer base almost everyone is recent, so a purchase 80 days ago
can score R=1. Without the date columns nobody has bought in the window (the plain R x FM grid).

Lapse: a rule with ``lapsed: true`` matches only customers absent longer than ``lapsed_after``
(:mod:`segmint.segment.lapse`: by default the 95th percentile of repeat customers' average gap between
purchases), ``lapsed: false`` only the others; a customer who bought in the window is never lapsed.
Labels that claim presence ("Champions", "Loyal Customers", "Potential Loyalist", "Promising", "About
To Sleep", "Need Attention") are kept from a lapsed customer, the mirror of ``bought``: on a cohort that
has mostly stopped buying, R=4 can mean 430 days away.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import itertools
import logging
import math
from typing import Literal

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segmint.segment._config import SegmentConfig, load_packaged_yaml
from segmint.segment.lapse import (
    LapsedAfter, absence_text, check_lapsed_after, lapse_notes, lapsed_flag, with_lapse_days,
)
from segmint.util import counted

log = logging.getLogger(__name__)

SCALE = 5  # rule tables are written on a 1..5 scale
DEFAULT_TABLE = "rfm_segments.yaml"
Range = tuple[float, float]

__all__ = [
    "RFMConfig",
    "RFMRule",
    "SCORE_COLUMNS",
    "SegmentInfo",
    "assign",
    "label_scores",
    "quantile_score",
    "rank_score",
    "rfm_scores",
    "unranked_middle",
    "bought_in_window_flag",
    "new_customer_flag",
    "scaled_score",
    "notes",
    "segment_for",
    "with_cells",
]


class SegmentInfo(BaseModel):
    """A segment's name and the one-line description used in reasons (``unpriced_description``: the same
    for data without prices, whose M counts items; empty = the description as written)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    unpriced_description: str = ""


class RFMRule(BaseModel):
    """Customers whose (1..5-scaled) scores fall in every given inclusive range get ``segment``."""

    model_config = ConfigDict(extra="forbid")

    segment: str
    r: Range | None = None
    f: Range | None = None
    m: Range | None = None
    fm: Range | None = None  # mean of the F and M scores
    new: bool | None = None  # True: only customers new in the window; False: only established ones
    bought: bool | None = None  # True: only customers who bought in the window; False: only the others
    lapsed: bool | None = None  # True: only customers absent beyond lapsed_after; False: only the others

    @field_validator("r", "f", "m", "fm")
    @classmethod
    def _ordered(cls, value: Range | None) -> Range | None:
        if value is not None and not (1 <= value[0] <= value[1] <= SCALE):
            raise ValueError(f"range {list(value)} must be [low, high] with 1 <= low <= high <= 5")
        return value

    def bounds(self) -> dict[str, Range]:
        """The ranges this rule sets, by score name (r, f, m, fm)."""
        return {k: v for k in ("r", "f", "m", "fm") if (v := getattr(self, k)) is not None}

    def matches(self, scaled: dict[str, float], new: bool = False, bought: bool = False, lapsed: bool = False) -> bool:
        """Whether scaled scores ``{"r":.., "f":.., "m":.., "fm":..}`` fall in every range (and conditions)."""
        if self.new is not None and self.new != new:
            return False
        if self.bought is not None and self.bought != bought:
            return False
        if self.lapsed is not None and self.lapsed != lapsed:
            return False
        return all(low <= scaled[k] <= high for k, (low, high) in self.bounds().items())


def _default(key: str) -> list:
    return copy.deepcopy(_default_table()[key])  # a fresh copy for each config: the parse is shared


@functools.lru_cache(maxsize=1)
def _default_table() -> dict:
    """The packaged rule table, parsed once (its segments and its rules are two defaults of one file)."""
    return load_packaged_yaml(DEFAULT_TABLE)


class RFMConfig(SegmentConfig):
    """Score bins, the newness window, the lapse threshold and the segment rule table (defaults: 5 bins,
    a quarter, the data's usual gap, the YAML)."""

    bins: int = Field(default=5, ge=3, le=10)
    # "New" = first purchase in the calendar period holding the scoring date, or within N days of it.
    new_within: Literal["month", "quarter", "year"] | int = "quarter"
    # "Lapsed" = absent beyond the data's usual gap ("auto", see segment.lapse), N days, or never (None)
    lapsed_after: LapsedAfter = "auto"
    segments: list[SegmentInfo] = Field(default_factory=lambda: _default("segments"))
    rules: list[RFMRule] = Field(default_factory=lambda: _default("rules"))

    @field_validator("lapsed_after")
    @classmethod
    def _lapse(cls, value: LapsedAfter) -> LapsedAfter:
        return check_lapsed_after(value)

    @model_validator(mode="after")
    def _complete(self) -> RFMConfig:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        unknown = sorted({r.segment for r in self.rules} - set(names))
        if unknown:
            raise ValueError(f"rules use segment(s) {unknown} not listed under segments: {names}")
        if isinstance(self.new_within, int) and self.new_within < 1:
            raise ValueError(f"new_within={self.new_within} days must be at least 1 (or month/quarter/year)")
        if any(not rule.bounds() and rule.new is None and rule.bought is None and rule.lapsed is None
               for rule in self.rules):
            return self  # a catch-all rule (the packaged table ends with one) gives every cell a segment
        # (new, bought, lapsed): a new customer has bought in the window; one who bought there is not lapsed
        kinds = ((False, False, False), (False, True, False), (True, True, False), (False, False, True))
        for (r, f, m), (new, bought, lapsed) in itertools.product(
            itertools.product(range(1, self.bins + 1), repeat=3), kinds
        ):
            if segment_for(r, f, m, self, new=new, bought=bought, lapsed=lapsed) is None:
                who = ("a new customer" if new else "an established customer who bought in the window"
                       if bought else "a lapsed established customer" if lapsed else "an established customer")
                raise ValueError(
                    f"no rule matches cell R={r} F={f} M={m} for {who} (bins={self.bins}); "
                    "add a rule for it or a catch-all rule with no ranges at the end"
                )
        return self

    def segment_order(self) -> dict[str, int]:
        """Segment name -> order (0 = least valuable = last listed)."""
        return {s.name: len(self.segments) - 1 - i for i, s in enumerate(self.segments)}


def scaled_score(score: int, bins: int) -> int:
    """Place score ``1..bins`` on the 1..5 rule scale by its quantile midpoint."""
    return score if bins == SCALE else 1 + math.floor(SCALE * (score - 0.5) / bins)


def _scaled(config: RFMConfig, r: int, f: int, m: int) -> dict[str, float]:
    r5, f5, m5 = (scaled_score(s, config.bins) for s in (r, f, m))
    return {"r": r5, "f": f5, "m": m5, "fm": (f5 + m5) / 2}


def segment_for(
    r: int, f: int, m: int, config: RFMConfig, *, new: bool = False, bought: bool = False, lapsed: bool = False
) -> str | None:
    """Segment of one score cell (new or established, bought in the window or not, lapsed or not) by the
    first matching rule."""
    scaled = _scaled(config, r, f, m)
    bought = bought or new
    return next((rule.segment for rule in config.rules if rule.matches(scaled, new, bought, lapsed and not bought)),
                None)


def new_customer_flag(features: ir.Table, within: str | int) -> ir.BooleanValue:
    """Whether each customer's first purchase falls in the newness window of their scoring date.

    The scoring date (snapshot) is ``first_purchase + tenure_days``; the window is the calendar
    month/quarter/year holding the day before it (the last day scored), or ``within`` days before it.
    """
    if not {"first_purchase", "tenure_days"} <= set(features.columns):
        return ibis.literal(False)
    tenure = features.tenure_days.cast("int64")
    if isinstance(within, int):
        return tenure <= within
    first = features.first_purchase.cast("date")
    last_day = first + (tenure - 1).as_interval("D")
    unit = {"month": "M", "quarter": "Q", "year": "Y"}[within]
    return first >= last_day.truncate(unit)


def bought_in_window_flag(features: ir.Table, within: str | int) -> ir.BooleanValue:
    """Whether each customer's last purchase falls in the window of :func:`new_customer_flag`."""
    if not {"first_purchase", "tenure_days", "recency_days"} <= set(features.columns):
        return ibis.literal(False)
    recency = features.recency_days.cast("int64")
    if isinstance(within, int):
        return recency <= within
    first = features.first_purchase.cast("date")
    tenure = features.tenure_days.cast("int64")
    last_day = first + (tenure - 1).as_interval("D")
    last_purchase = first + (tenure - recency).as_interval("D")
    unit = {"month": "M", "quarter": "Q", "year": "Y"}[within]
    return last_purchase >= last_day.truncate(unit)


def _window_text(within: str | int) -> str:
    return f"in the last {within} days" if isinstance(within, int) else f"in the current {within}"


def quantile_score(rank_worse: ir.IntegerValue, n: ir.IntegerValue, bins: int) -> ir.IntegerValue:
    """``1 + floor(bins * k / n)`` for ``k`` customers strictly worse out of ``n`` (module docstring)."""
    return ((rank_worse * bins) / n).floor().cast("int64") + 1


def rank_score(rank_worse: ir.IntegerValue, n: ir.IntegerValue, bins: int) -> ir.IntegerValue:
    """:func:`quantile_score`, or with fewer than ``bins`` customers ``1 + floor((bins - 1) * k / (n - 1))``
    (module docstring): the best customer scores ``bins`` however few the customers are."""
    spread = ((rank_worse * (bins - 1)) / ibis.greatest(n - 1, 1)).floor().cast("int64") + 1
    return ibis.ifelse(n >= bins, quantile_score(rank_worse, n, bins), spread)


# the columns :func:`rfm_scores` adds, in order
SCORE_COLUMNS = ("r_score", "f_score", "m_score", "rfm_cell", "rfm_score")


def rfm_scores(features: ir.Table, bins: int = 5, *, by: str | None = None) -> ir.Table:
    """Add ``r_score``, ``f_score``, ``m_score`` (1..bins), ``rfm_cell`` ("545") and ``rfm_score`` (sum).

    ``by`` scores each group of that column separately (the story scores every period at once).
    """
    from segmint.engine import known_row_count

    group = [by] if by else None
    if by is None and (known_row_count(features) or 0) >= VALUE_RANKS_FROM:
        # one ranking of many rows: each score's worse-counts from the column's distinct values
        ranked = features
        for column, descending, score in _RANKED:
            ranked = _with_worse_count(ranked, column, descending, f"_worse_{score}", counted=features)
        n = ranked.customer_id.count().over(ibis.window())
        scored = ranked.mutate(**{score: rank_score(ranked[f"_worse_{score}"], n, bins) for _, _, score in _RANKED})
        scored = scored.drop(*(f"_worse_{score}" for _, _, score in _RANKED))
    else:
        n = features.customer_id.count().over(ibis.window(group_by=group))
        scored = features.mutate(
            r_score=rank_score(ibis.rank().over(group_by=group, order_by=ibis.desc(features.recency_days)), n, bins),
            f_score=rank_score(ibis.rank().over(group_by=group, order_by=features.frequency), n, bins),
            m_score=rank_score(ibis.rank().over(group_by=group, order_by=features.monetary), n, bins),
        )
    window = ibis.window(group_by=group)  # both ways: a score no one rises above is the middle
    return with_cells(scored.mutate(**{c: unranked_middle(scored[c], scored[c].max().over(window), bins)
                                       for c in ("r_score", "f_score", "m_score")}))


def unranked_middle(score: ir.IntegerValue, best: ir.IntegerValue, bins: int) -> ir.IntegerValue:
    """``score``, or the middle score ``(bins + 1) // 2`` where the best score among its group (``best``) is 1:
    a rank that places no one below anyone (module docstring)."""
    return ibis.ifelse(best == 1, ibis.literal((bins + 1) // 2, "int64"), score)


_RANKED = (("recency_days", True, "r_score"), ("frequency", False, "f_score"), ("monetary", False, "m_score"))
# rows from which the ranks come from distinct values (a stored table whose rows are known): below it the
# groupings and joins cost more than the windows they replace (the retail log's 4,214 customers: +127M
# instructions, +1.5% of the whole run; 1e7 lines' 244,109: -450M for the labelled table's query)
VALUE_RANKS_FROM = 100_000


def _with_worse_count(
    table: ir.Table, column: str, descending: bool, name: str, *, counted: ir.Table | None = None
) -> ir.Table:
    """``table`` plus ``name``: the rows ordered before its ``column`` value (``rank()`` ordered worst
    first: the strictly worse rows; NULLs where the engine sorts them), counted once per distinct
    value and joined back.

    A rank window sorts every row with all its columns (the features: twelve); the distinct values
    (a few hundred recencies and frequencies) are sorted alone and the join is NULL-safe, one row
    per value: the same counts, every row kept once (1e7 lines' 244,109 customers: the labelled
    table's query 1.22 -> 0.92 CPU s replayed). ``counted``: the table whose rows ``table`` holds once
    each (an earlier call's input) to count the values from: each count then reads the stored rows,
    not the earlier joins again (SQL repeats a subquery wherever it is used)."""
    source = table if counted is None else counted
    counts = source.group_by(_value=source[column]).aggregate(_n=source.count())
    order = ibis.desc(counts._value) if descending else counts._value
    before = counts._n.sum().over(ibis.cumulative_window(order_by=order)) - counts._n
    counts = counts.mutate(**{name: before.cast("int64")})
    joined = table.join(counts, table[column].identical_to(counts._value))
    return joined.select(*(table[c] for c in table.columns), counts[name])


def with_cells(scored: ir.Table) -> ir.Table:
    """Add ``rfm_cell`` ("545") and ``rfm_score`` (the sum) to a table with ``r_score``, ``f_score``, ``m_score``."""
    as_text = [scored[c].cast("string") for c in ("r_score", "f_score", "m_score")]
    return scored.mutate(
        rfm_cell=as_text[0] + as_text[1] + as_text[2],
        rfm_score=scored.r_score + scored.f_score + scored.m_score,
    )


def _scaled_expr(score: ir.IntegerValue, bins: int) -> ir.NumericValue:
    if bins == SCALE:
        return score
    return ((score * 2 - 1) * SCALE / (2 * bins)).floor().cast("int64") + 1


def _between(score: ir.NumericValue, low: float, high: float) -> ir.BooleanValue:
    """``low <= score <= high``; whole bounds of a whole-number score as integers (the same rows: DuckDB
    cast every score to a decimal for ``BETWEEN 5.0 AND 5.0``, most of the rule CASE's cost)."""
    if score.type().is_integer() and float(low).is_integer() and float(high).is_integer():
        return score.between(int(low), int(high))
    return score.between(low, high)


def assign(features: ir.Table, config: RFMConfig | None = None, *, by: str | None = None) -> ir.Table:
    """Features plus R/F/M scores, ``segment``, ``segment_order`` and a one-line ``reason``.

    ``by`` scores each group of that column among itself (see :func:`rfm_scores`).
    """
    config = config or RFMConfig()
    return label_scores(rfm_scores(features, config.bins, by=by), config, by=by)


def label_scores(
    scored: ir.Table, config: RFMConfig | None = None, *, by: str | None = None, known: str | None = None
) -> ir.Table:
    """:func:`assign` on a table already scored by :func:`rfm_scores`: row by row, no ranking but the
    lapse threshold of each group ``by`` among its ``known`` rows (:func:`segmint.segment.lapse.with_lapse_days`).

    The story materialises the scores of every customer-period once and reads the segment and the
    reason from this expression only where needed (the reason text of 7.9M rows is never held).
    """
    config = config or RFMConfig()
    columns = scored.columns
    scored = with_lapse_days(scored, config.lapsed_after, by=by, known=known)
    r5, f5, m5 = (_scaled_expr(scored[c], config.bins) for c in ("r_score", "f_score", "m_score"))
    # the scaled scores and both flags are columns of their own: the rule CASE below refers to them in
    # many branches, and an inlined expression would be evaluated again in every branch that uses it
    scored = scored.mutate(
        is_new=new_customer_flag(scored, config.new_within), _r5=r5, _f5=f5, _m5=m5, _fm5=(f5 + m5) / 2,
        _bought=bought_in_window_flag(scored, config.new_within),
    )
    scored = scored.mutate(_lapsed=lapsed_flag(scored) & ~(scored._bought | scored.is_new))
    scaled = {"r": scored._r5, "f": scored._f5, "m": scored._m5, "fm": scored._fm5}
    bought = scored._bought | scored.is_new
    branches = []
    for number, rule in enumerate(config.rules):
        condition = ibis.literal(True)
        for key, (low, high) in rule.bounds().items():
            condition &= _between(scaled[key], low, high)
        if rule.new is not None:
            condition &= scored.is_new if rule.new else ~scored.is_new
        if rule.bought is not None:
            condition &= bought if rule.bought else ~bought
        if rule.lapsed is not None:
            condition &= scored._lapsed if rule.lapsed else ~scored._lapsed
        branches.append((condition, number))
    # the first matching rule's number, once per customer; the segment and the reason's wording read it
    last = len(config.rules) - 1
    scored = scored.mutate(_rule=ibis.cases(*branches, else_=last))
    rules = dict(enumerate(config.rules))
    segment_of = {n: rule.segment for n, rule in rules.items()}
    labelled = scored.mutate(
        segment=scored._rule.substitute(segment_of, else_=rules[last].segment),
        # the reason names the first (last) purchase when a tenure (absence) condition decided the segment
        _uses_tenure=scored._rule.isin([n for n, rule in rules.items() if rule.new is not None]),
        _uses_bought=scored._rule.isin([n for n, rule in rules.items() if rule.bought is True]),
        _uses_lapse=scored._rule.isin([n for n, rule in rules.items() if rule.lapsed is True]),
    )
    descriptions = {s.name: s.description for s in config.segments}
    order = config.segment_order()
    tenure_text = ibis.literal("")
    if "first_purchase" in labelled.columns:
        since = labelled.first_purchase.cast("date").cast("string")
        tenure_text = ibis.cases(
            (~labelled._uses_tenure, ""),
            (labelled.is_new, ", first purchase " + since + " " + _window_text(config.new_within)),
            else_=", first purchase " + since + " (not new)",
        )
        if {"tenure_days", "recency_days"} <= set(labelled.columns):
            days = labelled.tenure_days.cast("int64") - labelled.recency_days.cast("int64")
            last = labelled.first_purchase.cast("date") + days.as_interval("D")
            tenure_text = ibis.cases(
                (labelled._uses_bought & ~labelled.is_new,
                 ", last purchase " + last.strftime("%Y-%m-%d") + " " + _window_text(config.new_within)),
                else_=tenure_text,
            )
    tenure_text = ibis.ifelse(labelled._uses_lapse, absence_text(labelled, config.lapsed_after), tenure_text)
    # the reason's ending and the segment's order are one per rule: read from the rule's number (an integer
    # CASE with one literal per rule), not by comparing the segment's text (1e7 lines' 244,109 customers:
    # two CASEs of eleven strings and three concatenations per row)
    endings = {n: f" -> {segment}: {descriptions.get(segment, '')}" for n, segment in segment_of.items()}
    reason = (
        "R=" + labelled.r_score.cast("string")
        + " F=" + labelled.f_score.cast("string")
        + " M=" + labelled.m_score.cast("string")
        + tenure_text
        + labelled._rule.substitute(endings, else_=endings[len(rules) - 1])
    )  # fmt: skip
    positions = {n: order.get(segment, -1) for n, segment in segment_of.items()}
    labelled = labelled.mutate(
        segment_order=labelled._rule.substitute(positions, else_=positions[len(rules) - 1]).cast("int64"),
        reason=reason,
    )
    return labelled.select(*columns, *(c for c in _LABEL_COLUMNS if c not in columns))


# the columns label_scores adds (is_new before the segment, as every export has shown them)
_LABEL_COLUMNS = ("is_new", "segment", "segment_order", "reason")


def notes(features: ir.Table, labelled: ir.Table, config: RFMConfig | None = None) -> list[str]:
    """Empty R, F or M scores and the ties that empty them (see ``segment.notes``)."""
    from segmint.segment.notes import tie_notes

    config = config or RFMConfig()
    metrics = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}
    found = tie_notes("RFM segments", labelled, {column: (config.bins, metric) for column, metric in metrics.items()})
    targets = ", ".join(dict.fromkeys(rule.segment for rule in config.rules if rule.lapsed is True))
    return found + lapse_notes("RFM segments", labelled, config.lapsed_after, targets) + _short_history_note(labelled, config)


NEW_HISTORY_DAYS = 365  # "New Customers" need this much history before the newness window to be new


def _short_history_note(labelled: ir.Table, config: RFMConfig) -> list[str]:
    """New Customers are first seen in the data: said so when the data start shortly before the window
    (a Day Book from January read in May: customers of last year are "new" in April)."""
    from segmint.results import rows as result_rows

    if not {"first_purchase", "tenure_days", "is_new"} <= set(labelled.columns):
        return []
    # the scoring day is every customer's first purchase + tenure: the latest first purchase has the least
    # tenure; counts and a date in types DuckDB's cursor returns as Ibis names them (no Arrow needed)
    first = labelled.first_purchase.cast("date")
    row = result_rows(labelled.aggregate(start=first.min(), latest=first.max(),
                                         tenure=labelled.tenure_days.cast("int64").min(),
                                         new=labelled.count(where=labelled.is_new)))[0]
    if not row["new"] or row["start"] is None:
        return []
    row["scored_on"] = row["latest"] + dt.timedelta(days=row["tenure"])
    last_day = row["scored_on"] - dt.timedelta(days=1)
    if isinstance(config.new_within, int):
        window_start = row["scored_on"] - dt.timedelta(days=config.new_within)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[config.new_within]
        window_start = last_day.replace(month=(last_day.month - 1) // months * months + 1, day=1)
    before = (window_start - row["start"]).days
    if before >= NEW_HISTORY_DAYS:
        return []
    when = (f"only {counted(before, 'day')} before it" if before > 0 else "on its first day" if before == 0
            else f"{counted(-before, 'day')} into it")  # data starting inside the window were 'only 0 days before it'
    return [f"RFM segments: New Customers are first seen in the data {_window_text(config.new_within)}, but the data "
            f"start on {row['start']:%Y-%m-%d}, {when}: some of the {row['new']:,} may "
            "have bought before the data begin"]
