"""The dashboard's global filters (dates, countries, organisations, scheme, period) and what they mean to ``segmint.api``.

The filter bar's values arrive from Dash as strings, lists or None (:meth:`Filters.from_inputs`);
every page's analysis, story, recommendations and CLV take them as ``segmint.api`` parameters
(:func:`api_window`) and the scheme's settings for them (:func:`period_config`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from segmint.segment import scheme_config

__all__ = ["PERIODS", "Filters", "api_window", "period_config"]

PERIODS = ("quarter", "month", "year")


@dataclass(frozen=True)
class Filters:
    """The dashboard's global filters (None / empty = no restriction)."""

    start: str | None = None
    end: str | None = None
    countries: tuple[str, ...] = ()
    orgs: tuple[str, ...] = ()
    scheme: str = "rfm"
    period: str = "quarter"

    @classmethod
    def from_inputs(cls, start: Any, end: Any, countries: Any, orgs: Any, scheme: Any, period: Any) -> Filters:
        """Build from Dash component values (strings, lists or None)."""
        def as_tuple(value: Any) -> tuple[str, ...]:
            if not value:
                return ()
            return tuple(sorted(str(v) for v in ([value] if isinstance(value, str) else value)))

        return cls(
            start=(str(start)[:10] if start else None),
            end=(str(end)[:10] if end else None),
            countries=as_tuple(countries),
            orgs=as_tuple(orgs),
            scheme=scheme or "rfm",
            period=period if period in PERIODS else "quarter",
        )


def period_config(filters: Filters, overrides: dict | None) -> Any:
    """The scheme's config; RFM's "New Customers" window is the filters' period unless set."""
    own = (overrides or {}).get(filters.scheme) or {}
    config = scheme_config(filters.scheme, own)
    if filters.scheme == "rfm" and "new_within" not in own:
        config = config.model_copy(update={"new_within": filters.period})
    return config


def api_window(filters: Filters) -> dict[str, Any]:
    """The dashboard's filters as ``segmint.api`` parameters."""
    return dict(start=filters.start, end=filters.end, org=list(filters.orgs) or None,
                country=list(filters.countries) or None)
