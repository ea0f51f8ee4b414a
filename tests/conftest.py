"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

# Spark / PostgreSQL fixtures live in tests/_backends.py (they skip when the runtime is missing).
from _backends import canonical_tx, postgres_con, postgres_url, spark_con  # noqa: F401


@pytest.fixture(autouse=True, scope="session")
def _private_sql_cache(tmp_path_factory):
    """Compiled SQL is cached in a folder of this test session (never the user's cache), for the
    commands tests run in this process and in subprocesses (see segmint.sql_cache)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMINT_CACHE_DIR", str(tmp_path_factory.mktemp("segmint-cache")))
        yield
