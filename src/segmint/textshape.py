"""What counting each mapped text column's distinct values finds, so cleaning skips per-row work that
cannot change a value.

Cleaning's per-row text work (the blank/placeholder test, trimming, the ``12345.0`` customer-id repair,
the cancellation test on invoice ids) dominated the cost of the cleaning pass on large files: at 1e7
lines it was about ten times the cost of reading the file, and it is paid again by every pass that
reads the cleaned rows. Most exports have no padded values, no placeholders and no float-like ids, so
one grouping query per raw text column counts the values each step could change, testing each
distinct value once (weighted by its rows); a step whose count is zero is replaced by the identity (or
the constant it always yields). The counts are exact (every row is counted, nothing is sampled), so
the cleaned values are exactly those of the full expressions.

Only on DuckDB: there the first/last-character tests compare bytes, exactly the characters ``strip``
removes; other engines keep the full expressions (their collations may order white space differently).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmint.engine import one_row_counts
from segmint.parsing import BLANK_PATTERN, MAX_BLANK_TOKEN, is_blank

__all__ = ["ANY", "TextShape", "text_shape"]


@dataclass(frozen=True)
class TextShape:
    """The (column, feature) pairs the counts proved absent; anything not proved absent may occur.

    Features: ``null``, ``placeholder`` (a non-NULL blank value: empty, ``-``, ``n/a`` ...), ``padded``
    (white space first or last), ``.`` and ``C`` (the value contains a dot / a C or c).
    """

    absent: frozenset[tuple[str, str]] = frozenset()
    counts: dict[str, int] = field(default_factory=dict, compare=False)  # "rows" and "<feature>:<column>"

    def has(self, column: str, feature: str) -> bool:
        """May ``column`` hold a value with ``feature``? (True unless counted and found in no row)."""
        return (column, feature) not in self.absent

    def blank(self, value: ir.Value, column: str) -> ir.BooleanValue:
        """``is_blank(value)``, simplified where no row can be blank in a way the full test detects."""
        if not value.type().is_string() or self.has(column, "placeholder"):
            return is_blank(value)
        return value.isnull() if self.has(column, "null") else ibis.literal(False)

    def stripped(self, value: ir.Value, column: str) -> ir.StringValue:
        """``value`` as text without surrounding white space (no trim where no value is padded)."""
        text = value.cast("string")
        return text.strip() if self.has(column, "padded") or not value.type().is_string() else text


ANY = TextShape()  # nothing proved: the full expressions
TRIMMED = (" ", "\t", "\n", "\r", "\x0b", "\x0c")  # the characters strip() removes
NBSP = "\u00a0"


def text_shape(
    con: BaseBackend, table: ir.Table, columns: list[str], *, dots: tuple[str, ...] = (), cs: tuple[str, ...] = (),
    grouped: dict[str, ir.Table] | None = None, rows: int | None = None,
) -> TextShape:
    """Count, over each text column's distinct values, what could change its values (DuckDB only).

    Every text column in ``columns`` is checked for NULLs, placeholders and padding; those in ``dots``
    also for a ``.``, those in ``cs`` for a ``C``/``c``. ``grouped``: a column's distinct values already
    counted (``value``, ``n``; e.g. the date dictionary cleaning parses), read instead of grouping again;
    ``rows``: the table's row count when already known (no query counts it again).
    """
    text = [c for c in dict.fromkeys(columns) if c in table.columns and table[c].type().is_string()]
    if con.name != "duckdb" or not text:
        return ANY
    counts = {"rows": rows} if rows is not None else one_row_counts(table.aggregate(rows=table.count()))
    for column in text:
        # each test runs once per distinct value, weighted by its rows: a column holds far fewer
        # distinct values than rows (1e7 lines: 244k customers, a few hundred products), and DuckDB
        # groups a Parquet column through its dictionary, so this costs half of testing every row
        values = (grouped or {}).get(column)
        if values is None and column in cs:
            # invoice ids: about one distinct value in five rows, so grouping them costs more than
            # testing every row (1e7 lines: about 1.0 -> 0.7 CPU s); each row counts once
            values = table.select(value=table[column], n=ibis.literal(1, type="int64"))
        elif values is None:
            values = table.group_by(value=table[column]).aggregate(n=table.count())
        value, rows = values.value, values.n
        tests: dict[str, ir.BooleanValue] = {
            "null": value.isnull(),
            # white space first or last: what strip removes (``< '!'``: the first byte is at most a space)
            "padded": ibis.or_(value < "!", *[value.endswith(char) for char in TRIMMED]),
            # a non-NULL blank is short ('', '-', 'n/a') or padded (counted above) or has a no-break space
            "placeholder": ibis.cases((value.length() <= MAX_BLANK_TOKEN, value.re_search(BLANK_PATTERN)), else_=False)
            | value.startswith(NBSP)
            | value.endswith(NBSP),
        }
        if column in dots:
            tests["."] = value.contains(".")
        if column in cs:  # an unpadded value starting with C or c (byte ranges: no substring search)
            tests["C"] = ((value >= "C") & (value < "D")) | ((value >= "c") & (value < "d"))
        metrics = {f"{feature}:{column}": ibis.cases((test, rows), else_=0).sum() for feature, test in tests.items()}
        # a query per column: in one query Ibis would share ``table`` as a CTE that DuckDB copies whole
        counts |= one_row_counts(values.aggregate(**metrics))
    found = {key for key, n in counts.items() if n}
    for column in text:  # a padded value may hide a placeholder or a C behind its white space
        if f"padded:{column}" in found:
            found |= {f"placeholder:{column}", f"C:{column}"}
    absent = frozenset(tuple(reversed(key.split(":", 1))) for key in counts if ":" in key and key not in found)
    return TextShape(absent=absent, counts=counts)
