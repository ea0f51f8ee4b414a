"""Counting the staged lines: the quality report's counters, the kept lines' groups with the proof
that no line repeats another, and the exact duplicate pass when the proof fails.

Cleaning's internals: :mod:`segmint.clean` runs them over :mod:`segmint.clean_stage`'s lines.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint import engine
from segmint.clean_options import CleanOptions
from segmint.clean_stage import (
    FLAG_COLUMNS,
    NUMBER_COUNTERS,
    _always_false,
    _always_true,
    _materialize_staged,
    _stage,
    date_checks,
)
from segmint.formats import NUMBER_FIELDS, Dictionaries, date_cast, line_sub_cent_metrics
from segmint.invoices import line_groups
from segmint.money import MONEY_DECIMALS
from segmint.quality import DROP_DESCRIPTIONS
from segmint.schema import CANONICAL_DTYPES
from segmint.textshape import TextShape, assumption_counts


def _counted_flags(staged: ibis.Table, fields: list[str]) -> dict[str, str | bool | None]:
    """Report counter -> staged flag column (None: the input cannot set it; True: every line sets it),
    in :func:`_counters`' order."""
    flags: dict[str, str | None] = {c: col for c, col in FLAG_COLUMNS.items() if col in staged.columns}
    for field in (f for f in NUMBER_FIELDS if f in fields):
        for flag, counter in NUMBER_COUNTERS.items():
            column = f"_n_{field}_{flag}"
            flags[f"{counter}_{field}"] = column if column in staged.columns else None
    return {
        c: None if col is None or _always_false(staged[col]) else True if _always_true(staged[col]) else col
        for c, col in flags.items()
    }


def absent_reasons(
    dicts: Dictionaries, fields: list[str], shape: TextShape, options: CleanOptions
) -> tuple[set[str], tuple[datetime, datetime] | None]:
    """Drop reasons no row can meet, proved over dictionaries, and (first, last) date of every row.

    A date read by DuckDB's cast (``formats.parse_columns`` proved it exact) is a function of its text
    alone, so its drop tests, run once per distinct text of the date dictionary, find a row exactly
    when some row meets them; with none met, every row's date is among the dictionary's, whose least
    and greatest are the rows' first and last date. A line value is the quantity (or 1) times a price
    from a column with a plain number in every row (``Dictionaries.filled``): never missing. The
    counters then cast no date and no number per line (1e7 CSV lines: about 1 CPU s).
    """
    absent: set[str] = set()
    if "unit_price" in dicts.filled and not {"amount", "credit"} & set(fields):
        absent.add("missing_amount")
    values = dicts.tables.get("invoice_date")
    if values is None or "invoice_date" not in dicts.cast:
        return absent, None
    checks = date_checks(values.value, date_cast(values.value), shape, options)
    found = engine.first_row(values.aggregate(
        first=date_cast(values.value).min(), last=date_cast(values.value).max(),
        **{name: ibis.cases((test, values.n), else_=0).sum() for test, name, _ in checks},
    ))  # fmt: skip
    if any(found[name] or 0 for _, name, _ in checks):
        return absent, None
    return absent | {name for _, name, _ in checks}, (found["first"], found["last"])


def _kept_lines(
    con: BaseBackend, mapped: ibis.Table, parsed: ibis.Table, fields: list[str], options: CleanOptions,
    shape: TextShape, counts: dict[str, Any], absent: set[str] | None = None,
    quantity_returns: Literal["count", "only"] | None = None,
) -> ibis.Table:
    """The kept lines as a streamed expression that tests only the drop reasons some line met (a
    row's reason is the first test it meets: leaving out tests no row met changes no row's reason).
    ``quantity_returns``: as :func:`segmint.clean_stage._stage`'s."""
    occurring = [name for name in DROP_DESCRIPTIONS if counts.get(f"reason:{name}")]
    narrow, field_of, _ = _stage(
        settled_numbers(parsed, fields, counts), fields, options, shape, occurring, absent=absent or (),
        quantity_returns=quantity_returns,
    )  # fmt: skip
    lines, _ = _materialize_staged(con, mapped, narrow, field_of, stream=True)
    return lines.filter(lines._reason.isnull()) if occurring else lines


def settled_numbers(parsed: ibis.Table, fields: list[str], counts: dict[str, Any]) -> ibis.Table:
    """``parsed`` with a typed float column's NaN, infinity and NULL tests left out where ``counts``
    prove that no kept line has such a value, for the passes over the kept lines.

    A unit price read as NULL/NaN leaves its line without a value (``missing_amount``, when no amount
    column gives one) and an infinite one is ``bad_unit_price``: with neither counted, every line with
    such a price was dropped for an earlier reason, whose test reads no price and stays. An infinite
    cost is counted as ``cost_unreadable`` on kept lines; a blank cost stays a blank (NULL) cost. Kept
    lines get the same values, dropped ones the same reason: each per-line CASE DuckDB inlined into
    every column that reads the price (line value, returns, amounts) is one addition (1e7 lines:
    about 0.9 CPU s of the grouping pass).
    """
    settled: dict[str, ir.Value] = {}
    column = parsed.columns
    price = "unit_price"
    if (
        price in fields and not {"amount", "credit"} & set(fields) and parsed[price].type().is_floating()
        and f"_n_{price}" in column and counts.get("reason:bad_unit_price") == 0
        and counts.get("reason:missing_amount") == 0
    ):  # fmt: skip
        false = ibis.literal(False)
        settled |= {f"_n_{price}": parsed[price].cast("float64") + 0.0, f"_n_{price}_blank": false,
                    f"_n_{price}_invalid": false}  # fmt: skip
    cost = next((f for f in ("cost", "unit_cost") if f in fields), None)  # the one the lines' cost reads
    if cost and parsed[cost].type().is_floating() and f"_n_{cost}" in column and counts.get("cost_unreadable") == 0:
        value = parsed[cost].cast("float64")
        settled |= {f"_n_{cost}": ibis.cases((value.isnan(), ibis.null("float64")), else_=value + 0.0),
                    f"_n_{cost}_invalid": ibis.literal(False)}  # fmt: skip
    return parsed.mutate(**settled) if settled else parsed


def _line_groups(
    con: BaseBackend, kept: ibis.Table, fields: list[str], *, prove: bool, returns: bool = False
) -> ibis.Table:
    """:func:`segmint.invoices.line_groups` of the kept lines, materialised; ``prove``: with the
    per-group proof that no line repeats another; ``returns``: with the return lines and their value."""
    probe = _probe_key(fields) if prove else None
    return engine.materialize(con, line_groups(kept, probe=probe, returns=returns, cost=returns and has_cost(fields)))


def has_cost(fields: Collection[str]) -> bool:
    """Do the lines have a cost (a cost or unit cost column)?"""
    return "cost" in fields or "unit_cost" in fields


def returns_by_quantity(counts: dict[str, Any], options: CleanOptions) -> bool:
    """Is every kept return line a line of negative quantity (``_quantity_returns``, counted by the
    grouping pass, equal to the returns: a negative quantity is a return, so equal counts are equal
    sets)? Then testing the quantity alone finds the same returns. Not when returns are dropped: the
    count is of the kept lines, and a weaker test would keep a dropped one."""
    counted = counts.get("_quantity_returns")
    return counted is not None and options.returns != "drop" and counted == counts.get("measure:returns")


def _kept(counts: dict[str, Any]) -> int:
    return counts["rows"] - sum(v for k, v in counts.items() if k.startswith("reason:"))


def _distinct_probes(kept: ibis.Table, fields: list[str]) -> int:
    """Distinct hashes of the kept lines' probe key (equal lines, equal hashes): one hash table of
    every kept line, which DuckDB spills to disk when it outgrows the memory limit."""
    counted = kept.aggregate(n=_line_hash(kept, _probe_key(fields)).nunique())
    return engine.one_row_counts(counted)["n"]


PROOF_BYTES_PER_LINE = 40  # the groups' hash table with a list of line hashes per group, a line


def _lists_fit(con: BaseBackend, rows: int | None) -> bool:
    """Prove "no repeated line" with lists of hashes per group (:func:`segmint.invoices.line_groups`)
    only when they take at most half of DuckDB's memory limit: DuckDB spills a grouping to disk but
    not the lists in it (1e8 lines ran out of memory at 1.5 GB). Larger inputs take the
    proof of session 5, a distinct count of every kept line's probe hash, which spills."""
    limit = engine.memory_limit_bytes(con)
    return rows is not None and limit is not None and rows * PROOF_BYTES_PER_LINE <= limit / 2


def _group_counters(groups: ibis.Table, shape: TextShape | None = None) -> dict[str, Any]:
    """The kept lines' distinct customers and invoices, ``_repeats`` (kept lines that may repeat
    another) and, when the groups sum them, the total amount, return lines and their value; with
    ``shape``, its assumptions' ``assumed:`` counts (:func:`segmint.textshape.assumption_counts`)."""
    metrics: dict[str, ir.Scalar] = {
        "measure:customers": groups.customer_id.nunique(),
        "measure:invoices": groups.invoice_id.nunique(),
    }
    if "returns" in groups.columns:
        metrics |= {
            "measure:total_amount": groups.net.sum(),
            "measure:returns": groups.returns.sum(),
            "measure:returns_value": groups.returns_value.sum(),
        }
    if "cost_gross" in groups.columns:
        metrics["measure:cost_gross"] = groups.cost_gross.sum()
    if "repeats" in groups.columns:
        metrics["_repeats"] = groups.repeats.sum()
    if "quantity_returns" in groups.columns:
        metrics["_quantity_returns"] = groups.quantity_returns.sum()
    if shape is not None:
        metrics |= assumption_counts(shape, groups)
    return _counted(groups, metrics)


def _counters_without_drops(
    con: BaseBackend, staged: ibis.Table, fields: list[str], tests: ibis.Table | None, *, one_pass: bool = False,
    rows: int | None = None, dates: tuple[datetime, datetime] | None = None,
) -> dict[str, Any] | None:
    """:func:`_counters` (but the kept lines' sums and returns) when no row meets any drop test, else None.

    Each drop test and repair flag of ``tests`` (:func:`segmint.clean_stage._stage`) is one filtered
    count of a view (DuckDB expands it in each count: a filter on one column reaches the scan, where
    Parquet's statistics decide most of it; 1e7 lines: about 0.2 CPU s, the aggregate of every line
    about 1.5); the dates are a minimum and a maximum. ``one_pass``: the tests cast text per line (a
    CSV file's dates and numbers), which each filtered count would do again: one aggregate counts
    every test and the dates (1e7 CSV lines: 2.6 -> about 1.1 CPU s). ``rows`` and ``dates`` (first,
    last), when known (:func:`absent_reasons`): with every test the literal False, no pass at all.
    """
    if tests is None or con.name != "duckdb":
        return None
    flags = _counted_flags(staged, fields)
    columns = [c for c in tests.columns if c.startswith("reason:")]
    columns += [column for column in flags.values() if isinstance(column, str)]
    columns = [c for c in dict.fromkeys(columns) if not _always_false(tests[c])]  # a literal False counts 0
    known = None if dates is None else {"first": dates[0], "last": dates[1]}
    if not columns and known is not None and rows is not None:
        found: dict[str, Any] = {"rows": rows}
    else:
        found, known = _test_counts(con, tests, columns, one_pass=one_pass, dates=known)
    if any(n for k, n in found.items() if k.startswith("reason:")):
        return None
    rows = int(found["rows"])
    counts: dict[str, Any] = {"rows": rows} | {f"reason:{name}": 0 for name in DROP_DESCRIPTIONS}
    for counter, column in flags.items():
        counts[counter] = 0 if column is None else rows if column is True else int(found.get(column) or 0)
    if known is None:  # Parquet's statistics answer these
        known = engine.first_row(staged.aggregate(first=staged.invoice_date.min(), last=staged.invoice_date.max()))
    return counts | {"measure:first_date": known["first"], "measure:last_date": known["last"]}


def _test_counts(
    con: BaseBackend, tests: ibis.Table, columns: list[str], *, one_pass: bool, dates: dict[str, Any] | None
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Rows meeting each test column of ``tests`` and ``rows``; the first and last date when
    ``one_pass`` and not known already (``dates``)."""
    view = engine.temp_view(con, tests)
    if one_pass:
        metrics = {f"n{i}": view.count(where=view[c]) for i, c in enumerate(columns)}
        if dates is None:
            metrics |= {"first": view._date.min(), "last": view._date.max()}
        row = engine.first_row(view.aggregate(rows=view.count(), **metrics))
        found = {c: row[f"n{i}"] for i, c in enumerate(columns)} | {"rows": row["rows"]}
        return found, dates or {"first": row["first"], "last": row["last"]}
    parts = [view.filter(view[c]).aggregate(k=ibis.literal(c), n=ibis._.count()) for c in columns]
    parts.append(view.aggregate(k=ibis.literal("rows"), n=ibis._.count()))
    found = dict(zip(*ibis.union(*parts, distinct=False).to_pyarrow().to_pydict().values(), strict=True))
    return found, dates


def _counted(table: ibis.Table, metrics: dict[str, ir.Scalar]) -> dict[str, Any]:
    """One aggregate of ``table``: counts as ints (NULL = 0), ``measure:`` values as they are."""
    row = engine.first_row(table.aggregate(**metrics))
    return {k: (v if k.startswith("measure:") else int(v or 0)) for k, v in row.items()}


def _counters(
    staged: ibis.Table, fields: list[str], *, distinct: bool, typed_amount: bool = False, absent: Collection[str] = ()
) -> dict[str, Any]:
    """One ungrouped aggregate of the staged lines: rows per drop reason, repaired values in kept rows
    and the kept rows' measures; ``distinct``: with the distinct customers and invoices (a hash table
    of every value: large inputs count them from their groups instead); ``typed_amount``: with the
    amounts of more than 2 decimals of a typed amount column (:func:`segmint.formats.typed_sub_cent`);
    ``absent``: reasons the lines were staged without (no test: not counted)."""
    cents: dict[str, ir.Scalar] = {}
    if typed_amount:  # every row's amount, kept or not (as a text column's dictionary counts them)
        computed = staged._f_amount_computed if "_f_amount_computed" in staged.columns else None
        amount = staged.amount if computed is None else ibis.cases((computed, ibis.null("float64")), else_=staged.amount)
        staged, cents = line_sub_cent_metrics(staged, amount, "amount")
    kept = staged._reason.isnull()
    metrics: dict[str, ir.Scalar] = {"rows": staged.count()}
    metrics |= {f"reason:{name}": (staged._reason == name).sum() for name in DROP_DESCRIPTIONS if name not in absent}
    for counter, column in _counted_flags(staged, fields).items():
        if column is None:
            metrics[counter] = ibis.literal(0)
        elif column is True:  # set on every kept line: the kept lines' count
            metrics[counter] = kept.sum()
        else:
            metrics[counter] = (staged[column] & kept).sum()
    metrics |= {
        "measure:first_date": staged.invoice_date.min(where=kept),
        "measure:last_date": staged.invoice_date.max(where=kept),
        "measure:total_amount": staged.amount.sum(where=kept),
        "measure:returns": (staged.is_return & kept).sum(),
        "measure:returns_value": staged.amount.sum(where=kept & staged.is_return),
    }
    if has_cost(fields):  # the kept lines' costs as positive numbers: bounded like their amounts
        metrics["measure:cost_gross"] = staged.cost.abs().sum(where=kept)
    metrics |= cents
    if distinct:
        metrics["measure:customers"] = staged.customer_id.nunique(where=kept)
        metrics["measure:invoices"] = staged.invoice_id.nunique(where=kept)
    return _counted(staged, metrics)


def _measure(stats: dict[str, Any]) -> dict[str, Any]:
    """Report fields from the ``measure:`` counters (None-safe)."""
    values = {k.removeprefix("measure:"): v for k, v in stats.items()}
    for key in ("customers", "invoices", "returns"):
        values[key] = int(values[key] or 0)
    for key in ("total_amount", "returns_value"):  # money: to the cent, no float-sum noise
        values[key] = round(float(values[key] or 0.0), MONEY_DECIMALS) + 0.0
    for key in ("first_date", "last_date"):
        value = values[key]
        values[key] = value if value is None or isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return values


def _duplicate_key(fields: list[str]) -> list[str]:
    """Canonical columns that make two lines exact copies (a synthetic invoice id is not compared)."""
    return [c for c in CANONICAL_DTYPES if c != "invoice_id" or "invoice_id" in fields]


def _probe_key(fields: list[str]) -> list[str]:
    """Columns whose values tell lines apart in practice, a subset of the duplicate key (equal lines
    agree on them): one line per invoice, product and quantity, as a rule. Hashing three columns
    instead of twelve makes proving that a large input has no duplicate a third cheaper (1e7 lines:
    about 4.3 -> 3.0 CPU s); lines that agree on these only (the same product and quantity twice on
    an invoice at another price) just send cleaning to the exact duplicate pass."""
    probe = ["invoice_id", "product_id", "quantity"]
    return probe if all(c in fields for c in probe[:2]) else _duplicate_key(fields)


def _line_hash(table: ibis.Table, columns: list[str]) -> ir.IntegerValue:
    """One hash of a line's ``columns`` (the duplicate key or its probe: equal lines, equal hashes).

    On DuckDB its own 64-bit ``hash`` shifted right one bit into a BIGINT: Ibis' ``hash()`` converts it
    through a bit string, which cost as much as hashing (retail log, 541,909 lines: 0.042 -> 0.026
    thread-CPU s for the hash alone). A collision of unequal lines only makes them candidates the exact
    numbering tells apart. Other engines: Ibis' ``hash()``."""
    key = ibis.struct({c: table[c] for c in columns})
    con = table._find_backend(use_default=True)
    if getattr(con, "name", "") != "duckdb":
        return key.hash()
    # Ibis types ``>>`` as int64 and would drop the cast: through uint64, DuckDB casts to BIGINT
    return (_engine_hash(key) >> 1).cast("uint64").cast("int64")


def _engine_hash(value: ir.StructValue) -> ir.IntegerValue:
    """DuckDB's ``hash`` of ``value`` (UBIGINT)."""

    def hash(value): ...  # noqa: A001, ANN001, ANN202 - the engine's own function

    return ibis.udf.scalar.builtin(hash, name="hash", signature=((value.type(),), dt.uint64))(value)


def _with_line_hash(narrow: ibis.Table, fields: list[str]) -> ibis.Table:
    """``narrow`` (the staged lines about to be stored) with ``_hash``, the hash of each kept line's probe
    key (NULL for a dropped line): stored once, :func:`_duplicates` groups and joins it instead of hashing
    every kept line's twelve columns twice (retail log: its two duplicate passes about 0.19 -> 0.085 CPU s).
    Equal lines have equal probe keys; lines that agree on it only are candidates the
    exact numbering tells apart."""
    key = _line_hash(narrow, _probe_key(fields))
    return narrow.mutate(_hash=ibis.cases((narrow._reason.isnull(), key), else_=ibis.null("int64")))


def _duplicate_field(fields: list[str]) -> str:
    """The field a duplicate's drop names: its invoice id (its customer id when the file has none)."""
    return "invoice_id" if "invoice_id" in fields else "customer_id"


def _mark_duplicates(
    con: BaseBackend, staged: ibis.Table, stored: ibis.Table | None, copies: ibis.Table, fields: list[str]
) -> ibis.Table:
    """``staged`` with the ``copies`` given the reason ``duplicate`` (they were kept so far).

    In place in the ``stored`` rows when the engine allows it (:func:`segmint.engine.set_where_in`;
    ``staged`` reads them and derives the field from the reason): later queries then read no join.
    Else a join marks them in every query that reads the result.
    """
    if stored is not None:
        keys = [c for c in ("_source", "_row") if c in stored.columns]  # no stored _source: one file
        if engine.set_where_in(con, stored, copies.select(*keys), {"_reason": "duplicate"}):
            return staged
    marked = copies.mutate(_copy=ibis.literal(True))
    joined = staged.left_join(marked, ["_source", "_row"])
    copy = joined._copy.fill_null(False)
    field = _duplicate_field(fields)
    columns = [c for c in staged.columns if c not in ("_reason", "_field", "_source", "_row")]
    return joined.select(
        *[joined[c] for c in columns], _source=staged._source, _row=staged._row,
        _reason=ibis.cases((copy, "duplicate"), else_=joined._reason),
        _field=ibis.cases((copy, field), else_=joined._field),
    )  # fmt: skip


def _duplicates(con: BaseBackend, staged: ibis.Table, fields: list[str]) -> ibis.Table | None:
    """``_source``/``_row`` of kept lines that repeat an earlier kept line exactly (materialised, small),
    or None when no kept line repeats another.

    A hash aggregate finds the repeated lines' keys (usually few, often none: then the rows are not
    read again); only the lines with such a key are numbered. Numbering every kept line (a window
    partitioned by the whole line) cost about twice as much and held every line in memory at once.
    """
    key = _duplicate_key(fields)
    stored = "_hash" in staged.columns  # hashed when stored (:func:`_with_line_hash`)
    # only the columns the numbering reads: each query below then compiles and carries 13 columns, not 30
    kept = staged.filter(staged._reason.isnull()).select(*key, "_source", "_row", *(["_hash"] if stored else []))
    if con.name == "duckdb":
        # one 64-bit hash of the whole line is grouped and joined instead of every column (about half
        # the work, and far less memory at 1e7 lines); equal lines have equal hashes, and a collision
        # only adds a candidate that the exact numbering below tells apart
        kept = kept if stored else kept.mutate(_hash=_line_hash(kept, key))
        repeated = kept.group_by("_hash").aggregate(_n=kept.count()).filter(lambda t: t._n > 1).select("_hash")
        repeated = engine.materialize(con, repeated)
        if not _has_rows(repeated):
            return None
        lines = kept.semi_join(repeated, "_hash")
    else:
        repeated = kept.group_by(key).aggregate(_n=kept.count()).filter(lambda t: t._n > 1).select(*key)
        lines = kept.semi_join(repeated, [kept[c].identical_to(repeated[c]) for c in key])  # NULL matches NULL
    number = ibis.row_number().over(group_by=key, order_by=[lines._source, lines._row])
    copies = lines.mutate(_copy=number).filter(lambda t: t._copy > 0).select("_source", "_row")
    return engine.materialize(con, copies)


def _has_rows(table: ibis.Table) -> bool:
    return bool(engine.row_count(table))  # a table materialize made: counted when it was filled
