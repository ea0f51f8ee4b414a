"""Every DuckDB statement of one ``segmint`` command, timed in-process, and its SQL kept for replaying.

``python -m benchmarks.statements LOG.json analyze FILE --scheme rfm --out DIR`` runs the CLI with DuckDB's
connections wrapped: each ``execute``/``sql`` call and each relation method that runs a query is timed
(process CPU from ``getrusage``, so DuckDB's threads count, and wall time) with its caller in segmint, and
written to LOG.json; the most expensive statements are printed to stderr. ``python -m benchmarks.statements
--replay LOG.json ROUNDS A.sql B.sql ...`` re-creates the log's temporary views and tables in a fresh DuckDB
(``SETUP_UPTO``: only the log's first statements) and times each file in turn, round by round (a file
ending in ``.tsql`` is stored as a table, as segmint stores its results). Session 16 ("large") used it.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import sys
import time
import traceback
from typing import Any

RUNS = ("fetchall", "fetchone", "fetchmany", "arrow", "fetch_arrow_table", "to_arrow_table", "df", "fetchnumpy",
        "execute", "fetch_record_batch", "record_batch", "to_parquet", "write_csv", "create", "to_table", "pl")  # fmt: skip


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _caller() -> str:
    for frame in reversed(traceback.extract_stack()[:-3]):
        if "/segmint/" in frame.filename and "duckdb_backend" not in frame.filename:
            return f"{os.path.basename(frame.filename)}:{frame.lineno}:{frame.name}"
    return "?"


class _Timed:
    """A DuckDB connection, cursor or relation whose query-running calls are logged."""

    def __init__(self, inner: Any, records: list[dict], sql: str = "") -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_records", records)
        object.__setattr__(self, "_sql", sql)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not callable(attribute) or name not in (*RUNS, "sql", "query", "cursor"):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            if name == "cursor":
                return _Timed(attribute(*args, **kwargs), self._records)
            sql = args[0] if name in ("execute", "sql", "query") and args and isinstance(args[0], str) else self._sql
            cpu, wall = _cpu(), time.perf_counter()
            out = attribute(*args, **kwargs)
            self._records.append(dict(kind=name, sql=sql, cpu=_cpu() - cpu, wall=time.perf_counter() - wall, at=_caller()))
            # connections, cursors and relations are wrapped; results (rows, Arrow tables) are handed back as they are
            duckdb_object = type(out).__module__.split(".")[0] in ("duckdb", "_duckdb")
            return _Timed(out, self._records, sql) if duckdb_object else out

        return timed

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    def __iter__(self) -> Any:
        return iter(self._inner)


def profile(log: str, args: list[str]) -> None:
    """Run ``segmint *args`` with every statement timed; the log is written when the CLI leaves."""
    import duckdb

    import segmint.duckdb_backend as backend

    records: list[dict] = []
    connect, cursor = duckdb.connect, backend.default_database_cursor
    duckdb.connect = lambda *a, **k: _Timed(connect(*a, **k), records)
    backend.default_database_cursor = lambda: _Timed(cursor(), records)
    start_cpu, start_wall = _cpu(), time.perf_counter()

    def report() -> None:
        with open(log, "w") as handle:
            json.dump(records, handle)
        statements = sum(r["cpu"] for r in records)
        print(f"total CPU {_cpu() - start_cpu:.2f} s, wall {time.perf_counter() - start_wall:.2f} s; "
              f"{len(records)} calls, {statements:.2f} CPU s in them", file=sys.stderr)  # fmt: skip
        for i, r in sorted(enumerate(records), key=lambda x: -x[1]["cpu"])[:25]:
            print(f"{i:4d} {r['cpu']:6.2f} {r['wall']:6.2f} {r['at']:44s} {' '.join(r['sql'].split())[:90]}", file=sys.stderr)

    atexit.register(report)  # the CLI leaves by os._exit after running the exit functions
    from segmint.cli import main

    sys.argv = ["segmint", *args]
    main()


def replay(log: str, rounds: int, files: list[str]) -> None:
    """Time each SQL file in a DuckDB holding the log's temporary views and tables, files alternating."""
    import duckdb

    con = duckdb.connect(config={"memory_limit": "1536MB"})
    con.execute("SET timezone = 'UTC'")
    upto = int(os.environ.get("SETUP_UPTO", "1000000000"))
    for record in json.load(open(log))[:upto]:
        if record["kind"] == "execute" and record["sql"].startswith(("CREATE TEMP", "INSERT INTO")):
            con.execute(record["sql"])
    times: dict[str, list[float]] = {f: [] for f in files}
    for _ in range(rounds):
        for name in files:
            sql = open(name).read()
            sql = f"CREATE OR REPLACE TEMP TABLE _replayed AS {sql}" if name.endswith(".tsql") else sql
            cpu = _cpu()
            con.execute(sql).fetchall()
            times[name].append(_cpu() - cpu)
    for name, cpus in times.items():
        print(f"{name}: CPU s {' '.join(f'{c:.2f}' for c in cpus)}, median {sorted(cpus)[len(cpus) // 2]:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "--replay":
        replay(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
    else:
        profile(sys.argv[1], sys.argv[2:])
