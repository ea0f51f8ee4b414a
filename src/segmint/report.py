"""Segment KPI summaries and safe exports (CSV / JSON / Excel / Parquet, money to the cent) of any result table."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from segmint.errors import ConfigError, Fix
from segmint.money import round_money
from segmint.util import EXPORT_FORMAT_NAMES, check_export_format, write_atomic

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576  # rows in one Excel sheet, header included
EXPORT_FORMATS = tuple(f".{name}" for name in EXPORT_FORMAT_NAMES)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula / DDE triggers

__all__ = ["export_all", "export_table", "neutralise_formulas", "rfm_strategies", "segment_summary"]


def rfm_strategies() -> dict[str, str]:
    """Engagement strategy text per RFM segment (``segment/strategies.yaml``, section rfm)."""
    from segmint.segment.strategies import strategies_for

    return strategies_for("rfm")


def segment_strategies(config: object | None = None, scheme: str | None = None) -> dict[str, str]:
    """Strategy per segment label of one scheme (``scheme``, or the scheme ``config`` belongs to).

    Texts come from ``segment/strategies.yaml``, keyed by scheme so a name two schemes share (levels'
    top group "Can't Lose Them", RFM's lapsed "Can't Lose Them") gets its own scheme's advice; a
    config with its own ``strategies`` (tiers) overrides them.
    """
    from segmint.segment.strategies import strategies_for

    return strategies_for(scheme, config)


def segment_summary(
    labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per segment: customers, share, revenue, share of revenue, mean R/F/M, AOV (most valuable first).

    Revenue is the customers' ``revenue`` feature (net value in the window, see ``segmint.features``);
    AOV is revenue over purchases. ``strategy`` defaults to the RFM texts.
    """
    table = ibis.memtable(labelled) if isinstance(labelled, pd.DataFrame) else labelled
    revenue = table.revenue
    summary = (
        table.group_by("segment", "segment_order")
        .aggregate(
            customers=table.count(),
            revenue=revenue.sum(),
            purchases=table.frequency.sum(),
            mean_recency_days=table.recency_days.mean(),
            mean_frequency=table.frequency.mean(),
            mean_monetary=table.monetary.mean(),
        )
        .execute()
    )
    summary["share_of_customers"] = summary.customers / summary.customers.sum()
    summary["share_of_revenue"] = summary.revenue / summary.revenue.sum()
    summary["aov"] = summary.revenue / summary.purchases
    strategy = rfm_strategies() if strategies is None else strategies
    summary["strategy"] = [strategy.get(name, "") for name in summary.segment]
    columns = [
        "segment", "segment_order", "customers", "share_of_customers", "revenue", "share_of_revenue",
        "mean_recency_days", "mean_frequency", "mean_monetary", "aov", "strategy",
    ]  # fmt: skip
    ordered = summary.sort_values(["segment_order", "segment"], ascending=[False, True])
    return ordered[columns].reset_index(drop=True)


def customer_kpis(customers: ir.Table, recent_days: int = 90) -> dict[str, float]:
    """Customers, net revenue, orders, average order value and the share who bought in the last ``recent_days``."""
    row = customers.aggregate(
        customers=customers.count(),
        revenue=customers.revenue.sum(),
        orders=customers.frequency.sum(),
        recent=(customers.recency_days <= recent_days).sum(),
    ).execute().iloc[0]
    n = int(row["customers"])
    orders = float(row["orders"] or 0)
    revenue = float(row["revenue"] or 0.0)
    return {
        "customers": n,
        "revenue": revenue,
        "orders": orders,
        "aov": revenue / orders if orders else 0.0,
        "recent_share": float(row["recent"] or 0) / n if n else 0.0,
        "recent_days": recent_days,
    }


def neutralise_formulas(frame: pd.DataFrame, trusted: tuple[str, ...] = ()) -> pd.DataFrame:
    """Copy of ``frame`` where text cells starting with = + - @ (or tab/CR) are prefixed with '.

    ``trusted`` columns are left alone: the caller validated them (e.g. phone numbers as ``+digits``).
    """
    out = frame.copy()
    for column in out.columns:
        if column in trusted:
            continue
        series = out[column]
        if pd.api.types.is_string_dtype(series) or series.dtype == object:
            text = series.astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False).astype(bool)
            if risky.any():
                out[column] = series.where(~risky, "'" + text)
    return out


def _as_frame(table: ir.Table | pd.DataFrame) -> pd.DataFrame:
    return table.to_pandas() if isinstance(table, ir.Table) else table


def export_table(table: ir.Table | pd.DataFrame, path: str | Path, trusted_columns: tuple[str, ...] = ()) -> Path:
    """Write ``table`` to ``path`` as CSV, JSON (records), Excel (.xlsx) or Parquet by extension, atomically.

    Money columns are rounded to the cent here, once, for every format (see ``segmint.money``).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in EXPORT_FORMATS:
        raise ConfigError(
            f"{path}: cannot export to {suffix or 'no extension'}; use {', '.join(EXPORT_FORMATS[:-1])} or "
            f"{EXPORT_FORMATS[-1]}",
            field="fmt", value=suffix, fix=Fix(option="fmt", choices=EXPORT_FORMAT_NAMES),
        )
    if suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        arrow = table.to_pyarrow() if isinstance(table, ir.Table) else pa.Table.from_pandas(table, preserve_index=False)
        arrow = round_money(arrow)
        return write_atomic(path, lambda tmp: pq.write_table(arrow, tmp))
    frame = neutralise_formulas(round_money(_as_frame(table)), trusted_columns)
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))
    if suffix == ".json":
        return write_atomic(path, lambda tmp: _write_json(tmp, frame))
    _check_excel_rows(frame, path)
    return write_atomic(path, lambda tmp: _write_sheets(tmp, {path.stem: frame}))


def _write_json(target: Path, frame: pd.DataFrame) -> None:
    """A JSON array of row objects; dates as ISO text, missing values as null."""
    frame.to_json(target, orient="records", date_format="iso", double_precision=15, force_ascii=False)


def export_workbook(tables: dict[str, ir.Table | pd.DataFrame], path: str | Path) -> Path:
    """One Excel workbook with a sheet per table (in the given order), formula-safe and atomic."""
    path = Path(path)
    frames = {name: neutralise_formulas(round_money(_as_frame(table))) for name, table in tables.items()}
    for frame in frames.values():
        _check_excel_rows(frame, path)
    return write_atomic(path, lambda tmp: _write_sheets(tmp, frames))


def _check_excel_rows(frame: pd.DataFrame, path: Path) -> None:
    if len(frame) >= EXCEL_MAX_ROWS:
        raise ConfigError(
            f"{path.name}: {len(frame):,} rows do not fit an Excel sheet ({EXCEL_MAX_ROWS - 1:,} at most); "
            "export as CSV or Parquet instead",
            field="fmt", value="xlsx", fix=Fix(option="fmt", example="csv", choices=("csv", "parquet")),
        )


def _write_sheets(target: Path, frames: dict[str, pd.DataFrame]) -> None:
    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs={"options": options}) as writer:
        for name, frame in frames.items():
            frame.to_excel(writer, index=False, sheet_name=re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet1")


def export_tables(
    tables: dict[str, ir.Table | pd.DataFrame], out_dir: str | Path, fmt: str = "csv",
    trusted_columns: tuple[str, ...] = (),
) -> dict[str, Path]:
    """Write each table to ``out_dir/<name>.<fmt>``; returns name -> path.

    With ``fmt="xlsx"`` a table too long for an Excel sheet is written as CSV instead (logged), and
    one workbook ``segmint_results.xlsx`` gathers every table that fits, summaries first.
    """
    out_dir = Path(out_dir)
    suffix = "." + check_export_format(fmt)
    written: dict[str, Path] = {}
    fitting: dict[str, pd.DataFrame] = {}
    for name, table in tables.items():
        target = out_dir / f"{name}{suffix}"
        if suffix == ".xlsx":
            frame = _as_frame(table)
            if len(frame) >= EXCEL_MAX_ROWS:
                log.warning("%s: %d rows exceed an Excel sheet; written as CSV", name, len(frame))
                target = target.with_suffix(".csv")
            else:
                fitting[name] = frame
            table = frame
        written[name] = export_table(table, target, trusted_columns)
    if fitting:
        order = sorted(fitting, key=lambda name: (not name.startswith(("summary", "tiers")), name))
        written["workbook"] = export_workbook({name: fitting[name] for name in order},
                                              out_dir / "segmint_results.xlsx")  # fmt: skip
    return written


def export_all(result: Any, out_dir: str | Path, fmt: str = "csv") -> dict[str, Path]:
    """Write every table of an ``AnalysisResult`` (see ``export_tables``) plus its quality report."""
    out_dir = Path(out_dir)
    tables: dict[str, ir.Table | pd.DataFrame] = {"features": result.features}
    tables.update({f"segments_{scheme}": labelled for scheme, labelled in result.segments.items()})
    tables.update({f"summary_{scheme}": summary for scheme, summary in result.summaries.items()})
    tables.update(result.tables)
    written = export_tables(tables, out_dir, fmt)
    if getattr(result, "report", None) is not None and hasattr(result.report, "to_json"):
        result.report.to_json(out_dir / "data_quality.json")
        written["data_quality"] = out_dir / "data_quality.json"
    log.info("exported %d tables to %s", len(written), out_dir)
    return written
