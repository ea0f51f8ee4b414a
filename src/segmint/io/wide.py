"""Wide files (ERP dumps of thousands of columns): the mapping is detected from the first rows, then only
the columns the job reads are loaded, so a 10,000-column file costs about what a narrow one does."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import ibis

from segmint.errors import SegmintError
from segmint.io.base import SAMPLE_ROWS, RawTable, balanced_and, _is_empty
from segmint.io.header_rows import header_keys, header_witness, is_header_cell
from segmint.results import rows as result_rows

if TYPE_CHECKING:
    from segmint.schema import ColumnMapping

log = logging.getLogger(__name__)

WIDE_COLUMNS = 200  # more columns than this: load the columns the job reads, not all of them
LABEL_COLUMNS = 3  # the leading text columns a total line's label is looked for in (drop_total_and_blank_rows)


def needed_columns(
    raw: RawTable, mapping: ColumnMapping | None, keep: list[str]
) -> tuple[list[str], list[tuple[str, str]]] | None:
    """The columns of ``raw`` (its first ``SAMPLE_ROWS`` rows loaded) the job reads, in file order, or
    None when all must be loaded: a possible ledger or item list, or a mapping that cannot be resolved
    (its error then names every column, as for a narrow file).

    Read: the mapped columns (detected on the sample, ``mapping`` winning) and those tied with them, the
    leading text columns a total line's label may sit in, one column per header line (the repeated
    header test: these (column, header key) pairs are returned too) and ``keep``. A column no one maps
    can only change a row's fate by making it non-blank, which :func:`project` checks before it drops the others.
    """
    from segmint.io.items import find_item_column
    from segmint.schema import detect_mapping, resolve_mapping

    if _may_be_ledger(raw) or find_item_column(raw) is not None:
        return None
    sample = raw.sample_columns(SAMPLE_ROWS)
    detection = detect_mapping(raw.columns, sample)
    try:
        resolved = resolve_mapping(raw, mapping, detection=detection)
    except SegmintError:
        return None
    wanted = set(resolved.fields.values()) | {c for tied in detection.ambiguous.values() for c in tied}
    wanted |= set(raw.columns[:LABEL_COLUMNS]) | set(keep)
    witnesses = [(column, keys[column]) for keys in header_keys(raw) for column in [header_witness(keys, sample)]]
    wanted |= {column for column, _ in witnesses}
    return [c for c in raw.columns if c in wanted], witnesses


def _may_be_ledger(raw: RawTable) -> bool:
    """A ledger's sales view reads columns of its own: a table with voucher types (decided on more rows
    than the sample holds), or one :func:`detect_layout` takes for a ledger."""
    from segmint.io.ledger_layout import detect_layout, match_columns, may_be_ledger

    if not may_be_ledger(raw):
        return False
    return "voucher_type" in match_columns(raw.columns, None) or detect_layout(raw) is not None


def project(raw: RawTable, load: Callable[[list[str] | None], ibis.Table], mapping: ColumnMapping | None,
            keep: list[str]) -> RawTable:
    """Replace the sample in ``raw.table`` by every row of the columns the job reads (``load(columns)``),
    or of all columns (``load(None)``) when the others may matter: a row empty in every column read
    (blank only if the others are too) or repeating a header line (compared on every named cell)."""
    needed = needed_columns(raw, mapping, keep)
    if needed is None:
        raw.table = load(None)
        return raw
    columns, witnesses = needed
    sample = raw.sample_columns(SAMPLE_ROWS)
    table = load(columns)
    suspects = {"blank": balanced_and([_is_empty(table[c]) for c in columns]).sum()}
    for number, (column, key) in enumerate(witnesses):
        suspects[f"header_{number}"] = is_header_cell(table[column], key).fill_null(False).sum()
    counts = result_rows(table.aggregate(**suspects))[0]
    if any(int(n or 0) for n in counts.values()):
        log.info("%s: rows blank or like the header in the columns read; loading all %d", raw.source, len(raw.columns))
        raw.table = load(None)
        return raw
    log.info("%s: %d of %d columns read (the others are mapped by no field)", raw.source, len(columns), len(raw.columns))
    raw.unread_columns = [c for c in raw.columns if c not in columns]
    raw.columns = columns
    raw.table = table
    raw._sample_values = (table, {c: sample[c] for c in columns}, SAMPLE_ROWS)  # the same first rows
    return raw
