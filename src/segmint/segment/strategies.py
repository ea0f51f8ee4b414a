"""Engagement strategies keyed by scheme and segment (``strategies.yaml``), and scheme-aware names.

A label means different things in different schemes: "Can't Lose Them" is RFM's lapsed big spenders
(win them back) but the levels scheme's most valuable third (reward them). So every look-up names
its scheme; no table merges schemes. Each strategy has a ``goal`` (reward, grow, onboard, nurture,
reactivate, win_back, let_go, review) so tests can check a strategy fits its label.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from segmint.errors import ConfigError
from segmint.segment._config import load_packaged_yaml

GOALS = ("reward", "grow", "onboard", "nurture", "reactivate", "win_back", "let_go", "review")
CONFIG_SCHEMES = {"RFMConfig": "rfm", "LevelsConfig": "levels", "TiersConfig": "tiers",
                  "ClusterConfig": "clusters", "ValueConfig": "value"}

__all__ = ["GOALS", "Strategy", "display_name", "scheme_of", "strategies_for", "strategy_table"]


class Strategy(BaseModel):
    """What to do with a segment's customers, and what kind of action it is."""

    goal: str
    text: str


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, Strategy]]:
    raw = load_packaged_yaml("strategies.yaml")
    table = {scheme: {name: Strategy(**entry) for name, entry in rows.items()} for scheme, rows in raw.items()}
    for scheme, rows in table.items():
        for name, strategy in rows.items():
            if strategy.goal not in GOALS:
                raise ConfigError(f"strategies.yaml [{scheme}] {name}: goal {strategy.goal!r}; use one of {GOALS}")
    return table


def strategy_table(scheme: str) -> dict[str, Strategy]:
    """Segment -> Strategy for one scheme (plus the story's ``Inactive``); a plug-in scheme without
    a section gets none (its summaries show no strategy rather than another scheme's)."""
    table = _table()
    return {**table.get(scheme, {}), **table.get("story", {})}


def scheme_of(config: Any) -> str | None:
    """The scheme a config object belongs to (``RFMConfig`` -> ``"rfm"``), None when unknown."""
    return CONFIG_SCHEMES.get(type(config).__name__)


def strategies_for(scheme: str | None = None, config: Any = None) -> dict[str, str]:
    """Segment -> strategy text for ``scheme`` (or the scheme of ``config``; default rfm).

    A config with its own ``strategies`` (tiers) overrides the table's texts.
    """
    name = scheme or scheme_of(config) or "rfm"
    texts = {segment: s.text for segment, s in strategy_table(name).items()}
    own = getattr(config, "strategies", None)
    return {**texts, **dict(own)} if own else texts


def display_name(scheme: str, segment: str, shown: tuple[str, ...] | None = None) -> str:
    """``"Champions (levels)"`` when another scheme (of ``shown``, default all) uses the name."""
    others = [s for s in (shown or tuple(_table())) if s not in (scheme, "story")]
    if any(segment in _table().get(other, {}) for other in others):
        return f"{segment} ({scheme})"
    return segment
