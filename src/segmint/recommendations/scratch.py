"""The recommendation job's scratch tables: materialised in the engine, dropped when the job ends."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import ibis.expr.types as ir

from segmint import engine

log = logging.getLogger(__name__)

_CREATED: ContextVar[list[str] | None] = ContextVar("segmint_recommend_tables", default=None)


def materialize(con: Any, expr: ir.Table) -> ir.Table:
    """:func:`segmint.engine.materialize`, remembered so the job drops its scratch tables when done."""
    table = engine.materialize(con, expr)
    created = _CREATED.get()
    if created is not None:
        created.append(table.op().name)
    return table


@contextmanager
def scratch_tables(con: Any) -> Iterator[set[str]]:
    """Tables materialised inside are dropped on exit, except the names the caller adds to the yielded set.

    A long-running dashboard computes many recommendations on one connection: without this, every
    run's candidate tables (millions of rows) would stay in memory for the life of the process.
    """
    created: list[str] = []
    token = _CREATED.set(created)
    keep: set[str] = set()
    try:
        yield keep
    finally:
        _CREATED.reset(token)
        outer = _CREATED.get()
        for name in created:
            if name in keep:
                if outer is not None:
                    outer.append(name)  # now the enclosing scope's table
                continue
            try:
                con.drop_table(name, force=True)
            except Exception:  # noqa: BLE001 - a scratch table that cannot be dropped only costs memory
                log.debug("could not drop scratch table %s", name, exc_info=True)
