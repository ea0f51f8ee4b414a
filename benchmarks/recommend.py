"""Recommendations: speed of the whole CLI job and quality on time splits; writes benchmarks/RECOMMEND.md.

    python -m benchmarks.recommend speed   [--customers 25000 --products 4000 --orders 13] [--repeat 3]
    python -m benchmarks.recommend quality [--datasets demo,affinity,retail,groceries] [--splits 3]

*speed* runs ``segmint recommend FILE --evaluate --out DIR`` in fresh processes (the path a user
runs: read, clean, segment, learn the blend, score, evaluate, write every table) on generated data
with segment affinities (``benchmarks.recommend_data``), and records wall/CPU seconds, peak RSS and
the machine's load (``uptime``) before each run: the machine is shared, so CPU seconds are the
steadier number.

*quality* runs ``segmint.recommend(..., evaluate=True)`` on a time split of each dataset with the
full blend and with signals left out (an ablation: which signals earn their place), next to the
baselines the evaluation reports; then the full blend again on ``--splits`` - 1 earlier splits (each a
month before the last, each scored on the 2 months after it only), so a lift can be told from noise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
OUT = ROOT / "benchmarks" / "RECOMMEND.md"
RAW = ROOT / "benchmarks" / "RECOMMEND.json"
GROCERIES = ROOT.parent / "shared" / "data" / "groceries" / "Groceries_dataset.csv"
VARIANTS = {
    "full blend": ("own", "copurchase", "segment", "popular"),
    "without co-purchase": ("own", "segment", "popular"),
    "without segment": ("own", "copurchase", "popular"),
    "own + popular": ("own", "popular"),
    "own only": ("own",),
}


def load() -> str:
    """The 1-minute load average (the machine is shared; it explains slow runs)."""
    return os.getloadavg().__repr__()


def affinity_file(customers: int, products: int, orders: float) -> Path:
    """Generated data with segment affinities (cached in benchmarks/data/)."""
    from benchmarks.recommend_data import make_affinity_sales

    path = DATA / f"affinity_{customers}c_{products}p_{orders:g}o.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make_affinity_sales(customers, products, orders_per_customer=orders).to_parquet(path, index=False)
    return path


def demo_file() -> Path:
    """The demo data of ``segmint demo`` (2,000 customers, 3 years, seed 7)."""
    from segmint.datasets import make_transactions

    path = DATA / "demo_2000c.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make_transactions(n_customers=2000, years=3, seed=7).to_csv(path, index=False)
    return path


def retail_file(customers: int = 1500, products: int = 1500, non_merchandise: bool = False) -> Path:
    """An Online-Retail-like invoice log (``benchmarks.retail_data``; cached in benchmarks/data/);
    ``non_merchandise`` adds the UCI file's service lines other than POSTAGE (Manual, CARRIAGE, ...)."""
    from benchmarks.retail_data import make_retail_log

    path = DATA / f"retail_{customers}c_{products}p{'_services' if non_merchandise else ''}.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make_retail_log(customers, products, non_merchandise=non_merchandise).to_parquet(path, index=False)
    return path


def run_cli(path: Path, extra: list[str]) -> dict:
    """One fresh ``segmint recommend`` process: wall and CPU seconds, peak RSS, load before."""
    before = os.getloadavg()
    with tempfile.TemporaryDirectory() as out:
        command = [str(ROOT / ".venv" / "bin" / "segmint"), "recommend", str(path), "--evaluate", "--out", out, *extra]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        stdout, stderr = process.stdout.read(), process.stderr.read()
        if status != 0:
            raise RuntimeError(f"{command} failed:\n{stdout}\n{stderr}")
        summary = json.loads((Path(out) / "evaluation.json").read_text())
    return {
        "wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024), "load_before": [round(x, 2) for x in before],
        "counts": summary["counts"], "evaluation": summary["evaluation"]["methods"],
    }  # fmt: skip


def speed(args: argparse.Namespace) -> dict:
    path = affinity_file(args.customers, args.products, args.orders)
    runs = [run_cli(path, []) for _ in range(args.repeat)]
    return {"file": path.name, "runs": runs, "uptime": subprocess.run(["uptime"], capture_output=True,
                                                                       text=True).stdout.strip()}  # fmt: skip


def quality(args: argparse.Namespace) -> dict:
    import segmint

    datasets = {
        "demo": (demo_file(), None),
        "affinity": (affinity_file(2000, 500, 10.0), None),
        "affinity_25k": (affinity_file(25_000, 4_000, 13.0), None),
        "retail": (retail_file(), None),
        "retail_4300": (retail_file(4300, 4000), None),  # the UCI file's size: 4,300 customers, ~548,000 lines
        "groceries": (GROCERIES, None),
    }
    results: dict[str, dict] = {}
    for name in args.datasets.split(","):
        path, until = datasets[name]
        if not path.exists():
            continue
        tx = segmint.read_transactions(path, options=_units())
        results[name] = {}
        for variant, signals in VARIANTS.items():
            start = time.perf_counter()
            result = segmint.recommend(tx, until=until, evaluate=True, config={"signals": signals})
            results[name][variant] = {"seconds": round(time.perf_counter() - start, 1),
                                      "blend": result.blend.to_dict(), "evaluation": result.evaluation}  # fmt: skip
        new = segmint.recommend(tx, until=until, evaluate=True, new_only=True)
        results[name]["full blend, new products only"] = {"blend": new.blend.to_dict(), "evaluation": new.evaluation}
        results[name]["splits"] = rolling(tx, args.splits)
    return results


def rolling(tx, splits: int) -> list[dict]:  # noqa: ANN001
    """The full blend on ``splits`` time splits: the last 2 months held out, then each a month earlier.

    Split k trains on lines before (the data's end - k months - 2 months) and is scored on the 2
    months after that only, so every split answers the same question on different months.
    """
    import segmint
    from segmint.recommendations.settings import Window

    end = (tx.table.invoice_date.max().execute()).date() + dt.timedelta(days=1)  # first day after the data
    runs = []
    for k in range(splits):
        as_of = Window.parse("2M").start(end)
        result = segmint.recommend(tx, until=as_of - dt.timedelta(days=1), end=end - dt.timedelta(days=1),
                                   evaluate=True)  # fmt: skip
        runs.append({"until": str(as_of - dt.timedelta(days=1)), "end": str(end - dt.timedelta(days=1)),
                     "blend": result.blend.to_dict(), "evaluation": result.evaluation})  # fmt: skip
        end = Window.parse("1M").start(end)
    return runs


def _units():  # noqa: ANN202
    from segmint.clean import CleanOptions

    return CleanOptions(unpriced="units")


def render(record: dict) -> str:
    """RECOMMEND.md from the saved record."""
    lines = ["# Recommendation benchmarks", "", f"Generated {record.get('when', '')} by `python -m benchmarks.recommend`.",
             "See benchmarks/RESULTS.md (section *Recommendations*) for what the numbers mean.", ""]  # fmt: skip
    if "speed" in record:
        s = record["speed"]
        lines += ["## Speed: `segmint recommend FILE --evaluate --out DIR`", "", f"Data: `{s['file']}`; {s['uptime']}", "",
                  "| run | lines | customers | products | wall s | CPU s | peak RSS MiB | load before (1/5/15 min) |",
                  "|---:|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
        for i, run in enumerate(s["runs"], 1):
            c = run["counts"]
            lines.append(f"| {i} | {c['lines']:,} | {c['customers']:,} | {c['products']:,} | {run['wall_s']} | "
                         f"{run['cpu_s']} | {run['peak_rss_mib']:,} | {run['load_before']} |")  # fmt: skip
        lines.append("")
    for name, variants in record.get("quality", {}).items():
        lines += [f"## Quality: {name}", "", "| method | precision@10 | recall@10 | hit rate | customers |",
                  "|---|---:|---:|---:|---:|"]  # fmt: skip
        full = variants["full blend"]["evaluation"]
        for method, scores in full["methods"].items():
            if method != "segmint":
                lines.append(_row(f"baseline: {scores['label']}", scores))
        for variant, entry in variants.items():
            if variant == "splits":
                continue
            lines.append(_row(f"segmint, {variant}", entry["evaluation"]["methods"]["segmint"]))
        lines += ["", f"Split: {full['protocol']}; test period {full['test_period']['first']} to "
                      f"{full['test_period']['last']}. Blend: {variants['full blend']['blend']['source']}.", ""]  # fmt: skip
        lines += _rolling_table(variants.get("splits") or [])
    return "\n".join(lines)


def _rolling_table(splits: list[dict]) -> list[str]:
    """Precision@10 of the full blend and the baselines on each rolling split, with the lifts."""
    if not splits:
        return []
    rows = ["Rolling splits (the full blend chosen on each split's own inner split; 2 months scored):", "",
            "| trained up to | scored to | customers | popularity | own most-bought | segmint | vs own (95% interval) | vs popularity | blend chosen |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|"]  # fmt: skip
    lifts = []
    for run in splits:
        m = run["evaluation"]["methods"]
        ours, own, pop = (m[k]["precision@10"] for k in ("segmint", "own_most_bought", "popular"))
        lift = run["evaluation"]["precision_lift"]
        lifts.append(lift["vs_own_most_bought"])
        rows.append(f"| {run['until']} | {run['end']} | {m['segmint']['customers']:,} | {pop:.4f} | {own:.4f} | "
                    f"{ours:.4f} | {_lift(run['evaluation'], 'own_most_bought')} | {_lift(run['evaluation'], 'popular')} | "
                    f"{run['blend'].get('chosen', run['blend']['source'][:24])} |")  # fmt: skip
    if len(lifts) > 1:
        rows += ["", f"Lift over own most-bought: mean {sum(lifts) / len(lifts):+.1%}, from {min(lifts):+.1%} "
                     f"to {max(lifts):+.1%} over {len(lifts)} splits."]  # fmt: skip
    return [*rows, ""]


def _lift(evaluation: dict, baseline: str) -> str:
    """'+10.6% (+7.9 to +13.3)': the lift over a baseline with its approximate 95% interval."""
    lift = evaluation["precision_lift"][f"vs_{baseline}"]
    interval = evaluation.get("precision_lift_95", {}).get(f"vs_{baseline}")
    if lift is None:
        return "n/a"
    return f"{lift:+.1%}" + (f" ({interval[0] * 100:+.1f} to {interval[1] * 100:+.1f})" if interval else "")


def _row(label: str, scores: dict) -> str:
    return (f"| {label} | {scores['precision@10']:.4f} | {scores['recall@10']:.4f} | {scores['hit_rate']:.1%} | "
            f"{scores['customers']:,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["speed", "quality", "render"])
    parser.add_argument("--customers", type=int, default=25_000)
    parser.add_argument("--products", type=int, default=4_000)
    parser.add_argument("--orders", type=float, default=13.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--datasets", default="demo,affinity,retail,retail_4300,affinity_25k,groceries")
    parser.add_argument("--splits", type=int, default=3, help="rolling time splits of the full blend (quality)")
    args = parser.parse_args()
    record = json.loads(RAW.read_text()) if RAW.exists() else {}
    if args.what == "speed":
        record["speed"] = speed(args)
    elif args.what == "quality":
        record.setdefault("quality", {}).update(quality(args))
    record["when"] = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    RAW.write_text(json.dumps(record, indent=1, default=str))
    OUT.write_text(render(record) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    sys.exit(main())
