"""Named tables computed on first access: a dashboard asks for one, an export for all of them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Generic, TypeVar

V = TypeVar("V")

__all__ = ["LazyTables"]


class LazyTables(Mapping[str, V], Generic[V]):
    """A read-only mapping whose values are built by recipes the first time they are read (thread-safe).

    ``add(name, recipe)`` registers one table; ``add_group(recipe)`` a recipe returning several tables
    whose names are known only once it runs (resolved when an unknown name is read or on iteration).
    """

    def __init__(self, values: Mapping[str, V] | None = None) -> None:
        self._ready: dict[str, V] = dict(values or {})
        self._recipes: dict[str, Callable[[], V]] = {}
        self._groups: list[Callable[[], Mapping[str, V]]] = []
        self._order: list[str] = list(self._ready)
        self._lock = threading.RLock()

    def add(self, name: str, recipe: Callable[[], V]) -> None:
        """Build ``name`` with ``recipe()`` when it is first read."""
        with self._lock:
            self._recipes[name] = recipe
            self._ready.pop(name, None)
            self._remember(name)

    def add_group(self, recipe: Callable[[], Mapping[str, V]]) -> None:
        """Tables whose names ``recipe()`` decides; built together when one of them is needed."""
        with self._lock:
            self._groups.append(recipe)

    def set(self, name: str, value: V) -> None:
        """Store a ready value."""
        with self._lock:
            self._ready[name] = value
            self._recipes.pop(name, None)
            self._remember(name)

    def update(self, values: Mapping[str, V]) -> None:
        """Store several ready values (a plain mapping or another LazyTables, read eagerly)."""
        for name, value in values.items():
            self.set(name, value)

    def is_ready(self, name: str) -> bool:
        """True when ``name`` was built (reading it now costs nothing)."""
        return name in self._ready

    def _remember(self, name: str) -> None:
        if name not in self._order:
            self._order.append(name)

    def _run_groups(self) -> None:
        with self._lock:
            while self._groups:
                for name, value in self._groups.pop(0)().items():
                    self.set(name, value)

    def __getitem__(self, name: str) -> V:
        with self._lock:
            if name in self._ready:
                return self._ready[name]
            if name in self._recipes:
                value = self._recipes[name]()
                self._ready[name] = value
                del self._recipes[name]
                return value
            self._run_groups()
            return self._ready[name]

    def __iter__(self) -> Iterator[str]:
        self._run_groups()
        return iter(list(self._order))

    def __len__(self) -> int:
        self._run_groups()
        return len(self._order)

    def __contains__(self, name: object) -> bool:
        if name in self._ready or name in self._recipes:
            return True
        self._run_groups()
        return name in self._ready

    def __repr__(self) -> str:
        built = [n for n in self._order if n in self._ready]
        return f"LazyTables(built={built}, pending={list(self._recipes)}, groups={len(self._groups)})"
