"""Time the customer story (``segmint story``'s library path) on benchmark data, step by step.

    python -m benchmarks.story --rows 1e6 [--scheme rfm,value] [--data benchmarks/data] [--repeat 3]
    python -m benchmarks.story --workspace /tmp/benchdata/workspace_5e7.duckdb [--scheme rfm,value]

Reads ``transactions_<rows>.parquet`` (made by ``benchmarks.generate``, generated here when missing)
as a DuckDB view, then runs :func:`segmint.story.build_story` for each scheme in a fresh process per
run, so every run pays the same start-up. Prints the median wall time per scheme, the customers and
periods, the machine's load average, and with ``--profile`` the slowest library steps. This is a
library-step timing (the story after cleaning), not the whole process from the raw file.
``--workspace`` times the story of a workspace instead (what ``segmint story WORKSPACE`` runs: the
stored per customer-month rollup, built on the first run when the workspace has none).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.generate import parse_rows, paths_for, rows_label, write

CHILD = r"""
import json, sys, time, cProfile, pstats, io
t0 = time.perf_counter()
import ibis
from segmint.engine import connect
from segmint.story import build_story
path, scheme, profile = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
if path.endswith(".duckdb"):
    from segmint import api
    tx = api.read_transactions(path)
    run = lambda: api.story(tx, scheme=scheme)
else:
    tx = connect().read_parquet(path)
    run = lambda: build_story(tx, scheme=scheme)
t1 = time.perf_counter()
profiler = cProfile.Profile() if profile else None
if profiler: profiler.enable()
result = run()
if profiler: profiler.disable()
t2 = time.perf_counter()
out = {"import_and_open": t1 - t0, "story": t2 - t1, "customers": len(result.story),
       "periods": len(result.periods)}
if profiler:
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("cumulative").print_stats(r"segmint", 25)
    out["profile"] = buffer.getvalue()
print(json.dumps(out))
"""


def run_once(path: Path, scheme: str, profile: bool) -> dict:
    """One fresh process: open the Parquet view, build the story, report seconds."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(path), scheme, "1" if profile else "0"],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="1e6", help="benchmark size, e.g. 1e6 (the data file's label)")
    parser.add_argument("--scheme", default="rfm,value", help="comma-separated story schemes")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="print the slowest segmint steps once")
    parser.add_argument("--workspace", type=Path, help="a workspace .duckdb to tell the story of instead")
    args = parser.parse_args(argv)
    if args.workspace is not None:
        path, label = args.workspace, "workspace"
    else:
        n_rows = parse_rows(args.rows)
        _, path = paths_for(n_rows, args.data)
        if not path.exists():
            write(n_rows, args.data)
        label = f"{rows_label(n_rows)} rows"
    print(f"data: {path} ({label}); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for scheme in args.scheme.split(","):
        runs = [run_once(path, scheme, False) for _ in range(args.repeat)]
        story = statistics.median(r["story"] for r in runs)
        each = ", ".join(f"{r['story']:.2f}" for r in runs)
        print(f"{scheme:>8}: story {story:6.2f} s (median of {args.repeat}: {each}), import+open "
              f"{statistics.median(r['import_and_open'] for r in runs):.2f} s, {runs[0]['customers']:,} "
              f"customers x {runs[0]['periods']} periods; load average now {os.getloadavg()[0]:.2f}")
        if args.profile:
            print(run_once(path, scheme, True)["profile"])
    print(f"finished {time.strftime('%Y-%m-%d %H:%M')}")


if __name__ == "__main__":
    main()
