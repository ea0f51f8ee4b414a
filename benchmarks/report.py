"""Render benchmark results as Markdown (RESULTS.md) plus the raw runs as JSON beside it."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from segmint.util import write_text_atomic

if TYPE_CHECKING:
    from benchmarks.run import CaseResult

FLOOR_CASE = "duckdb_sql"
# cases that compute the same numbers and must agree (segmint's definitions vs the tutorial's)
SAME_ANSWER = (("segmint", "spark"), ("segmint", "segmint_full"), ("pandas", "duckdb_sql"))
DESCRIPTIONS = {
    "segmint": "segmint `customer_features` + `rfm.assign` on DuckDB, scanning the Parquet file",
    "segmint_full": "segmint `analyze` on the raw export (detect columns, clean, features, all schemes)",
    "pandas": "pandas tutorial on the raw export: `read_parquet`, `groupby().agg` with a recency lambda, "
    "`qcut` scores",
    "duckdb_sql": "bare DuckDB SQL: one scan + `GROUP BY customer_id` (max date, distinct invoices, sum)",
    "spark": "segmint `customer_features` + `rfm.assign` on Spark `local[N]`, reading the Parquet file",
}


def machine_info() -> dict[str, str]:
    """CPU model, cores, RAM, OS and library versions of this machine."""
    cpu = platform.processor() or "unknown"
    meminfo = {}
    for path, store in (("/proc/cpuinfo", "cpu"), ("/proc/meminfo", "mem")):
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        if store == "cpu":
            cpu = next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith("model name")), cpu)
        else:
            meminfo = {ln.split(":")[0]: ln.split(":")[1].strip() for ln in text.splitlines() if ":" in ln}
    ram_kib = int(meminfo.get("MemTotal", "0 kB").split()[0])
    info = {
        "CPU": cpu,
        "cores (logical)": str(os.cpu_count()),
        "RAM": f"{ram_kib / 2**20:.1f} GiB",
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
    }
    for package in ("segmint", "ibis-framework", "duckdb", "pandas", "pyarrow", "numpy", "pyspark"):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    info["Java"] = _java_version()
    return info


def _java_version() -> str:
    try:
        done = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "not found"
    return (done.stderr or done.stdout).splitlines()[0] if (done.stderr or done.stdout) else "unknown"


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.2f} GiB"


def _label(rows: int) -> str:
    from benchmarks.generate import rows_label

    return rows_label(rows)


def results_table(results: list[CaseResult]) -> list[str]:
    """Markdown rows: rows, case, median/min/max seconds, peak RSS, ratio to the DuckDB SQL floor."""
    floors = {r.rows: r.median for r in results if r.case == FLOOR_CASE and r.runs and not r.error}
    lines = [
        f"| rows | case | median s | min s | max s | peak RSS | × {FLOOR_CASE} | start-up s | runs |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.error or not r.runs:
            lines.append(f"| {_label(r.rows)} | {r.case} | failed: {r.error.splitlines()[0] if r.error else 'no runs'} "
                         "| | | | | | |")  # fmt: skip
            continue
        floor = floors.get(r.rows)
        ratio = f"{r.median / floor:.2f}" if floor else "–"
        startup = sorted(run["startup_s"] for run in r.runs)[len(r.runs) // 2]
        lines.append(
            f"| {_label(r.rows)} | {r.case} | {r.median:.2f} | {min(r.seconds):.2f} | {max(r.seconds):.2f} "
            f"| {_gib(r.peak_rss)} | {ratio} | {startup:.1f} | {len(r.runs)} |"
        )
    return lines


def consistency(results: list[CaseResult]) -> list[str]:
    """Check that cases computing the same definitions returned the same per-customer totals."""
    by_key = {(r.rows, r.case): r.runs[0] for r in results if r.runs and not r.error}
    notes = []
    for rows in sorted({r.rows for r in results}):
        for left, right in SAME_ANSWER:
            a, b = by_key.get((rows, left)), by_key.get((rows, right))
            if not a or not b:
                continue
            same = (
                a["customers"] == b["customers"]
                and a["sum_frequency"] == b["sum_frequency"]
                and math.isclose(a["sum_monetary"], b["sum_monetary"], rel_tol=1e-9)
            )
            verdict = "agree" if same else "**DISAGREE**"
            notes.append(
                f"- {_label(rows)} rows: {left} vs {right} {verdict} — customers {a['customers']:,} / "
                f"{b['customers']:,}, Σfrequency {a['sum_frequency']:,} / {b['sum_frequency']:,}, "
                f"Σmonetary {a['sum_monetary']:,.2f} / {b['sum_monetary']:,.2f}"
            )
    return notes


def load_results(out: Path) -> tuple[list[CaseResult], list[str], list[str]]:
    """Earlier results saved beside ``out`` (``.json``): case results, the commands and notes."""
    from benchmarks.run import CaseResult

    saved = out.with_suffix(".json")
    if not saved.exists():
        return [], [], []
    data = json.loads(saved.read_text())
    results = [
        CaseResult(r["rows"], r["case"], runs=r["runs"], error=r["error"], lines=r.get("lines", 0))
        for r in data["results"]
    ]
    return results, data.get("commands", []), data.get("notes", [])


def write_results(
    results: list[CaseResult], out: Path, *, argv: list[str], settings: dict[str, Any], note: str = "",
    merge: bool = False,
) -> None:
    """Write ``out`` (Markdown) and ``out`` with a .json suffix (every run's record).

    With ``merge``, results already saved beside ``out`` are kept unless this run measured the same
    case at the same size, so separate runs (small sizes, 5e7, 1e8) build one table.
    """
    info = machine_info()
    command = f"python -m {' '.join(argv)}"
    commands, notes = [command], [note] if note else []
    if merge:
        earlier, earlier_commands, earlier_notes = load_results(out)
        fresh = {(r.rows, r.case) for r in results}
        results = [r for r in earlier if (r.rows, r.case) not in fresh] + results
        results.sort(key=lambda r: (r.rows, list(DESCRIPTIONS).index(r.case)))
        commands, notes = earlier_commands + commands, earlier_notes + notes
    used = sorted({r.case for r in results})
    text = [
        "# segmint benchmarks: the library step only (not the product's speed)",
        "",
        "These rows time `customer_features` + `rfm.assign` on clean canonical Parquet with imports and",
        "start-up excluded. What a user runs, `segmint analyze RAW_FILE` as a whole process next to the",
        "tools people use instead, is in [RESULTS.md](RESULTS.md).",
        "",
        f"Generated {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by:",
        "",
        *[f"- `{c}`" for c in commands],
        "",
        "Each run is a fresh process; *median/min/max s* time the work from reading the file to the",
        "per-customer result in memory (imports and engine start-up excluded, shown as *start-up s*).",
        "*Peak RSS* is the largest over the runs (Spark: Python driver + JVM).",
        *(["", *[f"**Note:** {n}" for n in notes]] if notes else []),
        "",
        *results_table(results),
        "",
        "## Data",
        "",
        *sorted({f"- {_label(r.rows)}: {r.lines:,} invoice lines" for r in results}),
        "",
        "## Cases",
        "",
        *[f"- **{case}**: {DESCRIPTIONS[case]}" for case in used],
        "",
        "segmint and the tutorial define frequency differently (segmint counts invoices with positive net",
        "value and drops customers whose net value is <= 0); pairs with the same definitions must agree:",
        "",
        *(consistency(results) or ["- (no comparable pairs in this run)"]),
        "",
        "## Machine",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- DuckDB memory_limit: {settings.get('memory_limit')}, threads: {settings.get('threads') or 'all'}, "
        f"Spark: local[{settings.get('spark_cores')}] with {settings.get('spark_memory')} driver memory",
        "",
    ]
    write_text_atomic(out, "\n".join(text))
    raw = [
        {"rows": r.rows, "case": r.case, "lines": r.lines, "error": r.error, "runs": r.runs} for r in results
    ]
    record = {"machine": info, "commands": commands, "notes": notes, "results": raw}
    write_text_atomic(out.with_suffix(".json"), json.dumps(record, indent=1))
