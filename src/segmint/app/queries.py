"""Small aggregate queries the dashboard draws: Ibis in, small pandas tables out.

``customers`` is a labelled per-customer table (features + ``segment``, ``segment_order``,
``reason``); ``tx`` the canonical transactions. Every result is bounded (grouped or limited), so
the dashboard stays responsive with a million customers.
"""

from __future__ import annotations

import math
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from segmint.engine import row_count

RECENT_DAYS = 90
SCATTER_LIMIT = 50_000
SEARCH_LIMIT = 20


def kpis(customers: ir.Table, recent_days: int = RECENT_DAYS) -> dict[str, float]:
    """Customers, net revenue, orders, average order value, share who bought in the last ``recent_days``."""
    from segmint.report import customer_kpis

    return customer_kpis(customers, recent_days)


def segment_counts(customers: ir.Table) -> pd.DataFrame:
    """segment, segment_order, customers, revenue, most valuable first."""
    grouped = customers.group_by("segment", "segment_order").aggregate(
        customers=customers.count(), revenue=customers.revenue.sum()
    )
    return grouped.order_by(ibis.desc("segment_order"), "segment").execute()


def rf_grid(scored: ir.Table) -> pd.DataFrame:
    """Customers and average monetary per (r_score, f_score) cell of an RFM-scored table."""
    grouped = scored.group_by("r_score", "f_score").aggregate(
        customers=scored.count(), avg_monetary=scored.monetary.mean()
    )
    return grouped.order_by("r_score", "f_score").execute()


def rfm_score_totals(scored: ir.Table) -> pd.DataFrame:
    """Customers and average monetary per total RFM score (r_score + f_score + m_score)."""
    total = (scored.r_score + scored.f_score + scored.m_score).cast("int64")
    grouped = scored.group_by(total_score=total).aggregate(
        customers=scored.count(), avg_monetary=scored.monetary.mean()
    )
    return grouped.order_by("total_score").execute()


def country_revenue(customers: ir.Table) -> pd.DataFrame:
    """country (customer's main country), revenue, customers."""
    grouped = customers.group_by("country").aggregate(
        revenue=customers.revenue.sum(), customers=customers.count()
    )
    return grouped.order_by(ibis.desc("revenue")).execute()


def histogram_bins(customers: ir.Table, feature: str, *, bins: int = 40, log: bool = False) -> pd.DataFrame:
    """Equal-width bins of ``feature`` (of log10(feature) when ``log``; values <= 0 then skipped).

    Whole-number values (visits, days, items) get whole-number bins: from k - 0.5 to m + 0.5, so
    neighbouring bars touch; on the log scale a bin spans the whole numbers its log range holds
    (log10 of first - 0.5 to last + 0.5), never a fraction of one. Such bins also carry ``first`` and
    ``last``, the whole numbers they hold, which the hover text shows ("3", "1 to 19").
    """
    source = customers.filter(customers[feature] > 0) if log else customers
    raw = source[feature].cast("float64")
    values = source.select(raw=raw, value=raw.log10() if log else raw)
    stats = values.aggregate(
        low=values.value.min(), high=values.value.max(), fractions=(values.raw != values.raw.floor()).sum()
    ).execute().iloc[0]
    if pd.isna(stats["low"]):
        return pd.DataFrame({"bin_start": [], "bin_end": [], "customers": []})
    low, high = float(stats["low"]), float(stats["high"])
    whole = int(stats["fractions"]) == 0
    if whole and not log:
        width = max(1.0, math.ceil((high - low + 1) / bins))  # whole-number bins for counts and days
        low -= 0.5
    else:
        width = (high - low) / bins or 1.0
    index = ((values.value - low) / width).floor().cast("int64").clip(upper=bins - 1)
    counts = values.group_by(bin=index).aggregate(
        customers=values.count(), first=values.raw.min(), last=values.raw.max()
    ).execute().sort_values("bin")
    if whole and log:  # a bin spans the whole numbers in its log range (those it holds at least); values >= 1
        edges = np.ceil(10 ** (low + np.arange(bins + 1) * width) - 1e-9)
        number = counts["bin"].to_numpy()
        first = np.minimum(edges[number], counts["first"].to_numpy())
        last = np.maximum(edges[number + 1] - 1, counts["last"].to_numpy())
        return pd.DataFrame({"bin_start": np.log10(first - 0.5), "bin_end": np.log10(last + 0.5),
                             "customers": counts["customers"].to_numpy(), "first": first.astype("int64"),
                             "last": last.astype("int64")})  # fmt: skip
    bins_ = pd.DataFrame(
        {
            "bin_start": low + counts["bin"].to_numpy() * width,
            "bin_end": low + (counts["bin"].to_numpy() + 1) * width,
            "customers": counts["customers"].to_numpy(),
        }
    )
    if whole:  # the whole numbers a bar holds, for its label: 1 (width 1) or 1 to 19
        bins_["first"] = np.rint(bins_["bin_start"] + 0.5).astype("int64")
        bins_["last"] = np.rint(bins_["bin_end"] - 0.5).astype("int64")
    return bins_


def scatter_points(customers: ir.Table, limit: int = SCATTER_LIMIT) -> tuple[pd.DataFrame, int]:
    """(points, total): every customer when there are at most ``limit``, else a reproducible random sample."""
    columns = ["customer_id", "recency_days", "frequency", "monetary", "segment", "segment_order"]
    total = row_count(customers)  # the analysis's materialised customers: counted when stored
    table = customers.select(*columns)
    if total > limit:
        table = table.order_by(table.customer_id.hash()).limit(limit)
    return table.execute(), total


def search_customers(customers: ir.Table, text: str, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """Customers whose id contains ``text`` (case-insensitive), exact and prefix matches first."""
    needle = text.replace("\x00", "").strip().lower()  # a NUL cannot be in a SQL literal (nor in an id)
    if not needle:
        return recent_customers(customers, limit)
    ident = customers.customer_id.lower()
    hits = customers.filter(ident.contains(needle))
    rank = ibis.cases((ident == needle, 0), (ident.startswith(needle), 1), else_=2)
    hits = hits.mutate(match_rank=rank).order_by("match_rank", "customer_id").limit(limit)
    return hits.select("customer_id", "segment", "last_purchase", "recency_days").execute()


def recent_customers(customers: ir.Table, limit: int = SEARCH_LIMIT) -> pd.DataFrame:
    """The ``limit`` customers with the most recent last purchase."""
    ordered = customers.order_by("recency_days", "customer_id").limit(limit)
    return ordered.select("customer_id", "segment", "last_purchase", "recency_days").execute()


def customer_row(customers: ir.Table, customer_id: str) -> dict[str, Any] | None:
    """The labelled row of one customer as a dict (None when the id is not in the table)."""
    if "\x00" in customer_id:  # never an id (readers remove NUL bytes), and no SQL literal can hold one:
        return None  # /api/customers/%00 answered 500 Internal Server Error
    frame = customers.filter(customers.customer_id == customer_id).limit(1).execute()
    return None if frame.empty else frame.iloc[0].to_dict()


def customer_purchases(tx: ir.Table, customer_id: str) -> pd.DataFrame:
    """One row per invoice of one customer: invoice_id, invoice_date (first line), net amount."""
    mine = tx.filter(tx.customer_id == customer_id)
    grouped = mine.group_by("invoice_id").aggregate(
        invoice_date=mine.invoice_date.min(), amount=mine.amount.sum()
    )
    return grouped.order_by("invoice_date").execute()


def distinct_values(tx: ir.Table, column: str, limit: int = 500) -> list[str]:
    """Sorted non-null distinct values of ``column`` (filter dropdown options)."""
    values = tx.select(value=tx[column]).filter(ibis._.value.notnull()).distinct()
    return sorted(values.limit(limit).execute()["value"].astype(str))


def date_range(tx: ir.Table) -> tuple[str | None, str | None]:
    """First and last transaction day as ISO text (None, None when empty)."""
    row = tx.aggregate(first=tx.invoice_date.min(), last=tx.invoice_date.max()).execute().iloc[0]
    if pd.isna(row["first"]):
        return None, None
    return row["first"].date().isoformat(), row["last"].date().isoformat()


def customers_page(
    customers: ir.Table,
    columns: list[str],
    *,
    start: int,
    end: int,
    sort_model: list[dict] | None = None,
    filter_model: dict | None = None,
) -> tuple[pd.DataFrame, int]:
    """Rows ``start:end`` of the customers table after ag-grid style filters and sorts; and the row count."""
    table = apply_grid_filters(customers, filter_model or {})
    keys = [
        ibis.desc(s["colId"]) if s.get("sort") == "desc" else ibis.asc(s["colId"])
        for s in sort_model or []
        if s.get("colId") in columns
    ]
    ordered = table.order_by([*keys, "customer_id"])
    total = row_count(table)  # unfiltered analysis customers: counted when stored; else one count query
    page = ordered.select(*columns).limit(max(end - start, 0), offset=start).execute()
    return page, total


def apply_grid_filters(table: ir.Table, filter_model: dict) -> ir.Table:
    """Apply ag-grid text/number filters (contains, equals, greaterThan, lessThan, inRange)."""
    for column, spec in filter_model.items():
        if column not in table.columns:
            continue
        value, kind = spec.get("filter"), spec.get("type", "contains")
        col = table[column]
        if spec.get("filterType") == "number":
            if value is None:
                continue
            predicate = {
                "equals": col == value,
                "notEqual": col != value,
                "greaterThan": col > value,
                "greaterThanOrEqual": col >= value,
                "lessThan": col < value,
                "lessThanOrEqual": col <= value,
                "inRange": col.between(value, spec.get("filterTo", value)),
            }.get(kind)
        else:
            if value in (None, ""):
                continue
            text, needle = col.cast("string").lower(), str(value).lower()
            predicate = {
                "contains": text.contains(needle),
                "notContains": ~text.contains(needle),
                "equals": text == needle,
                "notEqual": text != needle,
                "startsWith": text.startswith(needle),
                "endsWith": text.endswith(needle),
            }.get(kind)
        if predicate is not None:
            table = table.filter(predicate)
    return table
