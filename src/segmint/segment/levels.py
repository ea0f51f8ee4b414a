"""RFM levels: the sum R + F + M of the RFM scores cut by editable thresholds into 7 levels.

A customer gets the first level (highest threshold first) whose minimum score sum they reach.
Thresholds are written for ``threshold_bins`` scores per dimension (sums 3..15 for 5 bins); with a
different ``bins`` each threshold ``t`` is rescaled linearly to ``3 + (t - 3) * (bins - 1) /
(threshold_bins - 1)`` so the same share of the score range maps to the same level.

Lapse: the levels above "Needs Attention" claim a customer who still buys (Top Customers, Champions,
Loyal, Potential, Promising), but R is a rank: on CDNOW 663 of 1,269 Champions had not bought for over a
year. A customer absent longer than ``lapsed_after`` (:mod:`segmint.segment.lapse`, the same threshold
as the RFM segments) gets at most ``lapsed_level`` ("Needs Attention"); lower sums keep their level.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
from pydantic import Field, field_validator, model_validator

from segmint.segment._config import SegmentConfig
from segmint.segment.lapse import (
    LapsedAfter, absence_text, check_lapsed_after, lapse_notes, lapsed_flag, with_lapse_days,
)
from segmint.segment.rfm import SCORE_COLUMNS, RFMConfig, rfm_scores

__all__ = ["DEFAULT_THRESHOLDS", "LevelsConfig", "assign", "assign_after", "label_scores", "notes"]

# Minimum R+F+M (5 bins, sums 3..15) per level, most valuable first; the last level takes the rest.
DEFAULT_THRESHOLDS: dict[str, float] = {
    "Top Customers": 11,
    "Champions": 10,
    "Loyal": 9,
    "Potential": 7,
    "Promising": 6,
    "Needs Attention": 5,
    "Require Activation": 3,
}


class LevelsConfig(SegmentConfig):
    """Score bins and the minimum R+F+M sum of each level (ordered from most to least valuable)."""

    bins: int = Field(default=5, ge=3, le=10)
    thresholds: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    threshold_bins: int = Field(default=5, ge=3, le=10)
    # absent beyond the data's usual gap ("auto", see segment.lapse), N days, or never (None)
    lapsed_after: LapsedAfter = "auto"
    # the most valuable level a lapsed customer can get; None: no cap (a table of your own names without
    # Needs Attention has none unless you name one: only you know which of your levels claim presence)
    lapsed_level: str | None = "Needs Attention"

    @field_validator("lapsed_after")
    @classmethod
    def _lapse(cls, value: LapsedAfter) -> LapsedAfter:
        return check_lapsed_after(value)

    @model_validator(mode="after")
    def _descending(self) -> LevelsConfig:
        values = list(self.thresholds.values())
        if len(values) < 2:
            raise ValueError("thresholds must name at least two levels")
        if any(a <= b for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(
                f"thresholds must decrease from the most valuable level down, got {self.thresholds}"
            )
        if self.lapsed_level is not None and self.lapsed_level not in self.thresholds:
            if "lapsed_level" in self.model_fields_set:
                raise ValueError(f"lapsed_level={self.lapsed_level!r} must be one of the levels {list(self.thresholds)}"
                                 " (or null: no cap)")
            self.lapsed_level = None
        return self

    def scaled_thresholds(self) -> dict[str, float]:
        """Thresholds on this config's ``bins`` scale (see the module docstring)."""
        factor = (self.bins - 1) / (self.threshold_bins - 1)
        return {name: 3 + (t - 3) * factor for name, t in self.thresholds.items()}

    def segment_order(self) -> dict[str, int]:
        """Level name -> order (0 = least valuable = last listed)."""
        return {name: len(self.thresholds) - 1 - i for i, name in enumerate(self.thresholds)}


def assign(features: ir.Table, config: LevelsConfig | None = None, *, by: str | None = None) -> ir.Table:
    """Features plus RFM scores, ``segment`` (level), ``segment_order`` and ``reason``.

    ``by`` scores each group of that column among itself (the story scores every period at once).
    """
    config = config or LevelsConfig()
    return label_scores(rfm_scores(features, config.bins, by=by), config, by=by)


def assign_after(
    features: ir.Table, config: LevelsConfig, earlier: Mapping[str, tuple[ir.Table, SegmentConfig]]
) -> ir.Table | None:
    """:func:`assign` from the scores of rfm's labelled table for the same ``features`` and bins (no
    second ranking of every customer); None when rfm has not run or scored with other bins."""
    rfm = earlier.get("rfm")
    if rfm is None or not isinstance(rfm[1], RFMConfig) or rfm[1].bins != config.bins:
        return None
    return label_scores(rfm[0].select(*features.columns, *SCORE_COLUMNS), config)


def label_scores(
    scored: ir.Table, config: LevelsConfig | None = None, *, by: str | None = None, known: str | None = None
) -> ir.Table:
    """:func:`assign` on a table already scored by :func:`rfm_scores` (row by row, no ranking but the lapse
    threshold of each group ``by`` among its ``known`` rows, as :func:`segmint.segment.rfm.label_scores`)."""
    config = config or LevelsConfig()
    columns = scored.columns
    thresholds = config.scaled_thresholds()
    names = list(thresholds)
    allowed = names[names.index(config.lapsed_level):] if config.lapsed_level else names  # to a lapsed customer
    scored = with_lapse_days(scored, config.lapsed_after if config.lapsed_level else None, by=by, known=known)
    total = scored.rfm_score
    by_sum = ibis.cases(*[(total >= t, name) for name, t in thresholds.items()], else_=names[-1])
    minimum = ibis.cases(*[(total >= t, f"{t:.4g}") for t in thresholds.values()], else_=None)
    scored = scored.mutate(_by_sum=by_sum, _lapsed=lapsed_flag(scored))
    lapse_decides = scored._lapsed & ~scored._by_sum.isin(allowed)
    labelled = scored.mutate(segment=lapse_decides.ifelse(config.lapsed_level or "", scored._by_sum), _minimum=minimum,
                             _lapse_decides=lapse_decides)
    order = config.segment_order()
    sum_text = (
        "R+F+M = " + labelled.r_score.cast("string") + "+" + labelled.f_score.cast("string")
        + "+" + labelled.m_score.cast("string") + " = " + labelled.rfm_score.cast("string")
    )  # fmt: skip
    reason = ibis.cases(
        (labelled._lapse_decides, sum_text + " >= " + labelled._minimum + ", but"
         + absence_text(labelled, config.lapsed_after).substr(1) + " -> " + labelled.segment),
        (labelled._minimum.notnull(), sum_text + " >= " + labelled._minimum + " -> " + labelled.segment),
        else_=sum_text + " below every threshold -> " + labelled.segment,
    )
    labelled = labelled.mutate(segment_order=labelled.segment.substitute(order, else_=-1).cast("int64"), reason=reason)
    return labelled.select(*columns, *(c for c in ("segment", "segment_order", "reason") if c not in columns))


def notes(features: ir.Table, labelled: ir.Table, config: LevelsConfig | None = None) -> list[str]:
    """Empty R, F or M scores and the ties that empty them (see ``segment.notes``)."""
    from segmint.segment.notes import tie_notes

    config = config or LevelsConfig()
    metrics = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}
    found = tie_notes("RFM score levels", labelled, {column: (config.bins, metric) for column, metric in metrics.items()})
    if not config.lapsed_level:
        return found
    return found + lapse_notes("RFM score levels", labelled, config.lapsed_after, f"at most {config.lapsed_level}")
