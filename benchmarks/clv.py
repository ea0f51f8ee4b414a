"""CLV fitting speed: segmint's maximum-likelihood fits vs lifetimes and pymc-marketing, same summaries.

    .venv/bin/python -m benchmarks.clv --customers 1e6 --repeat 3 --peer-python /path/to/peers/bin/python

Summaries (frequency, recency, T in weeks, mean repeat spend) are simulated from the published CDNOW
BG/NBD and Gamma-Gamma parameters (so every model has a true answer nearby) and written once to
``benchmarks/data/clv_summary_<n>.csv``. Each case is a fresh process that reads the file (not timed)
and times one fit; cases are interleaved per repeat so machine load hits all tools alike, and the
1-minute load average is recorded next to each run. lifetimes and pymc-marketing are *benchmark-only*
peers, installed in a separate environment (``--peer-python``), never segmint dependencies; a peer
that cannot be imported or fails is reported with its error. Results go to ``benchmarks/RESULTS_clv.json``
and the CLV section of ``benchmarks/RESULTS.md`` (between the clv markers).

This file is also the worker (``python benchmarks/clv.py worker ...``); its top level imports only
numpy and pandas so the peers' environment can run it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
TRUE_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
MARK_START, MARK_END = "<!-- clv-benchmark:start -->", "<!-- clv-benchmark:end -->"


def simulate(n: int, seed: int = 1) -> pd.DataFrame:
    """BG/NBD customers observed 1..78 weeks, and Gamma-Gamma mean repeat spends (vectorised)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    age = np.round(rng.uniform(1, 78, n) * 7) / 7  # whole days, as summaries from dates are
    t = np.zeros(n)
    x = np.zeros(n, dtype=np.int64)
    last = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        t[idx] += rng.exponential(1 / lam[idx])
        bought = t[idx] <= age[idx]
        hit = idx[bought]
        x[hit] += 1
        last[hit] = t[hit]
        alive[idx[~bought]] = False
        alive[hit[rng.random(hit.size) < p[hit]]] = False  # drop out after a purchase
    recency = np.floor(last * 7) / 7  # purchase days, in weeks
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["v"], n)
    spend = np.where(x > 0, rng.gamma(TRUE_GG["p"] * np.maximum(x, 1), 1 / (np.maximum(x, 1) * nu)), np.nan)
    return pd.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": recency, "T": age,
                         "monetary_value": spend})


# --- the worker: one fit in this process ------------------------------------------------------------
def fit_segmint(model: str, data: pd.DataFrame) -> dict:
    from segmint.btyd.analysis import make_model
    from segmint.btyd.gamma_gamma import GammaGamma

    start = time.perf_counter()
    if model == "gg":
        fitted = GammaGamma().fit(data.frequency, data.monetary_value)
    else:
        fitted = make_model(model).fit(data.frequency, data.recency, data["T"])
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "params": fitted.params_, "loglik": getattr(fitted, "loglik_", None)}


def score_segmint(data: pd.DataFrame) -> dict:
    """Vectorised scoring of every customer: P(alive), 12-month purchases and CLV (BG/NBD + GG)."""
    from segmint.btyd.analysis import score_customers
    from segmint.btyd.gamma_gamma import GammaGamma
    from segmint.btyd.models import BGNBD

    model = BGNBD().with_params(**TRUE_BG)
    spend = GammaGamma().with_params(**TRUE_GG)
    summary = data.assign(customer_id=data.customer_id.astype(str), first_purchase=None, last_purchase=None)
    start = time.perf_counter()
    table = score_customers(model, spend, summary, horizon=52.18, rate=0.1, period="year", time_unit="week")
    return {"seconds": time.perf_counter() - start, "rows": len(table)}


def fit_lifetimes(model: str, data: pd.DataFrame) -> dict:
    import lifetimes

    fitter = {"bgnbd": lifetimes.BetaGeoFitter, "pnbd": lifetimes.ParetoNBDFitter,
              "mbgnbd": lifetimes.ModifiedBetaGeoFitter, "gg": lifetimes.GammaGammaFitter}[model]()
    start = time.perf_counter()
    if model == "gg":
        repeat = data[data.frequency > 0]
        fitter.fit(repeat.frequency, repeat.monetary_value)
    else:
        fitter.fit(data.frequency, data.recency, data["T"])
    return {"seconds": time.perf_counter() - start, "params": {k: float(v) for k, v in fitter.params_.items()}}


def fit_pymc(model: str, data: pd.DataFrame) -> dict:
    from pymc_marketing import clv

    cls = {"bgnbd": clv.BetaGeoModel, "pnbd": clv.ParetoNBDModel, "mbgnbd": clv.ModifiedBetaGeoModel,
           "gg": clv.GammaGammaModel}[model]
    frame = data[data.frequency > 0] if model == "gg" else data
    frame = frame[["customer_id", "frequency", "recency", "T", "monetary_value"]]
    if model != "gg":
        frame = frame.drop(columns="monetary_value")
    fitter = cls(data=frame)
    start = time.perf_counter()
    fitted = fitter.fit(method="map")
    seconds = time.perf_counter() - start
    posterior = fitted.posterior if hasattr(fitted, "posterior") else fitter.idata.posterior
    params = {name: float(posterior[name].values.ravel()[0]) for name in posterior.data_vars
              if posterior[name].size == 1}
    return {"seconds": seconds, "params": params, "note": "MAP with the library's default priors"}


def worker(tool: str, model: str, path: str) -> None:
    data = pd.read_csv(path)
    try:
        if tool == "segmint":
            result = score_segmint(data) if model == "score" else fit_segmint(model, data)
        elif tool == "lifetimes":
            result = fit_lifetimes(model, data)
        else:
            result = fit_pymc(model, data)
    except Exception as exc:  # noqa: BLE001 - a peer failing is a result to report
        result = {"error": f"{type(exc).__name__}: {str(exc)[:300]}"}
    print("RESULT " + json.dumps(result, default=float))


# --- the driver ---------------------------------------------------------------------------------------
def run_case(python: str, tool: str, model: str, path: Path, timeout: float) -> dict:
    load = os.getloadavg()[0]
    command = [python, str(HERE / "clv.py"), "worker", tool, model, str(path)]
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "src")} if tool == "segmint" else dict(os.environ)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish in {timeout:.0f} s", "load": load}
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300], "load": load}
    return {**json.loads(lines[-1][7:]), "load": load}


def markdown(results: list[dict], customers: int) -> str:
    rows = ["| case | tool | model | median s | runs (s) | load (1-min) | parameters / error |",
            "|---|---|---|---:|---|---|---|"]
    for case in results:
        runs = [r for r in case["runs"] if "seconds" in r]
        errors = [r["error"] for r in case["runs"] if "error" in r]
        median = f"{np.median([r['seconds'] for r in runs]):.2f}" if runs else "-"
        times = ", ".join(f"{r['seconds']:.2f}" for r in runs) or "-"
        loads = ", ".join(f"{r['load']:.1f}" for r in case["runs"])
        detail = errors[0] if errors else ", ".join(f"{k}={v:.4g}" for k, v in (runs[-1].get("params") or {}).items()
                                                    if isinstance(v, (int, float)))
        rows.append(f"| {case['kind']} | {case['tool']} | {case['model']} | {median} | {times} | {loads} | {detail} |")
    return (f"## CLV model fitting ({customers:,} customers' summaries, `benchmarks/clv.py`)\n\n"
            f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `python -m benchmarks.clv --customers {customers:g}`. "
            "Library-step timings (the summary is already computed): one fresh process per run, the fit "
            "alone timed; the machine was shared, so the 1-minute load average is listed per run. "
            f"True values: BG/NBD {TRUE_BG}, Gamma-Gamma {TRUE_GG}.\n\n" + "\n".join(rows) + "\n")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(*sys.argv[2:5])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=float, default=1e6)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--models", default="bgnbd,mbgnbd,pnbd,gg")
    parser.add_argument("--tools", default="segmint,lifetimes,pymc")
    parser.add_argument("--peer-models", default="bgnbd,gg",
                        help="models lifetimes and pymc-marketing also fit (default bgnbd,gg)")
    parser.add_argument("--peer-python", default=None, help="python of an environment with lifetimes/pymc-marketing")
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()
    n = int(args.customers)
    path = HERE / "data" / f"clv_summary_{n}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        simulate(n).to_csv(path, index=False)
    peer_models = set(args.peer_models.split(","))
    cases = [("fit", tool, model) for model in args.models.split(",") for tool in args.tools.split(",")
             if tool == "segmint" or model in peer_models]
    cases.append(("score", "segmint", "score"))
    results = [{"kind": kind, "tool": tool, "model": model, "runs": []} for kind, tool, model in cases]
    for _ in range(args.repeat):
        for case in results:
            python = sys.executable if case["tool"] == "segmint" else args.peer_python
            if python is None:
                case["runs"].append({"error": "no --peer-python given", "load": os.getloadavg()[0]})
                continue
            case["runs"].append(run_case(python, case["tool"], case["model"], path, args.timeout))
            print(case["tool"], case["model"], case["runs"][-1], flush=True)
    (HERE / "RESULTS_clv.json").write_text(json.dumps(results, indent=1, default=float) + "\n")
    section = markdown(results, n)
    target = HERE / "RESULTS.md"
    text = target.read_text() if target.exists() else ""
    block = f"{MARK_START}\n{section}{MARK_END}"
    if MARK_START in text:
        text = text[: text.index(MARK_START)] + block + text[text.index(MARK_END) + len(MARK_END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    target.write_text(text)
    print(section)


if __name__ == "__main__":
    main()
