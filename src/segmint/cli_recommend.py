"""`segmint recommend`: product recommendations per customer and segment, and their evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from segmint.cli_options import (
    SCHEMES,
    AsProductOption,
    AsServiceOption,
    EngineOption,
    FormatOption,
    FromOption,
    InputsArgument,
    MapOption,
    MappingFileOption,
    MasterOption,
    OrgOption,
    SourceOption,
    ToOption,
    UnpricedOption,
    check_date,
    clean_options,
    check_story_scheme,
    read_sales,
)
from segmint.cli_output import console, print_read, print_written, steps
from segmint.util import counted


def recommend(
    inputs: list[str] | None = InputsArgument,
    until: str | None = typer.Option(
        None, "--until", callback=check_date, help="Train on lines up to this date (YYYY-MM-DD); default all."
    ),
    top: int = typer.Option(10, "--top", min=1, help="Products to recommend per customer."),
    window: str = typer.Option("2M", "--window", help="Recent window of favourites: 60D, 8W, 2M, 1Y."),
    scheme: str = typer.Option(
        "rfm", "--scheme", "-s", callback=check_story_scheme, help=f"Segments: {SCHEMES}."
    ),
    new_only: bool = typer.Option(False, "--new-only", help="Only products the customer has not bought."),
    evaluate: bool = typer.Option(
        False, "--evaluate", help="Score on purchases after --until (default: the last window) next to baselines."
    ),
    date_from: str | None = FromOption,
    date_to: str | None = ToOption,
    org: str | None = OrgOption,
    customer: str | None = typer.Option(None, "--customer", "-c", help="Print this customer's recommendations."),
    as_product: list[str] | None = AsProductOption,
    as_service: list[str] | None = AsServiceOption,
    out: Path | None = typer.Option(None, "--out", "-o", help="Directory for recommendations.csv and the other tables."),
    fmt: str = FormatOption,
    map_: list[str] | None = MapOption,
    mapping_file: Path | None = MappingFileOption,
    source: str | None = SourceOption,
    engine: str = EngineOption,
    master: str | None = MasterOption,
    unpriced: str = UnpricedOption,
) -> None:
    """Recommend products per customer and per segment; with --evaluate, measure them on later purchases."""
    from segmint.api import recommend as run_recommend
    with steps("reading transactions") as step:
        tx = read_sales(inputs, map_, mapping_file, source=source, engine=engine, master=master,
                        options=clean_options(unpriced=unpriced))  # fmt: skip
        result = run_recommend(
            tx, until=until, top=top, window=window, scheme=scheme, new_only=new_only, evaluate=evaluate,
            start=date_from, end=date_to, org=org, progress=step,
            config={"treat_as_products": as_product or (), "treat_as_services": as_service or ()},
        )  # fmt: skip
        written = {}
        if out is not None:
            from segmint.exports import export_tables

            step("writing results")
            written = export_tables(result.tables(), out, fmt)
            written["evaluation"] = result.write_summary(out / "evaluation.json")
    print_read(tx)
    _print_recommend(result, customer)
    print_written(written)


def _print_recommend(result: object, customer: str | None) -> None:
    from rich.table import Table

    from segmint.recommendations.products import bought_more, too_few_buyers

    counts = result.counts
    console.print(
        f"trained on lines up to {result.until}: {counts['customers']:,} customers, {counts['products']:,} products, "
        f"{counts['recommendations']:,} recommendations (top {result.config.top}"
        f"{', new products only' if result.config.new_only else ''}); blend {escape(result.blend.source)}"
    )
    for line in result.notes:
        console.print(f"[yellow]note:[/] {escape(line)}")
    favourites = result.segment_products
    table = Table("segment", "top products by lift, lift established (share of segment / of all)", title="segment favourites",
                  title_justify="left")  # fmt: skip
    for segment, rows in favourites.groupby("segment", sort=False):
        best = bought_more(rows, str(segment), 3)
        text = "; ".join(f"{r.product_name} ({r.share_of_segment:.1%} / {r.share_of_all:.1%})" for r in best.itertuples())
        few = too_few_buyers(rows, str(segment), result.config.min_buyers)
        empty = (f"(too few buyers: no product has {result.config.min_buyers})" if few
                 else "(none established as bought more than by all shoppers: 95% low end of lift above 1)")
        table.add_row(escape(str(segment)), escape(text or empty))
    for segment, members in _segments_without_shoppers(result):
        window = (f", {favourites['window_start'].iloc[0]} to {favourites['window_end'].iloc[0]}"
                  if not favourites.empty else "")
        table.add_row(escape(segment), escape(f"(no shopper: none of its {counted(members, 'customer')} bought in the "
                                              f"window{window})"))
    console.print(table)
    if customer is not None:
        card = result.customer(customer)
        rows = Table("rank", "product", "score", "why", title=f"customer {escape(customer)} ({escape(card['segment'])})",
                     title_justify="left")  # fmt: skip
        for item in card["recommendations"]:
            name = item["product_name"] + ("" if item["product_name"] == item["product_id"] else f" [{item['product_id']}]")
            rows.add_row(str(item["rank"]), escape(name),
                         f"{item['score']:.3f}", escape(item["reason"]))  # fmt: skip
        console.print(rows)
    if result.evaluation is not None:
        _print_evaluation(result.evaluation)


def _segments_without_shoppers(result: Any) -> list[tuple[str, int]]:
    """(segment, customers) of the segments absent from the favourites (none of them bought in the window:
    groceries' At Risk, Hibernating, Lost ...), largest first; the table named them nowhere."""
    from segmint.recommendations.signals import NO_SEGMENT

    members = result.segments.group_by("segment").aggregate(customers=result.segments.count()).to_pandas()
    listed = set(result.segment_products["segment"].astype(str))
    members = members[~members["segment"].astype(str).isin(listed | {NO_SEGMENT})]
    members = members.sort_values(["customers", "segment"], ascending=[False, True])
    return [(str(segment), int(n)) for segment, n in zip(members["segment"], members["customers"], strict=True)]


def _print_evaluation(evaluation: dict) -> None:
    from rich.table import Table

    top = evaluation["top"]
    period = evaluation["test_period"]
    table = Table("method", f"precision@{top}", f"recall@{top}", "hit rate", "segmint's precision vs this (95% interval)",
                  title=f"evaluation on purchases {period['first']} to {period['last']} "
                        f"({evaluation['customers_evaluated']:,} customers who bought before and after)",
                  title_justify="left")  # fmt: skip
    for name, scores in evaluation["methods"].items():
        lift = evaluation["precision_lift"].get(f"vs_{name}")
        interval = evaluation.get("precision_lift_95", {}).get(f"vs_{name}")
        shown = "n/a" if lift is None else f"{lift:+.1%}" + (f" ({interval[0]:+.1%} to {interval[1]:+.1%})" if interval else "")
        table.add_row(
            escape(scores["label"]), f"{scores[f'precision@{top}']:.4f}", f"{scores[f'recall@{top}']:.4f}",
            f"{scores['hit_rate']:.1%}", "" if name == "segmint" else shown,
        )
    console.print(table)
