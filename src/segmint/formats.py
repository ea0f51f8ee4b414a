"""Value formats of mapped text columns: evidence, the reading plan, and parsing through dictionaries.

A text column holds far fewer distinct values than rows (dates repeat per invoice, prices per
product), so the evidence (which date layouts occur, day/month order, decimal commas) is computed on
each column's *dictionary* (distinct values with their row counts) and the expensive regex parsing runs
once per distinct value; rows then get their value through an equality join. The evidence and the
counts are the same as over every row (each distinct value is weighted by its count), only cheaper.
Typed columns (Parquet numbers and timestamps, Excel dates) skip all of this.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint import engine
from segmint.errors import DataError
from segmint.money import MONEY_DECIMALS
from segmint.parsing import (
    CURRENCY_MARKERS,
    DATE_PATTERNS,
    EXCEL_SERIAL,
    NUMBER_FLAGS,
    NUMBER_REGEX,
    PLAIN_NUMBER,
    DatePattern,
    add_parsed_dates,
    add_parsed_number,
    decimal_evidence,
    is_blank,
    normalised,
    numeric_parts,
    pattern_from_strptime,
)
from segmint.quality import DateFormatInfo

NUMBER_FIELDS = ("quantity", "unit_price", "amount", "credit", "cost", "unit_cost")
# dd.mm.yyyy: where dates are written with dots (German, Russian, Scandinavian, ... usage) the day
# comes first; month-first usage writes slashes, so dots alone settle an otherwise ambiguous column
DOTTED_DATE = r"^\d{1,2}\.\d{1,2}\.(\d{4}|\d{2})\b"


@dataclass
class Dictionaries:
    """Distinct values (``value``, ``n`` rows) of the text columns parsed through a dictionary."""

    rows: int | None  # None: not counted (no text number column needed it; typed inputs skip that pass)
    tables: dict[str, ibis.Table] = field(default_factory=dict)
    plain: list[str] = field(default_factory=list)  # text number columns holding only plain numbers
    nulls_only: list[str] = field(default_factory=list)  # plain columns whose only blanks are NULLs
    filled: list[str] = field(default_factory=list)  # plain columns with a number in every row (no blank)
    cast: list[str] = field(default_factory=list)  # columns whose dictionary proved a direct cast exact
    # amounts with more than 2 decimals (1.234 KWD): (rows, millionths their rounding to the cent adds)
    sub_cent: dict[str, tuple[int, int]] = field(default_factory=dict)

    def joined(self) -> dict[str, ibis.Table]:
        """The dictionaries rows still get their values from (through an equality join)."""
        return {name: table for name, table in self.tables.items() if name not in self.cast}


def text_fields(mapped: ibis.Table, fields: list[str]) -> list[str]:
    """Mapped fields whose values must be parsed from text: a text date and text number columns."""
    wanted = ["invoice_date", *[f for f in NUMBER_FIELDS if f in fields]]
    return [f for f in wanted if f in fields and not _typed(mapped[f])]


def _typed(column: ir.Value) -> bool:
    dtype = column.type()
    return dtype.is_numeric() or dtype.is_timestamp() or dtype.is_date()


def dictionaries(con: BaseBackend, mapped: ibis.Table, fields: list[str]) -> Dictionaries:
    """Row count and the dictionaries of the text columns that need parsing.

    A count over each text number column's distinct values finds those holding only plain numbers
    (``12``, ``-3.50``) or blanks: those are cast directly (and tested for blanks per row only when a
    placeholder like ``-`` occurs). The text date column and the other number columns get a
    dictionary each (one grouping query). With no text number column there is no count at all
    (``rows`` is None): the cleaning pass counts the rows anyway.
    """
    text = text_fields(mapped, fields)
    numbers = [f for f in text if f != "invoice_date"]
    if not numbers:
        tables = {"invoice_date": _date_dictionary(con, mapped)} if "invoice_date" in text else {}
        return Dictionaries(rows=None, tables=tables)
    counts: dict[str, int] = {}
    for name in numbers:
        # each distinct value tested once, weighted by its rows (a query per column: one query would
        # share ``mapped`` as a CTE that DuckDB copies whole)
        values = mapped.group_by(value=mapped[name].cast("string")).aggregate(n=mapped.count())
        blank = is_blank(values.value)
        metrics = {
            f"exact:{name}": ibis.cases((blank | values.value.re_search(PLAIN_NUMBER), values.n), else_=0).sum(),
            f"placeholders:{name}": ibis.cases((blank & values.value.notnull(), values.n), else_=0).sum(),
            f"nulls:{name}": ibis.cases((values.value.isnull(), values.n), else_=0).sum(),
        }
        if not counts:  # every row is in one group (NULL too): the first column's groups count the rows
            metrics["rows"] = values.n.sum()
        if name in SUB_CENT_FIELDS:  # read when every value is plain (then cast as it is here)
            number = ibis.cases((blank, ibis.null("float64")), else_=values.value.try_cast("float64"))
            metrics |= sub_cent_metrics(number, values.n, name)
        counts |= engine.one_row_counts(values.aggregate(**metrics))
    plain = [f for f in numbers if counts[f"exact:{f}"] == counts["rows"]]
    sub_cent = {f: (counts[f"sub_cent:{f}"], counts[f"sub_cent_change:{f}"]) for f in plain if f in SUB_CENT_FIELDS}
    nulls_only = [f for f in plain if not counts[f"placeholders:{f}"]]
    filled = [f for f in nulls_only if not counts[f"nulls:{f}"]]
    tables = {}
    for name in (f for f in text if f not in plain):
        if name == "invoice_date":
            tables[name] = _date_dictionary(con, mapped)
            continue
        grouped = mapped.group_by(value=mapped[name].cast("string")).aggregate(n=mapped.count())
        tables[name] = engine.materialize(con, grouped)
    return Dictionaries(
        rows=counts["rows"], tables=tables, plain=plain, nulls_only=nulls_only, filled=filled, sub_cent=sub_cent
    )


SUB_CENT_FIELDS = ("amount",)
SUB_CENT_TOLERANCE = 1e-6  # far above the float noise of a value written to the cent (12.34)


def sub_cent_metrics(
    number: ir.FloatingValue, n: ir.IntegerValue | None, name: str, cents_change: ir.FloatingValue | None = None
) -> dict[str, ir.Scalar]:
    """Rows (``n`` per value; None: one per row) whose ``number`` has more than 2 decimals, and the
    millionths rounding each to the cent adds to their total: money is reported to the cent, so a
    3-decimal currency's 1.234 is shown as 1.23 (see :data:`Dictionaries.sub_cent`). ``cents_change``:
    that change in cents when the caller computed it once as a column (:func:`line_sub_cent_metrics`).

    Rounding changes a value by half a cent at most (0.125 -> 0.13: 0.5 cents and float noise); a value on
    the cent by float noise (below 1e-4 cents). NaN, infinity (a cast of '1e400' or 'inf') and values past
    about 1e15 (their doubles 12.5 cents or more apart: no digits left below the cent) change by NaN or by
    whole cents, so they are not counted."""
    change = cents_of_rounding(number) if cents_change is None else cents_change
    sub = ((change.abs() > SUB_CENT_TOLERANCE * 100) & (change.abs() < 1)).fill_null(False)
    millionths = (change * 1e4).round().cast("int64")
    return {
        f"sub_cent:{name}": ibis.cases((sub, 1 if n is None else n), else_=0).sum(),
        f"sub_cent_change:{name}": ibis.cases((sub, millionths if n is None else millionths * n), else_=0).sum(),
    }


def typed_sub_cent(mapped: ibis.Table, fields: list[str]) -> bool:
    """The amount column is typed and may hold values of more than 2 decimals (a double, or a decimal of
    3 or more places): the counters' aggregate then counts them (a text column's dictionary does), from
    the staged amounts: a return's as counted (negative), so the change is what rounding does to the totals.

    Only for staged copies: a streamed input's counters are answered from Parquet statistics and make
    no pass over every line, and its grouping pass sees the kept lines' signed line values, not the
    amounts as written, so a large typed input is not checked (a check would be a pass of its own)."""
    if "amount" not in fields or "credit" in fields:  # a credit column's lines are amount - credit
        return False
    dtype = mapped.amount.type()
    return dtype.is_floating() or (dtype.is_decimal() and (dtype.scale is None or dtype.scale > MONEY_DECIMALS))


def cents_of_rounding(number: ir.FloatingValue) -> ir.FloatingValue:
    """What rounding ``number`` to the cent changes, in cents (a float: no integer cast to overflow)."""
    return (number.round(MONEY_DECIMALS) - number) * 100


def line_sub_cent_metrics(table: ir.Table, amount: ir.FloatingValue, name: str) -> tuple[ir.Table, dict[str, ir.Scalar]]:
    """:func:`sub_cent_metrics` of a value per row (a typed column): ``table`` with each row's change in
    cents computed once (``_cents_change``, which the metrics read twice), and the metrics over it."""
    table = table.mutate(_cents_change=cents_of_rounding(amount))
    return table, sub_cent_metrics(amount, None, name, table._cents_change)


def sub_cent_change(millionths: int) -> str:
    """The change rounding to the cent makes, as the warnings write it ('-0.005', '+0.003')."""
    return f"{millionths / 1e6:+.6f}".rstrip("0").rstrip(".")


ISO_SHAPES = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.000000")  # 10, 19 and 26 characters


def _date_dictionary(con: BaseBackend, mapped: ibis.Table) -> ibis.Table:
    """The date column's distinct texts (``value``, ``n``) and, on DuckDB, ``iso``: the text is exactly
    how DuckDB writes its own reading of it in one of ``ISO_SHAPES`` (a 4-digit year from 1, no
    fraction of a second, no zone).

    Such a text fits the ``iso`` layout and no other, and the ``iso`` parser reads exactly DuckDB's
    timestamp from it (the same fields, each valid, since DuckDB read and wrote them back); the
    evidence and the parse then skip it (at 1e7 CSV lines: 591k distinct date-times, eight regexes
    each). Any other text (``2023-4-1``, a ``T``, a fraction, a zone, ``01/04/2023``) is still
    counted and parsed value by value as before.
    """
    grouped = mapped.group_by(value=mapped.invoice_date.cast("string")).aggregate(n=mapped.count())
    if con.name == "duckdb":
        stamp = grouped.value.try_cast("timestamp")
        shapes = [stamp.strftime(shape) == grouped.value for shape in ISO_SHAPES]
        canonical = grouped.value.length().isin([10, 19, 26]) & (stamp.year() >= 1) & ibis.or_(*shapes)
        grouped = grouped.mutate(iso=canonical.fill_null(False))
    return engine.materialize(con, grouped)


def _not_iso(d: ibis.Table) -> ibis.Table:
    """The date dictionary's texts that are not canonical ISO (all of them without the marker).

    The evidence counts the canonical ones as ``iso`` whatever the plan; the parse skips them only when
    the plan tries the ``iso`` layout (a forced ``date_format`` reads them its own way)."""
    return d.filter(~d.iso) if "iso" in d.columns else d


def currencies(found: dict[str, int], field: str) -> dict[str, int]:
    """Rows of ``field`` per currency its texts name (:func:`evidence`'s counts; only currencies met)."""
    counted = {symbol: found.get(f"currency:{field}:{symbol}") or 0 for symbol in CURRENCY_MARKERS}
    return {symbol: n for symbol, n in counted.items() if n}


def evidence(dicts: Dictionaries) -> dict[str, int]:
    """Rows per date layout, day/month-order signals, decimal-separator signatures and currencies named,
    from dictionaries."""
    found: dict[str, int] = {"rows": dicts.rows} if dicts.rows is not None else {}
    for name in dicts.plain:
        found[f"plain:{name}"] = dicts.rows
    if "invoice_date" in dicts.tables:
        d = _not_iso(dicts.tables["invoice_date"])
        text = normalised(d.value)
        metrics: dict[str, ir.Scalar] = {}
        for pattern in (*DATE_PATTERNS, EXCEL_SERIAL):
            metrics[f"date:{pattern.name}"] = d.n.sum(where=text.re_search(pattern.regex))
        first, second = numeric_parts(text)
        metrics["date:first_gt12"] = d.n.sum(where=first > 12)
        metrics["date:second_gt12"] = d.n.sum(where=second > 12)
        metrics["date:dotted"] = d.n.sum(where=text.re_search(DOTTED_DATE))
        found |= engine.one_row_counts(d.aggregate(**metrics))
        whole = dicts.tables["invoice_date"]
        if "iso" in whole.columns:  # canonical ISO texts fit the iso layout only (see _date_dictionary)
            found["date:iso"] += engine.one_row_counts(whole.aggregate(n=whole.n.sum(where=whole.iso)))["n"]
    for name, d in dicts.tables.items():
        if name == "invoice_date":
            continue
        point, comma = decimal_evidence(d.value)
        text = normalised(d.value)
        metrics = {
            f"plain:{name}": d.n.sum(where=text.re_search(PLAIN_NUMBER) | is_blank(text)),
            f"point:{name}": d.n.sum(where=point),
            f"comma:{name}": d.n.sum(where=comma),
        }
        number = text.re_search(NUMBER_REGEX)
        for symbol, marker in CURRENCY_MARKERS.items():
            metrics[f"currency:{name}:{symbol}"] = d.n.sum(where=number & text.re_search(marker))
        found |= engine.one_row_counts(d.aggregate(**metrics))
    return found




def date_plan(
    mapped: ibis.Table,
    column_label: str,
    *,
    date_format: str | None,
    dayfirst: bool | None,
    evidence: dict[str, int],
    source: str,
    warnings: list[str],
    dates: ibis.Table | None = None,
) -> tuple[DateFormatInfo, tuple[DatePattern, ...] | None, bool]:
    """Decide the date layouts to try (None = native timestamps) and dd/mm vs mm/dd.

    ``dates`` is the date column's dictionary (distinct ``value``), where the example of the evidence
    is taken from (the column itself without it)."""
    if _typed(mapped.invoice_date):
        # rows not counted yet (typed inputs): the cleaning pass fills in its row count
        info = DateFormatInfo(column=column_label, formats={"native": evidence.get("rows", 0)}, evidence="native dates")
        return info, None, False
    formats = {p.name: evidence.get(f"date:{p.name}", 0) for p in (*DATE_PATTERNS, EXCEL_SERIAL)}
    if date_format:
        pattern = pattern_from_strptime(date_format)
        info = DateFormatInfo(column=column_label, formats=formats, evidence=f"forced format {date_format!r}")
        return info, (pattern,), False
    first, second = evidence.get("date:first_gt12", 0), evidence.get("date:second_gt12", 0)
    if dayfirst is not None:
        why = f"day first = {dayfirst} (set in the options/mapping)"
    elif first and second:
        raise DataError(
            f"{source}: column '{column_label}' mixes day-first and month-first dates: "
            f"{_numeric_examples(mapped, 'first')} put the day first but "
            f"{_numeric_examples(mapped, 'second')} put the month first; fix those rows "
            "or set dayfirst / date_format in the column mapping"
        )
    elif first:
        example = _order_example(mapped if dates is None else dates, "first")
        dayfirst, why = True, f"day first: {first:,} values have a first part > 12 (e.g. {example})"
    elif second:
        example = _order_example(mapped if dates is None else dates, "second")
        dayfirst, why = False, f"month first: {second:,} values have a second part > 12 (e.g. {example})"
    elif formats["numeric"] and evidence.get("date:dotted", 0) == formats["numeric"]:
        dayfirst, why = True, "no part > 12, written with dots (01.02.2023): day first (1 Feb), the dotted convention"
    elif formats["numeric"]:
        dayfirst, why = False, "ambiguous (no part > 12): ASSUMED month first (01/02/2023 = 2 Jan)"
        warnings.append(
            f"dates in column '{column_label}' such as 01/02/2023 are ambiguous; month first was assumed. "
            "Set dayfirst: true in the column mapping if they are day first."
        )
    else:
        why = "no dd/mm or mm/dd values"
    info = DateFormatInfo(
        column=column_label, formats=formats, dayfirst=dayfirst if formats["numeric"] else None, evidence=why
    )
    present = tuple(p for p in (*DATE_PATTERNS, EXCEL_SERIAL) if formats[p.name])
    return info, present or DATE_PATTERNS[:1], bool(dayfirst)


def _order_example(table: ibis.Table, part: str) -> str:
    """One date text of ``table`` (a date dictionary's ``value``, or the mapped ``invoice_date``) whose
    first or second numeric part is above 12: the evidence of the day/month order, quoted as written."""
    value = table["value" if "value" in table.columns else "invoice_date"].cast("string")
    first, second = numeric_parts(normalised(value))
    example = value.min(where=(first if part == "first" else second) > 12)
    return str(engine.first_row(example.name("example").as_table())["example"]).strip()


def _numeric_examples(mapped: ibis.Table, part: str) -> str:
    text = normalised(mapped.invoice_date.cast("string"))
    first, second = numeric_parts(text)
    rows = mapped.filter((first if part == "first" else second) > 12)
    sample = rows.order_by(["_source", "_row"]).select("_row", "invoice_date").limit(3).to_pyarrow().to_pylist()
    return "rows " + ", ".join(f"{r['_row']} ({r['invoice_date']!r})" for r in sample)


def parse_columns(
    con: BaseBackend,
    mapped: ibis.Table,
    fields: list[str],
    dicts: Dictionaries,
    evidence: dict[str, int],
    *,
    patterns: tuple[DatePattern, ...] | None,
    dayfirst: bool,
    decimal: dict[str, bool],
) -> ibis.Table:
    """``mapped`` plus ``_invoice_date`` and, per number field f, ``_n_f`` and its flags (``_n_f_<flag>``).

    Typed columns are cast; text columns whose every value is a plain number (or blank) are cast
    directly; other text columns are parsed once per distinct value and joined back.
    """
    t = mapped
    if patterns is None:
        t = t.mutate(_invoice_date=t.invoice_date.cast("timestamp"))
    else:
        whole = dicts.tables["invoice_date"]
        # canonical ISO texts fit the iso layout only: read by the cast when that layout is tried
        shortcut = "iso" in whole.columns and DATE_PATTERNS[0] in patterns
        d = _not_iso(whole) if shortcut else whole
        d = d.mutate(_date_text=normalised(d.value))
        d = add_parsed_dates(d, "_date_text", "_parsed", patterns, dayfirst=dayfirst)
        d = d.select(_d_invoice_date=d.value, _invoice_date=d._parsed)
        if shortcut:  # the cast is their parse (see _date_dictionary)
            iso = whole.filter(whole.iso)
            d = ibis.union(d, iso.select(_d_invoice_date=iso.value, _invoice_date=date_cast(iso.value)), distinct=False)
        d = engine.materialize(con, d)
        if con.name == "duckdb" and _cast_is_exact(d):
            t = t.mutate(_invoice_date=date_cast(t.invoice_date))
            dicts.cast.append("invoice_date")
        else:
            t = _join(t, "invoice_date", d, ["_invoice_date"])
    for name in (f for f in NUMBER_FIELDS if f in fields):
        out = f"_n_{name}"
        if name in dicts.plain:
            t = _plain_number(t, name, out, nulls_only=name in dicts.nulls_only, filled=name in dicts.filled)
        elif name not in dicts.tables:
            t = add_parsed_number(t, name, out)
        else:
            d = dicts.tables[name]
            d = add_parsed_number(d, "value", out, decimal_comma=decimal[name])
            flags = [f"{out}_{flag}" for flag in NUMBER_FLAGS]
            d = engine.materialize(con, d.select(d.value.name(f"_d_{name}"), out, *flags, "n"))
            if name in SUB_CENT_FIELDS:  # one aggregate of the distinct values, as parsed
                found = engine.one_row_counts(d.aggregate(**sub_cent_metrics(d[out], d.n, name)))
                dicts.sub_cent[name] = (found[f"sub_cent:{name}"], found[f"sub_cent_change:{name}"])
            t = _join(t, name, d, [out, *flags])
            t = t.mutate(**{f"{out}_{flag}": t[f"{out}_{flag}"].fill_null(False) for flag in NUMBER_FLAGS})
            t = t.mutate(**{f"{out}_blank": t[f"{out}_blank"] | t[name].isnull()})
    return t


def date_cast(text: ir.Value) -> ir.TimestampValue:
    """DuckDB's own reading of a text timestamp (strict ISO 8601), NULL for anything else."""
    return text.cast("string").try_cast("timestamp")


def _cast_is_exact(d: ibis.Table) -> bool:
    """Does the direct cast give every distinct date text of the parsed dictionary ``d`` its parsed date?

    Then rows need no join with the dictionary (ISO dates, the usual export): the cast is exact for
    every row, since every row's text is one of the values checked. One NULL-safe comparison per
    distinct value.
    """
    differs = ~date_cast(d._d_invoice_date).identical_to(d._invoice_date)
    return not engine.one_row_counts(d.aggregate(n=differs.sum()))["n"]


def _join(t: ibis.Table, column: str, d: ibis.Table, outputs: list[str]) -> ibis.Table:
    """Left-join the parsed dictionary ``d`` (key ``_d_<column>``) on the raw text of ``column``."""
    key = d[f"_d_{column}"]
    joined = t.left_join(d, t[column].cast("string") == key)
    return joined.select(*[t[c] for c in t.columns], *[d[o] for o in outputs])


def _plain_number(
    t: ibis.Table, column: str, out: str, *, nulls_only: bool = False, filled: bool = False
) -> ibis.Table:
    """Every value is a plain number (``12``, ``-3.50``) or blank: a direct cast is exact.

    ``nulls_only``: no value is a placeholder ('', '-', 'n/a'), so blank means NULL (no per-row test);
    ``filled``: no value is NULL either, so none is blank (the literal False: tests of it drop out).
    """
    text = t[column].cast("string")
    if filled:
        blank: ir.BooleanValue = ibis.literal(False)
        number = text.cast("float64") + 0.0  # -0 -> 0
    else:
        blank = text.isnull() if nulls_only else is_blank(text)
        number = ibis.cases((blank, ibis.null("float64")), else_=text.cast("float64") + 0.0)
    flags = {f"{out}_{flag}": ibis.literal(False) for flag in NUMBER_FLAGS}
    return t.mutate(**{out: number}, **flags | {f"{out}_blank": blank})
