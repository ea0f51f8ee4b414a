"""Time the dashboard as a user sees it: server start on a big workspace, then the first page load.

    python -m benchmarks.dashboard --rows 5e7 --data /tmp/benchdata [--repeat 3] [--pages /,/segments]

1. Data: ``transactions_<rows>.parquet`` (``benchmarks.generate``; 5e7 rows = about 1.22M customers)
   is appended once to a workspace ``workspace_<rows>.duckdb`` next to it (what ``segmint ingest``
   stores after cleaning), so the server reads canonical lines without cleaning them again.
2. Server start: ``segmint dashboard WORKSPACE --port P`` as a fresh process, timed from launch to
   the first HTTP answer (imports, opening the workspace and the first view's analysis, which
   ``create_app`` computes before serving). CPU seconds are the server process's user+sys.
3. First page load, per page and round: a new headless Chromium (Debian's ``/usr/bin/chromium``
   driven by Playwright, no cache), timed from ``page.goto`` to the page fully rendered: for ``/``
   the four KPI tiles, the five charts drawn and no Dash callback still loading; for ``/segments``
   the KPI grid's rows and the strategies. The server's CPU seconds during the load are listed too.

Prints one line per measurement and a Markdown table (``--markdown`` appends nothing: copy it into
RESULTS.md by hand with the load noted). Timings only; no assertions about speed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchmarks.generate import parse_rows, paths_for, rows_label, write

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
TICKS = os.sysconf("SC_CLK_TCK")

# What "rendered" means per page: selectors that must exist, then no Dash callback still loading.
READY = {
    "/": ["#kpi-customers", "#kpi-revenue", "#overview-share .main-svg .trace",
          "#overview-pie .main-svg .trace", "#overview-rf .main-svg .hm",
          "#overview-scores .main-svg .trace", "#overview-country .main-svg .trace"],
    "/segments": ["#segments-grid .ag-row", "#segments-strategies .list-group-item"],
}
IDLE = "!document.querySelector('[data-dash-is-loading=\"true\"]')"


def workspace_for(n_rows: int, data: Path) -> Path:
    """The workspace holding the canonical lines of ``n_rows`` (built once from the Parquet file)."""
    _, canonical = paths_for(n_rows, data)
    if not canonical.exists():
        write(n_rows, data)
    path = data / f"workspace_{rows_label(n_rows)}.duckdb"
    if not path.exists():
        from segmint.workspace import Workspace

        started = time.perf_counter()
        tmp = path.with_suffix(".building.duckdb")
        tmp.unlink(missing_ok=True)
        with Workspace(tmp) as ws:
            result = ws.append(ws.con.read_parquet(str(canonical)), source=canonical.name)
        tmp.rename(path)
        print(f"workspace {path}: {result.rows_added:,} lines in {time.perf_counter() - started:.0f} s")
    return path


def cpu_seconds(pid: int) -> float:
    """user + sys CPU seconds of a process and its reaped children (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICKS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workspace: Path, port: int, timeout: float = 1800) -> tuple[subprocess.Popen, float, float]:
    """(process, seconds to the first HTTP answer, its CPU seconds by then)."""
    segmint = Path(sys.executable).with_name("segmint")
    started = time.perf_counter()
    proc = subprocess.Popen([str(segmint), "dashboard", str(workspace), "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_dash-layout", timeout=5).read()
            return proc, time.perf_counter() - started, cpu_seconds(proc.pid)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise TimeoutError(f"server not up after {timeout} s")


def load_page(url: str, path: str, server_pid: int, shot: Path | None) -> dict[str, float]:
    """One first load of ``path`` in a fresh browser: seconds to rendered, server CPU seconds meanwhile.

    ``browser_cpu`` is the CPU of the Playwright driver and Chromium (reaped children), launch and
    screenshot included: an upper bound of what rendering the page cost the browser.
    """
    from playwright.sync_api import sync_playwright

    before = os.times()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        cpu0 = cpu_seconds(server_pid)
        started = time.perf_counter()
        page.goto(url + path, timeout=300_000)
        for selector in READY[path]:
            page.wait_for_selector(selector, timeout=300_000)
        page.wait_for_function(IDLE, timeout=300_000)
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(server_pid) - cpu0
        text = page.locator("#kpi-customers").inner_text() if path == "/" else ""
        if shot is not None:
            page.wait_for_timeout(500)
            page.screenshot(path=str(shot), full_page=True)
        browser.close()
    after = os.times()
    browser_cpu = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    return {"seconds": seconds, "server_cpu": cpu, "browser_cpu": browser_cpu, "customers": text}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default="5e7", help="benchmark size (5e7 = about 1.22M customers)")
    parser.add_argument("--data", type=Path, default=Path("/tmp/benchdata"))
    parser.add_argument("--repeat", type=int, default=3, help="page loads per page (fresh browser each)")
    parser.add_argument("--servers", type=int, default=1, help="server starts to time")
    parser.add_argument("--pages", default="/,/segments")
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot of each page here")
    parser.add_argument("--json", type=Path, default=None, help="write the raw runs here")
    args = parser.parse_args(argv)
    n_rows = parse_rows(args.rows)
    workspace = workspace_for(n_rows, args.data)
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    runs: list[dict] = []
    for server_round in range(args.servers):
        port = free_port()
        load = os.getloadavg()[0]
        proc, start_s, start_cpu = start_server(workspace, port)
        runs.append({"what": "server start", "seconds": start_s, "cpu": start_cpu, "load": load})
        print(f"server start {start_s:6.2f} s, CPU {start_cpu:6.2f} s (load {load:.1f})", flush=True)
        try:
            for round_ in range(args.repeat):
                for path in pages:
                    load = os.getloadavg()[0]
                    shot = None
                    if args.shots is not None and round_ == 0 and server_round == 0:
                        args.shots.mkdir(parents=True, exist_ok=True)
                        shot = args.shots / f"dashboard_{rows_label(n_rows)}{path.replace('/', '_') or '_'}.png"
                    out = load_page(f"http://127.0.0.1:{port}", path, proc.pid, shot)
                    runs.append({"what": f"first load {path}", "round": round_, "seconds": out["seconds"],
                                 "cpu": out["server_cpu"], "browser_cpu": out["browser_cpu"], "load": load,
                                 "customers": out["customers"]})
                    print(f"first load {path:10} {out['seconds']:6.2f} s, server CPU {out['server_cpu']:6.2f} s, "
                          f"browser CPU {out['browser_cpu']:6.2f} s (load {load:.1f}) {out['customers']}", flush=True)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"\n{rows_label(n_rows)} rows, workspace {workspace.name}, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print("| measurement | median s | min-max s | server CPU s (median) | browser CPU s (median) | load (1 min) | runs |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what in dict.fromkeys(r["what"] for r in runs):
        mine = [r for r in runs if r["what"] == what]
        secs = [r["seconds"] for r in mine]
        loads = [r["load"] for r in mine]
        print(f"| {what} | {statistics.median(secs):.2f} | {min(secs):.2f}-{max(secs):.2f} | "
              f"{statistics.median(r['cpu'] for r in mine):.2f} | "
              f"{statistics.median(r.get('browser_cpu', 0.0) for r in mine):.2f} | "
              f"{min(loads):.1f}-{max(loads):.1f} | {len(mine)} |")
    if args.json is not None:
        args.json.write_text(json.dumps(runs, indent=1))


if __name__ == "__main__":
    main()
