"""RawTable (what every reader returns) and helpers shared by the readers."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from uuid import uuid4

import ibis
from ibis.backends import BaseBackend

from segmint.io.header_rows import header_keys, header_witness, is_header_cell
from segmint.results import columns as result_columns
from segmint.results import rows as result_rows
from segmint.util import sql_identifier, sql_string  # noqa: F401 - the readers' one quoting helper pair

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

SOURCE_COL = "_source"
ROW_COL = "_row"
MAX_EXAMPLES = 5
SAMPLE_ROWS = 500  # rows fetched at least when a sample is first asked for
# A label cell that marks a subtotal/total line of a report rather than a transaction.
TOTAL_LABEL = re.compile(r"^\s*(grand\s+|sub[\s-]?)?total(s)?\s*(:|-)?\s*$", re.IGNORECASE)


@dataclass
class RawTable:
    """A source read as-is: its own column names (text formats keep strings) plus ``_source``/``_row``.

    ``_row`` is the row number a user sees in the file or sheet (1-based, the header is its own row).
    ``skipped`` counts rows the reader dropped by reason (blank, total) with up to 5 examples each in
    ``skipped_examples`` so the data-quality report can account for every row of the file.
    """

    table: ibis.Table
    source: str
    columns: list[str]
    header_row: int | None
    format: str = ""
    sheet: str | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_examples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    report_notes: list[str] = field(default_factory=list)  # what the quality report must say of the values read
    # rows with fewer fields than the header (a text file's first lines, or every row the reader parsed):
    # (source, row) -> (fields found, fields expected), to say so on the drop of such a row
    short_rows: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    titles: list[str] = field(default_factory=list)  # report title lines above the header (company, party, period)
    # the header row's own cells (text formats): a row whose cells repeat them is dropped as a repeated header
    header_cells: list[Any] = field(default_factory=list)
    header_cells_below: list[list[Any]] = field(default_factory=list)  # a header's second line, dropped the same way
    # Columns holding one value per invoice placed on its first line only ('0' on the others), set
    # when a reader expands item lists; ``items_priced`` = the items carry their own price.
    invoice_level: list[str] = field(default_factory=list)
    items_priced: bool = False
    # records whose item lists were expanded into the rows (skipped ones aside); None: a row is a record
    records: int | None = None
    # Tally XML: one row per voucher type (type, base type, why, vouchers, cancelled, parties, debit, credit)
    voucher_types: list[dict[str, Any]] = field(default_factory=list)
    # A workbook of several sheets: each sheet's name, rows below its header, whether it was read and
    # why not (empty, not a transaction table, other columns); empty for one-sheet files
    sheets: list[dict[str, Any]] = field(default_factory=list)
    # a wide file's columns left unread (mapped by no field, see :mod:`segmint.io.wide`): not in ``columns``
    unread_columns: list[str] = field(default_factory=list)
    _sample: tuple[Any, pa.Table, int] | None = field(default=None, repr=False, compare=False)
    _sample_values: tuple[Any, dict[str, list[Any]], int] | None = field(default=None, repr=False, compare=False)

    def _sample_query(self, n: int) -> tuple[ibis.Table, int]:
        """The first rows of the source columns (at least ``SAMPLE_ROWS``: item lists ask for 200 rows,
        then detection for 500, one query), and how many it fetches."""
        limit = max(n, SAMPLE_ROWS)
        # nanosecond timestamps as microseconds: Arrow turns nanoseconds into pandas Timestamps
        return self.table.select(*[_micro(self.table[c]) for c in self.columns]).limit(limit), limit

    def _sample_arrow(self, n: int) -> pa.Table:
        """First ``n`` rows of the source columns, fetched once (detection asks several times)."""
        table, cached, limit = self._sample or (None, None, 0)
        if table is not self.table or limit < n or cached is None:
            query, limit = self._sample_query(n)
            cached = query.to_pyarrow()
            self._sample = (self.table, cached, limit)
        return cached.slice(0, n)

    def sample_columns(self, n: int = 1000) -> dict[str, list[Any]]:
        """First ``n`` rows as plain Python values per column (None for missing or NaN), without pandas
        or Arrow on DuckDB (see :mod:`segmint.results`); fetched once, detection asks several times."""
        table, cached, limit = self._sample_values or (None, None, 0)
        if table is not self.table or limit < n or cached is None:
            query, limit = self._sample_query(n)
            floating = [name for name, dtype in query.schema().items() if dtype.is_floating()]
            cached = result_columns(query)
            for name in floating:
                cached[name] = [None if v != v else v for v in cached[name]]  # NaN is a missing value
            self._sample_values = (self.table, cached, limit)
        return {name: values[:n] for name, values in cached.items()}

    def sample(self, n: int = 1000) -> pd.DataFrame:
        """First ``n`` rows of the source columns as Python objects (None for missing) in pandas."""
        df = self._sample_arrow(n).to_pandas()
        return df.astype(object).where(df.notna(), None)

    def add_skipped(self, reason: str, count: int, examples: list[dict[str, Any]]) -> None:
        """Record ``count`` rows dropped for ``reason`` (examples keep their ``_source``/``_row``)."""
        if count <= 0:
            return
        self.skipped[reason] = self.skipped.get(reason, 0) + count
        kept = self.skipped_examples.setdefault(reason, [])
        kept.extend(examples[: MAX_EXAMPLES - len(kept)])


def _micro(column: Any) -> Any:
    dtype = column.type()
    if dtype.is_timestamp() and (dtype.scale or 0) > 6:
        return column.cast(dtype.copy(scale=6)).name(column.get_name())
    return column


def unique_names(names: list[Any]) -> list[str]:
    """Clean header cells into unique, non-empty column names (``column_3`` for blanks, ``x_2`` dups)."""
    result: list[str] = []
    seen: set[str] = set()
    for position, name in enumerate(names, start=1):
        text = " ".join(str(name).split()) if name is not None else ""
        text = text or f"column_{position}"
        candidate, suffix = text, 2
        while candidate.lower() in seen or candidate in (SOURCE_COL, ROW_COL):
            candidate, suffix = f"{text}_{suffix}", suffix + 1
        seen.add(candidate.lower())
        result.append(candidate)
    return result


def repeated_headers(cells: list[Any]) -> list[str]:
    """Report notes for header cells that repeat (``Amount`` twice): :func:`unique_names` reads the second
    as ``Amount_2``, and nothing else would tell the user that a column they may mean was renamed."""
    names = unique_names(cells)
    groups: dict[str, list[str]] = {}
    for cell, name in zip(cells, names, strict=True):
        text = " ".join(str(cell).split()) if cell is not None else ""
        if text:
            groups.setdefault(text.lower(), []).append(name)
    return [
        f"{len(read)} columns are headed '{read[0]}' (read as {', '.join(repr(n) for n in read[:-1])} and "
        f"{read[-1]!r}): check that the mapping uses the one you mean"
        for read in groups.values() if len(read) > 1
    ]


def temp_name(prefix: str = "segmint_raw") -> str:
    """A fresh table name for a temporary table."""
    return f"{prefix}_{uuid4().hex[:12]}"


def is_duckdb(con: BaseBackend) -> bool:
    """True when ``con`` is an Ibis DuckDB backend (readers can then load files inside it)."""
    return getattr(con, "name", "") == "duckdb"


def register_arrow(con: BaseBackend, data: pa.Table) -> ibis.Table:
    """Store an Arrow table in ``con`` as a (temporary where supported) table and return it."""
    name = temp_name()
    if is_duckdb(con):
        return con.create_table(name, data, temp=True)
    return con.create_table(name, data)


def duckdb_to_con(
    con: BaseBackend,
    sql: str,
    *,
    source: str,
    first_row: int | None,
    params: list[Any] | None = None,
    spool: bool = False,
) -> ibis.Table:
    """Run a DuckDB ``SELECT`` (file readers) into a table of ``con`` with ``_source`` and ``_row``.

    ``_row`` = ``first_row`` + position (DuckDB keeps insertion order and exposes it as ``rowid``);
    with ``first_row=None`` the ``SELECT`` provides ``_row`` itself. With a DuckDB ``con`` the data
    never passes through Python; other backends receive Arrow data from a private DuckDB.
    ``spool`` (DuckDB, large text files): the rows go to a temporary Parquet file read through a view
    instead of a table (see :func:`_spool`).
    """

    from segmint.engine import session_name

    name = session_name("segmint_raw")  # a temporary table of ``con`` or of a private DuckDB
    literal = sql_string(source)
    if first_row is None:
        select, row = f'* EXCLUDE ("{ROW_COL}")', f'"{ROW_COL}"'
    else:
        select, row = "*", f"rowid + {int(first_row)}"
    numbered = (
        f'SELECT {select}, CAST({literal} AS VARCHAR) AS "{SOURCE_COL}", '
        f'CAST({row} AS BIGINT) AS "{ROW_COL}" FROM "{name}"'
    )
    if is_duckdb(con) and spool:
        return _spool(con, sql, name=name, source=literal, first_row=first_row, params=params)
    if is_duckdb(con):
        con.con.execute(f'CREATE TEMP TABLE "{name}" AS {sql}', *([params] if params else []))
        con.con.execute(f'CREATE TEMP VIEW "{name}_v" AS {numbered}')
        return con.table(f"{name}_v")
    from segmint.engine import raw_duckdb

    private = raw_duckdb()
    try:
        private.execute(f'CREATE TEMP TABLE "{name}" AS {sql}', *([params] if params else []))
        data = private.execute(numbered).to_arrow_table()
    finally:
        private.close()
    return register_arrow(con, data)


def _spool(
    con: BaseBackend, sql: str, *, name: str, source: str, first_row: int | None, params: list[Any] | None
) -> ibis.Table:
    """The ``SELECT``'s rows written once to a temporary Parquet file, read through a view.

    A large text file loaded as a table of text columns is stored uncompressed (1e7 CSV lines: 1.5 GB,
    past DuckDB's memory limit, so it spilled and every pass read it back from disk). Parquet keeps
    each column dictionary-encoded (270 MB), each pass reads only the columns it needs, and grouping
    a column runs on its dictionary. Rows keep their order (``_row`` is the file's row number).
    """
    from segmint.engine import spool_file

    path = sql_string(str(spool_file(con)))
    con.con.execute(
        f"COPY ({sql}) TO {path} (FORMAT parquet, COMPRESSION uncompressed, PRESERVE_ORDER true)",
        *([params] if params else []),
    )
    row = f'"{ROW_COL}"' if first_row is None else f"file_row_number + {int(first_row)}"
    drop = f'"{ROW_COL}", file_row_number' if first_row is None else "file_row_number"
    con.con.execute(
        f'CREATE TEMP VIEW "{name}_v" AS SELECT * EXCLUDE ({drop}), CAST({source} AS VARCHAR) AS "{SOURCE_COL}", '
        f'CAST({row} AS BIGINT) AS "{ROW_COL}" FROM read_parquet({path}, file_row_number = true)'
    )
    return con.table(f"{name}_v")


def drop_total_and_blank_rows(raw: RawTable, label_columns: int = 3) -> RawTable:
    """Drop all-blank rows and report total lines (``Total``/``Grand Total`` in a leading text column).

    Total lines repeat sums of the rows above; keeping them would double-count revenue.
    """
    table = raw.table
    text_cols = [c for c in raw.columns if table[c].type().is_string()]
    if not raw.columns:
        return raw
    bytewise = _backend_name(table) == "duckdb"
    pattern = TOTAL_LABEL.pattern.replace("(?:", "(")
    labels = text_cols[:label_columns]
    # the first rows (those mapping detection reads next, fetched once) tell which tests Parquet's
    # statistics will likely decide, so that they are written to reach the scan
    sample = raw.sample_columns(SAMPLE_ROWS) if bytewise and text_cols else None
    lines = header_keys(raw)  # the header's lines (two for a header split over two rows)
    witnesses = [(column, keys[column]) for keys in lines for column in [header_witness(keys, sample)]]
    found = _no_blank_or_total_row(table, raw.columns, labels, pattern, bytewise, sample, witnesses)
    if not found:
        return raw
    chunks = []
    for first in range(0, len(raw.columns), 32):  # nested per chunk: a row's first non-empty cell ends it
        blank = ibis.literal(True)
        for column in reversed(raw.columns[first : first + 32]):
            blank = ibis.cases((_is_empty(table[column]), blank), else_=False)
        chunks.append(blank)
    blank = balanced_and(chunks)
    checks: list[tuple[str, Any]] = [("blank", blank)]
    others = ~blank
    if "repeated_header" in found:  # every named cell repeats its header line's cell (unnamed columns aside)
        repeated = ibis.or_(*[balanced_and([is_header_cell(table[c], key, bytewise) for c, key in keys.items()])
                              for keys in lines])
        checks.append(("repeated_header", repeated.fill_null(False) & others))
        others = others & ~repeated.fill_null(False)
    if labels:
        total = ibis.or_(*[_is_total_label(table[c], pattern, bytewise) for c in labels]).fill_null(False)
        checks.append(("total_row", total & others))
    counts = result_rows(table.aggregate(**{r: c.sum() for r, c in checks}))[0]
    for reason, condition in checks:
        count = int(counts[reason] or 0)
        if count:
            hits = table.filter(condition)
            examples = result_rows(hits.order_by(ROW_COL).limit(MAX_EXAMPLES))
            raw.add_skipped(reason, count, examples)
            log.info("%s: dropped %d %s row(s)", raw.source, count, reason)
            table = table.filter(~condition)
    raw.table = table
    return raw


def _outside_the_hull(sample: dict[str, list[Any]], labels: list[str]) -> set[str]:
    """Label columns whose sampled values all start where no total label can ('!' up to 'G', or from
    'u': digits, A-F ...), so that Parquet's statistics likely rule out the label test's row groups."""
    outside = lambda v: v is None or (isinstance(v, str) and ("!" <= v < "G" or v >= "u"))  # noqa: E731
    return {c for c in labels if any(v is not None for v in sample[c]) and all(map(outside, sample[c]))}


def _no_blank_or_total_row(
    table: ibis.Table, columns: list[str], labels: list[str], pattern: str, bytewise: bool,
    sample: dict[str, list[Any]] | None = None, headers: list[tuple[str, str]] | None = None,
) -> set[str]:
    """The kinds of row (``blank``, ``total_row``, ``repeated_header``) one cheap aggregate cannot rule
    out; empty when it proves there is no blank row, total line nor repeated header row.

    A blank row has every cell empty, so one column without an empty cell rules blank rows out: the
    witness is a typed column where there is one (its NULL count costs next to nothing) and the
    first column otherwise. The total test reads only the label columns; the repeated header test one
    column a header line, whose cells must repeat that line's cell (``headers``: (column, key) pairs,
    keys of :mod:`segmint.io.header_rows`). Most files have none, and then the full test (every column of
    every row) is never run. ``sample``: the first rows, which choose the tests' form (DuckDB).
    """
    witness = next((c for c in columns if not table[c].type().is_string()), columns[0])
    if bytewise:
        # DuckDB: one filtered count per test, unioned (an OR across columns or a sum of CASEs is
        # evaluated row by row): a filter on one column is pushed into the scan, where a Parquet file's
        # statistics or dictionary decide most of it (1e7 lines: about 1.1 -> 0.4 CPU s)
        hulled = _outside_the_hull(sample, labels) if sample is not None else set()
        labelled = [_is_total_label(table[c], pattern, bytewise, hull=c in hulled) for c in labels]
        column = table[witness]
        text = column.type().is_string() and sample is not None
        if text and not any(v is not None and v < "!" for v in sample[witness]):
            # a text witness (a CSV file has no typed column) as two counts DuckDB pushes into a Parquet
            # scan, whose statistics (no NULL, no value below '!') decide them: 1e7 lines 0.16 -> 0.00
            # CPU s; the CASE form is tested on every row (the cells are disjoint: NULL is not below '!')
            empty = [column.isnull(), (column < "!") & (column.strip() == "")]
        else:
            empty = [_is_empty(column, bytewise)]
        kinds = ["blank"] * len(empty) + ["total_row"] * len(labelled)
        tests = [*empty, *labelled]
        for header_column, header in headers or []:
            kinds.append("repeated_header")
            tests.append(is_header_cell(table[header_column], header, bytewise))
        # each part counts its own kind (a constant column: a union's rows come in no set order)
        parts = [hits.aggregate(n=hits.count(), kind=ibis.literal(i)) for i, hits in enumerate(map(table.filter, tests))]
        counted = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
        found = result_columns(counted)
        return {kinds[i] for i, n in zip(found["kind"], found["n"], strict=True) if n}
    metrics = {"blank": _is_empty(table[witness]).sum()}
    if labels:
        metrics["total_row"] = ibis.or_(*[_is_total_label(table[c], pattern, bytewise) for c in labels]).fill_null(False).sum()
    if headers:
        metrics["repeated_header"] = ibis.or_(
            *[is_header_cell(table[column], header, bytewise) for column, header in headers]
        ).fill_null(False).sum()
    counts = result_rows(table.aggregate(**metrics))[0]
    return {kind for kind, n in counts.items() if int(n or 0)}


def _backend_name(table: ibis.Table) -> str:
    try:
        return table._find_backend().name
    except Exception:  # an unbound expression: no backend-specific shortcut
        return ""


def balanced_and(conditions: list[Any]) -> Any:
    """AND of many conditions as a balanced tree (a left-deep chain of 1,000 overflows the compiler)."""
    while len(conditions) > 1:
        conditions = [
            conditions[i] & conditions[i + 1] if i + 1 < len(conditions) else conditions[i]
            for i in range(0, len(conditions), 2)
        ]
    return conditions[0]


def _is_empty(column: ibis.Column, bytewise: bool = False) -> ibis.BooleanValue:
    """Null, or text that is empty after stripping white space: only text starting with a white space
    (or empty) can be, so most cells are decided by comparing their first character (``bytewise``, on
    DuckDB: the whole value below ``!``, the same test without extracting the character)."""
    if column.type().is_string():
        first_is_space = column < "!" if bytewise else column.left(1) <= " "
        return column.isnull() | ibis.cases((first_is_space, column.strip() == ""), else_=False)
    return column.isnull()


def _is_total_label(column: ibis.Column, pattern: str, bytewise: bool = False, hull: bool = False) -> ibis.BooleanValue:
    """``TOTAL_LABEL`` on one text column. A match starts (after white space) with t, g or s (total,
    grand total, subtotal) in either case: other cells are decided by their first character.

    ``bytewise`` (DuckDB, which compares text byte by byte): the first character is tested by
    comparing the whole value with byte ranges, a third cheaper than extracting it.
    """
    if bytewise:
        maybe = (column < "!") | ibis.or_(*[(column >= c) & (column < chr(ord(c) + 1)) for c in "tTgGsS"])
    else:
        first = column.left(1)
        maybe = first.isin(["t", "T", "g", "G", "s", "S"]) | (first <= " ")
    label = ibis.cases((column.ilike("%total%"), column.strip().lower().re_search(pattern.lower())), else_=False)
    if bytewise:  # a conjunction, not a CASE: a filter on it reaches the scan (NULL only for a NULL cell)
        test = maybe & column.ilike("%total%") & column.strip().lower().re_search(pattern.lower())
        # ``hull``: first the byte ranges' hull as two plain comparisons, which DuckDB pushes into a Parquet
        # scan, where min/max statistics rule out each row group whose values all start with a digit or
        # A-F (ids like 536365 and C536379: 1e7 lines, 0.25 CPU s -> none, no value read); on a column
        # with values in the hull the pushed filter costs more than the test on its dictionary
        return ((column < "!") | (column >= "G")) & (column < "u") & test if hull else test
    return ibis.cases((maybe, label), else_=False)
