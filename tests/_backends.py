"""Fixtures for the non-default backends: a local Spark session and a throwaway PostgreSQL cluster.

Registered in ``conftest.py``. Both skip (with the reason) when their runtime is missing, so the
default ``pytest`` run stays green on machines without Java or PostgreSQL.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segmint.schema import CANONICAL_COLUMNS

# ---------------------------------------------------------------------------------------------
# canonical test data


def canonical_frame(n_rows: int = 10_000, *, seed: int = 7, n_customers: int = 600) -> pd.DataFrame:
    """Canonical transactions with the cases that trip backends up, built with numpy.

    Multi-line invoices, return lines (negative amounts, ``is_return``), customers whose returns
    cancel their purchases, unknown costs, several orgs and countries, times within the day, and
    amounts with many decimals so sums depend on floating-point order.
    """
    rng = np.random.default_rng(seed)
    n_invoices = n_rows // 3
    invoice_of_line = np.sort(rng.integers(0, n_invoices, n_rows))
    invoice_customer = rng.integers(0, n_customers, n_invoices)
    day_offset = rng.integers(0, 730, n_invoices)
    seconds = rng.integers(0, 86_400, n_invoices)
    invoice_time = (
        np.datetime64("2022-01-01T00:00:00", "s")
        + day_offset.astype("timedelta64[D]").astype("timedelta64[s]")
        + seconds.astype("timedelta64[s]")
    )
    returned_invoice = rng.random(n_invoices) < 0.04
    quantity = rng.integers(1, 12, n_rows).astype("float64")
    unit_price = np.round(rng.gamma(2.0, 7.5, n_rows), 2) + 0.01
    sign = np.where(returned_invoice[invoice_of_line], -1.0, 1.0)
    quantity *= sign
    amount = quantity * unit_price * rng.choice([1.0, 0.9, 1.0 / 3.0], n_rows)
    cost = np.where(rng.random(n_rows) < 0.2, np.nan, np.abs(amount) * 0.6 * np.sign(amount))
    line_no = _position_within(invoice_of_line)
    prefix = np.where(returned_invoice, "C", "")
    invoice_ids = np.char.add(prefix, np.char.add("INV", np.arange(n_invoices).astype(str)))
    customer_ids = np.char.add("C", np.char.zfill(invoice_customer.astype(str), 5))
    products = rng.integers(0, 300, n_rows)
    countries = np.array(["United Kingdom", "France", "Germany", None], dtype=object)
    frame = pd.DataFrame(
        {
            "invoice_id": invoice_ids[invoice_of_line].astype(object),
            "line_no": line_no.astype("int64"),
            "customer_id": customer_ids[invoice_of_line].astype(object),
            "invoice_date": pd.to_datetime(invoice_time[invoice_of_line]).astype("datetime64[us]"),
            "product_id": np.char.add("P", products.astype(str)).astype(object),
            "product_name": np.char.add("Product ", products.astype(str)).astype(object),
            "quantity": quantity,
            "unit_price": unit_price,
            "amount": amount,
            "cost": cost,
            "country": countries[invoice_customer[invoice_of_line] % 4],
            "org_id": np.where(invoice_customer[invoice_of_line] % 5 == 0, "north", "south").astype(
                object
            ),
            "is_return": sign < 0,
        }
    )
    # a customer whose only purchase is fully returned: excluded from features on every backend
    refund = frame.iloc[[0, 0]].copy()
    refund["customer_id"] = "REFUND_ONLY"
    refund["invoice_id"] = ["R1", "CR1"]
    refund["line_no"] = 1
    refund["amount"] = [50.0, -50.0]
    refund["is_return"] = [False, True]
    return pd.concat([frame, refund], ignore_index=True)[list(CANONICAL_COLUMNS)]


def _position_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each element within its run of equal (sorted) group values."""
    starts = np.r_[0, np.flatnonzero(np.diff(groups)) + 1]
    run_lengths = np.diff(np.r_[starts, len(groups)])
    return np.arange(len(groups)) - np.repeat(starts, run_lengths) + 1


@pytest.fixture(scope="session")
def canonical_tx() -> pd.DataFrame:
    """10k canonical rows shared by the backend parity tests."""
    return canonical_frame()


# ---------------------------------------------------------------------------------------------
# Spark


@pytest.fixture(scope="session")
def spark_con():
    """An Ibis connection to a small local Spark session (skips without pyspark or Java)."""
    pytest.importorskip("pyspark", reason="pyspark not installed (pip install 'segmint[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs Java 17 (java not on PATH and JAVA_HOME unset)")
    from segmint import engine

    con = engine.connect(
        "spark",
        master="local[2]",
        spark_config={
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.driver.memory": "1g",
        },
    )
    yield con
    con._session.stop()


# ---------------------------------------------------------------------------------------------
# PostgreSQL


def _postgres_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl: $PG_BINDIR, the newest Debian install, or PATH."""
    candidates = [os.environ.get("PG_BINDIR", "")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    candidates.append(str(Path(initdb).parent) if initdb else "")
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _version_key(path: str) -> float:
    with contextlib.suppress(ValueError):
        return float(Path(path).parent.name)
    return 0.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """A PostgreSQL cluster in a temporary directory, owned by user ``postgres`` when run as root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="segmint-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.as_user: str | None = None
        if os.geteuid() == 0:  # initdb refuses to run as root
            import pwd

            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                pytest.skip("running as root and there is no 'postgres' user to own the cluster")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = "postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> str:
        """initdb + start on a free 127.0.0.1 port; return the URL of database ``segmint``."""
        init = self._run(
            "initdb", "-D", str(self.data), "-U", "segmint", "--auth=trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr or init.stdout}")
        for _attempt in range(3):  # another process may grab the port between probe and start
            self.port = _free_port()
            options = (
                f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB"
            )
            started = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                                "-w", "-t", "60", "start")  # fmt: skip
            if started.returncode == 0:
                break
        else:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {started.stderr}\n{tail}")
        created = self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "segmint",
                            "segmint")  # fmt: skip
        if created.returncode:
            raise RuntimeError(f"createdb failed: {created.stderr}")
        return f"postgresql://segmint@127.0.0.1:{self.port}/segmint"

    def stop(self) -> None:
        """Stop the server (fast) and delete its directory."""
        if self.data.exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
        for _ in range(10):
            try:
                shutil.rmtree(self.root)
                return
            except OSError:
                time.sleep(0.2)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh PostgreSQL database on 127.0.0.1, removed when the session ends."""
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'segmint[postgres]')")
    bindir = _postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; set PG_BINDIR")
    cluster = PostgresCluster(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def postgres_con(postgres_url: str):
    """An Ibis PostgreSQL connection to the throwaway cluster."""
    from segmint import engine

    con = engine.connect("postgres", url=postgres_url)
    yield con
    con.disconnect()


# ---------------------------------------------------------------------------------------------
# independent reference and comparison helpers for the parity tests


def reference_rfm(frame: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Plain-pandas R/F/M values and scores, written from the documented definitions.

    Purchases are invoices with positive net value, dated by their earliest line; customers with
    net value <= 0 are left out; snapshot = day after the last line; score = 1 + floor(bins*k/n),
    k = number of customers with a strictly worse value.
    """
    day = frame["invoice_date"].dt.normalize()
    snapshot = day.max() + pd.Timedelta(days=1)
    invoices = (
        frame.assign(day=day)
        .groupby(["customer_id", "invoice_id"])
        .agg(net=("amount", "sum"), day=("day", "min"))
        .reset_index()
    )
    bought = invoices[invoices["net"] > 0]
    per_customer = pd.DataFrame(
        {
            "frequency": bought.groupby("customer_id").size(),
            "last_purchase": bought.groupby("customer_id")["day"].max(),
            "monetary": frame.groupby("customer_id")["amount"].sum(),
        }
    )
    per_customer = per_customer[per_customer["monetary"] > 0].dropna(subset=["frequency"])
    per_customer["recency_days"] = (snapshot - per_customer["last_purchase"]).dt.days
    n = len(per_customer)

    def score(values: pd.Series) -> pd.Series:
        worse = values.rank(method="min") - 1
        return (1 + (worse * bins // n)).astype("int64")

    per_customer["r_score"] = score(-per_customer["recency_days"])
    per_customer["f_score"] = score(per_customer["frequency"])
    per_customer["m_score"] = score(per_customer["monetary"])
    result = per_customer.reset_index(names="customer_id")
    return result.astype({"frequency": "int64", "recency_days": "int64"})


def assert_same_rows(got: pd.DataFrame, expected: pd.DataFrame, keys: list[str]) -> None:
    """Same columns, dtypes and values after sorting by ``keys``; floats to 1e-9 relative, and money
    sums (which segmint rounds to ``MONEY_SUM_DECIMALS`` where they are formed) to that precision too."""
    from segmint.features import MONEY_SUM_DECIMALS

    assert list(got.columns) == list(expected.columns)
    got = got.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert len(got) == len(expected)
    for column in expected.columns:
        exact = not pd.api.types.is_float_dtype(expected[column])
        money = column in MONEY_SUMS
        pd.testing.assert_series_equal(
            got[column], expected[column], check_exact=exact, rtol=1e-9,
            atol=1.5 * 10.0**-MONEY_SUM_DECIMALS if money else 0.0, obj=column,  # one unit of the last place
        )  # (two engines' sums rounded at a different side of a half unit, compared as math.isclose does)


# per-customer money columns derived from a rounded money sum (AOV and mean monetary divide one by
# the purchases, so their error is at most the sum's)
MONEY_SUMS = {"monetary", "revenue", "profit", "avg_order_value", "net_value", "monetary_value", "holdout_value"}


def to_pandas(expr) -> pd.DataFrame:
    """Execute an Ibis expression through Arrow (same conversion on every backend)."""
    return expr.to_pyarrow().to_pandas()


def load_both(con, frame: pd.DataFrame, name: str = "tx"):
    """``frame`` as a table in a fresh in-memory DuckDB and in ``con``: (duckdb table, con table)."""
    import pyarrow as pa

    from segmint import engine

    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    return engine.connect().create_table(name, arrow), con.create_table(name, arrow, overwrite=True)


REFERENCE_COLUMNS = ["customer_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score"]


def check_rfm_parity(other_tx, duck_tx, frame: pd.DataFrame) -> pd.DataFrame:
    """Assert features + RFM on ``other_tx``'s backend equal DuckDB's and the pandas reference."""
    from segmint.features import customer_features
    from segmint.segment import rfm

    got = to_pandas(rfm.assign(customer_features(other_tx)))
    assert_same_rows(got, to_pandas(rfm.assign(customer_features(duck_tx))), ["customer_id"])
    reference = reference_rfm(frame)
    assert_same_rows(got[REFERENCE_COLUMNS], reference[REFERENCE_COLUMNS], ["customer_id"])
    return got


def lapsing_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a cohort that mostly stopped buying: customers whose id does not end in 7, 8 or 9 keep
    only their lines before 2022-06-01, so many of them lapse (the canonical data: 128 of 455)."""
    return frame[frame["customer_id"].str[-1].isin(list("789")) | (frame["invoice_date"] < pd.Timestamp("2022-06-01"))]


def check_lapse_parity(con, frame: pd.DataFrame, schemes: tuple[str, ...] = ("rfm", "levels")) -> None:
    """RFM segments (and levels) of a lapsing cohort in ``con``'s backend equal DuckDB's: the lapse threshold
    (a percentile every engine interpolates) decides the same customers, with the same reasons."""
    import importlib

    from segmint.features import customer_features

    duck_tx, other_tx = load_both(con, lapsing_frame(frame), "tx_lapsing")
    for scheme in (importlib.import_module(f"segmint.segment.{name}") for name in schemes):
        got = to_pandas(scheme.assign(customer_features(other_tx)))
        assert_same_rows(got, to_pandas(scheme.assign(customer_features(duck_tx))), ["customer_id"])
        assert got.reason.str.contains(" no purchase for ", regex=False).sum() >= 100


WINDOW_OPTIONS = dict(start="2022-03-01", end="2023-06-30", org="south", frequency="days", monetary="mean")
