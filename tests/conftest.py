"""Shared pytest fixtures."""

from __future__ import annotations

import os

import pytest

# The CLI prints at 120 columns off a terminal (segmint.cli_output), and Rich breaks a line that is longer,
# even inside a path: tests that look for a whole sentence with a scratch path in it would then pass or fail
# with the length of the scratch folder (longer under pytest-xdist's popen-gwN folders) and with which test
# first imported the CLI. Every test process and the commands it starts print at 400 columns; tests of the
# narrow layouts set their own width.
os.environ["COLUMNS"] = "400"

# Spark / PostgreSQL fixtures live in tests/_backends.py (they skip when the runtime is missing).
from _backends import canonical_tx, postgres_con, postgres_url, spark_con  # noqa: F401


@pytest.fixture(autouse=True, scope="session")
def _private_sql_cache(tmp_path_factory):
    """Compiled SQL is cached in a folder of this test session (never the user's cache), for the
    commands tests run in this process and in subprocesses (see segmint.sql_cache)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SEGMINT_CACHE_DIR", str(tmp_path_factory.mktemp("segmint-cache")))
        yield
