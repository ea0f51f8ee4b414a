"""Each customer's story over calendar periods: segments per period, paths, migrations, cohorts.

Two kinds of per-period segment, each named for what it means:

* **as-of** (lifecycle; the default for rfm and levels): the segment as it stood at each period's
  end, on all the customer's history up to that date (recency to that date, frequency/monetary to
  date), scored against every customer known at that date. The last period's as-of segment is the
  customer's *current segment*, the same one ``analyze`` gives at the snapshot the day after the
  last transaction. A customer who bought nothing in a period keeps a segment (recency grows).
* **within-period** (activity/value; the default for value, tiers and clusters): how the customer
  fared inside the period, scored among the customers active in it; a period without a purchase is
  ``Inactive``. Its labels claim no tenure or lifecycle, so rfm and levels (whose names do: "New
  Customers", "Lost", "Can't Lose Them") are as-of only.

Rows run from the customer's first *active* period (a purchase and positive net spend in it) to the
last period. Periods are calendar months/quarters/years of the timezone-naive ``invoice_date``; each
is scored at its *as-of date*, its last day or, for the final period, the last day with data (so
the current segment is the one ``analyze`` reports). Partial first/last periods
(:mod:`segmint.coverage`) are kept and marked ``partial (76% of days)``, unless ``drop_partial``:
then their rows are left out of every table after the stories are computed on all the data (a
customer who joined in a dropped first period is not made "new" in the next one).

Without an invoice column a purchase is a calendar day (``frequency="auto"``), so one customer's
lines on one day are one visit; ``notes`` says so.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint import coverage as cov
from segmint import features as feat
from segmint.engine import materialize, row_count
from segmint.errors import ConfigError, DataError, Fix
from segmint.segment import get_scheme, scheme_names
from segmint.story_current import (
    Current,
    active_rows,
    any_active,
    counted_without_tables,
    current_story,
    from_first_active,
    kept_periods,
    names_of,
    ranked_labels,
)
from segmint.story_features import (
    Rollup,
    as_of_features,
    customer_starts,
    period_activity,
    period_grid,
    rollup_activity,
    within_features,
)
from segmint.story_result import Card, Parts, StoryResult
from segmint.story_rows import Coded, coded, with_previous
from segmint.story_tables import (
    INACTIVE,
    cohort_table,
    retention,
    story_query,
    story_table,
    transitions,
)
from segmint.story_value import ENGINE_METHODS, profit_basis, value_labels

log = logging.getLogger(__name__)

Scheme: TypeAlias = str  # any registered scheme (SCHEMES)
Kind = Literal["as_of", "within_period"]
SCHEMES: tuple[str, ...] = scheme_names()  # the registry's schemes as at import
KINDS: tuple[str, ...] = ("as_of", "within_period")
def default_kind(scheme: str) -> str:
    """The registry's story kind of ``scheme``: as-of for lifecycle names (rfm, levels), else within-period."""
    return get_scheme(scheme).story_kind


# what a scheme that scores every period in one expression (rfm, levels) reads of the features
RANKED_COLUMNS = ("customer_id", "period_index", "recency_days", "frequency", "monetary", "first_purchase",
                  "tenure_days")


def _lifecycle(scheme: str) -> bool:
    """Whether the scheme's names claim tenure/lifecycle, so its stories are as-of only."""
    return get_scheme(scheme).story_kind == "as_of"


__all__ = [
    "INACTIVE",
    "KINDS",
    "SCHEMES",
    "StoryResult",
    "build_story",
    "cohorts",
    "customer_story",
    "period_segments",
    "retention",
    "transitions",
]


# --- window and periods -------------------------------------------------------------------------


@dataclass
class _Window:
    tx: ir.Table
    periods: pd.DataFrame  # every period, with coverage
    coverage: list[cov.PeriodCoverage]
    frequency: str
    notes: list[str]
    rollup: ir.Table | None = None  # per customer-month totals of exactly these lines, when known


def _periods_frame(coverage: list[cov.PeriodCoverage]) -> pd.DataFrame:
    frame = cov.as_frame(coverage)
    frame["as_of"] = frame["last_day"]  # scoring date: the period's last covered day
    columns = ["period_index", "period", "period_start", "period_end", "as_of", "days", "covered_days",
               "coverage", "partial", "note"]
    return frame[columns]


def _window(
    tx: Any, period: feat.Period, frequency: str, min_coverage: float,
    start: feat.DateLike = None, end: feat.DateLike = None, org: str | list[str] | None = None,
    rollup: Rollup | None = None,
) -> _Window:
    unit, note = feat.resolve_frequency(tx, frequency)
    table = getattr(tx, "table", tx)  # accept a Transactions bundle
    if start is not None or end is not None or org:
        rollup = None  # the rollup holds every line: a filtered story reads the lines
    table = feat.filter_window(table, start=start, end=end, org=org)
    span = cov.span_of_days(rollup.day_counts()) if rollup is not None else cov.data_span(table)
    coverage = cov.period_coverage(span, period, min_coverage=min_coverage)
    periods = _periods_frame(coverage)
    # the final period is scored on the last day with data (the snapshot analyze uses)
    periods.loc[periods.index[-1], "as_of"] = span.last_day
    notes = [note] if note else []
    return _Window(tx=table, periods=periods, coverage=coverage, frequency=unit, notes=notes,
                   rollup=rollup.months if rollup is not None else None)


# --- segments per period ------------------------------------------------------------------------


def _kind(scheme: str, kind: str | None) -> str:
    choices = scheme_names()
    if scheme not in choices:
        raise ConfigError(
            f"scheme={scheme!r}; choose one of {', '.join(choices)}",
            field="scheme", value=scheme, fix=Fix(option="scheme", choices=choices),
        )
    chosen = kind or default_kind(scheme)
    if chosen not in KINDS:
        raise ConfigError(f"kind={chosen!r}; choose as_of or within_period", field="kind", value=chosen,
                          fix=Fix(option="kind", choices=KINDS))
    if chosen == "within_period" and _lifecycle(scheme):
        activity = ", ".join(name for name in scheme_names() if not _lifecycle(name))
        raise ConfigError(
            f"{scheme} names claim tenure and lifecycle (New Customers, Lost, Can't Lose Them), which "
            f"one period's activity cannot show; use kind as_of, or one of these schemes for "
            f"within-period segments: {activity}",
            field="kind", value=chosen, fix=Fix(option="kind", choices=("as_of",)),
        )
    return chosen


def _scheme_config(scheme: str, config: Any, period: str) -> Any:
    config = get_scheme(scheme).config(config)
    if scheme == "rfm" and "new_within" not in config.model_fields_set:
        # "New" in a story means a first purchase in the period scored (unless set explicitly)
        config = config.model_copy(update={"new_within": period})
    return config


def _label_rows(
    features: ir.Table, periods: pd.DataFrame, scheme: str, config: Any, notes: list[str]
) -> ir.Table:
    """customer_id, period_index, segment, segment_order, reason (+ scheme columns) per scored row."""
    registered = get_scheme(scheme)
    module = registered.load()
    keep = ["customer_id", "period_index", "segment", "segment_order", "reason", *get_scheme(scheme).story_columns]
    if scheme in ("value", "clusters"):
        # in key order: k-means draws its starts from the rows in order, so an unordered read changed the clusters
        frame = features.order_by("customer_id", "period_index").execute()
        if frame.empty:
            raise DataError("no customer-period to segment")
        if scheme == "clusters":  # one model for every period, so labels mean the same throughout
            labelled = module.assign(frame, config)
            labelled = labelled.execute() if isinstance(labelled, ir.Table) else labelled
        else:  # the value story ranks customers within each period, as the seed does
            parts = [module.label_frame(part, config) for _, part in frame.groupby("period_index", sort=True)]
            labelled = pd.concat(parts, ignore_index=True)
            basis = labelled.groupby("period_index")["value_basis"].first()
            if (basis == "revenue").all():
                notes.append("the data have no cost: the value story ranks revenue (net spend) where "
                             "profit (amount - cost) would be")
            elif (basis == "revenue").any():
                names = periods.set_index("period_index").loc[basis[basis == "revenue"].index, "period"]
                notes.append(f"{', '.join(names)}: some customers have no cost, so the value story ranks "
                             "revenue (net spend) there instead of profit")
        types = {"segment_order": "int64", "period_index": "int64"}
        return ibis.memtable(labelled[[c for c in keep if c in labelled.columns]].astype(types))
    if "by" in inspect.signature(module.assign).parameters:  # one expression scores every period
        used = [c for c in RANKED_COLUMNS if c in features.columns]
        labelled = module.assign(features.select(*used), config, by="period_index")
        return materialize(ibis.get_backend(features), labelled.select(*[c for c in keep if c in labelled.columns]))
    parts = []
    for index in periods["period_index"]:
        part = features.filter(features.period_index == int(index))
        labelled = registered.assign(part, config)
        parts.append(labelled.select(*[c for c in keep if c in labelled.columns]))
    return materialize(ibis.get_backend(features), ibis.union(*parts))


@dataclass
class _Segments:
    core: ir.Table  # period_segments without reasons, customer_id = the integer key
    labels: ir.Table  # customer_id (key), period_index, reason: read lazily
    no_label: Any  # period column -> the reason of a row without a label
    rows: Coded | None = None  # the core's rows as integers, when stored that way (else from the core)


def _no_purchase() -> DataError:
    return DataError(
        "no customer has a purchase with positive net value in the story window; "
        "check the amount column mapping and the date and organisation filters",
        field="start", fix=Fix(option="start", note="widen the date range or clear the organisation filter"),
    )


def _ranked_segments(window: _Window, grid: ir.Table, scheme: str, config: Any, only: int | None = None) -> _Segments:
    """As-of segments of a scheme that ranks every period at once (rfm, levels), scored in the grid itself.

    Each row is scored against the known rows of its period (by comparisons with the period's order
    statistics; rows not known are scored too, then ignored), so no feature or label table is joined
    back onto the grid. One table is stored: the grid's columns with each row's segment as an integer
    (its order) beside the previous period's; segments, reasons and period names are read from
    expressions over it (and over the grid) where they are used.
    """
    periods = window.periods
    rows, labels = ranked_labels(grid, periods, scheme, config)
    found = rows.aggregate(known=rows.known.sum(), first=rows.first_active_index.min()).execute().iloc[0]
    if not int(found["known"] or 0):
        raise _no_purchase()
    story_rows = from_first_active(labels)
    if only is not None:  # one customer's rows (scored among everyone's)
        story_rows = story_rows.filter(story_rows.customer_id == only)
    known = story_rows.known

    def masked(column: str) -> ir.Value:
        return known.ifelse(story_rows[column], ibis.null(story_rows[column].type()))

    extras = {c: masked(c) for c in get_scheme(scheme).story_columns if c in labels.columns}
    core, coded_rows = _stored(story_rows, masked("recency_days"), masked("segment_order"), extras,
                               names_of(scheme, config), periods, int(found["first"]))
    reasons = labels.filter(labels.known).select("customer_id", "period_index", "reason")
    if only is not None:
        reasons = reasons.filter(reasons.customer_id == only)
    return _Segments(core=core, labels=reasons, no_label=_no_label("as_of"), rows=coded_rows)


def _stored(
    rows: ir.Table, recency: ir.Value, code: ir.Value, extras: dict[str, ir.Value], names: dict[int, str],
    periods: pd.DataFrame, first: int,
) -> tuple[ir.Table, Coded]:
    """The one table a story stores, and what is read from it: (period_segments' core, its :class:`Coded` rows).

    Stored: the story rows' grid columns, recency, the scheme's columns and the segment as an integer
    ``code`` (its order; ``names`` decodes it, -1 = Inactive) beside the previous period's. The core's
    segment names and period columns are looked up where it is read. ``first``: the first period of
    any story row.
    """
    stored = materialize(ibis.get_backend(rows), with_previous(rows.select(
        "customer_id", "period_index", "active", "purchases", "net", "profit", "first_purchase", "last_day",
        "purchases_to_date", "net_to_date", recency_days=recency, code=code.fill_null(-1).cast("int64"), **extras,
    )))
    out = stored.inner_join(_period_info(periods), "period_index")
    segment = out.code.substitute(names, else_=ibis.null("string"))
    core = _core(out, out.recency_days, segment, out.code, {c: out[c] for c in extras})
    coded_rows = Coded(
        rows=stored.select("customer_id", "period_index", "code", "active", "first_purchase", "before", "previous",
                           frequency=stored.purchases.cast("int64"), monetary=stored.net.cast("float64"),
                           last_purchase=stored.active.ifelse(stored.last_day, ibis.null("date")).cast("date")),
        names=names, orders={code: code for code in names},
        periods=periods.loc[periods["period_index"] >= first, ["period_index", "period", "period_start", "as_of"]],
    )
    return core, coded_rows


def _period_info(periods: pd.DataFrame) -> ir.Table:
    return ibis.memtable(periods[["period_index", "period", "period_start", "period_end", "as_of", "note"]])


def _no_label(kind: str) -> Any:
    """period column -> the reason of a row without a label."""
    if kind == "within_period":
        return lambda period: "no purchase in " + period
    return lambda period: ibis.literal("no net purchase value to date (returns cancel the purchases)")


def _core(out: ir.Table, recency: ir.Value, segment: ir.Value, order: ir.Value, extras: dict[str, ir.Value]) -> ir.Table:
    """period_segments' columns but the reason, ``customer_id`` = the integer key."""
    return out.select(
        customer_id=out.customer_id,
        period_index=out.period_index.cast("int64"),
        period=out.period,
        period_note=out.note,
        period_start=out.period_start.cast("date"),
        period_end=out.period_end.cast("date"),
        as_of=out.as_of.cast("date"),
        active=out.active,
        frequency=out.purchases.cast("int64"),
        monetary=out.net.cast("float64"),
        profit=out.profit.cast("float64"),
        first_purchase=out.first_purchase.cast("date"),
        last_purchase=out.active.ifelse(out.last_day, ibis.null("date")).cast("date"),
        recency_days=recency,
        frequency_to_date=out.purchases_to_date.cast("int64"),
        monetary_to_date=out.net_to_date.cast("float64"),
        segment=segment.fill_null(INACTIVE),
        segment_order=order.fill_null(-1).cast("int64"),
        **extras,
    )


def _segments(window: _Window, grid: ir.Table, period: str, scheme: str, kind: str, config: Any,
              notes: list[str], only: int | None = None) -> _Segments:
    """The stored segments of every customer, or (``only``: a customer key) of one customer, scored among all."""
    periods = window.periods
    con = ibis.get_backend(grid)
    config = _scheme_config(scheme, config, period)
    if kind == "as_of" and hasattr(get_scheme(scheme).load(), "label_scores"):
        return _ranked_segments(window, grid, scheme, config, only)
    features = as_of_features(grid, periods) if kind == "as_of" else within_features(grid, periods)
    features = materialize(con, features)
    if row_count(features) == 0:
        raise _no_purchase()
    rows = from_first_active(grid)
    if scheme == "value" and config.method in ENGINE_METHODS:  # clustered on distinct values: rows stay in the engine
        labels, reasons = value_labels(features, periods, config, notes)
        first = int(rows.period_index.min().execute())
        if only is not None:  # one customer's rows (clustered among everyone's)
            rows, reasons = rows.filter(rows.customer_id == only), reasons.filter(reasons.customer_id == only)
        out = rows.left_join(labels, ["customer_id", "period_index"])
        extras = {c: out[c] for c in get_scheme(scheme).story_columns if c in labels.columns}
        core, coded_rows = _stored(out, out.recency_days, out.segment_order, extras, names_of(scheme, config), periods,
                                   first)
        return _Segments(core=core, labels=reasons, no_label=_no_label(kind), rows=coded_rows)
    if only is not None:
        raise ValueError("one customer's segments are stored only where the story stores integer codes")
    labels = _label_rows(features, periods, scheme, config, notes)
    reasons = labels.select("customer_id", "period_index", "reason")
    out = rows.inner_join(_period_info(periods), "period_index")
    out = out.left_join(labels.drop("reason"), ["customer_id", "period_index"])
    if "recency_days" not in labels.columns:  # labels that carry it save a second join onto the grid
        out = out.left_join(features.select("customer_id", "period_index", "recency_days"),
                            ["customer_id", "period_index"])
    extras = {c: out[c] for c in get_scheme(scheme).story_columns if c in labels.columns}
    core = _core(out, out.recency_days, out.segment, out.segment_order, extras)
    return _Segments(core=materialize(con, core), labels=reasons, no_label=_no_label(kind))


def _with_reasons(core: ir.Table, labels: ir.Table, customers: ir.Table, no_label: Any) -> ir.Table:
    """period_segments as users read them: text customer ids, a reason per row, in id and period order."""
    names = customers.select(customer_key="customer_key", customer_text="customer_id")
    joined = core.inner_join(names, core.customer_id == names.customer_key)
    joined = joined.left_join(labels, ["customer_id", "period_index"])
    columns = [c for c in core.columns if c != "customer_id"]
    position = columns.index("segment_order") + 1
    values = {c: joined[c] for c in columns}
    values["reason"] = joined.reason.fill_null(no_label(joined.period))
    ordered = ["customer_id", *columns[:position], "reason", *columns[position:]]
    values["customer_id"] = joined.customer_text
    table = joined.select(**{c: values[c] for c in ordered}, _key=joined.customer_key)
    return table.order_by("_key", "period_index").drop("_key")  # keys run in id order


def _before(periods: pd.DataFrame, first: dt.date) -> list[int]:
    """Indexes of the periods that end before ``first`` (a period holding ``first`` is shown whole)."""
    hidden = [int(i) for i in periods.loc[pd.to_datetime(periods["period_end"]).dt.date < first, "period_index"]]
    if len(hidden) == len(periods):
        raise DataError(f"no period of the story ends on or after {first}; choose an earlier start",
                        field="start", value=str(first), fix=Fix(option="start", note="choose an earlier start"))
    return hidden


def _drop_periods(periods: pd.DataFrame, drop_partial: bool) -> tuple[pd.DataFrame, list[int]]:
    """(periods kept, indexes dropped): partial first/last periods when ``drop_partial``."""
    if not drop_partial:
        return periods, []
    edges = {int(periods["period_index"].min()), int(periods["period_index"].max())}
    dropped = [int(i) for i in periods.loc[periods["partial"], "period_index"] if int(i) in edges]
    kept = periods[~periods["period_index"].isin(dropped)].reset_index(drop=True)
    if kept.empty:
        raise DataError("every period of the story is partial; keep them (do not drop partial periods)")
    return kept, dropped


def period_segments(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    kind: Kind | None = None,
    config: Any = None,
    frequency: str = "auto",
    min_coverage: float = cov.MIN_COVERAGE,
) -> ir.Table:
    """Per customer and period (from their first active one): activity, spend and segment."""
    return build_story(tx, period=period, scheme=scheme, kind=kind, config=config, frequency=frequency,
                       min_coverage=min_coverage).period_segments


def customer_story(segments: ir.Table, *, period: feat.Period = "quarter") -> pd.DataFrame:
    """One row per customer: path of period segments, key dates, flags and a one-line narrative."""
    return story_table(segments, period=period)


def cohorts(
    tx: Any, period: feat.Period = "quarter", *, frequency: str = "auto",
    min_coverage: float = cov.MIN_COVERAGE,
) -> pd.DataFrame:
    """Acquisition cohort x periods since acquisition: retained customers and revenue (n and %)."""
    window = _window(tx, period, frequency, min_coverage)
    activity = period_activity(window.tx, window.periods, period, window.frequency)
    return cohort_table(period_grid(activity, window.periods), window.periods)


def build_story(
    tx: Any,
    *,
    period: feat.Period = "quarter",
    scheme: Scheme = "value",
    kind: Kind | None = None,
    config: Any = None,
    drop_partial: bool = False,
    min_coverage: float = cov.MIN_COVERAGE,
    frequency: str = "auto",
    start: feat.DateLike = None,
    end: feat.DateLike = None,
    org: str | list[str] | None = None,
    rollup: Rollup | None = None,
) -> StoryResult:
    """Every story table at once (segments per period, story, transitions, retention, cohorts).

    ``rollup`` (a workspace's, :meth:`segmint.workspace.Workspace.rollup`) holds per customer-month
    totals of exactly the lines of ``tx``: the story then reads it instead of every line, unless an
    end date or organisation narrows the lines.
    """
    if period not in feat.PERIOD_MONTHS:
        raise ConfigError(f"period={period!r}; choose one of {', '.join(feat.PERIOD_MONTHS)}")
    kind = _kind(scheme, kind)
    # As-of (lifecycle) segments stand on all the history up to each period end, so a start date hides
    # the earlier periods but never the purchases before it: otherwise a customer who first bought before
    # the window would be called "New Customers" in it. Within-period segments need only the window.
    first_day = feat._as_date(start, "start")  # a bad start fails here, before any work
    keep_history = kind == "as_of" and first_day is not None
    window = _window(tx, period, frequency, min_coverage, None if keep_history else first_day, end, org, rollup)
    notes = list(window.notes)
    con = ibis.get_backend(window.tx)
    if window.rollup is not None:
        activity = rollup_activity(window.rollup, window.periods, period, window.frequency)
    else:
        activity = period_activity(window.tx, window.periods, period, window.frequency)
    activity = materialize(con, activity)
    kept, dropped = _drop_periods(window.periods, drop_partial)
    hidden = _before(kept, first_day) if keep_history else []
    if hidden:
        kept = kept[~kept["period_index"].isin(hidden)].reset_index(drop=True)
        dropped = sorted(set(dropped) | set(hidden))
    settings = _scheme_config(scheme, config, period)

    def tables(label_notes: list[str]) -> Parts:
        return _tables(window, activity, period, scheme, kind, config, label_notes, kept, dropped)

    build: Callable[[], Parts]
    current: Callable[[], Current] | None = None
    card: Callable[[str], Card] | None = None
    if counted_without_tables(scheme, kind, settings) and any_active(activity):
        # the tables are built when first read; the overview is counted without them (notes said now)
        on_profit = profit_basis(active_rows(activity), window.periods, notes) if scheme == "value" else None
        build = lambda: tables([])  # noqa: E731 - the labelling notes were said above
        current = lambda: current_story(activity, window.periods, kept, scheme, settings, on_profit)  # noqa: E731

        def card(customer_id: str) -> Card:
            return _card(window, activity, period, scheme, kind, config, kept, dropped, customer_id)
    else:
        parts = tables(notes)
        build = lambda: parts  # noqa: E731
    if hidden:
        notes.append(f"segments as of each period end count the purchases before {first_day} too "
                     "(first purchase, to-date totals); earlier periods are not shown")
    for item in kept[kept["partial"]].itertuples():
        notes.append(f"{item.period} is {item.note}: totals are for part of the period; compare "
                     "per-day rates (retention table)")
    return StoryResult(
        period=period,
        scheme=scheme,
        kind=kind,
        periods=kept,
        dropped=[window.coverage[i] for i in dropped if i not in hidden],
        notes=notes,
        frequency=window.frequency,
        build=build,
        current=current,
        card=card,
    )


def _tables(
    window: _Window, activity: ir.Table, period: str, scheme: str, kind: str, config: Any, notes: list[str],
    kept: pd.DataFrame, dropped: list[int],
) -> Parts:
    """Every story table: keys, the grid, the stored segments, and what is read from them."""
    con = ibis.get_backend(activity)
    customers = materialize(con, customer_starts(activity))
    grid = materialize(con, period_grid(activity, window.periods, customers))
    labelled = _segments(window, grid, period, scheme, kind, config, notes)
    segments, labels = labelled.core, labelled.labels
    rows = labelled.rows if labelled.rows is not None else coded(segments, lambda table: materialize(con, table))
    per_period = retention(rows, window.periods)
    cohort = cohort_table(grid, window.periods)
    rows = rows.kept(dropped)
    if dropped:
        segments = segments.filter(~segments.period_index.isin(dropped))
        labels = labels.filter(~labels.period_index.isin(dropped))
        per_period = kept_periods(per_period, kept)
        cohort = cohort[cohort["cohort"].isin(kept["period"]) & cohort["period"].isin(kept["period"])]
        cohort = cohort.reset_index(drop=True)

    def one(customer_id: str) -> ir.Table:
        """The story query of one customer: their rows filtered by key before anything is aggregated."""
        found = customers.filter(customers.customer_id == customer_id)
        keys = found.customer_key.to_pyarrow().to_pylist()
        key = int(keys[0]) if keys else -1  # -1: no such customer, no row
        mine = Coded(rows=rows.rows.filter(rows.rows.customer_id == key), names=rows.names, orders=rows.orders,
                     periods=rows.periods)
        return story_query(mine, period=period, periods=kept, customers=found,
                           reasons=(labels.filter(labels.customer_id == key), labelled.no_label))

    return Parts(
        period_segments=_with_reasons(segments, labels, customers, labelled.no_label),
        story_query=story_query(rows, period=period, periods=kept, customers=customers,
                                reasons=(labels, labelled.no_label)),
        transitions=transitions(rows),
        retention=per_period,
        cohorts=cohort,
        rows=rows,
        one=one,
    )


def _card(
    window: _Window, activity: ir.Table, period: str, scheme: str, kind: str, config: Any, kept: pd.DataFrame,
    dropped: list[int], customer_id: str,
) -> Card:
    """One customer's card without every customer's stored segments.

    The grid of every customer is built (each period is scored among everyone known in it), but only
    this customer's rows are scored, labelled and stored: no 7.9M-row table for one card.
    """
    con = ibis.get_backend(activity)
    customers = materialize(con, customer_starts(activity))
    found = customers.filter(customers.customer_id == customer_id)
    keys = found.customer_key.to_pyarrow().to_pylist()
    key = int(keys[0]) if keys else -1  # -1: no such customer, no row
    grid = materialize(con, period_grid(activity, window.periods, customers))
    labelled = _segments(window, grid, period, scheme, kind, config, [], only=key)
    assert labelled.rows is not None  # the stored paths (see counted_without_tables)
    rows, segments, labels = labelled.rows.kept(dropped), labelled.core, labelled.labels
    if dropped:
        segments = segments.filter(~segments.period_index.isin(dropped))
        labels = labels.filter(~labels.period_index.isin(dropped))
    return Card(story=story_query(rows, period=period, periods=kept, customers=found,
                                   reasons=(labels, labelled.no_label)),
                 period_segments=_with_reasons(segments, labels, found, labelled.no_label))


