"""Backend connections (DuckDB by default, Spark, PostgreSQL) and the DuckDB workspace file."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any
from uuid import uuid4

import ibis
from ibis.backends import BaseBackend

from segmint.errors import BackendError

log = logging.getLogger(__name__)

BACKENDS = ("duckdb", "spark", "postgres")


def connect(
    backend: str = "duckdb",
    *,
    path: str | Path | None = None,
    memory_limit: str | None = None,
    temp_directory: str | Path | None = None,
    threads: int | None = None,
    master: str | None = None,
    url: str | None = None,
) -> BaseBackend:
    """Open an Ibis connection: in-memory DuckDB unless ``path``/``backend`` say otherwise.

    DuckDB spills to ``temp_directory`` when work exceeds ``memory_limit`` (e.g. ``"6GB"``), so data
    larger than memory still completes. ``master`` selects the Spark master (``local[*]`` default) or
    a Spark Connect URL (``sc://host:15002``); ``url`` is a PostgreSQL URL.
    """
    if backend == "duckdb":
        config: dict[str, Any] = {}
        if memory_limit:
            config["memory_limit"] = memory_limit
        if threads:
            config["threads"] = threads
        tmp = temp_directory or os.environ.get("SEGMINT_TEMP_DIR")
        if tmp:
            config["temp_directory"] = str(tmp)
        database = str(path) if path else ":memory:"
        try:
            return ibis.duckdb.connect(database, **config)
        except Exception as exc:  # duckdb raises its own IOException types
            raise BackendError(f"cannot open DuckDB database {database!r}: {exc}") from exc
    if backend == "spark":
        return _connect_spark(master or os.environ.get("SEGMINT_SPARK_MASTER", "local[*]"))
    if backend == "postgres":
        if not url:
            raise BackendError("the postgres backend needs a URL like postgresql://user@host/db")
        try:
            return ibis.connect(url)
        except Exception as exc:
            raise BackendError(f"cannot connect to {url!r}: {exc}") from exc
    raise BackendError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _connect_spark(master: str) -> BaseBackend:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise BackendError(
            "the Spark engine needs pyspark: pip install 'segmint[spark]' (and Java 17)"
        ) from exc
    if master.startswith("sc://"):
        session = SparkSession.builder.remote(master).getOrCreate()
    else:
        session = (
            SparkSession.builder.master(master)
            .appName("segmint")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.shuffle.partitions", "8")
            .config("spark.ui.enabled", "false")
            .config("spark.driver.memory", os.environ.get("SEGMINT_SPARK_DRIVER_MEMORY", "4g"))
            .getOrCreate()
        )
    return ibis.pyspark.connect(session)


def backend_name(con: BaseBackend) -> str:
    """Short name of the backend behind ``con`` (``duckdb``, ``pyspark``, ``postgres``)."""
    return con.name


def materialize(con: BaseBackend, expr: ibis.Table, name: str | None = None) -> ibis.Table:
    """Compute ``expr`` once into a temporary table so later queries do not recompute it."""
    name = name or f"segmint_{uuid4().hex[:12]}"
    if con.name == "duckdb":
        return con.create_table(name, expr, temp=True, overwrite=True)
    return con.create_table(name, expr, overwrite=True)


def default_temp_dir() -> Path:
    """Directory DuckDB spills to when no temp directory is configured."""
    return Path(tempfile.gettempdir()) / "segmint-spill"
