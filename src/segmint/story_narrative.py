"""Each customer's story from their per-period segments: path, narrative, current and previous segment.

Inputs are the ``period_segments`` rows of :mod:`segmint.story` (:class:`segmint.story_rows.Coded`):
one row per customer and period from the customer's first active period on, ``Inactive`` when
nothing was bought. A customer's runs (consecutive periods in one segment) are collected in the
engine, packed in integers; the phrases of a narrative are put together from them there too. Also
the overview: customers per current segment, with how many are recent, new and back after a gap.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError
from segmint.story_rows import INACTIVE, Coded, as_table, coded

__all__ = ["STORY_COLUMNS", "overview_counts", "period_labels", "story_frame", "story_overview", "story_query",
           "story_table"]

UNITS = {"month": ("month", "months"), "quarter": ("quarter", "quarters"), "year": ("year", "years")}
MAX_RUNS_SHOWN = 5  # narratives longer than this keep the first run and the last ones

# a run packed in one integer: its start period, its code and the code before it; sorted by start
START, CODE = 2**32, 2**16


def _packed_run(rows: ir.Table) -> ir.IntegerValue:
    """A run's start row packed (start, code + 1, code before + 2; 0 = no period before)."""
    return rows.period_index * START + (rows.code + 1) * CODE + (rows.before + 2).fill_null(0)


def _start(packed: ir.IntegerValue) -> ir.IntegerValue:
    """A packed run's start period (:func:`_packed_run`)."""
    return packed >> 32


def _code(packed: ir.IntegerValue) -> ir.IntegerValue:
    """A packed run's segment code."""
    return ((packed >> 16) & (CODE - 1)) - 1


def _before(packed: ir.IntegerValue) -> ir.IntegerValue:
    """A packed run's code of the period before it (NULL: none before)."""
    before = packed & (CODE - 1)
    return ibis.ifelse(before == 0, ibis.null("int64"), before - 2)


def _joined(parts: list[ir.Value], separator: str) -> ir.StringValue:
    """The non-null parts joined by ``separator`` (SQL's concat_ws)."""
    return ibis.literal(separator).join(parts)


def _with_texts(facts: ir.Table, coded: Coded, period: str, labels: dict[str, str], first_start: ir.Value,
                n_periods: int) -> ir.Table:
    """``facts`` with the story's text columns from each customer's sorted runs: names and periods looked
    up, phrases put together.

    One phrase per run ("First purchase 2022-Q1 as Average", "inactive since 2023-Q4"): long stories keep the
    first run, an "N more changes" marker and the last ``MAX_RUNS_SHOWN - 2`` runs, so a narrative has
    at most ``MAX_RUNS_SHOWN`` phrases; the path names the segment of every period, run by run.

    Built in layers (the runs picked, then decoded and named, then put together), each referring to the
    one before by column: written as one expression, every name and period look-up was repeated inline
    in each phrase that read it (74 kB of SQL on CDNOW), and planning that query cost more than running it.
    """
    one, many = UNITS[period]
    info = coded.periods
    period_of = dict(zip(info["period_index"].astype(int), info["period"], strict=True))
    shown = {index: labels.get(name, name) for index, name in period_of.items()}  # partial periods marked
    as_of = dict(zip(info["period_index"].astype(int), (pd.Timestamp(d).date() for d in info["as_of"]), strict=True))
    inactive = next((code for code, name in coded.names.items() if name == INACTIVE), None)
    columns = facts.columns
    slots = range(MAX_RUNS_SHOWN)

    def name(code: ir.IntegerValue) -> ir.StringValue:
        return code.substitute(coded.names, else_=ibis.null("string"))

    def is_inactive(code: ir.IntegerValue) -> ir.BooleanValue:
        return (code == inactive).fill_null(False) if inactive is not None else ibis.literal(False)

    # the runs each narrative slot and each path step reads, packed
    runs, n_runs = facts.runs, facts.runs.length()
    long = n_runs > MAX_RUNS_SHOWN
    picked: dict[str, ir.Value] = {"_runs": n_runs, "_first_packed": runs[0], "_current": runs[n_runs - 1],
                                   "_previous": runs[n_runs - 2]}  # fmt: skip
    for k in slots:
        # the run in narrative slot k: the k-th, or in a long story one of the last runs
        index = k if k <= 1 else ibis.ifelse(long, n_runs - MAX_RUNS_SHOWN + k, k)
        picked |= {f"_x{k}": runs[index], f"_y{k}": runs[index + 1], f"_last{k}": index == n_runs - 1}
    for r in range(n_periods + 1):
        picked[f"_r{r}"] = runs[r]
    t = facts.mutate(**picked)

    def periods(packed: ir.IntegerValue, following: ir.IntegerValue) -> ir.IntegerValue:
        return _start(following).fill_null(t.current_index + 1) - _start(packed)

    decoded: dict[str, ir.Value] = {}
    for k in slots:
        packed = t[f"_x{k}"]
        decoded |= {
            f"_l{k}": name(_code(packed)), f"_s{k}": _start(packed).substitute(shown, else_=ibis.null("string")),
            f"_n{k}": periods(packed, t[f"_y{k}"]), f"_i{k}": is_inactive(_code(packed)),
            f"_b{k}": is_inactive(_before(packed)), f"_e{k}": packed.isnull(),
        }  # fmt: skip
    for r in range(n_periods):
        decoded |= {f"_pl{r}": name(_code(t[f"_r{r}"])), f"_pn{r}": periods(t[f"_r{r}"], t[f"_r{r + 1}"])}
    t = t.mutate(**decoded)

    joined_first = ~(t.first_purchase < first_start).fill_null(False)
    n_runs, long = t._runs, t._runs > MAX_RUNS_SHOWN
    phrases = []
    for k in slots:
        label, start, n, is_last, inactive_run = t[f"_l{k}"], t[f"_s{k}"], t[f"_n{k}"], t[f"_last{k}"], t[f"_i{k}"]
        span = n.cast("string") + ibis.ifelse(n > 1, f" {many}", f" {one}")
        with_span = ibis.ifelse(n > 1, " (" + span + ")", "")
        # "First purchase", not "Joined": a customer whose first line was worth nothing (CDNOW 10824: $0.00
        # on 1997-02-08, first paid 1997-11-21) starts at the first paid purchase (segmint.features)
        cases = [(joined_first, "First purchase " + start + " as " + label + with_span)] if k == 0 else []
        if k == 1:
            cases.append((long, (n_runs - MAX_RUNS_SHOWN + 1).cast("string") + " more changes"))
        phrase = ibis.cases(
            *cases,
            (inactive_run & is_last, "inactive since " + start),
            (inactive_run & (n == 1), "inactive in " + start),
            (inactive_run, "inactive for " + span),
            (t[f"_b{k}"], "back in " + start + " as " + label + with_span),
            (is_last, label + " since " + start),
            (n == 1, label + " in " + start),
            else_=label + " for " + span,
        )
        phrases.append(ibis.ifelse(t[f"_e{k}"], ibis.null("string"), phrase))
    # "A > A > B" = "A > " twice, "B > ", less the last " > "
    path = _joined([(t[f"_pl{r}"] + " > ").repeat(t[f"_pn{r}"]) for r in range(n_periods)], "")
    changed = t._runs > 1
    t = t.mutate(
        first_period=_start(t._first_packed).substitute(period_of, else_=ibis.null("string")),
        first_segment=name(_code(t._first_packed)),
        current_segment=name(_code(t._current)),
        _path=path,
        narrative=_joined(phrases, "; "),
        previous_segment=ibis.ifelse(changed, name(_code(t._previous)), ibis.null("string")),
        segment_changed_on=ibis.ifelse(changed, _start(t._current).substitute(as_of, else_=ibis.null("date")),
                                       ibis.null("date")),
    )
    t = t.mutate(path=t._path.substr(0, t._path.length() - 3))
    return t.select(*columns, "first_period", "first_segment", "current_segment", "path", "narrative",
                    "previous_segment", "segment_changed_on")



def period_labels(periods: pd.DataFrame | None) -> dict[str, str]:
    """period -> "2011-Q4 (partial, 76% of days)" for the partial ones."""
    if periods is None or "partial" not in periods:
        return {}
    partial = periods[periods["partial"]]
    return {p: f"{p} (partial, {c:.0%} of days)" for p, c in zip(partial["period"], partial["coverage"], strict=True)}


STORY_COLUMNS = [
    "customer_id", "current_segment", "previous_segment", "segment_changed_on", "current_reason",
    "first_purchase", "last_purchase", "first_period", "first_segment", "periods", "active_periods",
    "total_spend", "is_recent", "is_new", "returned_after_gap", "path", "narrative",
]


def story_table(
    segments: ir.Table | pd.DataFrame | Coded, *, period: str, periods: pd.DataFrame | None = None,
    customers: ir.Table | None = None, reasons: tuple[ir.Table, Any] | None = None,
) -> pd.DataFrame:
    """Per customer: path, current/previous segment and change date, first/last purchase, flags, narrative.

    :func:`story_query` run (see there).
    """
    return story_frame(story_query(segments, period=period, periods=periods, customers=customers, reasons=reasons))


def story_frame(query: ir.Table) -> pd.DataFrame:
    """The story table of a :func:`story_query` (or of its rows for some customers, or some of its
    columns with the change date) as pandas."""
    table = query.execute()
    table["segment_changed_on"] = pd.to_datetime(table["segment_changed_on"])
    if "returned_after_gap" in table:
        table["returned_after_gap"] = table["returned_after_gap"].astype(bool)
    return table.reset_index(drop=True)


def story_query(
    segments: ir.Table | pd.DataFrame | Coded, *, period: str, periods: pd.DataFrame | None = None,
    customers: ir.Table | None = None, reasons: tuple[ir.Table, Any] | None = None,
) -> ir.Table:
    """Per customer, as an expression (in customer order): the columns of :func:`story_table`.

    ``previous_segment`` is the segment before the current run and ``segment_changed_on`` the as-of
    date of the period the current run began (both empty when the segment never changed), as CRM
    tools show them. ``periods`` (the story's, with coverage) marks partial periods in narratives.
    The story itself passes :class:`Coded` rows keyed by integers (``customers``: customer_key ->
    customer_id) without reasons; ``reasons`` = (customer_id key, period_index, reason, and the
    reason of an unlabelled row as a function of its period column), read for the last period only.
    """
    if period not in UNITS:
        raise ConfigError(f"period={period!r}; choose one of {', '.join(UNITS)}")
    if isinstance(segments, Coded):
        rows_coded = segments
    else:
        table = as_table(segments)
        rows_coded = coded(table)
        if reasons is None:  # every row of period_segments has its reason
            reasons = (table.select("customer_id", "period_index", "reason"), None)
    rows, info = rows_coded.rows, rows_coded.periods
    last_index, first_index = int(info["period_index"].max()), int(info["period_index"].min())
    first_start = ibis.literal(pd.Timestamp(info["period_start"].min()).date())
    last_start = ibis.literal(pd.Timestamp(info["period_start"].max()).date())
    summary = rows.group_by("customer_id").aggregate(
        first_purchase=rows.first_purchase.min(),
        last_purchase=rows.last_purchase.max(),
        current_index=rows.period_index.max(),
        periods=rows.count(),
        active_periods=rows.active.sum().cast("int64"),
        total_spend=rows.monetary.sum(),
        # active in the last period of the story (a customer's rows run to it)
        is_recent=rows.active.arbitrary(where=rows.period_index == last_index).fill_null(False),
        # came back after a gap: a period without a purchase followed by one with a purchase
        returned_after_gap=(rows.period_index.min(where=~rows.active)
                            < rows.period_index.max(where=rows.active)).fill_null(False),
        # the runs: rows whose segment differs from the period before, packed and sorted
        runs=_packed_run(rows).collect(where=rows.before.isnull() | (rows.code != rows.before)).sort(),
    )
    n_periods = last_index - first_index + 1
    summary = _with_texts(summary, rows_coded, period, period_labels(periods), first_start, n_periods)
    labels, no_label = reasons
    # every customer's rows reach the last period of the story: its reasons only
    last = labels.filter(labels.period_index == last_index) if no_label is not None else labels
    summary = summary.left_join(last, [summary.customer_id == last.customer_id,
                                       summary.current_index == last.period_index])
    current_period = summary.current_index.substitute(
        dict(zip(info["period_index"].astype(int), info["period"], strict=True)), else_=ibis.null("string"))
    reason = summary.reason.fill_null(no_label(current_period)) if no_label is not None else summary.reason
    summary = summary.mutate(
        current_reason=reason,
        is_new=summary.first_purchase >= last_start,
    )
    if customers is not None:
        names = customers.select("customer_key", customer_text="customer_id")
        summary = summary.inner_join(names, summary.customer_id == names.customer_key)
        summary = summary.mutate(customer_id=summary.customer_text).order_by("customer_key")
    else:
        summary = summary.order_by("customer_id")
    return summary.select(*STORY_COLUMNS)


def story_overview(segments: Coded) -> pd.DataFrame:
    """Per current segment: customers, how many are active in the last period, new, back after a gap.

    What :func:`story_table`'s flags count, without the story's text; most customers first (ties in
    the order the segments first appear in the story, as ``value_counts`` of its column gives them).
    Every customer's rows reach the last period of the story.
    """
    rows, info = segments.rows, segments.periods
    last_index = int(info["period_index"].max())
    last_start = ibis.literal(pd.Timestamp(info["period_start"].max()).date())
    at_last = rows.period_index == last_index
    per = rows.group_by("customer_id").aggregate(
        code=rows.code.arbitrary(where=at_last),
        recent=rows.active.arbitrary(where=at_last).fill_null(False).cast("int64"),
        new=(rows.first_purchase.min() >= last_start).fill_null(False).cast("int64"),
        back=(rows.period_index.min(where=~rows.active) < rows.period_index.max(where=rows.active))
        .fill_null(False).cast("int64"),
    )
    return overview_counts(per, segments.names)


def overview_counts(per: ir.Table, names: dict[int, str]) -> pd.DataFrame:
    """:func:`story_overview` from one row per customer: customer_id, code (current segment), recent, new, back (0/1).

    Ties in customer counts keep the order of each segment's first customer (ids in story order).
    """
    counts = per.group_by("code").aggregate(
        customers=per.count(), recent=per.recent.sum(), new=per.new.sum(), returned_after_gap=per.back.sum(),
        first=per.customer_id.min(),
    ).execute().sort_values("first")
    counts.insert(0, "current_segment", counts.pop("code").map(names))
    table = counts.drop(columns="first").set_index("current_segment").astype("int64")
    order = table["customers"].sort_values(ascending=False).index
    return table.loc[order].reset_index()
