"""RFM scores (recency, frequency, monetary quantile scores) and the 11 named RFM segments.

Score rule (reproducible by any implementation): with ``n`` customers and ``bins`` scores, a
customer's score is ``1 + floor(bins * k / n)`` where ``k`` is the number of customers with a
strictly *worse* value: larger ``recency_days`` for R, smaller ``frequency`` for F, smaller
``monetary`` for M (pandas: ``k = s.rank(method="min") - 1``, on ``-recency_days`` for R). Equal
values always share a score, never split by row order; with distinct values each score holds
``n / bins`` customers, while a value shared by many customers leaves some scores above it empty.

Segments come from an editable rule table (``rfm_segments.yaml``): rules are tried in order and the
first whose R / F / M / FM ranges contain the customer's scores wins; the table must give every
cell a segment (checked when the config is built).
"""

from __future__ import annotations

import itertools
import logging
import math

import ibis
import ibis.expr.types as ir
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segmint.segment._config import SegmentConfig, load_packaged_yaml

log = logging.getLogger(__name__)

SCALE = 5  # rule tables are written on a 1..5 scale
DEFAULT_TABLE = "rfm_segments.yaml"
Range = tuple[float, float]

__all__ = [
    "RFMConfig",
    "RFMRule",
    "SegmentInfo",
    "assign",
    "quantile_score",
    "rfm_scores",
    "scaled_score",
    "notes",
    "segment_for",
]


class SegmentInfo(BaseModel):
    """A segment's name and the one-line description used in reasons."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""


class RFMRule(BaseModel):
    """Customers whose (1..5-scaled) scores fall in every given inclusive range get ``segment``."""

    model_config = ConfigDict(extra="forbid")

    segment: str
    r: Range | None = None
    f: Range | None = None
    m: Range | None = None
    fm: Range | None = None  # mean of the F and M scores

    @field_validator("r", "f", "m", "fm")
    @classmethod
    def _ordered(cls, value: Range | None) -> Range | None:
        if value is not None and not (1 <= value[0] <= value[1] <= SCALE):
            raise ValueError(f"range {list(value)} must be [low, high] with 1 <= low <= high <= 5")
        return value

    def bounds(self) -> dict[str, Range]:
        """The ranges this rule sets, by score name (r, f, m, fm)."""
        return {k: v for k in ("r", "f", "m", "fm") if (v := getattr(self, k)) is not None}

    def matches(self, scaled: dict[str, float]) -> bool:
        """Whether scaled scores ``{"r":.., "f":.., "m":.., "fm":..}`` fall in every range."""
        return all(low <= scaled[k] <= high for k, (low, high) in self.bounds().items())


def _default(key: str) -> list:
    return load_packaged_yaml(DEFAULT_TABLE)[key]


class RFMConfig(SegmentConfig):
    """Number of score bins and the segment rule table (defaults: 5 bins, ``rfm_segments.yaml``)."""

    bins: int = Field(default=5, ge=3, le=10)
    segments: list[SegmentInfo] = Field(default_factory=lambda: _default("segments"))
    rules: list[RFMRule] = Field(default_factory=lambda: _default("rules"))

    @model_validator(mode="after")
    def _complete(self) -> RFMConfig:
        names = [s.name for s in self.segments]
        if len(set(names)) != len(names):
            raise ValueError(f"segment names must be unique, got {names}")
        unknown = sorted({r.segment for r in self.rules} - set(names))
        if unknown:
            raise ValueError(f"rules use segment(s) {unknown} not listed under segments: {names}")
        for cell in itertools.product(range(1, self.bins + 1), repeat=3):
            if segment_for(*cell, self) is None:
                r, f, m = cell
                raise ValueError(
                    f"no rule matches cell R={r} F={f} M={m} (bins={self.bins}); "
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


def segment_for(r: int, f: int, m: int, config: RFMConfig) -> str | None:
    """Segment of one score cell by the rule table (first match); None when no rule matches."""
    scaled = _scaled(config, r, f, m)
    return next((rule.segment for rule in config.rules if rule.matches(scaled)), None)


def quantile_score(rank_worse: ir.IntegerValue, n: ir.IntegerValue, bins: int) -> ir.IntegerValue:
    """``1 + floor(bins * k / n)`` for ``k`` customers strictly worse out of ``n`` (module docstring)."""
    return ((rank_worse * bins) / n).floor().cast("int64") + 1


def rfm_scores(features: ir.Table, bins: int = 5) -> ir.Table:
    """Add ``r_score``, ``f_score``, ``m_score`` (1..bins), ``rfm_cell`` ("545") and ``rfm_score`` (sum)."""
    n = features.customer_id.count().over(ibis.window())
    scored = features.mutate(
        r_score=quantile_score(ibis.rank().over(order_by=ibis.desc(features.recency_days)), n, bins),
        f_score=quantile_score(ibis.rank().over(order_by=features.frequency), n, bins),
        m_score=quantile_score(ibis.rank().over(order_by=features.monetary), n, bins),
    )
    as_text = [scored[c].cast("string") for c in ("r_score", "f_score", "m_score")]
    return scored.mutate(
        rfm_cell=as_text[0] + as_text[1] + as_text[2],
        rfm_score=scored.r_score + scored.f_score + scored.m_score,
    )


def _scaled_expr(score: ir.IntegerValue, bins: int) -> ir.NumericValue:
    if bins == SCALE:
        return score
    return ((score * 2 - 1) * SCALE / (2 * bins)).floor().cast("int64") + 1


def assign(features: ir.Table, config: RFMConfig | None = None) -> ir.Table:
    """Features plus R/F/M scores, ``segment``, ``segment_order`` and a one-line ``reason``."""
    config = config or RFMConfig()
    scored = rfm_scores(features, config.bins)
    r5, f5, m5 = (_scaled_expr(scored[c], config.bins) for c in ("r_score", "f_score", "m_score"))
    scaled = {"r": r5, "f": f5, "m": m5, "fm": (f5 + m5) / 2}
    branches = []
    for rule in config.rules:
        condition = ibis.literal(True)
        for key, (low, high) in rule.bounds().items():
            condition &= scaled[key].between(low, high)
        branches.append((condition, rule.segment))
    segment = ibis.cases(*branches, else_=config.rules[-1].segment)
    labelled = scored.mutate(segment=segment)
    descriptions = {s.name: s.description for s in config.segments}
    order = config.segment_order()
    reason = (
        "R=" + labelled.r_score.cast("string")
        + " F=" + labelled.f_score.cast("string")
        + " M=" + labelled.m_score.cast("string")
        + " -> " + labelled.segment
        + ": " + labelled.segment.substitute(descriptions, else_="")
    )  # fmt: skip
    return labelled.mutate(
        segment_order=labelled.segment.substitute(order, else_=-1).cast("int64"), reason=reason
    )


def notes(features: ir.Table, labelled: ir.Table, config: RFMConfig | None = None) -> list[str]:
    """Empty R, F or M scores and the ties that empty them (see ``segment.notes``)."""
    from segmint.segment.notes import tie_notes

    bins = (config or RFMConfig()).bins
    metrics = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}
    return tie_notes("RFM segments", labelled, {column: (bins, metric) for column, metric in metrics.items()})
