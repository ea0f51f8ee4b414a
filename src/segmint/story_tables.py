"""Tables derived from per-period segments: customer stories, transitions, retention, cohorts.

Inputs are the ``period_segments`` table of :mod:`segmint.story` (one row per customer and period
from the customer's first active period on, ``Inactive`` when nothing was bought). The heavy lifting
is Ibis; only the small results (per-customer stories, matrices) become pandas.
"""

from __future__ import annotations

import logging
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.features import money_sum

log = logging.getLogger(__name__)

INACTIVE = "Inactive"
UNITS = {"month": ("month", "months"), "quarter": ("quarter", "quarters"), "year": ("year", "years")}
MAX_RUNS_SHOWN = 5  # narratives longer than this keep the first run and the last ones


def _table(segments: ir.Table | pd.DataFrame) -> ir.Table:
    return ibis.memtable(segments) if isinstance(segments, pd.DataFrame) else segments


# --- customer story -----------------------------------------------------------------------------


MAX_PIVOT = 40  # paths of stories with at most this many periods are put together without a sort


def _runs(segments: ir.Table) -> ir.Table:
    """Consecutive periods with the same segment collapsed into runs (gaps-and-islands).

    Per run: its ``position`` (0 = first) among the customer's ``n_runs``, start index, period and
    as-of date, length, the segment before it and the customer's first purchase. Two windows over
    each customer's periods (no per-customer string aggregation, which sorts inside every group).
    """
    rows = segments.select("customer_id", "period_index", "segment", "period", "as_of", "first_purchase")
    ordered = ibis.window(group_by="customer_id", order_by="period_index")
    before = rows.segment.lag().over(ordered)
    rows = rows.mutate(_before=before, _start=(rows.segment != before).fill_null(True))
    to_here = ibis.window(group_by="customer_id", order_by="period_index", preceding=None, following=0)
    whole = ibis.window(group_by="customer_id")
    rows = rows.mutate(
        run=rows._start.cast("int64").sum().over(to_here),
        n_runs=rows._start.cast("int64").sum().over(whole),
        customer_first=rows.first_purchase.min().over(whole),
    )
    runs = rows.group_by("customer_id", "run").aggregate(
        segment=rows.segment.arbitrary(),  # one segment per run
        start_index=rows.period_index.min(),
        periods=rows.count(),
        start_period=rows.period.arbitrary(where=rows._start),  # one start row per run
        start_as_of=rows.as_of.arbitrary(where=rows._start),
        before=rows._before.arbitrary(where=rows._start),
        n_runs=rows.n_runs.max(),
        first_purchase=rows.customer_first.min(),
    )
    return runs.mutate(position=runs.run - 1).drop("run")


def _joined(parts: list[ir.Value], separator: str) -> ir.StringValue:
    """The non-null parts joined by ``separator`` (SQL's concat_ws)."""
    return ibis.literal(separator).join(parts)


def _run_facts(
    segments: ir.Table, period: str, labels: dict[str, str], first_start: ir.Value, n_periods: int
) -> ir.Table:
    """Per customer: narrative, path, previous segment and when the current run began, from the runs in SQL.

    One phrase per run ("Joined 2022-Q1 as Average", "inactive since 2023-Q4"): long stories keep the
    first run, an "N more changes" marker and the last ``MAX_RUNS_SHOWN - 2`` runs, so a narrative has
    at most ``MAX_RUNS_SHOWN`` phrases, each put in its slot by a filtered aggregate (and a path of at
    most ``MAX_PIVOT`` periods run by run), without sorting inside each customer's group.
    """
    runs = _runs(segments)
    one, many = UNITS[period]
    n = runs.periods
    span = n.cast("string") + ibis.ifelse(n > 1, f" {many}", f" {one}")
    with_span = ibis.ifelse(n > 1, " (" + span + ")", "")
    label = runs.segment
    start = runs.start_period.substitute(labels) if labels else runs.start_period
    is_last = runs.position == runs.n_runs - 1
    inactive = label == INACTIVE
    long = runs.n_runs > MAX_RUNS_SHOWN
    skipped = ibis.ifelse(long & (runs.position == 1), runs.n_runs - MAX_RUNS_SHOWN + 1, 0)
    joined = (runs.position == 0) & ~(runs.first_purchase < first_start).fill_null(False)
    after_gap = (runs.before == INACTIVE).fill_null(False)
    phrase = ibis.cases(
        (joined, "Joined " + start + " as " + label + with_span),
        (skipped > 0, skipped.cast("string") + " more changes"),
        (inactive & is_last, "inactive since " + start),
        (inactive & (n == 1), "inactive in " + start),
        (inactive, "inactive for " + span),
        (after_gap, "back in " + start + " as " + label + with_span),
        (is_last, label + " since " + start),
        (n == 1, label + " in " + start),
        else_=label + " for " + span,
    )
    keep = ~long | (runs.position <= 1) | (runs.n_runs - 1 - runs.position < MAX_RUNS_SHOWN - 2)
    # a kept phrase's place in the narrative: 0, 1 ("N more changes" when long), then the last runs
    slot = ibis.ifelse(long & (runs.position > 1), runs.position - (runs.n_runs - MAX_RUNS_SHOWN), runs.position)
    runs = runs.mutate(phrase=phrase, keep=keep, slot=slot, step=(runs.segment + " > ").repeat(runs.periods))
    changed = runs.n_runs > 1
    # each filter below holds for one run of a customer at most: any_value, no string comparisons
    if n_periods <= MAX_PIVOT:  # "A > A > B" = "A > " twice, "B > ", less the last " > "
        path = _joined([runs.step.arbitrary(where=runs.position == k) for k in range(n_periods)], "")
    else:
        path = runs.step.group_concat("", order_by=runs.start_index)
    first, last = runs.position == 0, runs.position == runs.n_runs - 1
    facts = runs.group_by("customer_id").aggregate(
        first_period=runs.start_period.arbitrary(where=first),
        first_segment=runs.segment.arbitrary(where=first),
        current_segment=runs.segment.arbitrary(where=last),
        path=path,
        narrative=_joined([runs.phrase.arbitrary(where=runs.keep & (runs.slot == k))
                           for k in range(MAX_RUNS_SHOWN)], "; "),
        previous_segment=runs.segment.arbitrary(where=changed & (runs.position == runs.n_runs - 2)),
        segment_changed_on=runs.start_as_of.arbitrary(where=changed & last),
    )
    return facts.mutate(path=facts.path.substr(0, facts.path.length() - 3))


def period_labels(periods: pd.DataFrame | None) -> dict[str, str]:
    """period -> "2011-Q4 (partial, 76% of days)" for the partial ones."""
    if periods is None or "partial" not in periods:
        return {}
    partial = periods[periods["partial"]]
    return {p: f"{p} (partial, {c:.0%} of days)" for p, c in zip(partial["period"], partial["coverage"], strict=True)}


def story_table(
    segments: ir.Table | pd.DataFrame, *, period: str, periods: pd.DataFrame | None = None,
    customers: ir.Table | None = None, reasons: tuple[ir.Table, Any] | None = None,
) -> pd.DataFrame:
    """Per customer: path, current/previous segment and change date, first/last purchase, flags, narrative.

    ``previous_segment`` is the segment before the current run and ``segment_changed_on`` the as-of
    date of the period the current run began (both empty when the segment never changed), as CRM
    tools show them. ``periods`` (the story's, with coverage) marks partial periods in narratives.
    The story itself passes ``segments`` keyed by integers (``customers``: customer_key ->
    customer_id) without reasons; ``reasons`` = (customer_id key, period_index, reason, and the
    reason of an unlabelled row as a function of its table), read for the last period only.
    """
    if period not in UNITS:
        raise ConfigError(f"period={period!r}; choose one of {', '.join(UNITS)}")
    segments = _table(segments)
    bounds = segments.aggregate(
        last_index=segments.period_index.max(), first_index=segments.period_index.min(),
        first_start=segments.period_start.min(),
        last_start=segments.period_start.max(),
    ).execute().iloc[0]
    last_index = int(bounds["last_index"])
    first_start, last_start = (ibis.literal(pd.Timestamp(bounds[c]).date()) for c in ("first_start", "last_start"))
    summary = segments.group_by("customer_id").aggregate(
        first_purchase=segments.first_purchase.min(),
        last_purchase=segments.last_purchase.max(),
        # the first/current segment and period come from the runs (no ordered aggregate per customer)
        **({"current_reason": segments.reason.argmax(segments.period_index)} if reasons is None else {
            "current_index": segments.period_index.max(),
            "current_period": segments.period.arbitrary(where=segments.period_index == last_index),
        }),
        periods=segments.count(),
        active_periods=segments.active.sum().cast("int64"),
        total_spend=segments.monetary.sum(),
        # active in the last period of the story (a customer's rows run to it)
        is_recent=segments.active.arbitrary(where=segments.period_index == last_index).fill_null(False),
        # came back after a gap: a period without a purchase followed by one with a purchase
        returned_after_gap=segments.period_index.min(where=~segments.active)
        < segments.period_index.max(where=segments.active),
    )
    summary = summary.mutate(
        is_new=summary.first_purchase >= last_start, joined_before=summary.first_purchase < first_start
    )
    n_periods = int(bounds["last_index"]) - int(bounds["first_index"]) + 1
    facts = _run_facts(segments, period, period_labels(periods), first_start, n_periods)
    summary = summary.inner_join(facts, "customer_id")
    if reasons is not None:  # every customer's rows reach the last period: its reasons only
        labels, no_label = reasons
        last = labels.filter(labels.period_index == last_index)
        summary = summary.left_join(last, [summary.customer_id == last.customer_id,
                                           summary.current_index == last.period_index])
        summary = summary.mutate(current_reason=summary.reason.fill_null(no_label(summary.current_period)))
    if customers is not None:
        names = customers.select("customer_key", customer_text="customer_id")
        summary = summary.inner_join(names, summary.customer_id == names.customer_key)
        summary = summary.mutate(customer_id=summary.customer_text).order_by("customer_key")
    else:
        summary = summary.order_by("customer_id")
    table = summary.execute()
    table["segment_changed_on"] = pd.to_datetime(table["segment_changed_on"])
    table["returned_after_gap"] = table["returned_after_gap"].fillna(False).astype(bool)
    columns = [
        "customer_id", "current_segment", "previous_segment", "segment_changed_on", "current_reason",
        "first_purchase", "last_purchase", "first_period", "first_segment", "periods", "active_periods",
        "total_spend", "is_recent", "is_new", "returned_after_gap", "path", "narrative",
    ]
    return table[columns].reset_index(drop=True)


# --- transitions and retention ------------------------------------------------------------------


def _period_index(segments: ir.Table, label: str) -> int:
    found = segments.filter(segments.period == label).period_index.max().execute()
    if found is None or pd.isna(found):
        known = segments.select("period").distinct().order_by("period").period.execute().tolist()
        raise ConfigError(f"period {label!r} is not in the story; periods: {', '.join(known)}")
    return int(found)


def transitions(
    segments: ir.Table | pd.DataFrame, from_period: str | None = None, to_period: str | None = None
) -> pd.DataFrame:
    """Migration counts and row shares between two periods (default: pooled consecutive pairs).

    With neither period given every consecutive pair is pooled, so ``share`` is the customer-weighted
    average over pairs; with one given, the other is its neighbour. ``churn`` marks active -> Inactive.
    """
    segments = _table(segments)
    before = segments.select(
        "customer_id", from_index="period_index", from_segment="segment", from_order="segment_order"
    )
    after = segments.select(
        "customer_id", to_index="period_index", to_segment="segment", to_order="segment_order"
    )
    if from_period is None and to_period is None:
        pairs = before.inner_join(
            after, [before.customer_id == after.customer_id, after.to_index == before.from_index + 1]
        )
    else:
        start = _period_index(segments, from_period) if from_period else None
        stop = _period_index(segments, to_period) if to_period else None
        start = stop - 1 if start is None else start
        stop = start + 1 if stop is None else stop
        if stop <= start:
            raise ConfigError(f"to_period must come after from_period ({from_period} -> {to_period})")
        pairs = before.filter(before.from_index == start).inner_join(
            after.filter(after.to_index == stop), "customer_id"
        )
    counts = pairs.group_by("from_segment", "from_order", "to_segment", "to_order").aggregate(
        customers=pairs.count()
    ).execute()
    counts["share"] = counts["customers"] / counts.groupby("from_segment")["customers"].transform("sum")
    counts["churn"] = (counts["from_segment"] != INACTIVE) & (counts["to_segment"] == INACTIVE)
    counts = counts.sort_values(
        ["from_order", "from_segment", "to_order", "to_segment"], ascending=[False, True, False, True]
    )
    columns = ["from_segment", "to_segment", "customers", "share", "churn"]
    return counts[columns].astype({"customers": "int64"}).reset_index(drop=True)


def transition_matrix(table: pd.DataFrame, values: str = "customers") -> pd.DataFrame:
    """Pivot a ``transitions`` table into a from x to matrix of ``customers`` or ``share``."""
    order = list(dict.fromkeys([*table["from_segment"], *table["to_segment"]]))
    matrix = table.pivot(index="from_segment", columns="to_segment", values=values)
    rows = [s for s in order if s in matrix.index]
    return matrix.reindex(index=rows, columns=order).fillna(0)


def retention(segments: ir.Table | pd.DataFrame, periods: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per period: active, new, retained, reactivated, churned, rate, purchases, revenue, per-day rates.

    ``retention_rate`` = retained / customers active in the previous period (empty for the first).
    With ``periods`` (the story's, with coverage) each row also carries ``covered_days``,
    ``coverage`` and ``note``, and ``purchases_per_day`` / ``revenue_per_day`` are over the covered
    days, so a partial period compares fairly with full ones.
    """
    segments = _table(segments)
    previous = segments.active.lag().over(
        ibis.window(group_by="customer_id", order_by="period_index")
    )
    marked = segments.mutate(previous=previous)
    per_period = marked.group_by("period_index", "period").aggregate(
        active=marked.active.sum(),
        new=(marked.active & marked.previous.isnull()).sum(),
        retained=(marked.active & marked.previous.fill_null(False)).sum(),
        reactivated=(marked.active & ~marked.previous.fill_null(True)).sum(),
        previous_active=marked.previous.fill_null(False).sum(),
        purchases=marked.frequency.sum(),
        revenue=money_sum(marked.monetary),
    ).order_by("period_index").execute()
    counts = ["active", "new", "retained", "reactivated", "previous_active", "purchases"]
    per_period[counts] = per_period[counts].astype("int64")
    per_period["churned"] = per_period["previous_active"] - per_period["retained"]
    rate = per_period["retained"] / per_period["previous_active"].where(per_period["previous_active"] > 0)
    per_period["retention_rate"] = rate.where(per_period["period_index"] > per_period["period_index"].min())
    if periods is not None:
        days = periods.set_index("period_index")
        per_period["covered_days"] = per_period["period_index"].map(days["covered_days"]).astype("int64")
        per_period["coverage"] = per_period["period_index"].map(days["coverage"])
        per_period["note"] = per_period["period_index"].map(days["note"]).fillna("")
        per_period["purchases_per_day"] = per_period["purchases"] / per_period["covered_days"]
        per_period["revenue_per_day"] = per_period["revenue"] / per_period["covered_days"]
    return per_period.drop(columns="period_index")


# --- cohorts ------------------------------------------------------------------------------------


def cohort_table(grid: ir.Table, periods: pd.DataFrame) -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition: active customers and net revenue (n and %).

    ``grid`` is :func:`segmint.story_features.period_grid`; a customer's cohort is their first active
    period. ``retained_pct`` is the share of the cohort active in that period; ``revenue_pct`` is
    revenue relative to the cohort's revenue in its first period (both in percent). ``note`` marks
    a partial period.
    """
    tagged = grid.filter(grid.first_active_index.notnull())
    tagged = tagged.mutate(offset=tagged.period_index - tagged.first_active_index).filter(
        lambda t: t.offset >= 0
    )
    table = tagged.group_by(cohort_index=tagged.first_active_index, offset=tagged.offset).aggregate(
        customers=tagged.active.sum(), revenue=money_sum(tagged.net)
    ).execute()
    # Every cohort gets a row for each period up to the last one, zero when nobody came back.
    last = int(periods["period_index"].max())
    full = pd.DataFrame(
        [(c, o) for c in table["cohort_index"].unique() for o in range(last - int(c) + 1)],
        columns=["cohort_index", "offset"],
    )
    table = full.merge(table, on=["cohort_index", "offset"], how="left").fillna(
        {"customers": 0, "revenue": 0.0}
    )
    labels = periods.set_index("period_index")["period"]
    notes = periods.set_index("period_index")["note"] if "note" in periods else None
    table["cohort"] = table["cohort_index"].map(labels)
    table["period"] = (table["cohort_index"] + table["offset"]).map(labels)
    table["note"] = (table["cohort_index"] + table["offset"]).map(notes).fillna("") if notes is not None else ""
    table = table.sort_values(["cohort_index", "offset"], ignore_index=True)
    first = table[table["offset"] == 0].set_index("cohort_index")
    table["cohort_size"] = table["cohort_index"].map(first["customers"]).astype("int64")
    table["customers"] = table["customers"].astype("int64")
    table["retained_pct"] = 100 * table["customers"] / table["cohort_size"]
    base = table["cohort_index"].map(first["revenue"])
    table["revenue_pct"] = 100 * table["revenue"] / base.where(base != 0)
    columns = [
        "cohort", "offset", "period", "note", "cohort_size", "customers", "retained_pct", "revenue",
        "revenue_pct",
    ]
    return table[columns].rename(columns={"offset": "periods_since"})
