"""A story's segments per period: each customer-period scored by the scheme and stored once.

:func:`stored_segments` scores the grid of customer x period rows (``story_features``) as-of or
within each period and stores one table: the rows with each segment as an integer code beside the
previous period's (``story_rows.Coded``), or, for schemes labelled in Python, the labelled rows;
:func:`with_reasons` reads them back as users see them (text ids, a reason per row). Split out of
``story.py``, which builds the window, checks the scheme and kind and assembles the tables.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.engine import materialize, row_count
from segmint.errors import DataError, Fix
from segmint.memtables import frame_table
from segmint.segment import get_scheme
from segmint.story_current import from_first_active, names_of, ranked_labels
from segmint.story_features import as_of_features, within_features
from segmint.story_rows import INACTIVE, Coded, with_previous
from segmint.story_value import ENGINE_METHODS, basis_notes, value_labels

# what a scheme that scores every period in one expression (rfm, levels) reads of the features
RANKED_COLUMNS = ("customer_id", "period_index", "recency_days", "frequency", "monetary", "first_purchase",
                  "tenure_days")



def scheme_config(scheme: str, config: Any, period: str) -> Any:
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
            parts = dict(list(frame.groupby("period_index", sort=True)))
            on_profit = [int(index) for index, part in parts.items() if module.basis_column(part)[0] == "profit"]
            basis_notes(on_profit, [int(index) for index in parts], periods, notes)
            named = module.amount_name(bool(on_profit), config)  # every period's columns alike
            labelled = pd.concat([module.label_frame(part, config, named=named) for part in parts.values()],
                                 ignore_index=True)
        types = {"segment_order": "int64", "period_index": "int64"}
        return frame_table(labelled[[c for c in keep if c in labelled.columns]].astype(types))
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
class Segments:
    core: ir.Table  # period_segments without reasons, customer_id = the integer key
    labels: ir.Table  # customer_id (key), period_index, reason: read lazily
    no_label: Any  # period column -> the reason of a row without a label
    rows: Coded | None = None  # the core's rows as integers, when stored that way (else from the core)


class NoPurchaseError(DataError):
    """No customer has a purchase of positive net value in the story's lines: the story says what they
    hold instead (:func:`segmint.no_buyers.no_buyers_error`), as analyze does."""


def _no_purchase() -> DataError:
    return NoPurchaseError(
        "no customer has a purchase with positive net value in the story window; "
        "check the amount column mapping and the date and organisation filters",
        field="start", fix=Fix(option="start", note="widen the date range or clear the organisation filter"),
    )


def _ranked_segments(periods: pd.DataFrame, grid: ir.Table, scheme: str, config: Any, only: int | None = None) -> Segments:
    """As-of segments of a scheme that ranks every period at once (rfm, levels), scored in the grid itself.

    Each row is scored against the known rows of its period (by comparisons with the period's order
    statistics; rows not known are scored too, then ignored), so no feature or label table is joined
    back onto the grid. One table is stored: the grid's columns with each row's segment as an integer
    (its order) beside the previous period's; segments, reasons and period names are read from
    expressions over it (and over the grid) where they are used.
    """
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
    return Segments(core=core, labels=reasons, no_label=_no_label("as_of"), rows=coded_rows)


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
    return frame_table(periods[["period_index", "period", "period_start", "period_end", "as_of", "note"]])


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


def stored_segments(periods: pd.DataFrame, grid: ir.Table, period: str, scheme: str, kind: str, config: Any,
                    notes: list[str], only: int | None = None) -> Segments:
    """The stored segments of every customer, or (``only``: a customer key) of one customer, scored among all."""
    con = ibis.get_backend(grid)
    config = scheme_config(scheme, config, period)
    if kind == "as_of" and hasattr(get_scheme(scheme).load(), "label_scores"):
        return _ranked_segments(periods, grid, scheme, config, only)
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
        return Segments(core=core, labels=reasons, no_label=_no_label(kind), rows=coded_rows)
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
    return Segments(core=materialize(con, core), labels=reasons, no_label=_no_label(kind))


def with_reasons(core: ir.Table, labels: ir.Table, customers: ir.Table, no_label: Any) -> ir.Table:
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
