"""Library step only: time features + RFM against pandas and bare DuckDB; write benchmarks/LIBRARY_STEP.md.

Not the product's speed (imports, reading and cleaning excluded): see benchmarks.whole for that.

    python -m benchmarks.run --rows 1e6,1e7,5e7 [--engines segmint,pandas,duckdb_sql,spark] [--repeat 3]

Every run of every case is a fresh Python process (no warm caches in the interpreter, no memory
left over from another case); the table reports the median, min and max of the case's own time and
the largest peak RSS over its runs. Missing data files are generated first (benchmarks.generate).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from benchmarks import generate
from benchmarks.cases import CASES, RAW_INPUT, add_engine_options
from benchmarks.report import write_results

log = logging.getLogger("benchmarks.run")

DEFAULT_ENGINES = ("segmint", "pandas", "duckdb_sql", "spark")
SPARK_MAX_ROWS = 10_000_000  # Spark local[2] is timed up to 1e7 rows unless --spark-max-rows says more


@dataclass
class CaseResult:
    """All runs of one case at one size."""

    rows: int
    case: str
    runs: list[dict] = field(default_factory=list)
    error: str = ""
    lines: int = 0  # actual lines in the data file (the generator lands near the requested rows)

    @property
    def seconds(self) -> list[float]:
        return [run["seconds"] for run in self.runs]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak_rss(self) -> int:
        return max(run["peak_rss_bytes"] for run in self.runs)


def run_once(case: str, path: Path, engine_args: list[str], timeout: float) -> dict:
    """Run one case in a new process and return the JSON record it prints."""
    command = [sys.executable, "-m", "benchmarks.cases", case, str(path), *engine_args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        cwd=Path(__file__).resolve().parent.parent, start_new_session=True,
    )  # fmt: skip
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the case's own process group (Spark's JVM too)
        process.communicate()
        raise RuntimeError(f"timed out after {timeout:.0f} s") from None
    if process.returncode != 0:
        reason = "killed (out of memory?)" if process.returncode == -signal.SIGKILL else "failed"
        tail = "\n".join(stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{reason}, exit {process.returncode}: {tail}")
    return json.loads(stdout.strip().splitlines()[-1])


def data_files(rows: int, data_dir: Path) -> tuple[Path, Path]:
    """(raw export, canonical) Parquet files for ``rows``, generated when missing."""
    raw, canonical = generate.paths_for(rows, data_dir)
    if not (raw.exists() and canonical.exists()):
        log.info("generating %s and %s", raw, canonical)
        generate.write(rows, data_dir)
    return raw, canonical


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n")[0])
    parser.add_argument("--rows", default="1e6", help="comma list, e.g. 1e6,1e7,5e7")
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES), help=f"any of {', '.join(CASES)}")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (median reported; >= 3)")
    parser.add_argument("--data", type=Path, default=Path("benchmarks/data"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/LIBRARY_STEP.md"))
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per run before it is killed")
    parser.add_argument("--spark-max-rows", type=generate.parse_rows, default=SPARK_MAX_ROWS)
    parser.add_argument("--note", default="", help="a line added to RESULTS.md (e.g. machine was busy)")
    parser.add_argument(
        "--merge", action="store_true", help="keep earlier results in --out (same size+case are replaced)"
    )
    add_engine_options(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(CASES))
    if unknown:
        parser.error(f"--engines: unknown {unknown}; choose from {', '.join(CASES)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1 (3 or more for a meaningful median)")
    sizes = [generate.parse_rows(text) for text in args.rows.split(",") if text.strip()]
    engine_args = [
        "--memory-limit", args.memory_limit, "--spark-cores", str(args.spark_cores),
        "--spark-memory", args.spark_memory,
        *(["--temp-dir", args.temp_dir] if args.temp_dir else []),
        *(["--threads", str(args.threads)] if args.threads else []),
    ]  # fmt: skip
    results: list[CaseResult] = []
    for rows in sizes:
        raw, canonical = data_files(rows, args.data)
        for case in engines:
            path = raw if case in RAW_INPUT else canonical
            if case == "spark" and rows > args.spark_max_rows:
                log.info("skipping spark at %s rows (--spark-max-rows %s)", rows, args.spark_max_rows)
                continue
            result = CaseResult(rows, case, lines=pq.ParquetFile(path).metadata.num_rows)
            for attempt in range(args.repeat):
                try:
                    result.runs.append(run_once(case, path, engine_args, args.timeout))
                except RuntimeError as exc:
                    result.error = str(exc)
                    log.warning("%s at %s rows: %s", case, rows, exc)
                    break
                log.info("%s rows=%s run %d: %.2f s", case, rows, attempt + 1, result.runs[-1]["seconds"])
            results.append(result)
    write_results(results, args.out, argv=["benchmarks.run", *(sys.argv[1:] if argv is None else argv)],
                  settings=vars(args), note=args.note, merge=args.merge)  # fmt: skip
    print(args.out.read_text())


if __name__ == "__main__":
    main()
