"""Segment KPI summaries and safe exports (CSV / JSON / Excel / Parquet, money to the cent) of any result table."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir

from segmint.errors import ConfigError, Fix
from segmint.money import money_decimals, round_money
from segmint.util import (
    EXPORT_FORMAT_NAMES,
    arrow_result,
    check_export_format,
    sql_identifier,
    sql_string,
    write_atomic,
)

if TYPE_CHECKING:  # pandas is imported only where a pandas table is given or asked for
    import pandas as pd
    import pyarrow as pa

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


SUMMARY_COLUMNS = (
    "segment", "segment_order", "customers", "share_of_customers", "revenue", "share_of_revenue",
    "mean_recency_days", "mean_frequency", "mean_monetary", "aov", "strategy",
)  # fmt: skip


def segment_summary(
    labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None
) -> pd.DataFrame:
    """Per segment: customers, share, revenue, share of revenue, mean R/F/M, AOV (most valuable first).

    Revenue is the customers' ``revenue`` feature (net value in the window, see ``segmint.features``);
    AOV is revenue over purchases. ``strategy`` defaults to the RFM texts. The pandas form of
    :func:`segment_summary_table`.
    """
    return segment_summary_table(labelled, strategies).to_pandas()


def segment_summary_table(
    labelled: ir.Table | pd.DataFrame, strategies: dict[str, str] | None = None
) -> pa.Table:
    """:func:`segment_summary` as an Arrow table: one aggregate in the engine, the shares in Arrow (no pandas)."""
    import pyarrow as pa

    table = labelled if isinstance(labelled, ir.Table) else ibis.memtable(labelled)
    strategy = rfm_strategies() if strategies is None else strategies
    from segmint.features import money_round, money_total

    # money summed exactly and averaged to MONEY_SUM_DECIMALS: a float sum's last bits follow the
    # engine's summation order, so the shares of revenue differed in their last digits between two runs
    grouped = table.group_by("segment", "segment_order").aggregate(
        customers=table.count(),
        revenue=money_total(table.revenue),
        # as a float: exact for whole numbers (below 2**53), and an integer sum comes from DuckDB as a
        # HUGEINT that Ibis converts to its int64 through pyarrow.compute
        purchases=table.frequency.cast("float64").sum(),
        mean_recency_days=table.recency_days.mean(),
        mean_frequency=table.frequency.mean(),
        mean_monetary=money_round(table.monetary.sum() / table.count()),
    )
    # the strategy texts join in the query: Arrow arrays built from Python lists would import pandas
    texts = [(grouped.segment == name, text) for name, text in strategy.items()]
    grouped = grouped.mutate(strategy=ibis.cases(*texts, else_="") if texts else ibis.literal(""))
    summary = arrow_result(grouped.order_by([ibis.desc("segment_order"), "segment"]))
    customers, revenue, purchases = (_floats(summary[name]) for name in ("customers", "revenue", "purchases"))
    columns = {
        "share_of_customers": _divided(customers, _arrow_sum(customers)),
        "share_of_revenue": _divided(revenue, _arrow_sum(revenue)),
        "aov": _divided(revenue, purchases),
    }
    return pa.table({name: _float_array(columns[name]) if name in columns else summary[name] for name in SUMMARY_COLUMNS})


def _float_array(values: list[float | None]) -> pa.Array:
    """A float64 Arrow array of ``values`` from their bytes (``pa.array`` of a Python list imports pandas)."""
    import array

    import pyarrow as pa

    if None in values:  # NULLs need a validity bitmap: the ordinary way (rare: shares of a NULL revenue)
        return pa.array(values, pa.float64())
    return pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(array.array("d", values))])


def _floats(column: pa.ChunkedArray) -> list[float | None]:
    return [None if value is None else float(value) for value in column.to_pylist()]


ARROW_SUM_BLOCK = 16  # Arrow sums floats in blocks of 16 values, each block from left to right


def _arrow_sum(values: list[float | None]) -> float | None:
    """``pyarrow.compute.sum`` of float64 values, bit for bit: a block of up to 16 values (and one more)
    without NULLs Arrow adds from left to right, as here; anything else (longer, NULLs, empty) goes to
    Arrow. A summary has one row per segment, so ``pyarrow.compute`` (about a twentieth of a small
    ``analyze`` to import) is rarely needed."""
    if not values or len(values) > ARROW_SUM_BLOCK or None in values:
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.sum(pa.array(values, pa.float64())).as_py()
    total = 0.0
    for value in values:
        total += value  # type: ignore[operator]
    return total


def _divided(numerators: list[float | None], denominators: float | list[float | None]) -> list[float | None]:
    """Element-wise IEEE division as ``pyarrow.compute.divide`` does it for floats (x/0 is inf or NaN, NULL stays NULL)."""
    import math

    if not isinstance(denominators, list):
        denominators = [denominators] * len(numerators)
    out: list[float | None] = []
    for n, d in zip(numerators, denominators, strict=True):
        if n is None or d is None:
            out.append(None)
        elif d == 0.0:
            out.append(math.nan if n == 0.0 or n != n else math.copysign(math.inf, n) * math.copysign(1.0, d))
        else:
            out.append(n / d)
    return out


def customer_kpis(customers: ir.Table, recent_days: int = 90) -> dict[str, float]:
    """Customers, net revenue, orders, average order value and the share who bought in the last ``recent_days``."""
    from segmint.engine import first_row

    row = first_row(customers.aggregate(
        customers=customers.count(),
        revenue=customers.revenue.sum(),
        orders=customers.frequency.sum(),
        recent=(customers.recency_days <= recent_days).sum(),
    ))
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
    import pandas as pd

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


def _as_frame(table: ir.Table | pd.DataFrame | pa.Table) -> pd.DataFrame:
    return table.to_pandas() if hasattr(table, "to_pandas") else table


def _is_pandas(table: object) -> bool:
    return type(table).__module__.split(".")[0] == "pandas"


def _on_duckdb(table: object) -> bool:
    if not isinstance(table, ir.Table):
        return False
    try:
        return getattr(table._find_backend(), "name", "") == "duckdb"
    except Exception:  # an unbound table (a memtable): no backend of its own
        return False


SMALL_TABLE_CELLS = 100_000  # Arrow tables up to this size are written row by row in Python


def export_table(
    table: ir.Table | pd.DataFrame | pa.Table, path: str | Path, trusted_columns: tuple[str, ...] = ()
) -> Path:
    """Write ``table`` to ``path`` as CSV, JSON (records), Excel (.xlsx) or Parquet by extension, atomically.

    Money columns are rounded to the cent here, once, for every format (see ``segmint.money``), and
    text cells a spreadsheet would run as a formula are neutralised (CSV, JSON, Excel). A DuckDB table
    goes to CSV by DuckDB's ``COPY`` and a small Arrow table row by row, both without pandas and in
    the text pandas' ``to_csv`` writes (shortest round-trip floats, True/False, ISO dates).
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

        arrow = pa.Table.from_pandas(table, preserve_index=False) if _is_pandas(table) else _as_arrow(table)
        arrow = round_money(arrow)
        return write_atomic(path, lambda tmp: pq.write_table(arrow, tmp))
    if suffix == ".csv" and _on_duckdb(table):
        return write_atomic(path, lambda tmp: _copy_csv(table, tmp, trusted_columns))  # type: ignore[arg-type]
    if suffix == ".csv" and hasattr(table, "num_rows") and table.num_rows * table.num_columns <= SMALL_TABLE_CELLS:
        return write_atomic(path, lambda tmp: _write_csv_rows(table, tmp, trusted_columns))  # type: ignore[arg-type]
    frame = neutralise_formulas(round_money(_as_frame(table)), trusted_columns)
    if suffix == ".csv":
        return write_atomic(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8"))
    if suffix == ".json":
        return write_atomic(path, lambda tmp: _write_json(tmp, frame))
    _check_excel_rows(frame, path)
    return write_atomic(path, lambda tmp: _write_sheets(tmp, {path.stem: frame}))


def _as_arrow(table: ir.Table | pa.Table) -> pa.Table:
    return table.to_pyarrow() if isinstance(table, ir.Table) else table


def _copy_csv(table: ir.Table, target: Path, trusted: tuple[str, ...]) -> None:
    """``COPY`` the table's query to CSV in DuckDB, each column as :func:`_csv_column` writes it."""
    con = table._find_backend()
    hooks = getattr(con, "_run_pre_execute_hooks", None)
    if hooks is not None:  # registers the in-memory tables (pandas/Arrow) the query names
        hooks(table)
    schema = table.schema()
    columns = ", ".join(_csv_column(name, schema[name], trusted) for name in table.columns)
    query = f"SELECT {columns} FROM ({con.compile(table)})"
    con.raw_sql(f"COPY ({query}) TO {sql_string(str(target))} (FORMAT csv, HEADER)")


def _csv_column(name: str, dtype: Any, trusted: tuple[str, ...]) -> str:
    """One column of :func:`_copy_csv` in DuckDB SQL: money rounded by ``segmint.money``'s rule (half to
    even of value x 10^d, bit for bit numpy's), NaN as an empty cell, True/False, formulas neutralised."""
    column = sql_identifier(name)
    if dtype.is_floating():
        decimals = money_decimals(name)
        if decimals is None:
            return f"CASE WHEN isnan({column}) THEN NULL ELSE {column} END AS {column}"
        scale = repr(10.0**decimals)
        scaled = f"({column} * {scale})"
        low = f"floor({scaled})"
        rounded = (
            f"CASE WHEN isinf({scaled}) THEN {scaled} WHEN {scaled} - {low} > 0.5 THEN {low} + 1 "
            f"WHEN {scaled} - {low} < 0.5 THEN {low} ELSE {low} + abs(fmod({low}, 2)) END"
        )
        return f"CASE WHEN isnan({column}) THEN NULL ELSE ({rounded}) / {scale} + 0.0 END AS {column}"
    if dtype.is_boolean():
        return f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END AS {column}"
    if dtype.is_string() and name not in trusted:
        risky = " OR ".join(f"starts_with({column}, {_sql_char(p)})" for p in FORMULA_PREFIXES)
        return f"CASE WHEN {risky} THEN concat(chr(39), {column}) ELSE nullif({column}, '') END AS {column}"
    return column


def _sql_char(text: str) -> str:
    return sql_string(text) if text.isprintable() else f"chr({ord(text)})"


def _write_csv_rows(table: pa.Table, target: Path, trusted: tuple[str, ...]) -> None:
    """A small Arrow table to CSV in Python: the text pandas' ``to_csv`` writes (with the same csv
    module), money rounded by ``segmint.money``'s rule and formula-like text neutralised."""
    import csv

    import pyarrow as pa

    from segmint.money import round_value

    columns = []
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.cast(pa.timestamp("us", column.type.tz))  # as_py of ns values needs pandas
        decimals = money_decimals(name) if pa.types.is_floating(column.type) else None
        text = (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and name not in trusted
        values = column.to_pylist()
        if decimals is not None:
            values = [None if v is None else round_value(v, decimals) for v in values]
        elif text:
            values = [None if v is None else "'" + v if v.startswith(FORMULA_PREFIXES) else v for v in values]
        columns.append(values)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in zip(*columns, strict=True):
            writer.writerow([_csv_cell(v) for v in row])


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return repr(value) if isinstance(value, float) else value


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
    import pandas as pd

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
    tables: dict[str, ir.Table | pd.DataFrame | pa.Table] = {"features": result.features}
    tables.update({f"segments_{scheme}": labelled for scheme, labelled in result.segments.items()})
    summaries = getattr(result, "summary_tables", None)  # Arrow summaries: no pandas needed
    summaries = result.summaries if summaries is None else summaries
    tables.update({f"summary_{scheme}": summary for scheme, summary in summaries.items()})
    tables.update(result.tables)
    written = export_tables(tables, out_dir, fmt)
    if getattr(result, "report", None) is not None and hasattr(result.report, "to_json"):
        result.report.to_json(out_dir / "data_quality.json")
        written["data_quality"] = out_dir / "data_quality.json"
    log.info("exported %d tables to %s", len(written), out_dir)
    return written
