"""Safe exports of any result table: CSV / JSON / Excel / Parquet, money to the cent, formulas neutralised.

Every table segmint writes goes through here (``analyze --out``, stories, credit, CLV,
recommendations, CRM lists, the dashboard's downloads): written atomically, every float rounded once
by ``segmint.money``'s rule (money to the cent, shares to 4 places, means to 2), CSV writing each
float column in fixed point with that many decimals (``0.5000`` beside ``0.1436``, ``278.00`` beside
``110.61``), and text a spreadsheet would run as a formula prefixed with ``'``.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir

from segmint.errors import ConfigError, Fix
from segmint.money import MONEY_DECIMALS, export_decimals, money_decimals, money_text, round_numbers
from segmint.util import EXPORT_FORMAT_NAMES, check_export_format, sql_identifier, sql_string, write_atomic
from segmint.units import has_prices, item_columns

if TYPE_CHECKING:  # pandas is imported only where a pandas table is given or asked for
    from collections.abc import Iterator

    import pandas as pd
    import pyarrow as pa

    from segmint.results import Columns

log = logging.getLogger(__name__)

EXCEL_MAX_ROWS = 1_048_576  # rows in one Excel sheet, header included
EXPORT_FORMATS = tuple(f".{name}" for name in EXPORT_FORMAT_NAMES)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula / DDE triggers
# a plain number (``-5``, ``+3``, ``-12.50``) is not a formula: a customer id ``-5`` is written as ``-5``
PLAIN_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
_PLAIN_NUMBER = re.compile(PLAIN_NUMBER)

__all__ = ["export_all", "export_table", "export_tables", "export_workbook", "neutralise_formulas"]


def neutralise_formulas(frame: pd.DataFrame, trusted: tuple[str, ...] = ()) -> pd.DataFrame:
    """Copy of ``frame`` where text cells starting with = + - @ (or tab/CR) are prefixed with ',
    unless the text is a plain number (``-5``, ``+3``, ``-12.50``).

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
                risky[risky] = ~text[risky].str.fullmatch(PLAIN_NUMBER).astype(bool)
                out[column] = series.where(~risky, "'" + text)
    return out


def is_formula(text: str) -> bool:
    """True when a spreadsheet would run ``text`` as a formula: it starts with = + - @ (or tab/CR) and is
    not a plain number."""
    return text.startswith(FORMULA_PREFIXES) and _PLAIN_NUMBER.fullmatch(text) is None


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

    Float columns are rounded here, once, for every format (money to the cent, shares to 4 places,
    means to 2: see ``segmint.money``), CSV shows each float column's every decimal (``101.50``,
    ``278.00``, ``0.5000``; a unit price 2 to 4), and text cells a
    spreadsheet would run as a formula are neutralised (CSV, JSON, Excel). A DuckDB table goes to CSV
    by DuckDB's ``COPY`` and a small Arrow table row by row, both without pandas and in the text
    pandas' ``to_csv`` writes (shortest round-trip floats, True/False, ISO dates).
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
        arrow = round_numbers(arrow)
        return write_atomic(path, lambda tmp: pq.write_table(arrow, tmp))
    if suffix == ".csv" and _on_duckdb(table):
        return write_atomic(path, lambda tmp: _copy_csv(table, tmp, trusted_columns))  # type: ignore[arg-type]
    if suffix == ".csv" and hasattr(table, "num_rows") and table.num_rows * table.num_columns <= SMALL_TABLE_CELLS:
        return write_atomic(path, lambda tmp: _write_csv_rows(table, tmp, trusted_columns))  # type: ignore[arg-type]
    frame = neutralise_formulas(round_numbers(_as_frame(table)), trusted_columns)
    if suffix == ".csv":
        text = floats_as_text(frame)
        return write_atomic(path, lambda tmp: text.to_csv(tmp, index=False, encoding="utf-8"))
    if suffix == ".json":
        return write_atomic(path, lambda tmp: _write_json(tmp, frame))
    _check_excel_rows(frame, path)
    return write_atomic(path, lambda tmp: _write_sheets(tmp, {path.stem: frame}))


def _as_arrow(table: ir.Table | pa.Table) -> pa.Table:
    return table.to_pyarrow() if isinstance(table, ir.Table) else table


def _copy_csv(table: ir.Table, target: Path, trusted: tuple[str, ...]) -> None:
    """``COPY`` the table's query to CSV in DuckDB, each column as :func:`_csv_column` writes it.

    Floats are rounded in a query of their own, which the written text reads: written inline, each
    money value's rounding was computed three times (the infinity test, the cast, ``printf``; DuckDB
    does not share an expression among the branches of a CASE)."""
    con = table._find_backend()
    hooks = getattr(con, "_run_pre_execute_hooks", None)
    if hooks is not None:  # registers the in-memory tables (pandas/Arrow) the query names
        hooks(table)
    schema = table.schema()
    rounded = [_rounded(name) for name in table.columns if schema[name].is_floating()]
    source = f"({con.compile(table)})"
    if rounded:
        source = f"(SELECT * REPLACE ({', '.join(rounded)}) FROM {source})"
    columns = ", ".join(_csv_column(name, schema[name], trusted) for name in table.columns)
    con.raw_sql(f"COPY (SELECT {columns} FROM {source}) TO {sql_string(str(target))} (FORMAT csv, HEADER)")


def _rounded(name: str) -> str:
    """A float column rounded by ``segmint.money``'s rule (half to even of value x 10^d, bit for bit
    numpy's), under its own name: NaN stays NaN, an infinity stays itself."""
    column = sql_identifier(name)
    scale = repr(10.0 ** export_decimals(name))
    scaled = f"({column} * {scale})"
    low = f"floor({scaled})"
    rounded = (
        f"CASE WHEN isinf({scaled}) THEN {scaled} WHEN {scaled} - {low} > 0.5 THEN {low} + 1 "
        f"WHEN {scaled} - {low} < 0.5 THEN {low} ELSE {low} + abs(fmod({low}, 2)) END"
    )
    return f"({rounded}) / {scale} + 0.0 AS {column}"


def _csv_column(name: str, dtype: Any, trusted: tuple[str, ...]) -> str:
    """One column of :func:`_copy_csv` in DuckDB SQL: floats (rounded by :func:`_rounded`) with every
    decimal shown, NaN as an empty cell, True/False, formulas neutralised."""
    column = sql_identifier(name)
    if dtype.is_floating():
        value = _sql_fixed_text(column, export_decimals(name), money=money_decimals(name) is not None)
        return f"CASE WHEN isnan({column}) THEN NULL ELSE {value} END AS {column}"
    if dtype.is_boolean():
        return f"CASE WHEN {column} THEN 'True' WHEN NOT {column} THEN 'False' END AS {column}"
    if dtype.is_string() and name not in trusted:
        risky = " OR ".join(f"starts_with({column}, {_sql_char(p)})" for p in FORMULA_PREFIXES)
        risky = f"({risky}) AND NOT regexp_full_match({column}, {sql_string(PLAIN_NUMBER)})"
        return f"CASE WHEN {risky} THEN concat(chr(39), {column}) ELSE nullif({column}, '') END AS {column}"
    return column


def _sql_fixed_text(value: str, decimals: int, *, money: bool) -> str:
    """SQL of :func:`_float_cell`: ``101.50``, ``0.5000``; a price with 2 to 4 decimals (``2.50``, ``0.0125``)."""
    text = f"printf('%.{decimals}f', {value})"
    if decimals <= MONEY_DECIMALS or not money:
        # a value rounded to ``decimals`` (:func:`_rounded`) below 1e13 is a DECIMAL of that scale exactly:
        # its cast writes printf's text at a third of the cost (CDNOW's exports: about 190k values)
        exact = f"CAST(CAST({value} AS DECIMAL(18, {decimals})) AS VARCHAR)"
        return f"CASE WHEN abs({value}) < 1e13 THEN {exact} WHEN isinf({value}) THEN CAST({value} AS VARCHAR) ELSE {text} END"
    trimmed = f"regexp_replace({text}, '(\\.[0-9]{{{MONEY_DECIMALS}}}[0-9]*?)0+$', '\\1')"
    return f"CASE WHEN isinf({value}) THEN CAST({value} AS VARCHAR) ELSE {trimmed} END"


def floats_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its (rounded) float columns as the text CSV writes: ``101.50``, ``0.5000``, ``278.00``."""
    import pandas as pd

    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    if not floats:
        return frame
    out = frame.copy()
    for column in floats:
        decimals, money = export_decimals(str(column)), money_decimals(str(column)) is not None
        out[column] = [_float_cell(v, decimals, money) for v in out[column].tolist()]
    return out


def _float_cell(value: float | None, decimals: int, money: bool) -> str | None:
    """A rounded float as CSV writes it: every one of the column's decimals shown (a money column's
    unit price 2 to 4: :func:`segmint.money.money_text`), NaN empty, an infinity as itself."""
    if value is None or value != value:
        return None
    if value in (float("inf"), float("-inf")):
        return repr(value)
    return money_text(value, decimals) if money else f"{value:.{decimals}f}"


def _sql_char(text: str) -> str:
    return sql_string(text) if text.isprintable() else f"chr({ord(text)})"


def _write_csv_rows(table: pa.Table | Columns, target: Path, trusted: tuple[str, ...]) -> None:
    """A small Arrow table (or :class:`segmint.results.Columns`) to CSV in Python: the text pandas'
    ``to_csv`` writes (with the same csv module), floats rounded by ``segmint.money``'s rule, with
    every decimal shown, and formula-like text neutralised."""
    import csv

    from segmint.money import round_value

    columns = []
    for name, values, floating, text in _plain_columns(table):
        if floating:
            decimals, money = export_decimals(name), money_decimals(name) is not None
            values = [None if v is None else _float_cell(round_value(v, decimals), decimals, money) for v in values]
        elif text and name not in trusted:
            values = [None if v is None else "'" + v if is_formula(v) else v for v in values]
        columns.append(values)
    with open(target, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(table.column_names)
        for row in zip(*columns, strict=True):
            writer.writerow([_csv_cell(v) for v in row])


def _plain_columns(table: pa.Table | Columns) -> Iterator[tuple[str, list[Any], bool, bool]]:
    """(name, Python values, floating, text) of each column of an Arrow table or ``Columns``."""
    from segmint.results import Columns

    if isinstance(table, Columns):
        for name, dtype in table.schema.items():
            yield name, table.values[name], dtype.is_floating(), dtype.is_string()
        return
    import pyarrow as pa

    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type) and column.type.unit == "ns":
            column = column.cast(pa.timestamp("us", column.type.tz))  # as_py of ns values needs pandas
        text = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
        yield name, column.to_pylist(), pa.types.is_floating(column.type), text


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return repr(value) if isinstance(value, float) else value


def _write_json(target: Path, frame: pd.DataFrame) -> None:
    """A JSON array of row objects: numbers in their shortest exact text (25.12, not pandas'
    25.120000000000001), dates as ISO text (``2023-01-05``, the time only when one is set), missing and
    infinite values as null."""
    import json
    import math

    import pandas as pd

    frame = _dates_as_dates(frame)
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            frame[column] = series.map(lambda v: None if pd.isna(v) else v.isoformat())

    def plain(value: Any) -> Any:
        if hasattr(value, "isoformat"):  # a date of a column of dates
            return value.isoformat()
        return value.item() if hasattr(value, "item") else str(value)  # numpy scalars

    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    for record in records:
        for key, value in record.items():
            if isinstance(value, float) and not math.isfinite(value):
                record[key] = None
    with open(target, "w", encoding="utf-8") as handle:
        json.dump(records, handle, ensure_ascii=False, default=plain, allow_nan=False)


def _dates_as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where a timestamp column whose every value is a midnight (a date read as a timestamp:
    ``first_purchase``) holds dates, so exports write ``2023-01-05`` rather than a time of 00:00."""
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series) and getattr(series.dt, "tz", None) is None:
            present = series.dropna()
            if (present == present.dt.normalize()).all():
                out[column] = series.dt.date.astype(object).where(series.notna(), None)
    return out


def export_workbook(tables: dict[str, ir.Table | pd.DataFrame], path: str | Path) -> Path:
    """One Excel workbook with a sheet per table (in the given order), formula-safe and atomic."""
    path = Path(path)
    frames = {name: neutralise_formulas(round_numbers(_as_frame(table))) for name, table in tables.items()}
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
    """Sheets that read as the CSV does: money shown to the cent (100.50, 1,234.00; unit prices with 2 to
    4 decimals), dates as dates without a time of 00:00, columns wide enough for their header."""
    import pandas as pd

    options = {"strings_to_formulas": False, "strings_to_urls": False}
    with pd.ExcelWriter(target, engine="xlsxwriter", engine_kwargs={"options": options},
                        date_format="yyyy-mm-dd", datetime_format="yyyy-mm-dd hh:mm:ss") as writer:
        money_formats = {d: writer.book.add_format({"num_format": "#,##0.00" + "#" * (d - 2)}) for d in {2, 4}}
        for name, frame in frames.items():
            sheet_name = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet1"
            _dates_as_dates(frame).to_excel(writer, index=False, sheet_name=sheet_name)
            sheet = writer.sheets[sheet_name]
            for index, column in enumerate(frame.columns):
                decimals = money_decimals(str(column)) if pd.api.types.is_float_dtype(frame[column]) else None
                width = min(max(len(str(column)) + 2, 10), 40)
                sheet.set_column(index, index, width, money_formats.get(decimals) if decimals else None)


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
    # summaries as Python columns (CSV: no Arrow) or Arrow tables: no pandas needed
    summaries = getattr(result, "summary_columns", None) if fmt == "csv" else None
    summaries = summaries or getattr(result, "summary_tables", None)
    summaries = result.summaries if summaries is None else summaries
    tables.update({f"summary_{scheme}": summary for scheme, summary in summaries.items()})
    tables.update(result.tables)
    transactions = getattr(result, "transactions", None)
    priced = has_prices(getattr(transactions, "mapping", None))  # a basket log's amounts count items: named so
    written = export_tables({name: item_columns(table, priced) for name, table in tables.items()}, out_dir, fmt)
    if getattr(result, "report", None) is not None and hasattr(result.report, "to_json"):
        result.report.to_json(out_dir / "data_quality.json")
        written["data_quality"] = out_dir / "data_quality.json"
    log.info("exported %d tables to %s", len(written), out_dir)
    return written
