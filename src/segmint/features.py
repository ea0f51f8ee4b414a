"""Per-customer features (recency, frequency, monetary, ...) from the canonical transactions table.

Everything here is an Ibis expression over the canonical table, so it runs unchanged on DuckDB,
Spark and PostgreSQL; only the default snapshot date is computed eagerly (one ``max`` query).

Definitions (``customer_features``):

* The *window* is ``start <= invoice_date < end + 1 day`` (both bounds are whole calendar days,
  inclusive), restricted to ``org`` when given and to dates before ``snapshot_date`` when given.
* A *purchase* is an invoice (``frequency="invoices"``) or a calendar day (``frequency="days"``)
  whose net value (sum of ``amount``, returns negative) is positive; its date is the day of its
  earliest line. ``frequency`` counts purchases; ``first_purchase``/``last_purchase`` are the dates of
  the first and last purchase.
* *Tenure* starts at the first purchase, for every table that claims it: ``tenure_days``, RFM's "New
  Customers" (a purchase before the window's ``start`` counts: the window selects what is scored, not
  when the customer started), the story's first period ("First purchase 1997-Q4 as ...") and its cohorts. A line of
  zero value is no purchase and starts nothing: CDNOW customer 10824 (one CD at $0.00 on 1997-02-08,
  first paid purchase 1997-11-21) is in the 1997-Q4 cohort. Only the CLV summary
  (:mod:`segmint.btyd.summary`) counts such a free order as a purchase occasion, as the published
  CDNOW fits do, so its ``T`` runs from 1997-02-08.
* ``revenue`` is the customer's net value in the window: the sum of ``amount`` over all their lines
  (returns negative). It is the one definition of revenue every KPI, summary and tier sums.
* ``monetary`` is ``revenue`` (``"sum"``) or ``revenue`` divided by ``frequency`` (``"mean"``);
  ``avg_order_value`` is always revenue / frequency.
* Customers whose net value in the window is <= 0 (only returns, or returns cancelling every
  purchase) are **excluded**: they have no purchase to score. ``excluded_customers`` lists them.
* ``recency_days`` = snapshot - last purchase and ``tenure_days`` = snapshot - first purchase, in days;
  the default snapshot is the day after the last transaction in the window (so a purchase on the
  last day has recency 1).
* ``profit`` sums ``amount - cost`` over lines with a known cost (null when none has one);
  ``n_products`` counts distinct products (ids, else names) on non-return lines that are merchandise (postage, fees,
  discounts ... are not products: :mod:`segmint.merchandise`), null (blank) when the source maps no product
  column (CDNOW): the data do not say what was bought, not that nothing was; ``country`` is the country on most
  of the customer's lines (ties -> alphabetically first; null when never known).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Literal

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError, DataError, Fix

if TYPE_CHECKING:
    from segmint.merchandise import NonMerchandiseValues

log = logging.getLogger(__name__)

Period = Literal["quarter", "month", "year"]
PERIOD_MONTHS: dict[str, int] = {"month": 1, "quarter": 3, "year": 12}
DateLike = dt.date | dt.datetime | str | None
# Net values within this of zero count as zero: a purchase fully returned sums to +-1e-14 or so,
# with a sign that depends on the engine's summation order (DuckDB and Spark disagreed on 1 customer
# in 244,110 without it). Far below any real price, even in satoshi-like units.
MONEY_EPSILON = 1e-6


# Money sums are rounded to this many decimals where they are formed: far below a cent (and below
# any exported precision), far above float noise. A float sum's last bits depend on the order the
# engine adds in (DuckDB's threads, Spark's partitions), and a value at an exact half cent (revenue /
# orders = x.xx5) then rounded to either cent at the edge, so two runs of the same code disagreed.
MONEY_SUM_DECIMALS = 6


def money_round(value: ir.NumericValue) -> ir.FloatingValue:
    """A money sum (or a mean of sums) rounded to ``MONEY_SUM_DECIMALS``, as float64."""
    return value.round(MONEY_SUM_DECIMALS).cast("float64")


def money_sum(value: ir.NumericValue) -> ir.FloatingValue:
    """``value.sum()`` rounded to ``MONEY_SUM_DECIMALS``: the same number whatever the summation order."""
    return money_round(value.sum())


def money_total(value: ir.NumericValue) -> ir.FloatingValue:
    """An exact sum of many money values (each to ``MONEY_SUM_DECIMALS`` places, added as decimals).

    For totals over many customers (a segment's revenue): a float sum of a million values near 1e9
    carries order noise above the sixth decimal, so ``money_sum``'s rounding alone left a segment's
    revenue and share of revenue differing in their last digits between two runs.
    """
    return value.cast(f"decimal(38, {MONEY_SUM_DECIMALS})").sum().cast("float64")


def is_positive(value: ir.NumericValue) -> ir.BooleanValue:
    """A net amount that is really above zero (not summation noise); see ``MONEY_EPSILON``."""
    return value > MONEY_EPSILON

__all__ = [
    "customer_features",
    "customer_line_stats",
    "default_snapshot_date",
    "excluded_customers",
    "filter_window",
    "in_countries",
    "purchase_unit",
    "resolve_frequency",
]


def _as_date(value: DateLike, name: str) -> dt.date | None:
    """Parse a date parameter (date, datetime or ISO text); ConfigError names the parameter."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise ConfigError(
            f"{name}={value!r} is not a date ({exc}); use the form YYYY-MM-DD",
            field=name, value=value, fix=Fix(option=name, example="2024-01-31"),
        ) from exc


def _midnight(day: dt.date) -> ir.TimestampScalar:
    return ibis.literal(dt.datetime(day.year, day.month, day.day), type="timestamp")


def filter_window(
    tx: ir.Table,
    *,
    start: DateLike = None,
    end: DateLike = None,
    org: str | list[str] | None = None,
    before: DateLike = None,
) -> ir.Table:
    """Rows of ``tx`` with ``start <= day <= end`` (whole days), in ``org``, and before ``before``."""
    start_day, end_day = _as_date(start, "start"), _as_date(end, "end")
    before_day = _as_date(before, "snapshot_date")
    if start_day and end_day and start_day > end_day:
        raise ConfigError(
            f"start {start_day} is after end {end_day}; swap them",
            field="start", value=start_day, fix=Fix(option="start", example=end_day.isoformat()),
        )
    if org is not None:
        orgs = [org] if isinstance(org, str) else list(org)
        tx = tx.filter(tx.org_id.isin(orgs))
    if start_day:
        tx = tx.filter(tx.invoice_date >= _midnight(start_day))
    if end_day:
        tx = tx.filter(tx.invoice_date < _midnight(end_day + dt.timedelta(days=1)))
    if before_day:
        tx = tx.filter(tx.invoice_date < _midnight(before_day))
    return tx


def _window_where(
    tx: ir.Table, where: ir.BooleanValue, *, start: DateLike, end: DateLike, org: str | list[str] | None,
    before: DateLike,
) -> ir.Table:
    """The lines of ``tx`` where ``where`` holds, in the window. Filtered before the window, so a query
    reading the window's lines in another branch does not share them with this one: Ibis writes a
    shared subexpression as a CTE, which DuckDB materialises whole (the retail log's two feature
    queries: 0.080 -> 0.063 and 0.061 -> 0.048 s with the lines read twice instead)."""
    return filter_window(tx.filter(where), start=start, end=end, org=org, before=before)


def _windowed_totals(
    totals: ir.Table | None, *, start: DateLike, end: DateLike, org: str | list[str] | None, before: DateLike
) -> ir.Table | None:
    """``totals`` (invoice totals of every line) restricted to the window, or None when they cannot
    stand for it (an organisation is not part of their grain: the lines are read then)."""
    if totals is None or org is not None:
        return None
    from segmint.invoices import window_totals

    return window_totals(
        totals, start=_as_date(start, "start"), end=_as_date(end, "end"), before=_as_date(before, "snapshot_date")
    )


def in_countries(tx: ir.Table, country: str | Sequence[str] | None) -> ir.Table:
    """Lines whose country is ``country`` (or one of them); every line when None or empty."""
    countries = [country] if isinstance(country, str) else list(country or [])
    return tx.filter(tx.country.isin(countries)) if countries else tx


def default_snapshot_date(tx: ir.Table, whole: ir.Table | None = None) -> dt.date:
    """The day after the last transaction of ``tx`` (already windowed); DataError when empty, naming
    the dates ``whole`` (the lines before the window) cover, so the window can be put on them."""
    last = tx.invoice_date.max().to_pyarrow().as_py()
    if last is None or last != last:  # None or NaT
        cover, first = "", None
        if whole is not None:
            span = whole.aggregate(first=whole.invoice_date.min(), last=whole.invoice_date.max()).to_pyarrow()
            first, final = span["first"][0].as_py(), span["last"][0].as_py()
            if first is not None:
                cover = f"; the data cover {first:%Y-%m-%d} to {final:%Y-%m-%d}"
        raise DataError(
            f"no transactions in the selected window (dates, organisation){cover}",
            field="start", fix=Fix(option="start", example=None if first is None else f"{first:%Y-%m-%d}",
                                   note="widen the date range or clear the organisation filter"),
        )
    return last.date() + dt.timedelta(days=1)


def purchase_unit(tx: ir.Table) -> Literal["invoices", "days"]:
    """``"days"`` when the data have no invoice column, else ``"invoices"``.

    Cleaning gives a line without an invoice id the id ``<source>:<row>`` (a workspace adds
    `` (import <n>)``), one line each; when every
    invoice is such a single synthesised line, a customer's lines on one day are one visit. The
    mapping decides when it is known; otherwise (workspaces, ready tables) the ids do.
    """
    table = getattr(tx, "table", tx)
    mapping = getattr(tx, "mapping", None)
    if mapping is not None and hasattr(mapping, "fields"):
        return "invoices" if "invoice_id" in mapping.fields else "days"
    # a workspace stores a made-up id with the import that added it: "<source>:<row> (import <n>)"
    synthetic = table.invoice_id.re_search(r":[0-9]+( \(import [0-9]+\))?$")
    # one real invoice id settles it: a query that stops at the first (a full count and distinct
    # count of 5e7 ids took 31 s of a story); only all-synthesised ids need the counts
    if table.filter(~synthetic).select("invoice_id").limit(1).to_pyarrow().num_rows:
        return "invoices"
    counts = table.aggregate(lines=table.count(), invoices=table.invoice_id.nunique()).to_pyarrow().to_pylist()[0]
    return "days" if int(counts["invoices"]) == int(counts["lines"]) else "invoices"


NO_INVOICES_NOTE = (
    "no invoice column: one customer's purchases on one day count as one visit (frequency by days)"
)


def resolve_frequency(tx: ir.Table, frequency: str = "auto") -> tuple[Literal["invoices", "days"], str]:
    """(purchase unit, note): ``"auto"`` counts days when the data have no invoice column, and says so."""
    if frequency not in ("auto", "invoices", "days"):
        raise ConfigError(
            f"frequency={frequency!r}; choose 'auto', 'invoices' or 'days'",
            field="frequency", value=frequency,
            fix=Fix(option="frequency", choices=("auto", "invoices", "days")),
        )
    if frequency != "auto":
        return frequency, ""  # type: ignore[return-value]
    unit = purchase_unit(tx)
    return unit, NO_INVOICES_NOTE if unit == "days" else ""


def _purchases(
    tx: ir.Table, frequency: str, totals: ir.Table | None = None, *, totals_per_invoice: bool = False
) -> ir.Table:
    """One row per customer purchase unit (invoice or day) with its net value and date (from the
    lines, or from their ``totals`` per invoice and day when given; with ``totals_per_invoice``, the
    rows of ``totals`` are the invoices themselves)."""
    if frequency not in ("invoices", "days"):
        raise ConfigError(
            f"frequency={frequency!r}; choose 'invoices' or 'days'",
            field="frequency", value=frequency, fix=Fix(option="frequency", choices=("invoices", "days")),
        )
    if totals is not None and totals_per_invoice and frequency == "invoices":
        # one row per invoice: grouping by customer and invoice would leave every row as it is (at 1e7
        # lines, 2.1M rows regrouped for nothing: about half of the features' CPU)
        return totals.select(customer_id=totals.customer_id, unit=totals.invoice_id, net=totals.net, unit_date=totals.day)
    if totals is not None:
        key = totals.invoice_id if frequency == "invoices" else totals.day
        return totals.group_by(customer_id=totals.customer_id, unit=key).aggregate(
            net=totals.net.sum(), unit_date=totals.day.min()
        )
    day = tx.invoice_date.date()
    key = tx.invoice_id if frequency == "invoices" else day
    return tx.group_by(customer_id=tx.customer_id, unit=key).aggregate(
        net=tx.amount.sum(), unit_date=day.min()
    )


def _main_country(known: ir.Table, totals: ir.Table | None = None) -> ir.Table:
    """customer_id -> country on most lines (ties alphabetical), from ``totals`` when given, else from
    the lines ``known`` (those with a country)."""
    if totals is not None:
        known = totals.filter(totals.country.notnull())
        counts = known.group_by("customer_id", "country").aggregate(n_lines=known.lines.sum())
    else:
        counts = known.group_by("customer_id", "country").aggregate(n_lines=known.count())
    rank = ibis.row_number().over(
        group_by=counts.customer_id, order_by=[ibis.desc(counts.n_lines), counts.country]
    )
    ranked = counts.mutate(rank=rank)
    return ranked.filter(ranked.rank == 0).select("customer_id", "country")


def customer_line_stats(
    tx: ir.Table,
    *,
    snapshot_date: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    org: str | list[str] | None = None,
    totals: ir.Table | None = None,
    product_codes: tuple[ir.Table, int] | None = None,
    non_merchandise: NonMerchandiseValues | None = None,
    mapped: Collection[str] | None = None,
) -> ir.Table:
    """Per customer, over their lines in the window: the net value as summed (``net_sum``), profit,
    lines and distinct products bought (returns and non-merchandise lines aside).

    ``non_merchandise``: what :class:`segmint.merchandise.MerchandiseRules` found in ``tx`` (default:
    the packaged rules, one query for the distinct product codes and names).

    ``product_codes``: every product id numbered (:func:`segmint.distinct.codes`, DuckDB): each
    customer's distinct products are then counted as the bits of one bit string, grouping by
    customer alone instead of by every (customer, product) pair. ``mapped``: the fields the source
    mapped, which say whether a product is its id or its name (:func:`product_of`).

    ``customer_features`` and ``excluded_customers`` both start from these; materialised once and
    passed to both as ``line_stats``, the lines are read once for the two (at 1e7 lines a pass over
    them costs 1-2 CPU seconds). ``totals``: :func:`segmint.invoices.invoice_totals` of ``tx``, when
    already computed (the sums then come from it; distinct products still need the lines).
    """
    window = filter_window(tx, start=start, end=end, org=org, before=snapshot_date)
    groups = _windowed_totals(totals, start=start, end=end, org=org, before=snapshot_date)
    if groups is not None:
        sums = groups.group_by("customer_id").aggregate(
            net_sum=groups.net.sum(), profit=money_sum(groups.profit), lines=groups.lines.sum().cast("int64")
        )
    else:
        sums = window.group_by("customer_id").aggregate(
            net_sum=window.amount.sum(), profit=money_sum(window.amount - window.cost), lines=window.count()
        )
    if not _has_products(tx, mapped):  # no product column: how many products is unknown, not 0
        return sums.select("customer_id", "net_sum", "profit", "lines", n_products=ibis.null("int64"))
    # distinct products as two plain groupings (customer and product, then customer): the same count
    # as a distinct count, but DuckDB spills plain groupings to disk when they outgrow its memory
    # limit, and a grouped distinct count of 1e8 lines ran out of memory at the 1.5 GB default
    # a product is its id, or its name when the data name products without codes (a basket log's
    # itemDescription), as recommendations key them
    bought = _window_where(
        tx, ~tx.is_return.fill_null(False) & product_of(tx, mapped).notnull(), start=start, end=end, org=org,
        before=snapshot_date,
    )
    if non_merchandise is None:
        from segmint.merchandise import MerchandiseRules

        non_merchandise = MerchandiseRules.default().find_values(tx)
    if not non_merchandise.empty:
        bought = bought.filter(~non_merchandise.flag(bought))
    if product_codes is not None:
        from segmint.distinct import count_codes

        numbered, n = product_codes
        coded = bought.inner_join(numbered, product_of(bought, mapped) == numbered.value)
        products = coded.group_by("customer_id").aggregate(n_products=count_codes(coded.code, n))
    else:
        pairs = bought.group_by(["customer_id", product_of(bought, mapped).name("product")]).aggregate()
        products = pairs.group_by("customer_id").aggregate(n_products=pairs.count())
    joined = sums.left_join(products, "customer_id")
    return joined.select(
        sums.customer_id, sums.net_sum, sums.profit, sums.lines, n_products=products.n_products.fill_null(0)
    )


def _has_products(tx: ir.Table, mapped: Collection[str] | None) -> bool:
    """Does the source name products (a mapped product id or name; unknown mapping: a line naming one)?

    A workspace or a ready canonical table has both product columns whatever its source had: CDNOW's
    log ingested into a workspace counted 0 products for every customer where the file gives blank.
    """
    fields = {"product_id", "product_name"}
    if mapped is not None:
        return bool(fields & set(mapped))
    if not fields & set(tx.columns):
        return False
    named = tx.filter(product_of(tx).notnull()).limit(1)  # stops at the first line naming a product
    return int(named.count().execute()) > 0


def product_of(tx: ir.Table, mapped: Collection[str] | None = None) -> ir.StringValue:
    """A line's product: its id, else its name (products named without codes); the id alone for a table
    without a name column.

    ``mapped``: the canonical fields the source mapped, when known. A source that maps product ids
    reads the ids alone and one that maps only names the names alone: the other column is not read
    (at 1e7 lines the products pass decoded every product name for ids that were never missing).
    """
    if mapped is not None and "product_id" in mapped:
        return tx.product_id
    if mapped is not None and "product_name" in mapped:
        return tx.product_name
    return ibis.coalesce(tx.product_id, tx.product_name) if "product_name" in tx.columns else tx.product_id


def customer_features(
    tx: ir.Table,
    *,
    snapshot_date: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    org: str | list[str] | None = None,
    frequency: Literal["invoices", "days"] = "invoices",
    monetary: Literal["sum", "mean"] = "sum",
    line_stats: ir.Table | None = None,
    totals: ir.Table | None = None,
    totals_per_invoice: bool = False,
) -> ir.Table:
    """One row per customer with a positive net value: recency, frequency, monetary and context.

    ``line_stats``: :func:`customer_line_stats` of the same lines and window, when already computed;
    ``totals``: :func:`segmint.invoices.invoice_totals` of ``tx`` (purchases and the main country are
    then summed from it instead of the lines); ``totals_per_invoice``: every invoice is one row of
    ``totals`` (:func:`segmint.invoices.one_row_per_invoice`), so its rows are the purchases by invoice.
    """
    if monetary not in ("sum", "mean"):
        raise ConfigError(
            f"monetary={monetary!r}; choose 'sum' or 'mean'",
            field="monetary", value=monetary, fix=Fix(option="monetary", choices=("sum", "mean")),
        )
    window = filter_window(tx, start=start, end=end, org=org, before=snapshot_date)
    snapshot = _as_date(snapshot_date, "snapshot_date") or default_snapshot_date(window)
    snap = ibis.literal(snapshot, type="date")

    groups = _windowed_totals(totals, start=start, end=end, org=org, before=snapshot_date)
    units = _purchases(window, frequency, groups, totals_per_invoice=totals_per_invoice)
    bought = units.filter(is_positive(units.net))
    purchase_stats = bought.group_by("customer_id").aggregate(
        frequency=bought.count(),
        first_purchase=bought.unit_date.min(),
        last_purchase=bought.unit_date.max(),
    )
    if line_stats is None:
        line_stats = customer_line_stats(tx, snapshot_date=snapshot_date, start=start, end=end, org=org, totals=totals)
    line_stats = line_stats.select(
        "customer_id", "profit", "n_products",
        net_value=money_round(line_stats.net_sum),  # as money_sum rounds it
    )  # fmt: skip
    kept = line_stats.filter(is_positive(line_stats.net_value))
    joined = kept.inner_join(purchase_stats, "customer_id")
    if start is not None:  # tenure starts at the first purchase, also one made before the window
        joined = _first_purchase_ever(joined, tx, end=end, org=org, snapshot_date=snapshot_date, frequency=frequency,
                                      totals=totals, totals_per_invoice=totals_per_invoice)
    known = _window_where(tx, tx.country.notnull(), start=start, end=end, org=org, before=snapshot_date)
    joined = joined.left_join(_main_country(known, groups), "customer_id").drop("customer_id_right")
    freq = joined.frequency.cast("int64")
    aov = joined.net_value / freq.cast("float64")
    return joined.select(
        customer_id=joined.customer_id,
        recency_days=snap.delta(joined.last_purchase, unit="day").cast("int64"),
        frequency=freq,
        monetary=(joined.net_value if monetary == "sum" else aov).cast("float64"),
        revenue=joined.net_value.cast("float64"),
        avg_order_value=aov.cast("float64"),
        profit=joined.profit.cast("float64"),
        tenure_days=snap.delta(joined.first_purchase, unit="day").cast("int64"),
        first_purchase=joined.first_purchase,
        last_purchase=joined.last_purchase,
        n_products=joined.n_products.cast("int64"),
        country=joined.country,
    ).order_by("customer_id")


def _first_purchase_ever(
    joined: ir.Table, tx: ir.Table, *, end: DateLike, org: str | list[str] | None, snapshot_date: DateLike,
    frequency: Literal["invoices", "days"], totals: ir.Table | None, totals_per_invoice: bool,
) -> ir.Table:
    """``joined`` with ``first_purchase`` moved to the customer's first purchase before the window's start.

    A window (``start``) selects the purchases scored, not when a customer started: cut at 1998-04-01,
    every CDNOW customer active in 1998-Q2 (all first seen in 1997-Q1) was a "New Customer" with a
    tenure of one quarter.
    """
    history = filter_window(tx, end=end, org=org, before=snapshot_date)
    groups = _windowed_totals(totals, start=None, end=end, org=org, before=snapshot_date)
    units = _purchases(history, frequency, groups, totals_per_invoice=totals_per_invoice)
    bought = units.filter(is_positive(units.net))
    earliest = bought.group_by("customer_id").aggregate(first_ever=bought.unit_date.min())
    moved = joined.left_join(earliest, "customer_id")
    return moved.mutate(first_purchase=ibis.coalesce(moved.first_ever, moved.first_purchase)).drop(
        "first_ever", "customer_id_right"
    )


def excluded_customers(
    tx: ir.Table,
    *,
    snapshot_date: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    org: str | list[str] | None = None,
    line_stats: ir.Table | None = None,
) -> ir.Table:
    """Customers left out of ``customer_features`` (net value <= 0 in the window), with that value.

    ``line_stats``: :func:`customer_line_stats` of the same lines and window, when already computed.
    """
    if line_stats is not None:
        per_customer = line_stats.select("customer_id", net_value=line_stats.net_sum, lines=line_stats.lines)
    else:
        window = filter_window(tx, start=start, end=end, org=org, before=snapshot_date)
        per_customer = window.group_by("customer_id").aggregate(net_value=window.amount.sum(), lines=window.count())
    return per_customer.filter(~is_positive(per_customer.net_value)).order_by("customer_id")
