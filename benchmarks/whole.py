"""Whole-process benchmark: ``segmint analyze RAW_FILE`` next to the tools users would run instead.

    python -m benchmarks.whole [--inputs cdnow,retail,csv:1e5,parquet:1e6,...] [--repeat 5]

Every case is one fresh process started from the raw file and ended with its results written to disk
(interpreter start, imports, reading, cleaning, computing and writing all count), timed from spawn to
exit. Cases run interleaved (round 1: every case once, round 2: every case once, ...), so a change in
machine load hits all of them alike; each round gives each peer's time divided by segmint's in the same
round, and the tables report the median of those ratios. ``/proc/loadavg`` is recorded before every run.
Peak RSS is the process's maximum resident set (``wait4``'s ``ru_maxrss``; the runner imports nothing
heavy, so what it carries into the child through ``fork`` is about 20 MB).

Inputs: ``cdnow`` (../shared/data/cdnow/CDNOW_master.txt, CSV), ``retail`` (an Online-Retail-like Parquet
export of 541,909 lines, generated: the real file is not in this repository), ``xlsx`` (the same lines as
one .xlsx sheet typed like the UCI workbook, see ``generate.write_retail_xlsx``; peers: pandas with
openpyxl and with ``engine="calamine"``, polars), ``csv:N`` / ``parquet:N``
(generated raw exports of about N lines, see benchmarks/generate.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDNOW = ROOT.parent / "shared" / "data" / "cdnow" / "CDNOW_master.txt"
PEERS = ("duckdb_sql", "polars", "pandas", "lifetimes")
XLSX_PEERS = ("pandas_calamine",)  # --cases ...,pandas_calamine with --inputs xlsx (needs python-calamine)
SEGMINT_CASES = ("segmint", "segmint_all")  # --scheme rfm (compared with the peers); the default command
DEFAULT_INPUTS = "cdnow,retail,csv:1e5,parquet:1e5,csv:1e6,parquet:1e6,csv:1e7,parquet:1e7"


@dataclass
class Run:
    case: str
    seconds: float
    peak_rss_bytes: int
    load: str  # /proc/loadavg's three figures before the run
    round: int
    error: str = ""
    cpu_seconds: float = 0.0  # user + system CPU of the process and its threads (steadier than wall under load)


@dataclass
class InputResult:
    name: str  # cdnow, retail, csv:1e6 ...
    path: str
    lines: int
    runs: list[Run] = field(default_factory=list)

    def times(self, case: str) -> list[float]:
        return [r.seconds for r in self.runs if r.case == case and not r.error]

    def ratios(self, case: str) -> list[float]:
        """segmint's time / ``case``'s time, round by round (only rounds where both ran)."""
        by_round: dict[int, dict[str, float]] = {}
        for run in self.runs:
            if not run.error:
                by_round.setdefault(run.round, {})[run.case] = run.seconds
        return [r["segmint"] / r[case] for r in by_round.values() if "segmint" in r and case in r]


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def command(case: str, path: Path, out: Path) -> list[str]:
    """The command line of one case (segmint's own CLI, or a peer recipe)."""
    if case in SEGMINT_CASES:
        segmint = Path(sys.executable).with_name("segmint")
        scheme = ["--scheme", "rfm"] if case == "segmint" else []  # segmint_all: what a user runs first
        return [str(segmint), "analyze", str(path), *scheme, "--out", str(out)]
    return [sys.executable, "-m", "benchmarks.peers", case, str(path), str(out)]


def run_case(
    case: str, path: Path, timeout: float, sql_cache: Path | None = None
) -> tuple[float, int, str, float]:
    """(wall seconds, peak RSS bytes, error text, CPU seconds) of one fresh process of ``case``.

    ``sql_cache``: segmint's cache of compiled SQL for this run (``$SEGMINT_CACHE_DIR``); None: an
    empty one, removed after the run (a cold run, as on data never analysed before).
    """
    out = Path(tempfile.mkdtemp(prefix=f"segmint-bench-{case}-"))
    log = out.with_suffix(".log")
    cache = sql_cache or out.with_suffix(".cache")
    try:
        with log.open("w") as sink:
            started = time.perf_counter()
            process = subprocess.Popen(
                command(case, path, out), stdout=subprocess.DEVNULL, stderr=sink, cwd=ROOT,
                start_new_session=True, env={**os.environ, "SEGMINT_CACHE_DIR": str(cache)},
            )  # fmt: skip
            deadline = started + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    os.killpg(process.pid, signal.SIGKILL)
                    os.wait4(process.pid, 0)
                    return timeout, 0, f"timed out after {timeout:.0f} s", 0.0
                time.sleep(0.002)
            seconds = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        error = "" if code == 0 else f"exit {code}: " + " | ".join(log.read_text().strip().splitlines()[-3:])
        return seconds, usage.ru_maxrss * 1024, error, usage.ru_utime + usage.ru_stime
    finally:
        shutil.rmtree(out, ignore_errors=True)
        log.unlink(missing_ok=True)
        if sql_cache is None:
            shutil.rmtree(cache, ignore_errors=True)


def resolve_input(name: str, data_dir: Path) -> Path:
    """The file behind an input name, generated when missing."""
    from benchmarks import generate

    if name == "cdnow":
        if not CDNOW.exists():
            raise SystemExit(f"{CDNOW} not found (the shared data folder sits beside the repository)")
        return CDNOW
    if name == "retail":
        path = data_dir / "online_retail_like.parquet"
        return path if path.exists() else generate.write_retail(data_dir)
    if name == "xlsx":
        path = data_dir / "online_retail_like.xlsx"
        return path if path.exists() else generate.write_retail_xlsx(data_dir)
    fmt, _, rows = name.partition(":")
    n_rows = generate.parse_rows(rows)
    raw, _ = generate.paths_for(n_rows, data_dir, fmt)
    if not raw.exists():
        generate.write(n_rows, data_dir, formats=(fmt,))
    return raw


def count_lines(path: Path) -> int:
    if path.suffix == ".xlsx":
        import fastexcel  # only in the runner's parent phase, before any timed run

        return fastexcel.read_excel(str(path)).load_sheet(0).height
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq  # only in the runner's parent phase, before any timed run

        return pq.ParquetFile(path).metadata.num_rows
    with path.open("rb") as handle:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1


def machine() -> dict[str, str]:
    info = {"python": platform.python_version(), "cores": str(os.cpu_count()), "os": platform.platform()}
    meminfo = Path("/proc/meminfo").read_text().splitlines()[0].split()
    info["ram_gib"] = f"{int(meminfo[1]) / 2**20:.1f}"
    return info


def compile_segmint() -> None:
    """Write the bytecode of the segmint package the ``segmint`` case imports, before any timed run.

    A user's install has it (pip compiles on install; Python caches it on first import), but an
    editable install run with ``PYTHONDONTWRITEBYTECODE`` recompiles every changed module in every
    run: about 0.07 CPU s of a small ``analyze`` that no user pays.
    """
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("segmint")  # finds the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec else []:
        compileall.compile_dir(folder, quiet=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.whole", description=__doc__.split("\n")[0])
    parser.add_argument("--inputs", default=DEFAULT_INPUTS, help=f"comma list (default {DEFAULT_INPUTS})")
    parser.add_argument("--cases", default="segmint," + ",".join(PEERS))
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds (median reported)")
    parser.add_argument("--data", type=Path, default=ROOT / "benchmarks" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--note", default="", help="a line for RESULTS.md (e.g. 'taken under load 8-16')")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--skip", default="lifetimes:csv:1e7,lifetimes:parquet:1e7,pandas:parquet:1e8,"
                        "pandas:csv:1e8,lifetimes:parquet:1e8,lifetimes:csv:1e8,polars:csv:1e8",
                        help="case:input pairs not run (too slow or too big for this machine)")
    parser.add_argument("--merge", action="store_true", help="keep other inputs' results already in --out")
    parser.add_argument("--sql-cache", choices=("warm", "cold"), default="warm",
                        help="warm: segmint's compiled-SQL cache kept between rounds (a private folder; the first "
                        "round fills it, as a user's first run does); cold: an empty cache at every run")
    args = parser.parse_args(argv)
    private_cache = Path(tempfile.mkdtemp(prefix="segmint-bench-sql-")) if args.sql_cache == "warm" else None
    note = " ".join(filter(None, [args.note, f"segmint's SQL cache: {args.sql_cache}"
                                   + (" (first round cold)" if args.sql_cache == "warm" else " (every run)")]))
    compile_segmint()
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    previous = {}
    if args.merge and args.out.exists():
        previous = {r["name"]: r for r in json.loads(args.out.read_text())["inputs"]}
    results: list[InputResult] = []
    for name in [n.strip() for n in args.inputs.split(",") if n.strip()]:
        path = resolve_input(name, args.data)
        result = InputResult(name, str(path), count_lines(path))
        todo = [c for c in cases if f"{c}:{name}" not in skip]
        for round_ in range(args.repeat):
            for case in todo:
                load = load_average()
                seconds, rss, error, cpu = run_case(case, path, args.timeout, private_cache)
                result.runs.append(Run(case, seconds, rss, load, round_, error, cpu))
                print(f"{name} {case} round {round_ + 1}: {seconds:.2f} s, {cpu:.2f} CPU s, {rss / 2**20:.0f} MiB, load {load}"
                      + (f"  ERROR {error}" if error else ""), flush=True)
            todo = [c for c in todo if not any(r.case == c and r.error for r in result.runs)]
        results.append(result)
        previous.pop(name, None)
    record = {
        "generated": time.strftime("%Y-%m-%d %H:%M"),
        "argv": ["benchmarks.whole", *(sys.argv[1:] if argv is None else argv)],
        "note": note,
        "machine": machine(),
        "inputs": list(previous.values()) + [asdict(r) for r in results],
    }
    if private_cache is not None:
        shutil.rmtree(private_cache, ignore_errors=True)
    args.out.write_text(json.dumps(record, indent=1))
    args.markdown.write_text(render(record) + hand_written(args.markdown))
    print(f"wrote {args.out} and {args.markdown}")


# --- RESULTS.md ------------------------------------------------------------------------------------
def hand_written(markdown: Path) -> str:
    """The sections of an existing RESULTS.md written by hand (from the first heading that says so, or
    the first marked block): a re-run replaces the generated tables above them and keeps them."""
    if not markdown.exists():
        return ""
    lines = markdown.read_text().splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines)
                  if (line.startswith("## ") and "written by hand" in line) or line.startswith("<!-- ")), None)
    return "" if start is None else "\n" + "".join(lines[start:])


def _loaded(data: dict) -> InputResult:
    result = InputResult(data["name"], data["path"], data["lines"])
    result.runs = [Run(**run) for run in data["runs"]]
    return result


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def render(record: dict) -> str:
    """RESULTS.md: one table of whole-process timings per input, then the issue's targets checked."""
    inputs = [_loaded(d) for d in record["inputs"]]
    order = [*SEGMINT_CASES, *PEERS, *XLSX_PEERS]
    lines = [
        "# segmint benchmarks: the whole process, next to the tools users would run instead",
        "",
        f"Generated {record['generated']} by `python -m {' '.join(record['argv'])}` "
        "(`make bench` reproduces every table).",
        "",
        "Every run is one fresh process from the raw file to its results written to disk: interpreter",
        "start, imports, reading, cleaning, computing and writing all count. `segmint` is",
        "`segmint analyze FILE --scheme rfm --out DIR` (column detection, cleaning with the full quality",
        "report, features, RFM, every table written); `segmint_all` (when run: `--cases segmint_all,...`) is",
        "the default `segmint analyze FILE --out DIR`, every scheme; the peers are hand-written recipes for a file whose",
        "layout they already know (`benchmarks/peers.py`). Cases run interleaved, round by round;",
        "*segmint ÷ case* is the median over rounds of segmint's time divided by that case's time in the",
        "same round (above 1: segmint is slower). *Peak RSS* is the largest over the rounds. *Load* is",
        "`/proc/loadavg` (1 minute) before the runs, lowest-highest, on a machine with "
        f"{record['machine']['cores']} cores.",
        *([f"", f"**Note:** {record['note']}"] if record.get("note") else []),
        "",
        "| input | lines | case | median s | min-max s | median CPU s | segmint ÷ case | peak RSS | load | rounds |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in inputs:
        for case in [c for c in order if any(r.case == c for r in result.runs)]:
            runs = [r for r in result.runs if r.case == case]
            good = [r for r in runs if not r.error]
            loads = [float(r.load.split()[0]) for r in runs]
            load = f"{min(loads):.1f}-{max(loads):.1f}"
            if not good:
                lines.append(f"| {result.name} | {result.lines:,} | {case} | failed: {runs[0].error[:80]} | | | | | {load} | 0 |")
                continue
            times = [r.seconds for r in good]
            cpu = statistics.median(r.cpu_seconds for r in good)
            cpu_text = f"{cpu:.2f}" if cpu else "-"  # runs recorded before CPU was measured
            ratio = "" if case in SEGMINT_CASES else f"{_median(result.ratios(case)):.2f}" if result.ratios(case) else "-"
            lines.append(
                f"| {result.name} | {result.lines:,} | {case} | {statistics.median(times):.2f} | "
                f"{min(times):.2f}-{max(times):.2f} | {cpu_text} | {ratio} | {_gib(max(r.peak_rss_bytes for r in good))} | "
                f"{load} | {len(good)} |"
            )
    lines += ["", *targets(inputs), "", "## Machine", ""]
    lines += [f"- {key}: {value}" for key, value in record["machine"].items()]
    lines += ["", "Library-step timings (features + RFM on clean canonical Parquet, imports excluded) are in",
              "[LIBRARY_STEP.md](LIBRARY_STEP.md): they are not the product's speed.", ""]
    return "\n".join(lines)


def targets(inputs: list[InputResult]) -> list[str]:
    """The issue's targets, each checked against the table (written from the numbers, not by hand)."""
    by_name = {r.name: r for r in inputs}
    rows = ["## Against the targets (issue 14)", "", "| target | measured | verdict |", "|---|---|---|"]

    def ratio(name: str, case: str) -> float | None:
        result = by_name.get(name)
        return _median(result.ratios(case)) if result else None

    def seconds(name: str, case: str = "segmint") -> float | None:
        result = by_name.get(name)
        return _median(result.times(case)) if result else None

    def rss(name: str) -> float | None:
        result = by_name.get(name)
        peaks = [r.peak_rss_bytes for r in result.runs if r.case == "segmint" and not r.error] if result else []
        return max(peaks) if peaks else None

    def check(label: str, measured: str, ok: bool | None) -> None:
        verdict = "not measured" if ok is None else "met" if ok else "**not met**"
        rows.append(f"| {label} | {measured} | {verdict} |")

    for case, limit in (("pandas", 1.0), ("duckdb_sql", 5.0)):
        value = ratio("retail", case)
        check(f"retail log: segmint <= {limit:g}x {case}", "-" if value is None else f"{value:.2f}x",
              None if value is None else value <= limit)
    for name, limit in (("parquet:1e7", 3.0), ("csv:1e7", 4.0)):
        value, peak = ratio(name, "duckdb_sql"), rss(name)
        check(f"{name}: within {limit:g}x bare DuckDB SQL", "-" if value is None else f"{value:.2f}x",
              None if value is None else value <= limit)
        check(f"{name}: peak RSS < 2 GiB", "-" if peak is None else _gib(peak), None if peak is None else peak < 2**30 * 2)
    cdnow, lifetimes = seconds("cdnow"), ratio("cdnow", "lifetimes")
    check("CDNOW: under 1 s", "-" if cdnow is None else f"{cdnow:.2f} s", None if cdnow is None else cdnow < 1.0)
    check("CDNOW: faster than lifetimes' summary", "-" if lifetimes is None else f"{lifetimes:.2f}x",
          None if lifetimes is None else lifetimes < 1.0)
    every = seconds("cdnow", "segmint_all")
    check("CDNOW, the default command (every scheme): under 2.5 s", "-" if every is None else f"{every:.2f} s",
          None if every is None else every < 2.5)
    peak = rss("parquet:1e8")
    check("1e8 Parquet completes, peak RSS < 4 GiB", "-" if peak is None else _gib(peak),
          None if peak is None else peak < 4 * 2**30)
    return rows


if __name__ == "__main__":
    main()
