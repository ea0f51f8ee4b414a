"""RFM levels: the sum R + F + M of the RFM scores cut by editable thresholds into 7 levels.

A customer gets the first level (highest threshold first) whose minimum score sum they reach.
Thresholds are written for ``threshold_bins`` scores per dimension (sums 3..15 for 5 bins); with a
different ``bins`` each threshold ``t`` is rescaled linearly to ``3 + (t - 3) * (bins - 1) /
(threshold_bins - 1)`` so the same share of the score range maps to the same level.
"""

from __future__ import annotations

from collections.abc import Mapping

import ibis
import ibis.expr.types as ir
from pydantic import Field, model_validator

from segmint.segment._config import SegmentConfig
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

    @model_validator(mode="after")
    def _descending(self) -> LevelsConfig:
        values = list(self.thresholds.values())
        if len(values) < 2:
            raise ValueError("thresholds must name at least two levels")
        if any(a <= b for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(
                f"thresholds must decrease from the most valuable level down, got {self.thresholds}"
            )
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
    return label_scores(rfm_scores(features, config.bins, by=by), config)


def assign_after(
    features: ir.Table, config: LevelsConfig, earlier: Mapping[str, tuple[ir.Table, SegmentConfig]]
) -> ir.Table | None:
    """:func:`assign` from the scores of rfm's labelled table for the same ``features`` and bins (no
    second ranking of every customer); None when rfm has not run or scored with other bins."""
    rfm = earlier.get("rfm")
    if rfm is None or not isinstance(rfm[1], RFMConfig) or rfm[1].bins != config.bins:
        return None
    return label_scores(rfm[0].select(*features.columns, *SCORE_COLUMNS), config)


def label_scores(scored: ir.Table, config: LevelsConfig | None = None) -> ir.Table:
    """:func:`assign` on a table already scored by :func:`rfm_scores` (row by row, no ranking)."""
    config = config or LevelsConfig()
    thresholds = config.scaled_thresholds()
    names = list(thresholds)
    total = scored.rfm_score
    level = ibis.cases(*[(total >= t, name) for name, t in thresholds.items()], else_=names[-1])
    minimum = ibis.cases(*[(total >= t, f"{t:.4g}") for t in thresholds.values()], else_=None)
    labelled = scored.mutate(segment=level, _minimum=minimum)
    order = config.segment_order()
    sum_text = (
        "R+F+M = " + labelled.r_score.cast("string") + "+" + labelled.f_score.cast("string")
        + "+" + labelled.m_score.cast("string") + " = " + labelled.rfm_score.cast("string")
    )  # fmt: skip
    reason = ibis.cases(
        (labelled._minimum.notnull(), sum_text + " >= " + labelled._minimum + " -> " + labelled.segment),
        else_=sum_text + " below every threshold -> " + labelled.segment,
    )
    return labelled.mutate(
        segment_order=labelled.segment.substitute(order, else_=-1).cast("int64"), reason=reason
    ).drop("_minimum")


def notes(features: ir.Table, labelled: ir.Table, config: LevelsConfig | None = None) -> list[str]:
    """Empty R, F or M scores and the ties that empty them (see ``segment.notes``)."""
    from segmint.segment.notes import tie_notes

    bins = (config or LevelsConfig()).bins
    metrics = {"r_score": "recency_days", "f_score": "frequency", "m_score": "monetary"}
    return tie_notes("RFM score levels", labelled, {column: (bins, metric) for column, metric in metrics.items()})
