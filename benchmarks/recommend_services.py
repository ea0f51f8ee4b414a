"""Non-merchandise lines and the evaluation: service lines left out (the shipped rule) vs counted as products.

    python -m benchmarks.recommend_services [--splits 3] [--datasets retail,retail_services,retail_4300_services]

Before the rule, POSTAGE, Manual, CARRIAGE, ... were products: offered as "buy next", counted as held-out
purchases, and first in own most-bought for foreign customers who pay postage on every invoice. Each
dataset and rolling split (as in ``benchmarks.recommend quality``) runs ``segmint.recommend(...,
evaluate=True)`` twice: with the packaged rule, and with every item it finds named in
``treat_as_products`` (which gives exactly the purchase lines of the code before the rule). Writes
``benchmarks/RECOMMEND_SERVICES.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time

from benchmarks.recommend import ROOT, _units, retail_file

RAW = ROOT / "benchmarks" / "RECOMMEND_SERVICES.json"
DATASETS = {
    "retail": lambda: retail_file(),  # POSTAGE on foreign customers' orders only (the generator's default)
    "retail_services": lambda: retail_file(non_merchandise=True),  # + Manual, CARRIAGE, Discount, fees ...
    "retail_4300_services": lambda: retail_file(4300, 4000, non_merchandise=True),  # the UCI file's size
}
METHODS = ("segmint", "own_most_bought", "popular", "own_then_popular")


def run(tx, until: dt.date, end: dt.date, services: list[str], rule: bool) -> dict:  # noqa: ANN001
    """One evaluation; with ``rule`` False, the services are products (the code before the rule)."""
    import segmint

    start = time.process_time()
    config = {} if rule else {"treat_as_products": services}
    result = segmint.recommend(tx, until=until, end=end, evaluate=True, config=config)
    recs = result.recommendations
    offered = recs.filter(recs.product_id.isin(services))
    first = offered.filter(offered["rank"] == 1)
    evaluation = result.evaluation
    return {
        "precision@10": {m: evaluation["methods"][m]["precision@10"] for m in METHODS},
        "customers": evaluation["methods"]["segmint"]["customers"],
        "lift": evaluation["precision_lift"], "lift_95": evaluation.get("precision_lift_95", {}),
        "blend": result.blend.fit.get("chosen", result.blend.source),
        "customers_offered_a_service": int(offered.customer_id.nunique().execute()),
        "customers_with_a_service_first": int(first.customer_id.nunique().execute()),
        "customers_recommended": int(recs.customer_id.nunique().execute()),
        "non_merchandise_lines": result.counts["non_merchandise_lines"],
        "cpu_s": round(time.process_time() - start, 1),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    import segmint
    from segmint.merchandise import MerchandiseRules
    from segmint.recommendations.settings import Window

    record = json.loads(RAW.read_text()) if RAW.exists() else {}
    for name in args.datasets.split(","):
        tx = segmint.read_transactions(DATASETS[name](), options=_units())
        found = MerchandiseRules.default().find(tx.table)
        services = found.items["product_id"].tolist()
        runs = []
        end = tx.table.invoice_date.max().execute().date() + dt.timedelta(days=1)
        for _ in range(args.splits):
            as_of = Window.parse("2M").start(end)
            until, last = as_of - dt.timedelta(days=1), end - dt.timedelta(days=1)
            runs.append({"until": str(until), "end": str(last),
                         "after": run(tx, until, last, services, rule=True),
                         "before": run(tx, until, last, services, rule=False)})  # fmt: skip
            print(name, runs[-1], flush=True)
            end = Window.parse("1M").start(end)
        record[name] = {"items": found.items.to_dict("records"), "splits": runs,
                        "when": dt.datetime.now().strftime("%Y-%m-%d %H:%M")}  # fmt: skip
        RAW.write_text(json.dumps(record, indent=1, default=str))
    print(render(record))


def render(record: dict) -> str:
    """A markdown table: precision@10 before / after per dataset and split, and the lifts."""
    rows = ["| data | trained up to | customers | own most-bought | popularity | segmint | vs own (95% interval) | "
            "vs popularity | a service offered / first |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for name, entry in record.items():
        for split in entry["splits"]:
            for side in ("before", "after"):
                r = split[side]
                p = r["precision@10"]
                interval = r["lift_95"].get("vs_own_most_bought")
                rows.append(
                    f"| {name}, {side} | {split['until']} | {r['customers']:,} | {p['own_most_bought']:.4f} | "
                    f"{p['popular']:.4f} | {p['segmint']:.4f} | {r['lift']['vs_own_most_bought']:+.1%}"
                    + (f" ({interval[0] * 100:+.1f} to {interval[1] * 100:+.1f})" if interval else "")
                    + f" | {r['lift']['vs_popular']:+.0%} | {r['customers_offered_a_service']:,} / "
                    f"{r['customers_with_a_service_first']:,} of {r['customers_recommended']:,} |"
                )
    return "\n".join(rows)


if __name__ == "__main__":
    main()
