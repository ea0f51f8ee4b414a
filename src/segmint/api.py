"""Top level: read -> map -> clean (``read_transactions``, from :mod:`segmint.reading`) and features ->
segments -> KPIs (``analyze``), stories, value, recommendations and credit: the one pipeline."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeAlias

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint import _API as _EXPORTED
from segmint.analysis_result import AnalysisResult, Transactions
from segmint.errors import ConfigError, DataError, Fix
from segmint.lazy import LazyTables
from segmint.reading import MappingLike, Source, clean_raw, read_transactions
from segmint.units import has_prices, item_config, item_notes
from segmint.util import read_yaml_mapping

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from segmint.credit import CreditResult, ScorecardConfig
    from segmint.io.ledger import Ledger
    from segmint.io.vouchers import LedgerRules
    from segmint.btyd.result import CLVResult
    from segmint.clean import CleanOptions
    from segmint.features import DateLike, Period
    from segmint.merchandise import NonMerchandiseValues
    from segmint.results import Columns
    from segmint.recommendations import RecommendConfig, RecommendResult
    from segmint.segment._config import SegmentConfig
    from segmint.story import StoryResult

log = logging.getLogger(__name__)

# A YAML path, or one section per scheme: its config object or a mapping of its settings.
AnalysisConfig: TypeAlias = "str | Path | Mapping[str, SegmentConfig | Mapping[str, object] | None] | None"

# what ``segmint`` re-exports (listed there so ``import segmint`` stays light), plus ``story`` and
# ``credit``: ``segmint.story`` is the story module and ``segmint.credit`` the (callable) credit package
__all__ = [*_EXPORTED, "story", "credit"]


def load_analysis_config(config: AnalysisConfig) -> dict[str, SegmentConfig]:
    """Scheme configs from a YAML path or a dict with one section per scheme (``rfm:``, ``tiers:``, ...)."""
    from segmint.segment import scheme_config, scheme_names

    if config is None:
        return {}
    source = "config"
    if isinstance(config, (str, Path)):
        source = str(config)
        config = read_yaml_mapping(config, f"the analysis config (sections {', '.join(scheme_names())})")
    if not isinstance(config, Mapping):
        raise ConfigError(f"{source}: expected sections like 'rfm: {{bins: 5}}'", field="config")
    unknown = sorted(set(config) - set(scheme_names()))
    if unknown:
        raise ConfigError(
            f"{source}: unknown section(s) {unknown}; use {', '.join(scheme_names())}",
            field="config", value=unknown[0], fix=Fix(option="config", choices=scheme_names()),
        )
    return {
        scheme: scheme_config(scheme, section or {}, source=f"{source} [{scheme}]")
        for scheme, section in config.items()
    }


def _schemes(scheme: str | Sequence[str]) -> list[str]:
    from segmint.segment import get_scheme, scheme_names

    names = list(scheme_names()) if scheme == "all" else [scheme] if isinstance(scheme, str) else list(scheme)
    for name in names:
        get_scheme(name)  # ConfigError naming the choices
    return names


def _as_transactions(
    source: Source | ir.Table | Transactions, con: BaseBackend | None, step: Callable[[str], None]
) -> Transactions:
    if isinstance(source, Transactions):
        return source
    step("reading transactions")
    return read_transactions(source, con=con)


def analyze(
    source_or_transactions: Source | ir.Table | Transactions,
    *,
    scheme: str | Sequence[str] = "all",
    snapshot_date: DateLike = None,
    start: DateLike = None,
    end: DateLike = None,
    org: str | Sequence[str] | None = None,
    country: str | Sequence[str] | None = None,
    config: AnalysisConfig = None,
    con: BaseBackend | None = None,
    frequency: Literal["auto", "invoices", "days"] = "auto",
    monetary: Literal["sum", "mean"] = "sum",
    story_period: Period | None = None,
    story_scheme: str = "value",
    progress: Callable[[str], None] | None = None,
    treat_as_products: Sequence[str] = (),
    treat_as_services: Sequence[str] = (),
) -> AnalysisResult:
    """Customer features and segments (every registered scheme, or those named) with KPI summaries.

    The one pipeline behind the CLI, the dashboard and the Python API: ``country``, ``org``,
    ``start`` and ``end`` restrict the lines analysed; summaries and extra tables are computed when
    first read (see :class:`AnalysisResult`). ``frequency="auto"`` counts invoices, or calendar days
    when the data have no invoice column (``notes()`` says so). RFM's "New Customers" window is the
    story's period when a story is asked for (else a quarter), so the story's current segment and
    the analysis agree. ``n_products`` counts merchandise only (:mod:`segmint.merchandise`; items the
    user names in ``treat_as_products`` / ``treat_as_services`` override its rule table).
    """
    from segmint import engine
    from segmint.features import (
        customer_features,
        customer_line_stats,
        default_snapshot_date,
        excluded_customers,
        filter_window,
        in_countries,
        resolve_frequency,
    )
    from segmint.report import customer_kpis, segment_strategies, segment_summary_columns
    from segmint.segment import get_scheme, scheme_config

    step = progress or log.info
    names = _schemes(scheme)
    configs = load_analysis_config(config)
    tx = _as_transactions(source_or_transactions, con, step)
    priced = has_prices(tx.mapping)
    lines = in_countries(tx.table, country)
    orgs = [org] if isinstance(org, str) else (list(org) if org else None)
    window = dict(start=start, end=end, org=orgs)
    analysed = filter_window(lines, **window)
    # with no filter the cleaning report already knows the last date of the whole table
    last = getattr(tx.report, "last_date", None) if not (start or end or orgs or country) else None
    try:
        snapshot = snapshot_date or (
            last.date() + dt.timedelta(days=1) if last is not None else default_snapshot_date(analysed, lines)
        )
    except DataError as empty:
        from segmint.no_buyers import unmatched_filter_error

        raise unmatched_filter_error(tx.table, org=orgs, country=country) or empty from None
    frequency, frequency_note = resolve_frequency(tx, frequency)
    if story_period is not None and "rfm" in configs and "new_within" not in configs["rfm"].model_fields_set:
        configs["rfm"] = configs["rfm"].model_copy(update={"new_within": story_period})
    elif story_period is not None and "rfm" not in configs:
        configs["rfm"] = scheme_config("rfm", {"new_within": story_period})
    step("computing customer features")
    # a large input's lines summed per invoice, day and country by cleaning: the per-customer sums,
    # purchases and main country read these groups instead of the lines
    totals = in_countries(tx.totals, country) if tx.totals is not None else None
    # per-customer line sums once, for the features and the excluded customers (one pass over the lines)
    non_merchandise, product_codes = _product_counting(tx, treat_as_products, treat_as_services)
    stats = engine.materialize(tx.con, customer_line_stats(
        lines, snapshot_date=_lines_before(tx, snapshot), totals=totals, product_codes=product_codes,
        non_merchandise=non_merchandise, mapped=_mapped(tx), **window,
    ))  # fmt: skip
    features = customer_features(
        lines, snapshot_date=snapshot, frequency=frequency, monetary=monetary, line_stats=stats, totals=totals,
        totals_per_invoice=tx.totals_per_invoice, **window,
    )
    features = engine.materialize(tx.con, features)
    kpis = customer_kpis(features)  # one query: the customer count and the KPIs the result shows
    n_customers = int(kpis["customers"])
    if n_customers == 0:
        from segmint.no_buyers import no_buyers_error, unmatched_filter_error

        raise unmatched_filter_error(tx.table, org=orgs, country=country) or no_buyers_error(
            analysed, filtered=bool(start or end or orgs or country),
            snapshot_date=dt.date.fromisoformat(str(snapshot)[:10]) if snapshot_date else None,
        )
    summary_columns: LazyTables[Columns] = LazyTables()
    summary_tables: LazyTables[pa.Table] = LazyTables()  # the same tables in Arrow and pandas, converted when read
    summaries: LazyTables[pd.DataFrame] = LazyTables()
    tables: LazyTables[ir.Table | pd.DataFrame] = LazyTables()
    # materialised when first read: the CLI counts it and exports it, one scan of the lines for both
    excluded = partial(excluded_customers, lines, snapshot_date=snapshot, line_stats=stats, **window)
    tables.add("excluded_customers", lambda: engine.materialize(tx.con, excluded()))
    segments: dict[str, ir.Table] = {}
    used: dict[str, SegmentConfig] = {}
    skipped: dict[str, str] = {}
    for name in names:
        step(f"segmenting: {name}")
        scheme_ = get_scheme(name)
        if not scheme_.available():
            skipped[name] = "not available (its optional dependencies are not installed)"
            log.warning("scheme %s skipped: not importable", name)
            continue
        settings = used[name] = item_config(scheme_.config(configs.get(name)), priced)
        try:
            earlier = {done: (segments[done], used[done]) for done in segments}
            labelled = scheme_.assign_after(features, settings, earlier)
            labelled = engine.materialize(tx.con, labelled.order_by("customer_id"))
        except DataError as exc:
            if scheme != "all":  # a scheme the user named must run or fail
                raise
            # "all" means every scheme the data supports: one that cannot run (k-means on 2 customers)
            # is skipped with its reason instead of failing the others
            del used[name]
            skipped[name] = str(exc)
            log.warning("scheme %s skipped: %s", name, exc)
            continue
        segments[name] = labelled
        tables.add_group(partial(scheme_.extra_tables, features, labelled, settings))
        summary_columns.add(name, partial(segment_summary_columns, labelled, segment_strategies(settings, scheme=name)))
        summary_tables.add(name, partial(_to_arrow, summary_columns, name))
        summaries.add(name, partial(_to_pandas, summary_tables, name))
    story_result = None
    if story_period is not None:
        from segmint.story import build_story

        step(f"building customer stories per {story_period}")
        story_config = item_config(configs.get(story_scheme), priced, story_scheme)
        story_result = item_notes(build_story(
            lines, period=story_period, scheme=story_scheme, config=story_config, frequency=frequency, **window,
        ), priced)
        tables.update({n if n == "story" else f"story_{n}": t for n, t in story_result.tables().items()})
    log.info("analysed %d customers (snapshot %s): %s", n_customers, snapshot, ", ".join(segments))
    return AnalysisResult(
        features=features,
        snapshot_date=dt.date.fromisoformat(str(snapshot)[:10]),
        segments=segments,
        summaries=summaries,
        summary_tables=summary_tables,
        summary_columns=summary_columns,
        tables=tables,
        transactions=tx,
        window=analysed,
        configs=used,
        n_customers=n_customers,
        skipped=skipped,
        story=story_result,
        frequency=frequency,
        frequency_notes=[frequency_note] if frequency_note else [],
        _cache={"kpis": kpis},
    )


def _lines_before(tx: Transactions, snapshot: DateLike) -> DateLike:
    """``snapshot``, or None when every line is before it (the last date cleaning found is earlier): no
    per-line test (on a large CSV file, a date cast of every line in the pass it would add to). Only
    for lines fresh from cleaning (invoice totals computed), whose report describes exactly them."""
    last = getattr(tx.report, "last_date", None) if tx.totals is not None else None
    day = snapshot if isinstance(snapshot, dt.date) and not isinstance(snapshot, dt.datetime) else None
    return None if last is not None and day is not None and last.date() < day else snapshot


def _product_counting(
    tx: Transactions, as_products: Sequence[str], as_services: Sequence[str]
) -> tuple[NonMerchandiseValues, tuple[ir.Table, int] | None]:
    """What ``n_products`` needs: the non-merchandise codes and names (postage, fees ...: no product;
    none without a query when the source mapped no product column) and, for large inputs (invoice
    totals computed), the product ids numbered for counting distinct products as bit sets
    (:mod:`segmint.distinct`) when they are few enough: the product ids numbered serve both."""
    from segmint.distinct import codes
    from segmint.features import product_of
    from segmint.merchandise import MerchandiseRules, NonMerchandiseValues

    if tx.mapping is not None and not {"product_id", "product_name"} & set(tx.mapping.fields):
        return NonMerchandiseValues((), (), (), ()), None  # no products: n_products is blank, nothing counted
    customers = getattr(tx.report, "customers", None)
    numbered = tx.totals is not None and bool(customers) and "product_id" in tx.table.columns
    product_codes = codes(tx.con, product_of(tx.table, _mapped(tx)), groups=int(customers)) if numbered else None
    rules = MerchandiseRules.default(as_products, as_services)
    if product_codes is None:
        return rules.find_values(tx.table), None
    # the numbered values are the lines' distinct products (ids, else names): only the names need a pass
    # (at 1e7 lines two one-column distincts cost 0.14 CPU s, one distinct of the pairs 0.26)
    ids = product_codes[0].select("value").to_pyarrow().column("value").to_pylist()
    names = tx.table.select("product_name").distinct().to_pyarrow().column("product_name").to_pylist()
    return rules.values_of(ids, names), product_codes


def _mapped(tx: Transactions) -> tuple[str, ...] | None:
    """The canonical fields ``tx``'s source mapped (None for a table handed over canonical)."""
    return None if tx.mapping is None else tuple(tx.mapping.fields)


def _to_pandas(tables: Mapping[str, pa.Table], name: str) -> pd.DataFrame:
    return tables[name].to_pandas()


def _to_arrow(tables: Mapping[str, Columns], name: str) -> pa.Table:
    return tables[name].to_arrow()


def story(
    source_or_transactions: Source | ir.Table | Transactions,
    *,
    period: Period = "quarter",
    scheme: str = "value",
    config: AnalysisConfig = None,
    start: DateLike = None,
    end: DateLike = None,
    org: str | Sequence[str] | None = None,
    country: str | Sequence[str] | None = None,
    kind: str | None = None,
    drop_partial: bool = False,
    frequency: Literal["auto", "invoices", "days"] = "auto",
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> StoryResult:
    """Each customer's segment period by period (paths, migrations, retention, cohorts), same filters as ``analyze``.

    ``config`` is an analysis config (one section per scheme); the section of ``scheme`` is used.
    ``kind``: as_of (lifecycle) or within_period (None: the scheme's default); partial first/last
    periods are kept and marked unless ``drop_partial``.
    """
    from segmint.features import in_countries
    from segmint.no_buyers import check_filters
    from segmint.story import build_story

    step = progress or log.info
    settings = load_analysis_config(config).get(scheme)
    tx = _as_transactions(source_or_transactions, con, step)
    orgs = [org] if isinstance(org, str) else (list(org) if org else None)
    check_filters(tx.table, org=orgs, country=country)
    # a workspace's stored per customer-month rollup stands for all its lines (not for a country)
    rollup = tx.workspace.rollup() if tx.workspace is not None and not country else None
    step(f"building customer stories per {period}")
    priced = has_prices(tx.mapping)
    return item_notes(build_story(
        in_countries(tx.table, country), period=period, scheme=scheme,
        config=item_config(settings, priced, scheme),  # type: ignore[arg-type]
        kind=kind, drop_partial=drop_partial, frequency=frequency, start=start, end=end, org=orgs,
        rollup=rollup,
    ), priced)


def recommend(
    source_or_transactions: Source | ir.Table | Transactions,
    *,
    until: dt.date | str | None = None,
    top: int | None = None,
    window: str | None = None,
    scheme: str | None = None,
    new_only: bool | None = None,
    evaluate: bool = False,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    org: str | list[str] | None = None,
    country: str | Sequence[str] | None = None,
    config: RecommendConfig | Mapping[str, object] | None = None,
    segment_config: SegmentConfig | Mapping[str, object] | None = None,
    mapping: MappingLike = None,
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
    picks: bool = True,
) -> RecommendResult:
    """Per-customer recommendations, segment favourites, single view and product views (RecommendResult).

    Uses the lines from ``start`` to ``end`` (inclusive) of ``org`` and ``country`` only, when given.
    Trains on lines up to ``until`` (default: all); ``evaluate`` scores the recommendations on the
    purchases after ``until`` (up to ``end``) next to two baselines. ``segment_config`` is the settings
    of the segments recommended for (the scheme's, as ``analyze`` takes them). A file without prices
    (a basket log) is refused as ``analyze`` refuses it: read it with ``CleanOptions(unpriced="units")``
    first, and money columns count items. ``picks=False`` computes the product views only (favourites, single view, sales):
    no per-customer ranking, whose learned blend is most of the time.
    """
    from segmint.features import default_snapshot_date, filter_window, in_countries, purchase_unit
    from segmint.io.items import allocated_revenue
    from segmint.no_buyers import check_filters
    from segmint.recommendations.model import RecommendConfig, recommend_products
    from segmint.units import has_prices

    settings = RecommendConfig.build(
        dict(config) if isinstance(config, Mapping) else config,
        top=top, window=window, scheme=scheme, new_only=new_only,
    )  # fmt: skip
    if evaluate and not picks:
        raise ConfigError("the evaluation scores per-customer picks: keep picks on to evaluate", field="picks")
    tx = source_or_transactions
    if not isinstance(tx, Transactions):
        (progress or log.info)("reading transactions")
        tx = read_transactions(tx, mapping=mapping, con=con)
    fields = tx.mapping.fields if tx.mapping is not None else {}
    if tx.mapping is not None and not {"product_id", "product_name"} & set(fields):
        source = tx.report.source if tx.report is not None else "the input"
        if tx.report is not None and tx.report.unused_columns == []:  # every column is used: none can be mapped
            raise DataError(
                f"{source}: these data have no products: none of their columns ({', '.join(fields.values())}) names "
                "a product, and recommendations need products. Segments, stories and CLV work without them.",
                field="product_id",
            )
        raise DataError(
            f"{source}: recommendations need products, and no product column was found (columns used: "
            f"{', '.join(fields.values())}); map the column that names the product. Segments work without products.",
            field="product_id", fix=Fix(option="mapping", example={"product_id": "<product column>"}),
        )
    priced = has_prices(tx.mapping)
    check_filters(tx.table, org=org, country=country)
    table = whole = in_countries(tx.table, country)
    if start is not None or end is not None or org is not None or country:
        table = filter_window(table, start=start, end=end, org=org)
        default_snapshot_date(table, whole)  # DataError when the window holds no line
    if segment_config is not None and not hasattr(segment_config, "model_dump"):
        from segmint.segment import scheme_config

        segment_config = scheme_config(settings.scheme, dict(segment_config))
    result = recommend_products(table, tx.con, settings, until=until, evaluate=evaluate, priced=priced,
                                segment_config=segment_config, progress=progress, picks=picks,
                                frequency=purchase_unit(tx))  # as analyze counts purchases: the same segments

    result.notes += allocated_revenue(tx.report)  # product revenue spread from basket totals says so
    return result


def clv(
    source_or_transactions: Source | ir.Table | Transactions,
    *,
    calibration_end: dt.date | str | None = None,
    holdout_end: dt.date | str | None = None,
    time_unit: str = "week",
    horizon: float | str | None = None,
    discount: float | str | None = None,
    model: str = "bgnbd",
    compare: bool = True,
    segments: bool | AnalysisResult = True,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    org: str | list[str] | None = None,
    country: str | Sequence[str] | None = None,
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> CLVResult:
    """Customer lifetime value: P(alive), expected purchases and CLV per customer from a BTYD model.

    ``model`` is bgnbd (default), pnbd or mbgnbd, fitted with Gamma-Gamma spend on purchases up to
    ``calibration_end`` (default: the last day of data); later purchases check the forecast.
    ``time_unit`` (day, week, month) is the unit of recency, T and ``horizon`` (a number of units
    or text like "12 months"; default 12 months); ``discount`` is a rate per year (0.1, "10%") or
    with its period ("1%/month"). Only lines of ``country`` and ``org`` up to ``end`` (inclusive) are
    used, as in ``analyze``; ``start`` is the first day of the history the model sees. ``segments``
    joins each customer's RFM segment as of the calibration end (``analyze``'s for the next day); an
    ``analyze`` result of the same lines with those segments supplies them as they are. Returns a
    ``segmint.btyd.result.CLVResult``.
    """
    from segmint.btyd.analysis import customer_value
    from segmint.features import filter_window, in_countries
    from segmint.no_buyers import check_filters

    tx = _as_transactions(source_or_transactions, con, progress or log.info)
    check_filters(tx.table, org=org, country=country)
    table = in_countries(tx.table, country)
    if end is not None:
        table = filter_window(table, end=end)
    window = dict(start=start, end=end, org=org, country=country)
    result = customer_value(
        table, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
        horizon=horizon, discount=discount, model=model, compare=compare,
        segments=partial(_rfm_segments, tx, segments, window) if segments is not False else None,
        start=start, org=org, progress=progress,
    )
    from segmint.units import has_prices

    if not has_prices(tx.mapping):  # a basket log: its "value" is a count of items
        result.notes.insert(0, "no prices in the data: value per purchase and CLV count items, not money")
        result.priced = False  # its exports name them so (predicted_items, items_per_repeat_purchase)
    return result


def _rfm_segments(
    tx: Transactions, given: bool | AnalysisResult, window: dict, calibration_end: dt.date
) -> pd.DataFrame:
    """customer_id, segment, segment_order: RFM as ``analyze`` gives it the day after ``calibration_end``
    (``given``'s when it is that analysis, e.g. the dashboard's, else computed)."""
    snapshot = calibration_end + dt.timedelta(days=1)
    ready = isinstance(given, AnalysisResult) and given.snapshot_date == snapshot and "rfm" in given.segments
    analysis = given if ready else analyze(tx, scheme="rfm", snapshot_date=snapshot, **window)
    return analysis.segments["rfm"].select("customer_id", "segment", "segment_order").execute()


def credit(
    ledger: Source | Ledger,
    *,
    as_of: dt.date | str | None = None,
    terms: int | None = None,
    sales: Source | Transactions | AnalysisResult | None = None,
    scorecard: ScorecardConfig | Mapping[str, object] | str | Path | None = None,
    rules: LedgerRules | Mapping[str, object] | str | Path | None = None,
    party: str | None = None,
    columns: dict[str, str] | None = None,
    credit_limits: dict[str, float] | str | Path | None = None,
    actions: Mapping[str, Mapping[str, str]] | str | Path | None = None,
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> CreditResult:
    """Credit Score and Credit Segment per customer from ledgers (plus the customer 360 with ``sales``).

    ``ledger``: Day Book / Group Vouchers / Ledger Account exports (Excel, CSV, Tally XML), bill-wise
    receivables tables, or a ready :class:`segmint.io.ledger.Ledger`. ``as_of`` defaults to the last
    date in the data; ``terms`` (days) sets due dates where the data has none. ``scorecard``,
    ``rules`` (voucher types, counter-ledgers) and ``actions`` (value x risk matrix) take YAML paths or
    dicts. ``party`` names the party of a one-party report whose titles do not.
    """
    from segmint.credit import analyze_credit
    from segmint.credit.customer360 import customer_360, load_actions
    from segmint.io.ledger import Ledger, read_ledger

    step = progress or (lambda message: log.info(message))
    if isinstance(ledger, Ledger):
        read = ledger
    else:
        step("reading the ledger")
        read = read_ledger(ledger, con=con, rules=rules, party=party, columns=columns)
    step("allocating payments to bills and scoring customers")
    result = analyze_credit(read, as_of=as_of, terms=terms, scorecard=scorecard,
                            credit_limits=_credit_limits(credit_limits))  # fmt: skip
    if sales is not None:
        analysis = sales
        if not isinstance(sales, AnalysisResult):
            from segmint.segment import available_schemes

            step("segmenting the sales")
            schemes = [s for s in ("rfm", "value") if s in available_schemes()]  # value, else spend quartiles
            analysis = analyze(sales, scheme=schemes, story_period="quarter", progress=step)
        result.customer_360 = customer_360(result.details, analysis, load_actions(actions))
    return result


def _credit_limits(source: dict[str, float] | str | Path | None) -> dict[str, float] | None:
    """Credit limits as {customer_id: limit} from a dict or a CSV with customer_id and credit_limit columns."""
    if source is None or isinstance(source, dict):
        return source
    import pandas as pd

    try:
        frame = pd.read_csv(source, dtype=str)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: cannot read credit limits: {exc}") from exc
    if not {"customer_id", "credit_limit"} <= set(frame.columns):
        raise ConfigError(f"{source}: credit limits need columns customer_id and credit_limit; found {list(frame.columns)}")
    values = pd.to_numeric(frame["credit_limit"].str.replace(",", ""), errors="coerce")
    if values.isna().any():
        bad = frame.loc[values.isna(), "credit_limit"].iloc[0]
        raise ConfigError(f"{source}: credit_limit {bad!r} is not a number")
    return dict(zip(frame["customer_id"], values, strict=True))
