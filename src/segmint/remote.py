"""Engines beyond the embedded DuckDB: Spark and PostgreSQL connections, and database URLs.

Everything here keeps secrets out of messages: ``redact_url`` and ``redact`` mask passwords in URLs,
``password=`` settings and a URL's secrets wherever a driver's error quotes them.
"""

from __future__ import annotations

import functools
import os
import re
import tempfile

import ibis
from ibis.backends import BaseBackend

from segmint.errors import BackendError

# Spark settings for a local session: quiet, no UI, few shuffle partitions (small machines, tests).
SPARK_DEFAULTS: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
}


def connect_spark(master: str, overrides: dict[str, str]) -> BaseBackend:
    try:
        from pyspark.sql import SparkSession

        ibis.pyspark  # noqa: B018 - fails here, not later, when ibis' pyspark extra is missing
    except ImportError as exc:
        raise BackendError(
            "the Spark engine needs pyspark: pip install 'segmint[spark]' (and Java 17)"
        ) from exc
    try:
        if master.startswith("sc://"):
            session = SparkSession.builder.remote(master).getOrCreate()
        else:
            if master.startswith("local"):
                os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # read by the JVM at launch
            builder = SparkSession.builder.master(master).appName("segmint")
            settings = {
                **SPARK_DEFAULTS,
                "spark.driver.memory": os.environ.get("SEGMINT_SPARK_DRIVER_MEMORY", "4g"),
                "spark.sql.warehouse.dir": _spark_warehouse(),
                **overrides,
            }
            for key, value in settings.items():
                builder = builder.config(key, value)
            session = builder.getOrCreate()
            session.sparkContext.setLogLevel("ERROR")
    except Exception as exc:  # py4j / JVM launch errors
        raise BackendError(
            f"cannot start Spark (master {master!r}): {exc}; check that Java 17 is installed "
            "(java -version) or pass a Spark Connect URL like sc://host:15002"
        ) from exc
    return ibis.pyspark.connect(session)


def _spark_warehouse() -> str:
    """Where Spark keeps tables segmint creates: $SEGMINT_SPARK_WAREHOUSE or a temp dir removed at exit.

    Spark's default (``./spark-warehouse``) would litter the user's working directory.
    """
    configured = os.environ.get("SEGMINT_SPARK_WAREHOUSE")
    if configured:
        return configured
    import atexit
    import shutil

    warehouse = tempfile.mkdtemp(prefix="segmint-spark-")
    atexit.register(shutil.rmtree, warehouse, ignore_errors=True)
    return warehouse


def connect_postgres(url: str) -> BaseBackend:
    """Connect to PostgreSQL; ``postgres://`` and ``postgresql://`` URLs are both accepted."""
    try:
        ibis.postgres  # noqa: B018
    except ImportError as exc:
        raise BackendError(
            "the PostgreSQL engine needs psycopg: pip install 'segmint[postgres]'"
        ) from exc
    try:
        return ibis.connect(url)
    except Exception as exc:
        raise BackendError(f"cannot connect to {redact_url(url)!r}: {redact(str(exc), url)}") from None


SERVER_SCHEMES = ("postgresql://", "postgres://", "mysql://")
FILE_SCHEMES = ("sqlite://", "duckdb://")  # a database file: its table is copied into segmint's DuckDB
DATABASE_SCHEMES = SERVER_SCHEMES + FILE_SCHEMES


def is_database_url(source: object) -> bool:
    """True for a database table URL: ``postgresql://user@host/db?table=sales``, MySQL, or a database
    file (``sqlite:///shop.db?table=sales``, ``duckdb:///shop.duckdb?table=sales``)."""
    return isinstance(source, str) and source.lower().startswith(DATABASE_SCHEMES)


def is_file_database_url(source: object) -> bool:
    """True for a SQLite or DuckDB file URL (``sqlite:///shop.db?table=sales``)."""
    return isinstance(source, str) and source.lower().startswith(FILE_SCHEMES)


def split_table_url(url: str) -> tuple[str, str]:
    """``postgresql://u@h/db?table=sales`` -> (connection URL without ``table``, ``"sales"``)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a bad port or host fails here, not inside the driver
    except ValueError as exc:
        raise BackendError(
            f"{redact_url(url)}: not a valid database URL ({exc}); write it as "
            "postgresql://user@host:5432/db?table=sales", field="source", value=redact_url(url),
        ) from None
    query = parse_qsl(parts.query, keep_blank_values=True)
    tables = [value for key, value in query if key == "table"]
    if len(tables) != 1 or not tables[0].strip():
        raise BackendError(f"{redact_url(url)}: name the table to read, e.g. {redact_url(url.split('?', 1)[0])}?table=sales")
    rest = urlencode([(key, value) for key, value in query if key != "table"])
    if is_file_database_url(url):  # the path as written: urlunsplit reads sqlite:////data/x as host 'data'
        return url.split("?", 1)[0] + (f"?{rest}" if rest else ""), tables[0].strip()
    return urlunsplit(parts._replace(query=rest)), tables[0].strip()


SECRET_PARAMETERS = ("password", "passwd", "pwd", "sslpassword", "secret", "token", "access_token", "api_key",
                     "apikey")  # fmt: skip


def url_secrets(url: str) -> list[str]:
    """The secret values in ``url`` (as written and decoded): its password and ``?password=``-style values."""
    from urllib.parse import parse_qsl, quote, unquote

    url_password, secret_parameter = _secret_patterns()
    found = [m.group(0).rsplit(":", 1)[1][:-1] for m in url_password.finditer(url)]
    query = url.split("?", 1)[1] if "?" in url else ""
    found += [value for key, value in parse_qsl(query, keep_blank_values=True) if key.lower() in SECRET_PARAMETERS]
    found += [m.group("value").strip("'") for m in secret_parameter.finditer(url)]
    values = {v for v in found if v} | {unquote(v) for v in found if v} | {quote(v, safe="") for v in found if v}
    return sorted(values, key=len, reverse=True)


@functools.cache
def _secret_patterns() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """A URL's ``user:password@`` and a ``password=`` setting (compiled when first redacting: reading a
    file never does, and the second pattern took 4-5 ms to compile)."""
    url_password = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^\s:/@?#]*:)[^\s@/?#]*@", re.IGNORECASE)
    secret_parameter = re.compile(
        r"(?P<head>(?:^|[?&;\s])(?:" + "|".join(SECRET_PARAMETERS) + r")\s*=\s*)(?P<value>'[^']*'|[^&\s'\"]*)",
        re.IGNORECASE,
    )
    return url_password, secret_parameter


def redact_url(url: str) -> str:
    """``url`` with every password masked as ``***`` (``user:pass@host`` and ``?password=...``).

    Safe for logs and error messages; ``redact`` does the same to text that may quote the URL.
    """
    return redact(url, url)


def redact(text: str, url: str = "") -> str:
    """``text`` with passwords masked: in URLs, in ``password=`` settings, and ``url``'s secrets anywhere."""
    url_password, secret_parameter = _secret_patterns()
    text = url_password.sub(r"\g<head>***@", text)
    text = secret_parameter.sub(r"\g<head>***", text)
    for secret in url_secrets(url):
        if len(secret) >= 3:  # shorter ones would mask ordinary letters of the message
            text = text.replace(secret, "***")
    return text
