"""The editable credit scorecard: factors with point bins -> Credit Score 0-100, a reason line, a segment.

A points scorecard as lenders publish them (each characteristic contributes points by the band its
value falls in), kept as data in ``scorecard.yaml`` so a business can change bands, points and the
segment thresholds without code. Factors whose measure is blank for a customer are left out of the
points possible, so a customer without a credit limit is not punished for the missing limit.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from segmint.errors import ConfigError

SEGMENTS = ("Low", "Medium", "High", "Very High")
_PACKAGED = Path(__file__).with_name("scorecard.yaml")


class Bin(BaseModel):
    """Points for values with min <= value <= max (a missing bound is open)."""

    model_config = ConfigDict(extra="forbid")

    min: float | None = None
    max: float | None = None
    points: float = Field(ge=0)


class Factor(BaseModel):
    """One scorecard characteristic: the measure it reads, its bins and how the reason names it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    measure: str
    text: str = "{value}"
    format: str = "{:.1f}"
    bins: list[Bin]

    @field_validator("bins")
    @classmethod
    def _not_empty(cls, value: list[Bin]) -> list[Bin]:
        if not value:
            raise ValueError("a factor needs at least one bin")
        return value

    @property
    def max_points(self) -> float:
        return max(b.points for b in self.bins)

    def points(self, values: pd.Series) -> pd.Series:
        """Points per value (NaN where the value is blank: the factor does not apply)."""
        result = pd.Series(np.nan, index=values.index, dtype="float64")
        numbers = pd.to_numeric(values, errors="coerce")
        unassigned = numbers.notna()
        for band in self.bins:
            hit = unassigned.copy()
            if band.min is not None:
                hit &= numbers >= band.min
            if band.max is not None:
                hit &= numbers <= band.max
            result[hit] = band.points
            unassigned &= ~hit
        return result

    def band_of(self, value: float) -> int | None:
        """Index of the first bin ``value`` falls in (None when blank or in none)."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        for index, band in enumerate(self.bins):
            if (band.min is None or value >= band.min) and (band.max is None or value <= band.max):
                return index
        return None

    def describe(self, value: float) -> str:
        """The reason text with ``value`` formatted; with more decimals (up to 3 more) when the rounded
        number would fall in another bin than the value ('0 days past due' losing points for 0.4 days)."""
        try:
            shown = self.format.format(value)
            band = self.band_of(float(value))
            for extra in range(1, 4):
                if band is None or self.band_of(_shown_number(shown)) in (band, None):
                    break
                shown = _more_decimals(self.format, extra).format(value)
        except (ValueError, TypeError):
            shown = str(value)
        text = self.text
        if _shown_number(shown) in (1.0, -1.0) and "." not in shown:  # '1 day past due', not '1 days'
            text = text.replace("{value} days", "{value} day")
        return text.format(value=shown)


def _more_decimals(format_spec: str, extra: int) -> str:
    """``{:.0f}`` -> ``{:.1f}`` (``extra`` = 1); ``{:.0%}`` -> ``{:.1%}``; other specs unchanged."""
    return re.sub(r"\.(\d+)([f%])", lambda m: f".{int(m[1]) + extra}{m[2]}", format_spec)


def _shown_number(shown: str) -> float | None:
    """The number a formatted value reads as ('+4' -> 4.0, '38%' -> 0.38, '1,204' -> 1204.0); None if not one."""
    text = shown.strip().replace(",", "")
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return None


class SegmentBand(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_score: float
    segment: str


class ScorecardConfig(BaseModel):
    """Factors, the default terms used for lateness, and the score -> Credit Segment thresholds."""

    model_config = ConfigDict(extra="forbid")

    default_terms_days: int = Field(30, ge=0)
    factors: list[Factor]
    segments: list[SegmentBand]

    @model_validator(mode="after")
    def _ordered(self) -> ScorecardConfig:
        scores = [band.min_score for band in self.segments]
        if not scores or scores != sorted(scores, reverse=True):
            raise ValueError("segments must be listed from the highest min_score to the lowest")
        return self

    @classmethod
    def load(cls, source: str | Path | dict | ScorecardConfig | None = None) -> ScorecardConfig:
        """The packaged scorecard, or one from a YAML file / dict (a full scorecard, not a patch)."""
        if isinstance(source, ScorecardConfig):
            return source
        if source is None:
            return _packaged()
        from segmint.util import read_yaml_mapping

        data = source if isinstance(source, dict) else read_yaml_mapping(source, "credit scorecard (factors:, segments:)")
        if "segments" not in data or "factors" not in data:
            packaged = _packaged().model_dump()
            data = {**packaged, **data}
        try:
            return cls.model_validate(data)
        except ValueError as exc:
            raise ConfigError(f"{source if not isinstance(source, dict) else 'scorecard'}: invalid scorecard: {exc}") from exc

    def segment_of(self, scores: pd.Series) -> pd.Series:
        """Credit Segment per score (the first band whose min_score is reached; below all: the last)."""
        labels = pd.Series(self.segments[-1].segment, index=scores.index, dtype="object")
        for band in reversed(self.segments):
            labels[scores >= band.min_score] = band.segment
        return labels


@lru_cache(maxsize=1)
def _packaged() -> ScorecardConfig:
    import yaml

    return ScorecardConfig.model_validate(yaml.safe_load(_PACKAGED.read_text(encoding="utf-8")))


def score(measures: pd.DataFrame, config: ScorecardConfig | None = None) -> pd.DataFrame:
    """``credit_score`` (0-100), ``credit_segment``, ``reason`` and ``points_<factor>`` per customer."""
    config = config or ScorecardConfig.load()
    missing = sorted({f.measure for f in config.factors} - set(measures.columns))
    if missing:
        raise ConfigError(f"scorecard factor measure(s) {missing} are not credit measures; "
                          f"use one of: {', '.join(sorted(measures.columns))}")
    points = pd.DataFrame({f.name: f.points(measures[f.measure]) for f in config.factors}, index=measures.index)
    possible = pd.DataFrame({f.name: np.where(points[f.name].notna(), f.max_points, 0.0) for f in config.factors},
                            index=measures.index)  # fmt: skip
    earned, available = points.fillna(0).sum(axis=1), possible.sum(axis=1)
    credit_score = (100 * earned / available.where(available > 0)).round().fillna(50).astype("int64")
    out = pd.DataFrame(index=measures.index)
    out["credit_score"] = credit_score
    out["credit_segment"] = config.segment_of(credit_score)
    out["reason"] = _reasons(measures, points, possible, config, credit_score)
    for factor in config.factors:
        out[f"points_{factor.name}"] = points[factor.name]
    return out


def _reasons(measures: pd.DataFrame, points: pd.DataFrame, possible: pd.DataFrame,
             config: ScorecardConfig, scores: pd.Series) -> list[str]:
    """'score 41: 38 days past due on average (paid and open bills) (-29 of 35); 62% of the balance is over
    90 days old (-21 of 25)'."""
    factors = config.factors
    earned = points.to_numpy(dtype=float)
    lost = np.where(np.isnan(earned), np.nan, possible.to_numpy(dtype=float) - np.nan_to_num(earned))
    values = [measures[f.measure].to_numpy() for f in factors]
    by_loss = np.argsort(-np.nan_to_num(lost, nan=-1.0), axis=1, kind="stable")
    by_points = np.argsort(-np.nan_to_num(earned, nan=-1.0), axis=1, kind="stable")
    reasons: list[str] = []
    for row, score_value in enumerate(scores.to_numpy()):
        parts = [f"{factors[j].describe(values[j][row])} (-{lost[row, j]:.0f} of {factors[j].max_points:.0f})"
                 for j in by_loss[row, :2] if lost[row, j] > 0]  # fmt: skip
        if not parts:
            parts = [f"{factors[j].describe(values[j][row])} (full points)"
                     for j in by_points[row, :2] if not np.isnan(earned[row, j])] or ["no payment history yet"]
        reasons.append(f"score {int(score_value)}: " + "; ".join(parts))
    return reasons


def scorecard_text(config: ScorecardConfig | None = None) -> str:
    """The scorecard as printable lines: factor, measure, bins -> points; segment thresholds."""
    config = config or ScorecardConfig.load()
    lines = []
    for factor in config.factors:
        bands = ", ".join(
            (f"{'' if b.min is None else f'>={b.min:g}'}{' ' if b.min is not None and b.max is not None else ''}"
             f"{'' if b.max is None else f'<={b.max:g}'}" or "else") + f": {b.points:g}"
            for b in factor.bins
        )
        lines.append(f"{factor.name} ({factor.measure}): {bands}")
    lines.append("segments: " + ", ".join(f"{b.segment} >= {b.min_score:g}" for b in config.segments))
    return "\n".join(lines)


def scorecard_defaults() -> dict[str, Any]:
    """The packaged scorecard as a plain dict (to write an editable copy)."""
    return _packaged().model_dump()
