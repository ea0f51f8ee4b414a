"""Shared pytest fixtures."""

from __future__ import annotations

# Spark / PostgreSQL fixtures live in tests/_backends.py (they skip when the runtime is missing).
from _backends import canonical_tx, postgres_con, postgres_url, spark_con  # noqa: F401
