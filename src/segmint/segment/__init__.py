"""Segmentation schemes: each ``segmint.segment.<scheme>`` has ``<Scheme>Config`` and ``assign``."""

from __future__ import annotations

import importlib
from types import ModuleType

import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel

from segmint.errors import ConfigError

SCHEMES: tuple[str, ...] = ("rfm", "levels", "tiers", "clusters")
CONFIG_CLASSES: dict[str, str] = {
    "rfm": "RFMConfig",
    "levels": "LevelsConfig",
    "tiers": "TiersConfig",
    "clusters": "ClusterConfig",
}


def scheme_module(scheme: str) -> ModuleType:
    """The module implementing ``scheme`` (imported on first use)."""
    if scheme not in SCHEMES:
        raise ConfigError(f"unknown segmentation scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return importlib.import_module(f"segmint.segment.{scheme}")


def config_class(scheme: str) -> type:
    """The pydantic config class of ``scheme`` (e.g. ``RFMConfig`` for ``"rfm"``)."""
    return getattr(scheme_module(scheme), CONFIG_CLASSES[scheme])


def assign_segments(
    features: ir.Table | pd.DataFrame, scheme: str = "rfm", config: BaseModel | None = None
) -> ir.Table | pd.DataFrame:
    """Label each customer of ``features`` with ``scheme``'s segments (see the scheme's ``assign``)."""
    return scheme_module(scheme).assign(features, config)
