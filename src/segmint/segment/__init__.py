"""Segmentation schemes: the one registry the library, the CLI and the dashboard read.

A scheme is a module with a :class:`~segmint.segment._config.SegmentConfig` subclass and
``assign(features, config) -> ibis.Table`` (the customer features plus ``segment``,
``segment_order`` (higher = more valuable) and ``reason``, in the backend of ``features``). It may
also define ``extra_tables(features, labelled, config) -> dict[str, table]``: tables exported beside
its segments (the tiers bucket tables), ``assign_after(features, config, earlier) -> table | None``:
its labels from schemes already run (levels from rfm's scores), ``notes(features, labelled, config) -> list[str]``: what a
reader must know (see ``segment.notes``), and ``title_for(columns) -> str``: its title for a labelled table
(the value story names what it ranked: "Value story (revenue x frequency)"). Add a scheme with
:func:`register_scheme`; every list of schemes (``analyze(scheme="all")``, config sections, the CLI's
``--scheme``, the dashboard's dropdown) comes from here.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from segmint.errors import ConfigError, Fix

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pandas as pd

    from segmint.segment._config import SegmentConfig

__all__ = [
    "Scheme",
    "assign_segments",
    "available_schemes",
    "get_scheme",
    "register_scheme",
    "scheme_config",
    "scheme_names",
    "scheme_title",
]

@dataclass(frozen=True)
class Scheme:
    """One registered scheme: where its code lives (imported on first use) and how to show it."""

    name: str
    module: str  # import path of the module with ``assign`` and the config class
    config_class: str  # name of the SegmentConfig subclass in ``module``
    title: str  # what people read: "RFM segments"
    description: str = ""
    # stories: "as_of" when the names claim tenure/lifecycle ("New Customers", "Lost"), so each period
    # is scored on all history to its end; "within_period" scores each period's own purchases
    story_kind: str = "within_period"
    story_columns: tuple[str, ...] = ()  # scheme columns carried into a story's period_segments

    def load(self) -> ModuleType:
        """The scheme's module (ConfigError when it cannot be imported)."""
        try:
            return importlib.import_module(self.module)
        except ImportError as exc:
            raise ConfigError(
                f"segmentation scheme {self.name!r} is not available: {exc}",
                field="scheme", value=self.name, fix=Fix(option="scheme", choices=available_schemes()),
            ) from exc

    def available(self) -> bool:
        """True when the module imports (optional dependencies installed)."""
        try:
            importlib.import_module(self.module)
        except ImportError:
            return False
        return True

    @property
    def config_type(self) -> type[SegmentConfig]:
        """The scheme's pydantic config class."""
        return getattr(self.load(), self.config_class)

    def config(self, settings: SegmentConfig | Mapping[str, Any] | None = None, *, source: str = "") -> SegmentConfig:
        """The scheme's config: defaults, a (partial) mapping of fields over them, or a config as is."""
        cls = self.config_type
        if settings is None:
            return cls()
        if isinstance(settings, cls):
            return settings
        if not isinstance(settings, Mapping):
            raise ConfigError(
                f"{source or self.name}: settings for {self.name} must be a {cls.__name__} or a mapping of "
                f"its fields, got {type(settings).__name__}"
            )
        try:
            return cls.from_dict(dict(settings), source=source or f"{self.name} settings")
        except ConfigError as exc:
            if exc.fix is None and exc.field:
                exc.fix = Fix(option=f"{self.name}.{exc.field}")
            raise

    def assign(self, features: ir.Table | pd.DataFrame, config: SegmentConfig | Mapping[str, Any] | None = None) -> ir.Table:
        """Label each customer of ``features`` (see the module docstring)."""
        return self.load().assign(features, self.config(config))

    def assign_after(
        self, features: ir.Table, config: SegmentConfig, earlier: Mapping[str, tuple[ir.Table, SegmentConfig]]
    ) -> ir.Table:
        """:meth:`assign`, from the labelled tables of schemes already run on the same ``features``
        (name -> (labelled, config)) when the module's ``assign_after`` can use one (levels reads
        rfm's scores instead of ranking the customers again)."""
        build = getattr(self.load(), "assign_after", None)
        labelled = None if build is None else build(features, config, earlier)
        return self.assign(features, config) if labelled is None else labelled

    def extra_tables(
        self, features: ir.Table, labelled: ir.Table, config: SegmentConfig | None = None
    ) -> dict[str, ir.Table | pd.DataFrame]:
        """Tables the scheme exports beside its segments (empty for most schemes)."""
        build = getattr(self.load(), "extra_tables", None)
        return {} if build is None else build(features, labelled, self.config(config))

    def notes(self, features: ir.Table, labelled: ir.Table, config: SegmentConfig | None = None) -> list[str]:
        """What a reader of these segments must know (empty score levels from ties, short history)."""
        build = getattr(self.load(), "notes", None)
        return [] if build is None else list(build(features, labelled, self.config(config)))


_REGISTRY: dict[str, Scheme] = {}


def register_scheme(
    name: str, module: str, config_class: str, *, title: str | None = None, description: str = "",
    story_kind: str = "within_period", story_columns: tuple[str, ...] = (), replace: bool = False,
) -> Scheme:
    """Add a scheme to the registry (ConfigError when ``name`` is taken, unless ``replace``)."""
    if not name.isidentifier() or name == "all":
        raise ConfigError(f"scheme name {name!r} must be a plain identifier other than 'all'")
    if name in _REGISTRY and not replace:
        raise ConfigError(f"a scheme named {name!r} is already registered ({_REGISTRY[name].module})")
    if story_kind not in ("as_of", "within_period"):
        raise ConfigError(f"story_kind={story_kind!r}; choose as_of or within_period")
    scheme = Scheme(name, module, config_class, title or name, description, story_kind, tuple(story_columns))
    _REGISTRY[name] = scheme
    return scheme


def scheme_names() -> tuple[str, ...]:
    """Every registered scheme, in registration order."""
    return tuple(_REGISTRY)


def scheme_title(name: str, columns: Sequence[str] | None = None) -> str:
    """What people read for scheme ``name`` ("RFM segments"); the name itself when not registered.

    ``columns``: a labelled table's, titled by the scheme's ``title_for`` when it has one."""
    scheme = _REGISTRY.get(name)
    if scheme is None:
        return name
    titled = getattr(scheme.load(), "title_for", None) if columns is not None else None
    return scheme.title if titled is None else titled(list(columns))


def available_schemes() -> tuple[str, ...]:
    """Registered schemes whose module imports, in registration order."""
    return tuple(name for name, scheme in _REGISTRY.items() if scheme.available())


def get_scheme(name: str) -> Scheme:
    """The registered scheme ``name``; ConfigError listing the choices otherwise."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(
            f"unknown scheme {name!r}; choose one of {', '.join(_REGISTRY)}",
            field="scheme", value=name, fix=Fix(option="scheme", choices=scheme_names()),
        ) from None


def scheme_config(
    name: str, settings: SegmentConfig | Mapping[str, Any] | None = None, *, source: str = ""
) -> SegmentConfig:
    """The one way to build a scheme's config (see :meth:`Scheme.config`)."""
    return get_scheme(name).config(settings, source=source)


def assign_segments(
    features: ir.Table | pd.DataFrame,
    scheme: str = "rfm",
    config: SegmentConfig | Mapping[str, Any] | None = None,
) -> ir.Table:
    """Label each customer of ``features`` with ``scheme``'s segments (an Ibis table)."""
    return get_scheme(scheme).assign(features, config)


register_scheme("rfm", "segmint.segment.rfm", "RFMConfig", title="RFM segments",
                description="11 named segments from recency, frequency and monetary quantile scores",
                story_kind="as_of", story_columns=("rfm_cell",))
register_scheme("levels", "segmint.segment.levels", "LevelsConfig", title="RFM score levels",
                description="7 levels from the sum R+F+M of the RFM scores",
                story_kind="as_of", story_columns=("rfm_score",))
register_scheme("tiers", "segmint.segment.tiers", "TiersConfig", title="Spend x frequency tiers",
                description="Low/Mid/High value x Low/Mid/High frequency from n-tile buckets",
                story_columns=("value_tier", "frequency_tier"))
register_scheme("clusters", "segmint.segment.clusters", "ClusterConfig", title="Value clusters (k-means)",
                description="k-means on log features, clusters ordered by value", story_columns=("cluster",))
# the value story's title names what its amount axis ranked (segment.value.title_for): profit by default
VALUE_TITLE = "Value story ({amount} x frequency)"
register_scheme("value", "segmint.segment.value", "ValueConfig", title=VALUE_TITLE.format(amount="profit"),
                description="k-means on profit and on frequency, ordered and combined: High Value / Average / "
                            "Below Average / Low Value",
                # the amount axis' columns are named for what it ranked (profit, revenue or items): one of each
                story_columns=("profit_segment", "revenue_segment", "items_segment", "frequency_segment",
                               "overall_score", "profit_cluster", "revenue_cluster", "items_cluster",
                               "frequency_cluster"))
