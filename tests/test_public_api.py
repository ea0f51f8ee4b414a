"""The public API: `segmint` exports what `segmint.api` declares, and its signatures are typed (no Any)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import segmint
from segmint import api

# names of segmint.api.__all__ that a submodule of the same name shadows on the package
SHADOWED = {info.name for info in pkgutil.iter_modules(segmint.__path__)}


def test_all_matches_the_exports() -> None:
    expected = {"SegmintError", "__version__"} | (set(api.__all__) - SHADOWED)
    assert set(segmint.__all__) == expected
    assert len(segmint.__all__) == len(set(segmint.__all__))
    assert "story" in api.__all__ and "story" not in segmint.__all__  # segmint.story is the module


def test_every_export_resolves_to_the_api_object_even_after_all_submodules_load() -> None:
    for info in pkgutil.iter_modules(segmint.__path__):
        if info.name not in ("app", "cli"):
            importlib.import_module(f"segmint.{info.name}")
    for name in set(segmint.__all__) - {"SegmintError", "__version__"}:
        assert getattr(segmint, name) is getattr(api, name), name
    namespace: dict[str, object] = {}
    exec("from segmint import *", namespace)  # noqa: S102 - what a user types
    assert set(namespace) - {"__builtins__"} == set(segmint.__all__)


def test_api_declares_every_public_name_it_defines() -> None:
    defined = {
        name for name, value in vars(api).items()
        if not name.startswith("_") and getattr(value, "__module__", None) == "segmint.api"
        and (inspect.isfunction(value) or inspect.isclass(value))
    }
    assert defined <= set(api.__all__), defined - set(api.__all__)


def test_public_signatures_name_their_types() -> None:
    """No ``Any`` for mappings, options or configs: every parameter, return and field says what it takes."""
    for name in api.__all__:
        obj = getattr(api, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        targets = [obj]
        if inspect.isclass(obj):
            targets += [m for _, m in inspect.getmembers(obj, inspect.isfunction) if not _.startswith("_")]
            annotations = {k: str(v) for k, v in inspect.get_annotations(obj).items() if not k.startswith("_")}
            assert not [k for k, v in annotations.items() if "Any" in v], (name, annotations)
        for target in targets:
            hints = {k: str(v) for k, v in inspect.get_annotations(target).items()}
            params = inspect.signature(target).parameters
            missing = [p for p in params if p not in ("self", "cls") and p not in hints]
            assert not missing, (name, target.__name__, missing)
            untyped = [k for k, v in hints.items() if "Any" in v.replace("AnyStr", "")]
            assert not untyped, (name, target.__name__, untyped)
