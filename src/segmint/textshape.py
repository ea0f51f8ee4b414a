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

__all__ = ["ANY", "TextShape", "assumption_counts", "text_rows", "text_shape"]


@dataclass(frozen=True)
class TextShape:
    """The (column, feature) pairs the counts proved absent; anything not proved absent may occur.

    Features: ``null``, ``placeholder`` (a non-NULL blank value: empty, ``-``, ``n/a`` ...), ``padded``
    (white space first or last), ``.`` and ``C`` (the value contains a dot / a C or c).
    """

    absent: frozenset[tuple[str, str]] = frozenset()
    counts: dict[str, int] = field(default_factory=dict, compare=False)  # "rows" and "<feature>:<column>"
    # pairs in ``absent`` without being counted (``text_shape``'s ``deferred``): to be confirmed over
    # the values as grouped later (:func:`assumption_counts`) before anything built on them is kept
    assumed: frozenset[tuple[str, str]] = frozenset()

    def has(self, column: str, feature: str) -> bool:
        """May ``column`` hold a value with ``feature``? (True unless counted and found in no row)."""
        return (column, feature) not in self.absent

    def blank(self, value: ir.Value, column: str) -> ir.BooleanValue:
        """``is_blank(value)``, simplified where no row can be blank in a way the full test detects."""
        if not value.type().is_string() or self.has(column, "placeholder"):
            return is_blank(value)
        return value.isnull() if self.has(column, "null") else ibis.literal(False)

    def replaced(self, counted: TextShape) -> TextShape:
        """This shape with the columns it assumed something of as ``counted`` (their :func:`text_shape`) found."""
        columns = {column for column, _ in self.assumed}
        absent = {pair for pair in self.absent if pair[0] not in columns} | counted.absent
        return TextShape(absent=frozenset(absent), counts=self.counts | counted.counts)

    def stripped(self, value: ir.Value, column: str) -> ir.StringValue:
        """``value`` as text without surrounding white space (no trim where no value is padded)."""
        text = value.cast("string")
        return text.strip() if self.has(column, "padded") or not value.type().is_string() else text


ANY = TextShape()  # nothing proved: the full expressions
# below this many rows the invoice ids are tested once per distinct value too: the retail log's
# 541,909 lines hold 25,900 ids (0.032 -> 0.015 CPU s, 7 suffix tests a row were 2% of its analyze)
# and 1e6 lines 216k (0.068 -> 0.059)
GROUPED_IDS_BELOW = 1_000_000
TRIMMED = (" ", "\t", "\n", "\r", "\x0b", "\x0c")  # the characters strip() removes
NBSP = "\u00a0"


def text_shape(
    con: BaseBackend, table: ir.Table, columns: list[str], *, dots: tuple[str, ...] = (), cs: tuple[str, ...] = (),
    grouped: dict[str, ir.Table] | None = None, rows: int | None = None, deferred: tuple[str, ...] = (),
) -> TextShape:
    """Count, over each text column's distinct values, what could change its values (DuckDB only).

    Every text column in ``columns`` is checked for NULLs, placeholders and padding; those in ``dots``
    also for a ``.``, those in ``cs`` for a ``C``/``c``. ``grouped``: a column's distinct values already
    counted (``value``, ``n``; e.g. the date dictionary cleaning parses), read instead of grouping again;
    ``rows``: the table's row count when already known (no query counts it again). ``deferred``: columns
    whose values the caller sees grouped later (a streamed input's invoice ids, a key of cleaning's
    grouping pass): only their NULLs are counted here (a filtered count that Parquet's statistics
    answer); padding and placeholders are assumed absent (``TextShape.assumed``) until
    :func:`assumption_counts` confirms it over the grouped values, and a C is not tested (kept as
    possible). A line value is read once per group there instead of once per row here (1e7 lines,
    2.1M invoice ids: 0.76 -> about 0.1 CPU s).
    """
    text = text_columns(table, columns)
    if con.name != "duckdb" or not text:
        return ANY
    counts = {"rows": rows} if rows is not None else one_row_counts(table.aggregate(rows=table.count()))
    assumed: set[tuple[str, str]] = set()
    for column in (c for c in text if c in deferred):
        nulls = table.filter(table[column].isnull())
        counts |= one_row_counts(nulls.aggregate(**{f"null:{column}": nulls.count()}))
        assumed |= {(column, "padded"), (column, "placeholder")}
    for column in (c for c in text if c not in deferred):
        # each test runs once per distinct value, weighted by its rows: a column holds far fewer
        # distinct values than rows (1e7 lines: 244k customers, a few hundred products), and DuckDB
        # groups a Parquet column through its dictionary, so this costs half of testing every row
        values = (grouped or {}).get(column)
        if values is None and column in cs and not counts["rows"] < GROUPED_IDS_BELOW:
            # invoice ids of a large input: about one distinct value in five rows, so grouping them
            # costs more than testing every row (1e7 lines: about 1.0 -> 0.7 CPU s); each row counts once
            values = table.select(value=table[column], n=ibis.literal(1, type="int64"))
        elif values is None:
            values = table.group_by(value=table[column]).aggregate(n=table.count())
        value, rows = values.value, values.n
        features = ["null", "padded", "placeholder", *(["."] if column in dots else []), *(["C"] if column in cs else [])]
        tests = _feature_tests(value, features)
        metrics = {f"{feature}:{column}": ibis.cases((test, rows), else_=0).sum() for feature, test in tests.items()}
        # a query per column: in one query Ibis would share ``table`` as a CTE that DuckDB copies whole
        counts |= one_row_counts(values.aggregate(**metrics))
    found = {key for key, n in counts.items() if n}
    for column in text:  # a padded value may hide a placeholder or a C behind its white space
        if f"padded:{column}" in found:
            found |= {f"placeholder:{column}", f"C:{column}"}
    absent = frozenset(tuple(reversed(key.split(":", 1))) for key in counts if ":" in key and key not in found)
    return TextShape(absent=absent | assumed, counts=counts, assumed=frozenset(assumed))


def text_columns(table: ir.Table, columns: list[str]) -> list[str]:
    """The text columns among ``columns`` (each once): those :func:`text_shape` counts."""
    return [c for c in dict.fromkeys(columns) if c in table.columns and table[c].type().is_string()]


def text_rows(con: BaseBackend, table: ir.Table, columns: list[str]) -> int | None:
    """The row count :func:`text_shape` would count (None where it counts nothing: not DuckDB, or no
    text column), for a caller that needs it first (its ``rows``)."""
    if con.name != "duckdb" or not text_columns(table, columns):
        return None
    return one_row_counts(table.aggregate(rows=table.count()))["rows"]


def assumption_counts(shape: TextShape, grouped: ir.Table) -> dict[str, ir.IntegerScalar]:
    """Counts over ``grouped`` (rows holding every value of each column ``shape`` assumed something of,
    under the column's name) of the values contradicting an assumption: all 0 confirms them all. The
    tests are :func:`text_shape`'s, so the verdict is the one counting every row would give."""
    metrics = {}
    for column in sorted({column for column, _ in shape.assumed}):
        features = sorted(feature for c, feature in shape.assumed if c == column)
        for feature, test in _feature_tests(grouped[column], features).items():
            metrics[f"assumed:{feature}:{column}"] = grouped.count(where=test)
    return metrics


def _feature_tests(value: ir.StringValue, features: tuple[str, ...] | list[str]) -> dict[str, ir.BooleanValue]:
    """Each of ``features``' tests of a text ``value`` (see :class:`TextShape`)."""
    tests: dict[str, ir.BooleanValue] = {
        "null": value.isnull(),
        # white space first or last: what strip removes (``< '!'``: the first byte is at most a space)
        "padded": ibis.or_(value < "!", *[value.endswith(char) for char in TRIMMED]),
        # a non-NULL blank is short ('', '-', 'n/a') or padded (counted above) or has a no-break space
        "placeholder": ibis.cases((value.length() <= MAX_BLANK_TOKEN, value.re_search(BLANK_PATTERN)), else_=False)
        | value.startswith(NBSP)
        | value.endswith(NBSP),
        ".": value.contains("."),
        # an unpadded value starting with C or c (byte ranges: no substring search)
        "C": ((value >= "C") & (value < "D")) | ((value >= "c") & (value < "d")),
    }
    return {feature: tests[feature] for feature in features}
