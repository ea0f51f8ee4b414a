"""Top level: read -> map -> clean (``read_transactions``) and features -> segments -> KPIs (``analyze``)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from segmint.errors import ConfigError, DataError, Fix
from segmint.util import read_yaml_mapping

if TYPE_CHECKING:
    from segmint.clean import CleanOptions
    from segmint.schema import ColumnMapping
    from segmint.segment._config import SegmentConfig

log = logging.getLogger(__name__)

Source: TypeAlias = str | Path | Sequence[str | Path]
# Which source column feeds each canonical field: a ColumnMapping, {field: column} or a YAML file.
MappingLike: TypeAlias = "ColumnMapping | Mapping[str, str] | str | Path | None"
# A YAML path, or one section per scheme: its config object or a mapping of its settings.
AnalysisConfig: TypeAlias = "str | Path | Mapping[str, SegmentConfig | Mapping[str, object] | None] | None"

__all__ = ["AnalysisResult", "Transactions", "analyze", "clv", "load_analysis_config", "read_transactions", "recommend"]


@dataclass
class Transactions:
    """Cleaned canonical transactions in ``con`` with the mapping and quality report that produced them."""

    table: ir.Table
    con: BaseBackend
    mapping: Any = None  # ColumnMapping (None for workspaces and ready-made tables)
    report: Any = None  # DataQualityReport (None for workspaces and ready-made tables)
    evidence: dict[str, str] = field(default_factory=dict)  # why each column was chosen
    label: str = ""  # what was read, for people: "sales.csv", "sales.csv + 2 more", a workspace name

    def mapping_description(self) -> str:
        """Printable ``field <- column (why)`` lines for the mapping used."""
        if self.mapping is None:
            return "columns: canonical table (no mapping needed)"
        return "\n".join(
            f"{name} <- {column}" + (f"  ({self.evidence[name]})" if name in self.evidence else "")
            for name, column in self.mapping.fields.items()
        )


def _check_canonical(table: ir.Table, where: str) -> ir.Table:
    from segmint.schema import CANONICAL_COLUMNS

    missing = [c for c in CANONICAL_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(
            f"{where}: not a canonical transactions table, missing column(s) {missing}; "
            "read raw files with read_transactions() instead"
        )
    return table


def _is_workspace(source: Source) -> bool:
    return isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".duckdb", ".ddb")


def _as_mapping(mapping: MappingLike) -> ColumnMapping | None:
    from pydantic import ValidationError

    from segmint.schema import MAPPABLE_FIELDS, ColumnMapping

    if mapping is None or isinstance(mapping, ColumnMapping):
        return mapping
    if isinstance(mapping, (str, Path)):
        return ColumnMapping.from_yaml(mapping)
    if not isinstance(mapping, Mapping):
        raise ConfigError(
            f"mapping must be a ColumnMapping, a dict of field -> column or a YAML path, got {type(mapping).__name__}",
            field="mapping", fix=Fix(option="mapping", example={"customer_id": "CustomerID"}),
        )
    data = dict(mapping) if "fields" in mapping else {"fields": dict(mapping)}
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as exc:
        unknown = [k for k in data.get("fields") or {} if k not in MAPPABLE_FIELDS]
        raise ConfigError(
            f"invalid column mapping: {exc.errors(include_url=False)[0]['msg']}; give field -> column, "
            f"e.g. {{'customer_id': 'CustomerID'}}",
            field="mapping", value=unknown[0] if unknown else None,
            fix=Fix(option="mapping", choices=MAPPABLE_FIELDS),
        ) from exc


def read_transactions(
    source: Source | ir.Table,
    *,
    mapping: MappingLike = None,
    options: CleanOptions | None = None,
    con: BaseBackend | None = None,
) -> Transactions:
    """Read files (or a workspace ``.duckdb``, or a canonical Ibis table) into cleaned transactions."""
    from segmint import engine

    if isinstance(source, ir.Table):
        backend = con or source._find_backend(use_default=True)
        return Transactions(_check_canonical(source, "table"), backend, label="table")
    if _is_workspace(source):
        workspace = engine.Workspace(source, con=con)
        table = _check_canonical(workspace.transactions(), str(source))
        return Transactions(table, workspace.con, label=Path(source).name)

    from segmint.clean import clean_transactions
    from segmint.io import read_raw
    from segmint.schema import apply_mapping, detect_mapping, resolve_mapping

    wanted = _as_mapping(mapping)
    if engine.is_database_url(source):
        from segmint.io import read_sql

        # without ``con`` the table stays in its database: cleaning and features run there
        raw = read_sql(*engine.split_table_url(str(source)), con=con)
        con = raw.table._find_backend()
    else:
        con = con or engine.connect()
        raw = read_raw(source, con=con, mapping=wanted)
    resolved = resolve_mapping(raw, wanted, require_value=getattr(options, "unpriced", "error") == "error")
    evidence = detect_mapping(raw.columns, raw.sample(500)).evidence
    evidence = {f: why for f, why in evidence.items() if f in resolved.fields}
    if wanted is not None:
        evidence.update({f: "set by you" for f in wanted.fields})
    mapped = apply_mapping(raw, resolved)
    result = clean_transactions(
        mapped, resolved, con=con, source=raw.source, options=options, reader_skipped=raw.skipped
    )
    return Transactions(result.table, con, resolved, result.report, evidence, _label(source))


def _label(source: Source) -> str:
    """``sales.csv``, ``sales.csv + 2 more`` or a redacted database URL: what was read, for people."""
    from segmint.engine import is_database_url, redact_url

    if isinstance(source, (str, Path)):
        return redact_url(str(source)) if is_database_url(source) else Path(source).name
    items = list(source)
    return Path(items[0]).name + (f" + {len(items) - 1} more" if len(items) > 1 else "")


@dataclass
class AnalysisResult:
    """Features, labelled customers and KPI summaries per scheme, plus extra tables; ``export`` writes all."""

    features: ir.Table
    snapshot_date: dt.date
    segments: dict[str, ir.Table | pd.DataFrame]
    summaries: dict[str, pd.DataFrame]
    tables: dict[str, ir.Table | pd.DataFrame]  # tiers bucket/KPI tables, excluded customers
    transactions: Transactions
    skipped: dict[str, str] = field(default_factory=dict)  # scheme -> why it was not run
    story: Any = None  # segmint.story.StoryResult when analyze(story_period=...) was asked for

    @property
    def report(self) -> Any:
        """The data-quality report of the cleaning step (None for workspaces / ready-made tables)."""
        return self.transactions.report

    def export(self, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
        """Write every table to ``out_dir`` (csv, xlsx or parquet); returns name -> path."""
        from segmint.report import export_all

        return export_all(self, out_dir, fmt)


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


def analyze(
    source_or_transactions: Source | ir.Table | Transactions,
    *,
    scheme: str | Sequence[str] = "all",
    snapshot_date: dt.date | str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    org: str | list[str] | None = None,
    config: AnalysisConfig = None,
    con: BaseBackend | None = None,
    frequency: str = "invoices",
    monetary: str = "sum",
    story_period: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AnalysisResult:
    """Customer features and segments (rfm, levels, tiers, clusters or all) with KPI summaries."""
    from segmint import engine
    from segmint.features import (
        customer_features,
        default_snapshot_date,
        excluded_customers,
        filter_window,
    )
    from segmint.report import segment_strategies, segment_summary
    from segmint.segment import get_scheme

    step = progress or (lambda message: log.info(message))
    names = _schemes(scheme)
    configs = load_analysis_config(config)
    tx = source_or_transactions
    if not isinstance(tx, Transactions):
        step("reading transactions")
        tx = read_transactions(tx, con=con)
    window = dict(start=start, end=end, org=org)
    last = getattr(tx.report, "last_date", None) if not any(window.values()) else None
    snapshot = snapshot_date or (  # the cleaning report already knows the last date of the whole table
        last.date() + dt.timedelta(days=1) if last is not None else default_snapshot_date(filter_window(tx.table, **window))
    )
    step("computing customer features")
    features = customer_features(
        tx.table, snapshot_date=snapshot, frequency=frequency, monetary=monetary, **window
    )
    features = engine.materialize(tx.con, features)
    n_customers = int(features.count().execute())
    if n_customers == 0:
        raise DataError("no customer with a positive net purchase value in the selected window")
    tables: dict[str, ir.Table | pd.DataFrame] = {
        "excluded_customers": excluded_customers(tx.table, snapshot_date=snapshot, **window)
    }
    segments: dict[str, ir.Table | pd.DataFrame] = {}
    summaries: dict[str, pd.DataFrame] = {}
    skipped: dict[str, str] = {}
    for name in names:
        step(f"segmenting: {name}")
        scheme = get_scheme(name)
        if not scheme.available():
            skipped[name] = "not available (its optional dependencies are not installed)"
            log.warning("scheme %s skipped: not importable", name)
            continue
        scheme_settings = scheme.config(configs.get(name))
        labelled = engine.materialize(tx.con, scheme.assign(features, scheme_settings).order_by("customer_id"))
        segments[name] = labelled
        tables.update(scheme.extra_tables(features, labelled, scheme_settings))
        summaries[name] = segment_summary(labelled, segment_strategies(scheme_settings))
    story = None
    if story_period is not None:
        from segmint.story import build_story

        step(f"building customer stories per {story_period}")
        story = build_story(tx.table, period=story_period, **window)  # type: ignore[arg-type]
        tables.update({n if n == "story" else f"story_{n}": t for n, t in story.tables().items()})
    log.info("analysed %d customers (snapshot %s): %s", n_customers, snapshot, ", ".join(segments))
    return AnalysisResult(
        features=features,
        snapshot_date=dt.date.fromisoformat(str(snapshot)[:10]),
        segments=segments,
        summaries=summaries,
        tables=tables,
        transactions=tx,
        skipped=skipped,
        story=story,
    )


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
    config: Any = None,
    mapping: Any = None,
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Per-customer recommendations, segment favourites, single view and product views (RecommendResult).

    Uses the lines from ``start`` to ``end`` (inclusive) of ``org`` only, when given. Trains on lines
    up to ``until`` (default: all); ``evaluate`` scores the recommendations on the purchases after
    ``until`` (up to ``end``) next to two baselines. Files without prices work (basket logs).
    """
    from segmint.clean import CleanOptions
    from segmint.features import default_snapshot_date, filter_window
    from segmint.recommendations.model import RecommendConfig, recommend_products

    settings = RecommendConfig.build(config, top=top, window=window, scheme=scheme, new_only=new_only)
    tx = source_or_transactions
    if not isinstance(tx, Transactions):
        (progress or log.info)("reading transactions")
        tx = read_transactions(tx, mapping=mapping, options=CleanOptions(unpriced="units"), con=con)
    fields = tx.mapping.fields if tx.mapping is not None else {}
    if tx.mapping is not None and not {"product_id", "product_name"} & set(fields):
        source = tx.report.source if tx.report is not None else "the input"
        raise DataError(
            f"{source}: recommendations need products, and no product column was found (columns used: "
            f"{', '.join(fields.values())}); map the column that names the product. Segments work without products.",
            field="product_id", fix=Fix(option="mapping", example={"product_id": "<product column>"}),
        )
    priced = tx.mapping is None or bool({"amount", "unit_price"} & set(fields))
    table = tx.table
    if start is not None or end is not None or org is not None:
        table = filter_window(table, start=start, end=end, org=org)
        default_snapshot_date(table)  # DataError when the window holds no line
    return recommend_products(table, tx.con, settings, until=until, evaluate=evaluate, priced=priced,
                              progress=progress)  # fmt: skip


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
    segments: bool = True,
    start: dt.date | str | None = None,
    org: str | list[str] | None = None,
    con: BaseBackend | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Customer lifetime value: P(alive), expected purchases and CLV per customer from a BTYD model.

    ``model`` is bgnbd (default), pnbd or mbgnbd, fitted with Gamma-Gamma spend on purchases up to
    ``calibration_end`` (default: the last day of data); later purchases check the forecast.
    ``time_unit`` (day, week, month) is the unit of recency, T and ``horizon`` (a number of units
    or text like "12 months"; default 12 months); ``discount`` is a rate per year (0.1, "10%") or
    with its period ("1%/month"). Returns a ``segmint.btyd.result.CLVResult``.
    """
    from segmint.btyd.analysis import customer_value

    tx = source_or_transactions
    if not isinstance(tx, Transactions):
        (progress or log.info)("reading transactions")
        tx = read_transactions(tx, con=con)
    return customer_value(
        tx.table, calibration_end=calibration_end, holdout_end=holdout_end, time_unit=time_unit,
        horizon=horizon, discount=discount, model=model, compare=compare, segments=segments,
        start=start, org=org, progress=progress,
    )
